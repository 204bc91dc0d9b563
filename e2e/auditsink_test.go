package e2e_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/functions/api/apifn"
	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// apiSettings returns the api's settings for a database of the test's own, with its audit key.
func apiSettings(t *testing.T) (apifn.Settings, string) {
	t.Helper()
	dbURL := testenv.PostgresURL(t)
	as := apifn.DefaultSettings()
	as.Database.URL, as.Host, as.Port, as.ShutdownGrace = dbURL, "127.0.0.1", 0, 5*time.Second
	as.Admin.Addr = "127.0.0.1:0" // never the default port, which another test's api may hold
	as.Auth.SigningKeys, as.Audit.Keys = testfactory.SigningKey(t), testfactory.AuditKey(t)
	as.Redis.URL, as.Redis.KeyPrefix = testenv.RedisURL(t)
	return as, dbURL
}

// receiver is a CloudEvents receiver over HTTP (a SIEM, an events sink) that records what it
// accepts.
type receiver struct {
	url    string
	mu     sync.Mutex
	events []cloudevents.Event
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		rc.events = append(rc.events, *ev)
		rc.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL
	return rc
}

// await returns the events received once there are at least n.
func (rc *receiver) await(t *testing.T, what string, n int) []cloudevents.Event {
	t.Helper()
	return testenv.Await(t, what, func() ([]cloudevents.Event, bool) {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		return append([]cloudevents.Event(nil), rc.events...), len(rc.events) >= n
	})
}

// startAPI runs the api function with as until the test ends and returns its URL.
func startAPI(t *testing.T, as apifn.Settings) string {
	t.Helper()
	ready := make(chan net.Addr, 1)
	run(t, "api", func(ctx context.Context) error {
		return apifn.Run(ctx, clockwork.NewRealClock(), as, testenv.Logger(t), func(a net.Addr) { ready <- a })
	})
	select {
	case a := <-ready:
		return "http://" + a.String()
	case <-time.After(testenv.Timeout(30 * time.Second)):
		t.Fatal("api did not start")
		return ""
	}
}

// TestAPIForwardsItsAuditLogToTheSink: with audit.sink set, the changes made through the API
// reach the SIEM as CloudEvents it can verify with the audit key.
func TestAPIForwardsItsAuditLogToTheSink(t *testing.T) {
	t.Parallel()
	siem := newReceiver(t)
	as, dbURL := apiSettings(t)
	as.Audit.Sink, as.Audit.ForwardInterval = siem.url+"/ingest", 50*time.Millisecond
	as.Egress = egress.Loopback() // the SIEM of the test listens on 127.0.0.1
	apiURL := startAPI(t, as)
	signInAsAdmin(t, dbURL, apiURL)

	var ids []string
	for _, name := range []string{"nightly-report", "hourly-sync"} {
		var j domain.Job
		require.Equal(t, http.StatusCreated, postJSON(t, apiURL+"/api/v1/jobs", map[string]any{
			"name": name, "enabled": false, "schedule": map[string]string{"cron": "0 0 0 1 1 *"},
			"http": map[string]any{"url": "http://127.0.0.1:9/"},
		}, &j))
		ids = append(ids, j.ID)
	}

	got := siem.await(t, "both creations at the SIEM", 2)
	keys, err := audit.Config{Keys: as.Audit.Keys}.Load()
	require.NoError(t, err)
	v := keys.Verifier(nil)
	for i, ev := range got {
		require.Equal(t, strconv.Itoa(i+1), ev.ID())
		require.Equal(t, "io.vecron.audit.recorded", ev.Type())
		require.Equal(t, "job/"+ids[i], ev.Subject())
		var r audit.Record
		require.NoError(t, json.Unmarshal(ev.Data(), &r))
		require.Equal(t, "job.create", r.Action)
		require.NoError(t, v.Next(&r))
	}
	_, err = v.Finish()
	require.NoError(t, err)
}

func TestAPIRefusesABadAuditSink(t *testing.T) {
	t.Parallel()
	as, _ := apiSettings(t)
	as.Audit.Sink = "siem.example.com/ingest?token=t0ken"
	err := apifn.Run(t.Context(), clockwork.NewRealClock(), as, testenv.Logger(t), nil)
	require.ErrorContains(t, err, "audit.sink: must be an http or https URL with a host")
	require.NotContains(t, err.Error(), "t0ken")
}

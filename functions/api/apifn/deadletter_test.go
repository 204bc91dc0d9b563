package apifn_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/api"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// The dead-letter sink as the api serves it: on events.internal_port, publishing to the
// installation's dead-letter stream; the public port (the api and the dashboard behind it)
// does not serve it, with or without a credential.
func TestDeadLetterSinkIsServedOnTheInternalPortOnly(t *testing.T) {
	t.Parallel()
	e := newBootstrapEnv(t)
	s := e.settings(t, "", "")
	_, js, names := testenv.NATS(t)
	s.NATS = queue.ConnConfig{URL: testenv.NATSURL(t), Prefix: names.Prefix}
	internalPort := testenv.FreePort(t)
	s.Events.InternalPort, s.Events.InternalNamespaces = internalPort, []string{"shop"}
	public := launchAPI(t, s).url(t)
	internal := "http://127.0.0.1:" + strconv.Itoa(internalPort)
	// The internal listener starts beside the public one, not before it.
	testenv.Eventually(t, "the internal listener answers", func() bool {
		resp, err := http.Get(internal + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	st := openStore(t, e)
	j := testfactory.Job(t, st, testfactory.JobOpts{Namespace: "shop"})
	at := time.Now().UTC().Add(-50 * time.Second).Truncate(time.Second) // on the job's every-second schedule
	key := domain.ScheduledKey(j.ID, at)
	ev, err := event.NewDue(event.DueFor(j, at, domain.TriggerSchedule, key), "/vecron/tick/t-1")
	require.NoError(t, err)
	ev.SetExtension(api.ExtErrorCode, "503")

	post := func(base string, header ...string) int {
		req, err := cehttp.NewHTTPRequestFromEvent(t.Context(), base+api.DeadLetterPath, ev)
		require.NoError(t, err)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, header := range [][]string{nil, {"Authorization", "Bearer " + testfactory.AdminToken(t, st)}} {
		code := post(public, header...)
		require.True(t, code >= 400 && code < 500, "the public port answers %d", code)
	}
	_, err = st.ExecutionByKey(t.Context(), key)
	require.ErrorIs(t, err, domain.ErrNotFound, "nothing recorded through the public port")

	require.Equal(t, http.StatusOK, post(internal))
	got, err := st.ExecutionByKey(t.Context(), key)
	require.NoError(t, err)
	require.Equal(t, domain.StatusDeadLettered, got.Status)
	c, err := js.OrderedConsumer(t.Context(), names.DLQStream(), jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	msg, err := c.Next(jetstream.FetchMaxWait(testenv.Timeout(5 * time.Second)))
	require.NoError(t, err)
	require.Equal(t, names.DLQSubject(domain.KindHTTP), msg.Subject())
}

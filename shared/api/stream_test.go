package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/api"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/feed"
	"github.com/vecron/vecron/shared/identity"
	"github.com/vecron/vecron/shared/jobevents"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/server"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/variables"
)

// streamEnv is an API with a live stream over a NATS of the test's own.
type streamEnv struct {
	*client
	js    jetstream.JetStream
	names event.Names
	n     int
	// stopHub stops the live stream's hub, as a shutdown does.
	stopHub context.CancelFunc
	// h is the API's handler, ident its sign-in service.
	h     http.Handler
	ident *identity.Service
}

func newStreamEnv(t *testing.T, cfg api.StreamConfig) *streamEnv {
	t.Helper()
	st, dbURL := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	key, err := secret.NewKey("test")
	require.NoError(t, err)
	keys, err := secret.ParseKeys(key)
	require.NoError(t, err)
	ident := testfactory.Identity(t, st, testfactory.AuthConfig(t), time.Now)
	clock := clockwork.NewRealClock()
	hub := feed.New(js, names, clock, testenv.Logger(t), feed.Config{})
	pub := jobevents.New(st, js, names, clock, testenv.Logger(t), jobevents.Config{})
	_, err = st.AuditCursor(t.Context(), jobevents.CursorName)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	hubCtx, stopHub := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = hub.Run(hubCtx) })
	wg.Go(func() { _ = pub.Run(ctx) })
	h := api.New(api.Deps{Jobs: jobs.New(st, time.Now), Vars: variables.New(st, keys, time.Now), Store: st, Identity: ident,
		Checks: []server.Check{{Name: "postgres", Fn: st.Ping}}, Feed: hub, Stream: cfg, Clock: clock}, time.Now, testenv.Logger(t))
	srv := httptest.NewServer(h)
	t.Cleanup(func() { cancel(); srv.Close(); wg.Wait() })
	return &streamEnv{client: &client{t: t, srv: srv, st: st, dbURL: dbURL, token: testfactory.AdminToken(t, st)}, js: js, names: names,
		stopHub: stopHub, h: h, ident: ident}
}

// publish sends an execution event of a job in namespace ns, as an executor does, and returns
// its stream sequence.
func (e *streamEnv) publish(t *testing.T, ns string) uint64 {
	t.Helper()
	e.n++
	x := &domain.Execution{ID: fmt.Sprint("exec-", e.n), JobID: "job-" + ns, Status: domain.StatusFailed, Attempt: 1,
		ScheduledAt: time.Date(2026, 12, 5, 9, 0, e.n, 0, time.UTC)}
	ev, err := event.NewExecution(event.TypeExecutionFailed, x, event.Due{Kind: domain.KindHTTP, Namespace: ns, JobName: "nightly"}, "/test")
	require.NoError(t, err)
	msg, err := event.ToNATS(t.Context(), ev)
	require.NoError(t, err)
	msg.Subject = e.names.EventSubject(event.TypeExecutionFailed)
	ack, err := e.js.PublishMsg(t.Context(), msg)
	require.NoError(t, err)
	return ack.Sequence
}

// viewer returns a token of a user who views namespace ns, and the user.
func (e *streamEnv) viewer(t *testing.T, ns string) (string, *domain.User) {
	t.Helper()
	u := testfactory.User(t, e.st, testfactory.UserOpts{Role: rbac.RoleViewer, Namespace: ns})
	return testfactory.APIToken(t, e.st, u.ID, domain.AllNamespaces, nil), u
}

type sse struct {
	id, event string
	data      map[string]any
}

// watcher is one open stream.
type watcher struct {
	t      *testing.T
	events chan sse
	cancel context.CancelFunc
	resp   *http.Response
}

// watch opens the stream with token; header holds pairs of names and values.
func (e *streamEnv) watch(t *testing.T, token, query string, header ...string) *watcher {
	t.Helper()
	return watchAt(t, e.srv.URL, token, query, header...)
}

// watchAt opens the stream of the API at base, with token unless it is empty.
func watchAt(t *testing.T, base, token, query string, header ...string) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/stream"+query, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	w := &watcher{t: t, events: make(chan sse, 100), cancel: cancel, resp: resp}
	go func() {
		defer close(w.events)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var cur sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.event != "" {
					w.events <- cur
				}
				cur = sse{}
			case strings.HasPrefix(line, ":"):
				if strings.Contains(line, "heartbeat") {
					w.events <- sse{event: "heartbeat"}
				}
			case strings.HasPrefix(line, "id: "):
				cur.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				cur.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &cur.data)
			}
		}
	}()
	t.Cleanup(w.close)
	return w
}

func (w *watcher) close() { w.cancel() }

// next returns the next event that is not a heartbeat.
func (w *watcher) next() sse {
	w.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-w.events:
			require.True(w.t, ok, "the stream ended")
			if ev.event != "heartbeat" {
				return ev
			}
		case <-timeout:
			w.t.Fatal("no event within 30 s")
		}
	}
}

func seq(n uint64) string { return fmt.Sprint(n) }

// A viewer sees the executions of their namespace and not another's.
func TestStreamShowsOnlyWhatTheCallerMayRead(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, api.StreamConfig{})
	tokA, _ := e.viewer(t, "team-a")
	tokB, _ := e.viewer(t, "team-b")
	a := e.watch(t, tokA, "")
	b := e.watch(t, tokB, "")
	admin := e.watch(t, e.token, "")
	first, other, second := e.publish(t, "team-a"), e.publish(t, "team-b"), e.publish(t, "team-a")

	got := a.next()
	require.Equal(t, seq(first), got.id)
	require.Equal(t, event.TypeExecutionFailed, got.event)
	require.Equal(t, "team-a", got.data["namespace"])
	require.Equal(t, "exec-1", got.data["data"].(map[string]any)["id"])
	require.Equal(t, seq(second), a.next().id, "team-b's event is not shown to team-a")
	require.Equal(t, seq(other), b.next().id)
	for _, want := range []uint64{first, other, second} {
		require.Equal(t, seq(want), admin.next().id)
	}

	// Filters narrow it further.
	filtered := e.watch(t, e.token, "?namespace=team-b&types=io.vecron.execution.*")
	e.publish(t, "team-a")
	last := e.publish(t, "team-b")
	require.Equal(t, seq(last), filtered.next().id)
}

// A client that reconnects with Last-Event-ID gets what it missed, once, then the live events.
func TestStreamResumesFromLastEventIDWithoutAGap(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, api.StreamConfig{})
	w := e.watch(t, e.token, "?namespace=team-a")
	s1, s2 := e.publish(t, "team-a"), e.publish(t, "team-a")
	require.Equal(t, seq(s1), w.next().id)
	require.Equal(t, seq(s2), w.next().id)
	w.close()
	missed := []uint64{e.publish(t, "team-a"), e.publish(t, "team-b"), e.publish(t, "team-a")}

	again := e.watch(t, e.token, "?namespace=team-a", "Last-Event-ID", seq(s1))
	for _, want := range []uint64{s2, missed[0], missed[2]} {
		require.Equal(t, seq(want), again.next().id)
	}
	live := e.publish(t, "team-a")
	require.Equal(t, seq(live), again.next().id)
}

// Job changes made through the API reach the stream, for those who may read the job.
func TestStreamCarriesJobEvents(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, api.StreamConfig{})
	tokB, _ := e.viewer(t, "team-b")
	w := e.watch(t, e.token, "?types=io.vecron.job.*")
	b := e.watch(t, tokB, "")
	status, _, body := e.do(http.MethodPost, "/api/v1/jobs",
		`{"name":"report","namespace":"team-a","http":{"url":"https://example.com/r"},"schedule":{"cron":"0 0 2 * * *"}}`)
	require.Equal(t, http.StatusCreated, status, string(body))
	var j domain.Job
	require.NoError(t, json.Unmarshal(body, &j))
	status, _, body = e.do(http.MethodPost, "/api/v1/jobs/"+j.ID+"/disable", "")
	require.Equal(t, http.StatusOK, status, string(body))

	got := w.next()
	require.Equal(t, event.TypeJobCreated, got.event)
	require.Equal(t, j.ID, got.data["subject"])
	require.Equal(t, "report", got.data["data"].(map[string]any)["name"])
	require.Equal(t, event.TypeJobPaused, w.next().event)

	marker := e.publish(t, "team-b")
	require.Equal(t, seq(marker), b.next().id, "team-a's job events are not shown to team-b")
}

// Heartbeats keep an idle stream open; a revoked credential ends it at the next check.
func TestStreamHeartbeatsAndEndsWhenTheCredentialGoes(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, api.StreamConfig{Heartbeat: 20 * time.Millisecond, Recheck: 50 * time.Millisecond})
	tok, u := e.viewer(t, "team-a")
	w := e.watch(t, tok, "")
	select {
	case ev := <-w.events:
		require.Equal(t, "heartbeat", ev.event)
	case <-time.After(30 * time.Second):
		t.Fatal("no heartbeat")
	}
	status, _, body := e.do(http.MethodDelete, "/api/v1/users/"+u.ID, "")
	require.Equal(t, http.StatusNoContent, status, string(body))
	end := w.next()
	require.Equal(t, "vecron.stream.end", end.event)
	require.Contains(t, end.data["reason"], "sign in again")
	_, open := <-w.events
	for open {
		_, open = <-w.events
	}
}

// A stream served in-process (api.WithIdentity) is checked again through its Reauthenticate,
// not through a bearer credential it does not have: it goes on while that lets it, and ends
// when that says the caller is gone; without one it ends at the first check.
func TestStreamChecksAnInProcessCallerAgain(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, api.StreamConfig{Heartbeat: 20 * time.Millisecond, Recheck: 50 * time.Millisecond})
	_, u := e.viewer(t, "team-a")
	id, err := e.ident.UserIdentity(t.Context(), u.ID)
	require.NoError(t, err)
	var (
		gone   atomic.Bool
		checks atomic.Int32
	)
	again := func(context.Context) (*rbac.Identity, error) {
		checks.Add(1)
		if gone.Load() {
			return nil, identity.ErrUnauthenticated
		}
		return id, nil
	}
	serve := func(again api.Reauthenticate) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			e.h.ServeHTTP(w, r.WithContext(api.WithIdentity(r.Context(), id, again)))
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	w := watchAt(t, serve(again).URL, "", "")
	testenv.Eventually(t, "two checks that let the stream go on", func() bool { return checks.Load() >= 2 })
	want := e.publish(t, "team-a")
	require.Equal(t, seq(want), w.next().id)
	gone.Store(true)
	end := w.next()
	require.Equal(t, "vecron.stream.end", end.event)
	require.Contains(t, end.data["reason"], "sign in again")

	end = watchAt(t, serve(nil).URL, "", "").next()
	require.Equal(t, "vecron.stream.end", end.event)
	require.Contains(t, end.data["reason"], "sign in again")
}

func TestStreamRejectsBadRequests(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, api.StreamConfig{})
	p := e.problem(http.MethodGet, "/api/v1/stream?types=io.vecron.nope&namespace=Bad%20NS&job_id=x%20y", "", http.StatusBadRequest)
	require.ElementsMatch(t, []string{"types", "namespace", "job_id"}, fields(p))
	p = e.problem(http.MethodGet, "/api/v1/stream", "", http.StatusBadRequest, "Last-Event-ID", "abc")
	require.Equal(t, []string{"Last-Event-ID"}, fields(p))

	tok, _ := e.viewer(t, "team-a")
	e.token = tok
	e.problem(http.MethodGet, "/api/v1/stream?namespace=team-b", "", http.StatusNotFound)
	e.token = ""
	e.problem(http.MethodGet, "/api/v1/stream", "", http.StatusUnauthorized)
}

func TestStreamWithoutNATSIsUnavailable(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	p := c.problem(http.MethodGet, "/api/v1/stream", "", http.StatusServiceUnavailable)
	require.Contains(t, p.Detail, "nats.url")
}

// On shutdown a stream ends with a reason, and a client that reconnects to the replica still
// draining is told to come back rather than refused: a browser gives up on a refusal.
func TestStreamEndsOnShutdownAndAsksToReconnect(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, api.StreamConfig{})
	w := e.watch(t, e.token, "")
	e.stopHub()
	end := w.next()
	require.Equal(t, "vecron.stream.end", end.event)
	require.Contains(t, end.data["reason"], "shutting down")
	again := e.watch(t, e.token, "")
	require.Contains(t, again.next().data["reason"], "reconnect")
}

// An event removed from the stream before it could be read is announced in its place.
func TestStreamAnnouncesEventsItCannotDeliver(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, api.StreamConfig{})
	s1, s2, s3 := e.publish(t, "team-a"), e.publish(t, "team-a"), e.publish(t, "team-a")
	s, err := e.js.Stream(t.Context(), e.names.EventsStream())
	require.NoError(t, err)
	require.NoError(t, s.DeleteMsg(t.Context(), s2))
	w := e.watch(t, e.token, "", "Last-Event-ID", seq(s1))
	gap := w.next()
	require.Equal(t, "vecron.stream.gap", gap.event)
	require.Equal(t, seq(s2), gap.id)
	require.Equal(t, float64(s1), gap.data["after"])
	require.Equal(t, float64(s2), gap.data["until"])
	require.Equal(t, seq(s3), w.next().id)
}

// An alert event carries what an execution recorded (its error, its id): the live stream shows
// it to those who may read the job's executions, not to one who may read the job alone there
// (and executions elsewhere, as the stream's route asks).
func TestStreamShowsAlertsOnlyToExecutionReaders(t *testing.T) {
	t.Parallel()
	e := newStreamEnv(t, api.StreamConfig{})
	now := time.Now().UTC()
	_, err := e.st.PutRole(t.Context(), &domain.Role{Name: "job-reader", Permissions: []domain.Permission{domain.PermJobRead}}, now)
	require.NoError(t, err)
	u := testfactory.User(t, e.st, testfactory.UserOpts{Role: rbac.RoleViewer, Namespace: "team-b"})
	require.NoError(t, e.st.CreateBinding(t.Context(), &domain.RoleBinding{ID: uuid.NewString(), Role: "job-reader", UserID: u.ID,
		Namespace: "team-a", CreatedAt: now}))
	narrow := e.watch(t, testfactory.APIToken(t, e.st, u.ID, domain.AllNamespaces, nil), "")
	reader, _ := e.viewer(t, "team-a")
	full := e.watch(t, reader, "")
	a := &domain.Alert{ID: 7, JobID: "job-team-a", Namespace: "team-a", JobName: "nightly", State: domain.AlertFiring,
		ConsecutiveFailures: 3, Threshold: 3, LastError: "target answered 500: card 4111 declined", ExecutionID: "exec-9",
		CreatedAt: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)}
	ev, err := event.NewJobAlert(a, "")
	require.NoError(t, err)
	msg, err := event.ToNATS(t.Context(), ev)
	require.NoError(t, err)
	msg.Subject = e.names.EventSubject(event.TypeJobAlert)
	ack, err := e.js.PublishMsg(t.Context(), msg)
	require.NoError(t, err)
	marker := e.publish(t, "team-b")

	got := full.next()
	require.Equal(t, seq(ack.Sequence), got.id)
	require.Equal(t, event.TypeJobAlert, got.event)
	require.Equal(t, seq(marker), narrow.next().id, "the alert is not shown to a caller who may not read team-a's executions")
}

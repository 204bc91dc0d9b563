package auditsink_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/auditsink"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// actorName is in every row and must never reach a log line.
const actorName = "Ann Example-Auditor"

// auditStore returns a store on a schema of the test's own and the keys that seal its log.
func auditStore(t *testing.T) (*store.Store, *audit.Keys) {
	t.Helper()
	st, _ := testfactory.Store(t)
	keys := testfactory.AuditKeys(t)
	st.UseAudit(keys)
	return st, keys
}

// record appends rows about job-<from> … job-<from+n-1>.
func record(t *testing.T, st *store.Store, from, n int) {
	t.Helper()
	ctx := domain.WithActor(t.Context(), domain.Actor{ID: "u1", Name: actorName, Kind: "user", Mode: "database", SourceIP: "192.0.2.7"})
	for i := from; i < from+n; i++ {
		require.NoError(t, st.Record(ctx, store.Change{Action: "job.create", ObjectKind: "job", ObjectID: fmt.Sprint("job-", i),
			Namespace: "team-a", After: map[string]any{"name": fmt.Sprint("job-", i), "note": "<b>&</b>"}}))
	}
}

// request is what the sink received.
type request struct {
	path, method string
	header       http.Header
	ev           *cloudevents.Event
	decodeErr    error
	status       int
	// aborted: the sender gave up before the answer, so the status never reached it.
	aborted bool
}

// sink stands for the SIEM: it records every request and answers it with status(n), n counting
// requests from 1 (200 when status is nil), after hold (when set) returns. It counts requests in
// flight at once.
type sink struct {
	srv    *httptest.Server
	status func(n int) int
	hold   func(r *http.Request)

	inflight atomic.Int32
	overlaps atomic.Int32
	mu       sync.Mutex
	reqs     []request
}

func newSink(t *testing.T, status func(n int) int, hold func(r *http.Request)) *sink {
	t.Helper()
	s := &sink{status: status, hold: hold}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.inflight.Add(1) > 1 {
		s.overlaps.Add(1)
	}
	ev, err := cehttp.NewEventFromHTTPRequest(r)
	if s.hold != nil {
		s.hold(r)
	}
	s.mu.Lock()
	status := http.StatusOK
	if s.status != nil {
		status = s.status(len(s.reqs) + 1)
	}
	s.reqs = append(s.reqs, request{path: r.URL.Path, method: r.Method, header: r.Header.Clone(), ev: ev, decodeErr: err,
		status: status, aborted: r.Context().Err() != nil})
	s.mu.Unlock()
	// Out of flight before the answer leaves: the sender moves on only once it has it.
	s.inflight.Add(-1)
	if status == http.StatusFound {
		w.Header().Set("Location", "/elsewhere")
	}
	w.WriteHeader(status)
}

func (s *sink) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.reqs...)
}

// ids returns the event ids of every request, in the order received.
func ids(reqs []request) []string {
	out := make([]string, 0, len(reqs))
	for _, r := range reqs {
		if r.ev == nil {
			out = append(out, "?")
			continue
		}
		out = append(out, r.ev.ID())
	}
	return out
}

func accepted(reqs []request) []request {
	var out []request
	for _, r := range reqs {
		if r.status/100 == 2 && !r.aborted {
			out = append(out, r)
		}
	}
	return out
}

func (s *sink) awaitRequests(t *testing.T, n int) {
	t.Helper()
	testenv.Await(t, fmt.Sprintf("%d requests at the sink", n), func() ([]string, bool) {
		reqs := s.requests()
		return ids(reqs), len(reqs) >= n
	})
}

func (s *sink) awaitAccepted(t *testing.T, n int) {
	t.Helper()
	testenv.Await(t, fmt.Sprintf("%d rows accepted by the sink", n), func() ([]string, bool) {
		ok := accepted(s.requests())
		return ids(ok), len(ok) >= n
	})
}

// start runs a forwarder until the returned stop (or the test's end) cancels it and it returns.
func start(t *testing.T, st auditsink.Store, clock clockwork.Clock, log *slog.Logger, cfg auditsink.Config) (stop func()) {
	t.Helper()
	if cfg.Policy == nil {
		cfg.Policy = egress.LoopbackPolicy() // the tests' sinks listen on 127.0.0.1
	}
	fwd, err := auditsink.New(st, clock, log, cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fwd.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return stop
}

// sleeping waits until the forwarder on clock waits on it: it has done all it could.
func sleeping(t *testing.T, clock *clockwork.FakeClock) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testenv.Timeout(testenv.WaitDefault))
	defer cancel()
	require.NoError(t, clock.BlockUntilContext(ctx, 1), "the forwarder never waited on its clock")
}

func TestForwarderDeliversEveryRowOnceInOrder(t *testing.T) {
	t.Parallel()
	st, keys := auditStore(t)
	record(t, st, 0, 3)
	sk := newSink(t, nil, nil)
	clock := clockwork.NewFakeClock()
	start(t, st, clock, testenv.Logger(t), auditsink.Config{Sink: sk.srv.URL + "/events"})

	sk.awaitAccepted(t, 3)
	sleeping(t, clock) // caught up
	record(t, st, 3, 2)
	clock.Advance(auditsink.IntervalDefault)
	sk.awaitAccepted(t, 5)
	sleeping(t, clock)

	reqs := sk.requests()
	require.Equal(t, []string{"1", "2", "3", "4", "5"}, ids(reqs), "every row once, in order")
	stored, err := st.AuditAfter(t.Context(), 0, 10)
	require.NoError(t, err)
	v := keys.Verifier(nil)
	for i, r := range reqs {
		require.NoError(t, r.decodeErr)
		require.Equal(t, http.MethodPost, r.method)
		require.Equal(t, "/events", r.path)
		require.Equal(t, "application/json", r.header.Get("Content-Type"), "binary mode: the body is the data")
		require.Equal(t, "1.0", r.header.Get("Ce-Specversion"))
		ev := r.ev
		require.Equal(t, cloudevents.VersionV1, ev.SpecVersion())
		require.Equal(t, strconv.Itoa(i+1), ev.ID())
		require.Equal(t, "io.vecron.audit.recorded", ev.Type())
		require.Equal(t, "/vecron/audit", ev.Source())
		require.Equal(t, fmt.Sprint("job/job-", i), ev.Subject())
		require.True(t, stored[i].Time.Equal(ev.Time()), "time %s, want the row's %s", ev.Time(), stored[i].Time)

		var got audit.Record
		require.NoError(t, json.Unmarshal(ev.Data(), &got))
		require.Equal(t, *stored[i], got, "the data is the row as stored")
		require.NoError(t, v.Next(&got), "the SIEM can verify what it receives")
	}
	report, err := v.Finish()
	require.NoError(t, err)
	require.Equal(t, int64(5), report.Head.Seq)
}

func TestForwarderBacksOffAndRetriesTheSameRow(t *testing.T) {
	t.Parallel()
	st, _ := auditStore(t)
	record(t, st, 0, 3)
	// Down for three answers, one of them a redirect: followed, it would be a GET answered 200.
	refusals := []int{http.StatusInternalServerError, http.StatusInternalServerError, http.StatusFound}
	sk := newSink(t, func(n int) int {
		if n <= len(refusals) {
			return refusals[n-1]
		}
		return http.StatusAccepted
	}, nil)
	var logs testenv.LogBuffer
	clock := clockwork.NewFakeClock()
	start(t, st, clock, slog.New(slog.NewJSONHandler(&logs, nil)), auditsink.Config{Sink: sk.srv.URL})

	for i, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		sk.awaitRequests(t, i+1)
		sleeping(t, clock)
		clock.Advance(wait)
	}
	sk.awaitAccepted(t, 3)
	sleeping(t, clock)

	reqs := sk.requests()
	require.Equal(t, []string{"1", "1", "1", "1", "2", "3"}, ids(reqs), "the refused row again, then the rest, none skipped")
	for _, r := range reqs {
		require.Equal(t, http.MethodPost, r.method, "the redirect was not followed")
	}

	type failure struct {
		Seq     int64  `json:"seq"`
		Status  int    `json:"status"`
		RetryIn string `json:"retry_in"`
	}
	var failures []failure
	for line := range bytes.Lines([]byte(logs.String())) {
		var rec struct {
			Msg string `json:"msg"`
			failure
		}
		require.NoError(t, json.Unmarshal(line, &rec))
		if rec.Msg == "audit row not delivered to the sink; retrying" {
			failures = append(failures, rec.failure)
		}
	}
	require.Equal(t, []failure{{1, 500, "1s"}, {1, 500, "2s"}, {1, 302, "4s"}}, failures)
	for _, secret := range []string{actorName, "job-0", "192.0.2.7", "team-a"} {
		require.NotContains(t, logs.String(), secret, "a log line holds the row's content")
	}
}

func TestForwarderResumesAfterTheCursorOnRestart(t *testing.T) {
	t.Parallel()
	st, _ := auditStore(t)
	record(t, st, 0, 3)
	sk := newSink(t, nil, nil)
	first := clockwork.NewFakeClock()
	stop := start(t, st, first, testenv.Logger(t), auditsink.Config{Sink: sk.srv.URL})
	sk.awaitAccepted(t, 3)
	sleeping(t, first)
	stop()
	cursor, err := st.AuditForwardCursor(t.Context())
	require.NoError(t, err)
	require.Equal(t, int64(3), cursor)

	record(t, st, 3, 2)
	second := clockwork.NewFakeClock()
	start(t, st, second, testenv.Logger(t), auditsink.Config{Sink: sk.srv.URL})
	sk.awaitAccepted(t, 5)
	sleeping(t, second)
	require.Equal(t, []string{"1", "2", "3", "4", "5"}, ids(sk.requests()), "no acknowledged row again")
}

// A slow sink under a server whose idle_in_transaction_session_timeout is shorter than its
// answer: each delivery keeps the cursor's lock for its whole time (the forwarder bounds it),
// so every row is sent once and the cursor moves on, instead of the server ending the
// transaction under the delivery and the row being sent again.
func TestForwarderOutlastsTheServersIdleTimeout(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	st.UseAudit(testfactory.AuditKeys(t))
	record(t, st, 0, 2)
	// Connections whose server ends a transaction idle for half a second; the sink answers in 1.5.
	short, err := store.Open(t.Context(), store.Config{URL: url + "&idle_in_transaction_session_timeout=500"})
	require.NoError(t, err)
	t.Cleanup(short.Close)
	sk := newSink(t, nil, func(*http.Request) { time.Sleep(1500 * time.Millisecond) })
	clock := clockwork.NewFakeClock()
	start(t, short, clock, testenv.Logger(t), auditsink.Config{Sink: sk.srv.URL})
	sk.awaitAccepted(t, 2)
	sleeping(t, clock)
	require.Equal(t, []string{"1", "2"}, ids(sk.requests()), "each row once")
	cursor, err := st.AuditForwardCursor(t.Context())
	require.NoError(t, err)
	require.Equal(t, int64(2), cursor)
}

// A forwarder stopped while the sink has not answered yet has not delivered that row: the next
// one sends it again (at least once), and the sink dedupes by id.
func TestForwarderStoppedMidDeliverySendsTheRowAgain(t *testing.T) {
	t.Parallel()
	st, _ := auditStore(t)
	record(t, st, 0, 3)
	held := make(chan struct{})
	var holding atomic.Bool
	sk := newSink(t, nil, func(r *http.Request) {
		if r.Header.Get("Ce-Id") == "2" && holding.CompareAndSwap(false, true) {
			close(held)
			<-r.Context().Done()
		}
	})
	stop := start(t, st, clockwork.NewFakeClock(), testenv.Logger(t), auditsink.Config{Sink: sk.srv.URL})
	select {
	case <-held:
	case <-time.After(testenv.Timeout(testenv.WaitDefault)):
		t.Fatal("row 2 never reached the sink")
	}
	stop()
	cursor, err := st.AuditForwardCursor(t.Context())
	require.NoError(t, err)
	require.Equal(t, int64(1), cursor, "row 2 was never acknowledged")

	clock := clockwork.NewFakeClock()
	start(t, st, clock, testenv.Logger(t), auditsink.Config{Sink: sk.srv.URL})
	sk.awaitAccepted(t, 3)
	sleeping(t, clock)
	require.Equal(t, []string{"1", "2", "3"}, ids(accepted(sk.requests())))
	require.ElementsMatch(t, []string{"1", "2", "2", "3"}, ids(sk.requests()))
}

// Two replicas forward the same log. Whenever one has a row in flight, the other is made to try
// (its clock is moved on) and must find the cursor held: the sink never sees two requests at
// once, and every row arrives once, in order. Rows come in rounds, each started by the replica
// that has delivered less, so both take turns.
func TestTwoForwardersNeverDeliverAtOnce(t *testing.T) {
	t.Parallel()
	const rounds, perRound = 3, 4
	st, _ := auditStore(t)
	arrived := make(chan string)
	release := make(chan struct{})
	sk := newSink(t, nil, func(r *http.Request) {
		select {
		case arrived <- r.URL.Path:
		case <-r.Context().Done():
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	clocks := map[string]*clockwork.FakeClock{"/a": clockwork.NewFakeClock(), "/b": clockwork.NewFakeClock()}
	other := map[string]string{"/a": "/b", "/b": "/a"}
	// A row stays in flight until the test releases it: the delivery's own timeout must outlast
	// every wait below, or a slow machine ends the row under the test and the other replica
	// rightly takes it.
	timeout := 2 * testenv.Timeout(testenv.WaitDefault)
	for path, clock := range clocks {
		start(t, st, clock, testenv.Logger(t).With("replica", path), auditsink.Config{Sink: sk.srv.URL + path, BatchSize: 3, Timeout: timeout})
	}
	delivered := map[string]int{}

	nudge := time.NewTicker(10 * time.Millisecond)
	defer nudge.Stop()
	deadline := time.After(testenv.Timeout(testenv.WaitDefault))
	for round := range rounds {
		for _, c := range clocks {
			sleeping(t, c) // both caught up
		}
		record(t, st, round*perRound, perRound)
		first := "/b"
		if delivered["/a"] < delivered["/b"] {
			first = "/a"
		}
		for range perRound {
			// Until a row is in flight, the replica to start is nudged; later in the round it is
			// the one that found the cursor held at the wrong moment and waits for its turn.
			var busy string
		wait:
			for {
				select {
				case busy = <-arrived:
					break wait
				case <-nudge.C:
					clocks[first].Advance(auditsink.IntervalDefault)
				case <-deadline:
					t.Fatalf("stalled after %v", ids(sk.requests()))
				}
			}
			delivered[busy]++
			idle := clocks[other[busy]]
			slow := noteIfSlow(t, "waiting for the idle replica to sleep")
			sleeping(t, idle)
			slow()
			// The idle replica tries while a row is in flight, and must wait again without sending.
			idle.Advance(auditsink.IntervalDefault)
			triedCtx, cancel := context.WithTimeout(t.Context(), testenv.Timeout(testenv.WaitDefault))
			tried := make(chan error, 1)
			go func() { tried <- idle.BlockUntilContext(triedCtx, 1) }()
			slow = noteIfSlow(t, "waiting for the idle replica to try and sleep again")
			select {
			case err := <-tried:
				if err != nil {
					t.Fatalf("the idle replica never waited again: %v; the goroutines are at:\n%s", err, allStacks())
				}
			case second := <-arrived:
				t.Fatalf("%s sent a row while %s had one in flight; the goroutines are at:\n%s", second, busy, allStacks())
			}
			slow()
			cancel()
			release <- struct{}{}
			idle.Advance(auditsink.IntervalDefault) // and races the busy one for the next row
		}
	}
	for _, c := range clocks {
		sleeping(t, c)
	}

	require.Zero(t, sk.overlaps.Load(), "two deliveries were in flight at once")
	want := make([]string, rounds*perRound)
	for i := range want {
		want[i] = strconv.Itoa(i + 1)
	}
	require.Equal(t, want, ids(sk.requests()), "every row once, in order")
	require.Positive(t, delivered["/a"], "both replicas forwarded: %v", delivered)
	require.Positive(t, delivered["/b"], "both replicas forwarded: %v", delivered)
}

// allStacks returns the stacks of every goroutine, for a test to say where the forwarders were
// when a wait took longer than it should.
func allStacks() string {
	buf := make([]byte, 8<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// noteIfSlow logs every goroutine's stack when the wait it starts lasts over a second, so that a
// run that stalls shows where, even when it passes in the end; the returned func ends the wait.
func noteIfSlow(t *testing.T, what string) (done func()) {
	logged := make(chan struct{})
	timer := time.AfterFunc(time.Second, func() {
		defer close(logged)
		t.Logf("%s for over a second; the goroutines are at:\n%s", what, allStacks())
	})
	var once sync.Once
	done = func() {
		once.Do(func() {
			if !timer.Stop() {
				<-logged
			}
		})
	}
	t.Cleanup(done) // a wait the test failed out of ends before the test does
	return done
}

func TestNewRefusesABadSink(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		cfg  auditsink.Config
		want string
	}{
		{"Empty", auditsink.Config{}, "audit.sink: must be an http or https URL with a host"},
		{"OtherScheme", auditsink.Config{Sink: "ftp://siem.example.com/in"}, "audit.sink:"},
		{"NoScheme", auditsink.Config{Sink: "siem.example.com:8080/in"}, "audit.sink:"},
		{"NoHost", auditsink.Config{Sink: "https://user:s3cret@/in?token=t0ken"}, "audit.sink:"},
		{"PortOnly", auditsink.Config{Sink: "http://:8080/in"}, "audit.sink:"},
		{"NotAURL", auditsink.Config{Sink: "https://siem.example.com/%zz?token=t0ken"}, "audit.sink:"},
		{"NegativeInterval", auditsink.Config{Sink: "https://siem.example.com/in", Interval: -time.Second}, "audit.forward_interval: must not be negative"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := auditsink.New(nil, clockwork.NewFakeClock(), testenv.Logger(t), c.cfg)
			require.ErrorContains(t, err, c.want)
			require.NotContains(t, err.Error(), "s3cret")
			require.NotContains(t, err.Error(), "t0ken")
		})
	}
	_, err := auditsink.New(nil, clockwork.NewFakeClock(), testenv.Logger(t), auditsink.Config{Sink: "https://siem.example.com:8443/in"})
	require.NoError(t, err)
}

// TestASinkTheEgressPolicyDeniesIsNeverDialled: the sink is an outbound connection like a job's,
// and passes the same policy; a refused one fails every delivery without a connection.
func TestASinkTheEgressPolicyDeniesIsNeverDialled(t *testing.T) {
	t.Parallel()
	st, _ := auditStore(t)
	record(t, st, 0, 1)
	sk := newSink(t, func(int) int { return http.StatusAccepted }, nil)
	var logs testenv.LogBuffer
	clock := clockwork.NewFakeClock()
	start(t, st, clock, slog.New(slog.NewJSONHandler(&logs, nil)), auditsink.Config{Sink: sk.srv.URL, Policy: &egress.Policy{}})
	sleeping(t, clock) // backing off after the refused delivery
	require.Empty(t, sk.requests())
	require.Contains(t, logs.String(), "egress policy refuses 127.0.0.1")
}

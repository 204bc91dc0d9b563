package forward_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/forward"
	"github.com/vecron/vecron/shared/httpjob"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// gatewayCall is one asynchronous invocation the gateway stand-in queued.
type gatewayCall struct {
	callID      string
	eventID     string
	callbackURL string
	header      http.Header
	body        []byte
}

// invocation says what the gateway stand-in does with a queued call: how many times it invokes
// the function (0: it holds the call, for the test to call back by hand), and whether it loses
// the callback of the last invocation.
type invocation struct {
	times        int
	loseCallback bool
}

// gateway is a stand-in of the OpenFaaS gateway's asynchronous route and queue-worker, after
// the documented contract: POST /async-function/<name> is answered 202 with an X-Call-Id; the
// request, headers and body, is then posted to the function, and the function's answer — its
// status in X-Function-Status, its headers and body — to the request's X-Callback-Url, with the
// X-Call-Id. plan says, per call, how it misbehaves.
type gateway struct {
	srv       *httptest.Server
	functions map[string]string // name → URL
	plan      func(n int, eventID string) invocation
	client    *http.Client

	mu        sync.Mutex
	calls     []gatewayCall
	callbacks []int // the tick's answers to the callbacks posted
	wg        sync.WaitGroup
}

func newGateway(t *testing.T, functions map[string]string, plan func(n int, eventID string) invocation) *gateway {
	t.Helper()
	gw := &gateway{functions: functions, plan: plan, client: &http.Client{Timeout: 30 * time.Second}}
	gw.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, "/async-function/")
		fn := gw.functions[name]
		if !ok || r.Method != http.MethodPost || fn == "" {
			http.NotFound(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c := gatewayCall{callID: uuid.NewString(), eventID: r.Header.Get("Ce-Id"), callbackURL: r.Header.Get("X-Callback-Url"),
			header: r.Header.Clone(), body: body}
		gw.mu.Lock()
		gw.calls = append(gw.calls, c)
		n := len(gw.calls)
		gw.mu.Unlock()
		inv := invocation{times: 1}
		if gw.plan != nil {
			inv = gw.plan(n, c.eventID)
		}
		w.Header().Set("X-Call-Id", c.callID)
		w.WriteHeader(http.StatusAccepted)
		gw.wg.Go(func() {
			for i := range inv.times {
				status, header, answer := gw.invoke(fn, c)
				if inv.loseCallback && i == inv.times-1 {
					continue
				}
				gw.callBack(c, status, header, answer)
			}
		})
	}))
	t.Cleanup(func() { gw.srv.Close(); gw.wg.Wait() })
	return gw
}

// invoke posts the queued request to the function, as the queue-worker does.
func (gw *gateway) invoke(fn string, c gatewayCall) (int, http.Header, []byte) {
	req, err := http.NewRequest(http.MethodPost, fn, bytes.NewReader(c.body))
	if err != nil {
		return http.StatusInternalServerError, nil, nil
	}
	for k, v := range c.header {
		if k != "X-Callback-Url" && k != "Content-Length" {
			req.Header[k] = v
		}
	}
	req.Header.Set("X-Call-Id", c.callID)
	resp, err := gw.client.Do(req)
	if err != nil {
		return http.StatusServiceUnavailable, nil, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Header, body
}

// callBack posts a function's answer to the call's callback URL.
func (gw *gateway) callBack(c gatewayCall, status int, header http.Header, body []byte) {
	code := postCallback(gw.client, c.callbackURL, c.callID, status, header, body)
	gw.mu.Lock()
	gw.callbacks = append(gw.callbacks, code)
	gw.mu.Unlock()
}

// answers counts the tick's answers to the callbacks posted, by status.
func (gw *gateway) answers() map[int]int {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	out := map[int]int{}
	for _, c := range gw.callbacks {
		out[c]++
	}
	return out
}

func (gw *gateway) queued() []gatewayCall {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	return append([]gatewayCall(nil), gw.calls...)
}

// postCallback posts a callback as the queue-worker does and returns the tick's answer; 0 when
// it could not be posted.
func postCallback(client *http.Client, callbackURL, callID string, status int, header http.Header, body []byte) int {
	req, err := http.NewRequest(http.MethodPost, callbackURL, bytes.NewReader(body))
	if err != nil {
		return 0
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("X-Function-Status", strconv.Itoa(status))
	req.Header.Set("X-Function-Name", "vecron-execute-http")
	req.Header.Set("X-Duration-Seconds", "0.010000")
	if callID != "" {
		req.Header.Set("X-Call-Id", callID)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// tick is one tick replica's forwarder in callback mode and its callback handler.
type tick struct {
	f    *forward.Forwarder
	stop func()
}

// startTicks runs n forwarders in callback mode, each on its own NATS connection as n tick
// replicas are, behind one "Service": a server passing each callback to a replica picked at
// random. It returns the replicas and the Service's callback URL.
func startTicks(t *testing.T, names event.Names, n int, cfg forward.Config, log *slog.Logger) ([]*tick, string) {
	t.Helper()
	var ticks []*tick
	svc := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ticks[rand.IntN(len(ticks))].f.CallbackHandler().ServeHTTP(w, r)
	}))
	cfg.Enabled = true
	cfg.CallbackPort = 8082
	cfg.CallbackURL = "http://" + svc.Listener.Addr().String() + forward.CallbackPath
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff, cfg.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	}
	for range n {
		nc, err := nats.Connect(testenv.NATSURL(t))
		require.NoError(t, err)
		js, err := jetstream.New(nc)
		require.NoError(t, err)
		f, err := forward.New(js, names, egress.LoopbackPolicy(), clockwork.NewRealClock(), log, cfg)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- f.Run(ctx) }()
		var once sync.Once
		stop := func() {
			once.Do(func() {
				cancel()
				select {
				case err := <-done:
					require.NoError(t, err)
				case <-time.After(30 * time.Second):
					t.Fatal("the forwarder did not stop")
				}
				nc.Close()
			})
		}
		t.Cleanup(stop)
		ticks = append(ticks, &tick{f: f, stop: stop})
	}
	svc.Start()
	t.Cleanup(svc.Close)
	return ticks, cfg.CallbackURL
}

// pending returns how many messages the due stream holds and how many of the http consumer's
// are delivered and not yet settled.
func pending(t *testing.T, js jetstream.JetStream, names event.Names) (msgs uint64, ackPending int) {
	t.Helper()
	s, err := js.Stream(t.Context(), names.DueStream())
	require.NoError(t, err)
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	c, err := js.Consumer(t.Context(), names.DueStream(), names.DueConsumer(domain.KindHTTP))
	require.NoError(t, err)
	ci, err := c.Info(t.Context())
	require.NoError(t, err)
	return info.State.Msgs, ci.NumAckPending
}

// tokenOf returns the token in a callback URL.
func tokenOf(t *testing.T, callbackURL string) string {
	t.Helper()
	u, err := url.Parse(callbackURL)
	require.NoError(t, err)
	for _, v := range u.Query() {
		require.Len(t, v, 1)
		return v[0]
	}
	t.Fatal("no token in the callback URL")
	return ""
}

// withToken returns callbackURL with its token replaced.
func withToken(t *testing.T, callbackURL, token string) string {
	t.Helper()
	u, err := url.Parse(callbackURL)
	require.NoError(t, err)
	q := u.Query()
	for k := range q {
		q.Set(k, token)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// TestForgedCallbacksSettleNothing: a pod that reaches the callback port cannot settle a fire
// the gateway queued and never ran — not without a token, nor with a forged one, another
// message's, another replica's, a forged X-Call-Id, a body past the bound or no status — and
// the gateway's own callback settles it once: replayed, it is refused. No token is logged.
func TestForgedCallbacksSettleNothing(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	require.NoError(t, queue.EnsureDueConsumers(t.Context(), js, names))
	// The gateway queues the calls and runs nothing: every callback below is the test's.
	gw := newGateway(t, map[string]string{"vecron-execute-http": "http://127.0.0.1:1/never"},
		func(int, string) invocation { return invocation{times: 0} })
	var logs testenv.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := newRegistry(t)
	startTicks(t, names, 3, forward.Config{Sinks: []string{"http=" + gw.srv.URL + "/async-function/vecron-execute-http"},
		CallbackTimeout: time.Minute, Metrics: reg, Executions: st}, log)
	events := publish(t, js, names, domain.KindHTTP, 2)
	testenv.Eventually(t, "both fires queued at the gateway", func() bool { return len(gw.queued()) == 2 })
	calls := gw.queued()
	a, b := calls[0], calls[1]
	require.NotEqual(t, a.eventID, b.eventID)
	require.NotEmpty(t, a.callbackURL)
	tokenA, tokenB := tokenOf(t, a.callbackURL), tokenOf(t, b.callbackURL)
	client := &http.Client{Timeout: 30 * time.Second}
	ok := http.Header{}

	unsettled := func(what string) {
		t.Helper()
		msgs, ackPending := pending(t, js, names)
		require.Equal(t, uint64(2), msgs, "%s: nothing acknowledged", what)
		require.Equal(t, 2, ackPending, "%s: nothing handed back", what)
	}
	parts := strings.Split(tokenA, ".")
	require.Len(t, parts, 5)
	otherSeq := strings.Join([]string{parts[0], parts[1] + "1", parts[2], parts[3], parts[4]}, ".")
	otherHolder := strings.Join([]string{"0123456789abcdef", parts[1], parts[2], parts[3], parts[4]}, ".")
	longer := strings.Join([]string{parts[0], parts[1], parts[2], "99" + parts[3], parts[4]}, ".")
	forgedMAC := strings.Join([]string{parts[0], parts[1], parts[2], parts[3], strings.Repeat("A", len(parts[4]))}, ".")
	base, _, _ := strings.Cut(a.callbackURL, "?")
	for _, c := range []struct {
		name   string
		url    string
		callID string
		status int
		body   []byte
		want   int
	}{
		{"NoToken", base, a.callID, http.StatusOK, nil, http.StatusForbidden},
		{"GarbageToken", withToken(t, a.callbackURL, "x"), a.callID, http.StatusOK, nil, http.StatusForbidden},
		{"ForgedMAC", withToken(t, a.callbackURL, forgedMAC), a.callID, http.StatusOK, nil, http.StatusForbidden},
		{"AnotherMessagesSequence", withToken(t, a.callbackURL, otherSeq), a.callID, http.StatusOK, nil, http.StatusForbidden},
		{"ExpiryMovedOn", withToken(t, a.callbackURL, longer), a.callID, http.StatusOK, nil, http.StatusForbidden},
		{"AnotherReplica", withToken(t, a.callbackURL, otherHolder), a.callID, http.StatusOK, nil, http.StatusForbidden},
		{"AnotherMessagesToken", b.callbackURL, a.callID, http.StatusOK, nil, http.StatusForbidden},
		{"ForgedCallID", a.callbackURL, uuid.NewString(), http.StatusOK, nil, http.StatusForbidden},
		{"NoCallID", a.callbackURL, "", http.StatusOK, nil, http.StatusBadRequest},
		{"NoStatus", a.callbackURL, a.callID, 0, nil, http.StatusBadRequest},
		{"TooLarge", a.callbackURL, a.callID, http.StatusOK, bytes.Repeat([]byte("x"), 64<<10+1), http.StatusRequestEntityTooLarge},
	} {
		got := postCallback(client, c.url, c.callID, c.status, ok, c.body)
		require.Equal(t, c.want, got, c.name)
		unsettled(c.name)
	}

	// The token and call id are in the queue-worker's logs: with them, a success for a fire
	// that never ran is refused, and so is a failure the function never gave.
	require.Equal(t, http.StatusConflict, postCallback(client, a.callbackURL, a.callID, http.StatusOK, ok, nil), "a success not recorded")
	unsettled("a success not recorded")
	require.Equal(t, http.StatusConflict, postCallback(client, a.callbackURL, a.callID, http.StatusNoContent, ok, nil), "a 204 not recorded")
	unsettled("a 204 not recorded")
	require.Equal(t, map[string]float64{"no_token": 2, "holder_gone": 1, "not_waiting": 5, "unrecorded": 2}, refusalCounts(t, reg))

	// The gateway's own callback for a, once the executor recorded a, settles a, and only a.
	for _, ev := range events {
		if ev.ID() == a.eventID {
			record(t, st, ev, domain.StatusSkipped)
		}
	}
	require.Equal(t, http.StatusNoContent, postCallback(client, a.callbackURL, a.callID, http.StatusOK, ok, []byte("ok")))
	testenv.Eventually(t, "a acknowledged", func() bool { msgs, _ := pending(t, js, names); return msgs == 1 })
	// Replayed, as a success or as a failure, it is refused: a is settled, b is not a's.
	require.Equal(t, http.StatusForbidden, postCallback(client, a.callbackURL, a.callID, http.StatusOK, ok, nil), "replayed")
	require.Equal(t, http.StatusForbidden, postCallback(client, a.callbackURL, a.callID, http.StatusServiceUnavailable, ok, nil), "replayed as a failure")
	msgs, ackPending := pending(t, js, names)
	require.Equal(t, uint64(1), msgs, "b still there")
	require.Equal(t, 1, ackPending, "b still held for its callback")
	require.Equal(t, map[string]float64{"http/ok": 1}, deliveries(t, reg))
	require.Len(t, gw.queued(), 2, "nothing posted again")

	// Fifteen refusals, a line at most per replica a minute.
	require.Equal(t, map[string]float64{"no_token": 2, "holder_gone": 1, "not_waiting": 7, "unrecorded": 2}, refusalCounts(t, reg))
	lines := strings.Count(logs.String(), "callback refused")
	require.True(t, lines >= 1 && lines <= 3, "refusals are logged, once a minute at most on each of the 3 replicas: %d lines", lines)
	for _, tok := range []string{tokenA, tokenB, parts[4]} {
		require.NotContains(t, logs.String(), tok, "no token logged")
	}
}

// TestOpenFaaSAsyncRouteRecordsEachFireOnce: three ticks forward to a gateway stand-in that
// invokes a real executor's push handler; the callbacks reach any of the three at random. The
// gateway invokes one fire twice and loses the callback of another: each fire is recorded
// once, every invocation reaches the target with the fire's idempotency key, and the fire
// without a callback is posted again once its wait is over.
func TestOpenFaaSAsyncRouteRecordsEachFireOnce(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	require.NoError(t, queue.EnsureDueConsumers(t.Context(), js, names))
	var mu sync.Mutex
	keys := map[string]int{}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys[r.Header.Get("Idempotency-Key")]++
		mu.Unlock()
		_, _ = w.Write([]byte("done"))
	}))
	t.Cleanup(target.Close)
	clock := clockwork.NewRealClock()
	runner := httpjob.New(clock, httpjob.Config{}, egress.LoopbackPolicy())
	t.Cleanup(runner.Close)
	rt, err := executor.New(domain.KindHTTP, "execute-http", executor.Deps{Store: st, Runner: runner, Publisher: queue.NewPublisher(js),
		Names: names, Clock: clock, Log: testenv.Logger(t)}, executor.Config{WorkerID: "w1"})
	require.NoError(t, err)
	function := httptest.NewServer(executor.PushHandler(t.Context(), rt.HandlePushed, testenv.Logger(t)))
	t.Cleanup(function.Close)

	const fires = 6
	var twice, lost string // the event ids the gateway misbehaves with
	var planMu sync.Mutex
	seen := map[string]int{}
	gw := newGateway(t, map[string]string{"vecron-execute-http": function.URL}, func(n int, id string) invocation {
		planMu.Lock()
		defer planMu.Unlock()
		seen[id]++
		switch {
		case twice == "" && seen[id] == 1:
			twice = id
			return invocation{times: 2}
		case lost == "" && seen[id] == 1 && id != twice:
			lost = id
			return invocation{times: 1, loseCallback: true}
		}
		return invocation{times: 1}
	})
	var logs testenv.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := newRegistry(t)
	startTicks(t, names, 3, forward.Config{Sinks: []string{"http=" + gw.srv.URL + "/async-function/vecron-execute-http"},
		CallbackTimeout: forward.CallbackTimeoutMin, Metrics: reg, Executions: st}, log)

	pub := queue.NewPublisher(js)
	at := time.Now().UTC().Add(-time.Second).Truncate(time.Second)
	var want []string
	for range fires {
		job := testfactory.Job(t, st, testfactory.JobOpts{URL: target.URL + "/report"})
		key := domain.ScheduledKey(job.ID, at)
		ev, err := event.NewDue(event.DueFor(job, at, domain.TriggerSchedule, key), "/vecron/tick/t-1")
		require.NoError(t, err)
		publishEvent(t, pub, names, domain.KindHTTP, ev)
		want = append(want, key)
	}
	streamEmpty(t, js, names)

	planMu.Lock()
	require.NotEmpty(t, twice)
	require.NotEmpty(t, lost)
	require.Equal(t, 2, seen[lost], "the fire without a callback posted again")
	require.Equal(t, 1, seen[twice], "the fire invoked twice posted once")
	planMu.Unlock()
	posted := map[string]int{}
	for _, c := range gw.queued() {
		posted[c.eventID]++
		require.NotEmpty(t, c.callbackURL, "every post asks for a callback")
	}
	require.Len(t, posted, fires)
	for _, key := range want {
		exec, err := st.ExecutionByKey(t.Context(), key)
		require.NoError(t, err, key)
		require.Equal(t, domain.StatusSucceeded, exec.Status, key)
	}
	finished, _, err := st.ExecutionStats(t.Context())
	require.NoError(t, err)
	require.Equal(t, fires, finished, "each fire recorded once")
	mu.Lock()
	for _, key := range want {
		require.GreaterOrEqual(t, keys[key], 1, "the target called with the fire's key")
	}
	require.Len(t, keys, fires, "every call to the target carries a fire's key")
	mu.Unlock()
	got := deliveries(t, reg)
	require.Equal(t, float64(fires), got["http/ok"], "each fire acknowledged once: %v", got)
	require.Equal(t, float64(1), got["http/no_callback"], "%v", got)
	require.Equal(t, map[int]int{http.StatusNoContent: fires, http.StatusForbidden: 1}, gw.answers(),
		"one callback settles each fire; the second invocation's is refused")
	for _, c := range gw.queued() {
		require.NotContains(t, logs.String(), tokenOf(t, c.callbackURL), "no token logged")
	}
}

// No callback can be due later than the longest job's timeout: the default wait is that and a
// minute.
func TestCallbackTimeoutDefaultCoversTheLongestJob(t *testing.T) {
	t.Parallel()
	require.Equal(t, jobs.MaxTimeout+time.Minute, forward.CallbackTimeoutDefault)
	require.Equal(t, forward.CallbackTimeoutDefault, forward.DefaultConfig().CallbackTimeout)
}

// TestCallbackAnswersSettleAsThePullerWould: the function's answer in the callback settles the
// fire as a pull executor's would: a 503 with Retry-After is handed back for that long (past the
// forwarder's own longest back-off), then accepted; a 400 the event caused goes the dead-letter
// path (here, without a dead-letter sink: given up, invoked once).
func TestCallbackAnswersSettleAsThePullerWould(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	require.NoError(t, queue.EnsureDueConsumers(t.Context(), js, names))
	var mu sync.Mutex
	var sqlTimes []time.Time
	invoked := map[string]int{}
	function := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		id := r.Header.Get("Ce-Id")
		invoked[id]++
		switch {
		case strings.Contains(r.URL.Path, "bad"):
			http.Error(w, "not a due event", http.StatusBadRequest)
		case invoked[id] == 1:
			sqlTimes = append(sqlTimes, time.Now())
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			sqlTimes = append(sqlTimes, time.Now())
		}
	}))
	t.Cleanup(function.Close)
	gw := newGateway(t, map[string]string{"later": function.URL + "/later", "bad": function.URL + "/bad"}, nil)
	reg := newRegistry(t)
	var logs testenv.LogBuffer
	startTicks(t, names, 1, forward.Config{Metrics: reg, CallbackTimeout: time.Minute, Executions: st,
		Sinks: []string{"sql=" + gw.srv.URL + "/async-function/later", "http=" + gw.srv.URL + "/async-function/bad"}},
		slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	// The executor's record of the sql fire, written (here, by the test) well within the second
	// the function's first answer puts the next invocation off.
	record(t, st, publish(t, js, names, domain.KindSQL, 1)[0], domain.StatusSkipped)
	publish(t, js, names, domain.KindHTTP, 1)
	streamEmpty(t, js, names)
	require.Equal(t, map[string]float64{"sql/retry": 1, "sql/ok": 1, "http/gave_up": 1}, deliveries(t, reg))
	// The function's 503 is the job's retry, not the sink failing: the sink's failure state and
	// its log lines are the sink's own posts'.
	require.NotContains(t, logs.String(), "not accepted by the forward sink")
	require.NotContains(t, logs.String(), "accepted by the forward sink again")
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, sqlTimes, 2)
	require.GreaterOrEqual(t, sqlTimes[1].Sub(sqlTimes[0]), 900*time.Millisecond, "handed back for the function's Retry-After")
	require.Len(t, invoked, 2)
	for id, n := range invoked {
		if n == 1 {
			continue
		}
		require.Equal(t, 2, n, id)
	}
}

// record writes the execution of due event ev that ended with status, as its executor would:
// skipped, for a job the test has not stored (a skip records no job row).
func record(t *testing.T, st *store.Store, ev cloudevents.Event, status domain.ExecutionStatus) {
	t.Helper()
	due, err := event.ParseDue(ev)
	require.NoError(t, err)
	e := testfactory.Outcome(t, st, &domain.Job{ID: due.JobID, Version: due.JobVersion}, status, due.ScheduledAt, time.Millisecond)
	require.Equal(t, due.IdempotencyKey, e.IdempotencyKey)
}

// refusalCounts returns vecron_forward_callback_refusals_total by reason, without the zeros.
func refusalCounts(t *testing.T, reg *metric.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != string(metric.ForwardCallbackRefusals) {
			continue
		}
		for _, m := range mf.GetMetric() {
			if v := m.GetCounter().GetValue(); v > 0 {
				out[m.GetLabel()[0].GetValue()] = v
			}
		}
	}
	return out
}

// A tick stopped while a fire waits for its callback hands the fire back for the rest of its
// wait, not for the ack wait (4 s): the invocation under way may finish before another replica
// posts the fire again.
func TestStoppedTickHandsBackForTheRestOfTheWait(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	require.NoError(t, queue.EnsureDueConsumers(t.Context(), js, names))
	gw := newGateway(t, map[string]string{"vecron-execute-http": "http://127.0.0.1:1/never"},
		func(int, string) invocation { return invocation{times: 0} })
	cfg := forward.Config{Sinks: []string{"http=" + gw.srv.URL + "/async-function/vecron-execute-http"},
		CallbackTimeout: forward.CallbackTimeoutMin, Executions: st}
	a, _ := startTicks(t, names, 1, cfg, testenv.Logger(t))
	publish(t, js, names, domain.KindHTTP, 1)
	testenv.Eventually(t, "queued", func() bool { return len(gw.queued()) == 1 })
	posted := time.Now()
	a[0].stop()
	startTicks(t, names, 1, cfg, testenv.Logger(t))
	// Past the ack wait and its progress signals, well short of the 10 s wait.
	time.Sleep(6 * time.Second)
	require.Len(t, gw.queued(), 1, "not posted again before its wait is over")
	testenv.Eventually(t, "posted again once its wait is over", func() bool { return len(gw.queued()) == 2 })
	require.GreaterOrEqual(t, time.Since(posted), forward.CallbackTimeoutMin-time.Second)
}

// An invocation whose wait timed out, answering after its fire was posted again, settles the
// fire when it reports a success the executors recorded: the second invocation's answer need
// not be waited for. Its failure, or a success not recorded, settles nothing.
func TestAnEarlierInvocationsSuccessSettles(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	require.NoError(t, queue.EnsureDueConsumers(t.Context(), js, names))
	gw := newGateway(t, map[string]string{"vecron-execute-http": "http://127.0.0.1:1/never"},
		func(int, string) invocation { return invocation{times: 0} })
	reg := newRegistry(t)
	startTicks(t, names, 1, forward.Config{Sinks: []string{"http=" + gw.srv.URL + "/async-function/vecron-execute-http"},
		CallbackTimeout: forward.CallbackTimeoutMin, Executions: st, Metrics: reg}, testenv.Logger(t))
	ev := publish(t, js, names, domain.KindHTTP, 1)[0]
	testenv.EventuallyWithin(t, 2*forward.CallbackTimeoutMin, "posted again after its wait", func() bool { return len(gw.queued()) == 2 })
	first := gw.queued()[0]
	client := &http.Client{Timeout: 30 * time.Second}
	require.Equal(t, http.StatusForbidden, postCallback(client, first.callbackURL, first.callID, http.StatusServiceUnavailable, http.Header{}, nil),
		"an earlier invocation's failure is not the one under way's")
	require.Equal(t, http.StatusConflict, postCallback(client, first.callbackURL, first.callID, http.StatusOK, http.Header{}, nil), "not recorded yet")
	msgs, _ := pending(t, js, names)
	require.Equal(t, uint64(1), msgs, "still held")
	record(t, st, ev, domain.StatusSkipped)
	require.Equal(t, http.StatusNoContent, postCallback(client, first.callbackURL, first.callID, http.StatusOK, http.Header{}, nil))
	testenv.Eventually(t, "acknowledged", func() bool { msgs, _ := pending(t, js, names); return msgs == 0 })
	require.Equal(t, map[string]float64{"http/no_callback": 1, "http/ok": 1}, deliveries(t, reg))
}

package forward_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/api"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/forward"
	"github.com/vecron/vecron/shared/httpjob"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// receiver is a sink in the test: it answers each request as answer says (nil: 202) and keeps
// every event it was posted, in order, with the headers it came with.
type receiver struct {
	srv    *httptest.Server
	answer func(n int, w http.ResponseWriter, r *http.Request) bool // true: answered

	mu      sync.Mutex
	got     []cloudevents.Event
	headers []http.Header
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request) bool) *receiver {
	t.Helper()
	rc := &receiver{answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		ev, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body)) // for answer, which may hand it on
		rc.mu.Lock()
		rc.got = append(rc.got, *ev)
		rc.headers = append(rc.headers, r.Header.Clone())
		n := len(rc.got)
		rc.mu.Unlock()
		if rc.answer != nil && rc.answer(n, w, r) {
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) events() []cloudevents.Event {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// ids returns the distinct ids posted.
func (rc *receiver) ids() map[string]int {
	out := map[string]int{}
	for _, ev := range rc.events() {
		out[ev.ID()]++
	}
	return out
}

// run runs a forwarder (one tick replica) until the returned stop is called or the test ends;
// stop cancels it and waits for Run to return. The back-off is short unless cfg sets it.
func run(t *testing.T, js jetstream.JetStream, names event.Names, cfg forward.Config) (stop func()) {
	t.Helper()
	cancel, wait := runParts(t, js, names, cfg)
	return func() { cancel(); wait() }
}

// runParts is run with the stop in its two halves: cancel, and wait for Run to return.
func runParts(t *testing.T, js jetstream.JetStream, names event.Names, cfg forward.Config) (cancel context.CancelFunc, wait func()) {
	t.Helper()
	cfg.Enabled = true
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff, cfg.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	}
	f, err := forward.New(js, names, egress.LoopbackPolicy(), clockwork.NewRealClock(), testenv.Logger(t), cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	var once sync.Once
	wait = func() {
		once.Do(func() {
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(30 * time.Second):
				t.Fatal("the forwarder did not stop")
			}
		})
	}
	t.Cleanup(func() { cancel(); wait() })
	return cancel, wait
}

// publish puts n due events of kind on the due stream, as the tick does, and returns them.
func publish(t *testing.T, js jetstream.JetStream, names event.Names, kind domain.JobKind, n int) []cloudevents.Event {
	t.Helper()
	pub := queue.NewPublisher(js)
	at := time.Now().UTC().Truncate(time.Millisecond)
	var out []cloudevents.Event
	for i := range n {
		job := &domain.Job{ID: uuid.NewString(), Name: fmt.Sprintf("job-%d", i), Namespace: domain.DefaultNamespace, Kind: kind,
			Version: 3, Timezone: domain.DefaultTimezone, Schedule: domain.Schedule{Cron: "0 * * * * *"}}
		if kind == domain.KindHTTP {
			job.HTTP = &domain.HTTPSpec{Method: http.MethodPost, URL: "https://settlement.example.com/run"}
		} else {
			job.SQL = &domain.SQLSpec{Driver: "postgres", DSN: "{{ var.REPORTS_DSN }}"}
		}
		ev, err := event.NewDue(event.DueFor(job, at, domain.TriggerSchedule, domain.ScheduledKey(job.ID, at)), "/vecron/tick/t-1")
		require.NoError(t, err)
		event.SetTrace(&ev, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "")
		publishEvent(t, pub, names, kind, ev)
		out = append(out, ev)
	}
	return out
}

func publishEvent(t *testing.T, pub *queue.Publisher, names event.Names, kind domain.JobKind, ev cloudevents.Event) {
	t.Helper()
	msg, err := event.ToNATS(t.Context(), ev)
	require.NoError(t, err)
	require.NoError(t, pub.Publish(t.Context(), queue.Message{Subject: names.DueSubject(kind), MsgID: ev.ID(), Msg: msg}))
}

// requireSameEvent holds a posted event to the one published: every attribute and extension,
// and the data byte for byte.
func requireSameEvent(t *testing.T, want, got cloudevents.Event) {
	t.Helper()
	require.Equal(t, want.ID(), got.ID())
	require.Equal(t, want.Type(), got.Type())
	require.Equal(t, want.Source(), got.Source())
	require.Equal(t, want.Subject(), got.Subject())
	require.True(t, want.Time().Equal(got.Time()), "time %s, want %s", got.Time(), want.Time())
	require.Equal(t, want.DataContentType(), got.DataContentType())
	require.Equal(t, want.SpecVersion(), got.SpecVersion())
	wantExt := map[string]string{}
	for k, v := range want.Extensions() {
		wantExt[k] = fmt.Sprint(v)
	}
	gotExt := map[string]string{}
	for k, v := range got.Extensions() {
		gotExt[k] = fmt.Sprint(v)
	}
	require.Equal(t, wantExt, gotExt)
	require.Equal(t, string(want.Data()), string(got.Data()))
}

// streamEmpty waits until the due stream holds nothing: every message acknowledged or
// terminated (a work-queue stream removes both).
func streamEmpty(t *testing.T, js jetstream.JetStream, names event.Names) {
	t.Helper()
	require.Eventually(t, func() bool {
		s, err := js.Stream(t.Context(), names.DueStream())
		if err != nil {
			return false
		}
		info, err := s.Info(t.Context())
		return err == nil && info.State.Msgs == 0
	}, 30*time.Second, 10*time.Millisecond, "the due stream empties")
}

func newRegistry(t *testing.T) *metric.Registry {
	t.Helper()
	reg, err := metric.New(metric.Config{Function: "tick"})
	require.NoError(t, err)
	return reg
}

// deliveries returns vecron_forward_deliveries_total as "kind/result" → count, zeros left out.
func deliveries(t *testing.T, reg *metric.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != string(metric.ForwardDeliveries) {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if v := m.GetCounter().GetValue(); v != 0 {
				out[labels["kind"]+"/"+labels["result"]] = v
			}
		}
	}
	return out
}

// TestPostsEachKindToItsSinkAndAcks: per-kind sinks get their kind's due events and wakes, each
// posted once in binary mode with every attribute as published; accepted events leave the stream;
// the consumers are the executors' own, unchanged.
func TestPostsEachKindToItsSinkAndAcks(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	require.NoError(t, queue.EnsureDueConsumers(t.Context(), js, names))
	httpSink, sqlSink := newReceiver(t, nil), newReceiver(t, nil)
	reg := newRegistry(t)
	run(t, js, names, forward.Config{Sink: "http://127.0.0.1:1/never", Metrics: reg,
		Sinks: []string{"http=" + httpSink.srv.URL + "/ns/default/http", "sql=" + sqlSink.srv.URL + "/sql"}})

	wantHTTP := publish(t, js, names, domain.KindHTTP, 6)
	wantSQL := publish(t, js, names, domain.KindSQL, 4)
	wake := event.NewWake(domain.KindSQL, time.Now().Add(time.Minute), "/vecron/tick/t-1")
	publishEvent(t, queue.NewPublisher(js), names, domain.KindSQL, wake)
	wantSQL = append(wantSQL, wake)
	streamEmpty(t, js, names)

	for _, c := range []struct {
		rc   *receiver
		want []cloudevents.Event
	}{{httpSink, wantHTTP}, {sqlSink, wantSQL}} {
		got := c.rc.events()
		require.Len(t, got, len(c.want), "each event posted once")
		byID := map[string]cloudevents.Event{}
		for i, ev := range got {
			byID[ev.ID()] = ev
			h := c.rc.headers[i]
			require.Equal(t, ev.ID(), h.Get("Ce-Id"), "binary mode: attributes as headers")
			require.NotContains(t, h.Get("Content-Type"), "cloudevents", "binary mode, not structured")
		}
		for _, w := range c.want {
			require.Contains(t, byID, w.ID())
			requireSameEvent(t, w, byID[w.ID()])
		}
	}
	require.Equal(t, map[string]float64{"http/ok": 6, "sql/ok": 5}, deliveries(t, reg))

	for _, kind := range queue.DueKinds() {
		c, err := js.Consumer(t.Context(), names.DueStream(), names.DueConsumer(kind))
		require.NoError(t, err)
		want := queue.DueConsumerConfig(names, kind, queue.DefaultPullerConfigOf(kind))
		got := c.CachedInfo().Config
		require.Equal(t, want.AckWait, got.AckWait, "the executors' consumer, unchanged")
		require.Equal(t, want.MaxAckPending, got.MaxAckPending)
		require.Equal(t, want.FilterSubject, got.FilterSubject)
	}
}

// TestA5xxIsPostedAgainAndRecordedOnce: the sink is a real executor's push handler behind a
// front that, the first time, lets the executor run the fire and then answers 503, as a broker
// that stored an event and lost its answer does. The forwarder posts the event again, the same
// event with the same id — the fire's idempotency key — and the executor records the fire once
// and calls the target once, with that key.
func TestA5xxIsPostedAgainAndRecordedOnce(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	var mu sync.Mutex
	var keys []string
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
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
	push := executor.PushHandler(t.Context(), rt.HandlePushed, testenv.Logger(t))
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		rec := httptest.NewRecorder()
		push.ServeHTTP(rec, r)
		if n == 1 {
			require.Equal(t, http.StatusOK, rec.Code, "the executor ran the fire")
			http.Error(w, "lost the answer", http.StatusServiceUnavailable)
			return true
		}
		w.WriteHeader(rec.Code)
		return true
	})
	reg := newRegistry(t)
	run(t, js, names, forward.Config{Sink: rc.srv.URL, Metrics: reg})

	job := testfactory.Job(t, st, testfactory.JobOpts{URL: target.URL + "/report"})
	at := time.Now().UTC().Add(-time.Second).Truncate(time.Second)
	key := domain.ScheduledKey(job.ID, at)
	want, err := event.NewDue(event.DueFor(job, at, domain.TriggerSchedule, key), "/vecron/tick/t-1")
	require.NoError(t, err)
	publishEvent(t, queue.NewPublisher(js), names, domain.KindHTTP, want)
	streamEmpty(t, js, names)

	got := rc.events()
	require.Len(t, got, 2, "posted again after the 503")
	for _, ev := range got {
		requireSameEvent(t, want, ev)
		require.Equal(t, key, ev.ID(), "the event id is the fire's idempotency key")
		require.Equal(t, event.TypeJobDue, ev.Type())
		require.Equal(t, job.ID, ev.Subject())
		require.Equal(t, string(domain.KindHTTP), fmt.Sprint(ev.Extensions()[event.ExtJobKind]))
	}
	exec, err := st.ExecutionByKey(t.Context(), key)
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, exec.Status)
	require.Equal(t, 1, exec.Attempt)
	finished, _, err := st.ExecutionStats(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, finished, "one execution recorded")
	mu.Lock()
	require.Equal(t, []string{key}, keys, "the target called once, with the key")
	mu.Unlock()
	require.Equal(t, map[string]float64{"http/retry": 1, "http/ok": 1}, deliveries(t, reg))
}

// TestAStopHandsFetchedEventsBack: a forwarder stopped with posts in flight and events fetched
// ahead finishes the posts, hands the others back at once (not after the ack wait), and a
// second forwarder posts them: every event reaches a sink.
func TestAStopHandsFetchedEventsBack(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(3)
	slow := newReceiver(t, func(n int, _ http.ResponseWriter, r *http.Request) bool {
		if n <= 3 {
			started.Done()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return false
	})
	cancel, wait := runParts(t, js, names, forward.Config{Sink: slow.srv.URL, Concurrency: 3})
	want := publish(t, js, names, domain.KindHTTP, 30)
	started.Wait() // three posts in flight, more fetched behind them

	cancel()
	// The posts in flight are finished, and hold the stop until they are answered; no new one
	// starts once the stop has begun.
	close(release)
	wait()
	cons, err := js.Consumer(t.Context(), names.DueStream(), names.DueConsumer(domain.KindHTTP))
	require.NoError(t, err)
	// Everything not posted is there to take at once: a message the stop had not handed back
	// would come back only after the consumer's ack wait (4 s).
	batch, err := cons.Fetch(len(want), jetstream.FetchMaxWait(time.Second))
	require.NoError(t, err)
	var taken []jetstream.Msg
	for msg := range batch.Messages() {
		taken = append(taken, msg)
	}
	require.NoError(t, batch.Error())
	require.Equal(t, len(want)-3, len(taken), "every event not posted is handed back")
	for _, msg := range taken { // for the second forwarder; not before: the fetch would take them again
		require.NoError(t, msg.Nak())
	}

	fast := newReceiver(t, nil)
	run(t, js, names, forward.Config{Sink: fast.srv.URL})
	streamEmpty(t, js, names)
	all := slow.ids()
	for id, n := range fast.ids() {
		all[id] += n
	}
	for _, ev := range want {
		require.Contains(t, all, ev.ID(), "none lost")
	}
	require.Len(t, slow.ids(), 3, "the posts in flight were finished, and none begun after the stop")
	require.NotEmpty(t, fast.ids(), "the second forwarder took what the first handed back")
}

// TestAHostileSinkCannotStallOrRedirectTheTick: a sink that never answers is cut at
// forward.timeout and tried again, without holding up another kind; a huge answer is not read;
// a redirect to another host is not followed, and the event stays until the sink accepts it;
// an event refused as malformed is posted once, not forever: recorded dead-lettered by the api's
// dead-letter sink when forward.dead_letter_sink names it, given up otherwise.
func TestAHostileSinkCannotStallOrRedirectTheTick(t *testing.T) {
	t.Parallel()

	t.Run("Slow", func(t *testing.T) {
		t.Parallel()
		_, js, names := testenv.NATS(t)
		stuck := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) bool {
			<-r.Context().Done()
			return true
		})
		ok := newReceiver(t, nil)
		reg := newRegistry(t)
		stop := run(t, js, names, forward.Config{Timeout: 100 * time.Millisecond, Concurrency: 1, Metrics: reg,
			Sinks: []string{"http=" + stuck.srv.URL, "sql=" + ok.srv.URL}})
		publish(t, js, names, domain.KindHTTP, 2)
		sql := publish(t, js, names, domain.KindSQL, 5)
		require.Eventually(t, func() bool { return len(ok.ids()) == len(sql) }, 30*time.Second, 10*time.Millisecond,
			"the sql sink gets its events while the http one hangs")
		require.Eventually(t, func() bool { return len(stuck.events()) >= 3 }, 30*time.Second, 10*time.Millisecond,
			"a post cut at the timeout is made again")
		stop() // returns: posts in flight end at the timeout
		require.GreaterOrEqual(t, deliveries(t, reg)["http/retry"], float64(2))
	})

	t.Run("HugeAnswer", func(t *testing.T) {
		t.Parallel()
		_, js, names := testenv.NATS(t)
		chunk := []byte(strings.Repeat("x", 1<<20))
		huge := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
			w.WriteHeader(http.StatusOK)
			for range 1 << 10 { // a GiB, unless the client stops reading
				if _, err := w.Write(chunk); err != nil {
					break
				}
			}
			return true
		})
		run(t, js, names, forward.Config{Sink: huge.srv.URL, Timeout: 5 * time.Second})
		want := publish(t, js, names, domain.KindHTTP, 3)
		streamEmpty(t, js, names)
		require.Len(t, huge.ids(), len(want), "accepted, each once: the answer is not read to its end")
	})

	t.Run("RedirectToAnotherHost", func(t *testing.T) {
		t.Parallel()
		_, js, names := testenv.NATS(t)
		elsewhere := newReceiver(t, nil)
		var mu sync.Mutex
		redirect := true
		sk := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
			mu.Lock()
			defer mu.Unlock()
			if n >= 3 {
				redirect = false
			}
			if redirect {
				http.Redirect(w, r, elsewhere.srv.URL+"/steal", http.StatusTemporaryRedirect)
				return true
			}
			return false
		})
		reg := newRegistry(t)
		run(t, js, names, forward.Config{Sink: sk.srv.URL, Metrics: reg})
		want := publish(t, js, names, domain.KindHTTP, 1)[0]
		streamEmpty(t, js, names)
		require.Empty(t, elsewhere.events(), "the redirect was not followed")
		require.Equal(t, map[string]int{want.ID(): 3}, sk.ids(), "posted again until accepted")
		require.Equal(t, map[string]float64{"http/retry": 2, "http/ok": 1}, deliveries(t, reg))
	})

	t.Run("MalformedToTheApisDeadLetterSink", func(t *testing.T) {
		t.Parallel()
		st, _ := testfactory.Store(t)
		_, js, names := testenv.NATS(t)
		a := api.New(api.Deps{Store: st, Identity: testfactory.Identity(t, st, testfactory.AuthConfig(t), time.Now),
			DeadLetters: queue.NewPublisher(js), Names: names}, time.Now, testenv.Logger(t))
		internal := httptest.NewServer(a.InternalEvents(nil))
		t.Cleanup(internal.Close)
		refuse := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
			http.Error(w, "bad event", http.StatusBadRequest)
			return true
		})
		reg := newRegistry(t)
		// The path may hold the receiver's token as well as the query: neither leaves the tick.
		run(t, js, names, forward.Config{Sink: refuse.srv.URL + "/ns/p4th-t0ken?token=t0ken", DeadLetterSink: internal.URL + api.DeadLetterPath, Metrics: reg})
		// Claimed: the job's next run is past the fire's instant, as after the tick handed it out,
		// which is what the sink requires before it records a fire no executor did.
		job := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: domain.Instant(time.Now().Add(time.Hour))})
		at := time.Now().UTC().Truncate(time.Second)
		key := domain.ScheduledKey(job.ID, at)
		ev, err := event.NewDue(event.DueFor(job, at, domain.TriggerSchedule, key), "/vecron/tick/t-1")
		require.NoError(t, err)
		publishEvent(t, queue.NewPublisher(js), names, domain.KindHTTP, ev)
		streamEmpty(t, js, names)
		require.Len(t, refuse.events(), 1, "posted once")
		exec, err := st.ExecutionByKey(t.Context(), key)
		require.NoError(t, err)
		require.Equal(t, domain.StatusDeadLettered, exec.Status, "recorded by the api's dead-letter sink")
		require.Contains(t, exec.Error, api.UndeliveredPrefix)
		require.Contains(t, exec.Error, "to "+refuse.srv.URL+" (last answer: HTTP 400)", "scheme, host and port only")
		require.NotContains(t, exec.Error, "t0ken")
		require.NotContains(t, exec.Error, "/ns/")
		require.Equal(t, map[string]float64{"http/dead_lettered": 1}, deliveries(t, reg))
		dlq, err := js.Stream(t.Context(), names.DLQStream())
		require.NoError(t, err)
		info, err := dlq.Info(t.Context())
		require.NoError(t, err)
		require.Equal(t, uint64(1), info.State.Msgs, "on the dead-letter stream, for replay")
	})

	t.Run("Malformed", func(t *testing.T) {
		t.Parallel()
		_, js, names := testenv.NATS(t)
		refuse := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) bool {
			http.Error(w, "bad event", http.StatusBadRequest)
			return true
		})
		reg := newRegistry(t)
		run(t, js, names, forward.Config{Sink: refuse.srv.URL, Metrics: reg})
		want := publish(t, js, names, domain.KindSQL, 2)
		streamEmpty(t, js, names)
		require.Len(t, refuse.events(), len(want), "each posted once, not again")
		require.Equal(t, map[string]float64{"sql/gave_up": 2}, deliveries(t, reg))
	})
}

// TestConfigErrorsNameTheSetting: a bad sink fails New with the setting named and the URL, which
// may hold a token, never quoted; a forwarder that is off forwards nothing.
func TestConfigErrorsNameTheSetting(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		cfg  forward.Config
		want string
	}{
		{"NoSink", forward.Config{Enabled: true}, "forward.sink: required"},
		{"Scheme", forward.Config{Enabled: true, Sink: "ftp://broker.example/?token=t0ken"}, "forward.sink: must be an http or https URL"},
		{"NoHost", forward.Config{Enabled: true, Sink: "http:///in?token=t0ken"}, "forward.sink: must be an http or https URL"},
		{"NotAURL", forward.Config{Enabled: true, Sink: "broker.example/t0ken"}, "forward.sink: must be an http or https URL"},
		{"KindScheme", forward.Config{Enabled: true, Sinks: []string{"sql=gopher://x/t0ken"}}, "forward.sinks (sql): must be an http or https URL"},
		{"NoKind", forward.Config{Enabled: true, Sinks: []string{"https://gateway/t0ken"}}, "forward.sinks: item 0: want kind=URL"},
		{"UnknownKind", forward.Config{Enabled: true, Sinks: []string{"cron=https://gateway/t0ken"}}, `forward.sinks: item 0: "cron" is not a job kind`},
		{"Twice", forward.Config{Enabled: true, Sinks: []string{"http=https://a/t0ken", "http=https://b/t0ken"}}, "forward.sinks: http is given twice"},
		{"Refused", forward.Config{Enabled: true, Sink: "http://169.254.169.254/latest?token=t0ken"}, "forward.sink: egress policy refuses"},
		{"RefusedKind", forward.Config{Enabled: true, Sink: "https://broker.example", Sinks: []string{"http=http://[::1]:8080/t0ken"}}, "forward.sinks (http): egress policy refuses"},
		{"DeadLetterScheme", forward.Config{Enabled: true, Sink: "https://broker.example", DeadLetterSink: "file:///t0ken"}, "forward.dead_letter_sink: must be an http or https URL"},
		{"DeadLetterRefused", forward.Config{Enabled: true, Sink: "https://broker.example", DeadLetterSink: "http://127.0.0.1:8081/dead-letter?token=t0ken"}, "forward.dead_letter_sink: egress policy refuses"},
		{"Concurrency", forward.Config{Enabled: true, Sink: "https://broker.example", Concurrency: -1}, "forward.concurrency:"},
		{"Timeout", forward.Config{Enabled: true, Sink: "https://broker.example", Timeout: -time.Second}, "forward.timeout:"},
		{"CallbackWithoutURL", forward.Config{Enabled: true, Sink: "https://gateway.example/t0ken", CallbackPort: 8082}, "forward.callback_url: required with forward.callback_port"},
		{"CallbackURLWithoutPort", forward.Config{Enabled: true, Sink: "https://gateway.example", CallbackURL: "http://tick:8082/forward/callback?t0ken"}, "forward.callback_url: set, but forward.callback_port is 0"},
		{"CallbackURLScheme", forward.Config{Enabled: true, Sink: "https://gateway.example", CallbackPort: 8082, CallbackURL: "tick:8082/t0ken"}, "forward.callback_url: must be an http or https URL"},
		{"CallbackPort", forward.Config{Enabled: true, Sink: "https://gateway.example", CallbackPort: 70000, CallbackURL: "http://tick/forward/callback?t0ken"}, "forward.callback_port: must be a port number"},
		{"CallbackTimeout", forward.Config{Enabled: true, Sink: "https://gateway.example", CallbackPort: 8082, CallbackURL: "http://tick/forward/callback?t0ken", CallbackTimeout: -time.Second}, "forward.callback_timeout:"},
		{"CallbackTimeoutTooShort", forward.Config{Enabled: true, Sink: "https://gateway.example", CallbackPort: 8082, CallbackURL: "http://tick/forward/callback?t0ken", CallbackTimeout: time.Nanosecond}, "forward.callback_timeout: 1ns is shorter than 10s"},
		{"CallbackTimeoutJustShort", forward.Config{Enabled: true, Sink: "https://gateway.example", CallbackPort: 8082, CallbackURL: "http://tick/forward/callback?t0ken", CallbackTimeout: 9 * time.Second}, "forward.callback_timeout: 9s is shorter than 10s"},
		{"CallbackURLPath", forward.Config{Enabled: true, Sink: "https://gateway.example", CallbackPort: 8081, CallbackURL: "http://tick:8081/t0ken"}, "forward.callback_url: its path must be /forward/callback"},
		{"CallbackURLRoot", forward.Config{Enabled: true, Sink: "https://gateway.example", CallbackPort: 8081, CallbackURL: "http://tick:8081/?t0ken"}, "forward.callback_url: its path must be /forward/callback"},
		{"CallbackURLPathPrefix", forward.Config{Enabled: true, Sink: "https://gateway.example", CallbackPort: 8081, CallbackURL: "http://tick:8081/forward/callback/t0ken"}, "forward.callback_url: its path must be /forward/callback"},
		{"CallbackURLUserInfo", forward.Config{Enabled: true, Sink: "https://gateway.example", CallbackPort: 8081, CallbackURL: "http://user:t0ken@tick:8081/forward/callback"}, "forward.callback_url: must not hold user info"},
		{"CallbackURLFragment", forward.Config{Enabled: true, Sink: "https://gateway.example", CallbackPort: 8081, CallbackURL: "http://tick:8081/forward/callback#t0ken"}, "forward.callback_url: must not have a fragment"},
		{"CallbackURLEmptyFragment", forward.Config{Enabled: true, Sink: "https://gateway.example", CallbackPort: 8081, CallbackURL: "http://tick:8081/forward/callback?a=t0ken#"}, "forward.callback_url: must not have a fragment"},
		{"CallbackURLTokenParam", forward.Config{Enabled: true, Sink: "https://gateway.example", CallbackPort: 8081, CallbackURL: "http://tick:8081/forward/callback?vecron_callback=t0ken&a=1"}, "forward.callback_url: its query must not hold vecron_callback"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := forward.New(nil, event.Names{}, &egress.Policy{}, clockwork.NewFakeClock(), testenv.Logger(t), c.cfg)
			require.ErrorContains(t, err, c.want)
			require.NotContains(t, err.Error(), "t0ken")
		})
	}

	t.Run("Off", func(t *testing.T) {
		t.Parallel()
		f, err := forward.New(nil, event.Names{}, &egress.Policy{}, clockwork.NewFakeClock(), testenv.Logger(t),
			forward.Config{Sink: "http://127.0.0.1:1/in"})
		require.NoError(t, err, "a sink is not checked while forwarding is off")
		require.Empty(t, f.Kinds())
		require.NoError(t, f.Run(t.Context()), "returns at once")
	})

	t.Run("PerKindOverOne", func(t *testing.T) {
		t.Parallel()
		f, err := forward.New(nil, event.Names{}, &egress.Policy{}, clockwork.NewFakeClock(), testenv.Logger(t),
			forward.Config{Enabled: true, Sinks: []string{" sql = https://gateway.example/async-function/vecron-execute-db"}})
		require.NoError(t, err)
		require.Equal(t, []domain.JobKind{domain.KindSQL}, f.Kinds(), "a kind without a sink is left to its executors")
	})
}

// A sink that refuses every event for a while (a 401 until its credential is fixed) is logged
// once when it starts and once when it stops, not once per event per attempt, which would bury
// every other line; the metric still counts each attempt.
func TestARefusingSinkIsLoggedOncePerChange(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	const refusals, events = 60, 10
	sk := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) bool {
		if n > refusals {
			return false
		}
		w.WriteHeader(http.StatusUnauthorized)
		return true
	})
	reg := newRegistry(t)
	var logs testenv.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	f, err := forward.New(js, names, egress.LoopbackPolicy(), clockwork.NewRealClock(), log, forward.Config{
		Enabled: true, Sink: sk.srv.URL, Metrics: reg, Concurrency: 1, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	publish(t, js, names, domain.KindHTTP, events)
	streamEmpty(t, js, names)
	require.Equal(t, map[string]float64{"http/retry": refusals, "http/ok": events}, deliveries(t, reg))
	require.Equal(t, 1, strings.Count(logs.String(), "not accepted by the forward sink"), logs.String())
	require.Equal(t, 1, strings.Count(logs.String(), "accepted by the forward sink again"), logs.String())
}

package eventsink_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/event/eventschema"
	"github.com/vecron/vecron/shared/eventsink"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/httpjob"
	"github.com/vecron/vecron/shared/jobevents"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// recordingSink is an events.sink that fails its first failFirst requests with a 500 (or
// answers status to every request, when set) and records the events it accepts.
type recordingSink struct {
	srv       *httptest.Server
	failFirst int
	status    int

	mu       sync.Mutex
	requests int
	got      []cloudevents.Event
}

func newSink(t *testing.T, failFirst, status int) *recordingSink {
	t.Helper()
	s := &recordingSink{failFirst: failFirst, status: status}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests++
		n := s.requests
		s.mu.Unlock()
		if s.status != 0 {
			w.WriteHeader(s.status)
			return
		}
		if n <= s.failFirst {
			http.Error(w, "not now", http.StatusInternalServerError)
			return
		}
		if r.Header.Get("ce-id") == "" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "binary mode expected", http.StatusBadRequest)
			return
		}
		ev, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.got = append(s.got, *ev)
		s.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *recordingSink) snapshot() (requests int, got []cloudevents.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, slices.Clone(s.got)
}

// start runs a deliverer (one api replica) through policy until the test ends, once its
// consumer exists. The back-off is short unless cfg sets it.
func start(t *testing.T, js jetstream.JetStream, names event.Names, policy *egress.Policy, log *slog.Logger, cfg eventsink.Config) {
	t.Helper()
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff, cfg.MaxBackoff = 10*time.Millisecond, 100*time.Millisecond
	}
	d, err := eventsink.New(js, names, policy, clockwork.NewRealClock(), log, cfg)
	require.NoError(t, err, "a host name is judged where it resolves, at each connection")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = d.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	require.Eventually(t, func() bool {
		_, err := js.Consumer(t.Context(), names.EventsStream(), names.SinkConsumer())
		return err == nil
	}, 10*time.Second, 10*time.Millisecond, "the sink's consumer is created")
}

// streamEvents returns the events on the events stream once it holds n, by id.
func streamEvents(t *testing.T, js jetstream.JetStream, names event.Names, n int) map[string]cloudevents.Event {
	t.Helper()
	require.Eventually(t, func() bool {
		s, err := js.Stream(t.Context(), names.EventsStream())
		return err == nil && s.CachedInfo().State.Msgs >= uint64(n)
	}, 30*time.Second, 20*time.Millisecond, "%d events on the stream", n)
	c, err := js.OrderedConsumer(t.Context(), names.EventsStream(), jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	msgs, err := c.FetchNoWait(1000)
	require.NoError(t, err)
	out := map[string]cloudevents.Event{}
	for m := range msgs.Messages() {
		ev, err := event.FromNATS(t.Context(), &nats.Msg{Subject: m.Subject(), Header: m.Headers(), Data: m.Data()})
		require.NoError(t, err)
		out[ev.ID()] = ev
	}
	require.Len(t, out, n, "no more events than expected, each id once")
	return out
}

// TestDeliversEveryLifecycleEventToASinkThatFailsTwiceFirst runs executions that succeed, fail,
// are skipped and dead-letter on a real executor, and changes a job through the service the API
// uses; the sink refuses the first two deliveries. Every event of the stream reaches it, each
// valid against the schema of its type, and any duplicate is the same event again.
func TestDeliversEveryLifecycleEventToASinkThatFailsTwiceFirst(t *testing.T) {
	t.Parallel()
	schemas, err := eventschema.Load("../../docs/events")
	require.NoError(t, err)
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	sk := newSink(t, 2, 0)
	start(t, js, names, egress.LoopbackPolicy(), testenv.Logger(t), eventsink.Config{Sink: sk.srv.URL})

	// Job changes, published from the audit log by the API's publisher.
	_, err = st.AuditCursor(t.Context(), jobevents.CursorName) // the head, before any change
	require.NoError(t, err)
	pubCtx, stopPub := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	pub := jobevents.New(st, js, names, clockwork.NewRealClock(), testenv.Logger(t), jobevents.Config{})
	wg.Go(func() { _ = pub.Run(pubCtx) })
	t.Cleanup(func() { stopPub(); wg.Wait() })
	svc := jobs.New(st, time.Now)
	actx := domain.WithActor(t.Context(), domain.Actor{ID: "u1", Name: "ann", Kind: "user", Mode: "database"})
	j := &domain.Job{Name: "nightly", Namespace: "billing", Enabled: true, HTTP: &domain.HTTPSpec{URL: "https://example.com/report"},
		Schedule: domain.Schedule{Cron: "0 0 2 * * *"}}
	require.NoError(t, svc.Create(actx, j))
	_, err = svc.SetEnabled(actx, j.ID, false)
	require.NoError(t, err)
	_, err = svc.SetEnabled(actx, j.ID, true)
	require.NoError(t, err)
	cur, err := svc.Get(actx, j.ID)
	require.NoError(t, err)
	edit := *cur
	edit.Description = "edited"
	_, err = svc.Update(actx, cur, &edit, cur.Version)
	require.NoError(t, err)
	require.NoError(t, svc.Delete(actx, j.ID))

	// Executions on a real executor against a local target.
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gone":
			http.Error(w, "gone", http.StatusNotFound) // permanent: failed without retries
		case "/boom":
			http.Error(w, "boom", http.StatusInternalServerError)
		default:
			_, _ = w.Write([]byte("done"))
		}
	}))
	defer target.Close()
	clock := clockwork.NewRealClock()
	runner := httpjob.New(clock, httpjob.Config{}, egress.LoopbackPolicy())
	t.Cleanup(runner.Close)
	rt, err := executor.New(domain.KindHTTP, "execute-http", executor.Deps{Store: st, Runner: runner, Publisher: queue.NewPublisher(js),
		Names: names, Clock: clock, Log: testenv.Logger(t)}, executor.Config{WorkerID: "w1"})
	require.NoError(t, err)
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	ok := testfactory.Job(t, st, testfactory.JobOpts{URL: target.URL + "/ok"})
	gone := testfactory.Job(t, st, testfactory.JobOpts{URL: target.URL + "/gone"})
	dead := testfactory.Job(t, st, testfactory.JobOpts{URL: target.URL + "/boom", Retry: &domain.RetryPolicy{MaxAttempts: 1}})
	late := testfactory.Job(t, st, testfactory.JobOpts{URL: target.URL + "/ok"})
	late.StartingDeadline = domain.Duration(time.Second) // a minute late: skipped
	for _, job := range []*domain.Job{ok, gone, dead, late} {
		ev, err := event.NewDue(event.DueFor(job, at, domain.TriggerSchedule, domain.ScheduledKey(job.ID, at)), "/test")
		require.NoError(t, err)
		require.NoError(t, rt.Handle(t.Context(), ev))
	}

	want := map[string]int{
		event.TypeExecutionStarted: 3, event.TypeExecutionSucceeded: 1, event.TypeExecutionFailed: 1,
		event.TypeExecutionSkipped: 1, event.TypeExecutionDeadLettered: 1,
		event.TypeJobCreated: 1, event.TypeJobPaused: 1, event.TypeJobResumed: 1, event.TypeJobUpdated: 1, event.TypeJobDeleted: 1,
	}
	total := 0
	for _, n := range want {
		total += n
	}
	sent := streamEvents(t, js, names, total)
	types := map[string]int{}
	for _, ev := range sent {
		types[ev.Type()]++
	}
	require.Equal(t, want, types)

	require.Eventually(t, func() bool {
		_, got := sk.snapshot()
		seen := map[string]bool{}
		for _, ev := range got {
			seen[ev.ID()] = true
		}
		return len(seen) == len(sent)
	}, 30*time.Second, 20*time.Millisecond, "every event reaches the sink")

	requests, got := sk.snapshot()
	require.GreaterOrEqual(t, requests, len(sent)+2, "the two refused deliveries were made again")
	byID := map[string]cloudevents.Event{}
	for _, ev := range got {
		orig, ok := sent[ev.ID()]
		require.True(t, ok, "event %s (%s) was not on the stream", ev.ID(), ev.Type())
		require.Equal(t, orig.Type(), ev.Type())
		require.Equal(t, orig.Source(), ev.Source())
		require.JSONEq(t, string(orig.Data()), string(ev.Data()))
		if prev, dup := byID[ev.ID()]; dup {
			require.JSONEq(t, string(prev.Data()), string(ev.Data()), "a duplicate is the same event again")
		}
		byID[ev.ID()] = ev
		require.NoError(t, schemas.Validate(ev))
	}
	okExec, err := st.ExecutionByKey(t.Context(), domain.ScheduledKey(ok.ID, at))
	require.NoError(t, err)
	require.Contains(t, byID, okExec.ID+":1:running")
	require.Contains(t, byID, okExec.ID+":1:succeeded")
}

// TestNewRefusesASinkTheEgressPolicyDenies: a sink at an address the policy refuses can never be
// reached; the api does not start with it, and says which setting and rule.
func TestNewRefusesASinkTheEgressPolicyDenies(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, url, want string
	}{
		{"Loopback", "http://127.0.0.1:8080/in", "egress policy refuses 127.0.0.1"},
		{"Metadata", "http://169.254.169.254/latest", "link-local (cloud metadata)"},
		{"IPv6Loopback", "http://[::1]:8080/in?token=t0ken", "egress policy refuses ::1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := eventsink.New(nil, event.Names{}, &egress.Policy{}, clockwork.NewFakeClock(), testenv.Logger(t), eventsink.Config{Sink: c.url})
			require.ErrorContains(t, err, "events.sink: ")
			require.ErrorContains(t, err, c.want)
			require.NotContains(t, err.Error(), "t0ken")
		})
	}
	for _, c := range []struct {
		name string
		cfg  eventsink.Config
		want string
	}{
		{"NoScheme", eventsink.Config{Sink: "sink.example.com/in"}, "events.sink: must be an http or https URL"},
		{"BadType", eventsink.Config{Sink: "https://sink.example.com/in", Types: []string{"io.vecron.*.failed"}}, "events.types"},
		{"NegativeAttempts", eventsink.Config{Sink: "https://sink.example.com/in", MaxAttempts: -1}, "events.max_attempts"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := eventsink.New(nil, event.Names{}, nil, clockwork.NewFakeClock(), testenv.Logger(t), c.cfg)
			require.ErrorContains(t, err, c.want)
		})
	}
}

// TestARefusedOrFailingSinkGivesAnEventUp: a sink named by a host name is checked where it
// resolves, at each connection; refused there (or answering 500), an event is retried up to
// events.max_attempts, then given up with an error naming its id and type, never its data.
// Delivery is type-agnostic: a type the stream gains later (an alert) goes out like the others,
// and events.types filters.
func TestARefusedOrFailingSinkGivesAnEventUp(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		refused bool
	}{{"RefusedByEgress", true}, {"Answering500", false}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, js, names := testenv.NATS(t)
			sk := newSink(t, 0, http.StatusInternalServerError)
			var logs testenv.LogBuffer
			log := slog.New(slog.NewJSONHandler(&logs, nil))
			url := sk.srv.URL
			policy := egress.LoopbackPolicy()
			if c.refused {
				url = strings.Replace(url, "127.0.0.1", "localhost", 1)
				policy = &egress.Policy{}
			}
			reg := newRegistry(t)
			start(t, js, names, policy, log, eventsink.Config{Sink: url, MaxAttempts: 3,
				MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, Types: []string{"io.vecron.job.*"}, Metrics: reg})

			pub := queue.NewPublisher(js)
			for _, typ := range []string{event.TypeExecutionSucceeded, "io.vecron.job.alert"} {
				ev := cloudevents.NewEvent()
				ev.SetID("ev-" + typ)
				ev.SetType(typ)
				ev.SetSource("/test")
				ev.SetSubject("job-1")
				require.NoError(t, ev.SetData(cloudevents.ApplicationJSON, map[string]string{"response_excerpt": "private-excerpt"}))
				msg, err := event.ToNATS(t.Context(), ev)
				require.NoError(t, err)
				require.NoError(t, pub.Publish(t.Context(), queue.Message{Subject: names.EventSubject(typ), MsgID: ev.ID(), Msg: msg}))
			}
			require.Eventually(t, func() bool { return strings.Contains(logs.String(), "lifecycle event given up") }, 30*time.Second, 10*time.Millisecond)
			require.Eventually(t, func() bool {
				info, err := js.Consumer(t.Context(), names.EventsStream(), names.SinkConsumer())
				if err != nil {
					return false
				}
				ci := info.CachedInfo()
				return ci.NumPending == 0 && ci.NumAckPending == 0 && ci.NumRedelivered == 0
			}, 10*time.Second, 10*time.Millisecond, "both events are settled: one filtered out, one given up")

			out := logs.String()
			require.Contains(t, out, `"event_id":"ev-io.vecron.job.alert"`)
			require.Contains(t, out, `"event_type":"io.vecron.job.alert"`)
			require.NotContains(t, out, "ev-"+event.TypeExecutionSucceeded, "events.types kept it from the sink")
			require.NotContains(t, out, "private-excerpt", "event data is never logged")
			requests, _ := sk.snapshot()
			if c.refused {
				require.Contains(t, out, "egress policy refuses 127.0.0.1")
				require.Zero(t, requests, "a refused sink is never dialled")
			} else {
				require.Equal(t, 3, requests, "events.max_attempts deliveries, then given up")
				require.Contains(t, out, `"status":500`)
			}
			require.Equal(t, map[string]float64{"ok": 0, "retry": 2, "gave_up": 1}, deliveries(t, reg),
				"two retried, then given up; the filtered event is no delivery")
		})
	}
}

// TestReplicasShareOneConsumer: every api replica runs a deliverer; they pull from one durable
// consumer, so a sink that accepts everything gets each event once, not once per replica.
func TestReplicasShareOneConsumer(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	sk := newSink(t, 0, 0)
	reg := newRegistry(t) // one process's: both replicas count into one family
	for range 2 {
		start(t, js, names, egress.LoopbackPolicy(), testenv.Logger(t), eventsink.Config{Sink: sk.srv.URL, Concurrency: 4, Metrics: reg})
	}
	const n = 60
	publishSucceeded(t, js, names, "ev-", n)
	got := testenv.Await(t, "every event at the sink", func() ([]cloudevents.Event, bool) {
		_, got := sk.snapshot()
		return got, len(got) >= n
	})
	require.Eventually(t, func() bool {
		info, err := js.Consumer(t.Context(), names.EventsStream(), names.SinkConsumer())
		return err == nil && info.CachedInfo().NumAckPending == 0 && info.CachedInfo().NumPending == 0
	}, 10*time.Second, 10*time.Millisecond, "all acknowledged")
	requests, got := sk.snapshot()
	require.Equal(t, n, requests, "each event delivered once")
	ids := map[string]bool{}
	for _, ev := range got {
		ids[ev.ID()] = true
	}
	require.Len(t, ids, n)
	require.Equal(t, map[string]float64{"ok": n, "retry": 0, "gave_up": 0}, deliveries(t, reg))
}

func newRegistry(t *testing.T) *metric.Registry {
	t.Helper()
	reg, err := metric.New(metric.Config{Function: "api"})
	require.NoError(t, err)
	return reg
}

// deliveries returns vecron_event_sink_deliveries_total by result.
func deliveries(t *testing.T, reg *metric.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() == string(metric.EventSinkDeliveries) {
			for _, m := range mf.GetMetric() {
				out[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// TestDeliveryGoesOnWhenItsConsumerIsDeleted: an operator removes the consumer (or the events
// stream is made again, taking its consumers with it). The deliverer's iterator then closes,
// and Run returned nil while the api went on serving: nothing was delivered again until the
// next restart, and nothing but a warning said so. It makes the consumer again and goes on.
func TestDeliveryGoesOnWhenItsConsumerIsDeleted(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	sk := newSink(t, 0, 0)
	start(t, js, names, egress.LoopbackPolicy(), testenv.Logger(t), eventsink.Config{Sink: sk.srv.URL, Concurrency: 2})
	require.NoError(t, js.DeleteConsumer(t.Context(), names.EventsStream(), names.SinkConsumer()))
	require.Eventually(t, func() bool {
		_, err := js.Consumer(t.Context(), names.EventsStream(), names.SinkConsumer())
		return err == nil
	}, 40*time.Second, 20*time.Millisecond, "the consumer is made again")

	ev := cloudevents.NewEvent()
	ev.SetID("after-delete")
	ev.SetType(event.TypeExecutionSucceeded)
	ev.SetSource("/test")
	require.NoError(t, ev.SetData(cloudevents.ApplicationJSON, map[string]int{"n": 1}))
	msg, err := event.ToNATS(t.Context(), ev)
	require.NoError(t, err)
	require.NoError(t, queue.NewPublisher(js).Publish(t.Context(), queue.Message{Subject: names.EventSubject(ev.Type()), MsgID: ev.ID(), Msg: msg}))
	got := testenv.Await(t, "the event at the sink", func() ([]cloudevents.Event, bool) {
		_, got := sk.snapshot()
		return got, len(got) >= 1
	})
	require.Equal(t, "after-delete", got[0].ID())
}

// TestShutdownHandsBackTheEventsFetchedAndNotStarted: a replica that stops holds events its
// iterator fetched ahead beside those it delivers. They were left to wait out the ack wait
// (3×timeout+10 s, here 70 s) before another replica could deliver them; now they are handed
// back on the way out, and the replica that goes on delivers them at once.
func TestShutdownHandsBackTheEventsFetchedAndNotStarted(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	arrived := make(chan struct{}, 10)
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(stuck.Close)
	t.Cleanup(func() { close(release) })

	const concurrency = 4
	// The ack wait is 3 × timeout + 10 s (deliverer.go): 25 s here.
	const timeout = 5 * time.Second
	const ackWait = 3*timeout + 10*time.Second
	cfg := eventsink.Config{Sink: stuck.URL, Concurrency: concurrency, Timeout: timeout, MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
	d, err := eventsink.New(js, names, egress.LoopbackPolicy(), clockwork.NewRealClock(), testenv.Logger(t), cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(cancel)
	testenv.Eventually(t, "the sink's consumer is created", func() bool {
		_, err := js.Consumer(t.Context(), names.EventsStream(), names.SinkConsumer())
		return err == nil
	})

	const n = 3 * concurrency
	publishSucceeded(t, js, names, "held-", n)
	<-arrived
	testenv.Eventually(t, "events in delivery and more fetched behind them", func() bool {
		c, err := js.Consumer(t.Context(), names.EventsStream(), names.SinkConsumer())
		return err == nil && c.CachedInfo().NumAckPending > concurrency
	})
	cancel()
	require.NoError(t, <-done)

	sk := newSink(t, 0, 0)
	start(t, js, names, egress.LoopbackPolicy(), testenv.Logger(t), eventsink.Config{Sink: sk.srv.URL, Concurrency: concurrency, Timeout: timeout})
	// The events fetched behind the stuck ones are handed back at once, so the other replica
	// delivers them long before the ack wait. Not every one, always: a batch the server had sent
	// when the first replica stopped pulling is dropped with its subscription and waits out its
	// ack wait, the at-least-once floor. Without the hand-back only the naked in-flight ones
	// (concurrency of them) would arrive early. Delivery may repeat an event, so ids are counted.
	distinct := func() map[string]bool {
		_, got := sk.snapshot()
		ids := map[string]bool{}
		for _, ev := range got {
			ids[ev.ID()] = true
		}
		return ids
	}
	early := testenv.AwaitWithin(t, ackWait/2, "most events at the other replica's sink, well within the ack wait", func() (map[string]bool, bool) {
		ids := distinct()
		return ids, len(ids) >= n-concurrency/2
	})
	require.GreaterOrEqual(t, len(early), n-concurrency/2)
	ids := testenv.AwaitWithin(t, 2*ackWait, "every event at the other replica's sink in the end", func() (map[string]bool, bool) {
		ids := distinct()
		return ids, len(ids) >= n
	})
	require.Len(t, ids, n)
}

// publishSucceeded publishes n execution.succeeded events with ids prefix0, prefix1 …
func publishSucceeded(t *testing.T, js jetstream.JetStream, names event.Names, prefix string, n int) {
	t.Helper()
	var msgs []queue.Message
	for i := range n {
		ev := cloudevents.NewEvent()
		ev.SetID(prefix + strconv.Itoa(i))
		ev.SetType(event.TypeExecutionSucceeded)
		ev.SetSource("/test")
		require.NoError(t, ev.SetData(cloudevents.ApplicationJSON, map[string]int{"n": i}))
		msg, err := event.ToNATS(t.Context(), ev)
		require.NoError(t, err)
		msgs = append(msgs, queue.Message{Subject: names.EventSubject(ev.Type()), MsgID: ev.ID(), Msg: msg})
	}
	for _, err := range queue.NewPublisher(js).PublishBatch(t.Context(), msgs) {
		require.NoError(t, err)
	}
}

package executor_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/delivery"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/httpjob"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

type fixture struct {
	rt    *executor.Runtime
	store *store.Store
	js    jetstream.JetStream
	names event.Names
	// clock is the runtime's: it stands still until the test moves it.
	clock *clockwork.FakeClock
}

// newFixture returns a runtime on a store of its own, with a clock that starts at the wall
// clock's time and moves only when the test advances it.
func newFixture(t *testing.T, cfg executor.Config) *fixture {
	t.Helper()
	st, _ := testfactory.Store(t)
	return newFixtureOn(t, st, clockwork.NewFakeClockAt(time.Now().UTC()), cfg)
}

func newFixtureOn(t *testing.T, st *store.Store, clock *clockwork.FakeClock, cfg executor.Config) *fixture {
	t.Helper()
	_, js, names := testenv.NATS(t)
	runner := httpjob.New(clock, httpjob.Config{}, egress.LoopbackPolicy())
	t.Cleanup(runner.Close)
	rt, err := executor.New(domain.KindHTTP, "execute-http", executor.Deps{
		Store: st, Runner: runner, Publisher: queue.NewPublisher(js), Names: names, Clock: clock, Log: testenv.Logger(t),
	}, cfg)
	require.NoError(t, err)
	return &fixture{rt: rt, store: st, js: js, names: names, clock: clock}
}

func dueEvent(t *testing.T, j *domain.Job, at time.Time) cloudevents.Event {
	t.Helper()
	ev, err := event.NewDue(event.DueFor(j, at, domain.TriggerSchedule, domain.ScheduledKey(j.ID, at)), "/test")
	require.NoError(t, err)
	return ev
}

// lifecycle returns the outcome events published so far: the lifecycle events but the started
// ones, which TestStartedEventPrecedesTheOutcome looks at.
func lifecycle(t *testing.T, f *fixture) []cloudevents.Event {
	t.Helper()
	var out []cloudevents.Event
	for _, ev := range allLifecycle(t, f) {
		if ev.Type() != event.TypeExecutionStarted {
			out = append(out, ev)
		}
	}
	return out
}

// allLifecycle returns every lifecycle event published so far, in stream order.
func allLifecycle(t *testing.T, f *fixture) []cloudevents.Event {
	t.Helper()
	c, err := f.js.OrderedConsumer(t.Context(), f.names.EventsStream(), jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	var out []cloudevents.Event
	for {
		msgs, err := c.FetchNoWait(100)
		require.NoError(t, err)
		n := 0
		for m := range msgs.Messages() {
			n++
			ev, err := event.FromNATS(t.Context(), &nats.Msg{Subject: m.Subject(), Header: m.Headers(), Data: m.Data()})
			require.NoError(t, err)
			out = append(out, ev)
		}
		if n == 0 {
			return out
		}
	}
}

func TestHandleRunsOnceAndIgnoresDuplicates(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("done"))
	}))
	defer target.Close()
	f := newFixture(t, executor.Config{WorkerID: "w1"})
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL})
	ev := dueEvent(t, j, time.Now().UTC().Add(-time.Minute).Truncate(time.Second))

	require.NoError(t, f.rt.Handle(t.Context(), ev))
	require.NoError(t, f.rt.Handle(t.Context(), ev), "a duplicate delivery settles quietly")
	require.EqualValues(t, 1, hits.Load())

	e, err := f.store.ExecutionByKey(t.Context(), ev.ID())
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, e.Status)
	require.Equal(t, "done", e.ResponseExcerpt)
	require.Equal(t, "w1", e.WorkerID)

	evs := lifecycle(t, f)
	require.Len(t, evs, 1, "the republished event of the duplicate is dropped by JetStream")
	require.Equal(t, event.TypeExecutionSucceeded, evs[0].Type())
	require.Equal(t, j.ID, evs[0].Subject())
}

func TestHandleRecordsFailuresAndTimeouts(t *testing.T) {
	t.Parallel()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		}
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer target.Close()
	f := newFixture(t, executor.Config{})
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	once := &domain.RetryPolicy{MaxAttempts: 1}

	failing := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL + "/fail", Retry: once})
	require.NoError(t, f.rt.Handle(t.Context(), dueEvent(t, failing, at)), "a failed last attempt is settled, not redelivered")
	e, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(failing.ID, at))
	require.NoError(t, err)
	require.Equal(t, domain.StatusDeadLettered, e.Status)
	require.Equal(t, 500, e.HTTPStatus)
	require.Equal(t, "gave up after 1 attempts: target answered 500 Internal Server Error", e.Error)

	slow := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL + "/slow", Timeout: 200 * time.Millisecond, Retry: once})
	handled := make(chan error, 1)
	go func() { handled <- f.rt.Handle(t.Context(), dueEvent(t, slow, at)) }()
	// The attempt's timeout and its heartbeat wait on the clock: then its time runs out.
	require.NoError(t, f.clock.BlockUntilContext(t.Context(), 2))
	f.clock.Advance(200 * time.Millisecond)
	require.NoError(t, <-handled)
	e, err = f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(slow.ID, at))
	require.NoError(t, err)
	require.Equal(t, domain.StatusDeadLettered, e.Status)
	require.Less(t, e.DurationMS, 5000.0)
	attempts, err := f.store.Attempts(t.Context(), e.ID, e.ScheduledAt)
	require.NoError(t, err)
	require.Len(t, attempts, 1)
	require.Equal(t, domain.StatusTimedOut, attempts[0].Status, "the attempt itself timed out")

	types := map[string]int{}
	for _, ev := range lifecycle(t, f) {
		types[ev.Type()]++
	}
	require.Equal(t, map[string]int{event.TypeExecutionDeadLettered: 2}, types)
}

func TestHandleDefersToALiveWorker(t *testing.T) {
	t.Parallel()
	f := newFixture(t, executor.Config{StaleAfter: time.Minute, HeartbeatInterval: time.Second})
	j := testfactory.Job(t, f.store, testfactory.JobOpts{})
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	now := time.Now().UTC()
	other := &domain.Execution{ID: "0193b7c4-0000-7000-8000-0000000000aa", JobID: j.ID, JobVersion: 1,
		IdempotencyKey: domain.ScheduledKey(j.ID, at), Trigger: domain.TriggerSchedule, ScheduledAt: at,
		StartedAt: &now, Status: domain.StatusRunning, Attempt: 1, WorkerID: "other"}
	_, err := f.store.StartExecution(t.Context(), other, store.StartParams{StaleAfter: time.Minute})
	require.NoError(t, err)

	err = f.rt.Handle(t.Context(), dueEvent(t, j, at))
	require.Equal(t, delivery.Outcome{Action: delivery.Redeliver, Delay: time.Minute}, delivery.Decide(err))
}

func TestHandleRejectsEventsItCanNeverRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t, executor.Config{})
	j := testfactory.Job(t, f.store, testfactory.JobOpts{})
	at := time.Now().UTC()

	wrongType := dueEvent(t, j, at)
	wrongType.SetType("io.vecron.other")
	sqlJob := *j
	sqlJob.Kind, sqlJob.HTTP = domain.KindSQL, nil
	noData := dueEvent(t, j, at)
	noData.DataEncoded = []byte(`{}`)
	for name, ev := range map[string]cloudevents.Event{"WrongType": wrongType, "WrongKind": dueEvent(t, &sqlJob, at), "NoData": noData} {
		err := f.rt.Handle(context.Background(), ev)
		require.ErrorIs(t, err, delivery.ErrPermanent, name)
	}
}

func TestNewRejectsHeartbeatSlowerThanStaleness(t *testing.T) {
	t.Parallel()
	_, err := executor.New(domain.KindHTTP, "x", executor.Deps{Clock: clockwork.NewRealClock(), Log: testenv.Logger(t)},
		executor.Config{HeartbeatInterval: time.Minute, StaleAfter: time.Second})
	require.ErrorContains(t, err, "executor.heartbeat_interval")
}

func policyJob(t *testing.T, f *fixture, url, policy string, deadline time.Duration) *domain.Job {
	t.Helper()
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: url})
	j.ConcurrencyPolicy, j.StartingDeadline = policy, domain.Duration(deadline)
	return j
}

// blockingTarget answers once release is closed, and reports each arrival.
func blockingTarget(t *testing.T) (srv *httptest.Server, arrived chan string, release chan struct{}) {
	arrived, release = make(chan string, 10), make(chan struct{})
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- r.Header.Get("Idempotency-Key")
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	return srv, arrived, release
}

func TestConcurrencyForbidSkipsWhileRunning(t *testing.T) {
	t.Parallel()
	srv, arrived, release := blockingTarget(t)
	f := newFixture(t, executor.Config{})
	j := policyJob(t, f, srv.URL, domain.ConcurrencyForbid, 0)
	// Instants past, so that every fire is due when it is delivered.
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)

	done := make(chan error, 1)
	go func() { done <- f.rt.Handle(context.Background(), dueEvent(t, j, at)) }()
	<-arrived
	require.NoError(t, f.rt.Handle(t.Context(), dueEvent(t, j, at.Add(time.Second))))
	close(release)
	require.NoError(t, <-done)

	second, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at.Add(time.Second)))
	require.NoError(t, err)
	require.Equal(t, domain.StatusSkipped, second.Status)
	require.Contains(t, second.Error, "concurrency policy forbid")
	first, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, first.Status)

	// Once the first finished, the next fire runs.
	go func() { <-arrived }()
	require.NoError(t, f.rt.Handle(t.Context(), dueEvent(t, j, at.Add(2*time.Second))))
	third, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at.Add(2*time.Second)))
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, third.Status)
}

func TestConcurrencyReplaceCancelsTheRunningOne(t *testing.T) {
	t.Parallel()
	srv, arrived, release := blockingTarget(t)
	defer close(release)
	// Heartbeats every 50 ms, so the replaced worker notices quickly.
	f := newFixture(t, executor.Config{HeartbeatInterval: 50 * time.Millisecond, StaleAfter: time.Minute})
	j := policyJob(t, f, srv.URL, domain.ConcurrencyReplace, 0)
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)

	done := make(chan error, 1)
	go func() { done <- f.rt.Handle(context.Background(), dueEvent(t, j, at)) }()
	<-arrived
	second := make(chan error, 1)
	go func() { second <- f.rt.Handle(context.Background(), dueEvent(t, j, at.Add(time.Second))) }()
	require.Equal(t, domain.ScheduledKey(j.ID, at.Add(time.Second)), <-arrived, "the replacing fire runs at once")
	// Both attempts wait on their timeout and their heartbeat; at the next heartbeat the
	// replaced one learns it was cancelled.
	require.NoError(t, f.clock.BlockUntilContext(t.Context(), 4))
	f.clock.Advance(50 * time.Millisecond)
	require.NoError(t, <-done, "the replaced worker stops and settles")

	first, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
	require.NoError(t, err)
	require.Equal(t, domain.StatusCancelled, first.Status)
	require.Contains(t, first.Error, "replaced by fire")
	release <- struct{}{}
	require.NoError(t, <-second)
	got, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at.Add(time.Second)))
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, got.Status)
}

func TestStartingDeadlineSkipsLateFires(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	f := newFixture(t, executor.Config{})
	j := policyJob(t, f, srv.URL, domain.ConcurrencyAllow, 5*time.Second)
	late := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	require.NoError(t, f.rt.Handle(t.Context(), dueEvent(t, j, late)))
	e, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, late))
	require.NoError(t, err)
	require.Equal(t, domain.StatusSkipped, e.Status)
	require.Contains(t, e.Error, "starting deadline")
	require.Zero(t, hits.Load())
	evs := lifecycle(t, f)
	require.Len(t, evs, 1)
	require.Equal(t, event.TypeExecutionSkipped, evs[0].Type())
}

func TestFixedDelaySchedulesTheNextRunWhenFinished(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { time.Sleep(300 * time.Millisecond) }))
	defer srv.Close()
	f := newFixture(t, executor.Config{})
	every := 10 * time.Second
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: srv.URL, Waiting: true,
		Schedule: &domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: domain.Duration(every)}})
	at := f.clock.Now().UTC()
	require.NoError(t, f.rt.Handle(t.Context(), dueEvent(t, j, at)))

	e, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
	require.NoError(t, err)
	got, err := f.store.GetJob(t.Context(), j.ID)
	require.NoError(t, err)
	require.NotNil(t, got.NextRunAt)
	require.WithinDuration(t, e.FinishedAt.Add(every), *got.NextRunAt, time.Millisecond,
		"the delay counts from the end of the run, not its start")
	require.Equal(t, domain.StateScheduled, got.State)
}

// TestAFirePausedAfterItWasClaimedDoesNotRun: the fire was claimed and published before the
// job was paused (or deleted); the worker records it skipped, saying why, and never calls the
// target.
func TestAFirePausedAfterItWasClaimedDoesNotRun(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer target.Close()
	f := newFixture(t, executor.Config{WorkerID: "w1"})
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	for _, c := range []struct {
		name   string
		change func(j *domain.Job)
		reason string
	}{
		{"Paused", func(j *domain.Job) {
			_, err := f.store.SetEnabled(t.Context(), j.ID, false, nil, time.Now().UTC())
			require.NoError(t, err)
		}, "paused"},
		{"Deleted", func(j *domain.Job) { require.NoError(t, f.store.DeleteJob(t.Context(), j.ID)) }, "deleted"},
	} {
		j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL})
		ev := dueEvent(t, j, at) // claimed and published while the job ran
		c.change(j)
		require.NoError(t, f.rt.Handle(t.Context(), ev), c.name)
		e, err := f.store.ExecutionByKey(t.Context(), ev.ID())
		require.NoError(t, err)
		require.Equal(t, domain.StatusSkipped, e.Status, c.name)
		require.Contains(t, e.Error, c.reason)
	}
	require.Zero(t, hits.Load(), "the target was never called")
}

// TestStartedEventPrecedesTheOutcome: each attempt that runs announces itself with a started
// event (id <execution>:<attempt>:running, data the running execution), stored before the
// attempt's outcome; a fire that never runs (a duplicate, a skip) has none.
func TestStartedEventPrecedesTheOutcome(t *testing.T) {
	t.Parallel()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			http.Error(w, "boom", http.StatusInternalServerError)
		}
	}))
	defer target.Close()
	f := newFixture(t, executor.Config{})
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	ok := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL})
	failing := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL + "/fail", Retry: &domain.RetryPolicy{MaxAttempts: 1}})
	okEv := dueEvent(t, ok, at)
	require.NoError(t, f.rt.Handle(t.Context(), okEv))
	require.NoError(t, f.rt.Handle(t.Context(), okEv), "a duplicate delivery runs nothing")
	require.NoError(t, f.rt.Handle(t.Context(), dueEvent(t, failing, at)))

	okExec, err := f.store.ExecutionByKey(t.Context(), okEv.ID())
	require.NoError(t, err)
	var got []string
	for _, ev := range allLifecycle(t, f) {
		got = append(got, ev.Type()+" "+ev.Subject())
		if ev.Type() == event.TypeExecutionStarted && ev.Subject() == ok.ID {
			require.Equal(t, okExec.ID+":1:running", ev.ID())
			var data domain.Execution
			require.NoError(t, ev.DataAs(&data))
			require.Equal(t, domain.StatusRunning, data.Status)
			require.NotNil(t, data.StartedAt)
			require.Nil(t, data.FinishedAt)
		}
	}
	require.Equal(t, []string{
		event.TypeExecutionStarted + " " + ok.ID, event.TypeExecutionSucceeded + " " + ok.ID,
		event.TypeExecutionStarted + " " + failing.ID, event.TypeExecutionDeadLettered + " " + failing.ID,
	}, got)
}

// lostAsync publishes the asynchronous messages where no stream takes them, as when the broker
// does not acknowledge a started event.
type lostAsync struct{ *queue.Publisher }

func (p lostAsync) PublishAsync(m queue.Message) *queue.Pending {
	m.Subject = "nowhere." + m.Subject
	return p.Publisher.PublishAsync(m)
}

// TestAStartedEventTheBrokerMissedIsPublishedAgain: a started event whose asynchronous publish
// was not stored is published once more, waiting, before the outcome.
func TestAStartedEventTheBrokerMissedIsPublishedAgain(t *testing.T) {
	t.Parallel()
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer target.Close()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	clock := clockwork.NewFakeClockAt(time.Now().UTC())
	runner := httpjob.New(clock, httpjob.Config{}, egress.LoopbackPolicy())
	t.Cleanup(runner.Close)
	rt, err := executor.New(domain.KindHTTP, "execute-http", executor.Deps{Store: st, Runner: runner,
		Publisher: lostAsync{queue.NewPublisher(js)}, Names: names, Clock: clock, Log: testenv.Logger(t)}, executor.Config{})
	require.NoError(t, err)
	f := &fixture{rt: rt, store: st, js: js, names: names, clock: clock}
	j := testfactory.Job(t, st, testfactory.JobOpts{URL: target.URL})
	require.NoError(t, rt.Handle(t.Context(), dueEvent(t, j, clock.Now().Add(-time.Minute).Truncate(time.Second))))
	var types []string
	for _, ev := range allLifecycle(t, f) {
		types = append(types, ev.Type())
	}
	require.Equal(t, []string{event.TypeExecutionStarted, event.TypeExecutionSucceeded}, types)
}

// TestABreakerRefusalSendsNoStartedEvent: an attempt its target's open breaker refuses never
// calls the target, and docs/lifecycle-events.md says it sends no started event; it sent one,
// published before the breaker was asked. The next attempt, let through, sends its own.
func TestABreakerRefusalSendsNoStartedEvent(t *testing.T) {
	t.Parallel()
	f := newPanicFixture(t)
	j := f.job(t, "/ok", nil)
	done, err := f.breakers.Allow(t.Context(), "127.0.0.1:9")
	require.NoError(t, err)
	done(false) // one failure opens it (panicBreakerConfig)

	at := f.clock.Now().Truncate(time.Second)
	ev := dueEvent(t, j, at)
	require.Error(t, f.rt.Handle(t.Context(), ev), "refused, to be tried again")
	e, err := f.store.ExecutionByKey(t.Context(), ev.ID())
	require.NoError(t, err)
	require.Contains(t, e.Error, "not sent")
	for _, le := range allLifecycle(t, f.fixture) {
		require.NotEqual(t, event.TypeExecutionStarted, le.Type(), "the refused attempt did not start: %s", le.ID())
	}

	f.clock.Advance(panicBreakerConfig.CoolDown)
	require.NoError(t, f.rt.Handle(t.Context(), ev))
	var started []string
	for _, le := range allLifecycle(t, f.fixture) {
		if le.Type() == event.TypeExecutionStarted {
			started = append(started, le.ID())
		}
	}
	require.Equal(t, []string{e.ID + ":2:running"}, started, "the attempt let through started")
}

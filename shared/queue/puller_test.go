package queue_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/delivery"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// dueMessages are due events of http jobs, one per key, each published under its key.
func dueMessages(t *testing.T, names event.Names, keys ...string) []queue.Message {
	t.Helper()
	var msgs []queue.Message
	for _, k := range keys {
		d := event.Due{JobID: "job-" + k, Kind: domain.KindHTTP, HTTP: &domain.HTTPSpec{URL: "http://x.test"},
			ScheduledAt: time.Now().UTC(), Trigger: domain.TriggerSchedule, IdempotencyKey: k}
		ev, err := event.NewDue(d, "/test")
		require.NoError(t, err)
		msg, err := event.ToNATS(t.Context(), ev)
		require.NoError(t, err)
		msgs = append(msgs, queue.Message{Subject: names.DueSubject(domain.KindHTTP), MsgID: k, Msg: msg})
	}
	return msgs
}

func publishDue(t *testing.T, js jetstream.JetStream, names event.Names, keys ...string) {
	t.Helper()
	msgs := dueMessages(t, names, keys...)
	for _, err := range queue.NewPublisher(js).PublishBatch(t.Context(), msgs) {
		require.NoError(t, err)
	}
}

// runPuller runs a puller until the returned stop is called.
func runPuller(t *testing.T, js jetstream.JetStream, names event.Names, cfg queue.PullerConfig, h queue.Handler) (stop func()) {
	t.Helper()
	return runPullerOn(t, js, names, clockwork.NewRealClock(), cfg, h)
}

// runPullerOn is runPuller on clock.
func runPullerOn(t *testing.T, js jetstream.JetStream, names event.Names, clock clockwork.Clock, cfg queue.PullerConfig, h queue.Handler) (stop func()) {
	t.Helper()
	p, err := queue.NewPuller(js, names, domain.KindHTTP, h, clock, cfg, testenv.Logger(t))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
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

func pending(t *testing.T, js jetstream.JetStream, names event.Names) uint64 {
	t.Helper()
	info, err := js.Stream(t.Context(), names.DueStream())
	require.NoError(t, err)
	si, err := info.Info(t.Context())
	require.NoError(t, err)
	return si.State.Msgs
}

func TestPullerSettlesEachOutcome(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	var (
		mu    sync.Mutex
		calls = map[string]int{}
	)
	h := func(_ context.Context, ev cloudevents.Event) error {
		mu.Lock()
		calls[ev.ID()]++
		n := calls[ev.ID()]
		mu.Unlock()
		switch ev.ID() {
		case "retry":
			if n < 3 {
				return &delivery.RetryError{After: 50 * time.Millisecond, Err: errors.New("busy")}
			}
		case "outage":
			if n < 2 {
				return errors.New("database unavailable")
			}
		case "bad":
			return fmt.Errorf("%w: broken", delivery.ErrPermanent)
		}
		return nil
	}
	runPuller(t, js, names, queue.PullerConfig{Concurrency: 4}, h)
	publishDue(t, js, names, "ok", "retry", "outage", "bad")
	testenv.Eventually(t, "every message settled", func() bool { return pending(t, js, names) == 0 })
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, map[string]int{"ok": 1, "retry": 3, "outage": 2, "bad": 1}, calls)
}

func TestPullerBoundsConcurrency(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	var running, peak atomic.Int32
	h := func(context.Context, cloudevents.Event) error {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		running.Add(-1)
		return nil
	}
	runPuller(t, js, names, queue.PullerConfig{Concurrency: 3}, h)
	var keys []string
	for i := range 30 {
		keys = append(keys, fmt.Sprint("k", i))
	}
	publishDue(t, js, names, keys...)
	testenv.Eventually(t, "all handled", func() bool { return pending(t, js, names) == 0 })
	require.LessOrEqual(t, peak.Load(), int32(3))
	require.Greater(t, peak.Load(), int32(1), "events are handled concurrently")
}

func TestPullerShutdownFinishesInFlightAndReturnsTheRest(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	var finished atomic.Int32
	h := func(ctx context.Context, ev cloudevents.Event) error {
		started <- struct{}{}
		<-release
		require.NoError(t, ctx.Err(), "in-flight work is not cancelled by shutdown")
		finished.Add(1)
		return nil
	}
	// The grace period's timer is set once the puller has stopped fetching and returned what it
	// had buffered: the moment to let the in-flight event finish.
	clock := clockwork.NewFakeClock()
	stop := runPullerOn(t, js, names, clock, queue.PullerConfig{Concurrency: 1, Grace: time.Hour}, h)
	publishDue(t, js, names, "a", "b", "c")
	<-started
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	require.NoError(t, clock.BlockUntilContext(t.Context(), 1))
	close(release)
	<-stopped
	require.EqualValues(t, 1, finished.Load(), "only the in-flight event ran")
	// The server took the in-flight event's ack in before the stop returned (a flush), and
	// applies it to the stream a moment later.
	testenv.Eventually(t, "the others went back to the stream", func() bool { return pending(t, js, names) == 2 })

	// A new worker picks the returned events up at once, not after the ack wait.
	var rest atomic.Int32
	runPuller(t, js, names, queue.PullerConfig{Concurrency: 2, AckWait: time.Minute}, func(context.Context, cloudevents.Event) error {
		rest.Add(1)
		return nil
	})
	testenv.Eventually(t, "the returned events handled", func() bool { return rest.Load() == 2 })
}

func TestPullerKeepsLongEventsWithProgress(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	var calls atomic.Int32
	h := func(context.Context, cloudevents.Event) error {
		calls.Add(1)
		time.Sleep(1500 * time.Millisecond) // three times the ack wait
		return nil
	}
	runPuller(t, js, names, queue.PullerConfig{Concurrency: 2, AckWait: 500 * time.Millisecond}, h)
	publishDue(t, js, names, "long")
	testenv.Eventually(t, "the long event acknowledged", func() bool { return pending(t, js, names) == 0 })
	require.EqualValues(t, 1, calls.Load(), "progress signals prevented a redelivery")
}

func TestPullerInterruptsInFlightWorkAfterTheGracePeriod(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	started := make(chan struct{}, 1)
	var cause atomic.Value
	h := func(ctx context.Context, ev cloudevents.Event) error {
		started <- struct{}{}
		<-ctx.Done()
		cause.Store(context.Cause(ctx))
		return &delivery.RetryError{After: 0, Err: context.Cause(ctx)}
	}
	clock := clockwork.NewFakeClock()
	stop := runPullerOn(t, js, names, clock, queue.PullerConfig{Concurrency: 1, AckWait: time.Minute, Grace: 100 * time.Millisecond}, h)
	publishDue(t, js, names, "stuck")
	<-started
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }() // returns once the interrupted handler handed its event back
	require.NoError(t, clock.BlockUntilContext(t.Context(), 1))
	clock.Advance(100 * time.Millisecond) // the grace period is over
	<-stopped
	require.ErrorIs(t, cause.Load().(error), delivery.ErrShutdown)

	// Handed back at once: another worker gets it long before the minute of ack wait.
	var again atomic.Int32
	runPuller(t, js, names, queue.PullerConfig{Concurrency: 1, AckWait: time.Minute}, func(context.Context, cloudevents.Event) error {
		again.Add(1)
		return nil
	})
	testenv.Eventually(t, "the interrupted event redelivered", func() bool { return again.Load() == 1 })
}

func TestPullerConsumerLetsEveryEventAWorkerHoldsBeAcknowledgedLater(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	// The default concurrency: an executor holds one event a slot and fetches one a slot ahead;
	// two executors side by side must stay below the limit at which the consumer stops
	// delivering.
	const concurrency = queue.ConcurrencyDefault
	runPuller(t, js, names, queue.PullerConfig{Concurrency: concurrency}, func(context.Context, cloudevents.Event) error { return nil })
	var info *jetstream.ConsumerInfo
	testenv.Eventually(t, "the consumer created", func() bool {
		c, err := js.Consumer(t.Context(), names.DueStream(), names.DueConsumer(domain.KindHTTP))
		if err != nil {
			return false
		}
		info, err = c.Info(t.Context())
		return err == nil
	})
	require.GreaterOrEqual(t, info.Config.MaxAckPending, 2*(2*concurrency+queue.MaxStagedDefault))
}

func TestAHandlerThatGivesItsSlotBackLetsTheNextEventRunAndTakesOneAgain(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	var (
		waiting    = make(chan struct{})
		proceed    = make(chan struct{})
		ran        = make(chan string, 2)
		reacquired = make(chan error, 1)
	)
	runPuller(t, js, names, queue.PullerConfig{Concurrency: 1, MaxStaged: 1}, func(ctx context.Context, ev cloudevents.Event) error {
		if ev.ID() == "staged" {
			slot := delivery.SlotFrom(ctx)
			slot.Release()
			close(waiting)
			<-proceed
			reacquired <- slot.Acquire(ctx)
		}
		ran <- ev.ID()
		return nil
	})
	publishDue(t, js, names, "staged")
	<-waiting
	publishDue(t, js, names, "next")
	select {
	case id := <-ran:
		require.Equal(t, "next", id, "the only slot was given back, so the next event runs in it")
	case <-time.After(10 * time.Second):
		t.Fatal("the next event did not run while the first waited without its slot")
	}
	close(proceed)
	require.NoError(t, <-reacquired)
	require.Equal(t, "staged", <-ran)
	testenv.Eventually(t, "both acknowledged", func() bool { return pending(t, js, names) == 0 })
}

func TestAPullerHoldsNoMoreThanItsSlotsAndStagedEvents(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	var (
		mu      sync.Mutex
		held    int
		release = make(chan struct{})
	)
	runPuller(t, js, names, queue.PullerConfig{Concurrency: 2, MaxStaged: 3}, func(ctx context.Context, ev cloudevents.Event) error {
		delivery.SlotFrom(ctx).Release()
		mu.Lock()
		held++
		mu.Unlock()
		<-release
		return nil
	})
	keys := make([]string, 10)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d", i)
	}
	publishDue(t, js, names, keys...)
	testenv.Eventually(t, "five events held", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return held == 5
	})
	// Time for a sixth to arrive if the bound did not hold.
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	require.Equal(t, 5, held, "two slots and three staged")
	mu.Unlock()
	close(release)
	testenv.Eventually(t, "every event handled", func() bool { return pending(t, js, names) == 0 })
}

func TestAHandlerGetsItsSlotBackWhileThePullerWaitsForMessages(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	reacquired := make(chan error, 1)
	runPuller(t, js, names, queue.PullerConfig{Concurrency: 1, MaxStaged: 1}, func(ctx context.Context, ev cloudevents.Event) error {
		slot := delivery.SlotFrom(ctx)
		slot.Release()
		// The puller, with its only slot free, now waits for a message that never comes.
		time.Sleep(100 * time.Millisecond)
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		reacquired <- slot.Acquire(actx)
		return nil
	})
	publishDue(t, js, names, "alone")
	require.NoError(t, <-reacquired, "the idle puller must not keep the only slot")
}

// TestPullerGoesOnWhenItsConsumerIsDeleted: an operator removes an executor's durable consumer
// (or the due stream is made again, taking its consumers with it). The puller's iterator then
// closed and Run returned nil while the executor went on answering its probes: no fire ran
// again until it restarted. It makes the consumer again, and a fire published afterwards runs.
func TestPullerGoesOnWhenItsConsumerIsDeleted(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	handled := make(chan string, 10)
	runPuller(t, js, names, queue.PullerConfig{Concurrency: 2}, func(_ context.Context, ev cloudevents.Event) error {
		handled <- ev.ID()
		return nil
	})
	consumerExists := func() bool {
		_, err := js.Consumer(t.Context(), names.DueStream(), names.DueConsumer(domain.KindHTTP))
		return err == nil
	}
	testenv.Eventually(t, "the consumer is made", consumerExists)
	publishDue(t, js, names, "before")
	require.Equal(t, "before", <-handled)
	// Its ack applied (the stream is a work queue), so that the new consumer does not get it again.
	testenv.Eventually(t, "the first fire acknowledged", func() bool { return pending(t, js, names) == 0 })

	require.NoError(t, js.DeleteConsumer(t.Context(), names.DueStream(), names.DueConsumer(domain.KindHTTP)))
	testenv.EventuallyWithin(t, 40*time.Second, "the consumer is made again", consumerExists)
	publishDue(t, js, names, "after")
	id := testenv.Await(t, "the fire published after the delete handled", func() (string, bool) {
		select {
		case id := <-handled:
			return id, true
		default:
			return "", false
		}
	})
	require.Equal(t, "after", id)
}

// A message published again under its MsgID is acknowledged as a duplicate, and the batch says
// so: the tick counts a republished fire once.
func TestPublishBatchDupNamesTheRepublished(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	publishDue(t, js, names, "first")
	errs, dups := queue.NewPublisher(js).PublishBatchDup(t.Context(), dueMessages(t, names, "first", "second"))
	require.Equal(t, []error{nil, nil}, errs)
	require.Equal(t, []bool{true, false}, dups)
}

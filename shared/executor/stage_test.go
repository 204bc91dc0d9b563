package executor_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/delivery"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// clockTarget records, by the runtime's clock, when each request arrives.
type clockTarget struct {
	mu       sync.Mutex
	arrivals []time.Time
}

func newClockTarget(t *testing.T, f *fixture) (*httptest.Server, *clockTarget) {
	ct := &clockTarget{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct.mu.Lock()
		ct.arrivals = append(ct.arrivals, f.clock.Now())
		ct.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv, ct
}

func (c *clockTarget) got() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.arrivals...)
}

// recordingSlot is a transport's slot that counts what its handler did with it.
type recordingSlot struct {
	// busy, when set, keeps Acquire waiting until it is closed: every slot is taken.
	busy               chan struct{}
	mu                 sync.Mutex
	held               bool
	released, acquired int
}

func (s *recordingSlot) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held {
		s.held, s.released = false, s.released+1
	}
}

func (s *recordingSlot) Acquire(ctx context.Context) error {
	if s.busy != nil {
		select {
		case <-s.busy:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.held {
		s.held, s.acquired = true, s.acquired+1
	}
	return nil
}

func (s *recordingSlot) state() (held bool, released, acquired int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held, s.released, s.acquired
}

// stagedFire starts handling, on the fixture's stopped clock, a fire of j due 500 ms from now,
// in a slot the handler holds.
func stagedFire(t *testing.T, f *fixture, j *domain.Job) (at time.Time, slot *recordingSlot, done chan error) {
	t.Helper()
	slot = &recordingSlot{held: true}
	at, done = handleStaged(t, f, j, slot)
	return at, slot, done
}

// handleStaged starts handling, on the fixture's stopped clock, a fire of j due 500 ms from now,
// with slot as its transport's slot.
func handleStaged(t *testing.T, f *fixture, j *domain.Job, slot *recordingSlot) (at time.Time, done chan error) {
	t.Helper()
	at = f.clock.Now().Add(500 * time.Millisecond).Truncate(time.Millisecond)
	done = make(chan error, 1)
	ctx := delivery.WithSlot(t.Context(), slot)
	go func() { done <- f.rt.Handle(ctx, dueEvent(t, j, at)) }()
	return at, done
}

// awaitRecorded waits until the fire of key is recorded and returns its execution.
func awaitRecorded(t *testing.T, f *fixture, key string) *domain.Execution {
	t.Helper()
	var e *domain.Execution
	testenv.Eventually(t, "the staged fire recorded ahead of its instant", func() bool {
		var err error
		e, err = f.store.ExecutionByKey(t.Context(), key)
		return err == nil
	})
	return e
}

// requireSkippedUnsent checks that the fire of key reached no target and was recorded skipped
// with a reason that says why, and returns its record.
func requireSkippedUnsent(t *testing.T, f *fixture, target *clockTarget, key, why string) *domain.Execution {
	t.Helper()
	require.Empty(t, target.got(), "a fire skipped before its instant must not be sent")
	e, err := f.store.ExecutionByKey(t.Context(), key)
	require.NoError(t, err)
	require.Equal(t, domain.StatusSkipped, e.Status)
	require.Contains(t, e.Error, why)
	return e
}

func TestAFireDeliveredAheadOfItsInstantIsRecordedAheadAndSentAtItsInstant(t *testing.T) {
	t.Parallel()
	f := newFixture(t, executor.Config{})
	srv, target := newClockTarget(t, f)
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: srv.URL})
	at, slot, done := stagedFire(t, f, j)
	key := domain.ScheduledKey(j.ID, at)

	e := awaitRecorded(t, f, key)
	require.Equal(t, domain.StatusRunning, e.Status)
	require.True(t, e.StartedAt.Equal(at), "its attempt starts at the instant, not at its record: %s", e.StartedAt)
	held, released, _ := slot.state()
	require.False(t, held, "a staged fire gives its slot back while it waits")
	require.Equal(t, 1, released)

	// The clock moves to the instant in steps; nothing is sent before it.
	for f.clock.Now().Before(at) {
		require.NoError(t, f.clock.BlockUntilContext(t.Context(), 1))
		require.Empty(t, target.got(), "sent before its instant")
		f.clock.Advance(5 * time.Millisecond)
	}
	require.NoError(t, <-done)
	arrivals := target.got()
	require.Len(t, arrivals, 1)
	require.False(t, arrivals[0].Before(at), "sent at %s, before its instant %s", arrivals[0], at)
	_, _, acquired := slot.state()
	require.Equal(t, 1, acquired, "the attempt runs in a slot")

	e, err := f.store.ExecutionByKey(t.Context(), key)
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, e.Status)
}

func TestAStagedFireOfAJobPausedBeforeItsInstantIsSkippedAndNotSent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, executor.Config{})
	srv, target := newClockTarget(t, f)
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: srv.URL})
	at, slot, done := stagedFire(t, f, j)
	key := domain.ScheduledKey(j.ID, at)
	require.Equal(t, domain.StatusRunning, awaitRecorded(t, f, key).Status)
	_, err := f.store.SetEnabled(t.Context(), j.ID, false, nil, time.Now())
	require.NoError(t, err)

	require.NoError(t, f.clock.BlockUntilContext(t.Context(), 1))
	f.clock.Advance(time.Second)
	require.NoError(t, <-done)
	e := requireSkippedUnsent(t, f, target, key, "paused")
	require.Nil(t, e.StartedAt)
	_, _, acquired := slot.state()
	require.Zero(t, acquired, "a skipped fire takes no slot")

	evs := lifecycle(t, f)
	require.Len(t, evs, 1)
	require.Equal(t, event.TypeExecutionSkipped, evs[0].Type())
}

// stagedFireChangedBeforeItsInstant stages a fire, calls change once the fire is recorded (e),
// and lets its instant pass; it returns what the check of the fire needs.
func stagedFireChangedBeforeItsInstant(t *testing.T, change func(f *fixture, j *domain.Job, e *domain.Execution)) (f *fixture, target *clockTarget, key string, slot *recordingSlot) {
	t.Helper()
	f = newFixture(t, executor.Config{})
	srv, target := newClockTarget(t, f)
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: srv.URL})
	at, slot, done := stagedFire(t, f, j)
	key = domain.ScheduledKey(j.ID, at)
	change(f, j, awaitRecorded(t, f, key))

	require.NoError(t, f.clock.BlockUntilContext(t.Context(), 1))
	f.clock.Advance(time.Second)
	require.NoError(t, <-done)
	return f, target, key, slot
}

// requireStagedFireSkippedAfter stages a fire, makes change to its job once the fire is
// recorded, and checks that at its instant the fire is skipped unsent, for a reason that says why.
func requireStagedFireSkippedAfter(t *testing.T, change func(f *fixture, j *domain.Job), why string) {
	t.Helper()
	f, target, key, _ := stagedFireChangedBeforeItsInstant(t, func(f *fixture, j *domain.Job, _ *domain.Execution) { change(f, j) })
	requireSkippedUnsent(t, f, target, key, why)
}

func TestAStagedFireOfADeletedJobIsSkipped(t *testing.T) {
	t.Parallel()
	requireStagedFireSkippedAfter(t, func(f *fixture, j *domain.Job) {
		require.NoError(t, f.store.DeleteJob(t.Context(), j.ID))
	}, "deleted")
}

func TestAStagedForbidFireIsRecordedOnlyAtItsInstant(t *testing.T) {
	t.Parallel()
	f := newFixture(t, executor.Config{})
	srv, target := newClockTarget(t, f)
	j := policyJob(t, f, srv.URL, domain.ConcurrencyForbid, 0)
	at, slot, done := stagedFire(t, f, j)

	require.NoError(t, f.clock.BlockUntilContext(t.Context(), 1))
	_, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
	require.Error(t, err, "the one-running rule judges the instant, so nothing is recorded ahead")
	held, _, _ := slot.state()
	require.False(t, held)

	f.clock.Advance(500 * time.Millisecond)
	require.NoError(t, <-done)
	require.Len(t, target.got(), 1)
	e, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, e.Status)
}

func TestAStagedFireInterruptedBeforeItsInstantIsHandedBackUnsent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, executor.Config{})
	srv, target := newClockTarget(t, f)
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: srv.URL})
	at := f.clock.Now().Add(500 * time.Millisecond).Truncate(time.Millisecond)
	ctx, interrupt := context.WithCancelCause(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.rt.Handle(ctx, dueEvent(t, j, at)) }()
	key := domain.ScheduledKey(j.ID, at)
	awaitRecorded(t, f, key)
	interrupt(delivery.ErrShutdown)
	err := <-done
	out := delivery.Decide(err)
	require.Equal(t, delivery.Redeliver, out.Action, "handed back: %v", err)
	require.Zero(t, out.Delay, "at once, for another worker")
	require.Empty(t, target.got())
	e, err := f.store.ExecutionByKey(t.Context(), key)
	require.NoError(t, err)
	require.Equal(t, domain.StatusQueued, e.Status, "queued for the next worker, not running on this one")
}

// stagedFireBusySlots is stagedFire with every slot taken until the returned func frees one.
func stagedFireBusySlots(t *testing.T, f *fixture, j *domain.Job) (at time.Time, done chan error, free func()) {
	t.Helper()
	slot := &recordingSlot{held: true, busy: make(chan struct{})}
	at, done = handleStaged(t, f, j, slot)
	return at, done, func() { close(slot.busy) }
}

// advanceTo moves the fixture's clock to t in steps, each once a timer waits.
func advanceTo(t *testing.T, f *fixture, to time.Time) {
	t.Helper()
	for f.clock.Now().Before(to) {
		require.NoError(t, f.clock.BlockUntilContext(t.Context(), 1))
		f.clock.Advance(min(100*time.Millisecond, to.Sub(f.clock.Now())))
	}
}

func TestAStagedFireThatGetsASlotOnlyPastItsStartingDeadlineIsSkipped(t *testing.T) {
	t.Parallel()
	f := newFixture(t, executor.Config{})
	srv, target := newClockTarget(t, f)
	j := policyJob(t, f, srv.URL, domain.ConcurrencyAllow, 2*time.Second)
	at, done, free := stagedFireBusySlots(t, f, j)
	key := domain.ScheduledKey(j.ID, at)
	awaitRecorded(t, f, key)
	advanceTo(t, f, at)
	// Every slot stays busy for three seconds past the instant.
	f.clock.Advance(3 * time.Second)
	free()
	require.NoError(t, <-done)
	requireSkippedUnsent(t, f, target, key, "starting deadline")
}

func TestAStagedFireTakenOverWhileItWaitedForASlotIsNotSent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, executor.Config{})
	srv, target := newClockTarget(t, f)
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: srv.URL})
	at, done, free := stagedFireBusySlots(t, f, j)
	key := domain.ScheduledKey(j.ID, at)
	e := awaitRecorded(t, f, key)
	advanceTo(t, f, at)
	f.clock.Advance(executor.StaleAfterDefault)
	// Meanwhile its record stopped being this worker's (another worker took it over, or it
	// was cancelled).
	ok, err := f.store.SkipStaged(t.Context(), e, "taken elsewhere")
	require.NoError(t, err)
	require.True(t, ok)
	free()
	require.NoError(t, <-done)
	require.Empty(t, target.got(), "a fire no longer this worker's must not be sent by it")
}

func TestAStagedFireOfAJobAllowedOneAttemptIsRecordedOnlyAtItsInstant(t *testing.T) {
	t.Parallel()
	f := newFixture(t, executor.Config{})
	srv, target := newClockTarget(t, f)
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: srv.URL, Retry: &domain.RetryPolicy{MaxAttempts: 1}})
	at, _, done := stagedFire(t, f, j)
	require.NoError(t, f.clock.BlockUntilContext(t.Context(), 1))
	_, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
	require.Error(t, err, "a worker dying before the instant would dead-letter it unsent")
	f.clock.Advance(500 * time.Millisecond)
	require.NoError(t, <-done)
	require.Len(t, target.got(), 1)
}

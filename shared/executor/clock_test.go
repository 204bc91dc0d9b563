package executor_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/delivery"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// An executor whose clock disagrees with the database's still waits out a retry's back-off, no
// less and no more: the retry is neither run early (clock behind) nor refused with a wait of a
// millisecond, again and again, until the clocks agree (clock ahead).
func TestRetryWaitsItsBackoffWhateverTheDatabaseClock(t *testing.T) {
	t.Parallel()
	for name, skew := range map[string]time.Duration{"Ahead5s": 5 * time.Second, "Behind5s": -5 * time.Second} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == 1 {
					http.Error(w, "later", http.StatusServiceUnavailable)
					return
				}
				_, _ = w.Write([]byte("ok"))
			}))
			defer target.Close()
			st, url := testfactory.Store(t)
			clock := clockwork.NewFakeClockAt(testenv.DatabaseNow(t, url).Add(skew))
			f := newFixtureOn(t, st, clock, executor.Config{})
			j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL,
				Retry: &domain.RetryPolicy{MaxAttempts: 3, Backoff: []domain.Duration{domain.Duration(2 * time.Second)}}})
			ev := dueEvent(t, j, clock.Now().Truncate(time.Second))

			var first *delivery.RetryError
			require.ErrorAs(t, f.rt.Handle(t.Context(), ev), &first)
			require.EqualValues(t, 1, calls.Load())

			// Redelivered before its back-off by this executor's clock: put off for the rest of it.
			var early *delivery.RetryError
			require.ErrorAs(t, f.rt.Handle(t.Context(), ev), &early)
			require.EqualValues(t, 1, calls.Load(), "a retry ran before its back-off")
			// The clock has not moved: the whole back-off is still to wait (stored to the microsecond).
			require.InDelta(t, first.After, early.After, float64(time.Millisecond))

			// Delivered when the back-off is over by this executor's clock: it runs.
			clock.Advance(first.After)
			require.NoError(t, f.rt.Handle(t.Context(), ev), "a retry due by the executor's clock was refused")
			require.EqualValues(t, 2, calls.Load())
			e, err := f.store.ExecutionByKey(t.Context(), ev.ID())
			require.NoError(t, err)
			require.Equal(t, domain.StatusSucceeded, e.Status)
			require.Equal(t, 2, e.Attempt)
		})
	}
}

// A running attempt is judged stale by the database's clock, which wrote its heartbeats: an
// executor whose clock is far ahead never takes over an attempt that is alive.
func TestTakeoverGoesByTheDatabaseClock(t *testing.T) {
	t.Parallel()
	for name, skew := range map[string]time.Duration{"Ahead5s": 5 * time.Second, "Behind5s": -5 * time.Second} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				_, _ = w.Write([]byte("ok"))
			}))
			defer target.Close()
			st, url := testfactory.Store(t)
			clock := clockwork.NewFakeClockAt(testenv.DatabaseNow(t, url).Add(skew))
			cfg := executor.Config{HeartbeatInterval: time.Second, StaleAfter: 3 * time.Second}
			f := newFixtureOn(t, st, clock, cfg)
			j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL})
			at := clock.Now().Truncate(time.Second)
			ev := dueEvent(t, j, at)
			startedElsewhere(t, f, j, at, cfg.StaleAfter)

			clock.Advance(time.Hour)
			var retry *delivery.RetryError
			require.ErrorAs(t, f.rt.Handle(t.Context(), ev), &retry, "its heartbeat is fresh by the database's clock")
			require.Zero(t, calls.Load())

			testfactory.SilenceWorker(t, url, ev.ID())
			require.NoError(t, f.rt.Handle(t.Context(), ev), "stale by the database's clock: taken over")
			require.EqualValues(t, 1, calls.Load())
			e, err := f.store.ExecutionByKey(t.Context(), ev.ID())
			require.NoError(t, err)
			require.Equal(t, domain.StatusSucceeded, e.Status)
			require.Equal(t, 2, e.Attempt)
		})
	}
}

// startedElsewhere records j's fire at as started now, by f's clock, on a worker named "silent"
// whose heartbeat is fresh.
func startedElsewhere(t *testing.T, f *fixture, j *domain.Job, at time.Time, staleAfter time.Duration) {
	t.Helper()
	now := f.clock.Now()
	other := &domain.Execution{ID: uuid.Must(uuid.NewV7()).String(), JobID: j.ID, JobVersion: j.Version,
		IdempotencyKey: domain.ScheduledKey(j.ID, at), Trigger: domain.TriggerSchedule, ScheduledAt: at, StartedAt: &now,
		Status: domain.StatusRunning, Attempt: 1, WorkerID: "silent"}
	outcome, err := f.store.StartExecution(t.Context(), other, store.StartParams{StaleAfter: staleAfter, Now: now})
	require.NoError(t, err)
	require.Equal(t, store.Started, outcome)
}

// A silent worker's last allowed attempt is not taken over: the execution is dead-lettered, by
// the same rule and with the same words as an attempt that failed.
func TestSilentLastAttemptIsDeadLettered(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer target.Close()
	cfg := executor.Config{HeartbeatInterval: time.Second, StaleAfter: 3 * time.Second}
	st, url := testfactory.Store(t)
	f := newFixtureOn(t, st, clockwork.NewFakeClockAt(time.Now().UTC()), cfg)
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL, Retry: &domain.RetryPolicy{MaxAttempts: 1}})
	at := f.clock.Now().Truncate(time.Second)
	ev := dueEvent(t, j, at)
	startedElsewhere(t, f, j, at, cfg.StaleAfter)

	testfactory.SilenceWorker(t, url, ev.ID())
	require.NoError(t, f.rt.Handle(t.Context(), ev))
	require.Zero(t, calls.Load(), "the last attempt is not run again")
	e, err := f.store.ExecutionByKey(t.Context(), ev.ID())
	require.NoError(t, err)
	require.Equal(t, domain.StatusDeadLettered, e.Status)
	require.Equal(t, 1, e.Attempt)
	require.Equal(t, "gave up after 1 attempts: worker silent went silent (no heartbeat) during this attempt", e.Error)
	require.Equal(t, &domain.DeadLetter{State: domain.DeadLetterPending}, e.DeadLetter)
	attempts, err := f.store.Attempts(t.Context(), e.ID, e.ScheduledAt)
	require.NoError(t, err)
	require.Len(t, attempts, 1)
	require.Equal(t, "silent", attempts[0].WorkerID)

	s, err := f.js.Stream(t.Context(), f.names.DLQStream())
	require.NoError(t, err)
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	require.Equal(t, uint64(1), info.State.Msgs, "on the dead-letter stream")
}

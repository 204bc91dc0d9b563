package executor_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/delivery"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/testfactory"
)

// handleUntilSettled delivers ev again, after each requested delay (moving the runtime's clock
// by it), the way JetStream's delayed redelivery does, until the runtime settles it; it returns
// how many deliveries that took.
func handleUntilSettled(t *testing.T, f *fixture, deliver func() error) int {
	t.Helper()
	for n := 1; n <= 50; n++ {
		err := deliver()
		if err == nil {
			return n
		}
		var retry *delivery.RetryError
		require.ErrorAs(t, err, &retry)
		f.clock.Advance(retry.After)
	}
	t.Fatal("not settled after 50 deliveries")
	return 0
}

func TestHandleRetriesUntilTheTargetRecovers(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	var keys []string
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		if calls.Add(1) <= 3 {
			http.Error(w, "later", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer target.Close()
	f := newFixture(t, executor.Config{})
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL,
		Retry: &domain.RetryPolicy{MaxAttempts: 5, Backoff: []domain.Duration{domain.Duration(50 * time.Millisecond)}}})
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	ev := dueEvent(t, j, at)

	handleUntilSettled(t, f, func() error { return f.rt.Handle(t.Context(), ev) })

	e, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, e.Status)
	require.Equal(t, 4, e.Attempt)
	require.Nil(t, e.NextAttemptAt)
	attempts, err := f.store.Attempts(t.Context(), e.ID, e.ScheduledAt)
	require.NoError(t, err)
	var statuses []domain.ExecutionStatus
	for _, a := range attempts {
		statuses = append(statuses, a.Status)
		require.Equal(t, a.Attempt, len(statuses))
	}
	require.Equal(t, []domain.ExecutionStatus{domain.StatusFailed, domain.StatusFailed, domain.StatusFailed, domain.StatusSucceeded}, statuses)
	require.Equal(t, 503, attempts[0].HTTPStatus)
	require.Equal(t, int32(4), calls.Load())
	for _, k := range keys {
		require.Equal(t, e.IdempotencyKey, k, "every attempt carries the fire's idempotency key")
	}
}

func TestHandleDoesNotRetryPermanentFailures(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.NotFound(w, r)
	}))
	defer target.Close()
	f := newFixture(t, executor.Config{})
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL})
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)

	require.NoError(t, f.rt.Handle(t.Context(), dueEvent(t, j, at)))
	e, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
	require.NoError(t, err)
	require.Equal(t, domain.StatusFailed, e.Status)
	require.Equal(t, 1, e.Attempt)
	require.Equal(t, int32(1), calls.Load())
}

func TestHandleDeadLettersWhenAttemptsRunOut(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer target.Close()
	f := newFixture(t, executor.Config{})
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL,
		Retry: &domain.RetryPolicy{MaxAttempts: 3, Backoff: []domain.Duration{domain.Duration(20 * time.Millisecond)}}})
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	ev := dueEvent(t, j, at)

	require.Equal(t, 3, handleUntilSettled(t, f, func() error { return f.rt.Handle(t.Context(), ev) }))
	require.Equal(t, int32(3), calls.Load())
	e, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
	require.NoError(t, err)
	require.Equal(t, domain.StatusDeadLettered, e.Status)
	require.Equal(t, &domain.DeadLetter{State: domain.DeadLetterPending}, e.DeadLetter)
	require.Contains(t, e.Error, "gave up after 3 attempts")

	// A redelivery of the settled fire does nothing more.
	require.NoError(t, f.rt.Handle(t.Context(), ev))
	require.Equal(t, int32(3), calls.Load())

	// The dead letter is on the dead-letter stream, once.
	s, err := f.js.Stream(t.Context(), f.names.DLQStream())
	require.NoError(t, err)
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	require.Equal(t, uint64(1), info.State.Msgs)
	msg, err := s.GetLastMsgForSubject(t.Context(), f.names.DLQSubject(domain.KindHTTP))
	require.NoError(t, err)
	require.Equal(t, e.ID+":3:dead_lettered", msg.Header.Get(jetstream.MsgIDHeader))
	require.Contains(t, string(msg.Data), e.IdempotencyKey)
}

func TestHandlePutsOffAnEarlyRedelivery(t *testing.T) {
	t.Parallel()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer target.Close()
	f := newFixture(t, executor.Config{})
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL,
		Retry: &domain.RetryPolicy{MaxAttempts: 3, Backoff: []domain.Duration{domain.Duration(time.Hour)}}})
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	ev := dueEvent(t, j, at)

	var retry *delivery.RetryError
	require.ErrorAs(t, f.rt.Handle(t.Context(), ev), &retry)
	// An early redelivery (an ack-wait expiry, a restart) does not run attempt 2 before its time.
	err := f.rt.Handle(t.Context(), ev)
	var again *delivery.RetryError
	require.ErrorAs(t, err, &again)
	require.InDelta(t, retry.After.Seconds(), again.After.Seconds(), 2)
	e, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
	require.NoError(t, err)
	require.Equal(t, domain.StatusQueued, e.Status)
	require.Equal(t, 1, e.Attempt)
	require.NotNil(t, e.NextAttemptAt)

	// A pushed redelivery runs whenever the broker sends it.
	err = f.rt.HandlePushed(t.Context(), ev)
	require.True(t, errors.As(err, &again))
	e, err = f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
	require.NoError(t, err)
	require.Equal(t, 2, e.Attempt)
}

func TestBackoffIsFullJitterWithinTheStep(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		steps := rapid.SliceOfN(rapid.Int64Range(int64(time.Millisecond), int64(24*time.Hour)), 1, 8).Draw(t, "steps")
		p := domain.RetryPolicy{MaxAttempts: 100}
		for _, s := range steps {
			p.Backoff = append(p.Backoff, domain.Duration(s))
		}
		n := rapid.IntRange(1, 100).Draw(t, "attempt")
		step := time.Duration(steps[min(n, len(steps))-1])
		lowest := executor.Backoff(p, n, func(int64) int64 { return 0 })
		highest := executor.Backoff(p, n, func(m int64) int64 { return m - 1 })
		random := executor.Backoff(p, n, func(m int64) int64 { return rapid.Int64Range(0, m-1).Draw(t, "r") })
		require.Positive(t, lowest, "never retries at once")
		require.LessOrEqual(t, lowest, random)
		require.LessOrEqual(t, random, highest)
		require.Equal(t, max(step, 10*time.Millisecond), highest, "the whole step is used")
	})
}

func TestHandleHandsBackAnAttemptInterruptedByShutdown(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	arrived := make(chan struct{})
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			close(arrived)
			<-r.Context().Done() // the first attempt hangs until the worker gives up on it
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer target.Close()
	f := newFixture(t, executor.Config{})
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL, Timeout: time.Minute,
		Retry: &domain.RetryPolicy{MaxAttempts: 1}})
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	ev := dueEvent(t, j, at)

	ctx, interrupt := context.WithCancelCause(t.Context())
	go func() {
		<-arrived
		interrupt(delivery.ErrShutdown)
	}()
	err := f.rt.Handle(ctx, ev)
	var retry *delivery.RetryError
	require.ErrorAs(t, err, &retry)
	require.Zero(t, retry.After, "handed back for another worker at once")

	e, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
	require.NoError(t, err)
	require.Equal(t, domain.StatusQueued, e.Status, "not dead-lettered although it was the only attempt allowed")

	require.NoError(t, f.rt.Handle(t.Context(), ev))
	e, err = f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, e.Status)
	attempts, err := f.store.Attempts(t.Context(), e.ID, e.ScheduledAt)
	require.NoError(t, err)
	require.Len(t, attempts, 2)
	require.Equal(t, domain.StatusCancelled, attempts[0].Status)
	require.Contains(t, attempts[0].Error, "shut down")
}

// A retry that arrives past the job's starting deadline still runs: the deadline decides only
// whether a fire starts at all, and skipping the retry would strand its queued execution.
func TestStartingDeadlineDoesNotStrandARetry(t *testing.T) {
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
	f := newFixture(t, executor.Config{})
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL,
		Retry: &domain.RetryPolicy{MaxAttempts: 3, Backoff: []domain.Duration{domain.Duration(50 * time.Millisecond)}}})
	j.StartingDeadline = domain.Duration(time.Second)
	at := f.clock.Now().Add(-900 * time.Millisecond).Truncate(time.Millisecond) // just inside the deadline
	ev := dueEvent(t, j, at)
	var retry *delivery.RetryError
	require.ErrorAs(t, f.rt.Handle(t.Context(), ev), &retry)
	f.clock.Advance(max(retry.After, 300*time.Millisecond)) // now past the deadline, and the back-off
	require.NoError(t, f.rt.Handle(t.Context(), ev))
	e, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, e.Status)
	require.Equal(t, 2, e.Attempt)
}

package executor_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

// requireCancelled checks that the execution of key is recorded cancelled with the cancel's reason.
func requireCancelled(t *testing.T, f *fixture, key string) {
	t.Helper()
	e, err := f.store.ExecutionByKey(t.Context(), key)
	require.NoError(t, err)
	require.Equal(t, domain.StatusCancelled, e.Status)
	require.Equal(t, "cancelled by ops", e.Error)
}

func TestACancelledRunningAttemptStopsAtItsNextHeartbeat(t *testing.T) {
	t.Parallel()
	srv, arrived, release := blockingTarget(t)
	defer close(release)
	f := newFixture(t, executor.Config{HeartbeatInterval: 50 * time.Millisecond, StaleAfter: time.Minute})
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: srv.URL})
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	done := make(chan error, 1)
	go func() { done <- f.rt.Handle(context.Background(), dueEvent(t, j, at)) }()
	key := <-arrived
	e, err := f.store.ExecutionByKey(t.Context(), key)
	require.NoError(t, err)
	_, err = f.store.CancelExecution(t.Context(), e.ID, "cancelled by ops", time.Now().UTC())
	require.NoError(t, err)

	// The attempt waits on its timeout and its heartbeat; at the next heartbeat it learns.
	require.NoError(t, f.clock.BlockUntilContext(t.Context(), 2))
	f.clock.Advance(50 * time.Millisecond)
	require.NoError(t, <-done, "the worker stops the attempt and settles")
	requireCancelled(t, f, key)
}

func TestAStagedFireCancelledBeforeItsInstantIsNotSent(t *testing.T) {
	t.Parallel()
	f, target, key, slot := stagedFireChangedBeforeItsInstant(t, func(f *fixture, _ *domain.Job, e *domain.Execution) {
		_, err := f.store.CancelExecution(t.Context(), e.ID, "cancelled by ops", time.Now().UTC())
		require.NoError(t, err)
	})
	require.Empty(t, target.got(), "a fire cancelled before its instant must not be sent")
	requireCancelled(t, f, key)
	_, _, acquired := slot.state()
	require.Zero(t, acquired, "a cancelled fire takes no slot")
}

func TestACancelledRunStartedByHandDoesNotRun(t *testing.T) {
	t.Parallel()
	target, hits := countingTarget(t, http.StatusOK)
	f := newFixture(t, executor.Config{})
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL})
	svc := jobs.New(f.store, f.clock.Now)
	queued, _, err := svc.Trigger(t.Context(), f.store, j, jobs.RunNow{})
	require.NoError(t, err)
	fires, err := f.store.DueQueued(t.Context(), time.Now().Add(time.Second), 10)
	require.NoError(t, err)
	require.Len(t, fires, 1)
	_, err = f.store.CancelExecution(t.Context(), queued.ID, "cancelled by ops", time.Now().UTC())
	require.NoError(t, err)
	left, err := f.store.DueQueued(t.Context(), time.Now().Add(time.Second), 10)
	require.NoError(t, err)
	require.Empty(t, left, "its fire not yet published is withdrawn")

	// One already published arrives all the same: it finds the record ended.
	fire := fires[0]
	meta := event.DueMeta{Key: fire.Key, JobID: fire.JobID, Kind: fire.Kind, Trigger: fire.Trigger, ScheduledAt: fire.ScheduledAt}
	require.NoError(t, f.rt.Handle(t.Context(), event.NewDueEncoded(meta, fire.Payload, "/test")))
	require.Zero(t, hits.Load())
	requireCancelled(t, f, queued.IdempotencyKey)
}

func TestCancellingARunOfAFixedDelayJobKeepsTheJobGoing(t *testing.T) {
	t.Parallel()
	srv, arrived, release := blockingTarget(t)
	defer close(release)
	f := newFixture(t, executor.Config{HeartbeatInterval: 50 * time.Millisecond, StaleAfter: time.Minute})
	every := 10 * time.Second
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: srv.URL, Waiting: true,
		Schedule: &domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: domain.Duration(every)}})
	at := f.clock.Now().UTC()
	done := make(chan error, 1)
	go func() { done <- f.rt.Handle(context.Background(), dueEvent(t, j, at)) }()
	key := <-arrived
	e, err := f.store.ExecutionByKey(t.Context(), key)
	require.NoError(t, err)
	cancelled, err := f.store.CancelExecution(t.Context(), e.ID, "cancelled by ops", f.clock.Now().UTC())
	require.NoError(t, err)
	require.NoError(t, f.clock.BlockUntilContext(t.Context(), 2))
	f.clock.Advance(50 * time.Millisecond)
	require.NoError(t, <-done)

	// Its next run counts from the cancel, as from any end; nothing else would set it.
	got, err := f.store.GetJob(t.Context(), j.ID)
	require.NoError(t, err)
	require.NotNil(t, got.NextRunAt, "a cancelled run must not stop a fixed_delay job for good")
	require.WithinDuration(t, cancelled.FinishedAt.Add(every), *got.NextRunAt, time.Millisecond)
	evs := lifecycle(t, f)
	require.Len(t, evs, 1)
	require.Equal(t, event.TypeExecutionCancelled, evs[0].Type())
}

func TestAStagedFireTakenOverBeforeItsInstantIsNotSentByTheFirstWorker(t *testing.T) {
	t.Parallel()
	_, target, _, _ := stagedFireChangedBeforeItsInstant(t, func(f *fixture, _ *domain.Job, e *domain.Execution) {
		// Another worker found it silent and runs it as attempt 2.
		lost := &domain.Attempt{Attempt: 1, StartedAt: e.StartedAt, FinishedAt: time.Now().UTC(), Status: domain.StatusFailed,
			Error: "went silent", WorkerID: e.WorkerID}
		taken := *e
		now := time.Now().UTC()
		taken.Attempt, taken.WorkerID, taken.StartedAt = 2, "other", &now
		ok, err := f.store.ResolveSilent(t.Context(), &taken, lost, store.StartParams{StaleAfter: -time.Hour}, nil)
		require.NoError(t, err)
		require.True(t, ok)
	})
	require.Empty(t, target.got(), "the fire is the other worker's to send")
}

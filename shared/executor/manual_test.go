package executor_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/testfactory"
)

// runQueued delivers the one fire queued in the outbox, as the tick publishes it, and returns
// the execution recorded under key.
func runQueued(t *testing.T, f *fixture, key string) *domain.Execution {
	t.Helper()
	fires, err := f.store.DueQueued(t.Context(), time.Now().Add(time.Second), 10)
	require.NoError(t, err)
	require.Len(t, fires, 1)
	fire := fires[0]
	meta := event.DueMeta{Key: fire.Key, JobID: fire.JobID, Kind: fire.Kind, Trigger: fire.Trigger, ScheduledAt: fire.ScheduledAt}
	require.NoError(t, f.rt.Handle(t.Context(), event.NewDueEncoded(meta, fire.Payload, "/test")))
	e, err := f.store.ExecutionByKey(t.Context(), key)
	require.NoError(t, err)
	return e
}

func TestARunStartedByHandTakesOverItsQueuedRecordAndSeesItsPayload(t *testing.T) {
	t.Parallel()
	var (
		mu     sync.Mutex
		bodies []string
	)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	defer target.Close()
	f := newFixture(t, executor.Config{})
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL})
	j.HTTP = &domain.HTTPSpec{Method: "POST", URL: target.URL, Body: `{"why":"{{ trigger.payload.reason }}","by":"{{ trigger.type }}"}`}
	j = editJob(t, f, j, func(*domain.Job) {})

	svc := jobs.New(f.store, f.clock.Now)
	queued, replayed, err := svc.Trigger(t.Context(), f.store, j, jobs.RunNow{Payload: []byte(`{"reason":"month end"}`)})
	require.NoError(t, err)
	require.False(t, replayed)
	e := runQueued(t, f, queued.IdempotencyKey)
	require.Equal(t, queued.ID, e.ID, "the executor takes over the record the API made")
	require.Equal(t, domain.StatusSucceeded, e.Status)
	require.Equal(t, domain.TriggerManual, e.Trigger)
	require.Equal(t, 1, e.Attempt)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{`{"why":"month end","by":"manual"}`}, bodies)
}

func TestARunStartedByHandOfAForbidJobThatLostTheRaceIsSkipped(t *testing.T) {
	t.Parallel()
	target, hits := countingTarget(t, http.StatusOK)
	f := newFixture(t, executor.Config{})
	j := policyJob(t, f, target.URL, domain.ConcurrencyForbid, 0)
	svc := jobs.New(f.store, f.clock.Now)
	// Queued while nothing ran; another execution started before the fire arrived.
	queued, _, err := svc.Trigger(t.Context(), f.store, j, jobs.RunNow{})
	require.NoError(t, err)
	testfactory.RunningExclusive(t, f.store, j)
	e := runQueued(t, f, queued.IdempotencyKey)
	require.Equal(t, queued.ID, e.ID, "the queued record itself says what became of the run")
	require.Equal(t, domain.StatusSkipped, e.Status)
	require.Contains(t, e.Error, "forbid")
	require.Zero(t, hits.Load())
}

func TestAForcedRunRunsBesideARunningExecutionOfAForbidJob(t *testing.T) {
	t.Parallel()
	target, hits := countingTarget(t, http.StatusOK)
	f := newFixture(t, executor.Config{})
	j := policyJob(t, f, target.URL, domain.ConcurrencyForbid, 0)
	testfactory.RunningExclusive(t, f.store, j)
	svc := jobs.New(f.store, f.clock.Now)
	_, _, err := svc.Trigger(t.Context(), f.store, j, jobs.RunNow{})
	require.ErrorIs(t, err, domain.ErrConflict, "unforced, it is refused while the other runs")

	queued, _, err := svc.Trigger(t.Context(), f.store, j, jobs.RunNow{Force: true})
	require.NoError(t, err)
	e := runQueued(t, f, queued.IdempotencyKey)
	require.Equal(t, domain.StatusSucceeded, e.Status)
	require.True(t, e.Forced)
	require.Equal(t, int32(1), hits.Load())
}

package executor_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/testfactory"
)

// countingTarget answers every request with status and counts them.
func countingTarget(t *testing.T, status int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// editJob stores an edit of j (at its version) made by change.
func editJob(t *testing.T, f *fixture, j *domain.Job, change func(*domain.Job)) *domain.Job {
	t.Helper()
	edited := *j
	spec := *j.HTTP
	edited.HTTP = &spec
	change(&edited)
	got, err := f.store.UpdateJob(t.Context(), &edited, j.Version, false, time.Now().UTC())
	require.NoError(t, err)
	return got
}

func TestAFireOfAJobEditedAfterItWasClaimedRunsTheNewVersion(t *testing.T) {
	t.Parallel()
	before, beforeHits := countingTarget(t, http.StatusOK)
	after, afterHits := countingTarget(t, http.StatusOK)
	f := newFixture(t, executor.Config{})
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: before.URL})
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	ev := dueEvent(t, j, at) // claimed and published with version 1
	editJob(t, f, j, func(j *domain.Job) { j.HTTP.URL = after.URL })

	require.NoError(t, f.rt.Handle(t.Context(), ev))
	e, err := f.store.ExecutionByKey(t.Context(), ev.ID())
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, e.Status)
	require.Equal(t, int64(2), e.JobVersion, "the record names the version that ran")
	require.Zero(t, beforeHits.Load(), "the version the fire was claimed with must not run")
	require.Equal(t, int32(1), afterHits.Load())
}

func TestAStagedFireOfAJobEditedBeforeItsInstantRunsTheNewVersion(t *testing.T) {
	t.Parallel()
	f := newFixture(t, executor.Config{})
	before, beforeTarget := newClockTarget(t, f)
	after, afterTarget := newClockTarget(t, f)
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: before.URL})
	at, _, done := stagedFire(t, f, j)
	key := domain.ScheduledKey(j.ID, at)
	require.Equal(t, int64(1), awaitRecorded(t, f, key).JobVersion)
	editJob(t, f, j, func(j *domain.Job) { j.HTTP.URL = after.URL })

	require.NoError(t, f.clock.BlockUntilContext(t.Context(), 1))
	f.clock.Advance(time.Second)
	require.NoError(t, <-done)
	require.Empty(t, beforeTarget.got(), "the version the fire was staged with must not run")
	require.Len(t, afterTarget.got(), 1)
	e, err := f.store.ExecutionByKey(t.Context(), key)
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, e.Status)
	require.Equal(t, int64(2), e.JobVersion)
}

func TestAStagedFireOfAJobRescheduledAwayFromItsInstantIsSkipped(t *testing.T) {
	t.Parallel()
	requireStagedFireSkippedAfter(t, func(f *fixture, j *domain.Job) {
		editJob(t, f, j, func(j *domain.Job) { j.Schedule = domain.Schedule{Cron: "0 0 0 1 1 *"} })
	}, "schedule was changed")
}

func TestARetryRunsTheJobAsItIsWhenTheRetryStarts(t *testing.T) {
	t.Parallel()
	broken, brokenHits := countingTarget(t, http.StatusServiceUnavailable)
	fixed, fixedHits := countingTarget(t, http.StatusOK)
	f := newFixture(t, executor.Config{})
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: broken.URL,
		Retry: &domain.RetryPolicy{MaxAttempts: 5, Backoff: []domain.Duration{domain.Duration(50 * time.Millisecond)}}})
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	ev := dueEvent(t, j, at)
	require.Error(t, f.rt.Handle(t.Context(), ev), "the first attempt fails and asks to be retried")
	require.Equal(t, int32(1), brokenHits.Load())

	// The operator fixes the job while it retries: the next attempt calls the fixed target.
	editJob(t, f, j, func(j *domain.Job) { j.HTTP.URL = fixed.URL })
	handleUntilSettled(t, f, func() error { return f.rt.Handle(t.Context(), ev) })
	e, err := f.store.ExecutionByKey(t.Context(), ev.ID())
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, e.Status)
	require.Equal(t, 2, e.Attempt)
	require.Equal(t, int64(2), e.JobVersion)
	require.Equal(t, int32(1), brokenHits.Load())
	require.Equal(t, int32(1), fixedHits.Load())
}

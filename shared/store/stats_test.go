package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

// A mix of outcomes, recorded through the executors' and the API's own paths, gives the counts,
// rate, streak, strip and percentiles a person would work out by hand.
func TestJobStatsAfterAMixOfOutcomes(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := t.Context()
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	idle := testfactory.Job(t, st, testfactory.JobOpts{})
	now := time.Now().UTC().Truncate(time.Second)
	// Oldest first: a success outside the window, then in the window 3 successes, a skip, a
	// cancel, a success, and 3 failures of three kinds.
	testfactory.Outcome(t, st, j, domain.StatusSucceeded, now.Add(-8*24*time.Hour), 10*time.Millisecond)
	plan := []struct {
		status domain.ExecutionStatus
		ms     int
	}{
		{domain.StatusSucceeded, 100}, {domain.StatusSucceeded, 200}, {domain.StatusSucceeded, 300},
		{domain.StatusSkipped, 0}, {domain.StatusCancelled, 0}, {domain.StatusSucceeded, 400},
		{domain.StatusFailed, 500}, {domain.StatusTimedOut, 600}, {domain.StatusDeadLettered, 700},
	}
	var recorded []*domain.Execution
	for i, p := range plan {
		at := now.Add(-time.Duration(len(plan)-i) * time.Minute)
		recorded = append(recorded, testfactory.Outcome(t, st, j, p.status, at, time.Duration(p.ms)*time.Millisecond))
	}
	// A running execution is not counted yet.
	testfactory.RunningExclusive(t, st, j)

	got, err := st.JobStats(ctx, []string{j.ID, idle.ID}, now)
	require.NoError(t, err)
	s := got[j.ID]
	require.Equal(t, domain.OutcomeCounts{Succeeded: 4, Failed: 1, TimedOut: 1, Skipped: 1, Cancelled: 1, DeadLettered: 1}, s.Counts)
	require.NotNil(t, s.SuccessRate)
	require.InDelta(t, 4.0/7.0, *s.SuccessRate, 1e-9)
	require.Equal(t, now.Add(-domain.StatsWindow).Truncate(time.Hour), s.WindowFrom)
	require.Equal(t, 3, s.ConsecutiveFailures)
	require.True(t, recorded[5].FinishedAt.Equal(*s.LastSuccessAt), "the newest success")
	require.True(t, recorded[8].FinishedAt.Equal(*s.LastFailureAt), "the newest failure")
	require.Len(t, s.LastOutcomes, 10, "every ended execution, as there are fewer than 20")
	var strip []domain.ExecutionStatus
	for _, o := range s.LastOutcomes {
		strip = append(strip, o.Status)
	}
	require.Equal(t, []domain.ExecutionStatus{domain.StatusDeadLettered, domain.StatusTimedOut, domain.StatusFailed,
		domain.StatusSucceeded, domain.StatusCancelled, domain.StatusSkipped, domain.StatusSucceeded, domain.StatusSucceeded,
		domain.StatusSucceeded, domain.StatusSucceeded}, strip, "newest first")
	require.Equal(t, recorded[8].ID, s.LastOutcomes[0].ExecutionID)
	// Durations of the 8 that ran: 10, 100 … 700 ms.
	require.Equal(t, 8, s.Duration.Samples)
	require.Equal(t, 300.0, *s.Duration.P50)
	require.Equal(t, 700.0, *s.Duration.P95)

	none := got[idle.ID]
	require.Equal(t, domain.OutcomeCounts{}, none.Counts)
	require.Nil(t, none.SuccessRate)
	require.Nil(t, none.Duration.P50)
	require.Empty(t, none.LastOutcomes)
	require.NotNil(t, none.LastOutcomes, "an empty strip, not null")
}

// A streak longer than the outcomes read at once, and a failure older than them, are found in
// the hourly counts and one hour of history.
func TestJobStatsLookBeyondTheRecentOutcomes(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Second)
	start := now.Add(-3 * time.Hour)

	failing := testfactory.Job(t, st, testfactory.JobOpts{})
	healthy := testfactory.Job(t, st, testfactory.JobOpts{})
	success := testfactory.Outcome(t, st, failing, domain.StatusSucceeded, start, time.Millisecond)
	failure := testfactory.Outcome(t, st, healthy, domain.StatusFailed, start, time.Millisecond)
	// Two before them in the same hour, which the streak must not count.
	testfactory.Outcome(t, st, failing, domain.StatusFailed, start.Add(-time.Second), time.Millisecond)
	testfactory.Outcome(t, st, healthy, domain.StatusSucceeded, start.Add(-time.Second), time.Millisecond)
	const n = 130
	for i := range n {
		at := start.Add(time.Duration(i+1) * time.Minute)
		testfactory.Outcome(t, st, failing, domain.StatusFailed, at, time.Millisecond)
		testfactory.Outcome(t, st, healthy, domain.StatusSucceeded, at, time.Millisecond)
	}
	got, err := st.JobStats(ctx, []string{failing.ID, healthy.ID}, now)
	require.NoError(t, err)
	require.Equal(t, n, got[failing.ID].ConsecutiveFailures)
	require.True(t, success.FinishedAt.Equal(*got[failing.ID].LastSuccessAt))
	require.Equal(t, 0, got[healthy.ID].ConsecutiveFailures)
	require.True(t, failure.FinishedAt.Equal(*got[healthy.ID].LastFailureAt))
	require.Len(t, got[healthy.ID].LastOutcomes, 20)
	require.Equal(t, 100, got[healthy.ID].Duration.Samples)

	// With no success kept at all, every failure kept is in the streak.
	never := testfactory.Job(t, st, testfactory.JobOpts{})
	for i := range 3 {
		testfactory.Outcome(t, st, never, domain.StatusFailed, start.Add(time.Duration(i)*time.Hour), time.Millisecond)
	}
	got, err = st.JobStats(ctx, []string{never.ID}, now)
	require.NoError(t, err)
	require.Equal(t, 3, got[never.ID].ConsecutiveFailures)
	require.Nil(t, got[never.ID].LastSuccessAt)
}

// An execution that fails, is retried and then succeeds counts once, as its last outcome.
func TestJobStatsCountARetriedExecutionOnce(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := t.Context()
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	e := testfactory.RunningExclusive(t, st, j)
	next := time.Now().UTC().Add(time.Second).Truncate(time.Microsecond)
	end := time.Now().UTC().Truncate(time.Microsecond)
	e.Status, e.FinishedAt, e.NextAttemptAt, e.Error = domain.StatusQueued, nil, &next, "boom"
	require.NoError(t, st.FinishExecution(ctx, e, &domain.Attempt{Attempt: 1, FinishedAt: end, Status: domain.StatusFailed, Error: "boom"}))
	e.Attempt, e.Status, e.WorkerID = 2, domain.StatusRunning, "w2"
	outcome, err := st.StartExecution(ctx, e, store.StartParams{StaleAfter: time.Hour, IgnoreBackoff: true})
	require.NoError(t, err)
	require.Equal(t, store.Resumed, outcome)
	e.Status, e.FinishedAt, e.NextAttemptAt, e.Error = domain.StatusSucceeded, &end, nil, ""
	require.NoError(t, st.FinishExecution(ctx, e, &domain.Attempt{Attempt: 2, FinishedAt: end, Status: domain.StatusSucceeded}))
	got, err := st.JobStats(ctx, []string{j.ID}, time.Now())
	require.NoError(t, err)
	require.Equal(t, domain.OutcomeCounts{Succeeded: 1}, got[j.ID].Counts)
}

// Streak agrees with counting by hand on any sequence of outcomes.
func TestStreakProperties(t *testing.T) {
	t.Parallel()
	statuses := []domain.ExecutionStatus{domain.StatusSucceeded, domain.StatusFailed, domain.StatusTimedOut,
		domain.StatusSkipped, domain.StatusCancelled, domain.StatusDeadLettered}
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 60).Draw(t, "n")
		list := make([]domain.Outcome, n)
		base := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
		for i := range list {
			at := base.Add(-time.Duration(i) * time.Minute)
			list[i] = domain.Outcome{Status: rapid.SampledFrom(statuses).Draw(t, "status"), FinishedAt: &at}
		}
		r := store.Streak(list)
		success := slices.IndexFunc(list, func(o domain.Outcome) bool { return o.Status == domain.StatusSucceeded })
		failure := slices.IndexFunc(list, func(o domain.Outcome) bool { return o.Status.Failure() })
		prefix := list
		if success >= 0 {
			prefix = list[:success]
		}
		want := 0
		for _, o := range prefix {
			if o.Status.Failure() {
				want++
			}
		}
		if r.Failures != want || r.SuccessFound != (success >= 0) {
			t.Fatalf("streak %+v, want %d failures, success found %v", r, want, success >= 0)
		}
		if (success >= 0) != (r.LastSuccess != nil) || success >= 0 && !r.LastSuccess.Equal(*list[success].FinishedAt) {
			t.Fatalf("last success %v, want index %d", r.LastSuccess, success)
		}
		if (failure >= 0) != (r.LastFailure != nil) || failure >= 0 && !r.LastFailure.Equal(*list[failure].FinishedAt) {
			t.Fatalf("last failure %v, want index %d", r.LastFailure, failure)
		}
	})
}

// The percentiles are samples, ordered, and split the samples as nearest-rank says.
func TestDurationPercentilesProperties(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		d := rapid.SliceOfN(rapid.Float64Range(0, 1e6), 1, 200).Draw(t, "durations")
		got := store.DurationPercentiles(d)
		if got.Samples != len(d) || !slices.Contains(d, *got.P50) || !slices.Contains(d, *got.P95) || *got.P50 > *got.P95 {
			t.Fatalf("percentiles %+v of %v", got, d)
		}
		for _, p := range []struct {
			q float64
			v float64
		}{{0.5, *got.P50}, {0.95, *got.P95}} {
			atMost := 0
			for _, x := range d {
				if x <= p.v {
					atMost++
				}
			}
			if float64(atMost) < p.q*float64(len(d)) {
				t.Fatalf("only %d of %d samples are at most p%.0f = %v", atMost, len(d), p.q*100, p.v)
			}
		}
	})
	require.Equal(t, domain.DurationStats{}, store.DurationPercentiles(nil))
}

// A skip written inside a long transaction (the tick's claim, which stays open while it
// publishes) is counted when that transaction commits: finishes of the job's same hour do not
// wait for it meanwhile.
func TestJobStatsCountingDoesNotHoldFinishesBehindAnOpenClaim(t *testing.T) {
	t.Parallel()
	st, dbURL := testfactory.Store(t)
	ctx := t.Context()
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	at := time.Now().UTC().Truncate(time.Hour)
	testfactory.Outcome(t, st, j, domain.StatusSucceeded, at, time.Millisecond) // the hour's counters exist
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(context.Background()) //nolint:errcheck // after the commit, a no-op
	skipAt := at.Add(time.Second)
	_, err = tx.Exec(ctx, `INSERT INTO job_executions (id, job_id, job_version, idempotency_key, trigger, scheduled_at,
		finished_at, status, attempt, error) VALUES ($1, $2, 1, $3, 'schedule', $4, now(), 'skipped', 0, 'skipped: misfire')`,
		uuid.NewString(), j.ID, domain.ScheduledKey(j.ID, skipAt), skipAt)
	require.NoError(t, err)

	// A running execution of the same hour finishes while the transaction stays open.
	runAt := at.Add(2 * time.Second)
	e := &domain.Execution{ID: uuid.NewString(), JobID: j.ID, JobVersion: j.Version, IdempotencyKey: domain.ScheduledKey(j.ID, runAt),
		Trigger: domain.TriggerSchedule, ScheduledAt: runAt, StartedAt: &runAt, Status: domain.StatusRunning, Attempt: 1, WorkerID: "w"}
	_, err = st.StartExecution(ctx, e, store.StartParams{StaleAfter: time.Hour})
	require.NoError(t, err)
	end := runAt.Add(time.Millisecond)
	e.Status, e.FinishedAt, e.Error = domain.StatusFailed, &end, "boom"
	finished := make(chan error, 1)
	go func() {
		finished <- st.FinishExecution(ctx, e, &domain.Attempt{Attempt: 1, StartedAt: &runAt, FinishedAt: end, Status: domain.StatusFailed, Error: "boom"})
	}()
	select {
	case err := <-finished:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("a finish waited for an open transaction that wrote a skip")
	}
	require.NoError(t, tx.Commit(ctx))
	got, err := st.JobStats(ctx, []string{j.ID}, time.Now())
	require.NoError(t, err)
	require.Equal(t, domain.OutcomeCounts{Succeeded: 1, Failed: 1, Skipped: 1}, got[j.ID].Counts)
}

// An execution whose worker was lost before it said how long it ran has no duration: it does
// not count as 0 ms.
func TestJobStatsLeaveOutUnknownDurations(t *testing.T) {
	t.Parallel()
	st, dbURL := testfactory.Store(t)
	ctx := t.Context()
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	now := time.Now().UTC().Truncate(time.Second)
	testfactory.Outcome(t, st, j, domain.StatusSucceeded, now.Add(-2*time.Minute), 500*time.Millisecond)
	lost := testfactory.Outcome(t, st, j, domain.StatusFailed, now.Add(-time.Minute), 0)
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, `UPDATE job_executions SET duration_ms = NULL WHERE id = $1`, lost.ID)
	require.NoError(t, err)
	got, err := st.JobStats(ctx, []string{j.ID}, now)
	require.NoError(t, err)
	s := got[j.ID]
	require.Equal(t, 1, s.Duration.Samples)
	require.Equal(t, 500.0, *s.Duration.P50)
	require.Nil(t, s.LastOutcomes[0].DurationMS)
	require.Equal(t, time.UTC, s.LastOutcomes[0].ScheduledAt.Location())
}

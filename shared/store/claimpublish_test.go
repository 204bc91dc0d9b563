package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

// TestClaimPublishesInsideItsTransaction: a claim publishes its fires before it commits; what
// the broker acknowledged writes nothing more, what it refused waits in the outbox, and a claim
// that does not commit after publishing leaves its jobs due, so the next claim publishes the
// same fires under the same keys (which the broker drops as duplicates).
func TestClaimPublishesInsideItsTransaction(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	now := time.Now().UTC().Truncate(time.Second)
	a := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now})
	b := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now})

	// A claim that publishes and then cannot commit.
	var first []string
	ctx, cancel := context.WithCancel(t.Context())
	_, _, _, err := st.ClaimDue(ctx, time.Time{}, nil, now, 10, planEvery, func(_ context.Context, fires []domain.Fire) []error {
		for _, f := range fires {
			first = append(first, f.Key)
		}
		cancel() // the connection goes before the commit
		return make([]error, len(fires))
	})
	require.Error(t, err)
	require.ElementsMatch(t, []string{domain.ScheduledKey(a.ID, now), domain.ScheduledKey(b.ID, now)}, first)

	// The next claim publishes the same fires; b's publication fails and waits in the outbox.
	var second []string
	fires, claimed, _, err := st.ClaimDue(t.Context(), time.Time{}, nil, now, 10, planEvery, func(_ context.Context, fires []domain.Fire) []error {
		errs := make([]error, len(fires))
		for i, f := range fires {
			second = append(second, f.Key)
			if f.JobID == b.ID {
				errs[i] = errors.New("broker unavailable")
			}
		}
		return errs
	})
	require.NoError(t, err)
	require.Equal(t, 2, claimed)
	require.ElementsMatch(t, first, second, "the same fires, under the same keys")
	require.Len(t, fires, 1)
	require.Equal(t, b.ID, fires[0].JobID)
	stranded, err := st.StrandedFires(t.Context(), time.Time{}, -time.Hour, 10)
	require.NoError(t, err)
	require.Len(t, stranded, 1, "only the fire the broker refused is in the outbox")
	require.Equal(t, domain.ScheduledKey(b.ID, now), stranded[0].Key)

	// Both jobs moved on.
	for _, j := range []*domain.Job{a, b} {
		got, err := st.GetJob(t.Context(), j.ID)
		require.NoError(t, err)
		require.True(t, got.NextRunAt.After(now))
	}
}

// TestAFirstAttemptThatSucceedsWritesNoAttemptRow: the execution row describes such an attempt
// in full, so it is not written twice; Attempts and the history export still show it. An
// execution that needed more than one attempt keeps a row per attempt.
func TestAFirstAttemptThatSucceedsWritesNoAttemptRow(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	ctx := t.Context()
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	at := time.Now().UTC().Truncate(time.Second)

	once := newExecution(j, at, "w1", time.Now().UTC())
	batch := []*domain.Execution{once, newExecution(j, at.Add(time.Second), "w1", time.Now().UTC())}
	_, err := st.InsertExecutions(ctx, batch)
	require.NoError(t, err)
	done := time.Now().UTC().Truncate(time.Microsecond)
	var fins []store.Finish
	for i, e := range batch {
		e.Status, e.FinishedAt, e.HTTPStatus, e.DurationMS = domain.StatusSucceeded, &done, 200, 12.5
		if i == 1 {
			e.Status, e.HTTPStatus, e.Error = domain.StatusFailed, 500, "target answered 500"
		}
		fins = append(fins, store.Finish{Execution: e, Attempt: attemptOf(e)})
	}
	_, err = st.FinishExecutions(ctx, fins)
	require.NoError(t, err)
	single := newExecution(j, at.Add(2*time.Second), "w2", time.Now().UTC())
	_, err = st.StartExecution(ctx, single, store.StartParams{StaleAfter: time.Minute})
	require.NoError(t, err)
	single.Status, single.FinishedAt = domain.StatusSucceeded, &done
	require.NoError(t, st.FinishExecution(ctx, single, attemptOf(single)))

	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var rows int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM job_execution_attempts`).Scan(&rows))
	require.Equal(t, 1, rows, "only the failed attempt has a row")

	attempts, err := st.Attempts(ctx, once.ID, once.ScheduledAt)
	require.NoError(t, err)
	require.Len(t, attempts, 1)
	started := once.StartedAt.Truncate(time.Microsecond)
	require.Equal(t, domain.Attempt{Attempt: 1, StartedAt: &started, FinishedAt: done, Status: domain.StatusSucceeded,
		HTTPStatus: 200, DurationMS: 12.5, WorkerID: "w1"}, attempts[0])
	attempts, err = st.Attempts(ctx, batch[1].ID, batch[1].ScheduledAt)
	require.NoError(t, err)
	require.Len(t, attempts, 1)
	require.Equal(t, "target answered 500", attempts[0].Error)

	var exported []*domain.Execution
	_, err = st.ExportHistoryDay(ctx, at, func(e *domain.Execution) error {
		exported = append(exported, e)
		return nil
	})
	require.NoError(t, err)
	require.Len(t, exported, 3)
	for _, e := range exported {
		require.Len(t, e.Attempts, 1, "execution %s", e.IdempotencyKey)
		require.Equal(t, e.WorkerID, e.Attempts[0].WorkerID)
	}
}

// TestAFixedDelayJobMovesOnAfterAClaimThatDidNotCommit: the claim that published a fixed_delay
// fire did not commit, so the job still points at that fire when it finishes; the finish sets
// its next run all the same — the claim made again would publish a fire the broker drops, and
// the job would wait forever. A job already moved past the fire is left alone.
func TestAFixedDelayJobMovesOnAfterAClaimThatDidNotCommit(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := t.Context()
	at := time.Now().UTC().Truncate(time.Second)
	j := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: at,
		Schedule: &domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: domain.Duration(time.Minute)}})
	next := at.Add(time.Minute)
	require.NoError(t, st.ScheduleAfterFinish(ctx, j.ID, at, &next))
	got, err := st.GetJob(ctx, j.ID)
	require.NoError(t, err)
	require.True(t, got.NextRunAt.Equal(next), "next run %v", got.NextRunAt)

	// A late finish of an older fire changes nothing.
	later := at.Add(time.Hour)
	require.NoError(t, st.ScheduleAfterFinish(ctx, j.ID, at.Add(-time.Minute), &later))
	got, err = st.GetJob(ctx, j.ID)
	require.NoError(t, err)
	require.True(t, got.NextRunAt.Equal(next), "next run %v", got.NextRunAt)
}

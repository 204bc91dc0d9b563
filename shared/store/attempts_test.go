package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

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

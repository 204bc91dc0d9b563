package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/migrations"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// openStore opens another store (another process, as far as partitions go) on url.
func openStore(t *testing.T, url string) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), store.Config{URL: url})
	require.NoError(t, err)
	t.Cleanup(st.Close)
	return st
}

// recordAt records an execution of j scheduled at at and leaves it in status (with a pending
// dead letter for dead_lettered).
func recordAt(t *testing.T, st *store.Store, j *domain.Job, at time.Time, status domain.ExecutionStatus) *domain.Execution {
	t.Helper()
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	e := newExecution(j, at, "w1", now)
	outcome, err := st.StartExecution(ctx, e, store.StartParams{StaleAfter: time.Minute})
	require.NoError(t, err)
	require.Equal(t, store.Started, outcome)
	if status == domain.StatusRunning {
		return e
	}
	e.Status, e.FinishedAt = status, &now
	if status == domain.StatusQueued {
		next := now.Add(time.Hour)
		e.NextAttemptAt, e.FinishedAt = &next, nil
	}
	a := attemptOf(e)
	a.FinishedAt, a.Status = now, domain.StatusFailed
	require.NoError(t, st.FinishExecution(ctx, e, a))
	return e
}

// TestAFireIsRecordedOnceOnADayWithoutPartitions: deliveries of one fire racing into a day no
// process has made yet — each from a process of its own, so each finds the day missing — record
// it once. The instant is the day's last millisecond: the key determines the instant, and the
// instant the day.
func TestAFireIsRecordedOnceOnADayWithoutPartitions(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	at := time.Date(2031, 3, 4, 23, 59, 59, 999_000_000, time.UTC)
	stores := []*store.Store{st, openStore(t, url), openStore(t, url), openStore(t, url)}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		outcomes []store.StartOutcome
	)
	for i := range 12 {
		wg.Go(func() {
			e := newExecution(j, at, fmt.Sprint("w", i), time.Now().UTC())
			var err error
			var outcome store.StartOutcome
			if i%2 == 0 {
				outcome, err = stores[i%len(stores)].StartExecution(context.Background(), e, store.StartParams{StaleAfter: time.Minute})
			} else {
				var got []store.Inserted
				got, err = stores[i%len(stores)].InsertExecutions(context.Background(), []*domain.Execution{e})
				if err == nil && got[0] == store.InsertedRunning {
					outcome = store.Started
				} else {
					outcome = store.Running
				}
			}
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			outcomes = append(outcomes, outcome)
			mu.Unlock()
		})
	}
	wg.Wait()
	require.Equal(t, 1, count(outcomes, store.Started), "outcomes %v", outcomes)

	got, err := st.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
	require.NoError(t, err)
	require.Equal(t, at, got.ScheduledAt)
	list := testfactory.HistoryDays(t, st)
	require.Contains(t, list, "2031-03-04")
	require.NotContains(t, list, "2031-03-05")

	// Finished, a later delivery of it is a duplicate.
	done := time.Now().UTC()
	got.Status, got.FinishedAt = domain.StatusSucceeded, &done
	require.NoError(t, st.FinishExecution(t.Context(), got, attemptOf(got)))
	outcome, err := openStore(t, url).StartExecution(t.Context(), newExecution(j, at, "late", done), store.StartParams{StaleAfter: time.Minute})
	require.NoError(t, err)
	require.Equal(t, store.AlreadyDone, outcome)
}

func count[T comparable](list []T, v T) int {
	n := 0
	for _, x := range list {
		if x == v {
			n++
		}
	}
	return n
}

// TestOneExclusiveExecutionRunsAcrossDays: the one-running rule of forbid and replace holds
// between executions scheduled on different days, that is, in different partitions.
func TestOneExclusiveExecutionRunsAcrossDays(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := t.Context()
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	now := time.Now().UTC()
	exclusive := store.StartParams{StaleAfter: time.Minute, Exclusive: true}

	yesterday := newExecution(j, now.AddDate(0, 0, -1).Truncate(time.Second), "w1", now)
	outcome, err := st.StartExecution(ctx, yesterday, exclusive)
	require.NoError(t, err)
	require.Equal(t, store.Started, outcome)

	today := newExecution(j, now.Truncate(time.Second), "w2", now)
	outcome, err = st.StartExecution(ctx, today, exclusive)
	require.NoError(t, err)
	require.Equal(t, store.Busy, outcome)
	require.Equal(t, yesterday.ID, today.ID, "Busy reports the running one")

	batch := newExecution(j, now.AddDate(0, 0, 1).Truncate(time.Second), "w3", now)
	outcome, err = st.StartExecution(ctx, batch, exclusive)
	require.NoError(t, err)
	require.Equal(t, store.Busy, outcome)

	key, err := st.CancelRunning(ctx, j.ID, "replaced", now)
	require.NoError(t, err)
	require.Equal(t, yesterday.IdempotencyKey, key)
	today = newExecution(j, now.Truncate(time.Second), "w2", now)
	outcome, err = st.StartExecution(ctx, today, exclusive)
	require.NoError(t, err)
	require.Equal(t, store.Started, outcome, "the cancelled one freed the job")
	require.ErrorIs(t, st.Heartbeat(ctx, yesterday.ID, yesterday.ScheduledAt, yesterday.Attempt), domain.ErrConflict)
	require.NoError(t, st.Heartbeat(ctx, today.ID, today.ScheduledAt, today.Attempt))
}

// TestRetentionDropsWholeDaysAndKeepsOpenWork: days past the retention go, whole, unless they
// hold work in progress or a dead letter waiting for a person; a dropped day written again —
// a replay of its instant, by a process that had seen the day before — comes back.
func TestRetentionDropsWholeDaysAndKeepsOpenWork(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	ctx := t.Context()
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	today := store.Day(time.Now())
	at := func(daysAgo int) time.Time { return today.AddDate(0, 0, -daysAgo).Add(13 * time.Hour) }

	old := recordAt(t, st, j, at(40), domain.StatusSucceeded)
	recordAt(t, st, j, at(40).Add(time.Minute), domain.StatusFailed)
	recordAt(t, st, j, at(39), domain.StatusQueued)
	recordAt(t, st, j, at(38), domain.StatusRunning)
	recordAt(t, st, j, at(37), domain.StatusDeadLettered)
	discarded := recordAt(t, st, j, at(36), domain.StatusDeadLettered)
	_, err := st.DiscardDeadLetter(ctx, discarded.ID, time.Now())
	require.NoError(t, err)
	recordAt(t, st, j, at(29), domain.StatusSucceeded)
	recordAt(t, st, j, at(0), domain.StatusSucceeded)
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	// Written two days ago, as their instants' fires would have been — but for day 35's, a
	// replay of an old instant written just now.
	_, err = conn.Exec(ctx, `UPDATE job_executions SET created_at = created_at - interval '2 days',
		finished_at = finished_at - interval '2 days'`)
	require.NoError(t, err)
	recordAt(t, st, j, at(35), domain.StatusSucceeded)

	// Another process knows the oldest day, and will write to it after it is dropped.
	other := openStore(t, url)
	require.NoError(t, other.PrepareHistory(ctx, at(40)))

	dropped, held, err := st.DropHistoryDays(ctx, time.Now().Add(-30*24*time.Hour), time.Now())
	require.NoError(t, err)
	require.Equal(t, []time.Time{today.AddDate(0, 0, -40), today.AddDate(0, 0, -36)}, dropped)
	require.Len(t, held, 4)
	require.Contains(t, held[0].Reason, "1 queued or running")
	require.Contains(t, held[1].Reason, "1 queued or running")
	require.Contains(t, held[2].Reason, "1 pending dead letters")
	require.Contains(t, held[3].Reason, "1 of its executions were written within the last 24h0m0s")
	list := testfactory.HistoryDays(t, st)
	for _, d := range []int{40, 36} {
		require.NotContains(t, list, today.AddDate(0, 0, -d).Format(time.DateOnly))
	}
	for _, d := range []int{39, 38, 37, 35, 29, 0} {
		require.Contains(t, list, today.AddDate(0, 0, -d).Format(time.DateOnly))
	}
	_, err = st.ExecutionByKey(ctx, old.IdempotencyKey)
	require.ErrorIs(t, err, domain.ErrNotFound)
	// The dropped day's discarded dead letter left the list of dead letters with it.
	var listed []time.Time
	require.NoError(t, conn.QueryRow(ctx, `SELECT array_agg(execution_scheduled_at ORDER BY 1) FROM dead_letters`).Scan(&listed))
	require.Len(t, listed, 1)
	require.True(t, listed[0].Equal(at(37)))
	dls, err := st.ListDeadLetters(ctx, store.ListDeadLettersParams{JobID: j.ID, Limit: 10})
	require.NoError(t, err)
	require.Len(t, dls, 1)
	require.True(t, dls[0].ScheduledAt.Equal(at(37)))

	// The day is made again on demand, by the process that knew it too.
	again := newExecution(j, at(40), "w9", time.Now().UTC())
	outcome, err := other.StartExecution(ctx, again, store.StartParams{StaleAfter: time.Minute})
	require.NoError(t, err)
	require.Equal(t, store.Started, outcome)
	skipped := newExecution(j, at(40).Add(time.Second), "w9", time.Now().UTC())
	skipped.Status, skipped.Error, skipped.FinishedAt = domain.StatusSkipped, "skipped: test", skipped.StartedAt
	require.NoError(t, other.PrepareHistory(ctx, at(36)))
	_, _, err = st.DropHistoryDays(ctx, today.AddDate(0, 0, -35), time.Now())
	require.NoError(t, err)
	skipped.ScheduledAt = at(36)
	ok, err := other.RecordSkipped(ctx, skipped)
	require.NoError(t, err)
	require.True(t, ok)

	// While another process drops, this one leaves it to it.
	_, err = conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended(current_schema() || '.vecron_history_retention', 0))`)
	require.NoError(t, err)
	_, _, err = st.DropHistoryDays(ctx, time.Now(), time.Now())
	require.ErrorIs(t, err, store.ErrHistoryBusy)
}

// TestExportHistoryDayWritesExecutionsWithAttempts: an export holds every execution of the day,
// in scheduled order, each with its attempts, and nothing of other days.
func TestExportHistoryDayWritesExecutionsWithAttempts(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := t.Context()
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	day := store.Day(time.Now()).AddDate(0, 0, -3)
	second := recordAt(t, st, j, day.Add(2*time.Hour), domain.StatusQueued)
	first := recordAt(t, st, j, day.Add(time.Hour), domain.StatusSucceeded)
	recordAt(t, st, j, day.AddDate(0, 0, 1), domain.StatusSucceeded)
	recordAt(t, st, j, day.Add(-time.Millisecond), domain.StatusSucceeded)

	var got []*domain.Execution
	n, err := st.ExportHistoryDay(ctx, day.Add(5*time.Hour), func(e *domain.Execution) error {
		got = append(got, e)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, []string{first.ID, second.ID}, []string{got[0].ID, got[1].ID})
	require.Len(t, got[0].Attempts, 1)
	require.Equal(t, domain.StatusFailed, got[0].Attempts[0].Status)
	require.Equal(t, "w1", got[0].Attempts[0].WorkerID)
	require.Equal(t, domain.StatusQueued, got[1].Status)

	n, err = st.ExportHistoryDay(ctx, day.AddDate(0, 0, -20), func(*domain.Execution) error { return nil })
	require.NoError(t, err)
	require.Zero(t, n, "a day without partitions exports nothing")
}

// TestPartitioningMigratesHistoryInPlace: a database holding history from before partitions
// keeps every execution, attempt and running exclusive execution through the migration.
func TestPartitioningMigratesHistoryInPlace(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresURL(t)
	st := openStore(t, url)
	ctx := t.Context()
	pool, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer pool.Close(context.Background())

	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithTableName("vecron_schema_migrations"))
	require.NoError(t, err)
	_, err = p.UpTo(ctx, 8)
	require.NoError(t, err)

	jobID := uuid.NewString()
	at := []time.Time{time.Date(2026, 1, 15, 23, 59, 59, 0, time.UTC), time.Date(2026, 1, 16, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC), time.Date(2026, 2, 2, 8, 0, 0, 0, time.UTC)}
	ids := make([]string, len(at))
	for i, a := range at {
		ids[i] = uuid.NewString()
		status, exclusive := "succeeded", false
		switch i {
		case 2:
			status, exclusive = "running", true
		case 3:
			status = "dead_lettered"
		}
		_, err := pool.Exec(ctx, `INSERT INTO job_executions (id, job_id, job_version, idempotency_key, trigger, scheduled_at,
			status, exclusive) VALUES ($1, $2, 1, $3, 'schedule', $4, $5, $6)`, ids[i], jobID, domain.ScheduledKey(jobID, a), a, status, exclusive)
		require.NoError(t, err)
		_, err = pool.Exec(ctx, `INSERT INTO job_execution_attempts (execution_id, attempt, finished_at, status) VALUES ($1, 1, $2, 'failed')`, ids[i], a)
		require.NoError(t, err)
	}

	require.NoError(t, st.Migrate(ctx, testenv.Logger(t)))
	require.Equal(t, []string{"2026-01-15", "2026-01-16", "2026-02-01", "2026-02-02"}, testfactory.HistoryDays(t, st))
	for i, a := range at {
		e, err := st.ExecutionByKey(ctx, domain.ScheduledKey(jobID, a))
		require.NoError(t, err)
		require.Equal(t, ids[i], e.ID)
		attempts, err := st.Attempts(ctx, e.ID, e.ScheduledAt)
		require.NoError(t, err)
		require.Len(t, attempts, 1)
	}
	// The running exclusive execution still holds its job.
	var holder string
	require.NoError(t, pool.QueryRow(ctx, `SELECT execution_id FROM exclusive_runs WHERE job_id = $1`, jobID).Scan(&holder))
	require.Equal(t, ids[2], holder)
	_, err = pool.Exec(ctx, `INSERT INTO job_executions (id, job_id, job_version, idempotency_key, trigger, scheduled_at,
		status, exclusive) VALUES ($1, $2, 1, 'other', 'schedule', $3, 'running', true)`, uuid.NewString(), jobID, at[0])
	require.ErrorContains(t, err, "job_executions_one_running")
	// The dead letter is still listed.
	dls, err := st.ListDeadLetters(ctx, store.ListDeadLettersParams{Limit: 10})
	require.NoError(t, err)
	require.Len(t, dls, 1)
	require.Equal(t, ids[3], dls[0].ID)
}

// TestOutcomesAreWrittenInPlace: no index of job_executions names a column that finishing,
// retrying, taking over or heartbeating an execution writes, and its days keep half of each
// page free, so that those writes are HOT updates, which add no index entries.
func TestOutcomesAreWrittenInPlace(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	ctx := t.Context()
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	recordAt(t, st, j, time.Now().UTC().Truncate(time.Second), domain.StatusSucceeded)
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(context.Background())

	rows, err := conn.Query(ctx, `SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'job_executions'::regclass`)
	require.NoError(t, err)
	defs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.NotEmpty(t, defs)
	written := []string{"status", "attempt", "started_at", "heartbeat_at", "finished_at", "worker_id", "http_status",
		"duration_ms", "response_excerpt", "error", "next_attempt_at", "dead_letter_state", "dead_letter_resolved_at"}
	for _, def := range defs {
		for _, col := range written {
			require.NotRegexp(t, `\b`+col+`\b`, def, "an index naming %s keeps its updates from being written in place", col)
		}
	}
	var n int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_inherits WHERE inhparent = 'job_executions'::regclass`).Scan(&n))
	rows, err = conn.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'job_executions'::regclass AND NOT coalesce(c.reloptions, '{}') @> '{fillfactor=50}'`)
	require.NoError(t, err)
	without, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Positive(t, n)
	require.Empty(t, without, "days made without room for their outcomes")
}

// TestRetentionFinishesAnInterruptedDropAndNeverStopsFires: a day left half detached by a round
// that died is finished by the next, and dropping old days never makes fires of today wait or
// fail — the drop takes no lock that their writes wait for.
func TestRetentionFinishesAnInterruptedDropAndNeverStopsFires(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	ctx := t.Context()
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	today := store.Day(time.Now())
	for d := 40; d < 50; d++ {
		for i := range 20 {
			recordAt(t, st, j, today.AddDate(0, 0, -d).Add(time.Duration(i)*time.Minute), domain.StatusSucceeded)
		}
	}
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, `UPDATE job_executions SET created_at = created_at - interval '2 days', finished_at = finished_at - interval '2 days'`)
	require.NoError(t, err)
	// A round that died between the two detaches of day 45.
	day45 := today.AddDate(0, 0, -45).Format("20060102")
	_, err = conn.Exec(ctx, `ALTER TABLE job_executions DETACH PARTITION job_executions_p`+day45)
	require.NoError(t, err)

	// Fires of today go on while the days go.
	stop := make(chan struct{})
	var (
		wg    sync.WaitGroup
		fires int
	)
	wg.Go(func() {
		at := time.Now().UTC().Truncate(time.Second)
		for {
			select {
			case <-stop:
				return
			default:
			}
			batch := make([]*domain.Execution, 16)
			fins := make([]store.Finish, len(batch))
			for i := range batch {
				at = at.Add(time.Millisecond)
				batch[i] = newExecution(j, at, "w", time.Now().UTC())
			}
			if _, err := st.InsertExecutions(context.Background(), batch); err != nil {
				t.Error(err)
				return
			}
			done := time.Now().UTC()
			for i, e := range batch {
				e.Status, e.FinishedAt = domain.StatusSucceeded, &done
				fins[i] = store.Finish{Execution: e, Attempt: attemptOf(e)}
			}
			if _, err := st.FinishExecutions(context.Background(), fins); err != nil {
				t.Error(err)
				return
			}
			fires += len(batch)
		}
	})
	dropped, held, err := st.DropHistoryDays(ctx, today.AddDate(0, 0, -30), time.Now())
	close(stop)
	wg.Wait()
	require.NoError(t, err)
	require.Empty(t, held)
	require.Len(t, dropped, 10)
	require.Positive(t, fires)
	var left int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_class
		WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r' AND relname ~ '^job_execution(s|_attempts)_p'`).Scan(&left))
	require.Equal(t, 2, left, "today's two tables are all that is left")
}

// TestTheDeadLetterListFollowsTheExecutions: dead_letters holds each dead letter once, at the
// time it finished — also when that time is rewritten — and ListDeadLetters pages through it
// newest first.
func TestTheDeadLetterListFollowsTheExecutions(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	ctx := t.Context()
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	at := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	a := recordAt(t, st, j, at, domain.StatusDeadLettered)
	b := recordAt(t, st, j, at.Add(time.Second), domain.StatusDeadLettered)
	recordAt(t, st, j, at.Add(2*time.Second), domain.StatusFailed)
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	// a finished last after all.
	_, err = conn.Exec(ctx, `UPDATE job_executions SET finished_at = finished_at + interval '1 minute' WHERE id = $1`, a.ID)
	require.NoError(t, err)

	page, err := st.ListDeadLetters(ctx, store.ListDeadLettersParams{Limit: 1})
	require.NoError(t, err)
	require.Len(t, page, 1)
	require.Equal(t, a.ID, page[0].ID)
	rest, err := st.ListDeadLetters(ctx, store.ListDeadLettersParams{Limit: 10,
		After: &store.DeadLetterCursor{FinishedAt: *page[0].FinishedAt, ID: page[0].ID}})
	require.NoError(t, err)
	require.Len(t, rest, 1)
	require.Equal(t, b.ID, rest[0].ID)
	var n int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM dead_letters`).Scan(&n))
	require.Equal(t, 2, n)
}

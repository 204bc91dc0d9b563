package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vecron/vecron/shared/domain"
)

// StartOutcome says what StartExecution found.
type StartOutcome int

// Start outcomes.
const (
	// Started: the execution row was created and the caller owns the attempt.
	Started StartOutcome = iota
	// TakenOver: a running row with a stale heartbeat was taken over; the attempt was incremented.
	TakenOver
	// AlreadyDone: a terminal row exists; the delivery is a duplicate.
	AlreadyDone
	// Running: another worker is running it and its heartbeat is fresh.
	Running
	// Busy: the execution is exclusive and another execution of the job runs; nothing was
	// recorded. e holds the running one.
	Busy
)

// oneRunning is the index that allows one running exclusive execution per job.
const oneRunning = "job_executions_one_running"

// StartExecution records e (status running) unless its idempotency key is already recorded. When
// it is, a terminal row means a duplicate delivery, and a running row whose heartbeat is older
// than staleAfter (by the database's clock, so workers' clocks may disagree) is taken over by e's
// worker. An exclusive execution (concurrency policy forbid
// or replace) is not recorded while another exclusive execution of the job runs (Busy). On
// Started and TakenOver, e.ID and e.Attempt hold the recorded values; on AlreadyDone, Running
// and Busy, e holds the existing row.
func (s *Store) StartExecution(ctx context.Context, e *domain.Execution, staleAfter time.Duration, exclusive bool) (StartOutcome, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO job_executions (id, job_id, job_version, idempotency_key,
		trigger, scheduled_at, started_at, heartbeat_at, status, attempt, worker_id, exclusive)
		VALUES ($1, $2, $3, $4, $5, $6, $7, now(), $8, $9, $10, $11)
		ON CONFLICT (idempotency_key) DO NOTHING`,
		e.ID, e.JobID, e.JobVersion, e.IdempotencyKey, e.Trigger, e.ScheduledAt, e.StartedAt,
		domain.StatusRunning, e.Attempt, e.WorkerID, exclusive)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.ConstraintName == oneRunning {
		running, err := scanExecution(s.pool.QueryRow(ctx, `SELECT `+executionColumns+`
			FROM job_executions WHERE job_id = $1 AND status = 'running' AND exclusive`, e.JobID))
		if errors.Is(err, pgx.ErrNoRows) {
			// It finished in between: try again.
			return s.StartExecution(ctx, e, staleAfter, exclusive)
		}
		if err != nil {
			return 0, translate("find running execution", err)
		}
		*e = *running
		return Busy, nil
	}
	if err != nil {
		return 0, translate("record execution", err)
	}
	if tag.RowsAffected() == 1 {
		return Started, nil
	}
	// The key is taken: take it over if its worker stopped heart-beating, else report what is there.
	row := s.pool.QueryRow(ctx, `UPDATE job_executions SET attempt = attempt + 1, worker_id = $2,
		started_at = $3, heartbeat_at = now()
		WHERE idempotency_key = $1 AND status = 'running' AND heartbeat_at < now() - $4::interval
		RETURNING id, attempt`, e.IdempotencyKey, e.WorkerID, e.StartedAt, staleAfter)
	switch err := row.Scan(&e.ID, &e.Attempt); {
	case err == nil:
		return TakenOver, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return 0, translate("take over execution", err)
	}
	existing, err := s.ExecutionByKey(ctx, e.IdempotencyKey)
	if err != nil {
		return 0, err
	}
	*e = *existing
	if e.Status.Terminal() {
		return AlreadyDone, nil
	}
	return Running, nil
}

// RecordSkipped records e as a skipped execution (e.Error says why) unless its key is already
// recorded; it reports whether it recorded it.
func (s *Store) RecordSkipped(ctx context.Context, e *domain.Execution) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO job_executions (id, job_id, job_version, idempotency_key,
		trigger, scheduled_at, finished_at, status, attempt, worker_id, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 'skipped', $8, $9, $10)
		ON CONFLICT (idempotency_key) DO NOTHING`,
		e.ID, e.JobID, e.JobVersion, e.IdempotencyKey, e.Trigger, e.ScheduledAt, e.FinishedAt, e.Attempt, e.WorkerID, e.Error)
	if err != nil {
		return false, translate("record skipped execution", err)
	}
	return tag.RowsAffected() == 1, nil
}

// CancelRunning marks the running exclusive execution of a job as cancelled with reason, so a
// replacing execution may start; the worker running it notices at its next heartbeat and stops.
// It returns the idempotency key of the cancelled execution, or "" when none was running.
func (s *Store) CancelRunning(ctx context.Context, jobID, reason string, at time.Time) (string, error) {
	var key string
	err := s.pool.QueryRow(ctx, `UPDATE job_executions SET status = 'cancelled', finished_at = $3,
		error = $2, cancel_requested = true
		WHERE job_id = $1 AND status = 'running' AND exclusive RETURNING idempotency_key`, jobID, reason, at).Scan(&key)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return key, translate("cancel running execution", err)
}

// Heartbeat marks the attempt as alive (by the database's clock). It returns an error wrapping
// domain.ErrConflict when the attempt is no longer this worker's (cancelled or taken over).
func (s *Store) Heartbeat(ctx context.Context, id string, attempt int) error {
	tag, err := s.pool.Exec(ctx, `UPDATE job_executions SET heartbeat_at = now()
		WHERE id = $1 AND attempt = $2 AND status = 'running'`, id, attempt)
	if err != nil {
		return translate("heartbeat execution", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("heartbeat execution %s attempt %d: %w", id, attempt, domain.ErrConflict)
	}
	return nil
}

// FinishExecution records the terminal state of e's attempt. It returns an error wrapping
// domain.ErrConflict when the attempt is no longer running (another worker took it over).
func (s *Store) FinishExecution(ctx context.Context, e *domain.Execution) error {
	var httpStatus *int
	if e.HTTPStatus != 0 {
		httpStatus = &e.HTTPStatus
	}
	tag, err := s.pool.Exec(ctx, `UPDATE job_executions SET status = $3, finished_at = $4,
		http_status = $5, duration_ms = $6, response_excerpt = $7, error = $8
		WHERE id = $1 AND attempt = $2 AND status = 'running'`,
		e.ID, e.Attempt, e.Status, e.FinishedAt, httpStatus, e.DurationMS, e.ResponseExcerpt, e.Error)
	if err != nil {
		return translate("finish execution", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("finish execution %s attempt %d: %w", e.ID, e.Attempt, domain.ErrConflict)
	}
	return nil
}

const executionColumns = `id, job_id, job_version, idempotency_key, trigger, scheduled_at,
	started_at, finished_at, status, attempt, coalesce(http_status, 0), coalesce(duration_ms, 0),
	coalesce(response_excerpt, ''), coalesce(error, ''), coalesce(worker_id, '')`

func scanExecution(row pgx.Row) (*domain.Execution, error) {
	var e domain.Execution
	if err := row.Scan(&e.ID, &e.JobID, &e.JobVersion, &e.IdempotencyKey, &e.Trigger, &e.ScheduledAt,
		&e.StartedAt, &e.FinishedAt, &e.Status, &e.Attempt, &e.HTTPStatus, &e.DurationMS,
		&e.ResponseExcerpt, &e.Error, &e.WorkerID); err != nil {
		return nil, err
	}
	e.ScheduledAt = e.ScheduledAt.UTC()
	e.StartedAt = utcPtr(e.StartedAt)
	e.FinishedAt = utcPtr(e.FinishedAt)
	return &e, nil
}

// ExecutionByKey returns the execution recorded under key, or an error wrapping domain.ErrNotFound.
func (s *Store) ExecutionByKey(ctx context.Context, key string) (*domain.Execution, error) {
	e, err := scanExecution(s.pool.QueryRow(ctx, `SELECT `+executionColumns+`
		FROM job_executions WHERE idempotency_key = $1`, key))
	return e, translate("get execution", err)
}

// ExecutionCursor is the position after the last execution of a page.
type ExecutionCursor struct {
	ScheduledAt time.Time
	ID          string
}

// ListExecutions returns a job's executions, newest scheduled first, after cursor (nil for the
// first page).
func (s *Store) ListExecutions(ctx context.Context, jobID string, after *ExecutionCursor, limit int) ([]*domain.Execution, error) {
	var (
		rows pgx.Rows
		err  error
	)
	if after == nil {
		rows, err = s.pool.Query(ctx, `SELECT `+executionColumns+` FROM job_executions
			WHERE job_id = $1 ORDER BY scheduled_at DESC, id DESC LIMIT $2`, jobID, limit)
	} else {
		rows, err = s.pool.Query(ctx, `SELECT `+executionColumns+` FROM job_executions
			WHERE job_id = $1 AND (scheduled_at, id) < ($2, $3::uuid)
			ORDER BY scheduled_at DESC, id DESC LIMIT $4`, jobID, after.ScheduledAt, after.ID, limit)
	}
	if err != nil {
		return nil, translate("list executions", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.Execution, error) { return scanExecution(r) })
	return list, translate("list executions", err)
}

// RecordedKeys returns which of keys have an execution recorded.
func (s *Store) RecordedKeys(ctx context.Context, keys []string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT idempotency_key FROM job_executions WHERE idempotency_key = ANY($1)`, keys)
	if err != nil {
		return nil, translate("find recorded executions", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return found, translate("find recorded executions", err)
}

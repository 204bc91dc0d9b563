package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	// Silent: a running row's worker stopped heart-beating; nothing was changed. e holds the row:
	// the caller decides between taking it over and giving up (see ResolveSilent).
	Silent
	// Resumed: a queued execution (a failed attempt waiting for its retry) runs its next attempt.
	Resumed
	// AlreadyDone: a terminal row exists; the delivery is a duplicate.
	AlreadyDone
	// Running: another worker is running it and its heartbeat is fresh.
	Running
	// NotYet: the execution waits for a retry not due yet; e.NextAttemptAt says when.
	NotYet
	// Skipped: the job was paused or deleted before this fire started; the fire was recorded
	// skipped and e holds that record (e.Error says which).
	Skipped
	// Busy: the execution is exclusive and another execution of the job runs; nothing was
	// recorded. e holds the running one.
	Busy
)

// oneRunning is the constraint that allows one running exclusive execution per job: the primary
// key of exclusive_runs, kept by triggers on job_executions.
const oneRunning = "job_executions_one_running"

// StartParams tunes StartExecution.
type StartParams struct {
	// StaleAfter is how long without a heartbeat before a running attempt is taken over.
	// Heartbeats are written and judged by the database's clock, the one clock every worker
	// shares: one worker writes them and another judges them, and a skew between the two must
	// never let a live attempt be taken over and sent to its target again.
	StaleAfter time.Duration
	// Exclusive marks an execution of a forbid or replace job.
	Exclusive bool
	// IgnoreBackoff starts a queued execution's next attempt even before it is due: the
	// transport (a broker's delivery policy) decides the timing.
	IgnoreBackoff bool
	// Now is the worker's clock, against which a retry's next_attempt_at (written from a
	// worker's clock) is compared; zero uses the database's clock.
	Now time.Time
}

// StartExecution records e (status running) unless its idempotency key is already recorded. When
// it is: a terminal row means a duplicate delivery; a queued row whose retry is due runs its next
// attempt; a running row whose heartbeat is stale is reported Silent for the caller
// to resolve, and a running row that is not is reported Running with e.NextAttemptAt set to when
// it would turn silent. An exclusive execution is not started while another exclusive execution of the job
// runs (Busy). On Started and Resumed, e.ID and e.Attempt hold the recorded values; otherwise e
// holds the existing row. e.TraceID, when set, is recorded with a new row (a resumed one keeps
// what its first record holds).
func (s *Store) StartExecution(ctx context.Context, e *domain.Execution, p StartParams) (StartOutcome, error) {
	var reason *string
	err := s.writeHistory(ctx, []time.Time{e.ScheduledAt}, func() error {
		return s.pool.QueryRow(ctx, `INSERT INTO job_executions (id, job_id, job_version, idempotency_key,
		trigger, scheduled_at, started_at, heartbeat_at, finished_at, status, attempt, worker_id, exclusive, error,
		`+deliveryColumns+`, trace_id)
		SELECT u.id, u.job_id, `+gatedVersion+`, u.key, u.trigger, u.scheduled,`+gatedColumns+`, u.attempt, u.worker, $10, `+gatedError+`,
			$11::text, $12::timestamptz, $13::timestamptz, $14::bigint, $15::text, $16::int, nullif($17::text, '')
		FROM (VALUES ($1::uuid, $2::uuid, $3::bigint, $4::text, $5::text, $6::timestamptz, $7::timestamptz, $8::int, $9::text))
			AS u(id, job_id, version, key, trigger, scheduled, started, attempt, worker)
		LEFT JOIN jobs j ON j.id = u.job_id
		ON CONFLICT (idempotency_key, scheduled_at) DO NOTHING RETURNING error, job_version`,
			append([]any{e.ID, e.JobID, e.JobVersion, e.IdempotencyKey, e.Trigger, e.ScheduledAt, e.StartedAt,
				e.Attempt, e.WorkerID, p.Exclusive}, append(deliveryArgs(e.Delivery), e.TraceID)...)...).Scan(&reason, &e.JobVersion)
	})
	switch {
	case isOneRunning(err):
		return s.busy(ctx, e, p)
	case err == nil && reason != nil:
		e.Status, e.Error, e.FinishedAt, e.StartedAt = domain.StatusSkipped, *reason, e.StartedAt, nil
		return Skipped, nil
	case err == nil:
		return Started, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return 0, translate("record execution", err)
	}

	// The key is taken. A queued execution whose retry is due runs its next attempt here.
	// Each attempt runs the job as it is when the attempt starts (see gatedVersion).
	row := s.pool.QueryRow(ctx, `UPDATE job_executions SET status = 'running', attempt = attempt + 1,
		worker_id = $2, started_at = $3, heartbeat_at = now(), next_attempt_at = NULL, exclusive = $4,
		job_version = coalesce((SELECT version FROM jobs WHERE id = job_executions.job_id), job_version),
		-- The delivery that resumes it is the one its timeline shows; what it does not know
		-- (a push delivery) keeps what the first one recorded.
		claimed_by = coalesce($8, claimed_by), claimed_at = coalesce($9, claimed_at),
		published_at = coalesce($10, published_at), stream_seq = coalesce($11, stream_seq),
		consumer = coalesce($12, consumer), delivery_count = coalesce($13, delivery_count)
		WHERE idempotency_key = $1 AND scheduled_at = $7 AND status = 'queued' AND ($5 OR next_attempt_at <= `+nowParam(6)+`)
		RETURNING id, attempt, job_version`, append([]any{e.IdempotencyKey, e.WorkerID, e.StartedAt, p.Exclusive, p.IgnoreBackoff,
		nullTime(p.Now), e.ScheduledAt}, deliveryArgs(e.Delivery)...)...)
	switch err := row.Scan(&e.ID, &e.Attempt, &e.JobVersion); {
	case err == nil:
		return Resumed, nil
	case isOneRunning(err):
		return s.busy(ctx, e, p)
	case !errors.Is(err, pgx.ErrNoRows):
		return 0, translate("resume execution", err)
	}

	var (
		silent  bool
		staleIn time.Duration
	)
	existing, err := scanExecution(s.pool.QueryRow(ctx, `SELECT `+executionColumns+`,
		status = 'running' AND heartbeat_at < now() - $2::interval,
		greatest(coalesce(heartbeat_at, now()) + $2::interval - now(), '0')
		FROM job_executions WHERE idempotency_key = $1 AND scheduled_at = $3`, e.IdempotencyKey, p.StaleAfter, e.ScheduledAt), &silent, &staleIn)
	if err != nil {
		return 0, translate("get execution", err)
	}
	*e = *existing
	switch {
	case e.Status.Terminal():
		return AlreadyDone, nil
	case e.Status == domain.StatusQueued:
		return NotYet, nil
	case silent:
		return Silent, nil
	}
	// When the running attempt would turn silent, on the caller's clock: the time to come back
	// to take it over if its worker is dead.
	at := cmp.Or(p.Now, time.Now()).Add(staleIn)
	e.NextAttemptAt = &at
	return Running, nil
}

// ResolveSilent settles the silent attempt lost — recorded failed in the execution's history —
// and gives the execution the state e holds: running its next attempt on e's worker (a takeover),
// or terminal (given up). It reports false, changing nothing, when the attempt is no longer
// silent by p.StaleAfter, or no longer running: another worker resolved it first, or
// its own came back.
//
// chain holds the runs a terminal e starts (docs/chaining.md), nil for nearly all: they are
// queued in the same transaction as the end, exactly as FinishExecutions queues them, and only
// when this call is the one that resolved the execution.
func (s *Store) ResolveSilent(ctx context.Context, e *domain.Execution, lost *domain.Attempt, p StartParams, chain []ChainRun) (bool, error) {
	if len(chain) == 0 {
		ok, err := resolveSilent(ctx, s.pool, e, lost, p)
		return ok, translate("resolve silent execution", err)
	}
	at := make([]time.Time, len(chain))
	for i, c := range chain {
		at[i] = c.Execution.ScheduledAt
	}
	var resolved bool
	err := s.writeHistory(ctx, at, func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var err error
			if resolved, err = resolveSilent(ctx, tx, e, lost, p); err != nil || !resolved {
				return err
			}
			return queueChained(ctx, tx, chain)
		})
	})
	if err != nil {
		return false, translate("resolve silent execution", err)
	}
	return resolved, nil
}

// resolveSilent is ResolveSilent's one statement, through q (the pool, or a transaction).
func resolveSilent(ctx context.Context, q interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}, e *domain.Execution, lost *domain.Attempt, p StartParams) (bool, error) {
	err := q.QueryRow(ctx, `WITH old AS (
			SELECT id, scheduled_at FROM job_executions
			WHERE id = $1 AND scheduled_at = $15 AND attempt = $2 AND status = 'running' AND heartbeat_at < now() - $3::interval
			FOR UPDATE),
		lost AS (
			INSERT INTO job_execution_attempts (execution_id, attempt, scheduled_at, started_at, finished_at, status, error, worker_id)
			SELECT id, $2, scheduled_at, $4, $5, $6, $7, $8 FROM old ON CONFLICT DO NOTHING)
		UPDATE job_executions j SET attempt = $9, status = $10, worker_id = $11, started_at = $12,
			finished_at = $13, error = nullif($14, ''), heartbeat_at = now(),
			-- The delivery that takes it over is the one its timeline shows from now on.
			claimed_by = coalesce($16, j.claimed_by), claimed_at = coalesce($17, j.claimed_at),
			published_at = coalesce($18, j.published_at), stream_seq = coalesce($19, j.stream_seq),
			consumer = coalesce($20, j.consumer), delivery_count = coalesce($21, j.delivery_count),
			dead_letter_state = CASE WHEN $10 = 'dead_lettered' THEN 'pending' END,
			job_version = CASE WHEN $10 = 'running'
				THEN coalesce((SELECT version FROM jobs WHERE id = j.job_id), j.job_version) ELSE j.job_version END
		FROM old WHERE j.id = old.id AND j.scheduled_at = old.scheduled_at AND j.scheduled_at = $15
		RETURNING j.job_version`,
		append([]any{e.ID, lost.Attempt, p.StaleAfter,
			lost.StartedAt, lost.FinishedAt, lost.Status, lost.Error, lost.WorkerID,
			e.Attempt, e.Status, e.WorkerID, e.StartedAt, e.FinishedAt, e.Error, e.ScheduledAt}, deliveryArgs(e.Delivery)...)...).Scan(&e.JobVersion)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func isOneRunning(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.ConstraintName == oneRunning
}

// busy reports the running exclusive execution of e's job in e.
func (s *Store) busy(ctx context.Context, e *domain.Execution, p StartParams) (StartOutcome, error) {
	running, err := s.exclusiveRun(ctx, e.JobID)
	if errors.Is(err, pgx.ErrNoRows) {
		// It finished in between: try again.
		return s.StartExecution(ctx, e, p)
	}
	if err != nil {
		return 0, translate("find running execution", err)
	}
	*e = *running
	return Busy, nil
}

// exclusiveRun returns the running exclusive execution of a job, or pgx.ErrNoRows. It reads
// exclusive_runs first and the execution by its whole key after, so that the planner opens one
// day's partition, not every day's.
func (s *Store) exclusiveRun(ctx context.Context, jobID string) (*domain.Execution, error) {
	var (
		id string
		at time.Time
	)
	if err := s.pool.QueryRow(ctx, `SELECT execution_id, scheduled_at FROM exclusive_runs WHERE job_id = $1`, jobID).Scan(&id, &at); err != nil {
		return nil, err
	}
	e, err := scanExecution(s.pool.QueryRow(ctx, `SELECT `+executionColumns+`
		FROM job_executions WHERE id = $1 AND scheduled_at = $2 AND status = 'running'`, id, at))
	if errors.Is(err, pgx.ErrNoRows) {
		// Finished in between — or the row is gone without the triggers seeing it (a partition
		// dropped or truncated by hand): free the job rather than keep it busy forever.
		_, derr := s.pool.Exec(ctx, `DELETE FROM exclusive_runs WHERE job_id = $1 AND execution_id = $2
			AND NOT EXISTS (SELECT 1 FROM job_executions WHERE id = $2 AND scheduled_at = $3 AND status = 'running')`, jobID, id, at)
		if derr != nil {
			return nil, derr
		}
	}
	return e, err
}

// RecordSkipped records e as a skipped execution (e.Error says why) unless its key is already
// recorded — but for a run queued by hand that never started (attempt 0), which it records
// skipped in place, e.ID becoming that record's. It reports whether it recorded the skip.
func (s *Store) RecordSkipped(ctx context.Context, e *domain.Execution) (bool, error) {
	err := s.writeHistory(ctx, []time.Time{e.ScheduledAt}, func() error {
		return s.pool.QueryRow(ctx, `INSERT INTO job_executions (id, job_id, job_version, idempotency_key,
		trigger, scheduled_at, finished_at, status, attempt, worker_id, error, `+deliveryColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 'skipped', $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (idempotency_key, scheduled_at) DO UPDATE SET status = 'skipped', finished_at = excluded.finished_at,
			worker_id = excluded.worker_id, error = excluded.error, next_attempt_at = NULL
			WHERE job_executions.status = 'queued' AND job_executions.attempt = 0
		RETURNING id`,
			append([]any{e.ID, e.JobID, e.JobVersion, e.IdempotencyKey, e.Trigger, e.ScheduledAt, e.FinishedAt, e.Attempt, e.WorkerID, e.Error},
				deliveryArgs(e.Delivery)...)...).Scan(&e.ID)
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, translate("record skipped execution", err)
	}
	return true, nil
}

// CancelRunning marks the running exclusive execution of a job as cancelled with reason, so a
// replacing execution may start; the worker running it notices at its next heartbeat and stops.
// It returns the idempotency key of the cancelled execution, or "" when none was running.
func (s *Store) CancelRunning(ctx context.Context, jobID, reason string, at time.Time) (string, error) {
	running, err := s.exclusiveRun(ctx, jobID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", translate("cancel running execution", err)
	}
	var key string
	err = s.pool.QueryRow(ctx, `UPDATE job_executions SET status = 'cancelled', finished_at = $4,
		error = $3, cancel_requested = true
		WHERE id = $1 AND scheduled_at = $2 AND status = 'running' RETURNING idempotency_key`,
		running.ID, running.ScheduledAt, reason, at).Scan(&key)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil // it finished in between
	}
	return key, translate("cancel running execution", err)
}

// GateStaged checks, just before their instants, executions recorded ahead of them (staged
// fires, see docs/staged-fires.md) against their jobs, as InsertExecutions checks a fire it
// records at its instant. It returns, by position, why each execution must not run — its job was
// paused or deleted since it was recorded — the job's version now, and whether the attempt
// ended meanwhile (cancelled, or taken over). It only reads; SkipStaged records a skip,
// SetExecutionVersion a new version.
func (s *Store) GateStaged(ctx context.Context, list []*domain.Execution) ([]Gate, error) {
	n := len(list)
	ids, jobIDs, versions, scheduled, attempts := make([]string, n), make([]string, n), make([]int64, n), make([]time.Time, n), make([]int32, n)
	for i, e := range list {
		ids[i], jobIDs[i], versions[i], scheduled[i], attempts[i] = e.ID, e.JobID, e.JobVersion, e.ScheduledAt, int32(e.Attempt)
	}
	rows, err := s.pool.Query(ctx, `SELECT u.id::text, coalesce(`+gatedError+`, ''), coalesce(j.version, u.version),
			x.status <> 'running' OR x.attempt <> u.attempt
		FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::timestamptz[], $5::int[]) AS u(id, job_id, version, scheduled, attempt)
		LEFT JOIN jobs j ON j.id = u.job_id
		JOIN job_executions x ON x.id = u.id AND x.scheduled_at = u.scheduled
		WHERE j.id IS NULL OR NOT j.enabled OR j.version <> u.version OR x.status <> 'running' OR x.attempt <> u.attempt`,
		ids, jobIDs, versions, scheduled, attempts)
	if err != nil {
		return nil, translate("check staged executions", err)
	}
	changed := map[string]Gate{}
	var (
		id string
		g  Gate
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &g.Reason, &g.Version, &g.Ended}, func() error {
		changed[id] = g
		return nil
	}); err != nil {
		return nil, translate("check staged executions", err)
	}
	out := make([]Gate, n)
	for i, e := range list {
		g, ok := changed[e.ID]
		if !ok {
			g.Version = e.JobVersion
		}
		out[i] = g
	}
	return out, nil
}

// Gate is what GateStaged found of a staged execution's job.
type Gate struct {
	// Reason is why the fire must not run (its job was paused or deleted); empty when it may.
	Reason string
	// Version is the job's version now: another than the execution's when the job was edited.
	Version int64
	// Ended: the attempt is no longer running (the execution was cancelled, or taken over by
	// another worker): it is not this worker's to send.
	Ended bool
}

// SetExecutionVersion records that the attempt of e runs version of its job.
func (s *Store) SetExecutionVersion(ctx context.Context, e *domain.Execution, version int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE job_executions SET job_version = $3
		WHERE id = $1 AND scheduled_at = $2 AND job_version <> $3`, e.ID, e.ScheduledAt, version)
	return translate("record the version of an execution", err)
}

// SkipStaged records e, recorded running ahead of its instant and not yet started, as skipped
// for reason. It reports false when e's attempt is no longer running (cancelled, or taken over by
// another worker): then nothing is recorded and e is not this worker's to run.
func (s *Store) SkipStaged(ctx context.Context, e *domain.Execution, reason string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE job_executions SET status = 'skipped', error = $4,
		finished_at = started_at, started_at = NULL, heartbeat_at = NULL
		WHERE id = $1 AND scheduled_at = $2 AND attempt = $3 AND status = 'running'`,
		e.ID, e.ScheduledAt, e.Attempt, reason)
	if err != nil {
		return false, translate("skip staged execution", err)
	}
	return tag.RowsAffected() == 1, nil
}

// Heartbeat marks the attempt of the execution id scheduled at scheduledAt as alive (by the
// database's clock: see StartParams.StaleAfter). It returns an error wrapping domain.ErrConflict
// when the attempt is no longer this worker's (cancelled or taken over).
func (s *Store) Heartbeat(ctx context.Context, id string, scheduledAt time.Time, attempt int) error {
	tag, err := s.pool.Exec(ctx, `UPDATE job_executions SET heartbeat_at = now()
		WHERE id = $1 AND scheduled_at = $3 AND attempt = $2 AND status = 'running'`, id, attempt, scheduledAt)
	if err != nil {
		return translate("heartbeat execution", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("heartbeat execution %s attempt %d: %w", id, attempt, domain.ErrConflict)
	}
	return nil
}

// FinishExecution records how e's attempt a ended: e holds the execution's new state — terminal,
// or queued with NextAttemptAt for a retry — and a the attempt itself, kept in its history. It
// returns an error wrapping domain.ErrConflict when the attempt is no longer this worker's
// (cancelled or taken over).
func (s *Store) FinishExecution(ctx context.Context, e *domain.Execution, a *domain.Attempt) error {
	var httpStatus *int
	if e.HTTPStatus != 0 {
		httpStatus = &e.HTTPStatus
	}
	var attemptHTTP *int
	if a.HTTPStatus != 0 {
		attemptHTTP = &a.HTTPStatus
	}
	var updated int
	err := s.pool.QueryRow(ctx, `WITH upd AS (
			UPDATE job_executions SET status = $3, finished_at = $4, http_status = $5, duration_ms = $6,
				response_excerpt = $7, error = $8, next_attempt_at = $9,
				dead_letter_state = CASE WHEN $3 = 'dead_lettered' THEN 'pending' END
			WHERE id = $1 AND scheduled_at = $17 AND attempt = $2 AND status = 'running' RETURNING id),
		ins AS (
			INSERT INTO job_execution_attempts (execution_id, attempt, scheduled_at, started_at, finished_at, status,
				http_status, duration_ms, error, worker_id)
			SELECT id, $2, $17, $10, $11, $12, $13, $14, $15, $16 FROM upd WHERE NOT `+attemptInRow+`)
		SELECT count(*) FROM upd`,
		e.ID, e.Attempt, e.Status, e.FinishedAt, httpStatus, e.DurationMS, e.ResponseExcerpt, e.Error, e.NextAttemptAt,
		a.StartedAt, a.FinishedAt, a.Status, attemptHTTP, a.DurationMS, a.Error, a.WorkerID, e.ScheduledAt).Scan(&updated)
	if err != nil {
		return translate("finish execution", err)
	}
	if updated == 0 {
		return fmt.Errorf("finish execution %s attempt %d: %w", e.ID, e.Attempt, domain.ErrConflict)
	}
	return nil
}

// attemptInRow is true of an attempt that the execution row describes in full, so that it gets
// no row of its own: a first attempt that succeeded — nearly every fire's only one. It saves
// each such fire an insert and its index entry; Attempts reads it from the execution.
const attemptInRow = `($2::int = 1 AND $12::text = 'succeeded')`

// firstAttemptFromRow reads, as an attempt, the execution e (aliased e) that succeeded at its
// first attempt; pair it with NOT EXISTS on the attempts.
const firstAttemptFromRow = `e.attempt = 1 AND e.status = 'succeeded' AND e.finished_at IS NOT NULL`

// Attempts returns the attempts of the execution executionID scheduled at scheduledAt, oldest
// first: those recorded, or the first one read from the execution when it succeeded at once.
func (s *Store) Attempts(ctx context.Context, executionID string, scheduledAt time.Time) ([]domain.Attempt, error) {
	rows, err := s.pool.Query(ctx, `SELECT attempt, started_at, finished_at, status,
			coalesce(http_status, 0), duration_ms, coalesce(error, ''), coalesce(worker_id, '')
		FROM job_execution_attempts WHERE execution_id = $1 AND scheduled_at = $2
		UNION ALL
		SELECT e.attempt, e.started_at, e.finished_at, e.status,
			coalesce(e.http_status, 0), coalesce(e.duration_ms, 0), coalesce(e.error, ''), coalesce(e.worker_id, '')
		FROM job_executions e WHERE e.id = $1 AND e.scheduled_at = $2 AND `+firstAttemptFromRow+`
			AND NOT EXISTS (SELECT 1 FROM job_execution_attempts a WHERE a.execution_id = $1 AND a.scheduled_at = $2)
		ORDER BY 1`, executionID, scheduledAt)
	if err != nil {
		return nil, translate("list attempts", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.Attempt, error) {
		var a domain.Attempt
		err := r.Scan(&a.Attempt, &a.StartedAt, &a.FinishedAt, &a.Status, &a.HTTPStatus, &a.DurationMS, &a.Error, &a.WorkerID)
		a.StartedAt, a.FinishedAt = utcPtr(a.StartedAt), a.FinishedAt.UTC()
		return a, err
	})
	return list, translate("list attempts", err)
}

const executionColumns = `id, job_id, job_version, idempotency_key, trigger, scheduled_at,
	started_at, finished_at, status, attempt, coalesce(http_status, 0), coalesce(duration_ms, 0),
	coalesce(response_excerpt, ''), coalesce(error, ''), coalesce(worker_id, ''), next_attempt_at,
	dead_letter_state, coalesce(dead_letter_replay_key, ''), dead_letter_resolved_at, forced, coalesce(trace_id, '')`

// scanExecution scans the executionColumns of row, then any extra columns into extra.
func scanExecution(row pgx.Row, extra ...any) (*domain.Execution, error) {
	var (
		e         domain.Execution
		dlState   *string
		replayKey string
		resolved  *time.Time
	)
	dest := append([]any{&e.ID, &e.JobID, &e.JobVersion, &e.IdempotencyKey, &e.Trigger, &e.ScheduledAt,
		&e.StartedAt, &e.FinishedAt, &e.Status, &e.Attempt, &e.HTTPStatus, &e.DurationMS,
		&e.ResponseExcerpt, &e.Error, &e.WorkerID, &e.NextAttemptAt, &dlState, &replayKey, &resolved, &e.Forced, &e.TraceID}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if dlState != nil {
		e.DeadLetter = &domain.DeadLetter{State: *dlState, ReplayKey: replayKey, ResolvedAt: utcPtr(resolved)}
	}
	e.NextAttemptAt = utcPtr(e.NextAttemptAt)
	e.ScheduledAt = e.ScheduledAt.UTC()
	e.StartedAt = utcPtr(e.StartedAt)
	e.FinishedAt = utcPtr(e.FinishedAt)
	return &e, nil
}

// ExecutionByKey returns the execution recorded under key, or an error wrapping domain.ErrNotFound.
func (s *Store) ExecutionByKey(ctx context.Context, key string) (*domain.Execution, error) {
	// A key that names its instant names its partition: the record is within that millisecond.
	var from, to *time.Time
	if at, ok := domain.KeyInstant(key); ok {
		end := at.Add(time.Millisecond)
		from, to = &at, &end
	}
	e, err := scanExecution(s.pool.QueryRow(ctx, `SELECT `+executionColumns+`
		FROM job_executions WHERE idempotency_key = $1
			AND ($2::timestamptz IS NULL OR scheduled_at >= $2) AND ($3::timestamptz IS NULL OR scheduled_at < $3)`, key, from, to))
	return e, translate("get execution", err)
}

// ListExecutions returns a job's executions that pass f, newest scheduled first, after cursor
// (nil for the first page).
func (s *Store) ListExecutions(ctx context.Context, jobID string, f domain.ExecutionFilter, after *domain.ExecutionCursor, limit int) ([]*domain.Execution, error) {
	// Built for the filters given, so that the job's index serves the instant's bounds and
	// the planner opens only the days they name.
	w := executionWhere(f, after, jobID)
	w.args = append(w.args, limit)
	q := `SELECT ` + executionColumns + ` FROM job_executions WHERE ` + w.cond +
		fmt.Sprintf(" ORDER BY scheduled_at DESC, id DESC LIMIT $%d", len(w.args))
	return s.queryExecutions(ctx, q, w.args)
}

// where is a WHERE clause and its arguments.
type where struct {
	cond string
	args []any
}

// executionWhere builds the conditions of a history listing: the job (when jobID is set), f and
// the cursor, each only when given.
func executionWhere(f domain.ExecutionFilter, after *domain.ExecutionCursor, jobID string) where {
	var w where
	var conds []string
	and := func(cond string, v ...any) {
		w.args = append(w.args, v...)
		n := make([]any, len(v))
		for i := range v {
			n[i] = len(w.args) - len(v) + i + 1
		}
		conds = append(conds, fmt.Sprintf(cond, n...))
	}
	if jobID != "" {
		and("job_id = $%d", jobID)
	}
	if len(f.Statuses) > 0 {
		and("status = ANY($%d::text[])", strs(f.Statuses))
	}
	if len(f.Triggers) > 0 {
		and("trigger = ANY($%d::text[])", strs(f.Triggers))
	}
	if f.From != nil {
		and("scheduled_at >= $%d", *f.From)
	}
	if f.To != nil {
		and("scheduled_at < $%d", *f.To)
	}
	if after != nil {
		and("(scheduled_at, id) < ($%d, $%d::uuid)", after.ScheduledAt, after.ID)
	}
	w.cond = "true"
	if len(conds) > 0 {
		w.cond = strings.Join(conds, " AND ")
	}
	return w
}

func (s *Store) queryExecutions(ctx context.Context, q string, args []any) ([]*domain.Execution, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, translate("list executions", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.Execution, error) { return scanExecution(r) })
	return list, translate("list executions", err)
}

// RecordedKeys returns which of keys have an execution recorded.
func (s *Store) RecordedKeys(ctx context.Context, keys []string) ([]string, error) {
	// Keys naming their instants bound the days to look in; one that names none looks in all.
	var from, to *time.Time
	for _, k := range keys {
		at, ok := domain.KeyInstant(k)
		if !ok {
			from, to = nil, nil
			break
		}
		end := at.Add(time.Millisecond)
		if from == nil || at.Before(*from) {
			from = &at
		}
		if to == nil || end.After(*to) {
			to = &end
		}
	}
	rows, err := s.pool.Query(ctx, `SELECT idempotency_key FROM job_executions WHERE idempotency_key = ANY($1)
		AND ($2::timestamptz IS NULL OR scheduled_at >= $2) AND ($3::timestamptz IS NULL OR scheduled_at < $3)`, keys, from, to)
	if err != nil {
		return nil, translate("find recorded executions", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return found, translate("find recorded executions", err)
}

// ExecutionStats counts the executions in a terminal state and returns when the last one finished.
func (s *Store) ExecutionStats(ctx context.Context) (finished int, last *time.Time, err error) {
	err = s.pool.QueryRow(ctx, `SELECT count(*), max(finished_at) FROM job_executions
		WHERE status NOT IN ('running', 'queued')`).Scan(&finished, &last)
	return finished, utcPtr(last), translate("count executions", err)
}

// gatedColumns, gatedError and gatedVersion record a fire by the state of its job (j, LEFT
// JOINed) when it starts: running, or skipped when the job was paused or deleted after the fire
// was claimed — a pause means that nothing not yet started runs; and with the version of the job
// it runs, which is the job's version now when an edit came after the claim (the executor then
// reads the edited job: ARCHITECTURE §11). They read the job in the same statement that records
// the fire, so the rule costs the fire no round trip.
const (
	gatedVersion = `coalesce(j.version, u.version)`
	gatedColumns = `
		CASE WHEN j.enabled THEN u.started END,
		CASE WHEN j.enabled THEN now() END,
		CASE WHEN j.enabled THEN NULL ELSE u.started END,
		CASE WHEN j.enabled THEN 'running' ELSE 'skipped' END`
	gatedError = `CASE WHEN j.id IS NULL THEN 'skipped: the job was deleted before this fire started'
		WHEN NOT j.enabled THEN 'skipped: the job was paused before this fire started' END`
)

// Inserted says what InsertExecutions did with one execution.
type Inserted int

// What InsertExecutions did.
const (
	// NotInserted: the key is taken; the execution goes through StartExecution, which knows
	// what to do with the existing row.
	NotInserted Inserted = iota
	// InsertedRunning: recorded running; the caller owns the attempt.
	InsertedRunning
	// InsertedSkipped: the job was paused or deleted; recorded skipped, and the execution now
	// holds that record.
	InsertedSkipped
)

// InsertExecutions records many new executions (status running, not exclusive) in one statement
// — the common case of a first delivery, grouped across concurrent deliveries so the database
// commits once for all. It reports, per execution, what it did; a fire of a job paused or
// deleted since the fire was claimed is recorded skipped instead, and its execution updated to
// that record. Each execution's TraceID, when set, is recorded with it.
func (s *Store) InsertExecutions(ctx context.Context, list []*domain.Execution) ([]Inserted, error) {
	n := len(list)
	ids, jobIDs, keys, triggers, workers := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	versions, attempts := make([]int64, n), make([]int32, n)
	scheduled, started := make([]time.Time, n), make([]*time.Time, n)
	facts := newDeliveryColumns(n)
	traces := make([]string, n)
	for i, e := range list {
		ids[i], jobIDs[i], keys[i], triggers[i], workers[i] = e.ID, e.JobID, e.IdempotencyKey, string(e.Trigger), e.WorkerID
		traces[i] = e.TraceID
		versions[i], attempts[i], scheduled[i], started[i] = e.JobVersion, int32(e.Attempt), e.ScheduledAt, e.StartedAt
		facts.add(e.Delivery)
	}
	var inserted []insertedRow
	err := s.writeHistory(ctx, scheduled, func() error {
		rows, err := s.pool.Query(ctx, `INSERT INTO job_executions (id, job_id, job_version, idempotency_key,
		trigger, scheduled_at, started_at, heartbeat_at, finished_at, status, attempt, worker_id, exclusive, error,
		`+deliveryColumns+`, trace_id)
		SELECT u.id, u.job_id, `+gatedVersion+`, u.key, u.trigger, u.scheduled,`+gatedColumns+`, u.attempt, u.worker, false, `+gatedError+`,
			`+deliveryFromUnnest+`, nullif(u.trace_id, '')
		FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::int[], $9::text[],
				$10::text[], $11::timestamptz[], $12::timestamptz[], $13::bigint[], $14::text[], $15::int[], $16::text[])
			WITH ORDINALITY AS u(id, job_id, version, key, trigger, scheduled, started, attempt, worker,
				claimed_by, claimed_at, published_at, stream_seq, consumer, delivery_count, trace_id, n)
		LEFT JOIN jobs j ON j.id = u.job_id
		-- In key order, as every writer of job_outcomes counts (migration 00013); then in the
		-- order given, so that of two deliveries of one fire in a batch the first wins.
		ORDER BY u.job_id, u.scheduled, u.n
		ON CONFLICT (idempotency_key, scheduled_at) DO NOTHING RETURNING id, error, job_version`,
			ids, jobIDs, versions, keys, triggers, scheduled, started, attempts, workers,
			facts.claimedBy, facts.claimedAt, facts.publishedAt, facts.streamSeq, facts.consumer, facts.count, traces)
		if err != nil {
			return err
		}
		inserted, err = pgx.CollectRows(rows, pgx.RowToStructByPos[insertedRow])
		return err
	})
	if err != nil {
		return nil, translate("record executions", err)
	}
	done := make(map[string]insertedRow, len(inserted))
	for _, r := range inserted {
		done[r.ID] = r
	}
	out := make([]Inserted, n)
	for i, e := range list {
		r, ok := done[e.ID]
		if ok {
			e.JobVersion = r.Version
		}
		switch {
		case !ok:
			out[i] = NotInserted
		case r.Error != nil:
			out[i] = InsertedSkipped
			e.Status, e.Error, e.FinishedAt, e.StartedAt = domain.StatusSkipped, *r.Error, e.StartedAt, nil
		default:
			out[i] = InsertedRunning
		}
	}
	return out, nil
}

type insertedRow struct {
	ID      string
	Error   *string
	Version int64
}

// Finish is one attempt's outcome for FinishExecutions.
type Finish struct {
	Execution *domain.Execution
	Attempt   *domain.Attempt
	// Chain holds the runs the execution's end starts (docs/chaining.md); nil for nearly all.
	Chain []ChainRun
}

// FinishExecutions is FinishExecution for many attempts in one statement. It reports, per
// attempt, whether it was recorded; false means the attempt is no longer its worker's. The
// chained runs of an attempt recorded are queued in the same transaction (finishChained); a
// batch without any is the one statement it always was.
func (s *Store) FinishExecutions(ctx context.Context, list []Finish) ([]bool, error) {
	if len(list) == 0 {
		return nil, nil
	}
	if slices.ContainsFunc(list, func(f Finish) bool { return len(f.Chain) > 0 }) {
		return s.finishChained(ctx, list)
	}
	return finishExecutions(ctx, s.pool, list)
}

// finishExecutions records list's attempts through q (the pool, or a transaction).
func finishExecutions(ctx context.Context, q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}, list []Finish) ([]bool, error) {
	n := len(list)
	ids, statuses, excerpts, errs, aStatuses, aErrs, workers := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	attempts, httpStatus, aHTTP := make([]int32, n), make([]*int32, n), make([]*int32, n)
	finished, next, aStarted := make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
	aFinished := make([]time.Time, n)
	durations, aDurations := make([]float64, n), make([]float64, n)
	scheduled := make([]time.Time, n)
	for i, f := range list {
		e, a := f.Execution, f.Attempt
		ids[i], attempts[i], statuses[i], finished[i], scheduled[i] = e.ID, int32(e.Attempt), string(e.Status), e.FinishedAt, e.ScheduledAt
		if e.HTTPStatus != 0 {
			v := int32(e.HTTPStatus)
			httpStatus[i] = &v
		}
		durations[i], excerpts[i], errs[i], next[i] = e.DurationMS, e.ResponseExcerpt, e.Error, e.NextAttemptAt
		aStarted[i], aFinished[i], aStatuses[i], aDurations[i], aErrs[i], workers[i] = a.StartedAt, a.FinishedAt, string(a.Status), a.DurationMS, a.Error, a.WorkerID
		if a.HTTPStatus != 0 {
			v := int32(a.HTTPStatus)
			aHTTP[i] = &v
		}
	}
	rows, err := q.Query(ctx, `WITH d AS (
			SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::timestamptz[], $5::int[], $6::float8[],
				$7::text[], $8::text[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::text[],
				$13::int[], $14::float8[], $15::text[], $16::text[], $17::timestamptz[])
			AS d(id, attempt, status, finished, http, duration, excerpt, error, next, a_started, a_finished,
				a_status, a_http, a_duration, a_error, worker, scheduled)),
		upd AS (
			UPDATE job_executions j SET status = d.status, finished_at = d.finished, http_status = d.http,
				duration_ms = d.duration, response_excerpt = d.excerpt, error = d.error, next_attempt_at = d.next,
				dead_letter_state = CASE WHEN d.status = 'dead_lettered' THEN 'pending' END
			FROM d WHERE j.id = d.id AND j.scheduled_at = d.scheduled AND j.attempt = d.attempt AND j.status = 'running'
				-- The batch's bounds as plain parameters: the planner opens only their days. The
				-- ids as one too: it then looks each row up by its key, where the bounds alone
				-- had it read every execution of the batch's instants (a thousand jobs due on
				-- one second) once per batch.
				AND j.id = ANY($1) AND j.scheduled_at BETWEEN $18 AND $19
			RETURNING j.id, j.attempt),
		ins AS (
			INSERT INTO job_execution_attempts (execution_id, attempt, scheduled_at, started_at, finished_at, status,
				http_status, duration_ms, error, worker_id)
			SELECT d.id, d.attempt, d.scheduled, d.a_started, d.a_finished, d.a_status, d.a_http, d.a_duration, d.a_error, d.worker
			FROM d JOIN upd ON upd.id = d.id AND upd.attempt = d.attempt
			WHERE NOT (d.attempt = 1 AND d.a_status = 'succeeded'))
		SELECT id || ':' || attempt FROM upd`,
		ids, attempts, statuses, finished, httpStatus, durations, excerpts, errs, next, aStarted, aFinished, aStatuses,
		aHTTP, aDurations, aErrs, workers, scheduled, slices.MinFunc(scheduled, time.Time.Compare), slices.MaxFunc(scheduled, time.Time.Compare))
	if err != nil {
		return nil, translate("finish executions", err)
	}
	updated, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, translate("finish executions", err)
	}
	done := make(map[string]bool, len(updated))
	for _, id := range updated {
		done[id] = true
	}
	out := make([]bool, n)
	for i, f := range list {
		out[i] = done[fmt.Sprintf("%s:%d", f.Execution.ID, f.Execution.Attempt)]
	}
	return out, nil
}

// strs converts a slice of a string type for a text[] parameter.
func strs[T ~string](v []T) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = string(x)
	}
	return out
}

package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// ManualRun is a run of a job started by hand (run now).
type ManualRun struct {
	// Execution is recorded queued; an executor takes the record over when the fire arrives.
	Execution *domain.Execution
	// Fire is queued for publication in the same transaction.
	Fire domain.Fire
	// Namespace is the job's, for the audit log.
	Namespace string
	// Forbid refuses the run while an execution of the job runs (its concurrency policy is
	// forbid and the run is not forced).
	Forbid bool
	// Dedupe, when set, makes the run idempotent: a run queued under the same key since
	// DedupeSince is returned instead of a new one.
	Dedupe      bool
	DedupeSince time.Time
}

// QueueManual records m's execution as queued and queues its fire for publication, in one
// transaction with the audit row, and wakes the tick. It returns the execution and false; with
// m.Dedupe, the execution of an earlier run under the same key and true. A forbidden run while
// another runs is an error wrapping domain.ErrConflict (a *domain.ConflictError naming "force").
func (s *Store) QueueManual(ctx context.Context, m ManualRun, at time.Time) (*domain.Execution, bool, error) {
	e := m.Execution
	var (
		out      *domain.Execution
		replayed bool
	)
	change := Change{Action: "job.trigger", ObjectKind: "job", ObjectID: e.JobID, Namespace: m.Namespace}
	err := s.writeHistory(ctx, []time.Time{e.ScheduledAt}, func() error {
		return s.inTx(ctx, &change, func(tx pgx.Tx) error {
			// A delete of the job waits for this run to be queued, and then ends it; a run of a
			// job deleted first is refused.
			var one int
			if err := tx.QueryRow(ctx, `SELECT 1 FROM jobs WHERE id = $1 FOR SHARE`, e.JobID).Scan(&one); err != nil {
				return err // pgx.ErrNoRows: not found
			}
			if m.Dedupe {
				// Two requests with one key queue one run: the second waits for the first's
				// transaction and then finds its execution.
				if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, e.IdempotencyKey); err != nil {
					return err
				}
				prior, err := scanExecution(tx.QueryRow(ctx, `SELECT `+executionColumns+` FROM job_executions
					WHERE idempotency_key = $1 AND scheduled_at >= $2 ORDER BY scheduled_at DESC LIMIT 1`,
					e.IdempotencyKey, m.DedupeSince))
				switch {
				case err == nil:
					out, replayed = prior, true
					change.Action = "" // nothing changed
					return nil
				case !errors.Is(err, pgx.ErrNoRows):
					return err
				}
			}
			if m.Forbid {
				var running string
				err := tx.QueryRow(ctx, `SELECT x.id::text FROM exclusive_runs r
					JOIN job_executions x ON x.id = r.execution_id AND x.scheduled_at = r.scheduled_at
					WHERE r.job_id = $1 AND x.status = 'running'`, e.JobID).Scan(&running)
				switch {
				case err == nil:
					return &domain.ConflictError{FieldError: domain.FieldError{Field: "force", Reason: fmt.Sprintf(
						"execution %s of this job is running and its concurrency policy is forbid; send \"force\": true to run anyway", running)}}
				case !errors.Is(err, pgx.ErrNoRows):
					return err
				}
			}
			var err error
			out, err = scanExecution(tx.QueryRow(ctx, `INSERT INTO job_executions (id, job_id, job_version, idempotency_key,
				trigger, scheduled_at, status, attempt, next_attempt_at, exclusive, forced, trace_id)
				VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $6, false, $7, nullif($8, ''))
				RETURNING `+executionColumns,
				e.ID, e.JobID, e.JobVersion, e.IdempotencyKey, e.Trigger, e.ScheduledAt, e.Forced, e.TraceID))
			if err != nil {
				return err
			}
			f := m.Fire
			if _, err := tx.Exec(ctx, `INSERT INTO outbox (idempotency_key, job_id, kind, trigger, scheduled_at, payload, publish_at, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				f.Key, f.JobID, f.Kind, f.Trigger, f.ScheduledAt, f.Payload, f.PublishAt, at); err != nil {
				return err
			}
			change.After = out
			// The tick sleeps until its next known instant; the notification makes it look now.
			_, err = tx.Exec(ctx, `SELECT pg_notify(current_schema() || '.vecron_jobs', '')`)
			return err
		})
	})
	if err != nil {
		return nil, false, translate("queue manual run", err)
	}
	return out, replayed, nil
}

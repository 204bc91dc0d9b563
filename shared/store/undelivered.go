package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// DeadLetterUndelivered records the fire of e — a fire its broker gave up delivering (Knative's
// dead-letter sink) — dead-lettered at at with e.Error, in one transaction with the audit row
// (action execution.dead_letter, the actor ctx carries): as a new execution without an attempt
// when its key has none, or its queued execution, which no delivery will run now. e holds the
// fire: ID (for a new row), JobID, JobVersion, IdempotencyKey, Trigger, ScheduledAt. A row that
// is written queued first and then ended, so the hourly counts, the failure streak and the
// dead-letter list see it as they see any other end.
//
// A fire whose execution ended, or runs (its worker records its end), is not changed: it returns
// that execution and false. It returns the execution as recorded and true when it changed it,
// an error wrapping domain.ErrNotFound when the job does not exist, and a *domain.ConflictError
// on data.job_id when the key's execution belongs to another job.
func (s *Store) DeadLetterUndelivered(ctx context.Context, e *domain.Execution, at time.Time) (*domain.Execution, bool, error) {
	var (
		out     *domain.Execution
		changed bool
	)
	change := Change{Action: "execution.dead_letter", ObjectKind: "execution"}
	err := s.writeHistory(ctx, []time.Time{e.ScheduledAt}, func() error {
		return s.inTx(ctx, &change, func(tx pgx.Tx) error {
			out, changed = nil, false
			// A delete waits for this record, as for an event's run.
			if err := tx.QueryRow(ctx, `SELECT namespace FROM jobs WHERE id = $1 FOR SHARE`, e.JobID).Scan(&change.Namespace); err != nil {
				return err // pgx.ErrNoRows: not found
			}
			tag, err := tx.Exec(ctx, `INSERT INTO job_executions (id, job_id, job_version, idempotency_key, trigger,
				scheduled_at, status, attempt) VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0)
				ON CONFLICT (idempotency_key, scheduled_at) DO NOTHING`,
				e.ID, e.JobID, e.JobVersion, e.IdempotencyKey, e.Trigger, e.ScheduledAt)
			if err != nil {
				return err
			}
			inserted := tag.RowsAffected() == 1
			before, err := scanExecution(tx.QueryRow(ctx, `SELECT `+executionColumns+` FROM job_executions
				WHERE idempotency_key = $1 AND scheduled_at = $2 FOR UPDATE`, e.IdempotencyKey, e.ScheduledAt))
			if err != nil {
				return err
			}
			if before.JobID != e.JobID {
				return &domain.ConflictError{FieldError: domain.FieldError{Field: "data.job_id",
					Reason: "the execution of this idempotency key belongs to another job"}}
			}
			change.ObjectID = before.ID
			if before.Status != domain.StatusQueued {
				out, change.Action = before, "" // nothing changed, nothing audited
				return nil
			}
			out, err = scanExecution(tx.QueryRow(ctx, `UPDATE job_executions SET status = 'dead_lettered', finished_at = $3,
				error = $4, next_attempt_at = NULL, dead_letter_state = 'pending'
				WHERE id = $1 AND scheduled_at = $2 RETURNING `+executionColumns, before.ID, before.ScheduledAt, at, e.Error))
			if err != nil {
				return err
			}
			// A fire of a run started by hand may still wait in the outbox: withdrawn, as a
			// cancel withdraws it (one already on its way finds the record ended).
			if _, err := tx.Exec(ctx, `DELETE FROM outbox WHERE idempotency_key = $1 AND scheduled_at = $2`,
				before.IdempotencyKey, before.ScheduledAt); err != nil {
				return err
			}
			if !inserted {
				change.Before = before
			}
			change.After, changed = out, true
			return nil
		})
	})
	if err != nil {
		return nil, false, translate("dead-letter undelivered fire", err)
	}
	return out, changed, nil
}

package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// CancelExecution records the execution id cancelled for reason, at at, when it is queued or
// running, in one transaction with the audit row. A queued execution's fire not yet published is
// withdrawn; one already on its way finds the record terminal and does nothing. A running attempt
// is stopped by its worker at its next heartbeat (or, when staged, before its instant), and its
// result is discarded. It returns the execution as recorded, or an error wrapping
// domain.ErrNotFound, or domain.ErrConflict (a *domain.ConflictError) when the execution has
// ended.
func (s *Store) CancelExecution(ctx context.Context, id, reason string, at time.Time) (*domain.Execution, error) {
	var out *domain.Execution
	change := Change{Action: "execution.cancel", ObjectKind: "execution", ObjectID: id}
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		before, err := scanExecution(tx.QueryRow(ctx, `SELECT `+executionColumns+` FROM job_executions WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		if before.Status != domain.StatusQueued && before.Status != domain.StatusRunning {
			return &domain.ConflictError{FieldError: domain.FieldError{Field: "status",
				Reason: fmt.Sprintf("the execution is %s; only a queued or running execution can be cancelled", before.Status)}}
		}
		out, err = scanExecution(tx.QueryRow(ctx, `UPDATE job_executions SET status = 'cancelled', finished_at = $3,
			error = $4, next_attempt_at = NULL, cancel_requested = (status = 'running')
			WHERE id = $1 AND scheduled_at = $2 RETURNING `+executionColumns, id, before.ScheduledAt, at, reason))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM outbox WHERE idempotency_key = $1 AND scheduled_at = $2`,
			before.IdempotencyKey, before.ScheduledAt); err != nil {
			return err
		}
		change.Before, change.After = before, out
		change.Namespace, err = jobNamespace(ctx, tx, out.JobID)
		return err
	})
	return out, translate("cancel execution", err)
}

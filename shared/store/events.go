package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// EventJobs returns the enabled jobs with an event trigger that an event of type typ may match:
// those whose trigger requires that type and those that admit any (docs/event-triggers.md), in
// namespaces (nil: every namespace). Their filters decide the rest.
func (s *Store) EventJobs(ctx context.Context, typ string, namespaces []string) ([]*domain.Job, error) {
	if namespaces != nil && len(namespaces) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+jobColumns+` FROM jobs
		WHERE event_trigger AND enabled AND (event_type = $1 OR event_type IS NULL)
			AND ($2::text[] IS NULL OR namespace = ANY($2))
		ORDER BY id`, typ, nullSlice(namespaces))
	if err != nil {
		return nil, translate("list event jobs", err)
	}
	jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.Job, error) { return scanJob(r) })
	return jobs, translate("list event jobs", err)
}

// EventRun is the execution one event makes of one job.
type EventRun struct {
	// Execution is what to record: its key is the event's, its ScheduledAt the instant it is
	// due (now, or the end of a debounce window).
	Execution *domain.Execution
	// Fire is queued for publication at its PublishAt, in the same transaction.
	Fire domain.Fire
	// Namespace is the job's, for the audit log.
	Namespace string
	// Skip, when set, records the execution skipped with this error instead of queuing it.
	Skip string
	// CoalesceAfter, when set, folds the event into the job's open debounce window — a queued
	// event fire published after it — instead of opening one: the window's fire gets the
	// payload PayloadFor makes for its key and instant, and the event's receipt names the
	// window's execution.
	CoalesceAfter time.Time
	PayloadFor    func(key string, scheduledAt time.Time) ([]byte, error)
	// Source and EventID name the event in the audit log.
	Source, EventID string
	// Action is the audit log's action; empty: job.event. A webhook call is job.webhook.
	Action string
	// ExpireBefore: receipts received before it are deleted, a small batch at a time.
	ExpireBefore time.Time
}

// receiptBatch bounds the expired receipts one event deletes.
const receiptBatch = 100

// QueueEvent records the execution of r — queued with its fire in the outbox, folded into an
// open debounce window, or skipped — in one transaction with its receipt and the audit row, and
// wakes the tick, as of now. An event whose key already has a receipt is not recorded again: it
// returns the execution of the receipt and true. A job deleted meanwhile is an error wrapping
// domain.ErrNotFound.
func (s *Store) QueueEvent(ctx context.Context, r EventRun, now time.Time) (*domain.Execution, bool, error) {
	e := r.Execution
	var (
		out      *domain.Execution
		replayed bool
	)
	change := Change{Action: cmp.Or(r.Action, "job.event"), ObjectKind: "job", ObjectID: e.JobID, Namespace: r.Namespace}
	err := s.writeHistory(ctx, []time.Time{e.ScheduledAt}, func() error {
		return s.inTx(ctx, &change, func(tx pgx.Tx) error {
			out, replayed = nil, false
			// A delete waits for this event to be recorded, then ends its run; an event for a job
			// deleted first is not recorded. Debounce windows of one job are opened one at a
			// time: under the row's exclusive lock.
			lock := `FOR SHARE`
			if !r.CoalesceAfter.IsZero() {
				lock = `FOR UPDATE`
			}
			var one int
			if err := tx.QueryRow(ctx, `SELECT 1 FROM jobs WHERE id = $1 `+lock, e.JobID).Scan(&one); err != nil {
				return err // pgx.ErrNoRows: not found
			}
			// A second delivery of the event waits here for the first's transaction, then finds
			// its receipt.
			tag, err := tx.Exec(ctx, `INSERT INTO event_receipts (idempotency_key, job_id, execution_id, scheduled_at, received_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idempotency_key) DO NOTHING`,
				e.IdempotencyKey, e.JobID, e.ID, e.ScheduledAt, now)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				out, err = receiptExecution(ctx, tx, e.IdempotencyKey)
				replayed = true
				change.Action = "" // nothing changed
				return err
			}
			switch {
			case r.Skip != "":
				out, err = scanExecution(tx.QueryRow(ctx, `INSERT INTO job_executions (id, job_id, job_version, idempotency_key,
					trigger, scheduled_at, finished_at, status, attempt, error)
					VALUES ($1, $2, $3, $4, $5, $6, $7, 'skipped', 0, $8)
					RETURNING `+executionColumns,
					e.ID, e.JobID, e.JobVersion, e.IdempotencyKey, e.Trigger, e.ScheduledAt, now, r.Skip))
				if err != nil {
					return err
				}
			default:
				coalesced := false
				if !r.CoalesceAfter.IsZero() {
					if out, err = coalesce(ctx, tx, r); err != nil {
						return err
					}
					coalesced = out != nil
				}
				if !coalesced {
					if out, err = queueEventFire(ctx, tx, r, now); err != nil {
						return err
					}
				}
			}
			if _, err := tx.Exec(ctx, `DELETE FROM event_receipts WHERE ctid IN (
				SELECT ctid FROM event_receipts WHERE received_at < $1 LIMIT `+fmt.Sprint(receiptBatch)+`)`, r.ExpireBefore); err != nil {
				return err
			}
			change.After = map[string]any{"execution": out, "event_source": r.Source, "event_id": r.EventID}
			return nil
		})
	})
	if err != nil {
		return nil, false, translate("queue event run", err)
	}
	return out, replayed, nil
}

// EventReceipt returns the execution the receipt of the event key names, or nil when the
// event has none: a cheap read that answers a redelivery before the caller spends anything
// on it. QueueEvent still decides, under the receipt's insert.
func (s *Store) EventReceipt(ctx context.Context, key string) (*domain.Execution, error) {
	out, err := receiptExecution(ctx, s.pool, key)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return out, translate("read event receipt", err)
}

// receiptExecution returns the execution the receipt of key names.
func receiptExecution(ctx context.Context, tx querier, key string) (*domain.Execution, error) {
	var id string
	var at time.Time
	if err := tx.QueryRow(ctx, `SELECT execution_id::text, scheduled_at FROM event_receipts WHERE idempotency_key = $1`, key).Scan(&id, &at); err != nil {
		return nil, err
	}
	return scanExecution(tx.QueryRow(ctx, `SELECT `+executionColumns+` FROM job_executions WHERE id = $1 AND scheduled_at = $2`, id, at))
}

// coalesce folds r's event into the job's open debounce window and returns the window's
// execution, or nil when no window is open.
func coalesce(ctx context.Context, tx pgx.Tx, r EventRun) (*domain.Execution, error) {
	var key string
	var at time.Time
	err := tx.QueryRow(ctx, `SELECT idempotency_key, scheduled_at FROM outbox
		WHERE job_id = $1 AND trigger = 'event' AND publish_at > $2
		ORDER BY publish_at DESC LIMIT 1 FOR UPDATE`, r.Execution.JobID, r.CoalesceAfter).Scan(&key, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	win, err := receiptExecution(ctx, tx, key)
	if err != nil {
		return nil, fmt.Errorf("debounce window %s: %w", key, err)
	}
	payload, err := r.PayloadFor(key, at.UTC())
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `UPDATE outbox SET payload = $2 WHERE idempotency_key = $1`, key, payload); err != nil {
		return nil, err
	}
	_, err = tx.Exec(ctx, `UPDATE event_receipts SET execution_id = $2, scheduled_at = $3 WHERE idempotency_key = $1`,
		r.Execution.IdempotencyKey, win.ID, win.ScheduledAt)
	return win, err
}

// queueEventFire records r's execution queued and queues its fire, and wakes the tick.
func queueEventFire(ctx context.Context, tx pgx.Tx, r EventRun, now time.Time) (*domain.Execution, error) {
	e, f := r.Execution, r.Fire
	out, err := scanExecution(tx.QueryRow(ctx, `INSERT INTO job_executions (id, job_id, job_version, idempotency_key,
		trigger, scheduled_at, status, attempt, next_attempt_at, exclusive, forced, trace_id)
		VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, false, false, nullif($8, ''))
		RETURNING `+executionColumns,
		e.ID, e.JobID, e.JobVersion, e.IdempotencyKey, e.Trigger, e.ScheduledAt, f.PublishAt, e.TraceID))
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO outbox (idempotency_key, job_id, kind, trigger, scheduled_at, payload, publish_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		f.Key, f.JobID, f.Kind, f.Trigger, f.ScheduledAt, f.Payload, f.PublishAt, now); err != nil {
		return nil, err
	}
	// The tick sleeps until its next known instant; the notification makes it look now.
	_, err = tx.Exec(ctx, `SELECT pg_notify(current_schema() || '.vecron_jobs', '')`)
	return out, err
}

package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// ErrNotHandedOut is the answer of DeadLetterUndelivered for a fire no executor could have been
// sent: nothing of the key was queued for publication, and no claim passed its instant.
var ErrNotHandedOut = errors.New("no fire of this key was handed out")

// UndeliveredSkew is how far the clocks of the api, the tick and the database may disagree about
// a fire the dead-letter sink is told of: a fire up to this far ahead counts as due.
const UndeliveredSkew = time.Minute

// Undelivered names a fire its broker gave up delivering, as the dead-letter sink read it from
// the event. Only what names the fire comes from the event: the job's version and the fire's
// trigger are read from the database, which the event cannot vouch for.
type Undelivered struct {
	// ID is the id of the execution, when one is inserted.
	ID             string
	JobID          string
	IdempotencyKey string
	// Trigger is the trigger the event claims: it chooses which record must show the fire was
	// handed out, and is never stored.
	Trigger     domain.Trigger
	ScheduledAt time.Time
	// Error is what the execution records.
	Error string
}

// handedOutSQL is true when the fire of job $1 keyed $2 at $3 was handed out by $4: its outbox
// row is due; or, for a scheduled fire ($5) no earlier than the job's present plan (its
// claims_from, the edit's clock that also set the next run; else its creation, $7 of clock
// skew) nor than the history kept (history_floor; unless the tick kept the fire as published,
// a catch-up of an instant that old), and in no range of instants a claim recorded skipped as
// one row (misfire_ranges), the job's claim has passed its instant — a cron job's next run is
// after it, or its schedule has no next run left (a once job, an end_at passed) while it is
// enabled, or a fixed_delay job waits for its end (no next run), the instant is the one its
// last claim handed out (handed_out_at; any, for a job last claimed before the column was
// kept), and no fire of it is newer, unfinished or finished after it (a fixed_delay job's next
// run, once set, follows an end already recorded: it vouches for no fire that is not); or, for a backfill ($6), a backfill of the job covering the instant is on
// record (its audit row: the outbox row is gone once the fire is published); or, for a replay
// ($8), the dead letter it replays names its key. A fire of any other trigger always has its execution
// row before it is published.
const handedOutSQL = `coalesce(EXISTS (SELECT 1 FROM outbox o WHERE o.idempotency_key = $2 AND o.scheduled_at = $3
		AND o.job_id = $1 AND o.publish_at <= $4)
	OR $5 AND (SELECT $3 >= coalesce(j.claims_from, j.created_at - $7::interval)
			AND ($3 >= coalesce((SELECT kept_from FROM history_floor), '-infinity')
				OR EXISTS (SELECT 1 FROM published_fires p WHERE p.idempotency_key = $2 AND p.scheduled_at = $3
					AND p.job_id = $1 AND p.trigger = 'schedule'))
			AND NOT EXISTS (SELECT 1 FROM misfire_ranges m WHERE m.job_id = $1 AND m.first_at <= $3 AND m.until_at > $3)
			AND (coalesce(j.next_run_at > $3 AND j.schedule->>'kind' IS DISTINCT FROM 'fixed_delay', false)
			OR j.next_run_at IS NULL AND j.enabled AND j.schedule->>'kind' IS DISTINCT FROM 'fixed_delay'
			OR j.next_run_at IS NULL AND j.enabled
			AND j.schedule->>'kind' = 'fixed_delay'
			AND (j.handed_out_at IS NULL OR j.handed_out_at = $3)
			AND NOT EXISTS (SELECT 1 FROM job_executions x WHERE x.job_id = $1
				AND x.trigger IN ('schedule', 'backfill')
				AND (x.scheduled_at >= $3 OR x.finished_at IS NULL OR x.finished_at > $3)))
		FROM jobs j WHERE j.id = $1)
	OR $6 AND EXISTS (SELECT 1 FROM audit_log a WHERE a.object_kind = 'job' AND a.object_id = $1::text
		AND a.action = 'job.backfill'
		AND CASE WHEN a.action = 'job.backfill' AND a.after IS NOT NULL
			THEN (a.after::jsonb->>'first')::timestamptz <= $3 AND (a.after::jsonb->>'last')::timestamptz >= $3
				AND a.after::jsonb->>'trigger' = 'backfill' END)
	OR $8 AND EXISTS (SELECT 1 FROM job_executions r WHERE r.job_id = $1 AND r.scheduled_at = $3
		AND r.dead_letter_replay_key = $2), false)`

// DeadLetterUndelivered records the fire u names — a fire its broker gave up delivering
// (Knative's dead-letter sink) — dead-lettered at at with u.Error, in one transaction with the
// audit row (action execution.dead_letter, the actor ctx carries): its queued execution, which
// no delivery will run now, or, when its key has none, a new execution without an attempt — but
// only for a fire that was really handed out (handedOutSQL), else ErrNotHandedOut, and before
// any history partition is made for it. A new row takes the job's version from the jobs row and
// its trigger from the outbox row or the claim; it is written queued first and then ended, so
// the hourly counts, the failure streak and the dead-letter list see it as any other end. A
// queued execution whose fire still waits in the outbox for a later publication is not handed
// out either.
//
// A fire whose execution ended, or runs (its worker records its end), is not changed: it returns
// that execution and false. It returns the execution as recorded and true when it changed it;
// the job as stored; an error wrapping domain.ErrNotFound when the job does not exist, and a
// *domain.ConflictError on data.job_id when the key's execution belongs to another job.
func (s *Store) DeadLetterUndelivered(ctx context.Context, u Undelivered, at time.Time) (*domain.Execution, bool, *domain.Job, error) {
	var (
		out     *domain.Execution
		changed bool
		job     *domain.Job
	)
	scheduled := u.Trigger == domain.TriggerSchedule
	backfill := u.Trigger == domain.TriggerBackfill
	replay := u.Trigger == domain.TriggerReplay
	// Checked before the write makes the day's partition: an event cannot make one for a day
	// no fire of the job was handed out on.
	var known bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM job_executions WHERE idempotency_key = $2 AND scheduled_at = $3)
		OR `+handedOutSQL+` FROM jobs WHERE id = $1`,
		u.JobID, u.IdempotencyKey, u.ScheduledAt, at.Add(UndeliveredSkew), scheduled, backfill, UndeliveredSkew, replay).Scan(&known)
	switch {
	case err != nil:
		return nil, false, nil, translate("dead-letter undelivered fire", err)
	case !known:
		return nil, false, nil, ErrNotHandedOut
	}
	change := Change{Action: "execution.dead_letter", ObjectKind: "execution"}
	err = s.writeHistory(ctx, []time.Time{u.ScheduledAt}, func() error {
		return s.inTx(ctx, &change, func(tx pgx.Tx) error {
			out, changed, job = nil, false, nil
			// A delete waits for this record, as for an event's run.
			var err error
			job, err = scanJob(tx.QueryRow(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = $1 FOR SHARE`, u.JobID))
			if err != nil {
				return err // pgx.ErrNoRows: not found
			}
			change.Namespace = job.Namespace
			before, err := scanExecution(tx.QueryRow(ctx, `SELECT `+executionColumns+` FROM job_executions
				WHERE idempotency_key = $1 AND scheduled_at = $2 FOR UPDATE`, u.IdempotencyKey, u.ScheduledAt))
			inserted := errors.Is(err, pgx.ErrNoRows)
			switch {
			case inserted:
				if before, err = insertUndelivered(ctx, tx, u, job, at); err != nil {
					return err
				}
			case err != nil:
				return err
			}
			if before.JobID != u.JobID {
				return &domain.ConflictError{FieldError: domain.FieldError{Field: "data.job_id",
					Reason: "the execution of this idempotency key belongs to another job"}}
			}
			change.ObjectID = before.ID
			if before.Status != domain.StatusQueued {
				out, change.Action = before, "" // nothing changed, nothing audited
				return nil
			}
			// A queued run whose fire waits in the outbox for a later publication was sent to
			// no executor yet: no broker gave up on it.
			var waiting bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM outbox WHERE idempotency_key = $1
				AND scheduled_at = $2 AND publish_at > $3)`, before.IdempotencyKey, before.ScheduledAt, at.Add(UndeliveredSkew)).Scan(&waiting); err != nil {
				return err
			}
			if waiting {
				return ErrNotHandedOut
			}
			out, err = scanExecution(tx.QueryRow(ctx, `UPDATE job_executions SET status = 'dead_lettered', finished_at = $3,
				error = $4, next_attempt_at = NULL, dead_letter_state = 'pending'
				WHERE id = $1 AND scheduled_at = $2 RETURNING `+executionColumns, before.ID, before.ScheduledAt, at, u.Error))
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
	if errors.Is(err, ErrNotHandedOut) {
		return nil, false, nil, err
	}
	if err != nil {
		return nil, false, nil, translate("dead-letter undelivered fire", err)
	}
	return out, changed, job, nil
}

// insertUndelivered inserts the queued execution of the fire u names, when it was handed out,
// with job's version and the trigger its outbox row or claim gives; the caller ends it.
func insertUndelivered(ctx context.Context, tx pgx.Tx, u Undelivered, job *domain.Job, at time.Time) (*domain.Execution, error) {
	scheduled := u.Trigger == domain.TriggerSchedule
	backfill := u.Trigger == domain.TriggerBackfill
	replay := u.Trigger == domain.TriggerReplay
	var trigger *string
	if err := tx.QueryRow(ctx, `SELECT CASE WHEN `+handedOutSQL+` THEN coalesce(
			(SELECT trigger FROM outbox WHERE idempotency_key = $2 AND scheduled_at = $3 AND job_id = $1),
			CASE WHEN $5 THEN 'schedule' WHEN $8 THEN 'replay' ELSE 'backfill' END) END`,
		u.JobID, u.IdempotencyKey, u.ScheduledAt, at.Add(UndeliveredSkew), scheduled, backfill, UndeliveredSkew, replay).Scan(&trigger); err != nil {
		return nil, err
	}
	if trigger == nil {
		return nil, ErrNotHandedOut
	}
	return scanExecution(tx.QueryRow(ctx, `INSERT INTO job_executions (id, job_id, job_version, idempotency_key, trigger,
		scheduled_at, status, attempt) VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0)
		RETURNING `+executionColumns,
		u.ID, u.JobID, job.Version, u.IdempotencyKey, *trigger, u.ScheduledAt))
}

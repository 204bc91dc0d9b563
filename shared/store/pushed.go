package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// PushedQuery names the fire a due event pushed to an executor claims to announce. Only what
// names the fire comes from the event: anyone who can reach an executor's push endpoint can make
// one up (docs/deploy.md §4).
type PushedQuery struct {
	JobID          string
	IdempotencyKey string
	ScheduledAt    time.Time
	// Trigger is the trigger the event claims: it chooses which record must show the fire was
	// handed out (handedOutSQL).
	Trigger domain.Trigger
	// Now is the executor's clock; a fire up to UndeliveredSkew ahead of it counts as due.
	Now time.Time
}

// PushedFire is what the database holds of the fire a PushedQuery names.
type PushedFire struct {
	// Job is the job as stored; nil when it does not exist.
	Job *domain.Job
	// HandedOut: the fire was handed out to the executors — its execution is recorded, its
	// outbox row is due, or the claim, backfill or replay the trigger names vouches for it.
	HandedOut bool
	// Recorded: an execution of the key, of this job and instant, exists; Execution is it.
	Recorded  bool
	Execution *domain.Execution
	// Queued: the fire's outbox row is still there, due; Trigger, Forced and Payload are then
	// its, as the api or the tick wrote them.
	Queued bool
	// Waiting: the fire's outbox row is there and not due yet (a debounced or delayed run): no
	// executor was sent it, whatever else vouches for it.
	Waiting bool
	// Published: the fire's outbox row left on its publication and was kept (published_fires:
	// a trigger that carries its own payload, or an instant before the history floor);
	// Trigger, Forced and Payload are then as published.
	Published bool
	// Trigger and Forced are the execution's when Recorded, else the outbox row's or the
	// published fire's; Payload is the outbox row's or the published fire's (nil: none).
	Trigger domain.Trigger
	Forced  bool
	Payload json.RawMessage
}

// PushedFires reads, for each of qs in order, what the database holds of the fire it names, in
// one round trip for all of them. A fire is handed out as handedOutSQL says, or, scheduled, when
// it is its job's next run and due: claimed, then claimed again after an edit set the next run
// back to it, the stream drops the second publication as a duplicate, so the first must be
// believed; sent early by anyone, it waits for its instant and runs the stored job once. (The
// dead-letter sink must not take that one: a dead letter of a fire not claimed yet would make
// the claim find it ended and never run it.)
func (s *Store) PushedFires(ctx context.Context, qs []PushedQuery) ([]PushedFire, error) {
	b := &pgx.Batch{}
	for _, q := range qs {
		b.Queue(`SELECT `+jobColumns+` FROM jobs WHERE id = $1`, q.JobID)
		b.Queue(`SELECT o.trigger IS NOT NULL AND o.publish_at <= $4, coalesce(o.publish_at > $4, false),
				o.trigger IS NULL AND p.trigger IS NOT NULL,
				coalesce(o.trigger, p.trigger, ''), coalesce((o.payload->>'forced')::boolean, p.forced, false),
				CASE WHEN o.trigger IS NOT NULL THEN o.payload->'payload' ELSE p.payload END,
				EXISTS (SELECT 1 FROM jobs WHERE id = $1) AND (`+handedOutSQL+`
					OR $5 AND EXISTS (SELECT 1 FROM jobs WHERE id = $1 AND next_run_at = $3 AND $3 <= $4))
			FROM (SELECT 1) one
			LEFT JOIN outbox o ON o.idempotency_key = $2 AND o.scheduled_at = $3 AND o.job_id = $1
			LEFT JOIN published_fires p ON p.idempotency_key = $2 AND p.scheduled_at = $3 AND p.job_id = $1`,
			q.JobID, q.IdempotencyKey, q.ScheduledAt, q.Now.Add(UndeliveredSkew),
			q.Trigger == domain.TriggerSchedule, q.Trigger == domain.TriggerBackfill, UndeliveredSkew,
			q.Trigger == domain.TriggerReplay)
		b.Queue(`SELECT `+executionColumns+` FROM job_executions
			WHERE idempotency_key = $1 AND scheduled_at = $2 AND job_id = $3`, q.IdempotencyKey, q.ScheduledAt, q.JobID)
	}
	res := s.pool.SendBatch(ctx, b)
	defer res.Close()
	out := make([]PushedFire, len(qs))
	for i := range qs {
		f := &out[i]
		job, err := scanJob(res.QueryRow())
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return nil, translate("read the job of a pushed fire", err)
		default:
			f.Job = job
		}
		var (
			trigger string
			payload []byte
		)
		if err := res.QueryRow().Scan(&f.Queued, &f.Waiting, &f.Published, &trigger, &f.Forced, &payload, &f.HandedOut); err != nil {
			return nil, translate("check a pushed fire", err)
		}
		f.Trigger = domain.Trigger(trigger)
		if len(payload) > 0 && string(payload) != "null" {
			f.Payload = payload
		}
		e, err := scanExecution(res.QueryRow())
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return nil, translate("read the execution of a pushed fire", err)
		default:
			f.Execution, f.Recorded, f.HandedOut = e, true, true
			f.Trigger, f.Forced = e.Trigger, e.Forced
		}
	}
	return out, translate("check pushed fires", res.Close())
}

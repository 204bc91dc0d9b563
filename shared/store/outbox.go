package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// Fire is one due fire of a job: an outbox row until JetStream acknowledges its publication.
type Fire struct {
	Key         string
	JobID       string
	Kind        domain.JobKind
	Trigger     domain.Trigger
	ScheduledAt time.Time
	// Payload is the JSON data of the due event (the job snapshot).
	Payload []byte
}

// Plan decides, for a claimed job, the fires to emit now and the job's next run after them
// (nil when the schedule has ended). It must be pure: it runs inside the claim transaction.
type Plan func(j *domain.Job) (fires []Fire, next *time.Time, err error)

// ClaimDue claims up to limit enabled jobs due at or before horizon, skipping rows another
// replica holds, and in one transaction advances each job's next_run_at and writes its fires to
// the outbox. It returns the fires written and the number of jobs claimed. A job whose plan
// fails gets no next run (it stops firing until edited) and its error is returned in planErrs.
func (s *Store) ClaimDue(ctx context.Context, horizon time.Time, limit int, plan Plan) (fires []Fire, claimed int, planErrs []error, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		fires, planErrs = fires[:0], planErrs[:0]
		rows, err := tx.Query(ctx, `SELECT `+jobColumns+` FROM jobs
			WHERE enabled AND next_run_at <= $1
			ORDER BY next_run_at LIMIT $2 FOR UPDATE SKIP LOCKED`, horizon, limit)
		if err != nil {
			return err
		}
		jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.Job, error) { return scanJob(r) })
		if err != nil {
			return err
		}
		claimed = len(jobs)
		if claimed == 0 {
			return nil
		}
		ids := make([]string, len(jobs))
		nexts := make([]*time.Time, len(jobs))
		for i, j := range jobs {
			ids[i] = j.ID
			f, next, err := plan(j)
			if err != nil {
				planErrs = append(planErrs, fmt.Errorf("job %s: %w", j.ID, err))
				continue // next stays nil: the job stops firing until it is edited
			}
			nexts[i] = next
			fires = append(fires, f...)
		}
		if _, err := tx.Exec(ctx, `UPDATE jobs j SET next_run_at = u.next
			FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, next) WHERE j.id = u.id`, ids, nexts); err != nil {
			return err
		}
		if len(fires) == 0 {
			return nil
		}
		keys := make([]string, len(fires))
		jobIDs := make([]string, len(fires))
		kinds := make([]string, len(fires))
		triggers := make([]string, len(fires))
		at := make([]time.Time, len(fires))
		payloads := make([]string, len(fires))
		for i, f := range fires {
			keys[i], jobIDs[i], kinds[i], triggers[i], at[i], payloads[i] = f.Key, f.JobID, string(f.Kind), string(f.Trigger), f.ScheduledAt, string(f.Payload)
		}
		// A key already in the outbox is already on its way; the relay owns it.
		rows, err = tx.Query(ctx, `INSERT INTO outbox (idempotency_key, job_id, kind, trigger, scheduled_at, payload)
			SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::text[]::jsonb[])
			ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key`, keys, jobIDs, kinds, triggers, at, payloads)
		if err != nil {
			return err
		}
		inserted, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(inserted) != len(fires) {
			fresh := make(map[string]struct{}, len(inserted))
			for _, k := range inserted {
				fresh[k] = struct{}{}
			}
			kept := fires[:0]
			for _, f := range fires {
				if _, ok := fresh[f.Key]; ok {
					kept = append(kept, f)
				}
			}
			fires = kept
		}
		return nil
	})
	if err != nil {
		return nil, 0, nil, translate("claim due jobs", err)
	}
	return fires, claimed, planErrs, nil
}

// NextDue returns the earliest next_run_at of an enabled job, and false when none is scheduled.
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	var t *time.Time
	if err := s.pool.QueryRow(ctx, `SELECT min(next_run_at) FROM jobs WHERE enabled`).Scan(&t); err != nil {
		return time.Time{}, false, translate("next due job", err)
	}
	if t == nil {
		return time.Time{}, false, nil
	}
	return t.UTC(), true, nil
}

// DeleteFires removes published fires from the outbox.
func (s *Store) DeleteFires(ctx context.Context, keys []string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM outbox WHERE idempotency_key = ANY($1)`, keys)
	return translate("delete published fires", err)
}

// StrandedFires returns up to limit outbox rows scheduled before before, oldest first: fires a
// crashed or stalled tick claimed but never saw acknowledged.
func (s *Store) StrandedFires(ctx context.Context, before time.Time, limit int) ([]Fire, error) {
	rows, err := s.pool.Query(ctx, `SELECT idempotency_key, job_id, kind, trigger, scheduled_at, payload
		FROM outbox WHERE scheduled_at < $1 ORDER BY scheduled_at LIMIT $2`, before, limit)
	if err != nil {
		return nil, translate("list stranded fires", err)
	}
	fires, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Fire, error) {
		var f Fire
		err := r.Scan(&f.Key, &f.JobID, &f.Kind, &f.Trigger, &f.ScheduledAt, &f.Payload)
		f.ScheduledAt = f.ScheduledAt.UTC()
		return f, err
	})
	return fires, translate("list stranded fires", err)
}

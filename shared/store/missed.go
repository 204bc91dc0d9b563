package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// MissedHook runs in the transaction that records missed fires, with the ones it recorded (a
// fire recorded before is not passed again): what alerting does with them commits, or not, with
// them.
type MissedHook func(ctx context.Context, tx pgx.Tx, fires []domain.MissedFire) error

// graceSQL is a job's grace as an interval, its own or the default ($n, milliseconds).
func graceSQL(n string) string {
	return `(coalesce(j.missed_after_ms, ` + n + `) * interval '1 millisecond')`
}

// notStartedSQL holds for a fire (key k, instant at) that no execution has taken: none recorded,
// or one recorded queued (a run-now, an event) that no executor has picked up — attempt 0: an
// execution queued again after a failed attempt waits for its retry, and has started. The
// unique key (idempotency_key, scheduled_at) is the index it reads.
const notStartedSQL = `NOT EXISTS (SELECT 1 FROM job_executions e
	WHERE e.idempotency_key = k AND e.scheduled_at = at AND (e.status <> 'queued' OR e.attempt > 0))`

// notRecordedSQL holds for a fire (key k) not recorded missed yet, so that a backlog larger
// than a pass's limit is recorded a limit at a time, not its oldest part again and again.
const notRecordedSQL = `NOT EXISTS (SELECT 1 FROM missed_fires m WHERE m.idempotency_key = k)`

// BeginMissedPass reports whether this replica is to run the watchdog's pass at now: it moves
// the one pass marker to now when the last pass began every or more before, in one statement, so
// that of the replicas asking at once exactly one gets true, and no lock is held while the pass
// runs. A replica that dies mid-pass leaves the next one to the next interval.
func (s *Store) BeginMissedPass(ctx context.Context, now time.Time, every time.Duration) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE missed_fires_watch SET last_pass_at = $1
		WHERE last_pass_at IS NULL OR last_pass_at <= $1::timestamptz - $2::interval OR last_pass_at > $1::timestamptz`, now, every)
	if err != nil {
		return false, translate("begin missed-fire pass", err)
	}
	return tag.RowsAffected() == 1, nil
}

// UnclaimedFires returns up to limit fires that no tick has claimed: enabled jobs whose next run
// is older than their grace (def when they set none) at now, and that no execution has taken
// under its key. It reads the claim's own index (next_run_at WHERE enabled), only as far back
// as the shortest grace allows.
func (s *Store) UnclaimedFires(ctx context.Context, now time.Time, def time.Duration, limit int) ([]domain.MissedFire, error) {
	rows, err := s.pool.Query(ctx, `SELECT j.id, j.namespace, j.next_run_at FROM jobs j
		CROSS JOIN LATERAL (SELECT j.id::text || ':' || floor(extract(epoch FROM j.next_run_at) * 1000)::bigint AS k, j.next_run_at AS at) f
		WHERE j.enabled AND j.next_run_at < $1::timestamptz - $4::interval
			AND j.next_run_at < $1::timestamptz - `+graceSQL("$2")+`
			AND `+notStartedSQL+` AND `+notRecordedSQL+`
		ORDER BY j.next_run_at LIMIT $3`, now, def.Milliseconds(), limit, domain.MissedAfterMin)
	if err != nil {
		return nil, translate("list unclaimed fires", err)
	}
	fires, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.MissedFire, error) {
		var f domain.MissedFire
		err := r.Scan(&f.JobID, &f.Namespace, &f.ScheduledAt)
		f.ScheduledAt = f.ScheduledAt.UTC()
		f.Key, f.Stage, f.DetectedAt = domain.ScheduledKey(f.JobID, f.ScheduledAt), domain.MissedUnclaimed, now
		f.Detail = "due at " + f.ScheduledAt.Format(time.RFC3339Nano) + "; no tick claimed the job"
		return f, err
	})
	return fires, translate("list unclaimed fires", err)
}

// UnpublishedFires returns up to limit fires left in the outbox — claimed or queued, never
// acknowledged by the broker — whose publication time and claim are older than their job's
// grace at now, and that no execution has taken.
func (s *Store) UnpublishedFires(ctx context.Context, now time.Time, def time.Duration, limit int) ([]domain.MissedFire, error) {
	rows, err := s.pool.Query(ctx, `SELECT o.idempotency_key, j.id, j.namespace, o.scheduled_at, o.created_at FROM outbox o
		JOIN jobs j ON j.id = o.job_id
		CROSS JOIN LATERAL (SELECT o.idempotency_key AS k, o.scheduled_at AS at) f
		WHERE o.publish_at < $1::timestamptz - $4::interval AND o.publish_at < $1::timestamptz - `+graceSQL("$2")+`
			-- A catch-up claimed long after its instant waits here under that instant: its
			-- grace runs from the claim, as a stream fire's runs from its publication.
			AND o.created_at < $1::timestamptz - `+graceSQL("$2")+`
			AND `+notStartedSQL+` AND `+notRecordedSQL+`
		ORDER BY o.publish_at LIMIT $3`, now, def.Milliseconds(), limit, domain.MissedAfterMin)
	if err != nil {
		return nil, translate("list unpublished fires", err)
	}
	fires, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.MissedFire, error) {
		var f domain.MissedFire
		var claimed time.Time
		err := r.Scan(&f.Key, &f.JobID, &f.Namespace, &f.ScheduledAt, &claimed)
		f.ScheduledAt, f.Stage, f.DetectedAt = f.ScheduledAt.UTC(), domain.MissedUnpublished, now
		f.Detail = "claimed at " + claimed.UTC().Format(time.RFC3339Nano) + "; the broker never acknowledged it"
		return f, err
	})
	return fires, translate("list unpublished fires", err)
}

// WaitingFire is a fire the broker holds, to be judged.
type WaitingFire struct {
	domain.MissedFire
	// Since is when the fire was due to move on: the later of its instant and when it reached
	// the stream. A backfill's or a catch-up's instant is long past when it is published; its
	// grace runs from the publication.
	Since time.Time
}

// Verdict is what JudgeWaiting says of a fire the broker holds.
type Verdict int

// Verdicts of JudgeWaiting.
const (
	// VerdictYoung: within its job's grace; to be looked at again.
	VerdictYoung Verdict = iota
	// VerdictMissed: past its grace and no execution has taken it.
	VerdictMissed
	// VerdictSettled: an execution has taken it (a retry waiting in the stream, a late start),
	// or its job is gone (its delivery will be recorded skipped): never to be recorded missed.
	VerdictSettled
)

// JudgeWaiting returns a verdict for each of fires, in order, with the namespace of each missed
// one filled in.
func (s *Store) JudgeWaiting(ctx context.Context, now time.Time, def time.Duration, fires []WaitingFire) ([]Verdict, error) {
	if len(fires) == 0 {
		return nil, nil
	}
	n := len(fires)
	keys, jobIDs, at, since := make([]string, n), make([]string, n), make([]time.Time, n), make([]time.Time, n)
	for i, f := range fires {
		keys[i], jobIDs[i], at[i], since[i] = f.Key, f.JobID, f.ScheduledAt, f.Since
	}
	rows, err := s.pool.Query(ctx, `SELECT f.i, coalesce(j.namespace, ''), j.id IS NULL OR NOT `+notStartedSQL+`,
			f.since < $1::timestamptz - `+graceSQL("$2")+`
		FROM unnest($3::text[], $4::uuid[], $5::timestamptz[], $6::timestamptz[]) WITH ORDINALITY AS f(k, job_id, at, since, i)
		LEFT JOIN jobs j ON j.id = f.job_id
		ORDER BY f.i`, now, def.Milliseconds(), keys, jobIDs, at, since)
	if err != nil {
		return nil, translate("judge waiting fires", err)
	}
	verdicts := make([]Verdict, n)
	var (
		i                int64
		ns               string
		settled, overdue bool
	)
	_, err = pgx.ForEachRow(rows, []any{&i, &ns, &settled, &overdue}, func() error {
		switch {
		case settled:
			verdicts[i-1] = VerdictSettled
		case overdue:
			verdicts[i-1] = VerdictMissed
			fires[i-1].Namespace = ns
		}
		return nil
	})
	if err != nil {
		return nil, translate("judge waiting fires", err)
	}
	return verdicts, nil
}

// RecordMissedFires records fires as missed, each key once (a key recorded before keeps its
// first record), and calls hook, when not nil, in the same transaction with the ones recorded
// now, which it returns.
func (s *Store) RecordMissedFires(ctx context.Context, fires []domain.MissedFire, hook MissedHook) ([]domain.MissedFire, error) {
	if len(fires) == 0 {
		return nil, nil
	}
	n := len(fires)
	keys, jobIDs, nss, stages, consumers, details := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]*string, n), make([]string, n)
	at, detected := make([]time.Time, n), make([]time.Time, n)
	seqs, deliveries := make([]*int64, n), make([]*int32, n)
	for i, f := range fires {
		keys[i], jobIDs[i], nss[i], stages[i], details[i] = f.Key, f.JobID, f.Namespace, string(f.Stage), f.Detail
		at[i], detected[i], consumers[i] = f.ScheduledAt, f.DetectedAt, nullable(f.Consumer)
		if f.StreamSeq > 0 {
			v := int64(f.StreamSeq)
			seqs[i] = &v
		}
		if f.DeliveryCount > 0 {
			v := int32(f.DeliveryCount)
			deliveries[i] = &v
		}
	}
	var recorded []domain.MissedFire
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `INSERT INTO missed_fires (idempotency_key, job_id, namespace, scheduled_at, detected_at,
				stage, stream_seq, delivery_count, consumer, detail)
			SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::text[],
				$7::bigint[], $8::int[], $9::text[], $10::text[])
			ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key`,
			keys, jobIDs, nss, at, detected, stages, seqs, deliveries, consumers, details)
		if err != nil {
			return err
		}
		inserted, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		fresh := make(map[string]bool, len(inserted))
		for _, k := range inserted {
			fresh[k] = true
		}
		for _, f := range fires {
			if fresh[f.Key] {
				recorded = append(recorded, f)
				delete(fresh, f.Key) // a key listed twice is recorded once
			}
		}
		if hook == nil || len(recorded) == 0 {
			return nil
		}
		return hook(ctx, tx, recorded)
	})
	if err != nil {
		return nil, translate("record missed fires", err)
	}
	return recorded, nil
}

// NoteMissedStarts notes, for the missed fires detected since since that have now become
// executions, which execution, when it started and its status now. It returns how many it noted.
func (s *Store) NoteMissedStarts(ctx context.Context, since time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE missed_fires m SET execution_id = e.id, started_at = e.started_at, execution_status = e.status
		FROM job_executions e
		WHERE m.execution_id IS NULL AND m.detected_at >= $1
			AND e.idempotency_key = m.idempotency_key AND e.scheduled_at = m.scheduled_at AND (e.status <> 'queued' OR e.attempt > 0)`, since)
	if err != nil {
		return 0, translate("note started missed fires", err)
	}
	return int(tag.RowsAffected()), nil
}

// ForgetMissedFires deletes up to limit missed-fire records detected before before, oldest
// first, and returns how many it deleted.
func (s *Store) ForgetMissedFires(ctx context.Context, before time.Time, limit int) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM missed_fires WHERE idempotency_key IN (
		SELECT idempotency_key FROM missed_fires WHERE detected_at < $1 ORDER BY detected_at LIMIT $2)`, before, limit)
	if err != nil {
		return 0, translate("forget old missed fires", err)
	}
	return int(tag.RowsAffected()), nil
}

// MissedCursor is where a page of missed fires goes on from: after the fire of this instant
// and key, newest first.
type MissedCursor struct {
	ScheduledAt time.Time
	Key         string
}

// MissedFires returns up to limit missed fires of job jobID scheduled in [from, to) (a zero
// bound is open), newest first, after cursor when it is not nil.
func (s *Store) MissedFires(ctx context.Context, jobID string, from, to time.Time, cursor *MissedCursor, limit int) ([]domain.MissedFire, error) {
	var afterAt *time.Time
	var afterKey string
	if cursor != nil {
		afterAt, afterKey = &cursor.ScheduledAt, cursor.Key
	}
	rows, err := s.pool.Query(ctx, `SELECT `+missedColumns+` FROM missed_fires
		WHERE job_id = $1 AND ($2::timestamptz IS NULL OR scheduled_at >= $2) AND ($3::timestamptz IS NULL OR scheduled_at < $3)
			AND ($4::timestamptz IS NULL OR (scheduled_at, idempotency_key) < ($4, $5))
		ORDER BY scheduled_at DESC, idempotency_key DESC LIMIT $6`, jobID, nullTime(from), nullTime(to), afterAt, afterKey, limit)
	if err != nil {
		return nil, translate("list missed fires", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.MissedFire, error) { return scanMissed(r) })
	return list, translate("list missed fires", err)
}

// MissedFire returns the missed-fire record of key, or an error wrapping domain.ErrNotFound.
func (s *Store) MissedFire(ctx context.Context, key string) (domain.MissedFire, error) {
	f, err := scanMissed(s.pool.QueryRow(ctx, `SELECT `+missedColumns+` FROM missed_fires WHERE idempotency_key = $1`, key))
	if err != nil {
		return domain.MissedFire{}, translate("get missed fire", err)
	}
	return f, nil
}

const missedColumns = `idempotency_key, job_id, namespace, scheduled_at, detected_at, stage, stream_seq, delivery_count,
	coalesce(consumer, ''), detail, started_at, execution_id, coalesce(execution_status, '')`

func scanMissed(row pgx.Row) (domain.MissedFire, error) {
	var (
		f          domain.MissedFire
		seq        *int64
		deliveries *int32
		execID     *string
	)
	if err := row.Scan(&f.Key, &f.JobID, &f.Namespace, &f.ScheduledAt, &f.DetectedAt, &f.Stage, &seq, &deliveries,
		&f.Consumer, &f.Detail, &f.StartedAt, &execID, &f.ExecutionStatus); err != nil {
		return f, err
	}
	f.ScheduledAt, f.DetectedAt, f.StartedAt = f.ScheduledAt.UTC(), f.DetectedAt.UTC(), utcPtr(f.StartedAt)
	if seq != nil {
		f.StreamSeq = uint64(*seq)
	}
	if deliveries != nil {
		f.DeliveryCount = int(*deliveries)
	}
	if execID != nil {
		f.ExecutionID = *execID
	}
	return f, nil
}

package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/vecron/vecron/shared/domain"
)

// Plan decides what a claimed job does now. It must be pure: it runs inside the claim
// transaction.
type Plan func(j *domain.Job) (domain.PlanResult, error)

// ClaimDue claims up to limit enabled jobs of shards (nil: every shard) due at or before
// horizon, skipping rows another replica holds, and in one transaction advances each job's
// next_run_at and writes its fires to the outbox, as claimed at now (the caller's clock; zero:
// the database's). It returns the fires written and the number of jobs claimed. A job whose plan
// fails gets no next run (it stops firing until edited) and its error is returned in planErrs.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, shards []int32, horizon time.Time, limit int, plan Plan) (fires []domain.Fire, claimed int, planErrs []error, err error) {
	for range 3 {
		var days []time.Time
		fires, claimed, planErrs, days, err = s.claimDue(ctx, now, shards, horizon, limit, plan)
		if len(days) == 0 {
			return fires, claimed, planErrs, err
		}
		// Skipped fires of days without partitions: make the days, with no row locked, and
		// claim again (the claim rolled back; nothing was taken).
		if err := s.PrepareHistory(ctx, days...); err != nil {
			return nil, 0, nil, err
		}
	}
	return nil, 0, nil, errors.New("claim due jobs: history partitions keep disappearing")
}

// claimDue is one claim transaction. It returns days, rolling back, when skipped fires fall on
// days this process does not know to have partitions.
func (s *Store) claimDue(ctx context.Context, now time.Time, shards []int32, horizon time.Time, limit int, plan Plan) (fires []domain.Fire, claimed int, planErrs []error, days []time.Time, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		c, err := s.claimIn(ctx, tx, now, shards, horizon, limit, plan)
		fires, claimed, planErrs, days = c.fires, c.claimed, c.planErrs, c.days
		if err != nil {
			return err
		}
		fires, err = insertOutbox(ctx, tx, fires, now)
		return err
	})
	if errors.Is(err, errRetryClaim) {
		return nil, 0, nil, days, nil
	}
	if err != nil {
		return nil, 0, nil, nil, translate("claim due jobs", err)
	}
	return fires, claimed, planErrs, nil, nil
}

// claimResult is what the statements of a claim found and planned.
type claimResult struct {
	fires    []domain.Fire
	claimed  int
	planErrs []error
	days     []time.Time
}

// claimIn locks the due jobs in tx, plans them, advances their next_run_at and records their
// skipped fires. It returns errRetryClaim, with the days to make, when skipped fires fall on
// days this process does not know to have partitions.
func (s *Store) claimIn(ctx context.Context, tx pgx.Tx, now time.Time, shards []int32, horizon time.Time, limit int, plan Plan) (c claimResult, err error) {
	rows, err := tx.Query(ctx, `SELECT `+jobColumns+` FROM jobs
		WHERE enabled AND next_run_at <= $1 AND ($3::int[] IS NULL OR shard = ANY($3))
		ORDER BY next_run_at LIMIT $2 FOR UPDATE SKIP LOCKED`, horizon, limit, shards)
	if err != nil {
		return c, err
	}
	jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.Job, error) { return scanJob(r) })
	if err != nil {
		return c, err
	}
	c.claimed = len(jobs)
	if c.claimed == 0 {
		return c, nil
	}
	ids := make([]string, len(jobs))
	nexts := make([]*time.Time, len(jobs))
	// For a fixed_delay job left without a next run, the one instant the claim vouches for
	// (handed_out_at, handedOutSQL): the fire it hands out, whose end sets the next run, or none
	// at all (-infinity) when it hands out nothing. NULL keeps what is stored.
	handed := make([]pgtype.Timestamptz, len(jobs))
	var skips skipRows
	for i, j := range jobs {
		ids[i] = j.ID
		fixedDelay := j.Schedule.Kind == domain.ScheduleFixedDelay
		r, err := plan(j)
		if err != nil {
			c.planErrs = append(c.planErrs, fmt.Errorf("job %s: %w", j.ID, err))
			if fixedDelay {
				handed[i] = handedNothing
			}
			continue // next stays nil: the job stops firing until it is edited
		}
		nexts[i] = r.Next
		switch {
		case !fixedDelay || r.Next != nil:
		case len(r.Fires) > 0:
			handed[i] = pgtype.Timestamptz{Time: r.Fires[len(r.Fires)-1].ScheduledAt, Valid: true}
		default:
			handed[i] = handedNothing // its schedule has ended
		}
		c.fires = append(c.fires, r.Fires...)
		skips.add(j, r.Skips)
	}
	for i := range c.fires {
		c.fires[i].PublishAt = c.fires[i].ScheduledAt
	}
	if _, err := tx.Exec(ctx, `UPDATE jobs j SET next_run_at = u.next, handed_out_at = coalesce(u.handed, j.handed_out_at)
		FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) AS u(id, next, handed) WHERE j.id = u.id`, ids, nexts, handed); err != nil {
		return c, err
	}
	// A day is never made here: DDL in this transaction would hold the jobs' row locks
	// longer, and making it on another connection could wait for a connection this claim
	// holds.
	if c.days = s.unknownDays(skips.at); len(c.days) > 0 {
		return c, errRetryClaim
	}
	if err := skips.insert(ctx, tx, now); err != nil {
		if isNoPartition(err) {
			s.forgetDays() // dropped elsewhere since; the next claim makes them again
		}
		return c, err
	}
	return c, nil
}

// handedNothing is handed_out_at for a fixed_delay job whose claim vouches for no instant.
var handedNothing = pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}

// insertOutbox writes fires to the outbox in tx, as written at now, and returns those it wrote:
// a key already in the outbox is already on its way, and the relay owns it.
func insertOutbox(ctx context.Context, tx pgx.Tx, fires []domain.Fire, now time.Time) ([]domain.Fire, error) {
	if len(fires) == 0 {
		return fires, nil
	}
	keys := make([]string, len(fires))
	jobIDs := make([]string, len(fires))
	kinds := make([]string, len(fires))
	triggers := make([]string, len(fires))
	at := make([]time.Time, len(fires))
	payloads := make([]string, len(fires))
	publishAt := make([]time.Time, len(fires))
	for i, f := range fires {
		keys[i], jobIDs[i], kinds[i], triggers[i], at[i], payloads[i], publishAt[i] = f.Key, f.JobID, string(f.Kind), string(f.Trigger), f.ScheduledAt, string(f.Payload), f.PublishAt
	}
	rows, err := tx.Query(ctx, `INSERT INTO outbox (idempotency_key, job_id, kind, trigger, scheduled_at, payload, publish_at, created_at)
		SELECT *, `+nowParam(8)+` FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::text[]::jsonb[], $7::timestamptz[])
		ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key`, keys, jobIDs, kinds, triggers, at, payloads, publishAt, nullTime(now))
	if err != nil {
		return nil, err
	}
	inserted, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	if len(inserted) == len(fires) {
		return fires, nil
	}
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
	return kept, nil
}

// HeldClaim is a claim whose transaction stays open until its fires are published: the jobs
// stay locked at their old next_run_at, so that if the claimer dies, or the commit fails, the
// transaction rolls back and the next claim — by any replica — plans and publishes the same
// fires under the same idempotency keys, which JetStream and the executions' unique key store
// once. The broker's acknowledgement is the fire's durable record, and the claim writes no
// outbox row for a fire it published.
type HeldClaim struct {
	tx    pgx.Tx
	now   time.Time
	Fires []domain.Fire
	// Claimed counts the jobs claimed, whether or not they fire now.
	Claimed int
	// PlanErrs are the errors of jobs that cannot be planned: they stop firing until edited.
	PlanErrs []error
}

// heldIdleTimeout bounds how long a held claim may wait between its statements: publishing
// takes well under a second, or up to the broker client's 10 s timeout when the broker is down.
const heldIdleTimeout = "30s"

// ClaimDueHeld is ClaimDue with the transaction left open: see HeldClaim. The caller publishes
// the fires and then calls Commit, or Rollback. A claim that found no job comes back committed.
func (s *Store) ClaimDueHeld(ctx context.Context, now time.Time, shards []int32, horizon time.Time, limit int, plan Plan) (*HeldClaim, error) {
	for range 3 {
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			return nil, translate("claim due jobs", err)
		}
		// A claim left idle this long — its tick stalled, or its host is gone while the
		// connection looks alive — is ended by the server and rolled back, releasing its jobs;
		// its fires are then claimed again under the same keys.
		if _, err := tx.Exec(ctx, `SET LOCAL idle_in_transaction_session_timeout = '`+heldIdleTimeout+`'`); err != nil {
			_ = tx.Rollback(context.Background())
			return nil, translate("claim due jobs", err)
		}
		c, err := s.claimIn(ctx, tx, now, shards, horizon, limit, plan)
		if err != nil {
			// Background: the claim's own context may be what ended.
			_ = tx.Rollback(context.Background())
			if !errors.Is(err, errRetryClaim) {
				return nil, translate("claim due jobs", err)
			}
			if err := s.PrepareHistory(ctx, c.days...); err != nil {
				return nil, err
			}
			continue
		}
		held := &HeldClaim{tx: tx, now: now, Fires: c.fires, Claimed: c.claimed, PlanErrs: c.planErrs}
		if c.claimed == 0 {
			return held, held.Commit(ctx, nil)
		}
		return held, nil
	}
	return nil, errors.New("claim due jobs: history partitions keep disappearing")
}

// Commit writes the fires that could not be published to the outbox, for the relay, and
// commits the claim. When it fails the claim is rolled back, and its jobs fire again at the
// next claim under the same keys.
func (c *HeldClaim) Commit(ctx context.Context, unpublished []domain.Fire) error {
	if c.tx == nil {
		return nil
	}
	tx := c.tx
	c.tx = nil
	if _, err := insertOutbox(ctx, tx, unpublished, c.now); err != nil {
		_ = tx.Rollback(context.Background())
		return translate("keep unpublished fires", err)
	}
	return translate("commit claim", tx.Commit(ctx))
}

// Rollback gives the claim up: its jobs are claimed again, and fire under the same keys.
func (c *HeldClaim) Rollback(ctx context.Context) {
	if c.tx != nil {
		_ = c.tx.Rollback(ctx)
		c.tx = nil
	}
}

// errRetryClaim rolls a claim back to make history days first.
var errRetryClaim = errors.New("history days to make first")

// NextDue returns the earliest next_run_at of an enabled job of shards (nil: every shard) that
// no claim holds, and false when none is scheduled. held reports that a claim holds a job due
// before it (or at all, when none is): its visible next_run_at is the instant being fired, and
// the job is to be looked at again once that claim ends, by this replica or another.
func (s *Store) NextDue(ctx context.Context, shards []int32) (next time.Time, ok, held bool, err error) {
	var free, earliest *time.Time
	err = s.pool.QueryRow(ctx, `SELECT
			(SELECT next_run_at FROM jobs
				WHERE enabled AND next_run_at IS NOT NULL AND ($1::int[] IS NULL OR shard = ANY($1))
				ORDER BY next_run_at LIMIT 1 FOR KEY SHARE SKIP LOCKED),
			(SELECT min(next_run_at) FROM jobs WHERE enabled AND ($1::int[] IS NULL OR shard = ANY($1)))`,
		shards).Scan(&free, &earliest)
	if err != nil {
		return time.Time{}, false, false, translate("next due job", err)
	}
	held = earliest != nil && (free == nil || earliest.Before(*free))
	if free == nil {
		return time.Time{}, false, held, nil
	}
	return free.UTC(), true, held, nil
}

// NextDueTimes is when the jobs of some shards are next due: NextDue's answer, per job kind the
// next fire of the kinds asked for, and what became of the fires asked about.
type NextDueTimes struct {
	// Next, OK and Held are NextDue's next, ok and held.
	Next     time.Time
	OK, Held bool
	// Kinds holds, for each kind asked for that has one, the next fire of an enabled job of the
	// kind that no claim holds (the earliest next_run_at), if it is at most lead after the
	// earlier of Next and until. A kind due later is left out: the caller looks again before
	// then.
	Kinds map[domain.JobKind]Candidate
	// Fates says, index for index, what became of each fire the caller asked about.
	Fates []Fate
}

// Candidate is a job's next fire as a look at the jobs saw it: the job, its version then, and
// the instant.
type Candidate struct {
	JobID   string
	Version int64
	At      time.Time
}

// Fate is what became of a fire a look at the jobs saw coming.
type Fate int

const (
	// FatePending: the fire has not happened yet, or it is not known yet: the job's row is held
	// by a claim or an edit, whose end decides it. Ask again.
	FatePending Fate = iota
	// FateClaimed: a claim took the fire and the job moved on to its next one, the version
	// unchanged: the fire is published, or is being.
	FateClaimed
	// FateDropped: the fire will not happen as seen: the job was edited (a new version), paused
	// or deleted before a claim took it, or its claim recorded it skipped (a freeze, the misfire
	// policy, the starting deadline).
	FateDropped
)

// NextDueByKind is NextDue with, in the same statement, each kind's next fire (see
// NextDueTimes) and the fate of the fires in watch: what the tick needs to wake a kind's
// executors lead before its fire, and to count a kind warm only from a fire that happens
// (docs/deploy.md §8). Each kind's probe walks jobs_due_idx from its start and stops at the
// kind's first job or at the bound, so a kind with no job due soon costs a walk over the jobs
// due before the bound, of whatever kind (3.4 ms for 8 334 jobs; an index on (kind,
// next_run_at) was tried and dropped, §8 says why). Each watched fire is a read of its job by
// id and, when the job moved on, of its execution's key.
func (s *Store) NextDueByKind(ctx context.Context, shards []int32, kinds []domain.JobKind, until time.Time, lead time.Duration, watch []Candidate) (NextDueTimes, error) {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	n := len(watch)
	ids, versions, ats, instants, keys := make([]string, n), make([]int64, n), make([]time.Time, n), make([]time.Time, n), make([]string, n)
	for i, c := range watch {
		// next_run_at is compared as stored (a fixed_delay job's has microseconds); a claim
		// records a skipped fire at its instant, to the millisecond.
		in := domain.Instant(c.At)
		ids[i], versions[i], ats[i], instants[i], keys[i] = c.JobID, c.Version, c.At, in, domain.ScheduledKey(c.JobID, in)
	}
	var (
		free, earliest *time.Time
		gotKinds       []string
		gotIDs         []string
		gotVersions    []int64
		gotAt          []time.Time
		fates          []int32
	)
	err := s.pool.QueryRow(ctx, `WITH due AS (SELECT
			(SELECT next_run_at FROM jobs
				WHERE enabled AND next_run_at IS NOT NULL AND ($1::int[] IS NULL OR shard = ANY($1))
				ORDER BY next_run_at LIMIT 1 FOR KEY SHARE SKIP LOCKED) AS free,
			(SELECT min(next_run_at) FROM jobs WHERE enabled AND ($1::int[] IS NULL OR shard = ANY($1))) AS earliest)
		SELECT due.free, due.earliest, coalesce(d.kinds, '{}'), coalesce(d.ids, '{}'), coalesce(d.versions, '{}'), coalesce(d.ats, '{}'),
			coalesce((SELECT array_agg(CASE
					WHEN j.id IS NULL THEN 2
					-- Held FOR UPDATE, by a claim or an edit: its end decides.
					WHEN NOT EXISTS (SELECT FROM jobs l WHERE l.id = w.id FOR KEY SHARE SKIP LOCKED) THEN 0
					WHEN NOT j.enabled OR j.version <> w.version THEN 2
					WHEN j.next_run_at IS NOT NULL AND j.next_run_at <= w.at THEN 0
					-- A claim records the fires it skips with attempt 0; a published fire's
					-- execution has no row yet, or attempt 1 and on.
					WHEN EXISTS (SELECT FROM job_executions x WHERE x.idempotency_key = w.key AND x.scheduled_at = w.instant
						AND x.status = 'skipped' AND x.attempt = 0) THEN 2
					ELSE 1 END ORDER BY w.ord)
				FROM unnest($5::uuid[], $6::bigint[], $7::timestamptz[], $8::timestamptz[], $9::text[]) WITH ORDINALITY AS w(id, version, at, instant, key, ord)
				LEFT JOIN jobs j ON j.id = w.id), '{}')
		FROM due
			CROSS JOIN LATERAL (SELECT array_agg(k.kind ORDER BY k.ord) AS kinds, array_agg(n.id ORDER BY k.ord) AS ids,
					array_agg(n.version ORDER BY k.ord) AS versions, array_agg(n.next_run_at ORDER BY k.ord) AS ats
				FROM unnest($2::text[]) WITH ORDINALITY AS k(kind, ord)
				CROSS JOIN LATERAL (SELECT id::text, version, next_run_at FROM jobs
					WHERE enabled AND kind = k.kind AND next_run_at <= least(due.free, $3::timestamptz) + $4::interval
						AND ($1::int[] IS NULL OR shard = ANY($1))
					ORDER BY next_run_at LIMIT 1 FOR KEY SHARE SKIP LOCKED) AS n) AS d`,
		shards, names, until, lead, ids, versions, ats, instants, keys).Scan(&free, &earliest, &gotKinds, &gotIDs, &gotVersions, &gotAt, &fates)
	if err != nil {
		return NextDueTimes{}, translate("next due job by kind", err)
	}
	var t NextDueTimes
	t.Held = earliest != nil && (free == nil || earliest.Before(*free))
	if free != nil {
		t.Next, t.OK = free.UTC(), true
	}
	if len(gotKinds) > 0 {
		t.Kinds = make(map[domain.JobKind]Candidate, len(gotKinds))
		for i, k := range gotKinds {
			t.Kinds[domain.JobKind(k)] = Candidate{JobID: gotIDs[i], Version: gotVersions[i], At: gotAt[i].UTC()}
		}
	}
	if n > 0 {
		t.Fates = make([]Fate, n)
		for i, f := range fates {
			t.Fates[i] = Fate(f)
		}
	}
	return t, nil
}

// DeleteFires removes published fires from the outbox. The same statement keeps in
// published_fires a fire of a trigger that carries its own payload and force (any but the
// schedule and backfills), so that an executor pushed a delivery of it later runs with what was
// published, not with what the delivery says; and a fire of any trigger whose instant is before
// the history floor (a catch-up after a long pause), which the claim's word no longer vouches
// for (handedOutSQL; docs/deploy.md §4, "Pushed events"). A batch of due scheduled fires keeps
// nothing, and reads no payload.
func (s *Store) DeleteFires(ctx context.Context, keys []string) error {
	_, err := s.pool.Exec(ctx, `WITH gone AS (
			DELETE FROM outbox WHERE idempotency_key = ANY($1)
			RETURNING idempotency_key, scheduled_at, job_id, trigger,
				CASE WHEN trigger NOT IN ('schedule', 'backfill') THEN payload END AS payload)
		INSERT INTO published_fires (idempotency_key, scheduled_at, job_id, trigger, forced, payload)
		SELECT idempotency_key, scheduled_at, job_id, trigger, coalesce((payload->>'forced')::boolean, false),
			nullif(payload->'payload', 'null'::jsonb)
		FROM gone WHERE trigger NOT IN ('schedule', 'backfill')
			OR scheduled_at < (SELECT kept_from FROM history_floor)
		ON CONFLICT DO NOTHING`, keys)
	return translate("delete published fires", err)
}

// StrandedFires returns up to limit outbox rows that were due for publication and claimed more
// than age before now (the caller's clock, the one that claimed them; zero: the database's),
// oldest first: fires a crashed or stalled tick claimed but never saw acknowledged. A catch-up
// fire scheduled long ago but claimed just now is not one.
func (s *Store) StrandedFires(ctx context.Context, now time.Time, age time.Duration, limit int) ([]domain.Fire, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+fireColumns+` FROM outbox
		WHERE created_at < `+nowParam(3)+` - $1::interval AND publish_at < `+nowParam(3)+` - $1::interval
		ORDER BY publish_at LIMIT $2`, age, limit, nullTime(now))
	return collectFires(rows, err, "list stranded fires")
}

// OutboxDue returns how many outbox fires are due for publication at now (the caller's clock;
// zero: the database's) and the publication time of the oldest of them, zero when none is: the backlog a stalled
// broker or a dead replica leaves. One aggregate over the publish_at index, read once per relay
// pass.
func (s *Store) OutboxDue(ctx context.Context, now time.Time) (count int, oldest time.Time, err error) {
	var first *time.Time
	if err := s.pool.QueryRow(ctx, `SELECT count(*), min(publish_at) FROM outbox WHERE publish_at <= `+nowParam(1), nullTime(now)).Scan(&count, &first); err != nil {
		return 0, time.Time{}, translate("count due outbox fires", err)
	}
	if first == nil {
		return 0, time.Time{}, nil
	}
	return count, first.UTC(), nil
}

// DueQueued returns up to limit queued fires (backfills, replays: every trigger but the
// schedule, whose fires the claim publishes) whose publication time has come.
func (s *Store) DueQueued(ctx context.Context, now time.Time, limit int) ([]domain.Fire, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+fireColumns+` FROM outbox
		WHERE trigger <> 'schedule' AND publish_at <= $1 ORDER BY publish_at LIMIT $2`, now, limit)
	return collectFires(rows, err, "list due queued fires")
}

// NextQueued returns when the next queued fire after after is to be published, and false when
// none waits.
func (s *Store) NextQueued(ctx context.Context, after time.Time) (time.Time, bool, error) {
	var t *time.Time
	if err := s.pool.QueryRow(ctx, `SELECT min(publish_at) FROM outbox
		WHERE trigger <> 'schedule' AND publish_at > $1`, after).Scan(&t); err != nil {
		return time.Time{}, false, translate("next queued fire", err)
	}
	if t == nil {
		return time.Time{}, false, nil
	}
	return t.UTC(), true, nil
}

// QueueFires queues fires of any trigger but the schedule (backfills, replays) for publication
// at their PublishAt, as queued at now (zero: the database's clock), skipping keys already
// queued. It returns how many were queued.
func (s *Store) QueueFires(ctx context.Context, now time.Time, fires []domain.Fire) (int, error) {
	n := len(fires)
	keys, jobIDs, kinds, triggers := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	at, publishAt, payloads := make([]time.Time, n), make([]time.Time, n), make([]string, n)
	for i, f := range fires {
		keys[i], jobIDs[i], kinds[i], triggers[i] = f.Key, f.JobID, string(f.Kind), string(f.Trigger)
		at[i], publishAt[i], payloads[i] = f.ScheduledAt, f.PublishAt, string(f.Payload)
	}
	// The tick sleeps until its next known instant; the notification makes it look at the queue.
	var queued int
	var change Change // nothing queued, nothing to record
	if n > 0 {
		change = Change{Action: "job.backfill", ObjectKind: "job", ObjectID: fires[0].JobID}
	}
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `WITH q AS (
			INSERT INTO outbox (idempotency_key, job_id, kind, trigger, scheduled_at, payload, publish_at, created_at)
			SELECT *, `+nowParam(8)+` FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::text[]::jsonb[], $7::timestamptz[])
			ON CONFLICT (idempotency_key) DO NOTHING RETURNING 1)
		SELECT count(*), pg_notify(current_schema() || '.vecron_jobs', '') FROM q`,
			keys, jobIDs, kinds, triggers, at, payloads, publishAt, nullTime(now)).Scan(&queued, nil)
		if err != nil || n == 0 {
			return err
		}
		change.After = map[string]any{"queued": queued, "first": fires[0].ScheduledAt, "last": fires[n-1].ScheduledAt, "trigger": fires[0].Trigger}
		change.Namespace, err = jobNamespace(ctx, tx, fires[0].JobID)
		return err
	})
	if err != nil {
		return 0, translate("queue fires", err)
	}
	return queued, nil
}

const fireColumns = `idempotency_key, job_id, kind, trigger, scheduled_at, payload, publish_at`

func collectFires(rows pgx.Rows, err error, op string) ([]domain.Fire, error) {
	if err != nil {
		return nil, translate(op, err)
	}
	fires, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.Fire, error) {
		var f domain.Fire
		err := r.Scan(&f.Key, &f.JobID, &f.Kind, &f.Trigger, &f.ScheduledAt, &f.Payload, &f.PublishAt)
		f.ScheduledAt, f.PublishAt = f.ScheduledAt.UTC(), f.PublishAt.UTC()
		return f, err
	})
	return fires, translate(op, err)
}

// skipRows collects skipped fires of a claim for one insert.
type skipRows struct {
	ids, jobIDs, keys, reasons []string
	versions                   []int64
	at                         []time.Time
	// The skips that stand for a range of instants: their jobs, first instants and ends.
	rangeJobs              []string
	rangeFirst, rangeUntil []time.Time
}

func (r *skipRows) add(j *domain.Job, skips []domain.Skip) {
	for _, sk := range skips {
		id, err := uuid.NewV7()
		if err != nil {
			id = uuid.New()
		}
		r.ids = append(r.ids, id.String())
		r.jobIDs = append(r.jobIDs, j.ID)
		r.keys = append(r.keys, sk.Key)
		r.reasons = append(r.reasons, sk.Reason)
		r.versions = append(r.versions, j.Version)
		r.at = append(r.at, sk.ScheduledAt)
		if !sk.Until.IsZero() {
			r.rangeJobs = append(r.rangeJobs, j.ID)
			r.rangeFirst, r.rangeUntil = append(r.rangeFirst, sk.ScheduledAt), append(r.rangeUntil, sk.Until)
		}
	}
}

// insert records the skips as terminal executions finished at now; a key already recorded keeps
// its row.
func (r *skipRows) insert(ctx context.Context, tx pgx.Tx, now time.Time) error {
	if len(r.ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO job_executions (id, job_id, job_version, idempotency_key, trigger,
		scheduled_at, finished_at, status, attempt, error)
		SELECT u.id, u.job_id, u.version, u.key, 'schedule', u.at, `+nowParam(7)+`, 'skipped', 0, u.reason
		FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::timestamptz[], $6::text[])
			AS u(id, job_id, version, key, at, reason)
		-- In key order, as every writer of job_outcomes counts (migration 00013).
		ORDER BY u.job_id, u.at
		ON CONFLICT (idempotency_key, scheduled_at) DO NOTHING`, r.ids, r.jobIDs, r.versions, r.keys, r.at, r.reasons, nullTime(now))
	if err != nil || len(r.rangeJobs) == 0 {
		return err
	}
	// Past instants the job's next run has moved over and no row of its own says were skipped:
	// a pushed fire of one of them was never handed out (handedOutSQL).
	_, err = tx.Exec(ctx, `INSERT INTO misfire_ranges (job_id, first_at, until_at)
		SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[])
		ON CONFLICT (job_id, first_at) DO UPDATE SET until_at = greatest(misfire_ranges.until_at, EXCLUDED.until_at)`,
		r.rangeJobs, r.rangeFirst, r.rangeUntil)
	return err
}

// OutboxLen returns how many fires wait in the outbox: claimed or queued, not yet acknowledged.
func (s *Store) OutboxLen(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&n)
	return n, translate("count outbox", err)
}

package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vecron/vecron/shared/domain"
)

// Execution history lives in one partition per UTC day of the fire's scheduled instant
// (docs/history-partitions.md). A writer makes sure the days it writes exist before it writes,
// remembering the days it has seen, so the hot path pays a map lookup per row.

// historyDays remembers the days whose partitions this process made or found.
type historyDays struct{ seen sync.Map }

// Day returns the UTC day holding t, as midnight UTC.
func Day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// PrepareHistory makes the partitions of the days holding the instants at, unless this process
// already knows them.
func (s *Store) PrepareHistory(ctx context.Context, at ...time.Time) error {
	var last time.Time
	for _, t := range at {
		d := Day(t)
		if d.Equal(last) {
			continue
		}
		last = d
		if _, ok := s.days.seen.Load(d); ok {
			continue
		}
		if _, err := s.pool.Exec(ctx, `SELECT vecron_history_partition($1::date)`, d.Format(time.DateOnly)); err != nil {
			return translate("create history partition of "+d.Format(time.DateOnly), err)
		}
		s.days.seen.Store(d, true)
	}
	return nil
}

// unknownDays returns the days of at this process does not know to have partitions.
func (s *Store) unknownDays(at []time.Time) []time.Time {
	var out []time.Time
	for _, t := range at {
		d := Day(t)
		if _, ok := s.days.seen.Load(d); !ok && !slices.ContainsFunc(out, d.Equal) {
			out = append(out, d)
		}
	}
	return out
}

// writeHistory runs write after making the days of at. A day this process remembered may have
// been dropped by retention elsewhere since; write then fails for want of a partition, and is run
// once more after the days are made again.
func (s *Store) writeHistory(ctx context.Context, at []time.Time, write func() error) error {
	if err := s.PrepareHistory(ctx, at...); err != nil {
		return err
	}
	err := write()
	if !isNoPartition(err) {
		return err
	}
	s.forgetDays()
	if err := s.PrepareHistory(ctx, at...); err != nil {
		return err
	}
	return write()
}

func (s *Store) forgetDays() { s.days.seen.Clear() }

// isNoPartition reports whether err is PostgreSQL refusing a row of a day without a partition.
func isNoPartition(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23514" && strings.HasPrefix(pgErr.Message, "no partition of relation")
}

// HistoryDay is one day of execution history: its partitions and what they hold.
type HistoryDay struct {
	Day time.Time
	// Executions counts its executions, by the planner's estimate; -1 before the day was first
	// analyzed (autovacuum has not looked at it yet).
	Executions int64
}

// HistoryDays lists the days that have partitions, oldest first.
func (s *Store) HistoryDays(ctx context.Context) ([]HistoryDay, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.relname, greatest(c.reltuples, -1)::bigint FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'job_executions'::regclass ORDER BY c.relname`)
	if err != nil {
		return nil, translate("list history days", err)
	}
	var (
		days []HistoryDay
		name string
		n    int64
	)
	_, err = pgx.ForEachRow(rows, []any{&name, &n}, func() error {
		if d, ok := partitionDay(name); ok {
			days = append(days, HistoryDay{Day: d, Executions: n})
		}
		return nil
	})
	return days, translate("list history days", err)
}

// partitionDay reads the day of a partition's name; false for a table not named by
// vecron_history_partition.
func partitionDay(name string) (time.Time, bool) {
	digits, ok := strings.CutPrefix(name, "job_executions_p")
	if !ok || len(digits) != 8 {
		return time.Time{}, false
	}
	d, err := time.Parse("20060102", digits)
	return d, err == nil
}

// ErrHistoryBusy is returned by DropHistoryDays when another process is dropping history.
var ErrHistoryBusy = errors.New("another process is removing old history")

// HeldDay is a day retention keeps past its time, and why.
type HeldDay struct {
	Day    time.Time
	Reason string
}

// RecentlyWritten is how long a day is kept after a row of it was last written, whatever its
// instant: a replay or backfill of an old instant is dropped no sooner, so that a late duplicate
// of its delivery (a lost acknowledgement, a relayed outbox row) still finds it recorded.
const RecentlyWritten = 24 * time.Hour

// DropHistoryDays drops the partitions of every day that ended at or before before, except a day
// holding open work: a queued or running execution (work in progress), a pending dead letter (it
// waits for a person) or a row written within RecentlyWritten of now. One process drops at a
// time; the others get ErrHistoryBusy.
//
// A day leaves without ever locking the parent tables against fires: it is checked, detached
// CONCURRENTLY (SHARE UPDATE EXCLUSIVE, which writes do not wait for), checked again now that
// nothing can reach it, and dropped — or attached back when work reached it in between.
func (s *Store) DropHistoryDays(ctx context.Context, before, now time.Time) (dropped []time.Time, held []HeldDay, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, nil, translate("remove old history", err)
	}
	defer conn.Release()
	var locked bool
	const lockKey = `hashtextextended(current_schema() || '.vecron_history_retention', 0)`
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+lockKey+`)`).Scan(&locked); err != nil {
		return nil, nil, translate("remove old history", err)
	}
	if !locked {
		return nil, nil, ErrHistoryBusy
	}
	// The session lock outlives a failed statement; give it back on every way out.
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+lockKey+`)`) //nolint:errcheck // a closed connection frees it too

	// Days detached by an interrupted round are finished first, whatever their age.
	days, err := historyTables(ctx, conn.Conn())
	if err != nil {
		return nil, nil, err
	}
	for _, d := range days {
		if !d.leftover && d.day.AddDate(0, 0, 1).After(before) {
			continue
		}
		reason, err := dropDay(ctx, conn.Conn(), d.day, now.Add(-RecentlyWritten))
		switch {
		case err != nil:
			return dropped, held, err
		case reason != "":
			held = append(held, HeldDay{Day: d.day, Reason: reason})
		default:
			s.days.seen.Delete(d.day)
			dropped = append(dropped, d.day)
		}
	}
	return dropped, held, nil
}

type historyTable struct {
	day time.Time
	// leftover: one of the day's tables is detached, or detaching, from its parent.
	leftover bool
}

// historyTables lists the days that have tables, oldest first.
func historyTables(ctx context.Context, conn *pgx.Conn) ([]historyTable, error) {
	rows, err := conn.Query(ctx, `SELECT substr(c.relname, length(c.relname) - 7),
			bool_or(NOT c.relispartition OR coalesce(i.inhdetachpending, false))
		FROM pg_class c LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
			AND c.relname ~ '^job_execution(s|_attempts)_p[0-9]{8}$'
		GROUP BY 1 ORDER BY 1`)
	if err != nil {
		return nil, translate("list history tables", err)
	}
	var (
		out      []historyTable
		digits   string
		leftover bool
	)
	_, err = pgx.ForEachRow(rows, []any{&digits, &leftover}, func() error {
		if d, err := time.Parse("20060102", digits); err == nil {
			out = append(out, historyTable{day: d, leftover: leftover})
		}
		return nil
	})
	return out, translate("list history tables", err)
}

// dropDay drops one day's tables, or says why it keeps them.
func dropDay(ctx context.Context, conn *pgx.Conn, day, recent time.Time) (string, error) {
	wrap := func(err error) (string, error) {
		return "", translate("drop history of "+day.Format(time.DateOnly), err)
	}
	// A look first, without a lock: a day that is held stays attached and untouched.
	if reason, err := openWork(ctx, conn, day, recent); err != nil || reason != "" {
		return reason, err
	}
	for _, t := range dayTables(day) {
		var attached, pending bool
		if err := conn.QueryRow(ctx, `SELECT c.relispartition, coalesce(i.inhdetachpending, false)
			FROM pg_class c LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
			WHERE c.oid = to_regclass($1)`, t.qualified).Scan(&attached, &pending); errors.Is(err, pgx.ErrNoRows) {
			continue
		} else if err != nil {
			return wrap(err)
		}
		var err error
		switch {
		case pending: // a detach interrupted earlier
			_, err = conn.Exec(ctx, `ALTER TABLE `+t.parent+` DETACH PARTITION `+t.name+` FINALIZE`)
		case attached:
			_, err = conn.Exec(ctx, `ALTER TABLE `+t.parent+` DETACH PARTITION `+t.name+` CONCURRENTLY`)
		}
		if err != nil {
			return wrap(err)
		}
	}
	// Detached, the tables are out of every fire's reach; look again, under lock, for what
	// reached them between the first look and the detach.
	var reason string
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var tables []dayTable
		for _, t := range dayTables(day) {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, t.qualified).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				continue
			}
			if _, err := tx.Exec(ctx, `LOCK TABLE `+t.name+` IN ACCESS EXCLUSIVE MODE`); err != nil {
				return err
			}
			tables = append(tables, t)
		}
		var err error
		if reason, err = openWork(ctx, tx, day, recent); err != nil {
			return err
		}
		bounds := fmt.Sprintf(`FOR VALUES FROM ('%s') TO ('%s')`, day.Format(time.RFC3339), day.AddDate(0, 0, 1).Format(time.RFC3339))
		for _, t := range tables {
			if reason != "" {
				_, err = tx.Exec(ctx, `ALTER TABLE `+t.parent+` ATTACH PARTITION `+t.name+` `+bounds)
				if err == nil && t.parent == "job_executions" {
					// A day detached before dead_letters existed (a round interrupted before
					// migration 00010) comes back with its dead letters listed.
					_, err = tx.Exec(ctx, `INSERT INTO dead_letters (execution_id, execution_scheduled_at, dead_lettered_at)
						SELECT id, scheduled_at, coalesce(finished_at, created_at) FROM `+t.name+`
						WHERE status = 'dead_lettered' ON CONFLICT DO NOTHING`)
				}
			} else {
				_, err = tx.Exec(ctx, `DROP TABLE `+t.name)
			}
			if err != nil {
				return err
			}
		}
		if reason == "" {
			// Dropping a partition fires no trigger: the day's (replayed or discarded) dead
			// letters leave their list here.
			_, err = tx.Exec(ctx, `DELETE FROM dead_letters WHERE execution_scheduled_at >= $1 AND execution_scheduled_at < $2`,
				day, day.AddDate(0, 0, 1))
			if err == nil {
				// The day's outcome counts go with it, so statistics describe the history kept.
				_, err = tx.Exec(ctx, `DELETE FROM job_outcomes WHERE hour >= $1 AND hour < $2`, day, day.AddDate(0, 0, 1))
			}
			if err == nil {
				// What a pushed fire is checked against goes with the day too, and no claim
				// vouches any longer for an instant of it (handedOutSQL): no record of the
				// day can say its fire ran.
				_, err = tx.Exec(ctx, `WITH p AS (DELETE FROM published_fires WHERE scheduled_at >= $1 AND scheduled_at < $2),
						r AS (DELETE FROM misfire_ranges WHERE until_at < $2)
					UPDATE history_floor SET kept_from = greatest(kept_from, $2)`, day, day.AddDate(0, 0, 1))
			}
		}
		return err
	})
	if err != nil {
		return wrap(err)
	}
	return reason, nil
}

type dayTable struct{ parent, name, qualified string }

func dayTables(day time.Time) []dayTable {
	suffix := "_p" + day.Format("20060102")
	return []dayTable{
		{parent: "job_executions", name: pgx.Identifier{"job_executions" + suffix}.Sanitize(), qualified: "job_executions" + suffix},
		{parent: "job_execution_attempts", name: pgx.Identifier{"job_execution_attempts" + suffix}.Sanitize(), qualified: "job_execution_attempts" + suffix},
	}
}

type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// openWork says why day must be kept, or "" when it may go. It reads the whole day: an index on
// open executions would cost every fire one more index write for a question asked once a day.
func openWork(ctx context.Context, q queryRower, day, recent time.Time) (string, error) {
	table := dayTables(day)[0]
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table.qualified).Scan(&exists); err != nil || !exists {
		return "", err
	}
	var open, pending, written int64
	err := q.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status IN ('queued', 'running')),
			count(*) FILTER (WHERE status = 'dead_lettered' AND dead_letter_state = 'pending'),
			count(*) FILTER (WHERE greatest(created_at, finished_at) > $1)
		FROM `+table.name, recent).Scan(&open, &pending, &written)
	switch {
	case err != nil:
		return "", translate("look for open work in "+day.Format(time.DateOnly), err)
	case open > 0:
		return fmt.Sprintf("it holds %d queued or running executions", open), nil
	case pending > 0:
		return fmt.Sprintf("it holds %d pending dead letters: replay or discard them to let the day go", pending), nil
	case written > 0:
		return fmt.Sprintf("%d of its executions were written within the last %s (a replay or backfill of an old instant)", written, RecentlyWritten), nil
	}
	return "", nil
}

// ExportHistoryDay calls fn with each execution scheduled on day, with its attempts, in scheduled
// order. It reads the day as one snapshot, streaming.
func (s *Store) ExportHistoryDay(ctx context.Context, day time.Time, fn func(*domain.Execution) error) (int, error) {
	day = Day(day)
	rows, err := s.pool.Query(ctx, `SELECT `+executionColumns+`, coalesce((SELECT json_agg(json_build_object(
			'attempt', a.attempt, 'started_at', a.started_at, 'finished_at', a.finished_at, 'status', a.status,
			'http_status', coalesce(a.http_status, 0), 'duration_ms', a.duration_ms, 'error', coalesce(a.error, ''),
			'worker_id', coalesce(a.worker_id, '')) ORDER BY a.attempt)
			FROM job_execution_attempts a WHERE a.execution_id = e.id AND a.scheduled_at = e.scheduled_at),
		CASE WHEN `+firstAttemptFromRow+` THEN json_build_array(json_build_object(
			'attempt', 1, 'started_at', e.started_at, 'finished_at', e.finished_at, 'status', e.status,
			'http_status', coalesce(e.http_status, 0), 'duration_ms', coalesce(e.duration_ms, 0),
			'error', coalesce(e.error, ''), 'worker_id', coalesce(e.worker_id, ''))) END, '[]')
		FROM job_executions e WHERE e.scheduled_at >= $1 AND e.scheduled_at < $2
		ORDER BY e.scheduled_at, e.id`, day, day.AddDate(0, 0, 1))
	if err != nil {
		return 0, translate("export history", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var attempts []domain.Attempt
		e, err := scanExecution(rows, &attempts)
		if err != nil {
			return n, translate("export history", err)
		}
		for i := range attempts {
			attempts[i].StartedAt, attempts[i].FinishedAt = utcPtr(attempts[i].StartedAt), attempts[i].FinishedAt.UTC()
		}
		e.Attempts = attempts
		if err := fn(e); err != nil {
			return n, err
		}
		n++
	}
	return n, translate("export history", rows.Err())
}

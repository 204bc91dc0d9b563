package store

import (
	"context"
	"errors"
	"fmt"
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
	// Executions counts its executions, by the planner's estimate.
	Executions int64
}

// HistoryDays lists the days that have partitions, oldest first.
func (s *Store) HistoryDays(ctx context.Context) ([]HistoryDay, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.relname, greatest(c.reltuples, 0)::bigint FROM pg_inherits i
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

func partitionNames(day time.Time) (executions, attempts string) {
	suffix := "_p" + day.Format("20060102")
	return pgx.Identifier{"job_executions" + suffix}.Sanitize(), pgx.Identifier{"job_execution_attempts" + suffix}.Sanitize()
}

// ErrHistoryBusy is returned by DropHistoryDays when another process is dropping history.
var ErrHistoryBusy = errors.New("another process is removing old history")

// HeldDay is a day retention keeps past its time, and why.
type HeldDay struct {
	Day    time.Time
	Reason string
}

// dropLockTimeout bounds the wait for the locks a drop needs: DROP takes ACCESS EXCLUSIVE on the
// parents for a moment, and waiting behind a long reader would stall every writer queued behind
// the drop. A drop that gives up is tried again next round.
const dropLockTimeout = "1s"

// DropHistoryDays drops the partitions of every day that ended at or before before, except a day
// holding an open execution: queued or running (work in progress), or a pending dead letter (it
// waits for a person). One process drops at a time; the others get ErrHistoryBusy.
func (s *Store) DropHistoryDays(ctx context.Context, before time.Time) (dropped []time.Time, held []HeldDay, err error) {
	days, err := s.HistoryDays(ctx)
	if err != nil {
		return nil, nil, err
	}
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

	for _, d := range days {
		if d.Day.AddDate(0, 0, 1).After(before) {
			break
		}
		reason, err := dropDay(ctx, conn.Conn(), d.Day)
		switch {
		case err != nil:
			return dropped, held, err
		case reason != "":
			held = append(held, HeldDay{Day: d.Day, Reason: reason})
		default:
			s.days.seen.Delete(d.Day)
			dropped = append(dropped, d.Day)
		}
	}
	return dropped, held, nil
}

// dropDay drops one day's partitions in one transaction, or says why it holds them.
func dropDay(ctx context.Context, conn *pgx.Conn, day time.Time) (string, error) {
	executions, attempts := partitionNames(day)
	var reason string
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '`+dropLockTimeout+`'`); err != nil {
			return err
		}
		// SHARE keeps the day from changing while it is looked at; other days' writes go on.
		if _, err := tx.Exec(ctx, `LOCK TABLE `+executions+`, `+attempts+` IN SHARE MODE`); err != nil {
			return err
		}
		var open, pending int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status IN ('queued', 'running')),
			count(*) FILTER (WHERE status = 'dead_lettered' AND dead_letter_state = 'pending')
			FROM `+executions+` WHERE status IN ('queued', 'running', 'dead_lettered')`).Scan(&open, &pending); err != nil {
			return err
		}
		switch {
		case open > 0:
			reason = fmt.Sprintf("it holds %d queued or running executions", open)
			return nil
		case pending > 0:
			reason = fmt.Sprintf("it holds %d pending dead letters: replay or discard them to let the day go", pending)
			return nil
		}
		_, err := tx.Exec(ctx, `DROP TABLE `+executions+`, `+attempts)
		return err
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "55P03" { // lock_not_available
		return "its tables are in use; the next round tries again", nil
	}
	if err != nil {
		return "", translate("drop history of "+day.Format(time.DateOnly), err)
	}
	return reason, nil
}

// ExportHistoryDay calls fn with each execution scheduled on day, with its attempts, in scheduled
// order. It reads the day as one snapshot, streaming.
func (s *Store) ExportHistoryDay(ctx context.Context, day time.Time, fn func(*domain.Execution) error) (int, error) {
	day = Day(day)
	rows, err := s.pool.Query(ctx, `SELECT `+executionColumns+`, coalesce((SELECT json_agg(json_build_object(
			'attempt', a.attempt, 'started_at', a.started_at, 'finished_at', a.finished_at, 'status', a.status,
			'http_status', coalesce(a.http_status, 0), 'duration_ms', a.duration_ms, 'error', coalesce(a.error, ''),
			'worker_id', coalesce(a.worker_id, '')) ORDER BY a.attempt)
			FROM job_execution_attempts a WHERE a.execution_id = e.id AND a.scheduled_at = e.scheduled_at), '[]')
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

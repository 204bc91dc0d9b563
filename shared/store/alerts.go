package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// The failure streaks and their notices (docs/alerts.md, migration 00027). An execution's end
// moves its job's streak in the statement that records it, through a trigger on
// job_executions: every path that ends an execution counts, a crash loses nothing and counts
// nothing twice, and a healthy job's success writes nothing.

// AlertOutcome is a failure of a job that is not an execution ending: a missed fire, for
// CountFailuresTx.
type AlertOutcome struct {
	JobID string
	// ExecutionID names the execution the failure is recorded as, if any ("" for none).
	ExecutionID string
	// Error says what went wrong; it is stored cut to 1000 bytes, and must hold no secret.
	Error string
	// At is when the failure was established, from the caller's clock.
	At time.Time
	// Missed marks a fire the watchdog found missed: it raises the streak's alert at once,
	// whatever the threshold, since it is late by its grace already and a dead tick leaves one
	// missed fire per job, never a streak of them.
	Missed bool
}

// CountFailuresTx counts outcomes as failures of their jobs' streaks in tx, as an execution
// that ends failed is counted: each lengthens its job's streak, and the failure that makes it
// reach the job's threshold raises the streak's one alert, committed or rolled back with tx.
// The missed-fire watchdog calls it in the transaction that records a fire missed. Outcomes
// are counted in job order, then by instant, the order the finish writes lock streaks in, so
// that two writers never wait on each other in a cycle. It returns the database's error.
func (s *Store) CountFailuresTx(ctx context.Context, tx pgx.Tx, outcomes []AlertOutcome) error {
	list := slices.Clone(outcomes)
	slices.SortStableFunc(list, func(a, b AlertOutcome) int {
		return cmp.Or(cmp.Compare(a.JobID, b.JobID), a.At.Compare(b.At))
	})
	for _, o := range list {
		if _, err := tx.Exec(ctx, `SELECT vecron_alert_count($1, true, $2, $3, $4, $5)`,
			o.JobID, nullable(o.ExecutionID), o.Error, o.At, o.Missed); err != nil {
			return translate("count failure", err)
		}
	}
	return nil
}

// AlertStreak returns a job's current failure streak: how many of its last ends failed in a
// row, and whether the streak has alerted. A job without a streak answers 0 and false.
func (s *Store) AlertStreak(ctx context.Context, jobID string) (failures int, alerted bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT failures, alerted FROM job_alert_state WHERE job_id = $1`, jobID).Scan(&failures, &alerted)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	return failures, alerted, translate("read alert streak", err)
}

const alertColumns = `id, job_id, namespace, job_name, state, consecutive_failures, threshold,
	coalesce(last_error, ''), coalesce(execution_id::text, ''), created_at, deliveries, next_attempt_at, done_at`

func scanAlert(row pgx.Row) (*domain.Alert, error) {
	var (
		a          domain.Alert
		deliveries []byte
	)
	if err := row.Scan(&a.ID, &a.JobID, &a.Namespace, &a.JobName, &a.State, &a.ConsecutiveFailures, &a.Threshold,
		&a.LastError, &a.ExecutionID, &a.CreatedAt, &deliveries, &a.NextAttemptAt, &a.DoneAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(deliveries, &a.Deliveries); err != nil {
		return nil, fmt.Errorf("alert %d: decode deliveries: %w", a.ID, err)
	}
	a.CreatedAt, a.NextAttemptAt, a.DoneAt = a.CreatedAt.UTC(), a.NextAttemptAt.UTC(), utcPtr(a.DoneAt)
	return &a, nil
}

// JobAlerts returns a job's newest notices, newest first, at most limit.
func (s *Store) JobAlerts(ctx context.Context, jobID string, limit int) ([]*domain.Alert, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+alertColumns+` FROM alerts WHERE job_id = $1 ORDER BY id DESC LIMIT $2`, jobID, limit)
	if err != nil {
		return nil, translate("list alerts", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.Alert, error) { return scanAlert(r) })
	return list, translate("list alerts", err)
}

// DeliverAlerts hands deliver the notices due at now that no other replica holds, oldest first
// and at most limit, each only once every older notice of its job is done (a recovery never
// overtakes its alert), then stores what deliver made of them: their Deliveries, NextAttemptAt
// and DoneAt. The notices stay locked while deliver runs, so replicas deliver each once at a
// time; one that stops mid-way leaves them as they were, to be delivered again. It returns how
// many notices it handed over, and deliver's error or the database's.
func (s *Store) DeliverAlerts(ctx context.Context, now time.Time, limit int, deliver func(ctx context.Context, list []*domain.Alert) error) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+alertColumns+` FROM alerts a
			WHERE done_at IS NULL AND next_attempt_at <= $1
				AND NOT EXISTS (SELECT 1 FROM alerts b WHERE b.job_id = a.job_id AND b.id < a.id AND b.done_at IS NULL)
			ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`, now, limit)
		if err != nil {
			return err
		}
		list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.Alert, error) { return scanAlert(r) })
		if err != nil || len(list) == 0 {
			return err
		}
		n = len(list)
		if err := deliver(ctx, list); err != nil {
			return err
		}
		ids, next, done, deliveries := make([]int64, n), make([]time.Time, n), make([]*time.Time, n), make([][]byte, n)
		for i, a := range list {
			ids[i], next[i], done[i] = a.ID, a.NextAttemptAt, a.DoneAt
			d := a.Deliveries
			if d == nil {
				d = map[string]*domain.AlertDelivery{}
			}
			if deliveries[i], err = json.Marshal(d); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `UPDATE alerts a SET deliveries = u.deliveries, next_attempt_at = u.next, done_at = u.done
			FROM unnest($1::bigint[], $2::jsonb[], $3::timestamptz[], $4::timestamptz[]) AS u(id, deliveries, next, done)
			WHERE a.id = u.id`, ids, deliveries, next, done)
		return err
	})
	return n, translate("deliver alerts", err)
}

// PruneAlerts removes the notices done before before, and returns how many it removed.
func (s *Store) PruneAlerts(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM alerts WHERE done_at < $1`, before)
	return tag.RowsAffected(), translate("prune alerts", err)
}

// CountMissed is the missed-fire watchdog's hook (MissedHook): in the transaction that records
// fires missed, each counts as a failure of its job's streak and raises the streak's alert at
// once (AlertOutcome.Missed), so an operator hears of a dead tick or a stuck executor through
// the job's alert channels, and the job's next success sends the recovery.
func (s *Store) CountMissed(ctx context.Context, tx pgx.Tx, fires []domain.MissedFire) error {
	out := make([]AlertOutcome, 0, len(fires))
	for _, f := range fires {
		msg := "missed (" + string(f.Stage) + "): due " + f.ScheduledAt.UTC().Format(time.RFC3339) + " and not started within its grace"
		if f.Detail != "" {
			msg += ": " + f.Detail
		}
		out = append(out, AlertOutcome{JobID: f.JobID, Error: msg, At: f.DetectedAt, Missed: true})
	}
	return s.CountFailuresTx(ctx, tx, out)
}

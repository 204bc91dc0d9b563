package store

import (
	"context"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

const (
	// recentOutcomes is how many of a job's newest ended executions the statistics read.
	recentOutcomes = 100
	// stripOutcomes is how many of them JobStats.LastOutcomes shows.
	stripOutcomes = 20
)

// JobStats returns the statistics of each job of ids that has ended executions (others get
// zero statistics), as of now. It reads the hourly outcome counts (job_outcomes) and each job's
// 100 newest ended executions, and looks into one hour of history more only for a job whose
// last success or failure lies further back: its cost does not grow with how often a job fires.
func (s *Store) JobStats(ctx context.Context, ids []string, now time.Time) (map[string]*domain.JobStats, error) {
	from := now.UTC().Add(-domain.StatsWindow).Truncate(time.Hour)
	out := make(map[string]*domain.JobStats, len(ids))
	for _, id := range ids {
		out[id] = &domain.JobStats{JobID: id, WindowFrom: from, LastOutcomes: []domain.Outcome{}}
	}
	if len(ids) == 0 {
		return out, nil
	}
	recent, err := s.recentOutcomes(ctx, ids)
	if err != nil {
		return nil, err
	}
	hours, err := s.outcomeHours(ctx, ids, from)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		st, list, h := out[id], recent[id], hours[id]
		st.Counts = h.window
		if ran := st.Counts.Succeeded + st.Counts.Failures(); ran > 0 {
			rate := float64(st.Counts.Succeeded) / float64(ran)
			st.SuccessRate = &rate
		}
		if len(list) > 0 {
			st.LastOutcomes = list[:min(len(list), stripOutcomes)]
		}
		var durations []float64
		for _, o := range list {
			if o.Status.Ran() && o.DurationMS != nil {
				durations = append(durations, *o.DurationMS)
			}
		}
		st.Duration = DurationPercentiles(durations)
		streak := Streak(list)
		st.ConsecutiveFailures, st.LastSuccessAt, st.LastFailureAt = streak.Failures, streak.LastSuccess, streak.LastFailure
		if !streak.SuccessFound {
			if err := s.resolveSuccess(ctx, id, h, st); err != nil {
				return nil, err
			}
		}
		if st.LastFailureAt == nil && h.lastFailureHour != nil {
			o, err := s.newestInHour(ctx, id, *h.lastFailureHour, failureStatuses)
			if err != nil {
				return nil, err
			}
			if o != nil {
				st.LastFailureAt = o.FinishedAt
			}
		}
	}
	return out, nil
}

var failureStatuses = []string{string(domain.StatusFailed), string(domain.StatusTimedOut), string(domain.StatusDeadLettered)}

// resolveSuccess finds the last success of a job none of whose recent outcomes succeeded, and
// counts the failures since it: those of the hours after its hour from the counts, and those
// after it within its hour from the history.
func (s *Store) resolveSuccess(ctx context.Context, id string, h outcomeHours, st *domain.JobStats) error {
	if h.lastSuccessHour == nil {
		st.ConsecutiveFailures = h.failuresAfterSuccess // every failure kept
		return nil
	}
	o, err := s.newestInHour(ctx, id, *h.lastSuccessHour, []string{string(domain.StatusSucceeded)})
	if err != nil || o == nil {
		// Its hour was dropped with the history between the two reads: nothing to tell.
		return err
	}
	st.LastSuccessAt = o.FinishedAt
	var within int
	err = s.pool.QueryRow(ctx, `SELECT count(*) FROM job_executions
		WHERE job_id = $1 AND scheduled_at > $2 AND scheduled_at < $3 AND status = ANY($4)`,
		id, o.ScheduledAt, h.lastSuccessHour.Add(time.Hour), failureStatuses).Scan(&within)
	if err != nil {
		return translate("job stats: failures since the last success", err)
	}
	st.ConsecutiveFailures = h.failuresAfterSuccess + within
	return nil
}

// newestInHour returns the newest ended execution of the job with one of statuses among the fires
// scheduled in the hour from hour, or nil.
func (s *Store) newestInHour(ctx context.Context, id string, hour time.Time, statuses []string) (*domain.Outcome, error) {
	var o domain.Outcome
	err := s.pool.QueryRow(ctx, `SELECT id, status, scheduled_at, finished_at, duration_ms FROM job_executions
		WHERE job_id = $1 AND scheduled_at >= $2 AND scheduled_at < $3 AND status = ANY($4)
		ORDER BY scheduled_at DESC, id DESC LIMIT 1`, id, hour, hour.Add(time.Hour), statuses).
		Scan(&o.ExecutionID, &o.Status, &o.ScheduledAt, &o.FinishedAt, &o.DurationMS)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, translate("job stats: newest outcome of an hour", err)
	}
	return inUTC(&o), nil
}

// recentOutcomes reads the newest ended executions of each job, newest first.
func (s *Store) recentOutcomes(ctx context.Context, ids []string) (map[string][]domain.Outcome, error) {
	rows, err := s.pool.Query(ctx, `SELECT i.job_id, r.id, r.status, r.scheduled_at, r.finished_at, r.duration_ms
		FROM unnest($1::uuid[]) AS i(job_id), LATERAL (
			SELECT e.id, e.status, e.scheduled_at, e.finished_at, e.duration_ms FROM job_executions e
			WHERE e.job_id = i.job_id AND e.status NOT IN ('queued', 'running')
			ORDER BY e.scheduled_at DESC, e.id DESC LIMIT $2) r
		ORDER BY i.job_id, r.scheduled_at DESC, r.id DESC`, ids, recentOutcomes)
	if err != nil {
		return nil, translate("job stats: recent outcomes", err)
	}
	out := map[string][]domain.Outcome{}
	var (
		job string
		o   domain.Outcome
	)
	_, err = pgx.ForEachRow(rows, []any{&job, &o.ExecutionID, &o.Status, &o.ScheduledAt, &o.FinishedAt, &o.DurationMS}, func() error {
		out[job] = append(out[job], *inUTC(&o))
		o = domain.Outcome{}
		return nil
	})
	return out, translate("job stats: recent outcomes", err)
}

// outcomeHours is what a job's hourly counts say.
type outcomeHours struct {
	window                           domain.OutcomeCounts
	lastSuccessHour, lastFailureHour *time.Time
	// failuresAfterSuccess counts the failures of the hours after lastSuccessHour (of every
	// hour when there is none).
	failuresAfterSuccess int
}

func (s *Store) outcomeHours(ctx context.Context, ids []string, from time.Time) (map[string]outcomeHours, error) {
	rows, err := s.pool.Query(ctx, `WITH b AS (
			SELECT * FROM job_outcomes WHERE job_id = ANY($1::uuid[])),
		last AS (
			SELECT job_id, max(hour) FILTER (WHERE succeeded > 0) AS success,
				max(hour) FILTER (WHERE failed + timed_out + dead_lettered > 0) AS failure
			FROM b GROUP BY job_id)
		SELECT b.job_id,
			coalesce(sum(b.succeeded) FILTER (WHERE b.hour >= $2), 0), coalesce(sum(b.failed) FILTER (WHERE b.hour >= $2), 0),
			coalesce(sum(b.timed_out) FILTER (WHERE b.hour >= $2), 0), coalesce(sum(b.skipped) FILTER (WHERE b.hour >= $2), 0),
			coalesce(sum(b.cancelled) FILTER (WHERE b.hour >= $2), 0), coalesce(sum(b.dead_lettered) FILTER (WHERE b.hour >= $2), 0),
			last.success, last.failure,
			coalesce(sum(b.failed + b.timed_out + b.dead_lettered) FILTER (WHERE last.success IS NULL OR b.hour > last.success), 0)
		FROM b JOIN last USING (job_id)
		GROUP BY b.job_id, last.success, last.failure`, ids, from)
	if err != nil {
		return nil, translate("job stats: hourly counts", err)
	}
	out := map[string]outcomeHours{}
	var (
		job string
		h   outcomeHours
	)
	_, err = pgx.ForEachRow(rows, []any{&job, &h.window.Succeeded, &h.window.Failed, &h.window.TimedOut, &h.window.Skipped,
		&h.window.Cancelled, &h.window.DeadLettered, &h.lastSuccessHour, &h.lastFailureHour, &h.failuresAfterSuccess}, func() error {
		out[job] = h
		h = outcomeHours{} // the pointers scanned into are fresh for the next row
		return nil
	})
	return out, translate("job stats: hourly counts", err)
}

// inUTC returns o with its times in UTC, as every instant the API writes.
func inUTC(o *domain.Outcome) *domain.Outcome {
	o.ScheduledAt = o.ScheduledAt.UTC()
	if o.FinishedAt != nil {
		t := o.FinishedAt.UTC()
		o.FinishedAt = &t
	}
	return o
}

// StreakResult is what a job's newest outcomes say about its run of failures.
type StreakResult struct {
	// Failures counts the failures newer than the newest success (all of them when SuccessFound
	// is false).
	Failures     int
	SuccessFound bool
	LastSuccess  *time.Time
	LastFailure  *time.Time
}

// Streak reads outcomes, newest first.
func Streak(outcomes []domain.Outcome) StreakResult {
	var r StreakResult
	for _, o := range outcomes {
		switch {
		case o.Status == domain.StatusSucceeded && !r.SuccessFound:
			r.SuccessFound, r.LastSuccess = true, o.FinishedAt
		case o.Status.Failure():
			if !r.SuccessFound {
				r.Failures++
			}
			if r.LastFailure == nil {
				r.LastFailure = o.FinishedAt
			}
		}
		if r.SuccessFound && r.LastFailure != nil {
			break
		}
	}
	return r
}

// DurationPercentiles returns the nearest-rank p50 and p95 of durations.
func DurationPercentiles(durations []float64) domain.DurationStats {
	d := domain.DurationStats{Samples: len(durations)}
	if len(durations) == 0 {
		return d
	}
	sorted := slices.Clone(durations)
	slices.Sort(sorted)
	rank := func(p float64) *float64 {
		v := sorted[max(int(math.Ceil(p*float64(len(sorted))))-1, 0)]
		return &v
	}
	d.P50, d.P95 = rank(0.50), rank(0.95)
	return d
}

package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// manyJobsMax is the most jobs a listing across jobs reads one by one, each through its own
// index, before it reads every job's executions newest first and keeps those of its jobs.
const manyJobsMax = 500

// rareColumns are the outcome counters of job_outcomes that the index job_outcomes_rare finds
// by hour, by the status they count.
var rareColumns = map[domain.ExecutionStatus]string{
	domain.StatusFailed: "failed", domain.StatusTimedOut: "timed_out", domain.StatusSkipped: "skipped",
	domain.StatusCancelled: "cancelled", domain.StatusDeadLettered: "dead_lettered",
}

// Bounds of a lane read without a bound of its own, inside the range PostgreSQL keeps.
var (
	laneMin = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	laneMax = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
)

// ListAllExecutions returns a page of the executions of every job in scope, newest scheduled
// first, filtered by f, after the cursor (docs/history-listing.md):
//   - a scope of a few jobs is read job by job through each job's index;
//   - a filter on rare outcomes reads the jobs and hours whose outcome counts hold one;
//   - anything else reads every job's executions newest first through the index on the
//     scheduled instant, keeping the jobs in scope.
//
// Either way a page reads about a page of rows, not the history.
func (s *Store) ListAllExecutions(ctx context.Context, scope domain.ExecutionScope, f domain.ExecutionFilter, after *domain.ExecutionCursor, limit int) ([]*domain.Execution, error) {
	if scope.Namespaces != nil {
		// Each namespace's jobs in the order of its (namespace, name) index, so that the read
		// stops at the limit: a plain match may first gather a million-job namespace whole.
		rows, err := s.pool.Query(ctx, `SELECT j.id FROM unnest($1::text[]) AS n(ns),
			LATERAL (SELECT id FROM jobs WHERE namespace = n.ns ORDER BY name LIMIT $2) j LIMIT $2`, scope.Namespaces, manyJobsMax+1)
		var jobs []string
		if err == nil {
			jobs, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		if err != nil {
			return nil, translate("list executions: the jobs in scope", err)
		}
		if len(jobs) == 0 {
			return nil, nil
		}
		if len(jobs) <= manyJobsMax {
			lo, hi := laneMin, laneMax
			if f.From != nil {
				lo = *f.From
			}
			if f.To != nil {
				hi = *f.To
			}
			ls := lanes{}
			for _, id := range jobs {
				ls.add(id, lo, hi)
			}
			return s.readLanes(ctx, ls, f, after, limit)
		}
	}
	var list []*domain.Execution
	if rare(f.Statuses) {
		found, rest, below, err := s.listRare(ctx, scope.Namespaces, f, after, limit)
		if err != nil || len(found) >= limit || !rest {
			return found, err
		}
		// What the counts cover is read; below it the history is read row by row.
		list, limit = found, limit-len(found)
		if below != nil && (f.To == nil || below.Before(*f.To)) {
			f.To = below
		}
	}
	more, err := s.scanAll(ctx, scope.Namespaces, f, after, limit)
	return append(list, more...), err
}

// rare reports whether every status of a filter is one of the rare outcomes counted by hour.
func rare(statuses []domain.ExecutionStatus) bool {
	for _, st := range statuses {
		if _, ok := rareColumns[st]; !ok {
			return false
		}
	}
	return len(statuses) > 0
}

// scanAll reads every job's executions newest first through the index on the scheduled
// instant, keeping those of the jobs of namespaces (nil: every job's, deleted jobs' too).
func (s *Store) scanAll(ctx context.Context, namespaces []string, f domain.ExecutionFilter, after *domain.ExecutionCursor, limit int) ([]*domain.Execution, error) {
	w := executionWhere(f, after, "")
	if namespaces == nil {
		w.args = append(w.args, limit)
		return s.queryExecutions(ctx, `SELECT `+executionColumns+` FROM job_executions WHERE `+w.cond+
			fmt.Sprintf(" ORDER BY scheduled_at DESC, id DESC LIMIT $%d", len(w.args)), w.args)
	}
	// Each row read looks its job up by key: a join would first gather every job of the
	// scope, a million of them in a big namespace, to keep a page.
	w.args = append(w.args, namespaces, limit)
	return s.queryExecutions(ctx, `SELECT `+executionColumns+` FROM job_executions e WHERE `+w.cond+
		fmt.Sprintf(" AND (SELECT j.namespace FROM jobs j WHERE j.id = e.job_id) = ANY($%d) ORDER BY scheduled_at DESC, id DESC LIMIT $%d",
			len(w.args)-1, len(w.args)), w.args)
}

// lanes are stretches of history read each through its job's index: a job's executions
// scheduled in [lo, hi).
type lanes struct {
	jobs   []string
	lo, hi []time.Time
}

func (l *lanes) add(job string, lo, hi time.Time) {
	l.jobs, l.lo, l.hi = append(l.jobs, job), append(l.lo, lo), append(l.hi, hi)
}

// readLanes returns the newest limit executions of the lanes that pass f and the cursor. A
// lane's newest row is read first; the limit-th newest of those is the edge: each of the page's
// rows is at least as new, so each lane then reads only its rows from the edge on, at most
// limit. A page of many lanes thus reads one row from most and a page from the busiest, not a
// page from each.
func (s *Store) readLanes(ctx context.Context, ls lanes, f domain.ExecutionFilter, after *domain.ExecutionCursor, limit int) ([]*domain.Execution, error) {
	w := executionWhere(f, after, "")
	w.args = append(w.args, ls.jobs, ls.lo, ls.hi, limit)
	n := len(w.args)
	// Inside the lateral queries the filters' bare names are the executions' columns.
	lane := `SELECT %s FROM job_executions WHERE job_id = l.jid AND scheduled_at >= %s AND scheduled_at < l.hi AND ` + w.cond +
		` ORDER BY scheduled_at DESC, id DESC LIMIT %s`
	q := fmt.Sprintf(`WITH l AS (SELECT * FROM unnest($%d::uuid[], $%d::timestamptz[], $%d::timestamptz[]) AS l(jid, lo, hi)),
		tops AS (SELECT x.scheduled_at, x.id FROM l, LATERAL (%s) x),
		edge AS (SELECT scheduled_at FROM tops ORDER BY scheduled_at DESC, id DESC OFFSET $%d - 1 LIMIT 1)
		SELECT `+executionColumns+` FROM l, LATERAL (%s) x ORDER BY scheduled_at DESC, id DESC LIMIT $%d`,
		n-3, n-2, n-1,
		fmt.Sprintf(lane, "scheduled_at, id", "l.lo", "1"),
		n,
		fmt.Sprintf(lane, "*", "greatest(l.lo, coalesce((SELECT scheduled_at FROM edge), l.lo))", fmt.Sprintf("$%d", n)),
		n)
	return s.queryExecutions(ctx, q, w.args)
}

// rarePairsBatch is the most jobs of one hour that listRare reads by their outcome counts.
const rarePairsBatch = 5000

// listRare returns the newest executions that pass f (whose statuses are all rare) and the
// cursor, reading only the jobs and hours whose outcome counts hold one. When rest is set, it
// read the range only down to below (nil: not at all), and the caller reads what lies below —
// hours not counted, or counted too densely to be worth it — row by row.
func (s *Store) listRare(ctx context.Context, namespaces []string, f domain.ExecutionFilter, after *domain.ExecutionCursor, limit int) (found []*domain.Execution, rest bool, below *time.Time, err error) {
	var since *time.Time
	if err := s.pool.QueryRow(ctx, `SELECT since FROM outcome_counts_since`).Scan(&since); err != nil && err != pgx.ErrNoRows {
		return nil, false, nil, translate("list executions: outcome counts", err)
	}
	// The range is [lo, hi); lo is nil when open, hi too.
	lo, hi := f.From, f.To
	if after != nil && (hi == nil || after.ScheduledAt.Before(*hi)) {
		// Nothing after the cursor is read; its own instant may hold rows after it (a smaller
		// id).
		h := after.ScheduledAt.Add(time.Microsecond)
		hi = &h
	}
	// counted is where the counted part of the range begins; nil: the range is counted whole.
	var counted *time.Time
	if since != nil && (lo == nil || since.After(*lo)) {
		counted = since
	}
	if hi != nil && counted != nil && !counted.Before(*hi) {
		// Nothing of the range is counted.
		return nil, true, hi, nil
	}
	from := counted
	if from == nil {
		from = lo
	}
	q := newRareQuery(namespaces, f.Statuses, from)
	batch := cmp.Or(s.rareBatch, rarePairsBatch)
	for {
		// Whole hours, newest first, until their counts fill the page.
		var ls lanes
		var sum int64
		for sum < int64(limit-len(found)) && len(ls.jobs) < batch {
			h, pairs, err := q.nextHour(ctx, s, hi, batch)
			if err != nil {
				return nil, false, nil, err
			}
			if h == nil {
				break
			}
			if len(pairs) > batch {
				// More jobs ended so in this hour than a batch: outcomes that many are not
				// rare here, and reading rows newest first finds them soon. The hours read
				// so far are read first.
				if len(ls.jobs) == 0 {
					return found, true, hi, nil
				}
				break
			}
			laneLo, laneHi := *h, h.Add(time.Hour)
			if lo != nil && lo.After(laneLo) {
				laneLo = *lo
			}
			if hi != nil && hi.Before(laneHi) {
				laneHi = *hi
			}
			for _, p := range pairs {
				ls.add(p.job, laneLo, laneHi)
				sum += p.n
			}
			hi = h
		}
		if len(ls.jobs) == 0 {
			// No counted outcome left in the range: the counted part is read whole.
			return found, counted != nil, counted, nil
		}
		page, err := s.readLanes(ctx, ls, f, after, limit-len(found))
		if err != nil {
			return nil, false, nil, err
		}
		found = append(found, page...)
		if len(found) >= limit {
			return found, false, nil, nil
		}
		// Counts can exceed what is left (rows before the cursor, a day dropped since): read
		// on below.
	}
}

// rareQuery finds the (job, hour) outcome counts of some statuses.
type rareQuery struct {
	// cond selects the counts in scope from lo on; args are its arguments.
	cond, sum string
	args      []any
}

type outcomePair struct {
	job string
	n   int64
}

func newRareQuery(namespaces []string, statuses []domain.ExecutionStatus, lo *time.Time) rareQuery {
	var q rareQuery
	var some, sum []string
	for _, st := range statuses {
		if c := "o." + rareColumns[st]; !slices.Contains(sum, c) {
			some, sum = append(some, c+" > 0"), append(sum, c)
		}
	}
	// An OR of the partial index's own terms, so that the planner can use it.
	q.cond = "(" + strings.Join(some, " OR ") + ")"
	q.sum = strings.Join(sum, " + ")
	if lo != nil {
		q.args = append(q.args, *lo)
		q.cond += fmt.Sprintf(" AND o.hour >= date_trunc('hour', $%d::timestamptz, 'UTC')", len(q.args))
	}
	if namespaces != nil {
		// Each count looks its job up by key: a join would gather every job of a wide scope.
		q.args = append(q.args, namespaces)
		q.cond += fmt.Sprintf(" AND (SELECT j.namespace FROM jobs j WHERE j.id = o.job_id) = ANY($%d)", len(q.args))
	}
	return q
}

// nextHour returns the newest hour before hi (nil: any) holding counts, and up to batch+1 of
// its (job, count) pairs; a nil hour when there is none.
func (q rareQuery) nextHour(ctx context.Context, s *Store, hi *time.Time, batch int) (*time.Time, []outcomePair, error) {
	args, cond := slices.Clone(q.args), q.cond
	if hi != nil {
		args = append(args, *hi)
		cond += fmt.Sprintf(" AND o.hour < $%d", len(args))
	}
	var h *time.Time
	if err := s.pool.QueryRow(ctx, `SELECT max(o.hour) FROM job_outcomes o WHERE `+cond, args...).Scan(&h); err != nil {
		return nil, nil, translate("list executions: outcome counts", err)
	}
	if h == nil {
		return nil, nil, nil
	}
	args = append(args, *h, batch+1)
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT o.job_id, (%s)::bigint FROM job_outcomes o WHERE %s AND o.hour = $%d LIMIT $%d`,
		q.sum, cond, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, nil, translate("list executions: outcome counts", err)
	}
	pairs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (outcomePair, error) {
		var p outcomePair
		return p, r.Scan(&p.job, &p.n)
	})
	hour := h.UTC()
	return &hour, pairs, translate("list executions: outcome counts", err)
}

package store

import (
	"cmp"
	"context"
	"fmt"
	"maps"
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
	// tops bound each lane's newest row, when known: none of the lane's rows is newer.
	tops []rowKey
}

// rowKey is a row's place in the order of the history: scheduled instant, then id.
type rowKey struct {
	at time.Time
	id string
}

// maxID is above every execution id: uuids compare as their canonical lower-case text does.
const maxID = "ffffffff-ffff-ffff-ffff-ffffffffffff"

// compare orders keys oldest first.
func (k rowKey) compare(o rowKey) int { return cmp.Or(k.at.Compare(o.at), cmp.Compare(k.id, o.id)) }

func (l *lanes) add(job string, lo, hi time.Time) {
	l.jobs, l.lo, l.hi = append(l.jobs, job), append(l.lo, lo), append(l.hi, hi)
	l.tops = append(l.tops, rowKey{hi.Add(-time.Microsecond), maxID})
}

// addBounded adds a lane none of whose matching rows is newer than top (nil: not known). The
// lane then ends just after top, so that its reads start there; a lane that ends before it
// begins is left out, and addBounded reports whether the lane was added.
func (l *lanes) addBounded(job string, lo, hi time.Time, top *rowKey) bool {
	if top != nil && top.at.Add(time.Microsecond).Before(hi) {
		hi = top.at.Add(time.Microsecond)
	}
	if !hi.After(lo) {
		return false
	}
	l.add(job, lo, hi)
	if top != nil && top.compare(l.tops[len(l.tops)-1]) < 0 {
		l.tops[len(l.tops)-1] = *top
	}
	return true
}

// pick returns the lanes at the indexes is.
func (l lanes) pick(is []int) lanes {
	var out lanes
	for _, i := range is {
		out.jobs, out.lo, out.hi = append(out.jobs, l.jobs[i]), append(out.lo, l.lo[i]), append(out.hi, l.hi[i])
		out.tops = append(out.tops, l.tops[i])
	}
	return out
}

// laneQuery is the read of one lane inside a lateral join over the lanes l(jid, lo, hi), with
// the filter's condition cond and the rows from lo on: the newest limit of them.
func laneQuery(cols, cond, lo, limit string) string {
	return `SELECT ` + cols + ` FROM job_executions WHERE job_id = l.jid AND scheduled_at >= ` + lo +
		` AND scheduled_at < l.hi AND ` + cond + ` ORDER BY scheduled_at DESC, id DESC LIMIT ` + limit
}

// lanesFrom is the lanes of a query whose arguments end with their jobs, lo and hi.
func lanesFrom(n int) string {
	return fmt.Sprintf(`unnest($%d::uuid[], $%d::timestamptz[], $%d::timestamptz[]) WITH ORDINALITY AS l(jid, lo, hi, n)`, n-2, n-1, n)
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
	q := fmt.Sprintf(`WITH tops AS (SELECT x.scheduled_at, x.id FROM %s, LATERAL (%s) x),
		edge AS (SELECT scheduled_at FROM tops ORDER BY scheduled_at DESC, id DESC OFFSET $%d - 1 LIMIT 1)
		SELECT `+executionColumns+` FROM %s, LATERAL (%s) x ORDER BY scheduled_at DESC, id DESC LIMIT $%d`,
		lanesFrom(n-1), laneQuery("scheduled_at, id", w.cond, "l.lo", "1"), n,
		lanesFrom(n-1), laneQuery("*", w.cond, "greatest(l.lo, coalesce((SELECT scheduled_at FROM edge), l.lo))", fmt.Sprintf("$%d", n)),
		n)
	return s.queryExecutions(ctx, q, w.args)
}

// readRanked is readLanes for lanes with bounds on their newest rows, as the outcome counts
// give: the lanes are probed for their newest row in the order of their bounds, newest first,
// only until the bound of the next is below the edge that the rows found make. Of a thousand
// jobs that failed in the same hour, a page reads about a page of them.
func (s *Store) readRanked(ctx context.Context, ls lanes, f domain.ExecutionFilter, after *domain.ExecutionCursor, limit int) ([]*domain.Execution, error) {
	order := make([]int, len(ls.jobs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return ls.tops[b].compare(ls.tops[a]) })
	w := executionWhere(f, after, "")
	probe := fmt.Sprintf(`SELECT l.n, x.scheduled_at, x.id::text FROM %s, LATERAL (%s) x`,
		lanesFrom(len(w.args)+3), laneQuery("scheduled_at, id", w.cond, "l.lo", "1"))
	found := map[int]rowKey{}
	var edge *rowKey
	for next, chunk := 0, max(limit, 1); next < len(order); chunk *= 2 {
		var is []int
		for _, i := range order[next:min(len(order), next+chunk)] {
			if edge != nil && ls.tops[i].compare(*edge) < 0 {
				break
			}
			is = append(is, i)
		}
		if len(is) == 0 {
			break
		}
		next += len(is)
		part := ls.pick(is)
		rows, err := s.pool.Query(ctx, probe, append(slices.Clone(w.args), part.jobs, part.lo, part.hi)...)
		if err != nil {
			return nil, translate("list executions", err)
		}
		var j int
		var k rowKey
		_, err = pgx.ForEachRow(rows, []any{&j, &k.at, &k.id}, func() error {
			found[is[j-1]] = k
			return nil
		})
		if err != nil {
			return nil, translate("list executions", err)
		}
		if len(found) >= limit {
			keys := slices.Collect(maps.Values(found))
			slices.SortFunc(keys, func(a, b rowKey) int { return b.compare(a) })
			edge = &keys[limit-1]
		}
	}
	// Every row of the page is at the edge or newer: only the lanes whose newest row is read
	// on, from there.
	var is []int
	for i, k := range found {
		if edge == nil || k.compare(*edge) >= 0 {
			is = append(is, i)
		}
	}
	if len(is) == 0 {
		return nil, nil
	}
	part := ls.pick(is)
	lo := laneMin
	if edge != nil {
		lo = edge.at
	}
	w.args = append(w.args, lo, limit, part.jobs, part.lo, part.hi)
	n := len(w.args)
	return s.queryExecutions(ctx, fmt.Sprintf(`SELECT `+executionColumns+` FROM %s, LATERAL (%s) x
		ORDER BY scheduled_at DESC, id DESC LIMIT $%d`,
		lanesFrom(n), laneQuery("*", w.cond, fmt.Sprintf("greatest(l.lo, $%d)", n-4), fmt.Sprintf("$%d", n-3)), n-3), w.args)
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
				if ls.addBounded(p.job, laneLo, laneHi, p.top) {
					sum += p.n
				}
			}
			hi = h
		}
		if len(ls.jobs) == 0 {
			// No counted outcome left in the range (the loop reads on while it has no lane):
			// the counted part is read whole.
			return found, counted != nil, counted, nil
		}
		page, err := s.readRanked(ctx, ls, f, after, limit-len(found))
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
	// top bounds the newest rare outcome of the job's hour; nil when not known.
	top *rowKey
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
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT o.job_id, (%s)::bigint, o.rare_at, o.rare_id::text FROM job_outcomes o
		WHERE %s AND o.hour = $%d LIMIT $%d`,
		q.sum, cond, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, nil, translate("list executions: outcome counts", err)
	}
	pairs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (outcomePair, error) {
		var p outcomePair
		var at *time.Time
		var id *string
		if err := r.Scan(&p.job, &p.n, &at, &id); err != nil {
			return p, err
		}
		if at != nil && id != nil {
			p.top = &rowKey{at.UTC(), *id}
		}
		return p, nil
	})
	hour := h.UTC()
	return &hour, pairs, translate("list executions: outcome counts", err)
}

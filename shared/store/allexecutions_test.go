package store_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testfactory"
)

// historyRow is what the reference listing needs of an execution.
type historyRow struct {
	id, job, namespace string
	at                 time.Time
	status             domain.ExecutionStatus
	trigger            domain.Trigger
}

// Every way of reading the history of every job — job by job for a small scope, by the outcome
// counts for rare outcomes (a batch of counts at a time, down into hours that were never
// counted), newest first for the rest — pages through exactly what a plain sort of the whole
// history gives, for any scope, filter, bound and page size.
func TestHistoryOfEveryJobPagesAsASortOfTheWholeHistory(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	ctx := t.Context()
	// A namespace wider than a job-by-job read, a small one, and one out of scope.
	namespaces := map[string]int{"wide": 510, "small": 12, "other": 6}
	var jobs []string
	for ns, n := range namespaces {
		for i := range n {
			j := testfactory.Job(t, st, testfactory.JobOpts{Namespace: ns, Name: fmt.Sprintf("%s-%d", ns, i)})
			jobs = append(jobs, j.ID)
		}
	}
	slices.Sort(jobs)
	end := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	start := end.Add(-48 * time.Hour)
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, `SELECT vecron_history_partition(d::date) FROM generate_series($1::date, $2::date, interval '1 day') d`,
		start, end)
	require.NoError(t, err)
	// 4 000 records spread over two days: most succeed; rare outcomes cluster in a few jobs, as
	// failures do. Written ended, so the insert's trigger counts them.
	_, err = conn.Exec(ctx, `INSERT INTO job_executions (id, job_id, job_version, idempotency_key, trigger, scheduled_at,
			started_at, finished_at, status, attempt)
		SELECT gen_random_uuid(), j, 1, j::text || ':t:' || g, CASE WHEN g % 7 = 0 THEN 'manual' ELSE 'schedule' END, at, at, at,
			CASE WHEN g % 10 <> 0 THEN 'succeeded'
				ELSE (ARRAY['failed','timed_out','skipped','cancelled','dead_lettered'])[1 + (g / 10) % 5] END, 1
		FROM generate_series(1, 4000) g,
			LATERAL (SELECT ($1::uuid[])[1 + CASE WHEN g % 10 = 0 THEN (g * 7919) % 40 ELSE (g * 104729) % $2 END] AS j,
				$3::timestamptz + (((g * 2654435761::bigint) % 172800000) * interval '1 millisecond') AS at) x`,
		jobs, len(jobs), start)
	require.NoError(t, err)
	// Some records share an instant, as a herd's do.
	_, err = conn.Exec(ctx, `UPDATE job_executions SET scheduled_at = date_trunc('minute', scheduled_at) WHERE (hashtext(id::text) % 5) = 0`)
	require.NoError(t, err)
	// The counts began 12 hours in: the hours before were never counted.
	uncounted := start.Add(12 * time.Hour)
	_, err = conn.Exec(ctx, `DELETE FROM job_outcomes WHERE hour < $1`, uncounted)
	require.NoError(t, err)
	// Of the hours counted, some were counted before their newest rare outcome was kept, and
	// some keep one newer than any left (an outcome counted rare that moved on).
	_, err = conn.Exec(ctx, `UPDATE job_outcomes SET rare_at = NULL, rare_id = NULL WHERE abs(hashtext(job_id::text || hour::text)) % 4 = 0`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `UPDATE job_outcomes SET rare_at = least(rare_at + interval '20 minutes', hour + interval '1 hour' - interval '1 microsecond'),
		rare_id = 'ffffffff-ffff-ffff-ffff-ffffffffffff' WHERE abs(hashtext(job_id::text || hour::text)) % 4 = 1 AND rare_at IS NOT NULL`)
	require.NoError(t, err)

	rows, err := conn.Query(ctx, `SELECT e.id::text, e.job_id::text, j.namespace, e.scheduled_at, e.status, e.trigger
		FROM job_executions e JOIN jobs j ON j.id = e.job_id`)
	require.NoError(t, err)
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (historyRow, error) {
		var h historyRow
		err := r.Scan(&h.id, &h.job, &h.namespace, &h.at, &h.status, &h.trigger)
		return h, err
	})
	require.NoError(t, err)
	slices.SortFunc(all, func(a, b historyRow) int {
		return cmp.Or(b.at.Compare(a.at), cmp.Compare(b.id, a.id))
	})
	byID := make(map[string]historyRow, len(all))
	for _, h := range all {
		byID[h.id] = h
	}

	statuses := []domain.ExecutionStatus{domain.StatusSucceeded, domain.StatusFailed, domain.StatusTimedOut,
		domain.StatusSkipped, domain.StatusCancelled, domain.StatusDeadLettered}
	instant := rapid.Custom(func(t *rapid.T) time.Time {
		return start.Add(time.Duration(rapid.Int64Range(-3600, 52*3600).Draw(t, "second")) * time.Second)
	})
	rapid.Check(t, func(rt *rapid.T) {
		var scope domain.ExecutionScope
		switch rapid.IntRange(0, 3).Draw(rt, "scope") {
		case 1:
			scope.Namespaces = []string{"wide"}
		case 2:
			scope.Namespaces = []string{"small", "other"}
		case 3:
			scope.Namespaces = []string{"wide", "small"}
		}
		var f domain.ExecutionFilter
		f.Statuses = rapid.SliceOfNDistinct(rapid.SampledFrom(statuses), 0, 3, func(s domain.ExecutionStatus) domain.ExecutionStatus { return s }).Draw(rt, "statuses")
		if rapid.Bool().Draw(rt, "manual only") {
			f.Triggers = []domain.Trigger{domain.TriggerManual}
		}
		if rapid.Bool().Draw(rt, "from") {
			from := instant.Draw(rt, "from instant")
			f.From = &from
		}
		if rapid.Bool().Draw(rt, "to") {
			to := instant.Draw(rt, "to instant")
			f.To = &to
		}
		since := uncounted.Add(time.Duration(rapid.IntRange(0, 40).Draw(rt, "counted from hour")) * time.Hour)
		_, err := conn.Exec(ctx, `UPDATE outcome_counts_since SET since = $1`, since)
		require.NoError(rt, err)
		st.SetRareBatch(rapid.IntRange(1, 60).Draw(rt, "batch"))
		limit := rapid.IntRange(1, 40).Draw(rt, "limit")

		var want []string
		for _, h := range all {
			if (scope.Namespaces == nil || slices.Contains(scope.Namespaces, h.namespace)) &&
				(len(f.Statuses) == 0 || slices.Contains(f.Statuses, h.status)) &&
				(len(f.Triggers) == 0 || slices.Contains(f.Triggers, h.trigger)) &&
				(f.From == nil || !h.at.Before(*f.From)) && (f.To == nil || h.at.Before(*f.To)) {
				want = append(want, h.id)
			}
		}
		var after *domain.ExecutionCursor
		if rapid.Bool().Draw(rt, "start from a cursor of one's own") {
			// Any cursor, not only one a page ended on: before the range, inside it, after it.
			c := instant.Draw(rt, "cursor instant")
			after = &domain.ExecutionCursor{ScheduledAt: c, ID: "ffffffff-ffff-ffff-ffff-ffffffffffff"}
			var kept []string
			for _, id := range want {
				if h := byID[id]; h.at.Before(c) || h.at.Equal(c) {
					kept = append(kept, id)
				}
			}
			want = kept
		}
		for page := 0; page < 4; page++ {
			got, err := st.ListAllExecutions(ctx, scope, f, after, limit)
			require.NoError(rt, err)
			wantPage := append([]string{}, want[min(len(want), page*limit):min(len(want), (page+1)*limit)]...)
			ids := make([]string, len(got))
			for i, e := range got {
				ids[i] = e.ID
			}
			require.Equal(rt, wantPage, ids, "page %d", page)
			if len(got) < limit {
				break
			}
			last := got[len(got)-1]
			after = &domain.ExecutionCursor{ScheduledAt: last.ScheduledAt, ID: last.ID}
		}
	})
}

// A history counted from its start — an installation that had none when counting began — is
// read by the counts alone, down to the first record.
func TestRareOutcomesOfAFreshInstallationAreFoundByTheirCounts(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := t.Context()
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	now := time.Now().UTC().Truncate(time.Second)
	old := testfactory.Outcome(t, st, j, domain.StatusFailed, now.Add(-30*time.Hour), time.Millisecond)
	testfactory.Outcome(t, st, j, domain.StatusSucceeded, now.Add(-2*time.Hour), time.Millisecond)
	recent := testfactory.Outcome(t, st, j, domain.StatusTimedOut, now.Add(-time.Hour), time.Millisecond)
	got, err := st.ListAllExecutions(ctx, domain.ExecutionScope{},
		domain.ExecutionFilter{Statuses: []domain.ExecutionStatus{domain.StatusFailed, domain.StatusTimedOut}}, nil, 10)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, []string{recent.ID, old.ID}, []string{got[0].ID, got[1].ID})
}

// Every path that ends an execution keeps, beside its hour's counts, the newest rare outcome
// of the hour; a success moves nothing, an older outcome does not move it back, and an hour
// counted before the bound was kept stays without one.
func TestTheNewestRareOutcomeOfAnHourIsKeptBesideItsCounts(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	hour := time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)
	bound := func(h time.Time) (*time.Time, *string) {
		t.Helper()
		var at *time.Time
		var id *string
		require.NoError(t, conn.QueryRow(ctx, `SELECT rare_at, rare_id::text FROM job_outcomes WHERE job_id = $1 AND hour = $2`,
			j.ID, h).Scan(&at, &id))
		return at, id
	}

	testfactory.Outcome(t, st, j, domain.StatusSucceeded, hour.Add(50*time.Minute), time.Millisecond)
	at, _ := bound(hour)
	require.Nil(t, at, "a success is not rare")
	failed := testfactory.Outcome(t, st, j, domain.StatusFailed, hour.Add(20*time.Minute), time.Millisecond)
	at, id := bound(hour)
	require.Equal(t, []any{failed.ScheduledAt, failed.ID}, []any{at.UTC(), *id})
	skipped := testfactory.Outcome(t, st, j, domain.StatusSkipped, hour.Add(30*time.Minute), time.Millisecond)
	testfactory.Outcome(t, st, j, domain.StatusTimedOut, hour.Add(10*time.Minute), time.Millisecond)
	testfactory.Outcome(t, st, j, domain.StatusSucceeded, hour.Add(40*time.Minute), time.Millisecond)
	at, id = bound(hour)
	require.Equal(t, []any{skipped.ScheduledAt, skipped.ID}, []any{at.UTC(), *id}, "the newest rare outcome, whatever ended last")

	// Counted before the bound was kept: rare counts without one.
	_, err = conn.Exec(ctx, `UPDATE job_outcomes SET rare_at = NULL, rare_id = NULL WHERE job_id = $1`, j.ID)
	require.NoError(t, err)
	testfactory.Outcome(t, st, j, domain.StatusCancelled, hour.Add(55*time.Minute), time.Millisecond)
	at, _ = bound(hour)
	require.Nil(t, at, "an unknown bound stays unknown")
	// An hour counted with no rare outcome before gains one.
	next := hour.Add(time.Hour)
	testfactory.Outcome(t, st, j, domain.StatusSucceeded, next.Add(time.Minute), time.Millisecond)
	_, err = conn.Exec(ctx, `UPDATE job_outcomes SET rare_at = NULL, rare_id = NULL WHERE job_id = $1`, j.ID)
	require.NoError(t, err)
	dead := testfactory.Outcome(t, st, j, domain.StatusDeadLettered, next.Add(2*time.Minute), time.Millisecond)
	at, id = bound(next)
	require.Equal(t, []any{dead.ScheduledAt, dead.ID}, []any{at.UTC(), *id})
}

package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

// BenchmarkClaimDue claims a batch of due jobs, plans one fire each and writes the outbox, in one
// transaction: the tick's hot path. Each iteration claims n jobs; the jobs move an hour on, so
// every iteration has fresh due rows. Tagged jobs cost their claim an entry in the tags' index
// (untagged ones are not in it).
func BenchmarkClaimDue(b *testing.B) {
	for _, c := range []struct {
		n    int
		tags []string
	}{{100, nil}, {1000, nil}, {1000, []string{"critical", "env/prod", "team:payments"}}} {
		n, name := c.n, fmt.Sprintf("n=%d", c.n)
		if len(c.tags) > 0 {
			name += fmt.Sprintf(",tags=%d", len(c.tags))
		}
		b.Run(name, func(b *testing.B) {
			st, _ := testfactory.Store(b)
			svc := jobs.New(st, time.Now)
			list := make([]*domain.Job, 20*n)
			for i := range list {
				list[i] = &domain.Job{Name: fmt.Sprint("claim-", i), Schedule: domain.Schedule{Cron: "* * * * * *"},
					HTTP: &domain.HTTPSpec{URL: "http://127.0.0.1:9/"}, Enabled: true, Tags: c.tags}
			}
			if err := svc.CreateMany(b.Context(), st, list); err != nil {
				b.Fatal(err)
			}
			horizon := time.Now().Add(time.Hour)
			b.ReportAllocs()
			claimed := 0
			for b.Loop() {
				_, got, _, err := st.ClaimDue(b.Context(), time.Time{}, nil, horizon, n, planEvery)
				if err != nil {
					b.Fatal(err)
				}
				claimed += got
				if got < n { // every job claimed once: start over an hour later
					horizon = horizon.Add(time.Hour)
				}
			}
			b.ReportMetric(float64(claimed)/b.Elapsed().Seconds(), "jobs/s")
		})
	}
}

// BenchmarkExecutionRecords records executions as the executor does — the start, then the
// finish with its attempt — one at a time, and grouped as the executor's batcher groups the
// records of concurrent deliveries.
func BenchmarkExecutionRecords(b *testing.B) {
	for _, batch := range []int{1, 64} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			st, _ := testfactory.Store(b)
			j := testfactory.Job(b, st, testfactory.JobOpts{})
			at := time.Now().UTC().Truncate(time.Second)
			b.ReportAllocs()
			recorded := 0
			for b.Loop() {
				list := make([]*domain.Execution, batch)
				for i := range list {
					at = at.Add(time.Second)
					list[i] = newExecution(j, at, "bench", time.Now().UTC())
					// What a pulled fire carries to its record (docs/fire-timeline.md).
					claimed := at.Add(-1250 * time.Millisecond)
					list[i].Delivery = &domain.DeliveryFacts{ClaimedBy: "tick-0", ClaimedAt: &claimed, PublishedAt: &claimed,
						StreamSeq: uint64(recorded + i + 1), Consumer: "execute-http", DeliveryCount: 1}
				}
				if batch == 1 {
					if _, err := st.StartExecution(b.Context(), list[0], store.StartParams{StaleAfter: time.Minute}); err != nil {
						b.Fatal(err)
					}
				} else if _, err := st.InsertExecutions(b.Context(), list); err != nil {
					b.Fatal(err)
				}
				finished := time.Now().UTC()
				fins := make([]store.Finish, batch)
				for i, e := range list {
					e.Status, e.FinishedAt, e.HTTPStatus = domain.StatusSucceeded, &finished, 200
					fins[i] = store.Finish{Execution: e, Attempt: attemptOf(e)}
				}
				if batch == 1 {
					if err := st.FinishExecution(b.Context(), fins[0].Execution, fins[0].Attempt); err != nil {
						b.Fatal(err)
					}
				} else if _, err := st.FinishExecutions(b.Context(), fins); err != nil {
					b.Fatal(err)
				}
				recorded += batch
			}
			b.ReportMetric(float64(recorded)/b.Elapsed().Seconds(), "executions/s")
		})
	}
}

// BenchmarkNextDueByKind asks, as the tick does after each claim when it pre-warms, for each
// kind's next fire over 50 000 http jobs 1.2 ms apart: kinds = {sql}, a kind with no job, whose
// probe walks jobs_due_idx over every job due before the bound (its worst case), and the
// default kinds = {http, sql}, where http's probe stops at its first job (docs/deploy.md §8).
func BenchmarkNextDueByKind(b *testing.B) {
	st, url := testfactory.Store(b)
	spreadJobs(b, st, url, 50000, 1200*time.Microsecond)
	now := time.Now()
	for _, lead := range []time.Duration{10 * time.Second, 10 * time.Minute} {
		for _, kinds := range [][]domain.JobKind{{domain.KindSQL}, {domain.KindHTTP, domain.KindSQL}} {
			b.Run(fmt.Sprintf("jobs=50000,lead=%s,kinds=%v", lead, kinds), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					got, err := st.NextDueByKind(b.Context(), nil, kinds, now.Add(time.Hour), lead, nil)
					if err != nil {
						b.Fatal(err)
					}
					if _, ok := got.Kinds[domain.KindSQL]; ok || len(got.Kinds) != len(kinds)-1 {
						b.Fatalf("kinds due %v: there is no sql job, and http jobs are due", got.Kinds)
					}
				}
			})
		}
	}
}

// spreadJobs makes n http jobs due from a minute on, every apart: the schedule's own next run
// would put them all at one instant.
func spreadJobs(b testing.TB, st *store.Store, url string, n int, every time.Duration) {
	b.Helper()
	list := make([]*domain.Job, n)
	for i := range list {
		list[i] = &domain.Job{Name: fmt.Sprint("spread-", i), Schedule: domain.Schedule{Cron: "0 0 0 1 1 *"},
			HTTP: &domain.HTTPSpec{URL: "http://127.0.0.1:9/"}, Enabled: true}
	}
	if err := jobs.New(st, time.Now).CreateMany(b.Context(), st, list); err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(b.Context(), url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(b.Context(), `UPDATE jobs j SET next_run_at = $1::timestamptz + o.n * $2::interval
		FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM jobs) o WHERE o.id = j.id`,
		time.Now().Add(time.Minute), every); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(b.Context(), `VACUUM ANALYZE jobs`); err != nil {
		b.Fatal(err)
	}
}

package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/testfactory"
)

// BenchmarkClaimDue claims a batch of due jobs, plans one fire each and writes the outbox, in one
// transaction: the tick's hot path. Each iteration claims n jobs; the jobs move an hour on, so
// every iteration has fresh due rows.
func BenchmarkClaimDue(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			st, _ := testfactory.Store(b)
			svc := jobs.New(st, time.Now)
			list := make([]*domain.Job, 20*n)
			for i := range list {
				list[i] = &domain.Job{Name: fmt.Sprint("claim-", i), Schedule: domain.Schedule{Cron: "* * * * * *"},
					HTTP: &domain.HTTPSpec{URL: "http://127.0.0.1:9/"}, Enabled: true}
			}
			if err := svc.CreateMany(b.Context(), st, list); err != nil {
				b.Fatal(err)
			}
			horizon := time.Now().Add(time.Hour)
			b.ReportAllocs()
			claimed := 0
			for b.Loop() {
				_, got, _, err := st.ClaimDue(b.Context(), nil, horizon, n, planEvery)
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

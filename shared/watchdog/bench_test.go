package watchdog_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/watchdog"
)

// BenchmarkPass is what one pass costs, run every watchdog.interval by one api replica: over a
// healthy installation (jobs=…: none overdue, the stream empty), and over a backlog it has
// already recorded (stuck=…: that many jobs unclaimed and that many fires in the stream, which
// a pass reads once; first-pass-ms is the pass that reads and records it).
func BenchmarkPass(b *testing.B) {
	for _, c := range []struct{ jobs, stuck int }{{100_000, 0}, {1000, 1000}} {
		b.Run(fmt.Sprintf("jobs=%d,stuck=%d", c.jobs, c.stuck), func(b *testing.B) {
			st, _ := testfactory.Store(b)
			_, js, names := testenv.NATS(b)
			now := time.Now().UTC().Truncate(time.Second)
			list := make([]*domain.Job, c.jobs)
			for i := range list {
				list[i] = &domain.Job{Name: fmt.Sprint("job-", i), Schedule: domain.Schedule{Cron: "0 0 0 1 1 *"},
					HTTP: &domain.HTTPSpec{URL: "http://127.0.0.1:9/"}, Enabled: true}
			}
			require.NoError(b, jobs.New(st, func() time.Time { return now }).CreateMany(b.Context(), st, list))
			pub := queue.NewPublisher(js)
			for i := range c.stuck {
				j := testfactory.Job(b, st, testfactory.JobOpts{NextRunAt: now.Add(-time.Hour)})
				at := now.Add(-time.Duration(i+1) * time.Second)
				ev, err := event.NewDue(event.DueFor(j, at, domain.TriggerSchedule, domain.ScheduledKey(j.ID, at)), "/bench")
				require.NoError(b, err)
				msg, err := event.ToNATS(b.Context(), ev)
				require.NoError(b, err)
				require.NoError(b, pub.Publish(b.Context(), queue.Message{Subject: names.DueSubject(j.Kind), MsgID: domain.ScheduledKey(j.ID, at), Msg: msg}))
			}
			clock := clockwork.NewFakeClockAt(now.Add(2 * time.Minute))
			wd, err := watchdog.New(watchdog.Deps{Store: st, Stream: queue.NewInspector(js, names), Clock: clock, Log: testenv.Logger(b)}, watchdog.Config{})
			require.NoError(b, err)
			start := time.Now()
			got, err := wd.Pass(b.Context())
			first := time.Since(start)
			require.NoError(b, err)
			require.Len(b, got, 2*c.stuck, "the first pass records the backlog")
			b.ReportAllocs()
			for b.Loop() {
				clock.Advance(watchdog.IntervalDefault)
				got, err := wd.Pass(b.Context())
				if err != nil || len(got) != 0 {
					b.Fatal(err, len(got))
				}
			}
			b.ReportMetric(float64(first.Microseconds())/1000, "first-pass-ms")
		})
	}
}

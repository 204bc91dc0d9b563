package executor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/timeline"
)

// Every reason the executor records a skip with reads as a reason of its own, never other, and
// is a value of the skipped family's closed label.
func TestTheExecutorsSkipsHaveTheirReason(t *testing.T) {
	t.Parallel()
	d := event.Due{StartingDeadline: domain.Duration(time.Second), Trigger: domain.TriggerSchedule}
	late, ok := pastDeadline(d, d.ScheduledAt.Add(time.Minute))
	require.True(t, ok)
	for text, want := range map[string]string{
		reasonDeleted:     timeline.ReasonDeleted,
		reasonPaused:      timeline.ReasonPaused,
		reasonRescheduled: timeline.ReasonRescheduled,
		late:              timeline.ReasonDeadline,
		"execution k of this job was still running (concurrency policy forbid)": timeline.ReasonForbid,
	} {
		got := timeline.SkipReason(text)
		require.Equal(t, want, got, text)
		require.Contains(t, metric.SkipReasons(), got)
	}
}

// newBenchMetrics returns the runtime's metrics on a registry of their own, with jobs listed.
func newBenchMetrics(b *testing.B, jobs []string) *metrics {
	reg, err := metric.New(metric.Config{Function: "execute-http"})
	require.NoError(b, err)
	m, err := newMetrics(reg, domain.KindHTTP, jobs)
	require.NoError(b, err)
	return m
}

// BenchmarkObserveAFire is what metrics add to one successful fire: in flight up and down, its
// lateness, and its recorded outcome (duration and success).
func BenchmarkObserveAFire(b *testing.B) {
	for _, c := range []struct {
		name string
		jobs []string
	}{{"NoJobList", nil}, {"JobListed", []string{"payments/settle"}}, {"JobNotListed", []string{"payments/other"}}} {
		b.Run(c.name, func(b *testing.B) {
			m := newBenchMetrics(b, c.jobs)
			now := time.Now()
			d := &event.Due{Namespace: "payments", JobName: "settle", Trigger: domain.TriggerSchedule, ScheduledAt: now.Add(-time.Millisecond)}
			e := &domain.Execution{Status: domain.StatusSucceeded, FinishedAt: &now, Attempt: 1}
			o := observed{res: domain.RunResult{Status: domain.StatusSucceeded, Duration: 20 * time.Millisecond}, ran: true}
			b.ReportAllocs()
			for b.Loop() {
				m.inFlight.Add(1, m.kind)
				m.started(d, e.Attempt, now, "")
				m.recorded(d, e, o, verdictFinished, "")
				m.inFlight.Add(-1, m.kind)
			}
		})
	}
}

// BenchmarkObserveMetricsOff is the same with metrics off: nil handles.
func BenchmarkObserveMetricsOff(b *testing.B) {
	m, err := newMetrics(nil, domain.KindHTTP, nil)
	require.NoError(b, err)
	now := time.Now()
	d := &event.Due{Namespace: "payments", JobName: "settle", Trigger: domain.TriggerSchedule, ScheduledAt: now}
	e := &domain.Execution{Status: domain.StatusSucceeded, FinishedAt: &now, Attempt: 1}
	o := observed{res: domain.RunResult{Status: domain.StatusSucceeded}, ran: true}
	b.ReportAllocs()
	for b.Loop() {
		m.inFlight.Add(1, m.kind)
		m.started(d, e.Attempt, now, "")
		m.recorded(d, e, o, verdictFinished, "")
		m.inFlight.Add(-1, m.kind)
	}
}

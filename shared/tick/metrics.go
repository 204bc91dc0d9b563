package tick

import (
	"fmt"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/metric"
)

// metrics are the engine's series; nil handles (no registry) record nothing.
type metrics struct {
	lateness  *metric.HistogramVec
	published *metric.CounterVec
	claimTime *metric.Histogram
	claimed   *metric.Counter
	backlog   *metric.Gauge
	oldest    *metric.Gauge
	skipped   *metric.CounterVec
	wakes     *metric.CounterVec
}

func newMetrics(reg *metric.Registry) (metrics, error) {
	var (
		m    metrics
		errs [8]error
	)
	m.lateness, errs[0] = reg.HistogramVec(metric.DispatchLateness)
	m.published, errs[1] = reg.CounterVec(metric.FiresPublished)
	m.claimTime, errs[2] = reg.Histogram(metric.TickClaimDuration)
	m.claimed, errs[3] = reg.Counter(metric.TickClaimedFires)
	m.backlog, errs[4] = reg.Gauge(metric.OutboxBacklog)
	m.oldest, errs[5] = reg.Gauge(metric.OutboxOldestAge)
	m.skipped, errs[6] = reg.CounterVec(metric.JobSkipped)
	m.wakes, errs[7] = reg.CounterVec(metric.PrewarmWakes)
	for _, err := range errs {
		if err != nil {
			return metrics{}, fmt.Errorf("tick metrics: %w", err)
		}
	}
	return m, nil
}

// SetMetrics records the engine's families in reg (nil: none). Call it before Run. It returns
// an error naming the family reg refuses.
func (e *Engine) SetMetrics(reg *metric.Registry) error {
	m, err := newMetrics(reg)
	if err != nil {
		return err
	}
	e.metrics = m
	return nil
}

// acknowledged records a fire the broker acknowledged at now.
func (m *metrics) acknowledged(f *domain.Fire, now time.Time) {
	m.lateness.Observe(now.Sub(f.ScheduledAt).Seconds(), "", string(f.Kind), string(f.Trigger))
	m.published.Inc(string(f.Kind), string(f.Trigger))
}

package lease

import (
	"fmt"

	"github.com/vecron/vecron/shared/metric"
)

// metrics are the manager's series; nil handles (no registry) record nothing.
type metrics struct {
	owned    *metric.Gauge
	fallback *metric.Gauge
	errors   *metric.Counter
}

// newMetrics returns the manager's families from reg, which may be nil.
func newMetrics(reg *metric.Registry) (metrics, error) {
	var m metrics
	var err error
	if m.owned, err = reg.Gauge(metric.TickShardsOwned); err != nil {
		return metrics{}, fmt.Errorf("lease metrics: %w", err)
	}
	if m.fallback, err = reg.Gauge(metric.TickLeaseFallback); err != nil {
		return metrics{}, fmt.Errorf("lease metrics: %w", err)
	}
	if m.errors, err = reg.Counter(metric.TickLeaseErrors); err != nil {
		return metrics{}, fmt.Errorf("lease metrics: %w", err)
	}
	return m, nil
}

package lease

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the manager's Prometheus series.
type metrics struct {
	owned    prometheus.Gauge
	fallback prometheus.Gauge
	errors   prometheus.Counter
}

// newMetrics returns the series, registered with reg unless it is nil.
func newMetrics(reg prometheus.Registerer) (metrics, error) {
	m := metrics{
		owned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vecron_tick_shards_owned",
			Help: "Shards this tick replica claims jobs from (all of them in fallback).",
		}),
		fallback: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vecron_tick_lease_fallback",
			Help: "1 while Redis is unreachable and the replica claims every shard, relying on the database claim alone.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vecron_tick_lease_errors_total",
			Help: "Redis calls for shard leases that failed.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.owned, m.fallback, m.errors} {
		if err := reg.Register(c); err != nil {
			return metrics{}, fmt.Errorf("register lease metrics: %w", err)
		}
	}
	return m, nil
}

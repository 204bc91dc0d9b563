package sqljob

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vecron/vecron/shared/metric"
)

// RegisterMetrics has reg read r's target pools on scrape, summed per dialect (targets are
// unbounded, dialects are not): the vecron_sql_target_* families. Runners sharing one registry
// are summed. It returns an error when reg cannot register the families; with a nil registry it
// does nothing.
func (r *Runner) RegisterMetrics(reg *metric.Registry) error {
	c := &targetCollector{descs: map[metric.Name]*prometheus.Desc{}}
	for _, n := range metric.SQLTargetFamilies() {
		d, err := metric.NewDesc(n)
		if err != nil {
			return err
		}
		c.descs[n] = d
	}
	shared, err := metric.Shared(reg, c, metric.SQLTargetFamilies()...)
	if err != nil {
		return err
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	shared.runners = append(shared.runners, r)
	return nil
}

// closeLocked closes p, keeping its connection wait in the dialect's total; r.mu is held.
func (r *Runner) closeLocked(p *pool) {
	r.closedWait[p.driver] += p.db.Stats().WaitDuration
	p.db.Close()
}

// targetStats is what a dialect's pools add up to.
type targetStats struct {
	pools, open float64
	waitSeconds float64
}

// stats returns the sums of r's pools per Dialect.Driver, every dialect of r present.
func (r *Runner) stats(into map[string]*targetStats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for driver := range r.dialects {
		if into[driver] == nil {
			into[driver] = &targetStats{}
		}
		into[driver].waitSeconds += r.closedWait[driver].Seconds()
	}
	for _, p := range r.pools {
		st := p.db.Stats()
		s := into[p.driver]
		s.pools++
		s.open += float64(st.OpenConnections)
		s.waitSeconds += st.WaitDuration.Seconds()
	}
}

// targetCollector sums the target pools of the runners added to it.
type targetCollector struct {
	descs map[metric.Name]*prometheus.Desc

	mu      sync.Mutex
	runners []*Runner
}

// Describe sends the families' descriptions.
func (c *targetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect sends, per dialect the runners run, the pools open, their connections and the wait
// for one.
func (c *targetCollector) Collect(ch chan<- prometheus.Metric) {
	byDriver := map[string]*targetStats{}
	c.mu.Lock()
	for _, r := range c.runners {
		r.stats(byDriver)
	}
	c.mu.Unlock()
	for driver, s := range byDriver {
		ch <- prometheus.MustNewConstMetric(c.descs[metric.SQLTargetPools], prometheus.GaugeValue, s.pools, driver)
		ch <- prometheus.MustNewConstMetric(c.descs[metric.SQLTargetOpenConns], prometheus.GaugeValue, s.open, driver)
		ch <- prometheus.MustNewConstMetric(c.descs[metric.SQLTargetWait], prometheus.CounterValue, s.waitSeconds, driver)
	}
}

package store

import (
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vecron/vecron/shared/metric"
)

// RegisterMetrics has reg read the system database pool's statistics on scrape (the
// vecron_db_pool_* families): nothing is counted per query. Functions sharing one registry
// (vecron dev) are summed. It returns an error when reg cannot register the families; with a
// nil registry it does nothing.
func (s *Store) RegisterMetrics(reg *metric.Registry) error {
	c, err := newPoolCollector()
	if err != nil {
		return err
	}
	shared, err := metric.Shared(reg, c, metric.DBPoolFamilies()...)
	if err != nil {
		return err
	}
	shared.add(s.pool)
	return nil
}

// poolCollector sums the statistics of the pools added to it.
type poolCollector struct {
	descs map[metric.Name]*prometheus.Desc

	mu    sync.Mutex
	pools []*pgxpool.Pool
}

func newPoolCollector() (*poolCollector, error) {
	c := &poolCollector{descs: map[metric.Name]*prometheus.Desc{}}
	for _, n := range metric.DBPoolFamilies() {
		d, err := metric.NewDesc(n)
		if err != nil {
			return nil, err
		}
		c.descs[n] = d
	}
	return c, nil
}

func (c *poolCollector) add(p *pgxpool.Pool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pools = append(c.pools, p)
}

// Describe sends the families' descriptions.
func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect reads every pool's statistics, a lock of each pool for a moment, and sends their sums.
func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	var acquired, idle, total, maxConns, acquires, empty, wait float64
	c.mu.Lock()
	for _, p := range c.pools {
		st := p.Stat()
		acquired += float64(st.AcquiredConns())
		idle += float64(st.IdleConns())
		total += float64(st.TotalConns())
		maxConns += float64(st.MaxConns())
		acquires += float64(st.AcquireCount())
		empty += float64(st.EmptyAcquireCount())
		wait += st.EmptyAcquireWaitTime().Seconds()
	}
	c.mu.Unlock()
	for n, v := range map[metric.Name]float64{
		metric.DBPoolAcquiredConns: acquired, metric.DBPoolIdleConns: idle, metric.DBPoolTotalConns: total,
		metric.DBPoolMaxConns: maxConns,
	} {
		ch <- prometheus.MustNewConstMetric(c.descs[n], prometheus.GaugeValue, v)
	}
	for n, v := range map[metric.Name]float64{
		metric.DBPoolAcquire: acquires, metric.DBPoolEmptyAcquire: empty, metric.DBPoolAcquireWait: wait,
	} {
		ch <- prometheus.MustNewConstMetric(c.descs[n], prometheus.CounterValue, v)
	}
}

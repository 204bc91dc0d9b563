package metric_test

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/metric"
)

// sizes reads a gauge of queue sizes on scrape, summing its sources.
type sizes struct {
	desc    *prometheus.Desc
	sources []*atomic.Int64
}

func newSizes(t *testing.T) *sizes {
	t.Helper()
	d, err := metric.NewDesc(metric.JobQueueSize)
	require.NoError(t, err)
	return &sizes{desc: d}
}

func (s *sizes) Describe(ch chan<- *prometheus.Desc) { ch <- s.desc }

func (s *sizes) Collect(ch chan<- prometheus.Metric) {
	var sum int64
	for _, src := range s.sources {
		sum += src.Load()
	}
	ch <- prometheus.MustNewConstMetric(s.desc, prometheus.GaugeValue, float64(sum), "http")
}

func TestACollectorReadsItsFamiliesOnScrape(t *testing.T) {
	t.Parallel()
	reg, err := metric.New(metric.Config{Function: "dev"})
	require.NoError(t, err)
	var a, b atomic.Int64
	first, err := metric.Shared(reg, newSizes(t), metric.JobQueueSize)
	require.NoError(t, err)
	first.sources = append(first.sources, &a)
	// A second function on the same registry adds its source to the first collector.
	second, err := metric.Shared(reg, newSizes(t), metric.JobQueueSize)
	require.NoError(t, err)
	require.Same(t, first, second)
	second.sources = append(second.sources, &b)

	a.Store(3)
	b.Store(4)
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP vecron_job_queue_size Due events of a kind not yet acknowledged by an executor: waiting in its consumer, or delivered and in work.
# TYPE vecron_job_queue_size gauge
vecron_job_queue_size{kind="http"} 7
`), string(metric.JobQueueSize)))

	// The family is the collector's: a handle for it is refused, not registered twice.
	_, err = reg.GaugeVec(metric.JobQueueSize)
	require.ErrorContains(t, err, string(metric.JobQueueSize))
}

func TestRegisterCollectorRefusesWhatTheCatalogDoesNotSay(t *testing.T) {
	t.Parallel()
	reg, err := metric.New(metric.Config{Function: "api"})
	require.NoError(t, err)

	_, err = metric.NewDesc("vecron_made_up")
	require.ErrorIs(t, err, metric.ErrNotInCatalog)
	_, err = reg.RegisterCollector(newSizes(t), "vecron_made_up")
	require.ErrorIs(t, err, metric.ErrNotInCatalog)
	require.ErrorContains(t, err, "vecron_made_up")

	// A desc built by hand, with its own help, is not the catalog's.
	own := prometheus.NewGauge(prometheus.GaugeOpts{Name: string(metric.JobQueueSize), Help: "mine"})
	_, err = reg.RegisterCollector(own, metric.JobQueueSize)
	require.ErrorContains(t, err, "not built by NewDesc")

	// Naming a family it does not describe.
	_, err = reg.RegisterCollector(newSizes(t), metric.JobQueueSize, metric.QueueRedeliveries)
	require.ErrorContains(t, err, string(metric.QueueRedeliveries))

	// A family already served by a handle.
	_, err = reg.CounterVec(metric.QueueRedeliveries)
	require.NoError(t, err)
	d, err := metric.NewDesc(metric.QueueRedeliveries)
	require.NoError(t, err)
	_, err = reg.RegisterCollector(constCollector{d}, metric.QueueRedeliveries)
	require.ErrorContains(t, err, "registered already")
}

func TestANilRegistryTakesACollectorAndServesNothing(t *testing.T) {
	t.Parallel()
	var reg *metric.Registry
	s := newSizes(t)
	got, err := metric.Shared(reg, s, metric.JobQueueSize)
	require.NoError(t, err)
	require.Same(t, s, got)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	require.Empty(t, mfs)
}

type constCollector struct{ d *prometheus.Desc }

func (c constCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.d }
func (c constCollector) Collect(chan<- prometheus.Metric)    {}

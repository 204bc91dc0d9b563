package metric_test

import (
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/metric"
)

var (
	nameRE  = regexp.MustCompile(`^vecron_[a-z][a-z0-9_]*[a-z0-9]$`)
	labelRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// The naming rules Prometheus asks for, and the bounds that keep a family's series few.
func TestCatalogFollowsTheNamingRules(t *testing.T) {
	t.Parallel()
	seen := map[metric.Name]bool{}
	for _, d := range metric.Catalog() {
		t.Run(string(d.Name), func(t *testing.T) {
			t.Parallel()
			n := string(d.Name)
			require.Regexp(t, nameRE, n)
			require.NotEmpty(t, d.Help)
			require.NotEmpty(t, d.ObservedIn)
			require.Contains(t, []metric.Type{metric.TypeCounter, metric.TypeGauge, metric.TypeHistogram}, d.Type)
			if d.Type == metric.TypeCounter {
				require.True(t, strings.HasSuffix(n, "_total"), "a counter ends _total")
			} else {
				require.False(t, strings.HasSuffix(n, "_total"), "only counters end _total")
			}
			if d.Unit != "" {
				require.True(t, strings.HasSuffix(strings.TrimSuffix(n, "_total"), "_"+d.Unit), "the name ends with its unit")
			}
			for _, u := range []string{"seconds", "bytes"} {
				if strings.HasSuffix(strings.TrimSuffix(n, "_total"), "_"+u) {
					require.Equal(t, u, d.Unit, "a name ending in a unit declares it")
				}
			}
			for _, bad := range []string{"_milliseconds", "_ms", "_minutes", "_duration_total"} {
				require.NotContains(t, n, bad, "durations are _seconds")
			}
			if d.Type == metric.TypeHistogram {
				require.NotEmpty(t, d.Buckets)
				require.IsIncreasing(t, d.Buckets)
			} else {
				require.Empty(t, d.Buckets)
			}
			labels := map[string]bool{}
			for _, l := range d.Labels {
				require.Regexp(t, labelRE, l.Name)
				require.NotContains(t, []string{"job", "instance", "le", "quantile"}, l.Name, "reserved by Prometheus")
				require.False(t, labels[l.Name], "label %s twice", l.Name)
				labels[l.Name] = true
				bounds := 0
				if l.Closed() {
					bounds++
					require.NotContains(t, l.Values, "", "label %s", l.Name)
				}
				if l.Cap > 0 {
					bounds++
				}
				if l.PerProcess {
					bounds++
				}
				require.Equal(t, 1, bounds, "label %s is closed, capped or per-process, exactly one", l.Name)
			}
		})
		require.False(t, seen[d.Name], "%s twice", d.Name)
		seen[d.Name] = true
	}
}

// Every family registers as its type, and asking again returns the same collector.
func TestEveryFamilyRegisters(t *testing.T) {
	t.Parallel()
	reg, err := metric.New(metric.Config{Function: "dev", Version: "v1.2.3"})
	require.NoError(t, err)
	for _, d := range metric.Catalog() {
		for range 2 { // get-or-create: the second ask must not fail as a duplicate
			var err error
			switch {
			case d.Type == metric.TypeCounter && len(d.Labels) == 0:
				_, err = reg.Counter(d.Name)
			case d.Type == metric.TypeCounter:
				_, err = reg.CounterVec(d.Name)
			case d.Type == metric.TypeGauge && len(d.Labels) == 0:
				_, err = reg.Gauge(d.Name)
			case d.Type == metric.TypeGauge:
				_, err = reg.GaugeVec(d.Name)
			case d.Type == metric.TypeHistogram && len(d.Labels) == 0:
				_, err = reg.Histogram(d.Name)
			default:
				_, err = reg.HistogramVec(d.Name)
			}
			require.NoError(t, err, d.Name)
		}
	}
	a, err := reg.CounterVec(metric.MissedFires)
	require.NoError(t, err)
	b, err := reg.CounterVec(metric.MissedFires)
	require.NoError(t, err)
	require.Same(t, a, b)

	mfs, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]bool{}
	for _, mf := range mfs {
		got[mf.GetName()] = true
	}
	require.True(t, got["go_goroutines"], "the Go collector")
	require.True(t, got["process_cpu_seconds_total"] || runtime.GOOS != "linux", "the process collector")
	require.True(t, got[string(metric.BuildInfo)])
}

func TestTheRegistryRefusesWhatTheCatalogDoesNotSay(t *testing.T) {
	t.Parallel()
	reg, err := metric.New(metric.Config{Function: "api"})
	require.NoError(t, err)
	_, err = reg.Counter("vecron_made_up_total")
	require.ErrorIs(t, err, metric.ErrNotInCatalog)
	require.ErrorContains(t, err, "vecron_made_up_total")
	_, err = reg.Gauge(metric.TickLeaseErrors)
	require.ErrorContains(t, err, string(metric.TickLeaseErrors), "a counter asked as a gauge")
	_, err = reg.Counter(metric.MissedFires)
	require.ErrorContains(t, err, string(metric.MissedFires), "a labelled family asked without labels")

	_, err = metric.New(metric.Config{Function: "worker"})
	require.ErrorContains(t, err, "worker")
}

// A nil registry (metrics off) hands out handles that do nothing, and serves nothing.
func TestANilRegistryGivesHandlesThatDoNothing(t *testing.T) {
	t.Parallel()
	var reg *metric.Registry
	c, err := reg.Counter(metric.TickLeaseErrors)
	require.NoError(t, err)
	require.Nil(t, c)
	c.Inc()
	c.Add(2)
	v, err := reg.CounterVec(metric.MissedFires)
	require.NoError(t, err)
	v.Inc("unclaimed")
	v.Add(1, "x")
	var g *metric.Gauge
	g.Set(1)
	g.Add(1)
	var gv *metric.GaugeVec
	gv.Set(1, "a")
	gv.Add(1, "a")
	gv.Delete("a")
	var h *metric.Histogram
	h.Observe(1, "abc")
	var hv *metric.HistogramVec
	hv.Observe(1, "", "a")
	mfs, err := reg.Gather()
	require.NoError(t, err)
	require.Empty(t, mfs)
}

package metric

import (
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// A handle remembers the series it resolved, and that changes nothing a scrape reads: each call
// counts in the series its bounded values name, a value past the cap counts an overflow every
// time, an unknown closed value is other every time, and a deleted gauge series comes back on
// its next Set.
func TestCachedSeriesCountAsBounded(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		capN := rapid.IntRange(1, 3).Draw(rt, "cap")
		s := DefaultSettings()
		s.MaxNamespaces = capN
		reg, err := New(Config{Function: "dev", Settings: s})
		require.NoError(rt, err)
		success, err := reg.CounterVec(JobSuccess)
		require.NoError(rt, err)
		duration, err := reg.HistogramVec(JobDuration)
		require.NoError(rt, err)
		open, err := reg.GaugeVec(BreakerOpen)
		require.NoError(rt, err)

		namespace := rapid.SampledFrom([]string{"a", "b", "c", "d", Other, "", "\xff"})
		kind := rapid.SampledFrom([]string{"http", "sql", "ftp"})
		kept := map[Name][]string{} // per family: each keeps its own cap's worth
		bound := func(f Name, ns string) (string, bool) {
			switch {
			case ns == Other || !utf8.ValidString(ns):
				return Other, false
			case slices.Contains(kept[f], ns):
				return ns, false
			case len(kept[f]) < capN:
				kept[f] = append(kept[f], ns)
				return ns, false
			}
			return Other, true
		}
		counts := map[[3]string]float64{} // family, namespace, kind
		overflows := 0.0
		hosts := map[string]bool{}
		for range rapid.IntRange(1, 60).Draw(rt, "calls") {
			ns, k := namespace.Draw(rt, "namespace"), kind.Draw(rt, "kind")
			var f Name
			switch rapid.IntRange(0, 3).Draw(rt, "handle") {
			case 0:
				f = JobSuccess
				success.Inc(ns, k, "schedule")
			case 1:
				f = JobDuration
				duration.Observe(0.1, "", ns, k, AttemptSucceeded)
			case 2:
				host := rapid.SampledFrom([]string{"x.test", "y.test"}).Draw(rt, "host")
				open.Set(1, host)
				hosts[host] = true
				continue
			case 3:
				host := rapid.SampledFrom([]string{"x.test", "y.test"}).Draw(rt, "host")
				open.Delete(host)
				delete(hosts, host)
				continue
			}
			b, over := bound(f, ns)
			if over {
				overflows++
			}
			if k == "ftp" {
				k = Other
			}
			counts[[3]string{string(f), b, k}]++
		}
		// Counted before reading the values, which makes a series of any values it reads.
		series := testutil.CollectAndCount(success.v) + testutil.CollectAndCount(duration.v)
		require.Equal(rt, len(counts), series, "no series but the ones counted")
		for key, n := range counts {
			if Name(key[0]) == JobSuccess {
				require.Equal(rt, n, testutil.ToFloat64(success.v.WithLabelValues(key[1], key[2], "schedule")), "series %v", key)
			} else {
				require.Equal(rt, n, float64(histogramCount(rt, duration, key[1], key[2])), "series %v", key)
			}
		}
		overflow := 0.0
		for _, f := range []Name{JobSuccess, JobDuration} {
			overflow += testutil.ToFloat64(reg.overflow.v.WithLabelValues(string(f)))
		}
		require.Equal(rt, overflows, overflow)
		require.Equal(rt, len(hosts), testutil.CollectAndCount(open.v), "a deleted host is gone until it is set again")
	})
}

func histogramCount(t require.TestingT, h *HistogramVec, ns, kind string) uint64 {
	o, err := h.v.GetMetricWithLabelValues(ns, kind, AttemptSucceeded)
	require.NoError(t, err)
	var m dto.Metric
	require.NoError(t, o.(prometheus.Metric).Write(&m))
	return m.GetHistogram().GetSampleCount()
}

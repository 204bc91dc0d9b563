package metric

import (
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// Whatever a caller passes — unknown values, too few or too many, invalid UTF-8, a flood of
// distinct values — a family carries only its closed values, at most Cap distinct values of a
// capped label, and Other; and Prometheus never panics on what the handle hands it.
func TestLabelValuesStayInBounds(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		reg, err := New(Config{Function: "dev"})
		require.NoError(rt, err)
		known := []string{"http", "sql"}
		capN := rapid.IntRange(1, 5).Draw(rt, "cap")
		d := Desc{Name: "vecron_test_total", Type: TypeCounter, Labels: []Label{
			{Name: "kind", Values: known},
			{Name: "namespace", Cap: capN},
		}}
		b := reg.newBounds(d)
		vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: string(d.Name), Help: "test"}, d.labelNames())

		value := rapid.OneOf(
			rapid.SampledFrom([]string{"http", "sql", "other", "", "HTTP", "ns-a", "ns-b"}),
			rapid.StringN(0, 8, -1),
			rapid.StringN(maxValueLen-1, maxValueLen+2, -1), // around the length bound
			rapid.Map(rapid.SliceOfN(rapid.Byte(), 0, 6), func(b []byte) string { return string(b) }), // often invalid UTF-8
		)
		kept := []string{}
		overflows := 0
		calls := rapid.SliceOfN(rapid.SliceOfN(value, 0, 4), 1, 40).Draw(rt, "calls")
		for _, in := range calls {
			ns := Other
			if len(in) > 1 {
				ns = in[1]
			}
			wasKept := slices.Contains(kept, ns)
			out := b.apply(in)
			require.Len(rt, out, 2)
			for _, v := range out {
				require.True(rt, utf8.ValidString(v))
			}
			if len(in) > 0 && slices.Contains(known, in[0]) {
				require.Equal(rt, in[0], out[0])
			} else {
				require.Equal(rt, Other, out[0])
			}
			switch {
			case len(ns) > maxValueLen || !utf8.ValidString(ns) || ns == Other:
				require.Equal(rt, Other, out[1])
			case wasKept:
				require.Equal(rt, ns, out[1], "a kept value stays kept")
			case len(kept) < capN:
				require.Equal(rt, ns, out[1])
				kept = append(kept, ns)
			default:
				require.Equal(rt, Other, out[1])
				overflows++
			}
			require.NotPanics(rt, func() { vec.WithLabelValues(out...).Inc() })
		}
		require.LessOrEqual(rt, testutil.CollectAndCount(vec), (len(known)+1)*(capN+1), "kinds and Other, times kept namespaces and Other")
		require.Equal(rt, float64(overflows), testutil.ToFloat64(reg.overflow.v.WithLabelValues(Other)))
	})
}

func BenchmarkCounterVecInc(b *testing.B) {
	reg, err := New(Config{Function: "dev"})
	require.NoError(b, err)
	c, err := reg.CounterVec(MissedFires)
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		c.Inc("unclaimed")
	}
}

func BenchmarkCappedLabel(b *testing.B) {
	reg, err := New(Config{Function: "dev"})
	require.NoError(b, err)
	d := Desc{Name: "vecron_test_total", Type: TypeCounter, Labels: []Label{{Name: "kind", Values: []string{"http", "sql"}}, {Name: "namespace", Cap: 50}}}
	bd := reg.newBounds(d)
	b.ReportAllocs()
	for b.Loop() {
		bd.apply([]string{"http", "payments"})
	}
}

func BenchmarkNilHandle(b *testing.B) {
	var c *CounterVec
	b.ReportAllocs()
	for b.Loop() {
		c.Inc("unclaimed")
	}
}

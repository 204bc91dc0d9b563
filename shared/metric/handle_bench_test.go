package metric

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkHandles is one call of each kind of handle a fire takes, on the catalog's families:
// closed label sets (kind and trigger) and sets with a capped namespace.
func BenchmarkHandles(b *testing.B) {
	reg, err := New(Config{Function: "dev"})
	require.NoError(b, err)
	counter := func(n Name) *CounterVec {
		h, err := reg.CounterVec(n)
		require.NoError(b, err)
		return h
	}
	histogram := func(n Name) *HistogramVec {
		h, err := reg.HistogramVec(n)
		require.NoError(b, err)
		return h
	}
	inFlight, err := reg.GaugeVec(ExecutionsInFlight)
	require.NoError(b, err)
	published, success := counter(FiresPublished), counter(JobSuccess)
	lateness, duration := histogram(FireLateness), histogram(JobDuration)
	for _, c := range []struct {
		name string
		call func()
	}{
		{"CounterVecClosed", func() { published.Inc("http", "schedule") }},
		{"CounterVecCapped", func() { success.Inc("payments", "http", "schedule") }},
		{"HistogramVecClosed", func() { lateness.Observe(0.012, "", "http", "schedule") }},
		{"HistogramVecCapped", func() { duration.Observe(0.02, "", "payments", "http", AttemptSucceeded) }},
		{"HistogramVecExemplar", func() { lateness.Observe(0.012, "4bf92f3577b34da6a3ce929d0e0e4736", "http", "schedule") }},
		{"GaugeVecAdd", func() { inFlight.Add(1, "http") }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.call()
			}
		})
	}
}

package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
)

// samples returns the label-less samples of reg by family name.
func samples(t *testing.T, reg *metric.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) > 0 {
				continue
			}
			if m.GetCounter() != nil {
				out[mf.GetName()] = m.GetCounter().GetValue()
			} else if m.GetGauge() != nil {
				out[mf.GetName()] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}

func TestPoolMetricsAreReadOnScrapeAndSummedOverStores(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresURL(t)
	reg, err := metric.New(metric.Config{Function: "dev"})
	require.NoError(t, err)
	open := func(maxConns int) *store.Store {
		st, err := store.Open(context.Background(), store.Config{URL: url, MaxConns: maxConns})
		require.NoError(t, err)
		t.Cleanup(st.Close)
		require.NoError(t, st.RegisterMetrics(reg))
		return st
	}
	st := open(2)
	open(3) // a second function of the same process, on the same registry

	got := samples(t, reg)
	require.Equal(t, 5.0, got[string(metric.DBPoolMaxConns)])
	require.Equal(t, 0.0, got[string(metric.DBPoolAcquiredConns)])

	a, err := st.Acquire(t.Context())
	require.NoError(t, err)
	b, err := st.Acquire(t.Context())
	require.NoError(t, err)
	got = samples(t, reg)
	require.Equal(t, 2.0, got[string(metric.DBPoolAcquiredConns)])
	require.GreaterOrEqual(t, got[string(metric.DBPoolAcquire)], 4.0, "two opens' checks and two held")
	// Each open found its pool empty, and so did the second connection held: they waited for
	// a connection to be made.
	require.GreaterOrEqual(t, got[string(metric.DBPoolEmptyAcquire)], 3.0)
	require.Positive(t, got[string(metric.DBPoolAcquireWait)])

	a.Release()
	b.Release()
	got = samples(t, reg)
	require.Equal(t, 0.0, got[string(metric.DBPoolAcquiredConns)])
	require.Equal(t, 3.0, got[string(metric.DBPoolIdleConns)])
	require.Equal(t, 3.0, got[string(metric.DBPoolTotalConns)])
}

func TestPoolMetricsWithoutARegistryDoNothing(t *testing.T) {
	t.Parallel()
	st, err := store.Open(context.Background(), store.Config{URL: testenv.PostgresURL(t)})
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.RegisterMetrics(nil))
}

package breaker_test

import (
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/breaker"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/testenv"
)

// sample returns the value of the series of family name whose label is value, and whether it
// exists.
func sample(t *testing.T, reg *metric.Registry, name metric.Name, label, value string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != string(name) {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					if m.GetGauge() != nil {
						return m.GetGauge().GetValue(), true
					}
					return m.GetCounter().GetValue(), true
				}
			}
		}
	}
	return 0, false
}

func newRegistry(t *testing.T) *metric.Registry {
	t.Helper()
	reg, err := metric.New(metric.Config{Function: "dev"})
	require.NoError(t, err)
	return reg
}

// TestMetricsFollowTheStateRedisGives: the open gauge follows what a replica learns of a host,
// whoever changed it; the transitions count only the changes this replica's calls made; a host
// not asked about for two windows leaves the gauge.
func TestMetricsFollowTheStateRedisGives(t *testing.T) {
	t.Parallel()
	url, prefix := testRedis(t)
	clock := clockwork.NewFakeClock()
	cfg := breaker.Config{KeyPrefix: prefix, ConsecutiveFailures: 2, MinRequests: 1000, Window: time.Minute, CoolDown: 10 * time.Second}
	regA, regB := newRegistry(t), newRegistry(t)
	a, err := breaker.New(newClient(t, url), clock, cfg, testenv.Logger(t), regA)
	require.NoError(t, err)
	t.Cleanup(a.Close)
	b, err := breaker.New(newClient(t, url), clock, cfg, testenv.Logger(t), regB)
	require.NoError(t, err)
	t.Cleanup(b.Close)
	const host = "down.example.com:443"

	transitions := func(reg *metric.Registry, to string) float64 {
		v, ok := sample(t, reg, metric.BreakerTransitions, "to", to)
		require.True(t, ok, "every transition is there from the start")
		return v
	}
	open := func(reg *metric.Registry) (float64, bool) { return sample(t, reg, metric.BreakerOpen, "host", host) }
	for _, to := range []string{"open", "half_open", "closed"} {
		require.Zero(t, transitions(regA, to))
	}

	record(t, a, host, false)
	v, ok := open(regA)
	require.True(t, ok)
	require.Zero(t, v, "closed")
	record(t, a, host, false)
	v, _ = open(regA)
	require.Equal(t, 1.0, v, "a's second failure opened it")
	require.Equal(t, 1.0, transitions(regA, "open"))
	requireRejected(t, a, host)

	requireRejected(t, b, host)
	v, ok = open(regB)
	require.True(t, ok)
	require.Equal(t, 1.0, v, "b learns the state a caused")
	require.Zero(t, transitions(regB, "open"), "b caused nothing")

	clock.Advance(cfg.CoolDown)
	trial, err := a.Allow(t.Context(), host)
	require.NoError(t, err)
	require.Equal(t, 1.0, transitions(regA, "half_open"))
	v, _ = open(regA)
	require.Zero(t, v, "half-open is not open")
	trial(true)
	require.Equal(t, 1.0, transitions(regA, "closed"))
	v, _ = open(regA)
	require.Zero(t, v)
	require.Zero(t, transitions(regB, "half_open")+transitions(regB, "closed"))
	requireState(t, a, host, breaker.StateClosed) // asking the state changes nothing
	require.Equal(t, 1.0, transitions(regA, "closed"))

	_, ok = open(regB)
	require.True(t, ok, "b still shows what it last learned")
	testenv.Eventually(t, "the host leaves b's gauge", func() bool {
		clock.Advance(time.Second)
		_, ok := open(regB)
		return !ok
	})
	testenv.Eventually(t, "and a's", func() bool {
		clock.Advance(time.Second)
		_, ok := open(regA)
		return !ok
	})
	record(t, a, host, true)
	_, ok = open(regA)
	require.True(t, ok, "asked about again, it is back")
}

// TestNoRegistryNoMetrics: nil registry, the breakers work the same.
func TestNoRegistryNoMetrics(t *testing.T) {
	t.Parallel()
	url, prefix := testRedis(t)
	b := replica(t, url, prefix, breaker.Config{ConsecutiveFailures: 1, CoolDown: time.Minute})
	record(t, b, "x.example.com:443", false)
	requireRejected(t, b, "x.example.com:443")
}

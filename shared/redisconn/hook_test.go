package redisconn_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/redisconn"
	"github.com/vecron/vecron/shared/testenv"
)

func errorsOf(t *testing.T, reg *metric.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() == string(metric.RedisErrors) {
			for _, m := range mf.GetMetric() {
				out[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

func TestAClientCountsItsComponentsFailures(t *testing.T) {
	t.Parallel()
	url, prefix := testenv.RedisURL(t)
	reg, err := metric.New(metric.Config{Function: "dev"})
	require.NoError(t, err)
	rdb, err := redisconn.Open(redisconn.Config{URL: url}, "breaker", reg, nil)
	require.NoError(t, err)
	defer rdb.Close()
	ctx := t.Context()
	key := prefix + "k"
	t.Cleanup(func() { _ = rdb.Del(context.Background(), key).Err() })

	// Answers, a missing key among them, are no failures.
	require.NoError(t, rdb.Set(ctx, key, "text", 0).Err())
	require.ErrorIs(t, rdb.Get(ctx, prefix+"missing").Err(), redis.Nil)
	_, err = rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Get(ctx, prefix+"missing")
		p.Get(ctx, key)
		return nil
	})
	require.ErrorIs(t, err, redis.Nil)
	// A script Redis has not cached (its body is new): EVALSHA answers NOSCRIPT and go-redis
	// sends it again as EVAL. Nothing failed.
	require.NoError(t, redis.NewScript("return '"+prefix+"'").Run(ctx, rdb, nil).Err())
	require.Equal(t, map[string]float64{"lease": 0, "breaker": 0, "ratelimit": 0, "login": 0}, errorsOf(t, reg))

	// A command Redis refuses, and each refused command of a pipeline.
	require.Error(t, rdb.Incr(ctx, key).Err())
	_, err = rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, key)
		p.Get(ctx, key)
		p.Incr(ctx, key)
		return nil
	})
	require.Error(t, err)
	require.Equal(t, 3.0, errorsOf(t, reg)["breaker"])

	// A caller that gave up is not Redis failing.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	require.Error(t, rdb.Get(cancelled, key).Err())
	require.Equal(t, 3.0, errorsOf(t, reg)["breaker"])

	// Redis out of reach: a failure each command, counted once (not again at the dial).
	down, err := redisconn.Open(redisconn.Config{URL: fmt.Sprintf("redis://%s/0", testenv.RefusedAddr(t))}, "lease", reg, nil)
	require.NoError(t, err)
	defer down.Close()
	require.Error(t, down.Ping(ctx).Err())
	got := errorsOf(t, reg)
	require.Equal(t, 1.0, got["lease"])
	require.Equal(t, 3.0, got["breaker"])
}

func TestOpenNamesAKnownComponent(t *testing.T) {
	t.Parallel()
	_, err := redisconn.Open(redisconn.Config{URL: "redis://127.0.0.1:6379/0"}, "tick", nil, nil)
	require.ErrorContains(t, err, `component "tick"`)
	rdb, err := redisconn.Open(redisconn.Config{URL: "redis://127.0.0.1:6379/0"}, "login", nil, nil)
	require.NoError(t, err)
	require.NoError(t, rdb.Close())
}

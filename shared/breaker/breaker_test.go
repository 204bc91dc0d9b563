package breaker_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/breaker"
	"github.com/vecron/vecron/shared/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// testRedis returns the test Redis's URL and a key prefix of t's own, whose keys are deleted
// when t ends.
func testRedis(t *testing.T) (url, prefix string) {
	t.Helper()
	url, prefix = testenv.RedisURL(t)
	rdb := newClient(t, url)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			if err := rdb.Del(ctx, iter.Val()).Err(); err != nil {
				t.Errorf("delete %s: %v", iter.Val(), err)
			}
		}
		if err := iter.Err(); err != nil {
			t.Errorf("scan %s*: %v", prefix, err)
		}
	})
	return url, prefix
}

// newClient returns a client of url, closed when t ends.
func newClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	require.NoError(t, err)
	opts.ContextTimeoutEnabled = true
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// replica returns breakers as one executor replica would have them: a client of its own on
// the shared Redis and prefix.
func replica(t *testing.T, url, prefix string, cfg breaker.Config) *breaker.Breakers {
	t.Helper()
	return replicaOn(t, url, prefix, clockwork.NewRealClock(), cfg)
}

// replicaOn is replica with the executor's clock.
func replicaOn(t *testing.T, url, prefix string, clock clockwork.Clock, cfg breaker.Config) *breaker.Breakers {
	t.Helper()
	cfg.KeyPrefix = prefix
	b, err := breaker.New(newClient(t, url), clock, cfg, testenv.Logger(t), nil)
	require.NoError(t, err)
	return b
}

// record lets a request to host through b and reports its outcome.
func record(t *testing.T, b *breaker.Breakers, host string, ok bool) {
	t.Helper()
	done, err := b.Allow(t.Context(), host)
	require.NoError(t, err)
	done(ok)
}

// requireRejected checks that b rejects a request to host as open.
func requireRejected(t *testing.T, b *breaker.Breakers, host string) *breaker.OpenError {
	t.Helper()
	done, err := b.Allow(t.Context(), host)
	require.ErrorIs(t, err, breaker.ErrOpen)
	require.Nil(t, done)
	var oe *breaker.OpenError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, host, oe.Host)
	return oe
}

func requireState(t *testing.T, b *breaker.Breakers, host, want string) {
	t.Helper()
	got, err := b.State(t.Context(), host)
	require.NoError(t, err)
	require.Equal(t, want, got)
}

// waitTrial polls until b lets a request to host through again, which happens once the
// cool-down is over.
func waitTrial(t *testing.T, b *breaker.Breakers, host string) func(ok bool) {
	t.Helper()
	var done func(ok bool)
	testenv.Eventually(t, "a trial request let through", func() bool {
		var err error
		done, err = b.Allow(t.Context(), host)
		if err != nil {
			require.ErrorIs(t, err, breaker.ErrOpen)
			return false
		}
		return true
	})
	return done
}

const coolDown = 200 * time.Millisecond

func TestConsecutiveFailuresOpen(t *testing.T) {
	t.Parallel()
	url, prefix := testRedis(t)
	b := replica(t, url, prefix, breaker.Config{ConsecutiveFailures: 3, MinRequests: 1000, CoolDown: coolDown})
	const host = "api.example.com:443"

	requireState(t, b, host, breaker.StateClosed)
	record(t, b, host, false)
	record(t, b, host, false)
	record(t, b, host, true) // a success starts the count again
	record(t, b, host, false)
	record(t, b, host, false)
	requireState(t, b, host, breaker.StateClosed)
	record(t, b, host, false)
	requireState(t, b, host, breaker.StateOpen)

	oe := requireRejected(t, b, host)
	assert.Greater(t, oe.RetryAfter, time.Duration(0))
	assert.LessOrEqual(t, oe.RetryAfter, coolDown)

	t.Run("TrialSuccessCloses", func(t *testing.T) {
		trial := waitTrial(t, b, host)
		requireState(t, b, host, breaker.StateHalfOpen)
		oe := requireRejected(t, b, host) // the one trial slot is taken
		assert.Greater(t, oe.RetryAfter, time.Duration(0))
		trial(true)
		requireState(t, b, host, breaker.StateClosed)
		record(t, b, host, true)
	})

	t.Run("TrialFailureReopens", func(t *testing.T) {
		for range 3 {
			record(t, b, host, false)
		}
		requireState(t, b, host, breaker.StateOpen)
		trial := waitTrial(t, b, host)
		trial(false)
		requireState(t, b, host, breaker.StateOpen)
		oe := requireRejected(t, b, host)
		assert.Greater(t, oe.RetryAfter, time.Duration(0))
	})
}

func TestFailureRatioOpens(t *testing.T) {
	t.Parallel()
	url, prefix := testRedis(t)
	b := replica(t, url, prefix, breaker.Config{ConsecutiveFailures: 100, FailureRatio: 0.5, MinRequests: 10})
	const host = "flaky.example.com:443"

	// Failures alternate with successes, so there are never two in a row.
	for i := range 9 {
		record(t, b, host, i%2 == 1)
	}
	requireState(t, b, host, breaker.StateClosed) // 4 of 9 failed: too few outcomes yet
	record(t, b, host, false)
	requireState(t, b, host, breaker.StateOpen) // 5 of 10
	requireRejected(t, b, host)
}

func TestFailureRatioBelowThresholdStaysClosed(t *testing.T) {
	t.Parallel()
	url, prefix := testRedis(t)
	b := replica(t, url, prefix, breaker.Config{ConsecutiveFailures: 100, FailureRatio: 0.5, MinRequests: 10})
	const host = "mostly-fine.example.com:443"

	for i := range 30 {
		record(t, b, host, i%3 != 0) // a third fail
	}
	requireState(t, b, host, breaker.StateClosed)
}

func TestWindowForgetsOldFailures(t *testing.T) {
	t.Parallel()
	url, prefix := testRedis(t)
	const window = 300 * time.Millisecond
	clock := clockwork.NewFakeClock()
	b := replicaOn(t, url, prefix, clock, breaker.Config{ConsecutiveFailures: 100, FailureRatio: 0.5, MinRequests: 4, Window: window})
	const host = "window.example.com:443"

	for range 3 {
		record(t, b, host, false)
	}
	// The window is a span of the executors' clock.
	clock.Advance(window + time.Millisecond)
	for range 3 {
		record(t, b, host, false)
	}
	requireState(t, b, host, breaker.StateClosed) // 3 outcomes in this window, 4 needed
	record(t, b, host, false)
	requireState(t, b, host, breaker.StateOpen)
}

func TestHalfOpenNeedsEveryTrialToSucceed(t *testing.T) {
	t.Parallel()
	url, prefix := testRedis(t)
	b := replica(t, url, prefix, breaker.Config{ConsecutiveFailures: 1, HalfOpenRequests: 2, CoolDown: coolDown})
	const host = "trials.example.com:443"

	record(t, b, host, false)
	first := waitTrial(t, b, host)
	second, err := b.Allow(t.Context(), host)
	require.NoError(t, err)
	requireRejected(t, b, host)

	first(true)
	requireState(t, b, host, breaker.StateHalfOpen)
	second(true)
	requireState(t, b, host, breaker.StateClosed)
}

func TestStaleOutcomeIgnored(t *testing.T) {
	t.Parallel()
	url, prefix := testRedis(t)
	b := replica(t, url, prefix, breaker.Config{ConsecutiveFailures: 2, CoolDown: coolDown})
	const host = "slow.example.com:443"

	// A long request started while closed...
	stale, err := b.Allow(t.Context(), host)
	require.NoError(t, err)
	record(t, b, host, false)
	record(t, b, host, false)
	trial := waitTrial(t, b, host)

	// ... that succeeds during the trial says nothing about the host's recovery.
	stale(true)
	requireState(t, b, host, breaker.StateHalfOpen)
	trial(true)
	requireState(t, b, host, breaker.StateClosed)
}

func TestAbandonedTrialIsReplaced(t *testing.T) {
	t.Parallel()
	url, prefix := testRedis(t)
	b := replica(t, url, prefix, breaker.Config{ConsecutiveFailures: 1, CoolDown: coolDown})
	const host = "abandoned.example.com:443"

	record(t, b, host, false)
	abandoned := waitTrial(t, b, host) // as if its replica died before reporting
	requireRejected(t, b, host)
	trial := waitTrial(t, b, host)

	abandoned(true)
	requireState(t, b, host, breaker.StateHalfOpen)
	trial(true)
	requireState(t, b, host, breaker.StateClosed)
}

func TestDoneCountsOnce(t *testing.T) {
	t.Parallel()
	url, prefix := testRedis(t)
	b := replica(t, url, prefix, breaker.Config{ConsecutiveFailures: 2})
	const host = "twice.example.com:443"

	done, err := b.Allow(t.Context(), host)
	require.NoError(t, err)
	done(false)
	done(false)
	requireState(t, b, host, breaker.StateClosed)
	record(t, b, host, false)
	requireState(t, b, host, breaker.StateOpen)
}

func TestReplicasAgree(t *testing.T) {
	t.Parallel()
	url, prefix := testRedis(t)
	cfg := breaker.Config{ConsecutiveFailures: 3, CoolDown: coolDown}
	a := replica(t, url, prefix, cfg)
	b := replica(t, url, prefix, cfg)
	const host = "shared.example.com:443"

	record(t, a, host, false)
	record(t, b, host, false)
	requireState(t, b, host, breaker.StateClosed)
	record(t, a, host, false)

	// Redis knows at once; b, which saw the host closed a moment ago, learns within ~100 ms.
	requireState(t, b, host, breaker.StateOpen)
	require.Eventually(t, func() bool {
		done, err := b.Allow(t.Context(), host)
		if err == nil {
			done(true) // a request of the old generation: Redis ignores its outcome
		}
		return errors.Is(err, breaker.ErrOpen)
	}, time.Second, 5*time.Millisecond, "another replica's verdict reaches b")
	requireRejected(t, b, host)
	started := replica(t, url, prefix, cfg) // started after the breaker opened
	requireRejected(t, started, host)
	requireState(t, started, host, breaker.StateOpen)

	// The trial slot is shared too: one replica's trial keeps the others out.
	trial := waitTrial(t, a, host)
	requireRejected(t, b, host)
	requireRejected(t, started, host)
	trial(true)
	record(t, b, host, true)
	record(t, started, host, true)
}

func TestHostsAreIsolated(t *testing.T) {
	t.Parallel()
	url, prefix := testRedis(t)
	b := replica(t, url, prefix, breaker.Config{ConsecutiveFailures: 1})

	record(t, b, "down.example.com:443", false)
	requireRejected(t, b, "down.example.com:443")
	record(t, b, "up.example.com:443", true)
	record(t, b, "down.example.com:80", true)
	requireState(t, b, "up.example.com:443", breaker.StateClosed)
}

func TestStateKey(t *testing.T) {
	t.Parallel()
	url, prefix := testRedis(t)
	b := replica(t, url, prefix, breaker.Config{Window: time.Minute, CoolDown: time.Minute})
	const host = "api.example.com:443"

	requireState(t, b, host, breaker.StateClosed)
	rdb := newClient(t, url)
	n, err := rdb.Exists(t.Context(), prefix+"breaker:"+host).Result()
	require.NoError(t, err)
	assert.Zero(t, n, "asking for the state of a host stores nothing")

	record(t, b, host, false)
	ttl, err := rdb.PTTL(t.Context(), prefix+"breaker:"+host).Result()
	require.NoError(t, err)
	assert.Greater(t, ttl, 59*time.Minute)
	assert.LessOrEqual(t, ttl, time.Hour)
}

func TestConcurrentOutcomesAllCount(t *testing.T) {
	t.Parallel()
	url, prefix := testRedis(t)
	const threshold = 400
	cfg := breaker.Config{ConsecutiveFailures: threshold, MinRequests: threshold, FailureRatio: 1}
	replicas := []*breaker.Breakers{replica(t, url, prefix, cfg), replica(t, url, prefix, cfg)}
	const host = "busy.example.com:443"

	var wg sync.WaitGroup
	var next atomic.Int32
	for g := range 20 {
		wg.Go(func() {
			b := replicas[g%len(replicas)]
			for next.Add(1) < threshold {
				done, err := b.Allow(context.Background(), host)
				if !assert.NoError(t, err) {
					return
				}
				done(false)
			}
		})
	}
	wg.Wait()

	requireState(t, replicas[0], host, breaker.StateClosed) // threshold-1 failures
	record(t, replicas[1], host, false)
	requireState(t, replicas[0], host, breaker.StateOpen)
}

func TestConcurrentMixedOutcomes(t *testing.T) {
	t.Parallel()
	url, prefix := testRedis(t)
	b := replica(t, url, prefix, breaker.Config{ConsecutiveFailures: 3, CoolDown: 20 * time.Millisecond})

	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				host := []string{"a.example.com:443", "b.example.com:443"}[i%2]
				done, err := b.Allow(context.Background(), host)
				if errors.Is(err, breaker.ErrOpen) {
					continue
				}
				if !assert.NoError(t, err) {
					return
				}
				done((g+i)%3 == 0)
			}
		})
	}
	wg.Wait()
	for _, host := range []string{"a.example.com:443", "b.example.com:443"} {
		state, err := b.State(t.Context(), host)
		require.NoError(t, err)
		assert.Contains(t, []string{breaker.StateClosed, breaker.StateOpen, breaker.StateHalfOpen}, state)
	}
}

func TestCancelledContext(t *testing.T) {
	t.Parallel()
	url, prefix := testRedis(t)
	b := replica(t, url, prefix, breaker.Config{})

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	done, err := b.Allow(ctx, "api.example.com:443")
	require.ErrorIs(t, err, context.Canceled)
	require.Nil(t, done)
}

func TestNewNeedsContextTimeouts(t *testing.T) {
	t.Parallel()
	url, _ := testRedis(t)
	opts, err := redis.ParseURL(url)
	require.NoError(t, err)
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	_, err = breaker.New(rdb, clockwork.NewRealClock(), breaker.Config{}, nil, nil)
	require.ErrorContains(t, err, "ContextTimeoutEnabled")
}

func TestEmptyHost(t *testing.T) {
	t.Parallel()
	url, prefix := testRedis(t)
	b := replica(t, url, prefix, breaker.Config{})
	_, err := b.Allow(t.Context(), "")
	require.Error(t, err)
	require.NotErrorIs(t, err, breaker.ErrOpen)
}

// warnings counts the warnings logged through it.
type warnings struct{ n atomic.Int32 }

func (w *warnings) Enabled(context.Context, slog.Level) bool { return true }
func (w *warnings) WithAttrs([]slog.Attr) slog.Handler       { return w }
func (w *warnings) WithGroup(string) slog.Handler            { return w }
func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn {
		w.n.Add(1)
	}
	return nil
}

// unresponsive returns the address of a server that accepts connections and never answers.
func unresponsive(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

// closedPort returns the address of a port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func TestRedisDownFailsOpen(t *testing.T) {
	t.Parallel()
	for name, addr := range map[string]func(*testing.T) string{"Refused": closedPort, "Unresponsive": unresponsive} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rdb := redis.NewClient(&redis.Options{Addr: addr(t), ContextTimeoutEnabled: true})
			t.Cleanup(func() { _ = rdb.Close() })
			logs := &warnings{}
			b, err := breaker.New(rdb, clockwork.NewRealClock(), breaker.Config{ConsecutiveFailures: 1}, slog.New(logs), nil)
			require.NoError(t, err)

			start := time.Now()
			for range 5 {
				done, err := b.Allow(t.Context(), "api.example.com:443")
				require.NoError(t, err)
				done(false)
			}
			// Not a speed test: without the bound each call would wait out go-redis's dial and
			// read timeouts, seconds each.
			assert.Less(t, time.Since(start), 2*time.Second)
			assert.Equal(t, int32(1), logs.n.Load(), "one warning, not one per request")

			ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			defer cancel()
			_, err = b.State(ctx, "api.example.com:443")
			require.Error(t, err)
		})
	}
}

// evals counts the scripts a client runs.
type evals struct{ n atomic.Int32 }

func (e *evals) DialHook(next redis.DialHook) redis.DialHook { return next }
func (e *evals) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (e *evals) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if name := cmd.Name(); name == "evalsha" || name == "eval" {
			e.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

// TestAHealthyHostCostsFewRoundTrips: requests to a closed breaker are let through on a recent
// answer and their successes reported together, yet every success is counted.
func TestAHealthyHostCostsFewRoundTrips(t *testing.T) {
	t.Parallel()
	url, prefix := testRedis(t)
	rdb := newClient(t, url)
	counter := &evals{}
	rdb.AddHook(counter)
	b, err := breaker.New(rdb, clockwork.NewRealClock(), breaker.Config{KeyPrefix: prefix}, testenv.Logger(t), nil)
	require.NoError(t, err)
	const host = "healthy.example.com:443"

	const requests = 500
	for range requests {
		record(t, b, host, true)
	}
	b.Close()
	calls := counter.n.Load()
	require.Less(t, calls, int32(requests/10), "not two round trips per request")
	ok, err := newClient(t, url).HGet(t.Context(), prefix+"breaker:"+host, "ok").Int()
	require.NoError(t, err)
	require.Equal(t, requests, ok, "every success counted")
	t.Logf("%d requests, %d scripts run", requests, calls)
}

// TestLateSuccessesDoNotHideNewerFailures: a replica's successes reported late, ahead of its
// first failure, do not end a run of failures the other replicas counted after them; successes
// newer than the failures still do.
func TestLateSuccessesDoNotHideNewerFailures(t *testing.T) {
	t.Parallel()
	url, prefix := testRedis(t)
	cfg := breaker.Config{ConsecutiveFailures: 3, MinRequests: 1000, CoolDown: time.Minute}
	clock := clockwork.NewFakeClock()
	a, b := replicaOn(t, url, prefix, clock, cfg), replicaOn(t, url, prefix, clock, cfg)
	const host = "going-down.example.com:443"

	record(t, a, host, true) // gathered in a, not yet in Redis
	clock.Advance(5 * time.Millisecond)
	record(t, b, host, false)
	record(t, b, host, false)
	record(t, a, host, false) // carries a's older success ahead of it
	requireState(t, b, host, breaker.StateOpen)

	const other = "flaky.example.com:443"
	record(t, b, other, false)
	record(t, b, other, false)
	clock.Advance(5 * time.Millisecond)
	record(t, a, other, true) // newer than b's failures: ends the run
	a.Close()
	record(t, b, other, false)
	requireState(t, b, other, breaker.StateClosed)
}

// TestTheRequestsOfAnInstantShareOneQuestion: requests that arrive together at a host whose
// closed answer has expired ask Redis once between them, not once each; a half-open breaker
// still lets exactly its number of trials through however many ask at once.
func TestTheRequestsOfAnInstantShareOneQuestion(t *testing.T) {
	t.Parallel()
	url, prefix := testRedis(t)
	rdb := newClient(t, url)
	counter := &evals{}
	rdb.AddHook(counter)
	// Two hundred questions at once can keep a loaded machine's Redis past the default timeout,
	// and an unanswered question lets its request through unchecked, by design: this test
	// counts what Redis answered.
	b, err := breaker.New(rdb, clockwork.NewRealClock(), breaker.Config{KeyPrefix: prefix, ConsecutiveFailures: 1,
		HalfOpenRequests: 3, CoolDown: coolDown, RedisTimeout: 30 * time.Second}, testenv.Logger(t), nil)
	require.NoError(t, err)
	t.Cleanup(b.Close)
	const host, requests = "instant.example.com:443", 200

	allowAll := func(host string) (allowed int32, dones []func(bool)) {
		var (
			mu    sync.Mutex
			wg    sync.WaitGroup
			start = make(chan struct{})
		)
		for range requests {
			wg.Go(func() {
				<-start
				done, err := b.Allow(t.Context(), host)
				if err != nil {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				allowed++
				dones = append(dones, done)
			})
		}
		close(start)
		wg.Wait()
		return allowed, dones
	}

	allowed, _ := allowAll(host)
	require.EqualValues(t, requests, allowed)
	require.LessOrEqual(t, counter.n.Load(), int32(5), "one question for the instant, not one per request")

	const tripped = "tripped.example.com:443"
	record(t, b, tripped, false)
	requireState(t, b, tripped, breaker.StateOpen)
	waitTrial(t, b, tripped)(true) // the first trial, taken and succeeded once the cool-down ended
	allowed, dones := allowAll(tripped)
	require.EqualValues(t, 2, allowed, "the other two trials, however many asked together")
	for _, done := range dones {
		done(true)
	}
	requireState(t, b, tripped, breaker.StateClosed)
}

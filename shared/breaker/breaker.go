// Package breaker keeps a circuit breaker per target host so that a host that keeps failing is
// given a rest instead of every job's request: while a host's breaker is open, requests to it
// fail fast, and after a cool-down a few trial requests decide whether it has recovered.
//
// The breakers live in Redis, not in the process, because every executor replica sends
// requests to the same hosts: the failures one replica sees open the breaker for all of them,
// and a replica started a moment ago does not hammer a host the others gave up on. Each
// decision is one Lua script, run atomically in one round trip, so replicas never overwrite
// each other's counts. A healthy host needs few of them: see closedHosts.
//
// Redis is advisory here: when it cannot be reached, requests go ahead (the breaker fails
// open), because an outage of Redis must not stop jobs from running.
package breaker

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/redisconn"
)

// Defaults of Config.
const (
	ConsecutiveFailuresDefault = 5
	FailureRatioDefault        = 0.5
	MinRequestsDefault         = 20
	WindowDefault              = time.Minute
	CoolDownDefault            = 30 * time.Second
	HalfOpenRequestsDefault    = 1
)

// States of a host's breaker, as State returns them.
const (
	StateClosed   = "closed"
	StateOpen     = "open"
	StateHalfOpen = "half_open"
)

const (
	// redisTimeout is Config.RedisTimeout's default.
	redisTimeout = 200 * time.Millisecond
	// redisPause is how long Redis is left alone after it failed, so that while it is down
	// requests do not each wait the Redis timeout for it.
	redisPause = time.Second
	// warnEvery spaces out the warnings about Redis being unreachable.
	warnEvery = 30 * time.Second
	// minStateTTL keeps a host's state at least this long after its last change; the
	// consecutive-failure count outlives the window, and this bounds how long.
	minStateTTL = time.Hour
	// maxOpenHosts bounds the hosts remembered as open, or closed, in this process; hosts are
	// user input.
	maxOpenHosts = 10_000
	// closedFor is how long Redis's answer that a host's breaker is closed is trusted without
	// asking again: how late this process may learn that another replica opened it.
	closedFor = 100 * time.Millisecond
	// flushEvery is how long successes are gathered before they are reported together.
	flushEvery = 100 * time.Millisecond
)

// Config tunes the breakers. Zero fields take their defaults.
type Config struct {
	// KeyPrefix starts every Redis key of the package; a host's state is at
	// <KeyPrefix>breaker:<host>.
	KeyPrefix string `koanf:"-"`
	// ConsecutiveFailures opens a breaker whatever the window: consecutive failures are counted
	// across windows, because a host that fails every request is down however rarely it is called.
	ConsecutiveFailures int `koanf:"consecutive_failures" usage:"consecutive failures of a host that open its breaker"`
	// FailureRatio opens a breaker once the failures among the outcomes of the current window
	// reach it, and there are at least MinRequests of them.
	FailureRatio float64 `koanf:"failure_ratio" usage:"failure ratio over the window that opens a host's breaker"`
	// MinRequests is the number of outcomes in the window before FailureRatio applies.
	MinRequests int `koanf:"min_requests" usage:"requests in the window before failure_ratio applies"`
	// Window is the fixed window over which outcomes are counted while closed. An outcome
	// counts in the window in which it is reported, so a request longer than the window counts.
	Window time.Duration `koanf:"window" usage:"window over which failures are counted while closed"`
	// CoolDown is how long an open breaker fails fast. It is also how long half-open trials
	// have to report before new trials are let through in their place.
	CoolDown time.Duration `koanf:"cool_down" usage:"how long an open breaker fails fast before it lets a trial request through"`
	// HalfOpenRequests is the number of trials let through while half-open; all of them must
	// succeed to close the breaker, and one failure opens it again.
	HalfOpenRequests int `koanf:"half_open_requests" usage:"trial requests let through while half-open"`
	// RedisTimeout bounds how long Allow and done wait for Redis before letting the request
	// through without the breaker (zero: 200 ms). Not a setting: a test that judges what Redis
	// answered, on a loaded machine, lengthens it.
	RedisTimeout time.Duration `koanf:"-"`
}

// DefaultConfig returns the configuration zero fields fall back to.
func DefaultConfig() Config { return Config{}.withDefaults() }

func (c Config) withDefaults() Config {
	c.ConsecutiveFailures = cmp.Or(c.ConsecutiveFailures, ConsecutiveFailuresDefault)
	c.FailureRatio = cmp.Or(c.FailureRatio, FailureRatioDefault)
	c.MinRequests = cmp.Or(c.MinRequests, MinRequestsDefault)
	c.Window = cmp.Or(c.Window, WindowDefault)
	c.CoolDown = cmp.Or(c.CoolDown, CoolDownDefault)
	c.HalfOpenRequests = cmp.Or(c.HalfOpenRequests, HalfOpenRequestsDefault)
	c.RedisTimeout = cmp.Or(c.RedisTimeout, redisTimeout)
	return c
}

// validate checks a configuration after withDefaults.
func (c Config) validate() error {
	switch {
	case c.ConsecutiveFailures < 1:
		return errors.New("breaker.consecutive_failures: must be positive")
	case math.IsNaN(c.FailureRatio) || c.FailureRatio <= 0 || c.FailureRatio > 1:
		return errors.New("breaker.failure_ratio: must be in (0, 1]")
	case c.MinRequests < 1:
		return errors.New("breaker.min_requests: must be positive")
	case c.Window < time.Millisecond:
		return errors.New("breaker.window: must be at least 1ms")
	case c.CoolDown < time.Millisecond:
		return errors.New("breaker.cool_down: must be at least 1ms")
	case c.HalfOpenRequests < 1:
		return errors.New("breaker.half_open_requests: must be positive")
	}
	return nil
}

// stateTTL is how long a host's state outlives its last change, so that the state of hosts
// nobody calls any more goes away. It never ends an open breaker's cool-down early.
func (c Config) stateTTL() time.Duration {
	return max(minStateTTL, 2*c.Window, 2*c.CoolDown)
}

// ErrOpen is what the error of Allow is when a host's breaker rejects the request.
var ErrOpen = errors.New("circuit breaker open")

// OpenError says that a host's breaker is open, or half-open with all its trials under way.
// errors.Is(err, ErrOpen) holds for it.
type OpenError struct {
	Host string
	// RetryAfter is the time left in the cool-down (or in the trials' lease), best effort.
	RetryAfter time.Duration
}

// Error names the host and the time left, rounded to the millisecond.
func (e *OpenError) Error() string {
	return fmt.Sprintf("circuit breaker of %s is open; retry in %s", e.Host, e.RetryAfter.Round(time.Millisecond))
}

// Wait is how long to wait before trying the host again.
func (e *OpenError) Wait() time.Duration { return e.RetryAfter }

// Is reports whether target is ErrOpen.
func (e *OpenError) Is(target error) bool { return target == ErrOpen }

//go:embed breaker.lua
var script string

// Breakers holds the breakers of all hosts. It is safe for concurrent use.
type Breakers struct {
	rdb    redis.UniversalClient
	clock  clockwork.Clock
	cfg    Config
	log    *slog.Logger
	script *redis.Script
	open   *openHosts
	closed *closedHosts
	gauge  *hostGauge
	// asking groups the concurrent questions about one host (ask).
	asking singleflight.Group

	pausedUntil atomic.Int64 // unix nanoseconds until which Redis is not asked
	lastWarn    atomic.Int64 // unix nanoseconds of the last warning about Redis

	// flushing is held (read) by every report of gathered successes, so Close can wait for
	// them; after Close, successes are reported one by one.
	flushing sync.RWMutex
	stopped  atomic.Bool
}

// New returns the breakers kept in rdb, which must have ContextTimeoutEnabled set: without it
// go-redis waits out its own read timeout, seconds, whatever the context says. The breakers'
// families go to reg (nil: no metrics). It returns an error naming the field when cfg is
// invalid; it does not contact Redis.
func New(rdb redis.UniversalClient, clock clockwork.Clock, cfg Config, log *slog.Logger, reg *metric.Registry) (*Breakers, error) {
	if rdb == nil {
		return nil, errors.New("breaker: redis client is required")
	}
	if !redisconn.ContextTimeouts(rdb) {
		return nil, errors.New("breaker: the redis client must have ContextTimeoutEnabled, or an unresponsive Redis holds up requests")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	gauge, err := newHostGauge(reg, clock, cfg.Window)
	if err != nil {
		return nil, err
	}
	return &Breakers{
		rdb: rdb, clock: clock, cfg: cfg, log: log,
		script: redis.NewScript(script),
		open:   newOpenHosts(maxOpenHosts),
		closed: newClosedHosts(maxOpenHosts),
		gauge:  gauge,
	}, nil
}

// Allow asks whether a request to host may go ahead. On nil error the caller MUST call done(ok)
// once, with whether the request succeeded as far as the breaker is concerned; later calls are
// ignored. done waits for Redis at most a short timeout and never fails.
//
// When the host's breaker is open, or half-open with all its trials under way, Allow returns
// an *OpenError, for which errors.Is(err, ErrOpen) holds. When Redis cannot be reached in a
// short timeout, Allow lets the request through. It returns ctx's error if ctx ends first.
func (b *Breakers) Allow(ctx context.Context, host string) (done func(ok bool), err error) {
	if host == "" {
		return nil, errors.New("allow: host is empty")
	}
	now := b.clock.Now()
	if until, ok := b.open.get(host, now); ok {
		b.gauge.touch(host, now, 1) // still open
		return nil, &OpenError{Host: host, RetryAfter: until.Sub(now)}
	}
	if b.paused(now) {
		return func(bool) {}, nil
	}
	if gen, ok := b.closed.get(host, now); ok {
		return b.doneFunc(ctx, host, gen, true), nil
	}
	r, err := b.ask(ctx, now, host)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("allow %s: %w", host, context.Cause(ctx))
		}
		b.unavailable(host, err)
		return func(bool) {}, nil
	}
	if !r.allowed {
		if r.state == StateOpen {
			// Nothing but time ends an open breaker, so the answer holds for the rest of the
			// cool-down and the next requests need not ask Redis.
			b.open.put(host, now.Add(r.retryAfter), now)
		}
		return nil, &OpenError{Host: host, RetryAfter: r.retryAfter}
	}
	closed := r.state == StateClosed
	if closed {
		b.closed.put(host, r.gen, now)
	}
	return b.doneFunc(ctx, host, r.gen, closed), nil
}

// ask asks Redis whether a request to host may go. The requests of an instant all find the
// cached "closed" expired at once: they share one question, as they would have shared the cached
// answer — unless the breaker was half-open, which lets a number of trials through: then each
// request asks for its own.
func (b *Breakers) ask(ctx context.Context, now time.Time, host string) (result, error) {
	if ctx.Err() != nil {
		return result{}, context.Cause(ctx)
	}
	asked := false
	v, err, _ := b.asking.Do(host, func() (any, error) {
		asked = true
		// Not the first asker's cancellation: it would fail the others' question too.
		return b.run(context.WithoutCancel(ctx), now, "allow", host, 0, 0, 0, 0)
	})
	if ctx.Err() != nil {
		return result{}, context.Cause(ctx) // gone while the question was out: not sent
	}
	r, _ := v.(result)
	// Closed, or open and refusing, holds for everyone; a half-open answer granted one trial.
	if shareable := r.state == StateClosed || (r.state == StateOpen && !r.allowed); !asked && (err != nil || !shareable) {
		return b.run(ctx, now, "allow", host, 0, 0, 0, 0)
	}
	return r, err
}

// doneFunc returns the done of a request let through in generation gen: closed says the
// breaker was closed then, so a success may wait to be reported with others.
func (b *Breakers) doneFunc(ctx context.Context, host string, gen int64, closed bool) func(ok bool) {
	// The request may outlive ctx; its outcome still counts.
	dctx := context.WithoutCancel(ctx)
	var called atomic.Bool
	return func(ok bool) {
		now := b.clock.Now()
		if called.Swap(true) || b.paused(now) {
			return
		}
		if closed && ok && !b.stopped.Load() && b.closed.addSuccess(host, gen, now, b.scheduleFlush) {
			return
		}
		oks, fails := 0, 1
		if ok {
			oks, fails = 1, 0
		} else if closed {
			// The successes gathered so far go first, so Redis counts them before this failure.
			if pgen, n, newest := b.closed.take(host); n > 0 && pgen == gen {
				b.report(dctx, host, gen, n, fails, now.Sub(newest))
				return
			} else if n > 0 {
				b.report(dctx, host, pgen, n, 0, now.Sub(newest))
			}
		}
		b.report(dctx, host, gen, oks, fails, 0)
	}
}

func (b *Breakers) scheduleFlush(host string) clockwork.Timer {
	return b.clock.AfterFunc(flushEvery, func() { b.flush(host, false) })
}

// flush reports the successes gathered for host. Only Close flushes once the breakers are
// closed.
func (b *Breakers) flush(host string, closing bool) {
	b.flushing.RLock()
	defer b.flushing.RUnlock()
	if b.stopped.Load() && !closing {
		return
	}
	if gen, n, newest := b.closed.take(host); n > 0 && !b.paused(b.clock.Now()) {
		b.report(context.Background(), host, gen, n, 0, b.clock.Since(newest))
	}
}

// Close reports the successes still gathered, after waiting for reports under way. Call it
// before closing the Redis client; outcomes reported afterwards go to Redis one by one.
func (b *Breakers) Close() {
	defer b.gauge.stop()
	b.flushing.Lock()
	b.stopped.Store(true)
	b.flushing.Unlock()
	for _, host := range b.closed.hostsPending() {
		b.flush(host, true)
	}
}

// report tells Redis the outcomes of requests let through in generation gen — oks successes, the
// newest of them age ago, then fails failures — and learns the host's state from the answer.
func (b *Breakers) report(ctx context.Context, host string, gen int64, oks, fails int, age time.Duration) {
	now := b.clock.Now()
	r, err := b.run(ctx, now, "done", host, gen, oks, fails, age)
	if err != nil {
		b.unavailable(host, err)
		return
	}
	switch r.state {
	case StateClosed:
		b.closed.put(host, r.gen, now)
	case StateOpen:
		b.closed.forget(host)
		b.open.put(host, now.Add(r.retryAfter), now)
	default:
		b.closed.forget(host)
	}
}

// State returns the state of host's breaker: StateClosed, StateOpen or StateHalfOpen. A host
// never seen is closed. It returns an error when Redis cannot be asked.
func (b *Breakers) State(ctx context.Context, host string) (string, error) {
	r, err := b.eval(ctx, b.clock.Now(), "state", host, 0, 0, 0, 0)
	if err != nil {
		return "", fmt.Errorf("breaker state of %s: %w", host, err)
	}
	return r.state, nil
}

// result is the script's answer.
type result struct {
	allowed    bool
	gen        int64
	retryAfter time.Duration
	state      string
	// entered lists the states the call moved the breaker into, comma-separated.
	entered string
}

// run evaluates the script, waiting no longer than the configured Redis timeout. What Redis
// answers is what this process learns of host's state, and a change the call made is one this
// replica caused: both go to the metrics here, once per script run.
func (b *Breakers) run(ctx context.Context, now time.Time, op, host string, gen int64, oks, fails int, age time.Duration) (result, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.RedisTimeout)
	defer cancel()
	r, err := b.eval(ctx, now, op, host, gen, oks, fails, age)
	if err == nil {
		b.gauge.learned(host, r, now)
	}
	return r, err
}

// eval runs the script's op at now: the script decides by that instant, so what the caller
// caches from the answer ends when Redis's state does. done reports oks successes, the newest of
// them age ago, then fails failures, of generation gen.
func (b *Breakers) eval(ctx context.Context, now time.Time, op, host string, gen int64, oks, fails int, age time.Duration) (result, error) {
	v, err := b.script.Run(ctx, b.rdb, []string{b.cfg.KeyPrefix + "breaker:" + host},
		op, gen, oks,
		b.cfg.ConsecutiveFailures,
		strconv.FormatFloat(b.cfg.FailureRatio, 'g', -1, 64),
		b.cfg.MinRequests,
		b.cfg.Window.Milliseconds(),
		b.cfg.CoolDown.Milliseconds(),
		b.cfg.HalfOpenRequests,
		b.cfg.stateTTL().Milliseconds(),
		fails,
		max(age, 0).Milliseconds(),
		now.UnixMilli(),
	).Slice()
	if err != nil {
		return result{}, err
	}
	if len(v) != 5 {
		return result{}, fmt.Errorf("breaker script returned %d values", len(v))
	}
	allowed, _ := v[0].(int64)
	gen, _ = v[1].(int64)
	retry, _ := v[2].(int64)
	state, _ := v[3].(string)
	entered, _ := v[4].(string)
	return result{allowed: allowed == 1, gen: gen, retryAfter: time.Duration(retry) * time.Millisecond, state: state, entered: entered}, nil
}

func (b *Breakers) paused(now time.Time) bool {
	return now.UnixNano() < b.pausedUntil.Load()
}

// unavailable leaves Redis alone for a moment and warns, at most once per warnEvery, that
// requests go ahead without the breaker.
func (b *Breakers) unavailable(host string, err error) {
	now := b.clock.Now().UnixNano()
	b.pausedUntil.Store(now + int64(redisPause))
	last := b.lastWarn.Load()
	if now-last < int64(warnEvery) || !b.lastWarn.CompareAndSwap(last, now) {
		return
	}
	b.log.Warn("circuit breakers unavailable; requests go ahead unchecked", "host", host, "error", err)
}

// Package lease splits the job shards among the tick replicas with Redis leases, so that each
// replica claims due jobs from its own shards and replicas do not fight over the same rows.
//
// Leases are an optimisation over the database claim, not a guarantee: the claim (FOR UPDATE SKIP
// LOCKED, then a committed next_run_at) is what keeps a fire from being scheduled twice. Two
// replicas owning a shard for a moment is therefore harmless, and a shard owned by nobody only
// delays its jobs; the manager keeps that gap to about one lease lifetime. When Redis cannot be
// reached the manager reports every shard as owned, and the replicas fall back to contending on
// the database alone.
package lease

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redsync/redsync/v4"
	"github.com/go-redsync/redsync/v4/redis/goredis/v9"
	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/redisconn"
)

// TTLDefault is the lease lifetime when Config.TTL is zero.
const TTLDefault = 5 * time.Second

// TTLMin is the shortest lease lifetime accepted: a round runs every TTL/3 and gives each Redis
// call as long, which must stay well above a round trip and a scheduling hiccup.
const TTLMin = 100 * time.Millisecond

const (
	// releaseTimeout bounds the releases on shutdown, so a dead Redis cannot hold up a stop.
	releaseTimeout = time.Second
	// parallelism bounds the Redis calls of one round in flight at once: enough to renew 128
	// leases in a few round trips, few enough to leave the client's pool to the rest of the
	// process.
	parallelism = 16
)

// Config tunes a Manager.
type Config struct {
	// KeyPrefix starts every Redis key the manager uses: a lock per shard and the membership set.
	KeyPrefix string `koanf:"-"`
	// Instance names this replica among the members. It must be unique among live replicas;
	// a replica restarted under the same name takes back the leases it still holds.
	Instance string `koanf:"-"`
	// Shards is the number of shards to split; zero means domain.ShardCount.
	Shards int `koanf:"-"`
	// TTL is how long a lease lives without renewal; leases are renewed every TTL/3. Zero
	// means TTLDefault.
	TTL time.Duration `koanf:"ttl" usage:"shard lease lifetime; a dead replica's shards move after about this long"`
}

func (c Config) withDefaults() Config {
	c.Shards = cmp.Or(c.Shards, domain.ShardCount)
	c.TTL = cmp.Or(c.TTL, TTLDefault)
	return c
}

func (c Config) validate() error {
	switch {
	case c.Instance == "":
		return errors.New("lease.instance: must not be empty")
	case c.Shards < 0:
		return errors.New("lease.shards: must not be negative")
	case c.TTL < 0:
		return errors.New("lease.ttl: must not be negative")
	case c.TTL > 0 && c.TTL < TTLMin:
		return fmt.Errorf("lease.ttl: must be at least %s", TTLMin)
	}
	return nil
}

// Manager holds this replica's shard leases. Owned, Changed and Ready are safe for concurrent
// use; Run is called once.
type Manager struct {
	rdb        redis.UniversalClient
	clock      clockwork.Clock
	rs         *redsync.Redsync
	cfg        Config
	log        *slog.Logger
	metrics    metrics
	membersKey string
	all        []int

	running atomic.Bool
	changed chan struct{}
	ready   chan struct{}

	// Touched by Run's goroutine only.
	held map[int]*lease
	// waiting[s] is the member a free shard s was left to in the last round, or "".
	waiting []string
	// failing: the last round met Redis errors (logged once, when they start).
	failing bool
	// started: a round has read the leases; leases under our name found later are not ours,
	// unless they carry a value of unsure.
	started    bool
	warnedName bool
	// unsure holds the values of lock calls that failed without an answer since the last read.
	unsure map[int]string

	mu       sync.Mutex
	owned    []int
	fallback bool
}

// New returns a manager of the leases kept in rdb, which must have ContextTimeoutEnabled set:
// without it go-redis waits out its own read timeout whatever the context says, and a stalled
// Redis would stall the renewals. reg may be nil. New returns an error naming the field when cfg
// is invalid, or when the metrics cannot be registered; it does not contact Redis.
func New(rdb redis.UniversalClient, clock clockwork.Clock, cfg Config, log *slog.Logger, reg *metric.Registry) (*Manager, error) {
	if rdb == nil {
		return nil, errors.New("lease: redis client is required")
	}
	if !redisconn.ContextTimeouts(rdb) {
		return nil, errors.New("lease: the redis client must have ContextTimeoutEnabled, or an unresponsive Redis stalls the leases")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	met, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	all := make([]int, cfg.Shards)
	for i := range all {
		all[i] = i
	}
	return &Manager{
		rdb: rdb, clock: clock, rs: redsync.New(goredis.NewPool(rdb)), cfg: cfg, log: log, metrics: met,
		membersKey: cfg.KeyPrefix + "tick:members",
		all:        all,
		changed:    make(chan struct{}, 1),
		ready:      make(chan struct{}),
		held:       make(map[int]*lease),
		unsure:     make(map[int]string),
	}, nil
}

// Owned returns the shards this replica may claim now, sorted, and whether that is because Redis
// is unreachable: then it returns every shard and fallback is true. Before the first round
// (see Ready) and after Run returns it returns no shards.
func (m *Manager) Owned() (shards []int, fallback bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.owned), m.fallback
}

// Changed returns a channel that receives whenever Owned changes, so the tick can claim the new
// shards at once. It holds at most one pending signal; read Owned after receiving.
func (m *Manager) Changed() <-chan struct{} { return m.changed }

// Ready returns a channel closed once the first round has ended, leased or in fallback.
func (m *Manager) Ready() <-chan struct{} { return m.ready }

// Run keeps the leases until ctx ends, then releases every lease it holds (best effort, bounded
// to about a second) and removes this replica from the membership. It returns nil when ctx
// ends, and an error only when called a second time. Redis errors never end it: when Redis
// cannot be read and the leases held can no longer be vouched for, Owned falls back to every
// shard until Redis answers again.
func (m *Manager) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return errors.New("lease: Run called more than once")
	}
	// Rounds are not cut short by ctx: a lock call abandoned half-way may still take its lock,
	// which nobody would release. Every Redis call is bounded by its own timeout instead.
	roundCtx := context.WithoutCancel(ctx)
	timer := m.clock.NewTimer(m.cfg.TTL / 3)
	defer timer.Stop()
	for first := true; ; first = false {
		start := m.clock.Now()
		r := m.round(roundCtx)
		m.publish(r)
		if first {
			close(m.ready)
		}
		timer.Reset(m.clock.Until(start.Add(r.next)))
		select {
		case <-ctx.Done():
			m.shutdown(roundCtx)
			return nil
		case <-timer.Chan():
		}
	}
}

// result is what a round learnt.
type result struct {
	// observed: Redis answered the round's read, so the held leases are known.
	observed bool
	// next is when the next round is wanted, from the start of this one.
	next time.Duration
	// err tells of the Redis calls that failed, if any.
	err error
}

// round brings the leases in line with the membership: renew those held, hand over those another
// member should have, take those this replica should have. A failed call leaves its lease as it
// was; the next round looks again.
func (m *Manager) round(ctx context.Context) result {
	period := m.cfg.TTL / 3
	// Renewing before refreshing the membership makes a replica's membership outlive its leases:
	// when the others see it gone, its shards are already free to take.
	lost, errs := m.renew(ctx, slices.Sorted(maps.Keys(m.held)))
	members, values, wake, err := m.observe(ctx)
	if err != nil {
		m.waiting = nil
		errs = append(errs, err)
		next := period
		if until, ok := m.validUntil(); ok {
			// Be back when the first lease may lapse, to fall back then rather than a round late.
			next = min(next, max(m.clock.Until(until), 0))
		}
		return result{next: next, err: m.fail(errs)}
	}

	v := m.reconcile(members, values, lost)
	if len(v.adopted) > 0 {
		gone, adoptErrs := m.renew(ctx, v.adopted)
		errs = append(errs, adoptErrs...)
		for _, s := range gone {
			v.holders[s] = ""
		}
	}
	target := assign(m.cfg.Shards, members, v.holders)
	var give []int
	for s := range m.held {
		if target[s] != m.cfg.Instance {
			give = append(give, s)
		}
	}
	slices.Sort(give)
	errs = append(errs, m.release(ctx, give, period)...)
	took, lockErrs := m.acquire(ctx, m.wanted(v.free, target))
	errs = append(errs, lockErrs...)
	if len(took) > 0 || len(v.adopted) > 0 {
		// Keep the membership outliving every lease, including those just taken: the others
		// then find a dead replica's shards free the moment they see it gone.
		if err := m.refresh(ctx); err != nil {
			errs = append(errs, err)
		}
	}

	if len(v.stolen) > 0 {
		// This replica stalled for longer than a TTL.
		m.log.Warn("shard leases taken by another replica", "shards", v.stolen)
	}
	if expired := len(v.lost) - len(v.stolen); expired > 0 {
		m.log.Info("shard leases expired before renewal", "count", expired)
	}
	if len(took) > 0 || len(give) > 0 {
		m.log.Info("shard leases moved", "acquired", took, "released", give, "held", len(m.held))
	}
	var failed error
	if len(errs) > 0 {
		failed = m.fail(errs)
	}
	return result{observed: true, next: min(period, wake), err: failed}
}

// view is what a round read of the leases, after reconciling it with those held.
type view struct {
	holders []string // the live member holding each shard, or ""
	free    []bool   // whether each shard's lock is free
	adopted []int    // shards found ours in Redis but not held
	lost    []int    // shards held until now and found not ours
	stolen  []int    // those of lost that another replica holds
}

// reconcile compares the lock values read with the leases held, forgetting those found lost and
// taking up those found ours. lost are the shards renew already found lost.
func (m *Manager) reconcile(members, values []string, lost []int) view {
	self := m.cfg.Instance
	live := make(map[string]bool, len(members))
	for _, mem := range members {
		live[mem] = true
	}
	v := view{holders: make([]string, m.cfg.Shards), free: make([]bool, m.cfg.Shards), lost: lost}
	var foreign []int
	for s, val := range values {
		h := holder(val)
		if l := m.held[s]; l != nil && l.mu.Value() == val {
			v.holders[s] = self
			continue
		}
		if h == self && (!m.started || m.unsure[s] == val) {
			// Ours after all: a lock call that failed late, or a previous process of this
			// instance that died holding it. Take it back rather than leave the shard
			// unclaimed until the lease expires.
			m.held[s] = &lease{mu: m.mutex(s, redsync.WithValue(val))} // lapsed until renewed below
			v.adopted = append(v.adopted, s)
			v.holders[s] = self
			continue
		}
		if _, ok := m.held[s]; ok {
			delete(m.held, s)
			v.lost = append(v.lost, s)
		}
		switch {
		case val == "":
			v.free[s] = true
		case h == self:
			foreign = append(foreign, s)
		case live[h]:
			v.holders[s] = h
		}
	}
	m.started = true
	clear(m.unsure)
	for _, s := range v.lost {
		if values[s] != "" {
			v.stolen = append(v.stolen, s)
		}
	}
	if len(foreign) > 0 && !m.warnedName {
		m.warnedName = true
		m.log.Warn("another process holds shard leases under this replica's instance name; give every replica a unique one",
			"instance", self, "shards", foreign)
	}
	return v
}

// wanted returns the free shards to try to lock: those meant for this replica, and those meant
// for a member that let a whole round pass without taking them.
func (m *Manager) wanted(free []bool, target []string) []int {
	var want []int
	waiting := make([]string, m.cfg.Shards)
	for s, f := range free {
		if !f {
			continue
		}
		// Taking a shard meant for another member at once would snatch every shard handed
		// over, and the shard would bounce from replica to replica until it reached its member.
		// A member that lets a round pass is taken to be stuck.
		if target[s] == m.cfg.Instance || (m.waiting != nil && m.waiting[s] == target[s]) {
			want = append(want, s)
		} else {
			waiting[s] = target[s]
		}
	}
	m.waiting = waiting
	return want
}

// lease is a held shard lease and when it may lapse, by this process's clock.
type lease struct {
	mu    *redsync.Mutex
	until time.Time
}

// validFrom returns until when a lease set by a lock call that started at start is surely still
// held: its TTL, less the allowance redsync makes for the drift between this process's clock and
// Redis's (1 % and 2 ms).
func (m *Manager) validFrom(start time.Time) time.Time {
	return start.Add(m.cfg.TTL - m.cfg.TTL/100 - 2*time.Millisecond)
}

// validUntil returns when the first held lease may lapse, as far as this process can tell, and
// false when none is held.
func (m *Manager) validUntil() (time.Time, bool) {
	var first time.Time
	for _, l := range m.held {
		if first.IsZero() || l.until.Before(first) {
			first = l.until
		}
	}
	return first, len(m.held) > 0
}

// fail counts the failed Redis calls of a round and returns one error telling of them.
func (m *Manager) fail(errs []error) error {
	failed := 0
	for _, err := range errs {
		if !errors.Is(err, errSkipped) {
			failed++
		}
	}
	m.metrics.errors.Add(float64(failed))
	if len(errs) == 1 {
		return errs[0]
	}
	return fmt.Errorf("%d redis calls failed or skipped, first: %w", len(errs), errs[0])
}

// renew extends the given held leases. It forgets and returns those found expired or taken,
// and returns the Redis errors met; a lease whose renewal failed is kept, as it may still be
// ours, and the next round tells.
func (m *Manager) renew(ctx context.Context, shards []int) (lost []int, errs []error) {
	results := parallel(len(shards), true, func(i int) error {
		ctx, cancel := context.WithTimeout(ctx, m.cfg.TTL/3)
		defer cancel()
		l, start := m.held[shards[i]], m.clock.Now()
		ok, err := l.mu.ExtendContext(ctx)
		if !ok && err == nil {
			err = redsync.ErrExtendFailed
		}
		if err == nil {
			l.until = m.validFrom(start)
		}
		return err
	})
	for i, err := range results {
		switch {
		case err == nil:
		case taken(err):
			// Expired, or taken by another replica after we stalled: stop claiming it at once.
			delete(m.held, shards[i])
			lost = append(lost, shards[i])
		default:
			errs = append(errs, fmt.Errorf("renew shard %d: %w", shards[i], err))
		}
	}
	return lost, errs
}

// acquire tries once to lock each of the given shards and returns those it got.
func (m *Manager) acquire(ctx context.Context, shards []int) (took []int, errs []error) {
	locks := make([]*redsync.Mutex, len(shards))
	values := make([]string, len(shards))
	starts := make([]time.Time, len(shards))
	results := parallel(len(shards), true, func(i int) error {
		ctx, cancel := context.WithTimeout(ctx, m.cfg.TTL/3)
		defer cancel()
		starts[i] = m.clock.Now()
		locks[i] = m.mutex(shards[i], redsync.WithGenValueFunc(func() (string, error) {
			v, err := m.lockValue()
			values[i] = v
			return v, err
		}))
		return locks[i].TryLockContext(ctx)
	})
	for i, err := range results {
		switch {
		case err == nil:
			m.held[shards[i]] = &lease{mu: locks[i], until: m.validFrom(starts[i])}
			took = append(took, shards[i])
		case taken(err):
		default:
			// The lock may have been taken all the same; the next read tells.
			m.unsure[shards[i]] = values[i]
			errs = append(errs, fmt.Errorf("lock shard %d: %w", shards[i], err))
		}
	}
	return took, errs
}

// membershipScript refreshes this replica's entry in the membership set, scored by its expiry in
// Redis' own clock (replicas' clocks may disagree), drops expired entries and returns the rest,
// each followed by the milliseconds it has left. The set itself expires with its last entry.
var membershipScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local out = {}
for i = 1, #entries, 2 do
	table.insert(out, entries[i])
	table.insert(out, tonumber(entries[i + 1]) - now)
end
return out
`

// refresh refreshes this replica's membership.
func (m *Manager) refresh(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.TTL/3)
	defer cancel()
	if err := m.rdb.Eval(ctx, membershipScript, []string{m.membersKey}, m.cfg.Instance, m.cfg.TTL.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("refresh membership: %w", err)
	}
	return nil
}

// wakeMargin is how long after another member's membership lapses a round looks again: enough
// for the lapse to be seen, as Redis and this process tick at different instants.
const wakeMargin = 10 * time.Millisecond

// observe refreshes the membership and reads every shard's lock in one round trip, so that the
// live members and the free shards are seen at the same moment. It returns the live members,
// sorted, each lock's value ("" when free), and how long until the first other member lapses
// unless it renews (the TTL when none will), so that a dead member's shards are taken as soon
// as they are free rather than up to a round later.
func (m *Manager) observe(ctx context.Context) (members, values []string, wake time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.TTL/3)
	defer cancel()
	var (
		membersCmd *redis.Cmd
		gets       = make([]*redis.StringCmd, m.cfg.Shards)
	)
	_, err = m.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		membersCmd = p.Eval(ctx, membershipScript, []string{m.membersKey}, m.cfg.Instance, m.cfg.TTL.Milliseconds())
		for s := range gets {
			gets[s] = p.Get(ctx, m.key(s))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, 0, fmt.Errorf("read shard leases: %w", err)
	}
	entries, err := membersCmd.Slice()
	if err != nil {
		return nil, nil, 0, fmt.Errorf("refresh membership: %w", err)
	}
	wake = m.cfg.TTL
	for i := 0; i+1 < len(entries); i += 2 {
		name, ok1 := entries[i].(string)
		left, ok2 := entries[i+1].(int64)
		if !ok1 || !ok2 {
			return nil, nil, 0, fmt.Errorf("refresh membership: unexpected reply %v", entries)
		}
		members = append(members, name)
		if name != m.cfg.Instance {
			wake = min(wake, time.Duration(left)*time.Millisecond+wakeMargin)
		}
	}
	slices.Sort(members)
	values = make([]string, len(gets))
	for s, g := range gets {
		v, err := g.Result()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return nil, nil, 0, fmt.Errorf("read shard lease %d: %w", s, err)
		default:
			values[s] = v
		}
	}
	return members, values, wake, nil
}

// release unlocks the given held shards, each call bounded by timeout, and forgets them whether
// or not Redis answered: a lease not released expires on its own.
func (m *Manager) release(ctx context.Context, shards []int, timeout time.Duration) []error {
	// Every release is tried: one not made holds its shard from the others for a TTL.
	results := parallel(len(shards), false, func(i int) error {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		_, err := m.held[shards[i]].mu.UnlockContext(ctx)
		if taken(err) || errors.Is(err, redsync.ErrLockAlreadyExpired) {
			return nil
		}
		return err
	})
	var errs []error
	for i, err := range results {
		delete(m.held, shards[i])
		if err != nil {
			errs = append(errs, fmt.Errorf("release shard %d: %w", shards[i], err))
		}
	}
	return errs
}

// shutdown releases every held lease and leaves the membership, so the other replicas take the
// shards at their next round instead of after the leases expire.
func (m *Manager) shutdown(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, releaseTimeout)
	defer cancel()
	errs := m.release(ctx, slices.Sorted(maps.Keys(m.held)), releaseTimeout)
	if err := m.rdb.ZRem(ctx, m.membersKey, m.cfg.Instance).Err(); err != nil {
		errs = append(errs, fmt.Errorf("leave membership: %w", err))
	}
	if len(errs) > 0 {
		m.log.Warn("shard leases not released; they expire on their own", "error", m.fail(errs), "ttl", m.cfg.TTL)
	}
	m.mu.Lock()
	m.owned, m.fallback = nil, false
	m.mu.Unlock()
	m.metrics.owned.Set(0)
	m.metrics.fallback.Set(0)
	m.notify()
}

// publish makes the outcome of a round what Owned reports. Leased shards stay reported while
// Redis cannot be read, as long as their leases last: nobody else can take them meanwhile, and
// a short outage or one slow reply is not worth every replica claiming every shard. Once a lease
// may have lapsed, or when none is held, every shard is reported until Redis is read again.
func (m *Manager) publish(r result) {
	m.mu.Lock()
	wasFallback := m.fallback
	m.mu.Unlock()
	fallback := wasFallback
	switch {
	case r.observed:
		fallback = false
	case !fallback:
		until, ok := m.validUntil()
		fallback = !ok || !m.clock.Now().Before(until)
	}
	owned := m.all
	if !fallback {
		owned = slices.Sorted(maps.Keys(m.held))
	}
	m.mu.Lock()
	changed := wasFallback != fallback || !slices.Equal(m.owned, owned)
	m.owned, m.fallback = owned, fallback
	m.mu.Unlock()

	switch {
	case fallback && !wasFallback:
		m.log.Warn("redis unreachable: claiming every shard until it answers", "error", r.err)
	case !fallback && wasFallback:
		m.log.Info("redis reachable again: leasing shards", "held", len(owned))
	case r.err != nil && !m.failing:
		m.log.Warn("redis calls for shard leases failing", "error", r.err)
	case r.err == nil && m.failing:
		m.log.Info("redis calls for shard leases succeeding again")
	}
	m.failing = r.err != nil
	m.metrics.owned.Set(float64(len(owned)))
	if fallback {
		m.metrics.fallback.Set(1)
	} else {
		m.metrics.fallback.Set(0)
	}
	if changed {
		m.notify()
	}
}

func (m *Manager) notify() {
	select {
	case m.changed <- struct{}{}:
	default:
	}
}

func (m *Manager) key(shard int) string { return m.cfg.KeyPrefix + "shard:" + strconv.Itoa(shard) }

func (m *Manager) mutex(shard int, opts ...redsync.Option) *redsync.Mutex {
	return m.rs.NewMutex(m.key(shard), append([]redsync.Option{
		redsync.WithExpiry(m.cfg.TTL),
		// Never wait for a held shard: it is someone's, and the next round looks again.
		redsync.WithTries(1),
		// redsync's own bound on a lock call, as a fraction of the expiry: the same TTL/3 as
		// every other call of a round.
		redsync.WithTimeoutFactor(1.0 / 3),
		// The value names the holder, so every replica (and an operator reading the keys)
		// can tell whose a lease is.
		redsync.WithGenValueFunc(m.lockValue),
	}, opts...)...)
}

func (m *Manager) lockValue() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return m.cfg.Instance + "." + hex.EncodeToString(b[:]), nil
}

// holder returns the instance that wrote a lock value: all of it before the last dot.
func holder(value string) string {
	i := strings.LastIndexByte(value, '.')
	if i < 0 {
		return ""
	}
	return value[:i]
}

// taken reports whether a redsync error means the lock is someone else's (or nobody's), as
// opposed to Redis failing.
func taken(err error) bool {
	var t *redsync.ErrTaken
	return errors.As(err, &t)
}

// errSkipped stands for a call not made because an earlier one of its batch met a Redis failure.
var errSkipped = errors.New("not attempted: redis is failing")

// parallel calls fn(0) … fn(n-1), at most parallelism at once, and returns their errors. With
// skipOnFailure, once a call fails for a reason other than the lock being someone else's, the
// calls not yet started are skipped: with Redis paused each would wait out its own timeout, and
// a round would take many of them.
func parallel(n int, skipOnFailure bool, fn func(i int) error) []error {
	errs := make([]error, n)
	var (
		wg     sync.WaitGroup
		failed atomic.Bool
		sem    = make(chan struct{}, parallelism)
	)
	for i := range n {
		sem <- struct{}{}
		if failed.Load() {
			<-sem
			errs[i] = errSkipped
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = fn(i)
			if skipOnFailure && errs[i] != nil && !taken(errs[i]) {
				failed.Store(true)
			}
		})
	}
	wg.Wait()
	return errs
}

package lease

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// testTTL is short so that rounds (every TTL/3) come quickly, and long enough that a loaded CI
// machine still renews well within it: at 600 ms a Redis call of the full test run, slowed past
// its deadline, once lost a lease after the replicas had settled.
const testTTL = 1500 * time.Millisecond

// settleTimeout bounds how long replicas may take to agree after a start or a stop (before
// testenv.Timeout scales it); agreement normally takes a few rounds.
const settleTimeout = 15 * time.Second

func newClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	require.NoError(t, err)
	opts.ContextTimeoutEnabled = true
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// replica is one tick replica's lease manager, running.
type replica struct {
	name   string
	m      *Manager
	rdb    *redis.Client
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

func startReplica(t *testing.T, url, prefix, name string, ttl time.Duration) *replica {
	t.Helper()
	rdb := newClient(t, url)
	m, err := New(rdb, clockwork.NewRealClock(), Config{KeyPrefix: prefix, Instance: name, TTL: ttl}, testenv.Logger(t).With("replica", name), nil)
	require.NoError(t, err)
	return run(t, name, m, rdb)
}

func startReplicas(t *testing.T, url, prefix string, n int, ttl time.Duration) []*replica {
	t.Helper()
	reps := make([]*replica, n)
	for i := range reps {
		reps[i] = startReplica(t, url, prefix, "tick-"+strconv.Itoa(i), ttl)
	}
	return reps
}

func run(t *testing.T, name string, m *Manager, rdb *redis.Client) *replica {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{name: name, m: m, rdb: rdb, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- m.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop ends the replica's Run and waits for it, releases included.
func (r *replica) stop(t *testing.T) {
	t.Helper()
	r.once.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			assert.NoError(t, err, r.name)
		case <-time.After(testenv.Timeout(10 * time.Second)):
			t.Errorf("%s: Run did not return after cancel", r.name)
		}
	})
}

// splitProblem tells how reps fail to own each shard exactly once, none in fallback, each
// between ⌊shards/n⌋-slack and ⌈shards/n⌉+slack shards; "" when they do.
func splitProblem(reps []*replica, slack int) string {
	shards, n := domain.ShardCount, len(reps)
	owners := make([][]string, shards)
	for _, r := range reps {
		owned, fallback := r.m.Owned()
		switch {
		case fallback:
			return fmt.Sprintf("%s in fallback", r.name)
		case !slices.IsSorted(owned):
			return fmt.Sprintf("%s: Owned not sorted: %v", r.name, owned)
		case len(owned) < shards/n-slack:
			return fmt.Sprintf("%s owns too few: %d", r.name, len(owned))
		case len(owned) > (shards+n-1)/n+slack:
			return fmt.Sprintf("%s owns too many: %d", r.name, len(owned))
		}
		for _, s := range owned {
			owners[s] = append(owners[s], r.name)
		}
	}
	for s, o := range owners {
		if len(o) != 1 {
			return fmt.Sprintf("shard %d owned by %v", s, o)
		}
	}
	return ""
}

// requireCovered checks that every shard is owned by at least one of reps.
func requireCovered(c require.TestingT, reps []*replica) {
	covered := make([]bool, domain.ShardCount)
	for _, r := range reps {
		owned, _ := r.m.Owned()
		for _, s := range owned {
			covered[s] = true
		}
	}
	require.NotContains(c, covered, false)
}

// waitSplit waits until reps own the shards between them, each about its share.
func waitSplit(t *testing.T, reps []*replica) {
	t.Helper()
	awaitSplit(t, reps, 2, "the shards split among the replicas")
}

// waitSettled waits until reps own exactly ⌊shards/n⌋ or ⌈shards/n⌉ shards each: the only state
// in which no replica has a shard to hand over or to take.
func waitSettled(t *testing.T, reps []*replica) {
	t.Helper()
	awaitSplit(t, reps, 0, "the replicas settled on even shares")
}

func awaitSplit(t *testing.T, reps []*replica, slack int, what string) {
	t.Helper()
	testenv.AwaitWithin(t, settleTimeout, what, func() (string, bool) {
		p := splitProblem(reps, slack)
		return p, p == ""
	})
}

func allShards() []int {
	all := make([]int, domain.ShardCount)
	for i := range all {
		all[i] = i
	}
	return all
}

func TestOneReplicaOwnsEveryShard(t *testing.T) {
	t.Parallel()
	url, prefix := testenv.RedisURL(t)
	r := startReplica(t, url, prefix, "tick-0", testTTL)

	select {
	case <-r.m.Changed():
	case <-time.After(testenv.Timeout(settleTimeout)):
		t.Fatal("no change signalled")
	}
	<-r.m.Ready()
	waitSplit(t, []*replica{r})
	owned, fallback := r.m.Owned()
	require.False(t, fallback)
	require.Equal(t, allShards(), owned)
}

func TestReplicasSplitShards(t *testing.T) {
	t.Parallel()
	for _, n := range []int{3, 10} {
		t.Run("Replicas"+strconv.Itoa(n), func(t *testing.T) {
			t.Parallel()
			url, prefix := testenv.RedisURL(t)
			reps := startReplicas(t, url, prefix, n, testTTL)
			waitSplit(t, reps)
			waitSettled(t, reps)

			// Settled, the split stays put: nobody hands over or takes anything.
			settled := make([][]int, n)
			for i, r := range reps {
				settled[i], _ = r.m.Owned()
			}
			require.Never(t, func() bool {
				for i, r := range reps {
					if owned, _ := r.m.Owned(); !slices.Equal(owned, settled[i]) {
						return true
					}
				}
				return false
			}, 2*testTTL, 20*time.Millisecond, "ownership changed after settling")
		})
	}
}

func TestKilledReplicasShardsAreTakenOver(t *testing.T) {
	t.Parallel()
	const ttl = time.Second
	url, prefix := testenv.RedisURL(t)
	reps := startReplicas(t, url, prefix, 3, ttl)
	waitSplit(t, reps)

	// Closing the client first makes the victim's releases fail, as if its process had died:
	// its leases stay in Redis until they expire.
	victim, survivors := reps[0], reps[1:]
	orphaned, _ := victim.m.Owned()
	require.NoError(t, victim.rdb.Close())
	killed := time.Now()
	victim.stop(t)

	require.EventuallyWithT(t, func(c *assert.CollectT) { requireCovered(c, survivors) }, 2*ttl, 10*time.Millisecond,
		"survivors must take over within about one TTL and a round")
	t.Logf("%d shards of a killed replica taken over after %s (ttl %s)", len(orphaned), time.Since(killed).Round(time.Millisecond), ttl)
	waitSplit(t, survivors)
}

func TestStoppedReplicasShardsMoveAtOnce(t *testing.T) {
	t.Parallel()
	const ttl = time.Second
	url, prefix := testenv.RedisURL(t)
	reps := startReplicas(t, url, prefix, 3, ttl)
	waitSplit(t, reps)

	victim, survivors := reps[0], reps[1:]
	released, _ := victim.m.Owned()
	stopped := time.Now()
	victim.stop(t)
	owned, fallback := victim.m.Owned()
	require.Empty(t, owned)
	require.False(t, fallback)

	// Released leases are free at the survivors' next round, long before they would expire.
	require.EventuallyWithT(t, func(c *assert.CollectT) { requireCovered(c, survivors) }, ttl, 10*time.Millisecond)
	t.Logf("%d shards of a stopped replica taken over after %s (ttl %s)", len(released), time.Since(stopped).Round(time.Millisecond), ttl)
	waitSplit(t, survivors)
}

func TestRestartedReplicaTakesBackItsLeases(t *testing.T) {
	t.Parallel()
	// A lease long enough that a first round slowed by a busy machine (a Redis read of more
	// than half a second was seen) still ends before the lease does: the replica would fall back
	// to claiming every shard.
	const ttl = 2 * time.Second
	url, prefix := testenv.RedisURL(t)
	reps := startReplicas(t, url, prefix, 2, ttl)
	waitSettled(t, reps)

	old := reps[0]
	held, _ := old.m.Owned()
	require.NoError(t, old.rdb.Close())
	old.stop(t)

	// Restarted under the same name before its leases expire, it owns its shards again after
	// one round instead of waiting for them to expire and be handed back.
	again := startReplica(t, url, prefix, old.name, ttl)
	select {
	case <-again.m.Ready():
	case <-time.After(testenv.Timeout(settleTimeout)):
		t.Fatal("not ready")
	}
	owned, fallback := again.m.Owned()
	require.False(t, fallback)
	require.Equal(t, held, owned)
	waitSettled(t, []*replica{again, reps[1]})
}

func TestJoiningReplicaGetsItsShare(t *testing.T) {
	t.Parallel()
	// Rounds half a second apart: the newcomer has a round or two to take each shard handed
	// over to it before an old member may take the shard as stuck.
	const ttl = 1500 * time.Millisecond
	url, prefix := testenv.RedisURL(t)
	reps := startReplicas(t, url, prefix, 2, ttl)
	waitSettled(t, reps)
	before := map[string][]int{}
	holders := make([]string, domain.ShardCount)
	for _, r := range reps {
		before[r.name], _ = r.m.Owned()
		for _, s := range before[r.name] {
			holders[s] = r.name
		}
	}
	const newcomer = "tick-new"
	want := assign(domain.ShardCount, []string{reps[0].name, reps[1].name, newcomer}, holders)
	shareOf := func(name string) (shards []int) {
		for s, m := range want {
			if m == name {
				shards = append(shards, s)
			}
		}
		return shards
	}
	require.Len(t, shareOf(newcomer), domain.ShardCount/3, "the newcomer ranks last by load: no shard left over for it")

	reps = append(reps, startReplica(t, url, prefix, newcomer, ttl))
	waitSettled(t, reps)

	got, _ := reps[2].m.Owned()
	require.Len(t, got, len(shareOf(newcomer)), "the newcomer holds its share")
	pickedUp := 0
	for _, r := range reps[:2] {
		owned, _ := r.m.Owned()
		require.Len(t, owned, len(shareOf(r.name)), "%s holds its share", r.name)
		for _, s := range owned {
			if slices.Contains(before[r.name], s) {
				continue
			}
			// Old members only give: one takes a shard it did not hold only when the member
			// that shard was left to let a whole round pass without taking it, and such a
			// shard was the newcomer's.
			require.Equal(t, newcomer, want[s], "%s took shard %d from %s", r.name, s, holders[s])
			pickedUp++
		}
	}
	if pickedUp == 0 {
		// Nobody was slow: the old members kept the shards they score highest, the newcomer
		// took the rest.
		require.Equal(t, shareOf(newcomer), got)
	}
	t.Logf("newcomer took %d shards; old members picked up %d the newcomer was slow to take", len(got), pickedUp)
}

func TestRedisUnreachableFallsBackToEveryShard(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	reg, err := metric.New(metric.Config{Function: "tick"})
	require.NoError(t, err)
	m, err := New(rdb, clockwork.NewRealClock(), Config{Instance: "tick-0", TTL: testTTL}, testenv.Logger(t), reg)
	require.NoError(t, err)
	owned, fallback := m.Owned()
	require.Empty(t, owned, "before the first round")
	require.False(t, fallback, "before the first round")

	run(t, "tick-0", m, rdb)
	select {
	case <-m.Ready():
	case <-time.After(testenv.Timeout(settleTimeout)):
		t.Fatal("not ready")
	}
	owned, fallback = m.Owned()
	require.True(t, fallback)
	require.Equal(t, allShards(), owned)
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP vecron_tick_lease_fallback 1 while Redis is unreachable and the replica claims every shard, relying on the database claim alone.
# TYPE vecron_tick_lease_fallback gauge
vecron_tick_lease_fallback 1
# HELP vecron_tick_shards_owned Shards this tick replica claims jobs from (all of them in fallback).
# TYPE vecron_tick_shards_owned gauge
vecron_tick_shards_owned 128
`), "vecron_tick_lease_fallback", "vecron_tick_shards_owned"))
	require.Positive(t, testutil.ToFloat64(m.metrics.errors))
}

// outage cuts a client off Redis while down is set: new connections fail and open ones error.
type outage struct{ down atomic.Bool }

var errOutage = errors.New("redis cut off by the test")

func (o *outage) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if o.down.Load() {
		return nil, errOutage
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &outageConn{Conn: c, o: o}, nil
}

type outageConn struct {
	net.Conn
	o *outage
}

func (c *outageConn) Read(b []byte) (int, error) {
	if c.o.down.Load() {
		return 0, errOutage
	}
	return c.Conn.Read(b)
}

func (c *outageConn) Write(b []byte) (int, error) {
	if c.o.down.Load() {
		return 0, errOutage
	}
	return c.Conn.Write(b)
}

func TestLeasingResumesWhenRedisAnswersAgain(t *testing.T) {
	t.Parallel()
	url, prefix := testenv.RedisURL(t)
	opts, err := redis.ParseURL(url)
	require.NoError(t, err)
	var o outage
	opts.ContextTimeoutEnabled = true
	opts.Dialer = o.dial
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	reg, err := metric.New(metric.Config{Function: "tick"})
	require.NoError(t, err)
	m, err := New(rdb, clockwork.NewRealClock(), Config{KeyPrefix: prefix, Instance: "tick-0", TTL: testTTL}, testenv.Logger(t), reg)
	require.NoError(t, err)
	r := run(t, "tick-0", m, rdb)
	waitSplit(t, []*replica{r})

	o.down.Store(true)
	testenv.EventuallyWithin(t, settleTimeout, "the fallback to every shard", func() bool {
		owned, fallback := m.Owned()
		return fallback && slices.Equal(allShards(), owned) && testutil.ToFloat64(m.metrics.fallback) == 1
	})

	o.down.Store(false)
	waitSplit(t, []*replica{r})
	require.Equal(t, 0.0, testutil.ToFloat64(m.metrics.fallback))
	require.Equal(t, float64(domain.ShardCount), testutil.ToFloat64(m.metrics.owned))
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	ok := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = ok.Close() })
	noTimeouts := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = noTimeouts.Close() })
	tests := []struct {
		name string
		rdb  redis.UniversalClient
		cfg  Config
		want string
	}{
		{"NoClient", nil, Config{Instance: "a"}, "redis client is required"},
		{"NoContextTimeouts", noTimeouts, Config{Instance: "a"}, "ContextTimeoutEnabled"},
		{"NoInstance", ok, Config{}, "lease.instance"},
		{"NegativeShards", ok, Config{Instance: "a", Shards: -1}, "lease.shards"},
		{"NegativeTTL", ok, Config{Instance: "a", TTL: -time.Second}, "lease.ttl"},
		{"ShortTTL", ok, Config{Instance: "a", TTL: time.Millisecond}, "lease.ttl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.rdb, clockwork.NewRealClock(), tt.cfg, nil, nil)
			require.ErrorContains(t, err, tt.want)
		})
	}
	m, err := New(ok, clockwork.NewRealClock(), Config{Instance: "a"}, nil, nil)
	require.NoError(t, err)
	require.Equal(t, domain.ShardCount, m.cfg.Shards)
	require.Equal(t, TTLDefault, m.cfg.TTL)
}

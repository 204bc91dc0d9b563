package lease

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testTTL is short so that rounds (every TTL/3) come quickly, and long enough that a loaded CI
// machine still renews well within it.
const testTTL = 600 * time.Millisecond

// settleTimeout bounds how long replicas may take to agree after a start or a stop; agreement
// normally takes a few rounds.
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

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
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
	m, err := New(rdb, clockwork.NewRealClock(), Config{KeyPrefix: prefix, Instance: name, TTL: ttl}, testLogger(t).With("replica", name), nil)
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
		case <-time.After(10 * time.Second):
			t.Errorf("%s: Run did not return after cancel", r.name)
		}
	})
}

// requireSplit checks that each shard is owned by exactly one of reps, none in fallback, and that
// each owns between ⌊shards/n⌋-slack and ⌈shards/n⌉+slack.
func requireSplit(c require.TestingT, reps []*replica, slack int) {
	shards, n := domain.ShardCount, len(reps)
	owners := make([][]string, shards)
	for _, r := range reps {
		owned, fallback := r.m.Owned()
		require.False(c, fallback, "%s in fallback", r.name)
		require.True(c, slices.IsSorted(owned), "%s: Owned not sorted", r.name)
		require.GreaterOrEqual(c, len(owned), shards/n-slack, "%s owns too few", r.name)
		require.LessOrEqual(c, len(owned), (shards+n-1)/n+slack, "%s owns too many", r.name)
		for _, s := range owned {
			owners[s] = append(owners[s], r.name)
		}
	}
	for s, o := range owners {
		require.Len(c, o, 1, "owners of shard %d", s)
	}
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
	require.EventuallyWithT(t, func(c *assert.CollectT) { requireSplit(c, reps, 2) }, settleTimeout, 20*time.Millisecond)
}

// waitSettled waits until reps own exactly ⌊shards/n⌋ or ⌈shards/n⌉ shards each: the only state
// in which no replica has a shard to hand over or to take.
func waitSettled(t *testing.T, reps []*replica) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) { requireSplit(c, reps, 0) }, settleTimeout, 20*time.Millisecond)
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
	case <-time.After(settleTimeout):
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
	url, prefix := testenv.RedisURL(t)
	reps := startReplicas(t, url, prefix, 2, testTTL)
	waitSettled(t, reps)

	old := reps[0]
	held, _ := old.m.Owned()
	require.NoError(t, old.rdb.Close())
	old.stop(t)

	// Restarted under the same name before its leases expire, it owns its shards again after
	// one round instead of waiting for them to expire and be handed back.
	again := startReplica(t, url, prefix, old.name, testTTL)
	select {
	case <-again.m.Ready():
	case <-time.After(settleTimeout):
		t.Fatal("not ready")
	}
	owned, fallback := again.m.Owned()
	require.False(t, fallback)
	require.Equal(t, held, owned)
	waitSettled(t, []*replica{again, reps[1]})
}

func TestJoiningReplicaGetsItsShare(t *testing.T) {
	t.Parallel()
	url, prefix := testenv.RedisURL(t)
	reps := startReplicas(t, url, prefix, 2, testTTL)
	waitSplit(t, reps)
	before := make([][]int, len(reps))
	for i, r := range reps {
		before[i], _ = r.m.Owned()
	}

	reps = append(reps, startReplica(t, url, prefix, "tick-new", testTTL))
	waitSplit(t, reps)
	// Old members are asked only to give shards to the newcomer. One may still pick up a shard
	// the newcomer was slow to take, so this is reported rather than required.
	traded := 0
	for i, r := range reps[:2] {
		owned, _ := r.m.Owned()
		for _, s := range owned {
			if !slices.Contains(before[i], s) {
				traded++
			}
		}
	}
	owned, _ := reps[2].m.Owned()
	t.Logf("newcomer took %d shards; old members traded %d between them", len(owned), traded)
}

func TestRedisUnreachableFallsBackToEveryShard(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	reg := prometheus.NewRegistry()
	m, err := New(rdb, clockwork.NewRealClock(), Config{Instance: "tick-0", TTL: testTTL}, slog.New(slog.DiscardHandler), reg)
	require.NoError(t, err)
	owned, fallback := m.Owned()
	require.Empty(t, owned, "before the first round")
	require.False(t, fallback, "before the first round")

	run(t, "tick-0", m, rdb)
	select {
	case <-m.Ready():
	case <-time.After(settleTimeout):
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
	reg := prometheus.NewRegistry()
	m, err := New(rdb, clockwork.NewRealClock(), Config{KeyPrefix: prefix, Instance: "tick-0", TTL: testTTL}, testLogger(t), reg)
	require.NoError(t, err)
	r := run(t, "tick-0", m, rdb)
	waitSplit(t, []*replica{r})

	o.down.Store(true)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		owned, fallback := m.Owned()
		require.True(c, fallback)
		require.Equal(c, allShards(), owned)
		require.Equal(c, 1.0, testutil.ToFloat64(m.metrics.fallback))
	}, settleTimeout, 10*time.Millisecond)

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

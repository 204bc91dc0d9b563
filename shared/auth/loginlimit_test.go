package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/testenv"
)

// testLimiter returns a limiter with cfg on the test Redis under a key prefix of t's own,
// whose keys are deleted when t ends, and a client to look at them.
func testLimiter(t *testing.T, cfg LoginLimitConfig) (*LoginLimiter, *redis.Client) {
	t.Helper()
	url, prefix := testenv.RedisURL(t)
	opts, err := redis.ParseURL(url)
	require.NoError(t, err)
	opts.ContextTimeoutEnabled = true
	rdb := redis.NewClient(opts)
	t.Cleanup(func() {
		defer rdb.Close()
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
	cfg.Prefix = prefix
	return NewLoginLimiter(rdb, cfg), rdb
}

// failN counts n failed logins, the i-th from ip(i) for user(i).
func failN(t *testing.T, l *LoginLimiter, n int, ip, user func(i int) string) {
	t.Helper()
	for i := range n {
		require.NoError(t, l.Fail(t.Context(), ip(i), user(i)))
	}
}

func same(s string) func(int) string { return func(int) string { return s } }

func numbered(s string) func(int) string { return func(i int) string { return fmt.Sprint(s, i) } }

func requireBlocked(t *testing.T, l *LoginLimiter, ip, user string, window time.Duration) time.Duration {
	t.Helper()
	retry, err := l.Check(t.Context(), ip, user)
	require.NoError(t, err)
	require.Positive(t, retry, "%s / %s is not blocked", ip, user)
	require.LessOrEqual(t, retry, window)
	return retry
}

func requireAllowed(t *testing.T, l *LoginLimiter, ip, user string) {
	t.Helper()
	retry, err := l.Check(t.Context(), ip, user)
	require.NoError(t, err)
	require.Zero(t, retry, "%s / %s is blocked", ip, user)
}

func TestLoginLimitBlocksAtMaxFailures(t *testing.T) {
	t.Parallel()
	l, rdb := testLimiter(t, LoginLimitConfig{})
	requireAllowed(t, l, "192.0.2.1", "alice")

	failN(t, l, LoginMaxFailuresDefault-1, same("192.0.2.1"), same("alice"))
	requireAllowed(t, l, "192.0.2.1", "alice")

	failN(t, l, 1, same("192.0.2.1"), same("alice"))
	requireBlocked(t, l, "192.0.2.1", "alice", LoginWindowDefault)
	requireAllowed(t, l, "192.0.2.2", "bob")

	// Failing on while blocked does not push the end of the window back.
	key := l.userKey("alice")
	before, err := rdb.PTTL(t.Context(), key).Result()
	require.NoError(t, err)
	failN(t, l, 3, same("192.0.2.1"), same("alice"))
	after, err := rdb.PTTL(t.Context(), key).Result()
	require.NoError(t, err)
	require.LessOrEqual(t, after, before)
}

func TestLoginLimitBlocksAnIPAcrossUsernames(t *testing.T) {
	t.Parallel()
	l, _ := testLimiter(t, LoginLimitConfig{MaxFailures: 3})
	failN(t, l, 3, same("192.0.2.1"), numbered("user"))
	requireBlocked(t, l, "192.0.2.1", "someone-new", LoginWindowDefault)
	// Each username failed once only: from elsewhere they may log in.
	requireAllowed(t, l, "192.0.2.2", "user0")
}

func TestLoginLimitBlocksAUsernameAcrossIPs(t *testing.T) {
	t.Parallel()
	l, _ := testLimiter(t, LoginLimitConfig{MaxFailures: 3})
	spellings := []string{"alice", " Alice", "ALICE\t"}
	failN(t, l, 3, numbered("192.0.2."), func(i int) string { return spellings[i] })
	requireBlocked(t, l, "198.51.100.7", "alice", LoginWindowDefault)
	requireBlocked(t, l, "198.51.100.7", "Alice ", LoginWindowDefault)
	// Each IP failed once only: it may log in as someone else.
	requireAllowed(t, l, "192.0.2.0", "bob")
}

func TestLoginLimitSuccessClearsTheUsernameOnly(t *testing.T) {
	t.Parallel()
	l, _ := testLimiter(t, LoginLimitConfig{})
	failN(t, l, LoginMaxFailuresDefault, same("192.0.2.1"), same("alice"))
	requireBlocked(t, l, "192.0.2.2", "alice", LoginWindowDefault)

	require.NoError(t, l.Succeed(t.Context(), " ALICE"))
	requireAllowed(t, l, "192.0.2.2", "alice")
	requireBlocked(t, l, "192.0.2.1", "alice", LoginWindowDefault)
	requireBlocked(t, l, "192.0.2.1", "bob", LoginWindowDefault)
}

func TestLoginLimitRetryAfterIsTheLaterWindow(t *testing.T) {
	t.Parallel()
	l, rdb := testLimiter(t, LoginLimitConfig{Window: time.Minute})
	failN(t, l, LoginMaxFailuresDefault, same("192.0.2.1"), same("alice"))
	// Both windows started together; shorten the IP's.
	require.NoError(t, rdb.PExpire(t.Context(), l.ipKey("192.0.2.1"), 2*time.Second).Err())

	retry := requireBlocked(t, l, "192.0.2.1", "alice", time.Minute)
	require.Greater(t, retry, 2*time.Second, "the username's window, not the IP's")

	require.NoError(t, l.Succeed(t.Context(), "alice"))
	retry = requireBlocked(t, l, "192.0.2.1", "alice", time.Minute)
	require.LessOrEqual(t, retry, 2*time.Second, "the IP's window alone")
}

func TestLoginLimitExpires(t *testing.T) {
	t.Parallel()
	l, rdb := testLimiter(t, LoginLimitConfig{Window: time.Second})
	failN(t, l, LoginMaxFailuresDefault, same("192.0.2.1"), same("alice"))
	requireBlocked(t, l, "192.0.2.1", "alice", time.Second)

	testenv.Eventually(t, "the block to expire", func() bool {
		retry, err := l.Check(t.Context(), "192.0.2.1", "alice")
		require.NoError(t, err)
		return retry == 0
	})
	n, err := rdb.Exists(t.Context(), l.ipKey("192.0.2.1"), l.userKey("alice")).Result()
	require.NoError(t, err)
	require.Zero(t, n, "the counters are gone with their window")

	// A new window starts from scratch.
	failN(t, l, 1, same("192.0.2.1"), same("alice"))
	requireAllowed(t, l, "192.0.2.1", "alice")
}

func TestLoginLimitKeys(t *testing.T) {
	t.Parallel()
	l, rdb := testLimiter(t, LoginLimitConfig{Window: time.Minute})
	require.NoError(t, l.Fail(t.Context(), "192.0.2.1", " Alice@Example.com"))

	sum := sha256.Sum256([]byte("alice@example.com"))
	keys, err := rdb.Keys(t.Context(), l.cfg.Prefix+"*").Result()
	require.NoError(t, err)
	require.ElementsMatch(t, []string{
		l.cfg.Prefix + "login:ip:192.0.2.1",
		l.cfg.Prefix + "login:user:" + hex.EncodeToString(sum[:]),
	}, keys)
	for _, k := range keys {
		require.NotContains(t, strings.ToLower(k), "alice", "a username in a Redis key")
		ttl, err := rdb.PTTL(t.Context(), k).Result()
		require.NoError(t, err)
		require.Positive(t, ttl, "%s has no expiry", k)
		require.LessOrEqual(t, ttl, time.Minute)
	}
}

func TestLoginLimitRestoresAMissingExpiry(t *testing.T) {
	t.Parallel()
	l, rdb := testLimiter(t, LoginLimitConfig{Window: time.Minute})
	key := l.userKey("alice")
	// A counter left without expiry (written by hand, or by an older version) would block
	// for ever; the next failure gives it a window.
	require.NoError(t, rdb.Set(t.Context(), key, LoginMaxFailuresDefault, 0).Err())
	requireBlocked(t, l, "192.0.2.1", "alice", time.Minute)
	require.NoError(t, l.Fail(t.Context(), "192.0.2.1", "alice"))
	ttl, err := rdb.PTTL(t.Context(), key).Result()
	require.NoError(t, err)
	require.Positive(t, ttl)
}

func TestLoginLimitReportsRedisErrors(t *testing.T) {
	t.Parallel()
	l, _ := testLimiter(t, LoginLimitConfig{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := l.Check(ctx, "192.0.2.1", "alice")
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, l.Fail(ctx, "192.0.2.1", "alice"), context.Canceled)
	require.ErrorIs(t, l.Succeed(ctx, "alice"), context.Canceled)
}

func TestLoginClient(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"192.0.2.1":              "192.0.2.1",
		" 192.0.2.1 ":            "192.0.2.1",
		"192.0.2.1:51234":        "192.0.2.1",
		"::ffff:192.0.2.1":       "192.0.2.1",
		"2001:db8:1:2:3:4:5:6":   "2001:db8:1:2::/64",
		"2001:db8:1:2::ffff":     "2001:db8:1:2::/64",
		"[2001:db8:1:2::1]:8080": "2001:db8:1:2::/64",
		"fe80::1%eth0":           "fe80::/64",
		"not an address":         "not an address",
		"":                       "",
	} {
		require.Equal(t, want, loginClient(in), "%q", in)
	}
}

func TestLoginLimitConfigDefaults(t *testing.T) {
	t.Parallel()
	require.Equal(t, LoginLimitConfig{MaxFailures: 5, Window: 15 * time.Minute, Prefix: "vecron:"}, LoginLimitConfig{}.withDefaults())
	require.Equal(t, LoginLimitConfig{MaxFailures: 5, Window: 15 * time.Minute, Prefix: "vecron:"},
		LoginLimitConfig{MaxFailures: -1, Window: -time.Second}.withDefaults())
	cfg := LoginLimitConfig{MaxFailures: 3, Window: time.Second, Prefix: "x:"}
	require.Equal(t, cfg, cfg.withDefaults())
}

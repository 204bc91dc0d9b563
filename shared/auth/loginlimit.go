package auth

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of LoginLimitConfig.
const (
	LoginMaxFailuresDefault = 5
	LoginWindowDefault      = 15 * time.Minute
	// loginPrefixDefault is redisconn's default key prefix, so the counters sit with vecron's
	// other keys.
	loginPrefixDefault = "vecron:"
)

// loginFailScript counts one failure on KEYS[1] and starts its window (ARGV[1] ms) when the
// key has none: a new key, or one left without expiry, which would otherwise block forever.
// INCR and PEXPIRE in one script so that no counter ever exists without its expiry.
const loginFailScript = `
local n = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then
	redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n`

// loginReserveScript counts one attempt on KEYS[1], starting its window (ARGV[1] ms) as
// loginFailScript does, and returns the count with the time left in the window.
const loginReserveScript = `
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
	redis.call('PEXPIRE', KEYS[1], ARGV[1])
	ttl = tonumber(ARGV[1])
end
return {n, ttl}`

// loginReleaseScript gives back an attempt KEYS[1] counted that turned out to succeed, without
// ever taking a counter below zero or leaving one without its expiry.
const loginReleaseScript = `
if redis.call('DECR', KEYS[1]) <= 0 then
	redis.call('DEL', KEYS[1])
end
return 0`

// LoginLimitConfig sets the login rate limit.
type LoginLimitConfig struct {
	// MaxFailures is how many failed logins, from one IP or for one username, block the next
	// ones until the window ends. Zero or less means LoginMaxFailuresDefault.
	MaxFailures int
	// Window is how long failures are counted, from the first one; further failures do not
	// extend it, so an attacker cannot keep a user locked out beyond it. Below 1ms means
	// LoginWindowDefault.
	Window time.Duration
	// Prefix starts the Redis keys; empty means "vecron:".
	Prefix string
}

func (c LoginLimitConfig) withDefaults() LoginLimitConfig {
	if c.MaxFailures <= 0 {
		c.MaxFailures = LoginMaxFailuresDefault
	}
	if c.Window < time.Millisecond {
		c.Window = LoginWindowDefault
	}
	c.Prefix = cmp.Or(c.Prefix, loginPrefixDefault)
	return c
}

// LoginLimiter counts failed logins per client IP and per username in Redis, shared by every
// API replica, and blocks further attempts once either reaches the limit: per IP against one
// client guessing many accounts, per username against many clients guessing one. A
// LoginLimiter is safe for concurrent use.
type LoginLimiter struct {
	rdb     redis.UniversalClient
	cfg     LoginLimitConfig
	fail    *redis.Script
	reserve *redis.Script
	release *redis.Script
}

// NewLoginLimiter returns a limiter keeping its counters in rdb.
func NewLoginLimiter(rdb redis.UniversalClient, cfg LoginLimitConfig) *LoginLimiter {
	return &LoginLimiter{rdb: rdb, cfg: cfg.withDefaults(), fail: redis.NewScript(loginFailScript),
		reserve: redis.NewScript(loginReserveScript), release: redis.NewScript(loginReleaseScript)}
}

// Check returns how long the client at ip must wait before trying username again: zero when
// neither the IP nor the username has reached the limit in its current window, else the time
// until the later of the blocking windows ends. It returns an error when Redis cannot answer.
func (l *LoginLimiter) Check(ctx context.Context, ip, username string) (retryAfter time.Duration, err error) {
	keys := [2]string{l.ipKey(ip), l.userKey(username)}
	var counts [2]*redis.StringCmd
	var ttls [2]*redis.DurationCmd
	pipe := l.rdb.Pipeline()
	for i, k := range keys {
		counts[i] = pipe.Get(ctx, k)
		ttls[i] = pipe.PTTL(ctx, k)
	}
	// A missing counter answers redis.Nil: no failures, not an error.
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("check login limit: %w", err)
	}
	for i := range keys {
		n, err := counts[i].Int()
		switch {
		case errors.Is(err, redis.Nil):
			continue
		case err != nil:
			return 0, fmt.Errorf("check login limit: %w", err)
		case n < l.cfg.MaxFailures:
			continue
		}
		// go-redis passes PTTL's -2 (no key: it expired since the GET) and -1 (no expiry,
		// which loginFailScript never leaves) through as nanoseconds.
		ttl := ttls[i].Val()
		switch {
		case ttl == -2:
			continue
		case ttl < 0:
			ttl = l.cfg.Window
		}
		// A window ending within the millisecond still blocks until it has.
		retryAfter = max(retryAfter, ttl, time.Millisecond)
	}
	return retryAfter, nil
}

// Fail counts a failed login from ip for username. It returns an error when Redis cannot
// count it.
func (l *LoginLimiter) Fail(ctx context.Context, ip, username string) error {
	window := l.cfg.Window.Milliseconds()
	// One script per key rather than one for both: in a Redis Cluster the two keys live in
	// different slots, which a single script may not touch. Each counter is still updated
	// atomically, and the pipeline keeps it to one round trip.
	pipe := l.rdb.Pipeline()
	for _, k := range []string{l.ipKey(ip), l.userKey(username)} {
		l.fail.Eval(ctx, pipe, []string{k}, window)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("count failed login: %w", err)
	}
	return nil
}

// Reserve counts an attempt from ip for username before its password is checked, and returns
// how long the client must wait when the attempt is over the limit (zero when it may go on).
// Counting first is what holds the limit against attempts sent at the same moment: checking,
// then hashing, then counting would let every one of them through the check. An attempt that
// succeeds is given back with Release. It returns an error when Redis cannot count.
func (l *LoginLimiter) Reserve(ctx context.Context, ip, username string) (retryAfter time.Duration, err error) {
	window := l.cfg.Window.Milliseconds()
	pipe := l.rdb.Pipeline()
	cmds := make([]*redis.Cmd, 0, 2)
	for _, k := range []string{l.ipKey(ip), l.userKey(username)} {
		cmds = append(cmds, l.reserve.Eval(ctx, pipe, []string{k}, window))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("count login attempt: %w", err)
	}
	for _, c := range cmds {
		v, err := c.Int64Slice()
		if err != nil || len(v) != 2 {
			return 0, fmt.Errorf("count login attempt: unexpected answer %v", c.Val())
		}
		if v[0] > int64(l.cfg.MaxFailures) {
			retryAfter = max(retryAfter, time.Duration(v[1])*time.Millisecond, time.Millisecond)
		}
	}
	return retryAfter, nil
}

// Release gives back the attempt Reserve counted for a login that succeeded: username's
// failures are cleared, and the IP's count loses this attempt but keeps its failures (a client
// that knows one password must not earn fresh guesses at other accounts). It returns an error
// when Redis cannot answer.
func (l *LoginLimiter) Release(ctx context.Context, ip, username string) error {
	pipe := l.rdb.Pipeline()
	l.release.Eval(ctx, pipe, []string{l.ipKey(ip)})
	pipe.Del(ctx, l.userKey(username))
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("release login attempt: %w", err)
	}
	return nil
}

// Succeed clears username's failures after a successful login. The IP's stay: a client that
// knows one password must not earn fresh guesses at other accounts. It returns an error when
// Redis cannot clear them.
func (l *LoginLimiter) Succeed(ctx context.Context, username string) error {
	if err := l.rdb.Del(ctx, l.userKey(username)).Err(); err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}

// ipKey returns the key counting the failures of ip's client.
func (l *LoginLimiter) ipKey(ip string) string {
	return l.cfg.Prefix + "login:ip:" + loginClient(ip)
}

// userKey returns the key counting username's failures. It holds a hash of the username, not
// the name: Redis keys show up in monitoring and dumps, and so would the names people log in
// with (or the passwords some type into the username field).
func (l *LoginLimiter) userKey(username string) string {
	sum := sha256.Sum256([]byte(normaliseUsername(username)))
	return l.cfg.Prefix + "login:user:" + hex.EncodeToString(sum[:])
}

// normaliseUsername makes the spellings of one username that log in as it count as one.
func normaliseUsername(username string) string {
	return strings.ToLower(strings.TrimSpace(username))
}

// loginClient returns what the failures of the client at ip are counted under: the address in
// its canonical form (an address with a port or zone counts without it, an IPv4-mapped IPv6
// address as IPv4), and for IPv6 its /64, since one host is commonly given a whole /64 and
// could otherwise try from a fresh address each time. Anything that is not an address is used
// as it is.
func loginClient(ip string) string {
	ip = strings.TrimSpace(ip)
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		ap, err := netip.ParseAddrPort(ip)
		if err != nil {
			return ip
		}
		addr = ap.Addr()
	}
	addr = addr.WithZone("").Unmap()
	if addr.Is4() {
		return addr.String()
	}
	return netip.PrefixFrom(addr, 64).Masked().String()
}

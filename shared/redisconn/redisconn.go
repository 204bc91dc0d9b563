// Package redisconn opens vecron's Redis client from settings. Redis holds advisory, shared
// state — shard leases, circuit breakers — so every caller bounds its calls with a context
// deadline; the client is built so that deadlines are honoured on the socket too.
package redisconn

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/tlsconf"
)

// KeyPrefixDefault starts every key vecron writes.
const KeyPrefixDefault = "vecron:"

// Config locates Redis.
type Config struct {
	URL string `koanf:"url" usage:"Redis URL, e.g. redis://127.0.0.1:6379/0, or rediss://user:password@host:6380/0 for TLS and an ACL user (also REDIS_URL); empty runs without Redis"`
	// KeyPrefix lets several installations share one Redis.
	KeyPrefix string `koanf:"prefix" usage:"prefix of every Redis key"`
	// TLS applies over a rediss:// URL: a private CA, a client certificate, another name. The
	// credentials (an ACL user and its password) stay in the URL, which comes from a Secret.
	TLS tlsconf.Config `koanf:"tls"`
}

// DefaultConfig returns the configuration zero fields fall back to.
func DefaultConfig() Config { return Config{KeyPrefix: KeyPrefixDefault} }

// Enabled reports whether a Redis URL is set.
func (c Config) Enabled() bool { return c.URL != "" }

// Prefix returns the key prefix to use.
func (c Config) Prefix() string { return cmp.Or(c.KeyPrefix, KeyPrefixDefault) }

// Open returns a client for c.URL used by component (one of metric.RedisComponents()), or an
// error naming the setting. It does not connect: Redis may come up later, and callers work on
// without it meanwhile. The client counts its failed commands in reg's
// vecron_redis_errors_total{component}; a nil reg counts nothing. log hears of TLS files that
// no longer read while the last good ones stay in use; a nil log keeps that silent.
func Open(c Config, component string, reg *metric.Registry, log *slog.Logger) (*redis.Client, error) {
	if !slices.Contains(metric.RedisComponents(), component) {
		return nil, fmt.Errorf("redis client: component %q is not one of %v", component, metric.RedisComponents())
	}
	errs, err := reg.CounterVec(metric.RedisErrors)
	if err != nil {
		return nil, err
	}
	opts, err := redis.ParseURL(c.URL)
	if err != nil {
		// The parser's message may echo the URL, password included.
		return nil, errors.New("redis.url: not a redis:// or rediss:// URL")
	}
	if log != nil {
		log = log.With("redis_client", component) // the api has two clients, each with its files
	}
	if err := useTLS(opts, c.TLS, log); err != nil {
		return nil, err
	}
	// Without this, go-redis ignores context deadlines while reading a reply, and a paused
	// Redis would hold a caller for the full socket timeout.
	opts.ContextTimeoutEnabled = true
	if !strings.HasPrefix(opts.ClientName, "vecron") {
		opts.ClientName = "vecron"
	}
	rdb := redis.NewClient(opts)
	if errs != nil {
		rdb.AddHook(errorHook{errs: errs, component: component})
	}
	if opts.TLSConfig != nil {
		rdb.AddHook(tlsHook{})
	}
	return rdb, nil
}

// ContextTimeouts reports whether rdb gives up on a command when its context ends, as far as
// can be told from its type.
func ContextTimeouts(rdb redis.UniversalClient) bool {
	switch c := rdb.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return true
}

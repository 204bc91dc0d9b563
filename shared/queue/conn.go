package queue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/tlsconf"
)

// PublishTimeout bounds the wait for a publish acknowledgement.
const PublishTimeout = 10 * time.Second

// MaxPendingDefault bounds asynchronous publishes awaiting acknowledgement.
const MaxPendingDefault = 16384

// ConnConfig says where NATS is and which names to use on it.
type ConnConfig struct {
	URL string `koanf:"url" usage:"NATS URL (also NATS_URL)"`
	// Prefix derives the stream and subject names; see event.Names.
	Prefix string `koanf:"prefix" usage:"prefix of stream and subject names"`
	// MaxPending bounds asynchronous publishes awaiting acknowledgement.
	MaxPending int `koanf:"max_pending" usage:"asynchronous publishes awaiting acknowledgement"`
	// TLS applies to every server of the URL, tls:// or nats://: with any of it set, a server
	// that does not offer TLS is refused.
	TLS tlsconf.Config `koanf:"tls"`
	// CredsFile and NkeyFile are read again at every (re)connection, so a rotated Secret is
	// used from the next one on. A user and password or token stay in the URL.
	CredsFile string `koanf:"creds_file" usage:"NATS credentials file (user JWT and NKey seed), for a server in operator mode; a mounted Secret"`
	NkeyFile  string `koanf:"nkey_file" usage:"file holding the NKey seed (SU…) of a user the server lists by public key; a mounted Secret"`
}

// Names returns the subject and stream names of this configuration.
func (c ConnConfig) Names() event.Names { return event.Names{Prefix: c.Prefix} }

// Connect connects to NATS, named name, reconnecting forever after a lost connection. The
// connection closes for good only when the caller closes it or when the NKey seed file is
// rotated to another user (see nkeyOption); Watch reports the latter so the process can exit.
func Connect(ctx context.Context, cfg ConnConfig, name string, log *slog.Logger) (*nats.Conn, jetstream.JetStream, error) {
	if cfg.URL == "" {
		return nil, nil, errors.New("nats.url: is required (set NATS_URL or VECRON_NATS__URL)")
	}
	// The connection is known only once nats.Connect returns; a rotation found during the first
	// connection fails that connection, which then has nothing to close.
	var conn atomic.Pointer[nats.Conn]
	var closing sync.Once
	rotated := func(error) {
		if nc := conn.Load(); nc != nil {
			// The signature callback runs inside nats.go's reconnection loop, under the lock
			// Close takes: Close waits for its own goroutine, which ends when Close returns.
			closing.Do(func() { go nc.Close() })
		}
	}
	asyncErrors := &errorOnce{log: log, msg: "nats error"}
	secure, err := cfg.secureOptions(log, rotated)
	if err != nil {
		return nil, nil, err
	}
	nc, err := nats.Connect(cfg.URL, append(secure,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
		// nats.go otherwise gives up, and closes the connection for good, after the same
		// authorization error twice from one server: a Secret rotated on the server before the
		// client's mount catches up would then stop the process's use of NATS for ever.
		nats.IgnoreAuthErrorAbort(),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "error", err)
			}
		}),
		// nats.go prints these to standard error otherwise; the same error at each of the retries
		// every half second is logged once.
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				log.Warn("nats error", "subject", sub.Subject, "error", err)
				return
			}
			asyncErrors.check(err)
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats reconnected", "server", c.ConnectedUrlRedacted()) }),
		nats.ClosedHandler(func(c *nats.Conn) {
			// Closed by its owner on the way out: nothing to say. Closed otherwise: Watch ends the
			// process; this line says why.
			if err := c.LastError(); err != nil {
				log.Error("nats connection closed for good; the process stops so it is restarted", "error", cfg.explain(err))
			}
		}),
	)...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to nats: %w", cfg.explain(err))
	}
	conn.Store(nc)
	// A lost acknowledgement fails its publish after the timeout instead of blocking the
	// publisher for ever; the outbox keeps the fire for the relay.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(cmp.Or(cfg.MaxPending, MaxPendingDefault)),
		jetstream.WithPublishAsyncTimeout(PublishTimeout))
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	if _, err := js.AccountInfo(ctx); err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream on %s: %w (is the server running with -js?)", nc.ConnectedUrlRedacted(), err)
	}
	return nc, js, nil
}

// Watch returns nil when ctx ends and an error when nc closes first: a connection that will not
// reconnect leaves the process useless, and only a process that exits is restarted (a failing
// readiness probe only takes it out of service). Run it in the function's errgroup.
func Watch(ctx context.Context, nc *nats.Conn) error {
	ch := nc.StatusChanged(nats.CLOSED)
	defer nc.RemoveStatusListener(ch)
	// Closed before the listener was registered: no status change will come.
	if nc.IsClosed() {
		return closedError(nc)
	}
	select {
	case <-ctx.Done():
		return nil
	case <-ch:
		return closedError(nc)
	}
}

func closedError(nc *nats.Conn) error {
	if err := nc.LastError(); err != nil {
		return fmt.Errorf("nats: the connection closed for good: %w", err)
	}
	return errors.New("nats: the connection closed for good")
}

// Ping reports whether nc is connected.
func Ping(nc *nats.Conn) func(context.Context) error {
	return func(context.Context) error {
		if !nc.IsConnected() {
			return fmt.Errorf("nats: %s", nc.Status())
		}
		return nil
	}
}

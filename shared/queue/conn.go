package queue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// Connect connects to NATS, named name, reconnecting forever after a lost connection.
func Connect(ctx context.Context, cfg ConnConfig, name string, log *slog.Logger) (*nats.Conn, jetstream.JetStream, error) {
	if cfg.URL == "" {
		return nil, nil, errors.New("nats.url: is required (set NATS_URL or VECRON_NATS__URL)")
	}
	secure, err := cfg.secureOptions()
	if err != nil {
		return nil, nil, err
	}
	nc, err := nats.Connect(cfg.URL, append(secure,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats reconnected", "server", c.ConnectedUrlRedacted()) }),
	)...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to nats: %w", cfg.explain(err))
	}
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

// Ping reports whether nc is connected.
func Ping(nc *nats.Conn) func(context.Context) error {
	return func(context.Context) error {
		if !nc.IsConnected() {
			return fmt.Errorf("nats: %s", nc.Status())
		}
		return nil
	}
}

// Package tickfn wires the tick function: settings, connections and the engine. The tick binary
// and `vecron dev` both run it.
package tickfn

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/sync/errgroup"

	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/server"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/telemetry"
	"github.com/vecron/vecron/shared/tick"
)

// Settings configure the tick function.
type Settings struct {
	Database store.Config        `koanf:"database"`
	NATS     queue.ConnConfig    `koanf:"nats"`
	Streams  queue.StreamsConfig `koanf:"streams"`
	Tick     tick.Config         `koanf:"tick"`
	Log      telemetry.LogConfig `koanf:"log"`
	// Port serves /healthz and /readyz; 0 serves nothing.
	Port          int           `koanf:"port" usage:"health endpoint port (also PORT); 0 disables"`
	ShutdownGrace time.Duration `koanf:"shutdown_grace" usage:"time allowed to finish in-flight work on SIGTERM"`
}

// DefaultSettings returns the settings used when nothing is configured.
func DefaultSettings() Settings {
	return Settings{
		Database: store.Config{MaxConns: store.MaxConnsDefault},
		NATS:     queue.ConnConfig{Prefix: event.DefaultPrefix, MaxPending: queue.MaxPendingDefault},
		Streams:  queue.DefaultStreamsConfig(),
		Tick:     tick.DefaultConfig(),
		Log:      telemetry.LogConfig{Level: "info", Format: "json"},
		Port:     8080, ShutdownGrace: server.GraceDefault,
	}
}

// Aliases maps the well-known unprefixed environment variables to settings keys.
func Aliases() map[string]string {
	return map[string]string{"DATABASE_URL": "database.url", "NATS_URL": "nats.url", "PORT": "port"}
}

// Run runs the tick until ctx ends, then finishes the fires it has claimed and returns.
func Run(ctx context.Context, s Settings, log *slog.Logger) error {
	st, err := store.Open(ctx, s.Database)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx, log); err != nil {
		return err
	}
	nc, js, err := queue.Connect(ctx, s.NATS, "vecron-tick", log)
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := queue.EnsureStreams(ctx, js, s.NATS.Names(), s.Streams); err != nil {
		return err
	}
	engine, err := tick.New(st, queue.NewPublisher(js), s.NATS.Names(), time.Now, log, s.Tick)
	if err != nil {
		return err
	}

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return engine.Run(ctx) })
	if s.Port != 0 {
		g.Go(func() error { return serveHealth(ctx, s, st, nc, log) })
	}
	log.Info("tick started", "instance", s.Tick.Instance)
	if err := g.Wait(); err != nil {
		return fmt.Errorf("tick: %w", err)
	}
	log.Info("tick stopped")
	return nil
}

// serveHealth answers probes: live while the process runs, ready while Postgres and NATS answer.
func serveHealth(ctx context.Context, s Settings, st *store.Store, nc *nats.Conn, log *slog.Logger) error {
	mux := server.Probes(server.Check{Name: "postgres", Fn: st.Ping}, server.Check{Name: "nats", Fn: queue.Ping(nc)})
	return server.Serve(ctx, net.JoinHostPort("", strconv.Itoa(s.Port)), mux, s.ShutdownGrace, log, nil)
}

// Package httpfn wires the execute-http function: settings, connections, the executor runtime
// with the HTTP runner, and its transports. The execute-http binary and `vecron dev` both run it.
package httpfn

import (
	"context"
	"log/slog"
	"time"

	"github.com/vecron/vecron/shared/breaker"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/httpjob"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/redisconn"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/server"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/telemetry"
	"github.com/vecron/vecron/shared/worker"
)

// Transports.
const (
	TransportPull = worker.TransportPull
	TransportPush = worker.TransportPush
)

// Settings configure the execute-http function.
type Settings struct {
	Database  store.Config          `koanf:"database"`
	NATS      queue.ConnConfig      `koanf:"nats"`
	Streams   queue.StreamsConfig   `koanf:"streams"`
	Executor  executor.Config       `koanf:"executor"`
	HTTP      httpjob.Config        `koanf:"http"`
	Pull      queue.PullerConfig    `koanf:"pull"`
	Redis     redisconn.Config      `koanf:"redis"`
	Breaker   breaker.Config        `koanf:"breaker"`
	Secrets   secret.Config         `koanf:"secrets"`
	Log       telemetry.LogConfig   `koanf:"log"`
	Debug     telemetry.DebugConfig `koanf:"debug"`
	Transport string                `koanf:"transport" usage:"how due events arrive: pull (JetStream) or push (HTTP CloudEvents on port)"`
	// Port receives pushed events and serves /healthz and /readyz; 0 serves nothing (pull only).
	Port          int           `koanf:"port" usage:"HTTP port for pushed events and probes (also PORT); 0 disables"`
	ShutdownGrace time.Duration `koanf:"shutdown_grace" usage:"time allowed to finish in-flight executions on SIGTERM"`
}

// DefaultSettings returns the settings used when nothing is configured.
func DefaultSettings() Settings {
	return Settings{
		Database:  store.Config{MaxConns: store.MaxConnsDefault},
		NATS:      queue.ConnConfig{Prefix: event.DefaultPrefix, MaxPending: queue.MaxPendingDefault},
		Streams:   queue.DefaultStreamsConfig(),
		Executor:  executor.DefaultConfig(),
		HTTP:      httpjob.DefaultConfig(),
		Pull:      queue.DefaultPullerConfig(),
		Redis:     redisconn.DefaultConfig(),
		Breaker:   breaker.DefaultConfig(),
		Log:       telemetry.LogConfig{Level: "info", Format: "json"},
		Transport: TransportPull, Port: 8080, ShutdownGrace: server.GraceDefault,
	}
}

// Aliases maps the well-known unprefixed environment variables to settings keys.
func Aliases() map[string]string {
	return map[string]string{"DATABASE_URL": "database.url", "NATS_URL": "nats.url", "REDIS_URL": "redis.url", "PORT": "port"}
}

// Run runs the executor until ctx ends, then lets in-flight executions finish and returns.
func Run(ctx context.Context, s Settings, log *slog.Logger) error {
	runner := httpjob.New(s.HTTP)
	defer runner.Close()
	return worker.Run(ctx, domain.KindHTTP, "execute-http", s.worker(), runner, log)
}

func (s Settings) worker() worker.Settings {
	return worker.Settings{Database: s.Database, NATS: s.NATS, Streams: s.Streams, Executor: s.Executor, Pull: s.Pull,
		Redis: s.Redis, Breaker: s.Breaker, Secrets: s.Secrets, Log: s.Log, Debug: s.Debug, Transport: s.Transport, Port: s.Port,
		ShutdownGrace: s.ShutdownGrace}
}

// Package tickfn wires the tick function: settings, connections and the engine. The tick binary
// and `vecron dev` both run it.
package tickfn

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/errgroup"

	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/forward"
	"github.com/vecron/vecron/shared/history"
	"github.com/vecron/vecron/shared/lease"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/redisconn"
	"github.com/vecron/vecron/shared/server"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/telemetry"
	"github.com/vecron/vecron/shared/tick"
)

// Settings configure the tick function.
type Settings struct {
	Database store.Config          `koanf:"database"`
	NATS     queue.ConnConfig      `koanf:"nats"`
	Streams  queue.StreamsConfig   `koanf:"streams"`
	Tick     tick.Config           `koanf:"tick"`
	History  history.Config        `koanf:"history"`
	Redis    redisconn.Config      `koanf:"redis"`
	Lease    lease.Config          `koanf:"lease"`
	Log      telemetry.LogConfig   `koanf:"log"`
	Debug    telemetry.DebugConfig `koanf:"debug"`
	// Admin serves /metrics apart from the health port (ARCHITECTURE §11).
	Admin server.AdminConfig `koanf:"admin"`
	// Metrics says what the admin listener serves.
	Metrics metric.Settings `koanf:"metrics"`
	// OTel sends traces to an OTLP collector, through the egress policy.
	OTel telemetry.TracingConfig `koanf:"otel"`
	// Egress is the policy the OTLP collector and the forward sinks are reached through.
	Egress egress.Config `koanf:"egress"`
	// Forward posts due events to a Knative Broker or an OpenFaaS gateway (docs/deploy.md §4).
	Forward forward.Config `koanf:"forward"`
	// Environ is the process environment, from main: ${env:NAME} in otel.headers and
	// OTEL_RESOURCE_ATTRIBUTES.
	Environ []string `koanf:"-"`
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
		History:  history.DefaultConfig(),
		Redis:    redisconn.DefaultConfig(),
		Lease:    lease.Config{TTL: lease.TTLDefault},
		Log:      telemetry.LogConfig{Level: "info", Format: "json"},
		Admin:    server.AdminConfig{Addr: server.AdminAddrDefault},
		Metrics:  metric.DefaultSettings(),
		OTel:     telemetry.DefaultTracingConfig(),
		Forward:  forward.DefaultConfig(),
		Port:     8080, ShutdownGrace: server.GraceDefault,
	}
}

// Aliases maps the well-known unprefixed environment variables to settings keys.
func Aliases() map[string]string {
	return map[string]string{"DATABASE_URL": "database.url", "NATS_URL": "nats.url", "REDIS_URL": "redis.url", "PORT": "port",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "otel.endpoint", "K_SINK": "forward.sink"} // K_SINK: a Knative SinkBinding
}

// Run runs the tick on clock until ctx ends, then finishes the fires it has claimed and returns.
// It serves its metrics on admin.addr.
func Run(ctx context.Context, clock clockwork.Clock, s Settings, log *slog.Logger) error {
	return RunIn(ctx, clock, s, log, nil)
}

// RunIn is Run with the tick's metrics registered into reg, which its caller serves: the tick
// then serves no admin listener (vecron dev runs every function under one registry). A nil reg
// is Run.
func RunIn(ctx context.Context, clock clockwork.Clock, s Settings, log *slog.Logger, reg *metric.Registry) error {
	return server.StopDuringStart(ctx, "tick", run(ctx, clock, s, log, reg), log)
}

func run(ctx context.Context, clock clockwork.Clock, s Settings, log *slog.Logger, reg *metric.Registry) error {
	s.Database.WarnUnverifiedTLS(log)
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
	// The due consumers exist before any executor runs: KEDA scales executors from zero by
	// their lag (docs/deploy.md §5).
	if err := queue.EnsureDueConsumers(ctx, js, s.NATS.Names()); err != nil {
		return err
	}
	serveAdmin := reg == nil
	if serveAdmin {
		var err error
		if reg, err = metric.New(metric.Config{Function: "tick", Settings: s.Metrics}); err != nil {
			return err
		}
	}
	if err := st.RegisterMetrics(reg); err != nil {
		return err
	}
	pub, err := queue.NewPublisher(js).WithMetrics(reg)
	if err != nil {
		return err
	}
	// Forwarded fires reach executors that believe only what the database shows committed.
	s.Tick.CommitBeforePublish = s.Forward.Enabled
	engine, err := tick.New(st, pub, s.NATS.Names(), clock, log, s.Tick)
	if err != nil {
		return err
	}
	keeper, err := history.New(st, clock, log, s.History)
	if err != nil {
		return err
	}

	if err := engine.SetMetrics(reg); err != nil {
		return err
	}
	policy, err := egress.New(s.Egress)
	if err != nil {
		return err
	}
	tracing, err := telemetry.NewTracing(s.OTel, telemetry.TracingDeps{Function: "tick", Instance: s.Tick.Instance, Policy: policy, Registry: reg, Environ: s.Environ})
	if err != nil {
		return err
	}
	defer tracing.Stop(ctx, log)
	engine.SetTracer(tracing.Provider(), s.OTel.SampleRatio)
	if p := s.Forward.CallbackPort; p != 0 && p == s.Port {
		return fmt.Errorf("forward.callback_port: %d is the health port (port); the callback listener needs its own", p)
	}
	s.Forward.Metrics, s.Forward.Executions = reg, st
	forwarder, err := forward.New(js, s.NATS.Names(), policy, clock, log.With("component", "forward"), s.Forward)
	if err != nil {
		return err
	}
	checks := []server.Check{{Name: "postgres", Fn: st.Ping}, {Name: "nats", Fn: queue.Ping(nc)}}
	g, ctx := errgroup.WithContext(ctx)
	if s.Redis.Enabled() {
		rdb, err := redisconn.Open(s.Redis, "lease", reg, log)
		if err != nil {
			return err
		}
		defer rdb.Close()
		s.Lease.KeyPrefix, s.Lease.Instance = s.Redis.Prefix(), s.Tick.Instance
		leases, err := lease.New(rdb, clock, s.Lease, log, reg)
		if err != nil {
			return err
		}
		engine.SetShards(leases)
		// Leases are released on the way out, so the other replicas take the shards at once.
		g.Go(func() error { return leases.Run(ctx) })
		checks = append(checks, server.Check{Name: "redis", Optional: true, Fn: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }})
	} else {
		log.Warn("no redis.url: this replica claims every shard; run one tick, or several on the database claim alone")
	}
	g.Go(func() error { return queue.Watch(ctx, nc) })
	g.Go(func() error { return engine.Run(ctx) })
	g.Go(func() error { return forwarder.Run(ctx) })
	g.Go(func() error { return keeper.Run(ctx) })
	g.Go(func() error { return telemetry.ServeProfiler(ctx, s.Debug, log) })
	if serveAdmin {
		g.Go(func() error { return server.ServeAdmin(ctx, s.Admin.Addr, reg.Handler(), s.ShutdownGrace, log, nil) })
	}
	if s.Port != 0 {
		g.Go(func() error {
			return server.Serve(ctx, net.JoinHostPort("", strconv.Itoa(s.Port)), server.Probes(checks...), s.ShutdownGrace, log, nil)
		})
	}
	if p := s.Forward.CallbackPort; p != 0 && len(forwarder.Kinds()) > 0 {
		// Its own listener, serving nothing else: the OpenFaaS queue-worker posts the callbacks,
		// and only it should reach this port (docs/deploy-openfaas.md: a NetworkPolicy). The
		// token in each URL is not the only guard: a success is checked against the fire's
		// record, so a URL read from the queue-worker's logs acknowledges nothing that did not run.
		callbacks := http.NewServeMux()
		callbacks.Handle(forward.CallbackPath, forwarder.CallbackHandler())
		g.Go(func() error {
			return server.Serve(ctx, net.JoinHostPort("", strconv.Itoa(p)), callbacks, s.ShutdownGrace, log, nil)
		})
	}
	log.Info("tick started", "instance", s.Tick.Instance)
	if err := g.Wait(); err != nil {
		return fmt.Errorf("tick: %w", err)
	}
	log.Info("tick stopped")
	return nil
}

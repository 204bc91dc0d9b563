// Package worker wires an executor function — settings, connections, the executor runtime with a
// kind's runner, and its transports — so execute-http and execute-db differ only in their runner.
package worker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/errgroup"

	"github.com/vecron/vecron/shared/breaker"
	"github.com/vecron/vecron/shared/delivery"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/redisconn"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/server"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/telemetry"
	"github.com/vecron/vecron/shared/variables"
)

// Transports.
const (
	// TransportPull consumes due events from the JetStream durable consumer (KEDA, VMs, dev).
	TransportPull = "pull"
	// TransportPush receives due events as HTTP POSTs on Port (Knative Eventing).
	TransportPush = "push"
)

// PushPath is where the push transport takes due events, as POSTed CloudEvents on Port.
const PushPath = "/"

// Settings are what every executor function is configured with; a function embeds them
// (`koanf:",squash"`) and adds its runner's section.
type Settings struct {
	Database store.Config          `koanf:"database"`
	NATS     queue.ConnConfig      `koanf:"nats"`
	Streams  queue.StreamsConfig   `koanf:"streams"`
	Executor executor.Config       `koanf:"executor"`
	Pull     queue.PullerConfig    `koanf:"pull"`
	Redis    redisconn.Config      `koanf:"redis"`
	Breaker  breaker.Config        `koanf:"breaker"`
	Secrets  secret.Config         `koanf:"secrets"`
	Log      telemetry.LogConfig   `koanf:"log"`
	Debug    telemetry.DebugConfig `koanf:"debug"`
	// Admin serves /metrics apart from the port pushed events arrive on (ARCHITECTURE §11).
	Admin server.AdminConfig `koanf:"admin"`
	// Metrics says what the admin listener serves.
	Metrics metric.Settings `koanf:"metrics"`
	// OTel sends traces to an OTLP collector, through the egress policy.
	OTel telemetry.TracingConfig `koanf:"otel"`
	// Egress is where jobs may connect, and the policy the OTLP collector is reached through.
	Egress egress.Config `koanf:"egress"`
	// Environ is the process environment, from main: ${env:NAME} in otel.headers and
	// OTEL_RESOURCE_ATTRIBUTES.
	Environ   []string `koanf:"-"`
	Transport string   `koanf:"transport" usage:"how due events arrive: pull (JetStream) or push (HTTP CloudEvents on port)"`
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
		Pull:      queue.DefaultPullerConfig(),
		Redis:     redisconn.DefaultConfig(),
		Breaker:   breaker.DefaultConfig(),
		Log:       telemetry.LogConfig{Level: "info", Format: "json"},
		Admin:     server.AdminConfig{Addr: server.AdminAddrDefault},
		Metrics:   metric.DefaultSettings(),
		OTel:      telemetry.DefaultTracingConfig(),
		Transport: TransportPull, Port: 8080, ShutdownGrace: server.GraceDefault,
	}
}

// Aliases maps the well-known unprefixed environment variables to settings keys.
func Aliases() map[string]string {
	return map[string]string{"DATABASE_URL": "database.url", "NATS_URL": "nats.url", "REDIS_URL": "redis.url", "PORT": "port",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "otel.endpoint"}
}

// Run runs the executor of kind jobs, named function, with runner, on clock, until ctx ends; then
// it lets in-flight executions finish (within the grace period) and returns. With reg nil it
// serves its own metrics on admin.addr; given, it registers into reg, which its caller serves
// (vecron dev), and serves no admin listener.
func Run(ctx context.Context, clock clockwork.Clock, kind domain.JobKind, function string, s Settings, runner executor.Runner, log *slog.Logger, reg *metric.Registry) error {
	return RunWith(ctx, clock, kind, function, s, func(context.Context, *store.Store, *metric.Registry, *telemetry.Tracing) (executor.Runner, error) {
		return runner, nil
	}, log, reg)
}

// NewRunner makes an executor's runner once the system database is open, for a runner that
// must know that database: execute-db keeps sql jobs out of it. reg is the process's registry,
// for a runner with families of its own; tracing is the process's, for the runner's spans.
type NewRunner func(ctx context.Context, st *store.Store, reg *metric.Registry, tracing *telemetry.Tracing) (executor.Runner, error)

// RunWith is Run with the runner newRunner makes once the system database is open.
func RunWith(ctx context.Context, clock clockwork.Clock, kind domain.JobKind, function string, s Settings, newRunner NewRunner, log *slog.Logger, reg *metric.Registry) error {
	return server.StopDuringStart(ctx, function, run(ctx, clock, kind, function, s, newRunner, log, reg), log)
}

func run(ctx context.Context, clock clockwork.Clock, kind domain.JobKind, function string, s Settings, newRunner NewRunner, log *slog.Logger, reg *metric.Registry) error {
	if s.Transport != TransportPull && s.Transport != TransportPush {
		return fmt.Errorf("transport: %q is not one of pull, push", s.Transport)
	}
	if s.Transport == TransportPush && s.Port == 0 {
		return fmt.Errorf("port: the push transport needs a port")
	}
	s.Database.WarnUnverifiedTLS(log)
	st, err := store.Open(ctx, s.Database)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx, log); err != nil {
		return err
	}
	// The registry serves the Go and process collectors, build info and the families of the
	// parts (pools, queue, Redis), and is where the executor families land.
	serveAdmin := reg == nil
	if serveAdmin {
		var err error
		if reg, err = metric.New(metric.Config{Function: function, Settings: s.Metrics}); err != nil {
			return err
		}
	}
	if err := st.RegisterMetrics(reg); err != nil {
		return err
	}
	policy, err := egress.New(s.Egress)
	if err != nil {
		return err
	}
	tracing, err := telemetry.NewTracing(s.OTel, telemetry.TracingDeps{Function: function, Instance: s.Executor.WorkerID, Policy: policy, Registry: reg, Environ: s.Environ})
	if err != nil {
		return err
	}
	defer tracing.Stop(ctx, log)
	runner, err := newRunner(ctx, st, reg, tracing)
	if err != nil {
		return err
	}
	nc, js, err := queue.Connect(ctx, s.NATS, "vecron-"+function, log)
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
	keys, err := s.Secrets.Keyring()
	if err != nil {
		return err
	}
	if err := variables.CheckKeys(ctx, st, keys); err != nil {
		return err
	}
	pub, err := queue.NewPublisher(js).WithMetrics(reg)
	if err != nil {
		return err
	}
	deps := executor.Deps{Store: st, Runner: runner, Publisher: pub, Names: s.NATS.Names(), Clock: clock, Log: log,
		Variables: variables.New(st, keys, clock.Now), Metrics: reg, MetricJobs: s.Metrics.Jobs,
		Tracer: tracing.Provider(), TraceSampleRatio: s.OTel.SampleRatio}
	checks := []server.Check{{Name: "postgres", Fn: st.Ping}, {Name: "nats", Fn: queue.Ping(nc)}}
	if s.Redis.Enabled() {
		rdb, err := redisconn.Open(s.Redis, "breaker", reg, log)
		if err != nil {
			return err
		}
		defer rdb.Close()
		s.Breaker.KeyPrefix = s.Redis.Prefix()
		b, err := breaker.New(rdb, clock, s.Breaker, log, reg)
		if err != nil {
			return err
		}
		defer b.Close()
		deps.Breaker = b
		// Informational: without Redis the breakers fail open and executions go on.
		checks = append(checks, server.Check{Name: "redis", Optional: true, Fn: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }})
	} else {
		log.Warn("no redis.url: circuit breakers are off")
	}
	rt, err := executor.New(kind, function, deps, s.Executor)
	if err != nil {
		return err
	}

	g, ctx := errgroup.WithContext(ctx)
	if s.Transport == TransportPull {
		// In-flight executions get most of the grace period; the rest records the interrupted
		// ones and hands their events back.
		s.Pull.Grace = s.ShutdownGrace * 4 / 5
		puller, err := queue.NewPuller(js, s.NATS.Names(), kind, rt.Handle, clock, s.Pull, log)
		if err != nil {
			return err
		}
		if puller, err = puller.WithMetrics(reg); err != nil {
			return err
		}
		g.Go(func() error { return puller.Run(ctx) })
	}
	g.Go(func() error { return queue.Watch(ctx, nc) })
	g.Go(func() error { return telemetry.ServeProfiler(ctx, s.Debug, log) })
	if serveAdmin {
		g.Go(func() error { return server.ServeAdmin(ctx, s.Admin.Addr, reg.Handler(), s.ShutdownGrace, log, nil) })
	}
	if s.Port != 0 {
		mux := server.Probes(checks...)
		if s.Transport == TransportPush {
			mux.Handle("POST "+PushPath, executor.PushHandler(interruptAfterGrace(ctx, clock, s.ShutdownGrace*4/5), rt.HandlePushed, log))
		}
		g.Go(func() error {
			return server.Serve(ctx, net.JoinHostPort("", strconv.Itoa(s.Port)), mux, s.ShutdownGrace, log, nil)
		})
	}
	log.Info(function+" started", "transport", s.Transport, "worker_id", s.Executor.WorkerID)
	if err := g.Wait(); err != nil {
		return fmt.Errorf("%s: %w", function, err)
	}
	log.Info(function + " stopped")
	return nil
}

// interruptAfterGrace returns a context cancelled with cause delivery.ErrShutdown grace after
// ctx ends: in-flight pushed executions get that long to finish.
func interruptAfterGrace(ctx context.Context, clock clockwork.Clock, grace time.Duration) context.Context {
	interrupt, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	context.AfterFunc(ctx, func() { clock.AfterFunc(grace, func() { cancel(delivery.ErrShutdown) }) })
	return interrupt
}

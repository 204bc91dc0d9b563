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

	"golang.org/x/sync/errgroup"

	"github.com/vecron/vecron/shared/breaker"
	"github.com/vecron/vecron/shared/delivery"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/executor"
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

// Settings are what every executor function is configured with; a function adds its runner's.
type Settings struct {
	Database      store.Config
	NATS          queue.ConnConfig
	Streams       queue.StreamsConfig
	Executor      executor.Config
	Pull          queue.PullerConfig
	Redis         redisconn.Config
	Breaker       breaker.Config
	Secrets       secret.Config
	Log           telemetry.LogConfig
	Debug         telemetry.DebugConfig
	Transport     string
	Port          int
	ShutdownGrace time.Duration
}

// Run runs the executor of kind jobs, named function, with runner, until ctx ends; then it lets
// in-flight executions finish (within the grace period) and returns.
func Run(ctx context.Context, kind domain.JobKind, function string, s Settings, runner executor.Runner, log *slog.Logger) error {
	if s.Transport != TransportPull && s.Transport != TransportPush {
		return fmt.Errorf("transport: %q is not one of pull, push", s.Transport)
	}
	if s.Transport == TransportPush && s.Port == 0 {
		return fmt.Errorf("port: the push transport needs a port")
	}
	st, err := store.Open(ctx, s.Database)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx, log); err != nil {
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
	keys, err := s.Secrets.Keyring()
	if err != nil {
		return err
	}
	if err := variables.CheckKeys(ctx, st, keys); err != nil {
		return err
	}
	deps := executor.Deps{Store: st, Runner: runner, Publisher: queue.NewPublisher(js), Names: s.NATS.Names(), Now: time.Now, Log: log,
		Variables: variables.New(st, keys, time.Now)}
	checks := []server.Check{{Name: "postgres", Fn: st.Ping}, {Name: "nats", Fn: queue.Ping(nc)}}
	if s.Redis.Enabled() {
		rdb, err := redisconn.Open(s.Redis)
		if err != nil {
			return err
		}
		defer rdb.Close()
		s.Breaker.KeyPrefix = s.Redis.Prefix()
		b, err := breaker.New(rdb, s.Breaker, log)
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
		puller, err := queue.NewPuller(js, s.NATS.Names(), kind, rt.Handle, s.Pull, log)
		if err != nil {
			return err
		}
		g.Go(func() error { return puller.Run(ctx) })
	}
	g.Go(func() error { return telemetry.ServeProfiler(ctx, s.Debug, log) })
	if s.Port != 0 {
		mux := server.Probes(checks...)
		if s.Transport == TransportPush {
			mux.Handle("POST /", executor.PushHandler(interruptAfterGrace(ctx, s.ShutdownGrace*4/5), rt.HandlePushed, log))
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
func interruptAfterGrace(ctx context.Context, grace time.Duration) context.Context {
	interrupt, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	context.AfterFunc(ctx, func() { time.AfterFunc(grace, func() { cancel(delivery.ErrShutdown) }) })
	return interrupt
}

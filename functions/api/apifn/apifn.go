// Package apifn wires the api function: settings, connections, the REST API and the
// dashboard. The api binary and `vecron dev` both run it.
package apifn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"github.com/vecron/vecron/dashboard"
	"github.com/vecron/vecron/shared/alert"
	"github.com/vecron/vecron/shared/api"
	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/auditsink"
	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/auth/oidclogin"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/eventsink"
	"github.com/vecron/vecron/shared/feed"
	"github.com/vecron/vecron/shared/identity"
	"github.com/vecron/vecron/shared/jobevents"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/ratelimit"
	"github.com/vecron/vecron/shared/redisconn"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/server"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/telemetry"
	"github.com/vecron/vecron/shared/variables"
	"github.com/vecron/vecron/shared/watchdog"
)

// Settings configure the api function.
type Settings struct {
	Database store.Config          `koanf:"database"`
	Secrets  secret.Config         `koanf:"secrets"`
	Log      telemetry.LogConfig   `koanf:"log"`
	Debug    telemetry.DebugConfig `koanf:"debug"`
	Auth     identity.Config       `koanf:"auth"`
	Audit    audit.Config          `koanf:"audit"`
	// Egress is the policy the audit sink, the events sink and the alert channels are reached
	// through.
	Egress egress.Config `koanf:"egress"`
	// Alerts configure the channels failure-streak notices go to (docs/alerts.md).
	Alerts alert.Settings `koanf:"alerts"`
	// Redis holds the failed-login counters; /readyz checks it.
	Redis redisconn.Config `koanf:"redis"`
	// NATS carries the live stream (/api/v1/stream) and the job events the api publishes;
	// without it both are off. /readyz checks it.
	NATS   queue.ConnConfig `koanf:"nats"`
	Stream StreamSettings   `koanf:"stream"`
	// Events deliver the lifecycle events to a sink (which needs NATS) and configure the
	// cluster-internal listener a Knative Trigger delivers to.
	Events EventsSettings `koanf:"events"`
	// Watchdog looks for fires that were due and did not start (docs/missed-fires.md).
	Watchdog watchdog.Config `koanf:"watchdog"`
	// Admin serves /metrics apart from the public port (ARCHITECTURE §11).
	Admin AdminSettings `koanf:"admin"`
	// Metrics says what the admin listener serves.
	Metrics metric.Settings `koanf:"metrics"`
	// OTel sends traces to an OTLP collector, through the egress policy.
	OTel      telemetry.TracingConfig `koanf:"otel"`
	Dashboard dashboard.Config        `koanf:"dashboard"`
	// PublicURL is where browsers and clients reach the api, which a proxy or ingress that ends
	// TLS hides from the requests it passes on.
	PublicURL     string        `koanf:"public_url" usage:"URL browsers reach the api and dashboard at, e.g. https://vecron.example.com; https makes the session cookie Secure (__Host-) and sends HSTS; the identity provider's callback is under it"`
	Host          string        `koanf:"host" usage:"interface to listen on; empty listens on all"`
	Port          int           `koanf:"port" usage:"HTTP port (also PORT)"`
	ShutdownGrace time.Duration `koanf:"shutdown_grace" usage:"time allowed to finish in-flight requests on SIGTERM"`
	// Environ is the process environment, from main: the alert channels' ${env:NAME}
	// references are read from it.
	Environ []string `koanf:"-"`
}

// EventsSettings configure the cluster-internal events listener (docs/event-triggers.md): POST
// /events without a credential, for a Knative Trigger, which cannot send one. Whoever reaches
// the port may start the jobs of its namespaces, so only the broker may (a NetworkPolicy).
type EventsSettings struct {
	eventsink.Config   `koanf:",squash"`
	InternalPort       int      `koanf:"internal_port" usage:"port of the cluster-internal CloudEvents listener (POST /events without a token, for a Knative Trigger, and POST /dead-letter, the dead-letter sink of the executors' Triggers; let only the broker reach it); 0: off"`
	InternalNamespaces []string `koanf:"internal_namespaces" usage:"namespaces whose jobs events on the internal listener may start; required with events.internal_port"`
}

// validate names the setting that is wrong.
func (e EventsSettings) validate(port int) error {
	if e.InternalPort == 0 {
		return nil
	}
	switch {
	case e.InternalPort < 0 || e.InternalPort > 65535:
		return fmt.Errorf("events.internal_port: %d is not a port", e.InternalPort)
	case e.InternalPort == port:
		return errors.New("events.internal_port: must differ from port: the internal listener takes events without a credential and must never be the public port")
	case len(e.InternalNamespaces) == 0:
		return errors.New("events.internal_namespaces: name the namespaces whose jobs the internal listener may start (it has no caller whose rights would say)")
	}
	for _, ns := range e.InternalNamespaces {
		if !domain.ValidNamespace(ns) {
			return fmt.Errorf("events.internal_namespaces: %q is not a namespace", ns)
		}
	}
	return nil
}

// AdminSettings place the admin endpoint.
type AdminSettings struct {
	server.AdminConfig `koanf:",squash"`
	// Port is the setting admin.addr replaced, kept so configurations written for it still work.
	Port int `koanf:"port" usage:"alias of admin.addr: a non-zero port serves /metrics on host:port in its place"`
}

// addr returns where the admin listener binds: admin.port on host when set, else admin.addr.
func (a AdminSettings) addr(host string) (string, error) {
	if a.Port == 0 {
		return a.Addr, nil
	}
	if a.Port < 0 || a.Port > 65535 {
		return "", fmt.Errorf("admin.port: %d is not a port", a.Port)
	}
	return net.JoinHostPort(host, strconv.Itoa(a.Port)), nil
}

// StreamSettings shape the live stream.
type StreamSettings struct {
	Heartbeat time.Duration `koanf:"heartbeat" usage:"how often an idle live stream writes a heartbeat"`
	Recheck   time.Duration `koanf:"recheck" usage:"how often a live stream checks its caller's credential again"`
}

// DefaultSettings returns the settings used when nothing is configured.
func DefaultSettings() Settings {
	return Settings{
		Database: store.Config{MaxConns: store.MaxConnsDefault},
		Auth:     identity.DefaultConfig(),
		Audit:    audit.Config{ForwardInterval: auditsink.IntervalDefault},
		Events:   EventsSettings{Config: eventsink.DefaultConfig()},
		Alerts:   alert.Settings{Interval: alert.IntervalDefault, GiveUpAfter: alert.GiveUpAfterDefault},
		Redis:    redisconn.DefaultConfig(),
		NATS:     queue.ConnConfig{Prefix: event.DefaultPrefix, MaxPending: queue.MaxPendingDefault},
		Stream:   StreamSettings{Heartbeat: api.HeartbeatDefault, Recheck: api.RecheckDefault},
		Watchdog: watchdog.Config{Interval: watchdog.IntervalDefault, Limit: watchdog.LimitDefault, Retention: watchdog.RetentionDefault},
		Dashboard: dashboard.Config{IdleTimeout: dashboard.IdleTimeoutDefault, MaxAge: dashboard.MaxAgeDefault, LiveRecheck: dashboard.LiveRecheckDefault,
			LiveInterval: dashboard.LiveIntervalDefault, OIDCIdentityMin: dashboard.OIDCIdentityMinDefault},
		Log:     telemetry.LogConfig{Level: "info", Format: "json"},
		Admin:   AdminSettings{AdminConfig: server.AdminConfig{Addr: server.AdminAddrDefault}},
		Metrics: metric.DefaultSettings(),
		OTel:    telemetry.DefaultTracingConfig(),
		Port:    8080, ShutdownGrace: server.GraceDefault,
	}
}

// Aliases maps the well-known unprefixed environment variables to settings keys.
func Aliases() map[string]string {
	// K_SINK is set by a Knative SinkBinding on the api's Service.
	return map[string]string{"DATABASE_URL": "database.url", "REDIS_URL": "redis.url", "NATS_URL": "nats.url", "PORT": "port",
		"K_SINK": "events.sink", "OTEL_EXPORTER_OTLP_ENDPOINT": "otel.endpoint"}
}

// Handler serves the API's paths with a and every other path with the dashboard ui.
func Handler(a *api.Server, ui *dashboard.UI) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.Owns(r.URL.Path) {
			a.ServeHTTP(w, r)
			return
		}
		ui.ServeHTTP(w, r)
	})
}

// AdminHandler serves the admin port: the metrics of reg at /metrics, and nothing else — none
// of the API, the dashboard or sign-in.
func AdminHandler(reg *metric.Registry) http.Handler { return server.Admin(reg.Handler()) }

// Run serves the API, reading the time from clock, until ctx ends, then drains in-flight
// requests and returns. ready, when not nil, receives the bound address. The metrics are served
// on admin.addr.
func Run(ctx context.Context, clock clockwork.Clock, s Settings, log *slog.Logger, ready func(net.Addr)) error {
	return RunIn(ctx, clock, s, log, ready, nil)
}

// RunIn is Run with the api's metrics registered into reg, which its caller serves: the api then
// serves no admin listener (vecron dev runs every function under one registry). A nil reg is
// Run.
func RunIn(ctx context.Context, clock clockwork.Clock, s Settings, log *slog.Logger, ready func(net.Addr), reg *metric.Registry) error {
	return server.StopDuringStart(ctx, "api", run(ctx, clock, s, log, ready, reg), log)
}

func run(ctx context.Context, clock clockwork.Clock, s Settings, log *slog.Logger, ready func(net.Addr), reg *metric.Registry) error {
	public, err := publicURL(s)
	if err != nil {
		return err
	}
	if err := s.Events.validate(s.Port); err != nil {
		return err
	}
	// Read before connecting to anything: a missing or weak password fails the start even when
	// users exist and it will not be used.
	firstAdmin, err := s.Auth.FirstAdmin()
	if err != nil {
		return err
	}
	adminAddr, err := s.Admin.addr(s.Host)
	if err != nil {
		return err
	}
	s.Dashboard.PublicURL = public
	if s.Auth.OIDCLogin.RedirectURL == "" {
		s.Auth.OIDCLogin.PublicURL = public
	}
	serveAdmin := reg == nil
	if serveAdmin {
		var err error
		if reg, err = metric.New(metric.Config{Function: "api", Settings: s.Metrics}); err != nil {
			return err
		}
	}
	requests, err := reg.HistogramVec(metric.HTTPRequestDuration)
	if err != nil {
		return err
	}
	s.Events.Metrics = reg
	s.Database.WarnUnverifiedTLS(log)
	st, err := store.Open(ctx, s.Database)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx, log); err != nil {
		return err
	}
	if err := st.RegisterMetrics(reg); err != nil {
		return err
	}
	checks := []server.Check{{Name: "postgres", Fn: st.Ping}}
	var deps identity.Deps
	// Without Redis, events matching a job with a max_rate are refused (503), not let through.
	var eventLimiter jobs.RateLimiter
	// Without Redis, webhook calls are refused (503): a rate limit that cannot be checked is not
	// ignored.
	var hookLimiter jobs.WebhookLimiter
	if s.Redis.Enabled() {
		// One client per component, so that each one's failures are counted as its own; a
		// client connects on first use, so the second costs nothing until it is used.
		rdb, err := redisconn.Open(s.Redis, "login", reg, log)
		if err != nil {
			return err
		}
		defer rdb.Close()
		limits, err := redisconn.Open(s.Redis, "ratelimit", reg, log)
		if err != nil {
			return err
		}
		defer limits.Close()
		checks = append(checks, server.Check{Name: "redis", Fn: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }})
		deps.Limiter = auth.NewLoginLimiter(rdb, auth.LoginLimitConfig{
			MaxFailures: s.Auth.LoginFailures, Window: s.Auth.LoginWindow, Prefix: s.Redis.Prefix()})
		limiter := ratelimit.NewEvents(limits, s.Redis.Prefix())
		eventLimiter, hookLimiter = limiter, limiter
	}
	if s.Auth.Has(identity.ModeOIDC) {
		if deps.OIDC, err = auth.NewOIDC(ctx, s.Auth.OIDC, &http.Client{Timeout: 10 * time.Second}, clock.Now); err != nil {
			return err
		}
		if s.Auth.OIDCLogin.Enabled() {
			if deps.OIDCLogin, err = oidclogin.New(deps.OIDC, s.Auth.OIDCLogin, s.Secrets, clock.Now); err != nil {
				return err
			}
		}
	}
	ident, err := identity.New(st, s.Auth, deps, clock.Now)
	if err != nil {
		return err
	}
	auditKeys, err := s.Audit.Load()
	if err != nil {
		return err
	}
	st.UseAudit(auditKeys)
	if firstAdmin != nil {
		created, err := identity.CreateFirstAdmin(ctx, st, firstAdmin, clock.Now())
		if err != nil {
			return fmt.Errorf("auth.bootstrap_admin: %w", err)
		}
		if created {
			log.Info("created the first user, with the admin role for all namespaces", "username", firstAdmin.Username)
		} else {
			log.Info("auth.bootstrap_admin: users exist already; nothing created", "username", firstAdmin.Username)
		}
	}
	policy, err := egress.New(s.Egress)
	if err != nil {
		return err
	}
	var channels []alert.Channel
	if s.Alerts.ChannelsFile != "" {
		if channels, err = alert.LoadChannels(s.Alerts.ChannelsFile, s.Environ); err != nil {
			return err
		}
	}
	var forwarder *auditsink.Forwarder
	if s.Audit.Sink != "" {
		// Every replica runs one; they take turns through the store, one delivering at a time.
		cfg := auditsink.Config{Sink: s.Audit.Sink, Interval: s.Audit.ForwardInterval, Policy: policy}
		if forwarder, err = auditsink.New(st, clock, log.With("component", "auditsink"), cfg); err != nil {
			return err
		}
	}
	var (
		hub       *feed.Hub
		publisher *jobevents.Publisher
		deliverer *eventsink.Deliverer
		alertJS   jetstream.JetStream
		// due stays nil without NATS: the watchdog then looks only at the database.
		due watchdog.Stream
		// deadLetters stays nil without NATS: the dead-letter sink then answers 503.
		deadLetters api.Publisher
		// watchNATS stays nil without NATS; with it, it ends the api when the connection closes
		// for good.
		watchNATS func(context.Context) error
	)
	if s.Events.Sink != "" && s.NATS.URL == "" {
		return fmt.Errorf("events.sink: the lifecycle events are read from NATS; set nats.url too")
	}
	if s.NATS.URL != "" {
		nc, js, err := queue.Connect(ctx, s.NATS, "vecron-api", log)
		if err != nil {
			return err
		}
		defer nc.Close()
		watchNATS = func(ctx context.Context) error { return queue.Watch(ctx, nc) }
		checks = append(checks, server.Check{Name: "nats", Fn: queue.Ping(nc)})
		hub = feed.New(js, s.NATS.Names(), clock, log.With("component", "stream"), feed.Config{})
		publisher = jobevents.New(st, js, s.NATS.Names(), clock, log.With("component", "jobevents"), jobevents.Config{})
		if s.Events.Sink != "" {
			// Every replica runs one; they share one durable consumer, so each event goes once.
			if deliverer, err = eventsink.New(js, s.NATS.Names(), policy, clock, log.With("component", "eventsink"), s.Events.Config); err != nil {
				return err
			}
		}
		alertJS = js
		due = queue.NewInspector(js, s.NATS.Names())
		deadLetters = queue.NewPublisher(js)
		if err := queue.RegisterQueueSize(reg, js, s.NATS.Names(), clock); err != nil {
			return err
		}
	} else {
		log.Warn("no nats.url: the live stream (/api/v1/stream) and job events are off")
	}
	// Every replica runs one; the store's row locks let one deliver each notice at a time.
	alerts, err := alert.New(st, alertJS, s.NATS.Names(), clock, log.With("component", "alerts"), alert.Config{Channels: channels,
		PublicURL: public, Interval: s.Alerts.Interval, GiveUpAfter: s.Alerts.GiveUpAfter, Policy: policy, Metrics: reg})
	if err != nil {
		return err
	}
	keys, err := s.Secrets.Keyring()
	if err != nil {
		return err
	}
	if err := variables.CheckKeys(ctx, st, keys); err != nil {
		return err
	}
	if keys.Empty() {
		log.Warn("no secrets.keys: secret variables cannot be stored")
	}
	tracing, err := telemetry.NewTracing(s.OTel, telemetry.TracingDeps{Function: "api", Policy: policy, Registry: reg, Environ: s.Environ})
	if err != nil {
		return err
	}
	defer tracing.Stop(ctx, log)
	// Off, the api takes no tracer at all: no span, no traceparent in any run it starts.
	var tracer trace.TracerProvider
	if tracing.Enabled() {
		tracer = tracing.Provider()
	}
	h := api.New(api.Deps{Jobs: jobs.New(st, clock.Now), Vars: variables.New(st, keys, clock.Now), Store: st, Identity: ident, Checks: checks,
		Feed: hub, Stream: api.StreamConfig{Heartbeat: s.Stream.Heartbeat, Recheck: s.Stream.Recheck}, Clock: clock,
		EventLimiter: eventLimiter, WebhookLimiter: hookLimiter, Keys: keys, RequestDurations: requests, Tracer: tracer,
		DeadLetters: deadLetters, Names: s.NATS.Names()}, clock.Now, log)
	ui, err := dashboard.New(dashboard.Deps{API: h, Identity: ident, Sessions: st, Now: clock.Now, Log: log.With("component", "dashboard")}, s.Dashboard)
	if err != nil {
		return err
	}
	// Every replica runs one; they take turns through the store, one pass per interval.
	// A missed fire counts in its job's failure streak and alerts through the job's channels.
	dog, err := watchdog.New(watchdog.Deps{Store: st, Stream: due, Clock: clock, Log: log.With("component", "watchdog"), Metrics: reg,
		OnMissed: st.CountMissed}, s.Watchdog)
	if err != nil {
		return err
	}
	listening := func(addr net.Addr) {
		log.Info("api listening", "addr", addr.String())
		if ready != nil {
			ready(addr)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return telemetry.ServeProfiler(gctx, s.Debug, log) })
	g.Go(func() error { return dog.Run(gctx) })
	if watchNATS != nil {
		g.Go(func() error { return watchNATS(gctx) })
	}
	if serveAdmin {
		g.Go(func() error { return server.ServeAdmin(gctx, adminAddr, reg.Handler(), s.ShutdownGrace, log, nil) })
	}
	if forwarder != nil {
		g.Go(func() error { return forwarder.Run(gctx) })
	}
	g.Go(func() error { return alerts.Run(gctx) })
	if hub != nil {
		g.Go(func() error { return hub.Run(gctx) })
		g.Go(func() error { return publisher.Run(gctx) })
	}
	if deliverer != nil {
		g.Go(func() error { return deliverer.Run(gctx) })
	}
	g.Go(func() error {
		return server.Serve(gctx, net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), Handler(h, ui), s.ShutdownGrace, log, listening)
	})
	if s.Events.InternalPort != 0 {
		g.Go(func() error {
			return server.Serve(gctx, net.JoinHostPort(s.Host, strconv.Itoa(s.Events.InternalPort)), h.InternalEvents(s.Events.InternalNamespaces),
				s.ShutdownGrace, log, func(addr net.Addr) {
					log.Warn("internal events listener: POST /events and POST /dead-letter without a credential; let only the broker reach it",
						"addr", addr.String(), "namespaces", s.Events.InternalNamespaces)
				})
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("api: %w", err)
	}
	log.Info("api stopped")
	return nil
}

package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"knative.dev/pkg/signals"

	"github.com/vecron/vecron/functions/api/apifn"
	"github.com/vecron/vecron/functions/execute-db/dbfn"
	"github.com/vecron/vecron/functions/execute-http/httpfn"
	"github.com/vecron/vecron/functions/tick/tickfn"
	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/autoscale"
	"github.com/vecron/vecron/shared/config"
	"github.com/vecron/vecron/shared/devenv"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/gcdefault"
	"github.com/vecron/vecron/shared/identity"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/server"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/telemetry"
	"github.com/vecron/vecron/shared/tick"
	"github.com/vecron/vecron/shared/tlsconf"
)

// devSettings configure `vecron dev`. The functions' own settings (VECRON_TICK__…, a --config
// file) apply as well; the URLs here override theirs.
type devSettings struct {
	DataDir      string              `koanf:"data_dir" usage:"folder for the local Postgres, Redis and NATS data"`
	Host         string              `koanf:"host" usage:"interface the API listens on"`
	Port         int                 `koanf:"port" usage:"API port"`
	DatabaseURL  string              `koanf:"database_url" usage:"use this PostgreSQL instead of starting one (also DATABASE_URL)"`
	RedisURL     string              `koanf:"redis_url" usage:"use this Redis instead of starting one (also REDIS_URL)"`
	NATSURL      string              `koanf:"nats_url" usage:"use this NATS instead of the embedded one (also NATS_URL)"`
	PostgresPort int                 `koanf:"postgres_port" usage:"port of the local PostgreSQL"`
	RedisPort    int                 `koanf:"redis_port" usage:"port of the local Redis"`
	NATSPort     int                 `koanf:"nats_port" usage:"port of the embedded NATS"`
	AdminPort    int                 `koanf:"admin_port" usage:"port on 127.0.0.1 serving /metrics of all four functions from one registry; 0 serves none"`
	Log          telemetry.LogConfig `koanf:"log"`
	// AdminPassword sets the password of the user admin (created on first start).
	AdminPassword string `koanf:"admin_password" usage:"password of the user admin; empty: a random one, printed once, on first start (also VECRON_ADMIN_PASSWORD)"`
	// Autoscale runs the executors as child processes scaled from zero by KEDA's rules
	// (docs/deploy.md §9), instead of in the process.
	Autoscale             bool          `koanf:"autoscale" usage:"run the executors as child processes, scaled 0..max by their lag with KEDA's rules"`
	AutoscaleMax          int           `koanf:"autoscale_max" usage:"with --autoscale: most processes of each executor (KEDA maxReplicaCount)"`
	AutoscaleLagThreshold int64         `koanf:"autoscale_lag_threshold" usage:"with --autoscale: lag one process carries (KEDA lagThreshold); 0: each executor's pull.concurrency, as the chart sets it"`
	AutoscaleCooldown     time.Duration `koanf:"autoscale_cooldown" usage:"with --autoscale: time without lag before an executor goes to zero (KEDA cooldownPeriod)"`
	AutoscalePolling      time.Duration `koanf:"autoscale_polling" usage:"with --autoscale: how often the lag is read (KEDA pollingInterval)"`
}

// devAdminPortDefault is the admin port every function uses in production (server.AdminAddrDefault).
const devAdminPortDefault = 9464

func defaultDevSettings() devSettings {
	return devSettings{
		DataDir: ".vecron", Host: "127.0.0.1", Port: 8080, AdminPort: devAdminPortDefault,
		PostgresPort: devenv.PostgresPortDefault, RedisPort: devenv.RedisPortDefault, NATSPort: devenv.NATSPortDefault,
		Log:          telemetry.LogConfig{Level: "info", Format: "text"},
		AutoscaleMax: devAutoscaleMaxDefault, AutoscaleCooldown: autoscale.CooldownPeriodDefault, AutoscalePolling: devAutoscalePollingDefault,
	}
}

func devCommand() *cobra.Command {
	s := defaultDevSettings()
	var file string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run vecron locally: every function in one process, with NATS, Postgres and Redis",
		Long: `Runs the four functions in one process: api (REST API and health probes on --host and
--port), tick, execute-http and execute-db (PostgreSQL, MySQL/MariaDB and Oracle jobs); the
executors pull their work from JetStream. Their metrics are served from one registry at
http://127.0.0.1:<--admin-port>/metrics. It also runs what they need, each on 127.0.0.1 with its
data under --data-dir: an embedded NATS JetStream server unless NATS_URL (--nats-url) is given,
and PostgreSQL and Redis started from the installed binaries unless DATABASE_URL
(--database-url) or REDIS_URL (--redis-url) is given. Ctrl-C stops it all.

With --autoscale the executors run instead as child processes of this one, from zero: every
--autoscale-polling each executor's lag is read as KEDA's nats-jetstream scaler reads it, and
KEDA's and the HorizontalPodAutoscaler's rules decide how many processes run (at most
--autoscale-max; to zero after --autoscale-cooldown without lag). A stopped process drains as a
pod does. Each decision is a log line. The tick then wakes an executor ahead of its fires
(tick.prewarm, on unless set: lead the longer of the polling interval and tick.lookahead, plus
a second; keep at most the cooldown), so a process is up when a fire comes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			gcdefault.Apply()
			opts := config.Options{File: file, Environ: os.Environ(), Prefix: config.EnvPrefix, Flags: cmd.Flags(), Aliases: devAliases()}
			if err := config.Load(&s, opts); err != nil {
				return usageError{err}
			}
			return runDev(signals.NewContext(), s, opts, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&file, "config", "", "settings file (YAML or JSON)")
	config.BindFlags(cmd.Flags(), &s)
	return cmd
}

// infra is the infrastructure dev started, stopped in reverse order.
type infra struct {
	procs []*devenv.Process
}

func (in *infra) stop(log *slog.Logger) {
	for i := len(in.procs) - 1; i >= 0; i-- {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := in.procs[i].Stop(ctx); err != nil {
			log.Warn("stop local service", "url", in.procs[i].URL, "error", err)
		}
		cancel()
	}
}

func runDev(ctx context.Context, s devSettings, opts config.Options, out io.Writer) error {
	log, err := telemetry.NewLogger(os.Stderr, s.Log)
	if err != nil {
		return usageError{err}
	}
	dataDir, err := filepath.Abs(s.DataDir)
	if err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	// Checked before anything starts, like the admin port below.
	var rules map[domain.JobKind]autoscale.Rules
	if s.Autoscale {
		if rules, err = devAutoscaleRules(s, opts); err != nil {
			return usageError{err}
		}
	}
	// Bound before anything starts: a port already taken is the flag's error, not a metrics
	// listener quietly missing.
	var adminLn net.Listener
	if s.AdminPort != 0 {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.AdminPort))
		if adminLn, err = net.Listen("tcp", addr); err != nil {
			return usageError{fmt.Errorf("--admin-port: cannot listen on %s (%w); choose another port, or 0 for no metrics", addr, err)}
		}
		defer adminLn.Close() // served below, which closes it too; this covers a failed start
	}
	var in infra
	defer in.stop(log)
	start := func(url *string, what string, fn func() (*devenv.Process, error)) error {
		if *url != "" {
			log.Info("using "+what+" from the environment", "service", what)
			return nil
		}
		p, err := fn()
		if err != nil {
			return err
		}
		in.procs = append(in.procs, p)
		*url = p.URL
		return nil
	}
	if err := start(&s.NATSURL, "nats", func() (*devenv.Process, error) {
		return devenv.StartNATS(ctx, devenv.NATSConfig{DataDir: filepath.Join(dataDir, "nats"), Port: s.NATSPort}, log)
	}); err != nil {
		return err
	}
	if err := start(&s.DatabaseURL, "postgres", func() (*devenv.Process, error) {
		return devenv.StartPostgres(ctx, devenv.PostgresConfig{DataDir: filepath.Join(dataDir, "postgres"), Port: s.PostgresPort}, log)
	}); err != nil {
		return err
	}
	if err := start(&s.RedisURL, "redis", func() (*devenv.Process, error) {
		return devenv.StartRedis(ctx, devenv.RedisConfig{DataDir: filepath.Join(dataDir, "redis"), Port: s.RedisPort}, log)
	}); err != nil {
		return err
	}

	// Each function reads its own settings from the same file and environment (no flags: those
	// belong to dev), then runs against the services above.
	fnOpts := opts
	fnOpts.Flags, fnOpts.Aliases = nil, nil
	as := apifn.DefaultSettings()
	if err := config.Load(&as, fnOpts); err != nil {
		return usageError{err}
	}
	ts, err := devTickSettings(s, fnOpts)
	if err != nil {
		return usageError{err}
	}
	hs, ds, err := devExecutorSettings(s, fnOpts, dataDir)
	if err != nil {
		return usageError{err}
	}
	natsCfg := func(c queue.ConnConfig) queue.ConnConfig { c.URL = s.NATSURL; return c }
	as.Database.URL, as.Redis.URL, as.NATS, as.Host, as.Port = s.DatabaseURL, s.RedisURL, natsCfg(as.NATS), s.Host, s.Port
	as.Environ = fnOpts.Environ
	// Locally the dashboard is plain HTTP on this machine, which the api warns about elsewhere.
	as.Dashboard.Development = true
	// The database is this machine's or the developer's choice: no warning about its sslmode.
	as.Database.Development, ts.Database.Development, hs.Database.Development, ds.Database.Development = true, true, true, true
	// A local server with a self-signed certificate may go unverified here (insecure_skip_verify,
	// skip_verify in a rediss:// URL); nowhere else.
	for _, c := range []*tlsconf.Config{&as.Redis.TLS, &as.NATS.TLS, &ts.Redis.TLS, &ts.NATS.TLS,
		&hs.Redis.TLS, &hs.NATS.TLS, &ds.Redis.TLS, &ds.NATS.TLS} {
		c.Development = true
	}
	if ip := net.ParseIP(s.Host); as.PublicURL == "" && s.Port != 0 && (s.Host == "localhost" || (ip != nil && ip.IsLoopback())) {
		as.PublicURL = "http://" + net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	}
	ts.Database.URL, ts.NATS, ts.Port = s.DatabaseURL, natsCfg(ts.NATS), 0
	host, _ := os.Hostname()
	ts.Tick.Instance = "dev-" + host
	ts.Redis.URL = s.RedisURL
	// Four functions in one process cannot each hold the admin port: they register into one
	// registry, served on --admin-port, and serve none themselves.
	as.Admin.Addr, as.Admin.Port, ts.Admin.Addr = "", 0, ""
	var reg *metric.Registry
	if adminLn != nil {
		// The four read their metrics.* settings from the same file and environment.
		if reg, err = metric.New(metric.Config{Function: "dev", Settings: hs.Metrics}); err != nil {
			return usageError{err}
		}
	}
	metricsURL := ""
	if reg != nil {
		metricsURL = "http://" + adminLn.Addr().String() + "/metrics"
	} else if adminLn != nil {
		// metrics.enabled is false: a held port nobody serves would hang its callers.
		adminLn.Close()
	}
	// Jobs on one machine call services on it; in production loopback stays denied.
	as.Egress.Allow = append(as.Egress.Allow, egress.Loopback().Allow...)
	// A collector on this machine (otel.endpoint) is reached through the same policy.
	ts.Egress.Allow = append(ts.Egress.Allow, egress.Loopback().Allow...)
	ts.Environ = fnOpts.Environ
	if as.Secrets.Keys == "" && as.Secrets.KeysFile == "" {
		// The executors' settings name the same file (devExecutorSettings); made here, before
		// any executor starts.
		keyFile, err := devKey(devSecretsKeyFile(dataDir), secret.KeySize, "secret variables are sealed", log)
		if err != nil {
			return err
		}
		as.Secrets.KeysFile = keyFile
	}
	if as.Auth.SigningKeys == "" && as.Auth.SigningKeysFile == "" {
		keyFile, err := devKey(filepath.Join(dataDir, "signing.key"), ed25519.SeedSize, "the API's access tokens are signed", log)
		if err != nil {
			return err
		}
		as.Auth.SigningKeysFile = keyFile
	}
	if as.Audit.Keys == "" && as.Audit.KeysFile == "" {
		keyFile, err := devKey(filepath.Join(dataDir, "audit.key"), audit.KeySize, "the audit log is chained", log)
		if err != nil {
			return err
		}
		as.Audit.KeysFile = keyFile
	}
	password, err := bootstrapAdmin(ctx, as.Database, as.Audit, s.AdminPassword, log)
	if err != nil {
		return err
	}

	// One clock for every function in the process.
	clock := clockwork.NewRealClock()
	g, gctx := errgroup.WithContext(ctx)
	if reg != nil {
		g.Go(func() error { return server.ServeAdminOn(gctx, adminLn, reg.Handler(), as.ShutdownGrace, log, nil) })
	}
	g.Go(func() error {
		return apifn.RunIn(gctx, clock, as, log.With("function", "api"), func(addr net.Addr) {
			banner(out, addr, s, password, metricsURL, as.OTel, rules, ts.Tick.Prewarm)
		}, reg)
	})
	g.Go(func() error { return tickfn.RunIn(gctx, clock, ts, log.With("function", "tick"), reg) })
	if s.Autoscale {
		g.Go(func() error { return runAutoscale(gctx, clock, hs, ds, s.Log, rules, log) })
	} else {
		g.Go(func() error { return httpfn.RunIn(gctx, clock, hs, log.With("function", "execute-http"), reg) })
		g.Go(func() error {
			return dbfn.RunIn(gctx, clock, ds, devDialects(), log.With("function", "execute-db"), reg)
		})
	}
	err = g.Wait()
	if ctx.Err() != nil {
		fmt.Fprintln(out, "vecron stopped")
	}
	return err
}

// banner says what dev serves; metricsURL is empty when it serves no metrics.
func banner(out io.Writer, addr net.Addr, s devSettings, password, metricsURL string, otel telemetry.TracingConfig,
	rules map[domain.JobKind]autoscale.Rules, prewarm tick.PrewarmConfig,
) {
	// One write: whoever reads the output (a terminal, a log collector, a test) never sees the
	// addresses without the sign-in lines that follow them.
	var b strings.Builder
	defer func() { _, _ = io.WriteString(out, b.String()) }()
	base := "http://" + addr.String()
	metrics := ""
	switch {
	case metricsURL != "" && rules != nil:
		metrics = "\n  metrics     " + metricsURL + "  (api and tick, one registry; each executor process serves its own on a free port)"
	case metricsURL != "":
		metrics = "\n  metrics     " + metricsURL + "  (all four functions, one registry)"
	}
	if otel.Endpoint == "" {
		metrics += "\n  traces      off; set VECRON_OTEL__ENDPOINT=http://127.0.0.1:4318 to send them to an OTLP/HTTP collector"
	} else {
		metrics += fmt.Sprintf("\n  traces      %s/v1/traces  (sampling %g)", redactURL(strings.TrimSuffix(otel.Endpoint, "/")), otel.SampleRatio)
	}
	fmt.Fprintf(&b, `
vecron is running (development mode: local keys, local services, jobs may call this machine). Ctrl-C stops it.

  dashboard   %[1]s/  (sign in as admin, below)
  API         %[1]s/api/v1/jobs
  API docs    %[1]s/api/docs  %[1]s/api/v1/openapi.json
  health      %[1]s/healthz  %[1]s/readyz%[5]s
  PostgreSQL  %[2]s
  Redis       %[3]s
  NATS        %[4]s
%[6]s
`, base, redactURL(s.DatabaseURL), redactURL(s.RedisURL), redactURL(s.NATSURL), metrics, autoscaleBanner(rules, prewarm))
	server := ""
	if base != "http://127.0.0.1:8080" {
		server = " --server " + base
	}
	if password != "" {
		fmt.Fprintf(&b, `  Sign in as admin with the password below, in the dashboard or the CLI. It is shown this once
  and stored only as a hash (set VECRON_ADMIN_PASSWORD to choose it, or to reset it on a later start):

    PASSWORD='%[1]s'
    export VECRON_TOKEN=$(bin/vecron login%[2]s --username admin --password-stdin --print-token <<< "$PASSWORD")

`, password, server)
		return
	}
	fmt.Fprintf(&b, `  Sign in as admin with the password printed on the first start (VECRON_ADMIN_PASSWORD=… make run
  resets it):

    export VECRON_TOKEN=$(bin/vecron login%[1]s --username admin --password-stdin --print-token <<< "$PASSWORD")

`, server)
}

// bootstrapAdmin creates the user admin on the first start and returns the password to show
// ("" when the user existed and keeps its password).
func bootstrapAdmin(ctx context.Context, db store.Config, ac audit.Config, password string, log *slog.Logger) (string, error) {
	keys, err := ac.Load()
	if err != nil {
		return "", err
	}
	st, err := store.Open(ctx, db)
	if err != nil {
		return "", err
	}
	defer st.Close()
	st.UseAudit(keys)
	if err := st.Migrate(ctx, log); err != nil {
		return "", err
	}
	// Recorded in the audit log as the work of vecron dev itself.
	ctx = domain.WithActor(ctx, domain.Actor{ID: "vecron-dev", Name: "vecron dev", Kind: "system"})
	return identity.Bootstrap(ctx, st, "admin", password, time.Now())
}

// devKey returns a local key file of size bytes, creating one on first use; what says what the
// key is for. It is for this machine only: production keys come from configuration (a mounted
// secret).
func devKey(path string, size int, what string, log *slog.Logger) (string, error) {
	if _, err := os.Stat(path); err == nil {
		log.Warn(what+" with a local development key; configure keys in production", "file", path)
		return path, nil
	}
	key, err := secret.NewKeyOfSize("dev", size)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("secrets key: %w", err)
	}
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("secrets key: %w", err)
	}
	log.Warn("generated a local development key: "+what+" with it; configure keys in production", "file", path)
	return path, nil
}

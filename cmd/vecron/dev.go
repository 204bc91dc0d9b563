package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"knative.dev/pkg/signals"

	"github.com/vecron/vecron/functions/api/apifn"
	"github.com/vecron/vecron/functions/execute-db/dbfn"
	"github.com/vecron/vecron/functions/execute-http/httpfn"
	"github.com/vecron/vecron/functions/tick/tickfn"
	"github.com/vecron/vecron/shared/config"
	"github.com/vecron/vecron/shared/devenv"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/sqljob"
	"github.com/vecron/vecron/shared/sqljob/oracle"
	"github.com/vecron/vecron/shared/telemetry"
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
	Log          telemetry.LogConfig `koanf:"log"`
}

func defaultDevSettings() devSettings {
	return devSettings{
		DataDir: ".vecron", Host: "127.0.0.1", Port: 8080,
		PostgresPort: devenv.PostgresPortDefault, RedisPort: devenv.RedisPortDefault, NATSPort: devenv.NATSPortDefault,
		Log: telemetry.LogConfig{Level: "info", Format: "text"},
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
executors pull their work from JetStream. It also runs what they need, each on 127.0.0.1 with its
data under --data-dir: an embedded NATS JetStream server unless NATS_URL (--nats-url) is given,
and PostgreSQL and Redis started from the installed binaries unless DATABASE_URL
(--database-url) or REDIS_URL (--redis-url) is given. Ctrl-C stops it all.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := config.Options{File: file, Environ: os.Environ(), Prefix: config.EnvPrefix, Flags: cmd.Flags(),
				Aliases: map[string]string{"DATABASE_URL": "database_url", "REDIS_URL": "redis_url", "NATS_URL": "nats_url"}}
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
	as, ts, hs, ds := apifn.DefaultSettings(), tickfn.DefaultSettings(), httpfn.DefaultSettings(), dbfn.DefaultSettings()
	for _, dst := range []any{&as, &ts, &hs, &ds} {
		if err := config.Load(dst, fnOpts); err != nil {
			return usageError{err}
		}
	}
	natsCfg := func(c queue.ConnConfig) queue.ConnConfig { c.URL = s.NATSURL; return c }
	as.Database.URL, as.RedisURL, as.Host, as.Port = s.DatabaseURL, s.RedisURL, s.Host, s.Port
	ts.Database.URL, ts.NATS, ts.Port = s.DatabaseURL, natsCfg(ts.NATS), 0
	hs.Database.URL, hs.NATS, hs.Port, hs.Transport, hs.Redis.URL = s.DatabaseURL, natsCfg(hs.NATS), 0, httpfn.TransportPull, s.RedisURL
	ds.Database.URL, ds.NATS, ds.Port, ds.Transport, ds.Redis.URL = s.DatabaseURL, natsCfg(ds.NATS), 0, dbfn.TransportPull, s.RedisURL
	host, _ := os.Hostname()
	ts.Tick.Instance, hs.Executor.WorkerID, ds.Executor.WorkerID = "dev-"+host, "dev-"+host, "dev-"+host
	ts.Redis.URL = s.RedisURL
	if as.Secrets.Keys == "" && as.Secrets.KeysFile == "" {
		keyFile, err := devKey(filepath.Join(dataDir, "secrets.key"), log)
		if err != nil {
			return err
		}
		as.Secrets.KeysFile, hs.Secrets.KeysFile, ds.Secrets.KeysFile = keyFile, keyFile, keyFile
	}

	// One clock for every function in the process.
	clock := clockwork.NewRealClock()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return apifn.Run(gctx, clock, as, log.With("function", "api"), func(addr net.Addr) { banner(out, addr, s) })
	})
	g.Go(func() error { return tickfn.Run(gctx, clock, ts, log.With("function", "tick")) })
	g.Go(func() error { return httpfn.Run(gctx, clock, hs, log.With("function", "execute-http")) })
	// dev runs every kind of sql job, Oracle's too, so a first run needs no second build.
	dialects := []sqljob.Dialect{sqljob.Postgres(), sqljob.MySQL(), oracle.Dialect()}
	g.Go(func() error { return dbfn.Run(gctx, clock, ds, dialects, log.With("function", "execute-db")) })
	err = g.Wait()
	if ctx.Err() != nil {
		fmt.Fprintln(out, "vecron stopped")
	}
	return err
}

func banner(out io.Writer, addr net.Addr, s devSettings) {
	base := "http://" + addr.String()
	fmt.Fprintf(out, `
vecron is running. Ctrl-C stops it.

  API         %[1]s/api/v1/jobs
  health      %[1]s/healthz  %[1]s/readyz
  PostgreSQL  %[2]s
  Redis       %[3]s
  NATS        %[4]s

`, base, redactURL(s.DatabaseURL), redactURL(s.RedisURL), redactURL(s.NATSURL))
}

// usageError marks a configuration mistake (exit status 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// devKey returns a local encryption key file for secret variables, creating one on first use.
// It is for this machine only: production keys come from configuration (a mounted secret).
func devKey(path string, log *slog.Logger) (string, error) {
	if _, err := os.Stat(path); err == nil {
		log.Warn("secret variables are sealed with the local development key; set secrets.keys in production", "file", path)
		return path, nil
	}
	key, err := secret.NewKey("dev")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("secrets key: %w", err)
	}
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("secrets key: %w", err)
	}
	log.Warn("generated a local development key for secret variables; keep it to read them back, and set secrets.keys in production", "file", path)
	return path, nil
}

package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"knative.dev/pkg/signals"

	"github.com/vecron/vecron/functions/execute-db/dbfn"
	"github.com/vecron/vecron/functions/execute-http/httpfn"
	"github.com/vecron/vecron/functions/tick/tickfn"
	"github.com/vecron/vecron/shared/autoscale"
	"github.com/vecron/vecron/shared/config"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/gcdefault"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/sqljob"
	"github.com/vecron/vecron/shared/sqljob/oracle"
	"github.com/vecron/vecron/shared/telemetry"
	"github.com/vecron/vecron/shared/tick"
)

// Defaults of dev's autoscale settings that differ from KEDA's: the chart's (docs/deploy.md §5).
const (
	devAutoscaleMaxDefault     = 10
	devAutoscalePollingDefault = 5 * time.Second
)

// executorCommandName is the hidden command dev --autoscale starts its executor processes with.
const executorCommandName = "__executor"

// devKinds returns the kinds of the executors dev runs, in the order it starts and lists them.
func devKinds() []domain.JobKind { return []domain.JobKind{httpfn.Kind, dbfn.Kind} }

// devFunctionName names kind's executor function.
func devFunctionName(kind domain.JobKind) string {
	if kind == dbfn.Kind {
		return "execute-db"
	}
	return "execute-http"
}

// devDialects are the sql dialects dev runs: every kind of sql job, Oracle's too, so a first run
// needs no second build.
func devDialects() []sqljob.Dialect {
	return []sqljob.Dialect{sqljob.Postgres(), sqljob.MySQL(), oracle.Dialect()}
}

// devSecretsKeyFile is the local key secret variables are sealed with when none is configured.
func devSecretsKeyFile(dataDir string) string { return filepath.Join(dataDir, "secrets.key") }

// devExecutorSettings returns the executors' settings as dev runs them, in its process or as
// its child processes: each function's own settings from fnOpts (file and environment), on the
// services of s, pulling, with no port and no admin listener of their own (the caller gives one
// to a child), loopback allowed, and the local secrets key when none is configured.
func devExecutorSettings(s devSettings, fnOpts config.Options, dataDir string) (httpfn.Settings, dbfn.Settings, error) {
	hs, ds := httpfn.DefaultSettings(), dbfn.DefaultSettings()
	for _, dst := range []any{&hs, &ds} {
		if err := config.Load(dst, fnOpts); err != nil {
			return hs, ds, err
		}
	}
	natsCfg := func(c queue.ConnConfig) queue.ConnConfig { c.URL = s.NATSURL; return c }
	hs.Database.URL, hs.NATS, hs.Port, hs.Transport, hs.Redis.URL = s.DatabaseURL, natsCfg(hs.NATS), 0, httpfn.TransportPull, s.RedisURL
	ds.Database.URL, ds.NATS, ds.Port, ds.Transport, ds.Redis.URL = s.DatabaseURL, natsCfg(ds.NATS), 0, dbfn.TransportPull, s.RedisURL
	// Jobs on one machine call services on it (the databases a first run tries its sql jobs on);
	// in production loopback stays denied.
	hs.Egress.Allow = append(hs.Egress.Allow, egress.Loopback().Allow...)
	ds.Egress.Allow = append(ds.Egress.Allow, egress.Loopback().Allow...)
	host, _ := os.Hostname()
	hs.Executor.WorkerID, ds.Executor.WorkerID = "dev-"+host, "dev-"+host
	hs.Admin.Addr, ds.Admin.Addr = "", ""
	hs.Environ, ds.Environ = fnOpts.Environ, fnOpts.Environ
	// dev's log settings are every function's, in its process or not.
	hs.Log, ds.Log = s.Log, s.Log
	if hs.Secrets.Keys == "" && hs.Secrets.KeysFile == "" {
		hs.Secrets.KeysFile = devSecretsKeyFile(dataDir)
	}
	if ds.Secrets.Keys == "" && ds.Secrets.KeysFile == "" {
		ds.Secrets.KeysFile = devSecretsKeyFile(dataDir)
	}
	return hs, ds, nil
}

// devAutoscaleRules returns each executor's rules: KEDA's and the HPA's defaults with dev's
// autoscale settings, a lag threshold of 0 meaning the executor's pull.concurrency (read from
// opts' file and environment), as the chart sets it. The error names the flag of every bad value.
func devAutoscaleRules(s devSettings, opts config.Options) (map[domain.JobKind]autoscale.Rules, error) {
	opts.Flags, opts.Aliases = nil, nil
	hs, ds, err := devExecutorSettings(s, opts, s.DataDir)
	if err != nil {
		return nil, err
	}
	if s.AutoscaleLagThreshold < 0 {
		return nil, errors.New("--autoscale-lag-threshold: must not be negative (0: each executor's pull.concurrency)")
	}
	flags := map[string]string{"PollingInterval": "--autoscale-polling", "CooldownPeriod": "--autoscale-cooldown", "MaxReplicas": "--autoscale-max"}
	rules := map[domain.JobKind]autoscale.Rules{}
	for kind, concurrency := range map[domain.JobKind]int{httpfn.Kind: hs.Pull.Concurrency, dbfn.Kind: ds.Pull.Concurrency} {
		r := autoscale.DefaultRules()
		r.PollingInterval, r.CooldownPeriod, r.MaxReplicas = s.AutoscalePolling, s.AutoscaleCooldown, s.AutoscaleMax
		r.LagThreshold = s.AutoscaleLagThreshold
		if r.LagThreshold == 0 {
			r.LagThreshold = int64(max(concurrency, 1))
		}
		if err := r.Validate(); err != nil {
			var msgs []string
			for _, e := range joined(err) {
				var fe *autoscale.FieldError
				if errors.As(e, &fe) && flags[fe.Field] != "" {
					msgs = append(msgs, flags[fe.Field]+": "+fe.Reason)
				} else {
					msgs = append(msgs, e.Error())
				}
			}
			return nil, errors.New(strings.Join(msgs, "; "))
		}
		rules[kind] = r
	}
	return rules, nil
}

// joined returns the errors err joins, or err alone.
func joined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// devPrewarmSlack is what dev's pre-warm lead allows beyond one polling interval: the scaler
// sees the wake's lag at its next poll, then the process starts and subscribes (about 40 ms
// here), with room for a loaded machine.
const devPrewarmSlack = time.Second

// devTickSettings returns the tick's settings as dev runs them, read from opts' file and
// environment (not dev's flags). With --autoscale the executors start at zero, so tick.prewarm
// is on: the wake is lag on the kind's consumer, which activates the scaler at its next poll.
// Its lead is the longer of the polling interval and tick.lookahead, plus devPrewarmSlack: the
// polling interval and a process start must fit before the fire, and a fire the tick has
// claimed (tick.lookahead before its instant) already counts its kind warm, so a wake due after
// the claim is never sent. These are defaults only: a tick.prewarm value the operator set wins.
func devTickSettings(s devSettings, opts config.Options) (tickfn.Settings, error) {
	opts.Flags, opts.Aliases = nil, nil
	ts := tickfn.DefaultSettings()
	if err := config.Load(&ts, opts); err != nil || !s.Autoscale {
		return ts, err
	}
	lookahead := cmp.Or(ts.Tick.Lookahead, tick.LookaheadDefault)
	ts = tickfn.DefaultSettings()
	ts.Tick.Prewarm.Enabled = true
	ts.Tick.Prewarm.Lead = max(s.AutoscalePolling, lookahead) + devPrewarmSlack
	// A kind counted warm for longer than the cooldown may be at zero again: its next fire
	// would get no wake.
	ts.Tick.Prewarm.Keep = min(tick.PrewarmKeepDefault, s.AutoscaleCooldown)
	if err := config.Load(&ts, opts); err != nil {
		return ts, err
	}
	return ts, nil
}

// autoscaleBanner is the banner's autoscale lines, empty when autoscale is off.
func autoscaleBanner(rules map[domain.JobKind]autoscale.Rules, prewarm tick.PrewarmConfig) string {
	if rules == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  autoscale   on: executors run as child processes, from 0, by KEDA's nats-jetstream and HPA rules\n")
	for _, kind := range devKinds() {
		r := rules[kind]
		fmt.Fprintf(&b, "              %-12s 0..%d processes, one per %d of lag, polled every %s, to 0 after %s without lag\n",
			devFunctionName(kind), r.MaxReplicas, r.LagThreshold, r.PollingInterval, r.CooldownPeriod)
	}
	if prewarm.Enabled {
		lead := cmp.Or(prewarm.Lead, tick.PrewarmLeadDefault)
		fmt.Fprintf(&b, "  pre-warm    on: each executor is woken %s before its fires (tick.prewarm.lead)\n", lead)
		// A woken process with no fire yet is idle: a cooldown shorter than the lead stops it
		// before the fire comes.
		for _, kind := range devKinds() {
			if r := rules[kind]; r.CooldownPeriod <= lead {
				fmt.Fprintf(&b, "              %-12s cooldown %s is not longer than the lead: woken processes stop before their fires\n",
					devFunctionName(kind), r.CooldownPeriod)
			}
		}
	} else {
		fmt.Fprintf(&b, "  pre-warm    off (tick.prewarm.enabled): each fire at zero waits for a poll and a process start\n")
	}
	return b.String() + "\n"
}

// runAutoscale runs a scaler per executor kind with its processes until ctx ends, then stops
// the processes (each drains as on SIGTERM) and returns. The processes are this binary's
// __executor command, each handed the settings hs or ds exactly as dev made them, with logCfg,
// on its standard input: their URLs and keys may hold secrets, which a pipe, unlike arguments, a
// file or the environment, shows to no one else. So the processes get none of dev's
// environment but what executorEnv keeps.
func runAutoscale(ctx context.Context, clock clockwork.Clock, hs httpfn.Settings, ds dbfn.Settings, logCfg telemetry.LogConfig,
	rules map[domain.JobKind]autoscale.Rules, log *slog.Logger,
) error {
	log = log.With("function", "autoscale")
	nc, js, err := queue.Connect(ctx, hs.NATS, "vecron-dev-autoscale", log)
	if err != nil {
		return err
	}
	defer nc.Close()
	// The lag is read from the due stream; made here too, so the first poll finds it.
	if err := queue.EnsureStreams(ctx, js, hs.NATS.Names(), hs.Streams); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("autoscale: find this binary to start executors with: %w", err)
	}
	payloads := map[domain.JobKind]executorPayload{httpfn.Kind: {Log: logCfg, HTTP: &hs}, dbfn.Kind: {Log: logCfg, SQL: &ds}}
	graces := map[domain.JobKind]time.Duration{httpfn.Kind: hs.ShutdownGrace, dbfn.Kind: ds.ShutdownGrace}
	inspector := queue.NewInspector(js, hs.NATS.Names())
	var all []*autoscale.Processes
	defer func() {
		// Draining takes the executors' grace at most; a process that outlasts it is killed.
		for _, p := range all {
			if err := p.Close(context.WithoutCancel(ctx)); err != nil {
				log.Warn("stop executor processes", "error", err)
			}
		}
	}()
	g, gctx := errgroup.WithContext(ctx)
	for _, kind := range devKinds() {
		payload, err := json.Marshal(payloads[kind])
		if err != nil {
			return fmt.Errorf("autoscale: settings of %s: %w", devFunctionName(kind), err)
		}
		procs, err := autoscale.NewProcesses(autoscale.ProcessesConfig{
			Name: devFunctionName(kind),
			Command: func(n int) *exec.Cmd {
				return executorProcess(self, kind, n, payload, os.Environ())
			},
			// A pod's terminationGracePeriodSeconds exceeds its process's own grace, or the
			// kubelet kills what would still have finished.
			StopTimeout: graces[kind] + 5*time.Second,
		}, clock, log)
		if err != nil {
			return err
		}
		all = append(all, procs)
		scaler, err := autoscale.NewScaler(autoscale.ScalerDeps{Kind: kind, Lag: inspector, Replicas: procs, Clock: clock, Log: log}, rules[kind])
		if err != nil {
			return err
		}
		g.Go(func() error { return scaler.Run(gctx) })
	}
	return g.Wait()
}

// executorProcess is replica n of kind's executor processes: this binary at self, reading
// payload on its standard input, with only the variables of environ that executorEnv keeps.
func executorProcess(self string, kind domain.JobKind, n int, payload []byte, environ []string) *exec.Cmd {
	cmd := exec.Command(self, executorCommandName, string(kind), "--replica", strconv.Itoa(n))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(payload), os.Stderr, os.Stderr
	cmd.Env = executorEnv(environ)
	return cmd
}

// executorEnv keeps of environ what the process itself needs, not its settings: a lookup path,
// a home, the time zone and locale, the temporary directory, the CA bundle's place, and the Go
// runtime's knobs. dev's environment also holds its URLs and admin password, which every
// process of the same user could read in /proc/<pid>/environ of each child; the settings
// travel on standard input instead.
func executorEnv(environ []string) []string {
	keep := []string{"PATH", "HOME", "TZ", "TMPDIR", "LANG", "SSL_CERT_FILE", "SSL_CERT_DIR",
		"GOGC", "GOMEMLIMIT", "GOMAXPROCS", "GODEBUG", "GOTRACEBACK"}
	env := []string{}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if slices.Contains(keep, name) || strings.HasPrefix(name, "LC_") {
			env = append(env, kv)
		}
	}
	return env
}

// executorPayload is what dev hands an executor process: its settings, those of its kind only.
type executorPayload struct {
	Log  telemetry.LogConfig `json:"log"`
	HTTP *httpfn.Settings    `json:"http,omitempty"`
	SQL  *dbfn.Settings      `json:"sql,omitempty"`
}

// executorPayloadMax bounds what an executor process reads from its standard input.
const executorPayloadMax = 4 << 20

// readExecutorPayload decodes the payload for kind from r, or returns an error saying what is
// wrong with it.
func readExecutorPayload(r io.Reader, kind domain.JobKind) (executorPayload, error) {
	var p executorPayload
	dec := json.NewDecoder(io.LimitReader(r, executorPayloadMax))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("settings on standard input: %w (this command is started by vecron dev --autoscale)", err)
	}
	if (kind == httpfn.Kind) != (p.HTTP != nil) || (kind == dbfn.Kind) != (p.SQL != nil) {
		return p, fmt.Errorf("settings on standard input: not those of a %s executor alone", kind)
	}
	return p, nil
}

// devAliases are the unprefixed variables dev reads.
func devAliases() map[string]string {
	return map[string]string{"DATABASE_URL": "database_url", "REDIS_URL": "redis_url", "NATS_URL": "nats_url", "VECRON_ADMIN_PASSWORD": "admin_password"}
}

// executorCommand is `vecron __executor <kind>`, hidden: one executor process of `vecron dev
// --autoscale`, which hands it its settings on standard input.
func executorCommand() *cobra.Command {
	var replica int
	cmd := &cobra.Command{
		Use:    executorCommandName + " http|sql",
		Short:  "Run one executor process of vecron dev --autoscale",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			gcdefault.Apply()
			kind := domain.JobKind(args[0])
			if !slices.Contains(devKinds(), kind) {
				return usageError{fmt.Errorf("kind: %q is not one of http, sql", args[0])}
			}
			p, err := readExecutorPayload(cmd.InOrStdin(), kind)
			if err != nil {
				return usageError{err}
			}
			return runExecutor(signals.NewContext(), kind, replica, p)
		},
	}
	cmd.Flags().IntVar(&replica, "replica", 0, "number of this process among its kind's, for its worker id and log lines")
	return cmd
}

// runExecutor runs kind's executor with p's settings until ctx ends, as dev would in its
// process, but with an admin listener of its own on a free loopback port and a worker id of its
// own.
func runExecutor(ctx context.Context, kind domain.JobKind, replica int, p executorPayload) error {
	log, err := telemetry.NewLogger(os.Stderr, p.Log)
	if err != nil {
		return usageError{err}
	}
	log = log.With("function", devFunctionName(kind), "replica", replica)
	clock := clockwork.NewRealClock()
	suffix := "-" + string(kind) + "-" + strconv.Itoa(replica)
	if kind == dbfn.Kind {
		ds := *p.SQL
		ds.Executor.WorkerID, ds.Admin.Addr = ds.Executor.WorkerID+suffix, "127.0.0.1:0"
		return dbfn.Run(ctx, clock, ds, devDialects(), log)
	}
	hs := *p.HTTP
	hs.Executor.WorkerID, hs.Admin.Addr = hs.Executor.WorkerID+suffix, "127.0.0.1:0"
	return httpfn.Run(ctx, clock, hs, log)
}

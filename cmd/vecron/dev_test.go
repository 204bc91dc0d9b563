package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/functions/execute-db/dbfn"
	"github.com/vecron/vecron/functions/execute-http/httpfn"
	"github.com/vecron/vecron/shared/autoscale"
	"github.com/vecron/vecron/shared/config"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/telemetry"
	"github.com/vecron/vecron/shared/tick"
)

// A metrics port already taken stops dev before it starts anything, naming the flag: a silent
// fallback would leave a scraper reading another process.
func TestDevRefusesATakenAdminPort(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { taken.Close() })
	s := defaultDevSettings()
	s.AdminPort = taken.Addr().(*net.TCPAddr).Port
	s.DataDir = t.TempDir()
	err = runDev(t.Context(), s, config.Options{}, io.Discard)
	require.ErrorContains(t, err, "--admin-port")
	require.ErrorContains(t, err, "127.0.0.1:"+strconv.Itoa(s.AdminPort))
	require.ErrorAs(t, err, new(usageError))
}

// The banner names the metrics address when dev serves one, and no metrics line otherwise; it
// says where traces go, or how to send them.
func TestDevBannerNamesTheMetricsListener(t *testing.T) {
	t.Parallel()
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	var with, without, traced strings.Builder
	off := telemetry.DefaultTracingConfig()
	banner(&with, addr, defaultDevSettings(), "", "http://127.0.0.1:9464/metrics", off, nil, tick.PrewarmConfig{})
	banner(&without, addr, defaultDevSettings(), "", "", off, nil, tick.PrewarmConfig{})
	on := off
	on.Endpoint = "http://user:secret@127.0.0.1:4318/"
	banner(&traced, addr, defaultDevSettings(), "", "", on, nil, tick.PrewarmConfig{})
	require.Contains(t, with.String(), "  health      http://127.0.0.1:8080/healthz  http://127.0.0.1:8080/readyz\n"+
		"  metrics     http://127.0.0.1:9464/metrics  (all four functions, one registry)\n"+
		"  traces      off; set VECRON_OTEL__ENDPOINT=http://127.0.0.1:4318 to send them to an OTLP/HTTP collector\n  PostgreSQL")
	require.NotContains(t, without.String(), "metrics")
	require.Contains(t, without.String(), "/readyz\n  traces      off;")
	require.Contains(t, traced.String(), "/v1/traces  (sampling 0.1)")
	require.NotContains(t, traced.String(), "secret")
}

// writeCounter counts the writes made to it.
type writeCounter struct {
	text   strings.Builder
	writes int
}

func (w *writeCounter) Write(b []byte) (int, error) {
	w.writes++
	return w.text.Write(b)
}

func (w *writeCounter) String() string { return w.text.String() }

// The banner reaches its reader in one write: whoever waits for its addresses (a person's
// terminal, a log collector, the end-to-end tests) has the sign-in lines with them.
func TestDevBannerIsOneWrite(t *testing.T) {
	t.Parallel()
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8081}
	for _, password := range []string{"", "s3cret-once"} {
		var w writeCounter
		banner(&w, addr, defaultDevSettings(), password, "http://127.0.0.1:9464/metrics", telemetry.DefaultTracingConfig(), nil, tick.PrewarmConfig{})
		require.Equal(t, 1, w.writes, "password %q", password)
		require.Contains(t, w.String(), "http://127.0.0.1:8081/api/v1/jobs")
		require.Contains(t, w.String(), "--server http://127.0.0.1:8081 --username admin")
		if password != "" {
			require.Contains(t, w.String(), "PASSWORD='s3cret-once'")
		}
	}
}

// devFlags loads dev's settings from args and environ as `vecron dev` does.
func devFlags(t *testing.T, environ []string, args ...string) (devSettings, config.Options, error) {
	t.Helper()
	s := defaultDevSettings()
	cmd := devCommand()
	require.NoError(t, cmd.ParseFlags(args))
	opts := config.Options{Environ: environ, Prefix: config.EnvPrefix, Flags: cmd.Flags(), Aliases: devAliases()}
	err := config.Load(&s, opts)
	return s, opts, err
}

// The autoscale flags and their environment variables set the rules; a lag threshold of 0 is
// each executor's pull.concurrency, as the chart sets it; the rest are KEDA's and the HPA's.
func TestDevAutoscaleFlagsSetTheRules(t *testing.T) {
	t.Parallel()
	s, opts, err := devFlags(t, nil)
	require.NoError(t, err)
	require.False(t, s.Autoscale, "off unless asked for")
	rules, err := devAutoscaleRules(s, opts)
	require.NoError(t, err)
	http, sql := rules[domain.KindHTTP], rules[domain.KindSQL]
	require.Equal(t, int64(queue.ConcurrencyDefault), http.LagThreshold)
	require.Equal(t, int64(dbfn.DBConcurrencyDefault), sql.LagThreshold)
	require.Equal(t, 5*time.Second, http.PollingInterval, "the chart's pollingInterval")
	require.Equal(t, 10, http.MaxReplicas, "the chart's maxReplicaCount")
	require.Equal(t, autoscale.CooldownPeriodDefault, http.CooldownPeriod)
	want := autoscale.DefaultRules()
	want.PollingInterval, want.MaxReplicas, want.LagThreshold = 5*time.Second, 10, int64(queue.ConcurrencyDefault)
	require.Equal(t, want, http)

	s, opts, err = devFlags(t, []string{"VECRON_AUTOSCALE_MAX=7", "VECRON_PULL__CONCURRENCY=64"},
		"--autoscale", "--autoscale-cooldown=1s", "--autoscale-polling=100ms")
	require.NoError(t, err)
	require.True(t, s.Autoscale)
	rules, err = devAutoscaleRules(s, opts)
	require.NoError(t, err)
	for _, r := range rules {
		require.Equal(t, 7, r.MaxReplicas)
		require.Equal(t, time.Second, r.CooldownPeriod)
		require.Equal(t, 100*time.Millisecond, r.PollingInterval)
		require.Equal(t, int64(64), r.LagThreshold, "pull.concurrency of the environment")
	}

	s, opts, err = devFlags(t, nil, "--autoscale", "--autoscale-lag-threshold=50")
	require.NoError(t, err)
	rules, err = devAutoscaleRules(s, opts)
	require.NoError(t, err)
	require.Equal(t, int64(50), rules[domain.KindHTTP].LagThreshold)
	require.Equal(t, int64(50), rules[domain.KindSQL].LagThreshold)
}

// A bad autoscale value stops dev before it starts anything, naming the flag.
func TestDevRefusesBadAutoscaleSettings(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		args []string
		want []string
	}{
		"ZeroMax":              {[]string{"--autoscale-max=0"}, []string{"--autoscale-max: must be at least 1"}},
		"ZeroPolling":          {[]string{"--autoscale-polling=0s"}, []string{"--autoscale-polling: must be positive"}},
		"NegativeCooldown":     {[]string{"--autoscale-cooldown=-1s"}, []string{"--autoscale-cooldown: must not be negative"}},
		"NegativeLagThreshold": {[]string{"--autoscale-lag-threshold=-5"}, []string{"--autoscale-lag-threshold: must not be negative"}},
		"Several":              {[]string{"--autoscale-max=-1", "--autoscale-polling=-1s"}, []string{"--autoscale-max", "--autoscale-polling"}},
		"NotANumber":           {[]string{"--autoscale-cooldown=soon"}, []string{"autoscale-cooldown"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := devCommand()
			err := cmd.ParseFlags(append([]string{"--autoscale"}, tc.args...))
			if err == nil {
				s := defaultDevSettings()
				opts := config.Options{Prefix: config.EnvPrefix, Flags: cmd.Flags(), Aliases: devAliases()}
				require.NoError(t, config.Load(&s, opts))
				// Nothing may start: the services' URLs lead nowhere, the data folder is fresh.
				s.DataDir, s.AdminPort = t.TempDir(), 0
				s.DatabaseURL, s.RedisURL, s.NATSURL = "postgres://nowhere.invalid/x", "redis://nowhere.invalid", "nats://nowhere.invalid"
				err = runDev(t.Context(), s, opts, io.Discard)
				require.ErrorAs(t, err, new(usageError))
			}
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

// The banner says autoscale is on and its bounds for each executor, and that the executors'
// metrics are their own; without it the banner is as before.
func TestDevBannerSaysAutoscaleIsOn(t *testing.T) {
	t.Parallel()
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	s, opts, err := devFlags(t, nil, "--autoscale", "--autoscale-max=3", "--autoscale-cooldown=1s", "--autoscale-polling=100ms")
	require.NoError(t, err)
	rules, err := devAutoscaleRules(s, opts)
	require.NoError(t, err)
	var on, off strings.Builder
	ts, err := devTickSettings(s, opts)
	require.NoError(t, err)
	banner(&on, addr, s, "", "http://127.0.0.1:9464/metrics", telemetry.DefaultTracingConfig(), rules, ts.Tick.Prewarm)
	banner(&off, addr, s, "", "http://127.0.0.1:9464/metrics", telemetry.DefaultTracingConfig(), nil, tick.PrewarmConfig{})
	require.Contains(t, on.String(), "  metrics     http://127.0.0.1:9464/metrics  (api and tick, one registry; each executor process serves its own on a free port)\n")
	require.Contains(t, on.String(), "\n  autoscale   on: executors run as child processes, from 0, by KEDA's nats-jetstream and HPA rules\n"+
		"              execute-http 0..3 processes, one per 256 of lag, polled every 100ms, to 0 after 1s without lag\n"+
		"              execute-db   0..3 processes, one per 32 of lag, polled every 100ms, to 0 after 1s without lag\n"+
		"  pre-warm    on: each executor is woken 2.25s before its fires (tick.prewarm.lead)\n"+
		"              execute-http cooldown 1s is not longer than the lead: woken processes stop before their fires\n"+
		"              execute-db   cooldown 1s is not longer than the lead: woken processes stop before their fires\n\n")
	require.NotContains(t, off.String(), "autoscale")
	require.Contains(t, off.String(), "  NATS        \n\n  Sign in")
}

// An executor process runs with the settings dev made for it, every field as it was: they cross
// to it as JSON on its standard input, so each field, present or added later, must survive the
// trip (fill sets every field the test can reach to a value no default has).
func TestDevExecutorPayloadKeepsEverySetting(t *testing.T) {
	t.Parallel()
	hs, ds := httpfn.DefaultSettings(), dbfn.DefaultSettings()
	fill(t, reflect.ValueOf(&hs).Elem(), "hs")
	fill(t, reflect.ValueOf(&ds).Elem(), "ds")
	for kind, want := range map[domain.JobKind]executorPayload{
		domain.KindHTTP: {Log: telemetry.LogConfig{Level: "debug", Format: "json"}, HTTP: &hs},
		domain.KindSQL:  {Log: telemetry.LogConfig{Level: "warn", Format: "text"}, SQL: &ds},
	} {
		b, err := json.Marshal(want)
		require.NoError(t, err)
		got, err := readExecutorPayload(bytes.NewReader(b), kind)
		require.NoError(t, err)
		require.Equal(t, want, got, "%s", kind)
	}
}

// fill sets every settable field under v to a value that is not its type's default; v's
// interfaces (a tracer provider: set by the function, never by settings) stay nil.
func fill(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				fill(t, v.Field(i), path+"."+f.Name)
			}
		}
	case reflect.String:
		v.SetString(path + "=value")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(v.Int()*3 + 7)
	case reflect.Float64:
		v.SetFloat(v.Float()/2 + 0.25)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			t.Fatalf("%s: a slice of %s: teach fill about it", path, v.Type().Elem())
		}
		v.Set(reflect.ValueOf([]string{path + "=1", path + "=2"}).Convert(v.Type()))
	case reflect.Interface:
	default:
		t.Fatalf("%s: a %s: teach fill about it", path, v.Kind())
	}
}

// An executor process refuses settings that are not its kind's alone, unknown fields, or no
// settings at all, saying who starts it.
func TestExecutorRefusesSettingsNotMadeForIt(t *testing.T) {
	t.Parallel()
	hs, ds := httpfn.DefaultSettings(), dbfn.DefaultSettings()
	both, err := json.Marshal(executorPayload{HTTP: &hs, SQL: &ds})
	require.NoError(t, err)
	sqlOnly, err := json.Marshal(executorPayload{SQL: &ds})
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		in   string
		want string
	}{
		"Nothing":      {"", "vecron dev --autoscale"},
		"NotJSON":      {"DATABASE_URL=postgres://x", "vecron dev --autoscale"},
		"UnknownField": {`{"http":{"database":{"url":"x"}},"shell":"rm -rf /"}`, `unknown field "shell"`},
		"Both":         {string(both), "not those of a http executor alone"},
		"OtherKind":    {string(sqlOnly), "not those of a http executor alone"},
		"TooLong":      {`{"log":{"level":"` + strings.Repeat("x", executorPayloadMax) + `"}}`, "unexpected EOF"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := readExecutorPayload(strings.NewReader(tc.in), domain.KindHTTP)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// __executor is hidden, and refuses a kind it does not run.
func TestExecutorCommandIsHiddenAndChecksTheKind(t *testing.T) {
	t.Parallel()
	e := env{getenv: func(string) string { return "" }, configDir: func() (string, error) { return t.TempDir(), nil }, local: time.UTC, now: time.Now}
	var out, errOut strings.Builder
	require.Equal(t, 0, execute(t.Context(), e, strings.NewReader(""), &out, &errOut, "--help"))
	require.Contains(t, out.String(), "dev ")
	require.NotContains(t, out.String(), executorCommandName)

	out.Reset()
	require.Equal(t, exitUsage, execute(t.Context(), e, strings.NewReader(""), &out, &errOut, executorCommandName, "oracle"))
	require.Contains(t, errOut.String(), `kind: "oracle" is not one of http, sql`)
}

// --autoscale starts the executors at zero, so it turns pre-warm on with a lead of a second
// more than the longer of the polling interval and tick.lookahead (the wake is seen at the next
// poll, then a process starts; a fire already claimed counts its kind warm); a
// tick.prewarm the operator set, in the file or the environment, wins; without --autoscale the
// tick's defaults stand. The banner says which.
func TestDevAutoscaleTurnsPrewarmOn(t *testing.T) {
	t.Parallel()
	prewarm := func(environ []string, args ...string) tick.PrewarmConfig {
		t.Helper()
		s, opts, err := devFlags(t, environ, args...)
		require.NoError(t, err)
		ts, err := devTickSettings(s, opts)
		require.NoError(t, err)
		return ts.Tick.Prewarm
	}
	off := prewarm(nil)
	require.False(t, off.Enabled, "dev without --autoscale runs warm executors")
	on := prewarm(nil, "--autoscale", "--autoscale-polling=2s")
	require.True(t, on.Enabled)
	require.Equal(t, 3*time.Second, on.Lead)
	require.Equal(t, tick.PrewarmKindsDefault(), on.Kinds)
	require.Equal(t, tick.PrewarmKeepDefault, on.Keep, "KEDA's cooldown is longer")
	require.Equal(t, 5*time.Second, prewarm(nil, "--autoscale", "--autoscale-cooldown=5s").Keep, "warm no longer than the cooldown")
	require.Equal(t, 2250*time.Millisecond, prewarm(nil, "--autoscale", "--autoscale-polling=100ms").Lead, "tick.lookahead 1.25s and a second")
	require.Equal(t, 3*time.Second, prewarm([]string{"VECRON_TICK__LOOKAHEAD=2s"}, "--autoscale", "--autoscale-polling=100ms").Lead)
	require.False(t, prewarm([]string{"VECRON_TICK__PREWARM__ENABLED=false"}, "--autoscale").Enabled, "the operator's choice wins")
	require.Equal(t, 20*time.Second, prewarm([]string{"VECRON_TICK__PREWARM__LEAD=20s"}, "--autoscale").Lead)
	require.True(t, prewarm([]string{"VECRON_TICK__PREWARM__ENABLED=true"}).Enabled)

	s, opts, err := devFlags(t, []string{"VECRON_TICK__PREWARM__ENABLED=false"}, "--autoscale")
	require.NoError(t, err)
	rules, err := devAutoscaleRules(s, opts)
	require.NoError(t, err)
	var bOff, bOn strings.Builder
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	banner(&bOff, addr, s, "", "", telemetry.DefaultTracingConfig(), rules, tick.PrewarmConfig{})
	require.Contains(t, bOff.String(), "  pre-warm    off (tick.prewarm.enabled): each fire at zero waits for a poll and a process start\n")
	banner(&bOn, addr, s, "", "", telemetry.DefaultTracingConfig(), rules, prewarm(nil, "--autoscale"))
	require.Contains(t, bOn.String(), "  pre-warm    on: each executor is woken 6s before its fires (tick.prewarm.lead)\n")
	require.NotContains(t, bOn.String(), "not longer than the lead", "default cooldown 300s, lead 6s")
}

package harness_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/bench/harness"
	"github.com/vecron/vecron/bench/report"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m, func() { os.RemoveAll(binDir()) }) }

// binDir is where this test binary builds the functions; TestMain removes it.
func binDir() string {
	return filepath.Join(os.TempDir(), "vecron-bench-test-"+strconv.Itoa(os.Getpid()))
}

// binaries builds the function binaries once for every scenario test.
var binaries = sync.OnceValues(func() (string, error) {
	dir := binDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return dir, harness.Build(context.Background(), "../..", dir)
})

// riverPeer builds the River peer once, into the same directory: River compiles in a module of
// its own, about half a minute the first time.
var riverPeer = sync.OnceValue(func() error {
	dir, err := binaries()
	if err != nil {
		return err
	}
	return harness.BuildRiverPeer(context.Background(), "../..", dir)
})

func env(t *testing.T) harness.Env {
	t.Helper()
	dir, err := binaries()
	require.NoError(t, err)
	redisURL, _ := testenv.RedisURL(t)
	return harness.Env{DatabaseURL: testenv.PostgresURL(t), NATSURL: testenv.NATSURL(t), RedisURL: redisURL, BinDir: dir}
}

// metric returns the value of the named metric of r.
func metric(t *testing.T, r report.Result, name string) float64 {
	t.Helper()
	for _, m := range r.Metrics {
		if m.Name == name {
			return m.Value
		}
	}
	t.Fatalf("no metric %q in %+v", name, r.Metrics)
	return 0
}

// writes checks the report of r can be written.
func writes(t *testing.T, r report.Result) {
	t.Helper()
	files, err := report.Write(t.TempDir(), r)
	require.NoError(t, err)
	require.Contains(t, files, filepath.Join(filepath.Dir(files[0]), r.Scenario+".json"))
}

// The scenarios in a tiny size, so the harness never rots; the figures themselves come from
// make bench.

func TestSteadyTiny(t *testing.T) {
	t.Parallel()
	r, err := harness.Steady(t.Context(), env(t), harness.Params{Jobs: 20, Duration: 4 * time.Second, Workers: 1, Concurrency: 32})
	require.NoError(t, err)
	require.Equal(t, 80.0, metric(t, r, "fires expected"))
	require.Zero(t, metric(t, r, "fires missed"))
	require.Zero(t, metric(t, r, "fires duplicated"))
	require.Len(t, r.Lateness["delivery"], 80)
	require.NotEmpty(t, r.CPU)
	writes(t, r)
}

func TestBurstTiny(t *testing.T) {
	t.Parallel()
	r, err := harness.Burst(t.Context(), env(t), harness.Params{Jobs: 200, Workers: 1, Concurrency: 32})
	require.NoError(t, err)
	require.Equal(t, 200.0, metric(t, r, "executions recorded"))
	require.Equal(t, 200.0, metric(t, r, "fires published"))
	writes(t, r)
}

func TestExecutorTiny(t *testing.T) {
	t.Parallel()
	r, err := harness.Executor(t.Context(), env(t), harness.Params{Jobs: 300, Workers: 1, Concurrency: 32})
	require.NoError(t, err)
	require.Equal(t, 300.0, metric(t, r, "executions recorded"))
	require.Positive(t, metric(t, r, "executions per second, first request to last record"))
	writes(t, r)
}

func TestExecuteDBTinyWithProfiles(t *testing.T) {
	t.Parallel()
	e := env(t)
	e.ProfileDir = t.TempDir()
	r, err := harness.Executor(t.Context(), e, harness.Params{Jobs: 200, Workers: 1, Concurrency: 16, Kind: domain.KindSQL})
	require.NoError(t, err)
	require.Equal(t, 200.0, metric(t, r, "executions recorded"))
	require.Positive(t, metric(t, r, "executions per second, first start to last record"))
	writes(t, r)
	profile, err := os.Stat(filepath.Join(e.ProfileDir, r.Scenario+"-execute-db-1.pprof"))
	require.NoError(t, err)
	require.Positive(t, profile.Size(), "a CPU profile of the worker")
}

func TestScaleTiny(t *testing.T) {
	t.Parallel()
	r, err := harness.Scale(t.Context(), env(t), harness.Params{Jobs: 500, Executions: 2000, Duration: time.Second})
	require.NoError(t, err)
	require.Positive(t, metric(t, r, "tick RSS while idle"))
	require.Len(t, r.Lateness["api list jobs"], 200)
	require.Equal(t, 2000.0, metric(t, r, "execution records stored"), "50 busy jobs × 36, and 200 quiet ones")
	require.Len(t, r.Lateness["api execution history"], 600)
	for _, page := range []string{"jobs, first page", "jobs, a page deep in the table", "jobs, a search one job matches",
		"jobs, a search a tenth match", "jobs, paused http jobs", "a job's page", "history, first page", "history, failures only"} {
		require.Len(t, r.Lateness["dashboard "+page], 50, page)
		require.Positive(t, metric(t, r, "dashboard: "+page+", p99 on the server"), "timed by its Server-Timing header")
		require.GreaterOrEqual(t, metric(t, r, "dashboard: "+page+", p99 on the loopback"), metric(t, r, "dashboard: "+page+", p50 on the server"))
	}
	writes(t, r)
}

func TestColdStartTiny(t *testing.T) {
	t.Parallel()
	r, err := harness.ColdStart(t.Context(), env(t), 1)
	require.NoError(t, err)
	require.Positive(t, metric(t, r, "tick binary size"))
	writes(t, r)
}

func TestFloorTiny(t *testing.T) {
	t.Parallel()
	r, err := harness.Floor(t.Context(), env(t), 20)
	require.NoError(t, err)
	require.Equal(t, 20.0, metric(t, r, "256 connections: requests arrived"))
	require.Positive(t, metric(t, r, "1000 connections: lateness max"))
	writes(t, r)
}

func TestLatenessTiny(t *testing.T) {
	t.Parallel()
	e := env(t)
	require.NoError(t, riverPeer())
	// River starts enqueuing its periodic jobs a few seconds after it has started (leader
	// election first), so the warm-up is longer than the window.
	r, err := harness.Lateness(t.Context(), e, harness.LatenessParams{Jobs: 5, Window: 3 * time.Second, Warmup: 5 * time.Second})
	require.NoError(t, err)
	for _, shape := range harness.AllShapes() {
		t.Run(string(shape), func(t *testing.T) {
			require.Equal(t, 15.0, metric(t, r, string(shape)+": fires expected"))
			require.Zero(t, metric(t, r, string(shape)+": fires not arrived 30 s after the window"))
			require.Zero(t, metric(t, r, string(shape)+": fires duplicated"))
			require.Len(t, r.Lateness[string(shape)], 15)
			require.Positive(t, metric(t, r, string(shape)+": CPU per fire, every process"))
		})
	}
	require.Positive(t, metric(t, r, "vecron-dev ÷ river: CPU per fire"))
	writes(t, r)
}

func TestObservabilityTiny(t *testing.T) {
	t.Parallel()
	r, err := harness.Observability(t.Context(), env(t), harness.ObservabilityParams{Jobs: 5, Window: 2 * time.Second, Warmup: time.Second, Rounds: 1})
	require.NoError(t, err)
	require.Equal(t, "observability-5", r.Scenario)
	for _, v := range harness.AllVariants() {
		t.Run(string(v), func(t *testing.T) {
			require.Equal(t, 10.0, metric(t, r, string(v)+": fires expected"))
			require.Zero(t, metric(t, r, string(v)+": fires not arrived 30 s after the window"))
			require.Zero(t, metric(t, r, string(v)+": fires duplicated"))
			require.Len(t, r.Lateness[string(v)], 10)
			require.Positive(t, metric(t, r, string(v)+": CPU per fire, every process"))
			require.Positive(t, metric(t, r, string(v)+": RSS, vecron's processes"))
			if v != harness.VariantBaseline {
				// Each process is scraped once it is ready, before the window.
				require.GreaterOrEqual(t, metric(t, r, string(v)+": scrapes"), 3.0)
				require.Zero(t, metric(t, r, string(v)+": scrapes failed"))
				require.Positive(t, metric(t, r, string(v)+": scrape size"))
			}
		})
	}
	// Zero until the binaries trace; the figure is there either way.
	require.GreaterOrEqual(t, metric(t, r, "tracing-1.0: spans received per second"), 0.0)
	metric(t, r, "metrics: CPU per fire over baseline")
	writes(t, r)
}

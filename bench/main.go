// Command bench measures vecron under load and writes a report per scenario into bench/results:
// JSON, a Markdown summary and PNG charts. It starts the function binaries as processes against
// the PostgreSQL, NATS and Redis named by DATABASE_URL, NATS_URL and REDIS_URL (make bench starts
// them), each scenario in a schema, stream prefix and key prefix of its own. The lateness
// scenario also runs `vecron dev` and the River peer (bench/peers/river, built from its own Go
// module) to compare with. The observability scenario runs the lateness scenario's binaries
// with metrics and traces off and on, to tell what they cost a fire. The autoscale scenario runs
// `vecron dev --autoscale` and measures fires at zero executors; `all` leaves it out (it waits
// through cooldowns): ask for it by name.
//
//	go run ./bench -scenario steady -jobs 1000 -duration 60s
//	go run ./bench -scenario lateness
//	go run ./bench -scenario observability -rounds 1
//	go run ./bench -scenario observability -variants metrics,tracing-0.1
//	go run ./bench -scenario autoscale -jobs 2000 -samples 3
//	go run ./bench -scenario all
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vecron/vecron/bench/harness"
	"github.com/vecron/vecron/bench/report"
	"github.com/vecron/vecron/shared/domain"
)

func main() {
	var (
		scenario    = flag.String("scenario", "all", "steady, burst, scale, executor, cold-start, lateness, floor, observability, autoscale or all")
		jobs        = flag.Int("jobs", 0, "jobs (or executions) per run; 0 runs the scenario's standard sizes")
		duration    = flag.Duration("duration", 60*time.Second, "steady: how long the load runs; lateness, observability: the measured window; scale: how long the idle tick is watched")
		warmup      = flag.Duration("warmup", 10*time.Second, "lateness, observability: how long each shape or variant runs before it is measured")
		workers     = flag.Int("workers", 2, "executor processes")
		concurrency = flag.Int("concurrency", 256, "pull concurrency of each executor process")
		out         = flag.String("out", "bench/results", "directory the reports are written to")
		profiles    = flag.String("profiles", "", "directory to write CPU profiles of every process into (empty: none)")
		shapes      = flag.String("shapes", "", "lateness: comma-separated shapes to run (vecron-dev, vecron-binaries, river); empty runs all")
		herd        = flag.Bool("herd", true, "lateness: also run the top-of-minute herd")
		steady      = flag.Bool("steady", true, "lateness: run the jobs-due-every-second load (false: only the herd)")
		rounds      = flag.Int("rounds", harness.ObservabilityRoundsDefault, "observability: how many times the variants run, interleaved")
		variants    = flag.String("variants", "", "observability: comma-separated variants to run (baseline, metrics, tracing-0.1, tracing-1.0); empty runs all")
		samples     = flag.Int("samples", harness.AutoscaleRoundsDefault, "autoscale: first fires at zero executors measured with pre-warm off, and again on")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	lateness := latenessFlags{herd: *herd, steady: *steady, rounds: *rounds, samples: *samples}
	for _, name := range strings.Split(*shapes, ",") {
		if name = strings.TrimSpace(name); name != "" {
			if !slices.Contains(harness.AllShapes(), harness.Shape(name)) {
				fmt.Fprintf(os.Stderr, "bench: -shapes: %q is not one of %v\n", name, harness.AllShapes())
				os.Exit(2)
			}
			lateness.shapes = append(lateness.shapes, harness.Shape(name))
		}
	}
	vs, err := harness.ParseVariants(*variants)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: -variants: %v\n", err)
		os.Exit(2)
	}
	lateness.variants = vs
	if err := run(ctx, *scenario, *jobs, *duration, *warmup, *workers, *concurrency, *out, *profiles, lateness); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// latenessFlags narrow the lateness scenario, for comparing one change quickly, and the
// observability scenario built on it.
type latenessFlags struct {
	shapes   []harness.Shape
	herd     bool
	steady   bool
	rounds   int
	variants []harness.Variant
	// samples is the autoscale scenario's first fires per setting.
	samples int
}

func run(ctx context.Context, scenario string, jobs int, duration, warmup time.Duration, workers, concurrency int, out, profiles string, lf latenessFlags) error {
	env := harness.Env{DatabaseURL: os.Getenv("DATABASE_URL"), NATSURL: os.Getenv("NATS_URL"), RedisURL: os.Getenv("REDIS_URL"),
		ProfileDir: profiles, Progress: os.Stderr}
	if profiles != "" {
		if err := os.MkdirAll(profiles, 0o755); err != nil {
			return err
		}
	}
	if env.DatabaseURL == "" || env.NATSURL == "" || env.RedisURL == "" {
		return fmt.Errorf("set DATABASE_URL, NATS_URL and REDIS_URL (make bench does)")
	}
	bin, err := os.MkdirTemp("", "vecron-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	env.BinDir = bin
	if err := harness.Build(ctx, ".", bin); err != nil {
		return err
	}
	want := func(name string) bool { return scenario == "all" || scenario == name }
	if want("lateness") {
		if err := harness.BuildRiverPeer(ctx, ".", bin); err != nil {
			return err
		}
	}
	sizes := func(standard ...int) []int {
		if jobs > 0 {
			return []int{jobs}
		}
		return standard
	}
	p := func(n int) harness.Params {
		return harness.Params{Jobs: n, Duration: duration, Workers: workers, Concurrency: concurrency}
	}
	var runs []func() (report.Result, error)
	if want("cold-start") {
		runs = append(runs, func() (report.Result, error) { return harness.ColdStart(ctx, env, 5) })
	}
	if want("steady") {
		for _, n := range sizes(100, 1000, 5000) {
			runs = append(runs, func() (report.Result, error) { return harness.Steady(ctx, env, p(n)) })
		}
	}
	if want("burst") {
		for _, n := range sizes(10_000, 100_000) {
			runs = append(runs, func() (report.Result, error) { return harness.Burst(ctx, env, p(n)) })
		}
	}
	if want("executor") {
		for _, n := range sizes(20_000) {
			runs = append(runs, func() (report.Result, error) { return harness.Executor(ctx, env, p(n)) })
			sp := p(n)
			sp.Kind = domain.KindSQL
			runs = append(runs, func() (report.Result, error) { return harness.Executor(ctx, env, sp) })
		}
	}
	if want("scale") {
		for _, n := range sizes(1_000_000) {
			sp := p(n)
			sp.Duration = min(duration, 20*time.Second)
			sp.Executions = 10 * n
			runs = append(runs, func() (report.Result, error) { return harness.Scale(ctx, env, sp) })
		}
	}
	if want("floor") {
		for _, n := range sizes(10_000) {
			runs = append(runs, func() (report.Result, error) { return harness.Floor(ctx, env, n) })
		}
	}
	if want("lateness") {
		for _, n := range sizes(1000, 5000) {
			if !lf.steady {
				break
			}
			lp := harness.LatenessParams{Jobs: n, Window: duration, Warmup: warmup, Shapes: lf.shapes}
			runs = append(runs, func() (report.Result, error) { return harness.Lateness(ctx, env, lp) })
		}
		for _, n := range sizes(10_000) {
			if !lf.herd {
				break
			}
			lp := harness.LatenessParams{Jobs: n, Herd: true, Warmup: warmup, Shapes: lf.shapes}
			runs = append(runs, func() (report.Result, error) { return harness.Lateness(ctx, env, lp) })
		}
	}
	if want("observability") {
		if lf.rounds < 1 {
			return fmt.Errorf("-rounds: %d is not at least 1", lf.rounds)
		}
		for _, n := range sizes(1000) {
			op := harness.ObservabilityParams{Jobs: n, Window: duration, Warmup: warmup, Rounds: lf.rounds, Variants: lf.variants}
			runs = append(runs, func() (report.Result, error) { return harness.Observability(ctx, env, op) })
		}
	}
	if scenario == "autoscale" {
		if lf.samples < 1 {
			return fmt.Errorf("-samples: %d is not at least 1", lf.samples)
		}
		for _, n := range sizes(10_000) {
			ap := harness.AutoscaleParams{Jobs: n, Rounds: lf.samples}
			runs = append(runs, func() (report.Result, error) { return harness.Autoscale(ctx, env, ap) })
		}
	}
	if len(runs) == 0 {
		return fmt.Errorf("-scenario: %q is not one of steady, burst, scale, executor, cold-start, lateness, floor, observability, autoscale, all", scenario)
	}
	var failed []string
	for _, r := range runs {
		res, err := r()
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", res.Scenario, err))
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n", res.Scenario, err)
			continue
		}
		files, err := report.Write(out, res)
		if err != nil {
			return err
		}
		var charts []string
		for _, f := range files {
			if strings.HasSuffix(f, ".png") {
				charts = append(charts, filepath.Base(f))
			}
		}
		fmt.Println(report.Markdown(res, charts))
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d scenarios failed: %s", len(failed), strings.Join(failed, "; "))
	}
	return nil
}

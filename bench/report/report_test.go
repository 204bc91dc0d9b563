package report

import (
	"encoding/json"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// latenessSamples returns n lateness samples in ms shaped like a real run: a few ms for most
// fires, an exponential tail, and every thousandth fire a slow outlier.
func latenessSamples(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 2))
	out := make([]float64, n)
	for i := range out {
		out[i] = 1 + rng.ExpFloat64()*6
		if i%1000 == 999 {
			out[i] = 400 + rng.Float64()*400
		}
	}
	return out
}

func sampleResult(delivery, dispatch int) Result {
	ok, missed := true, false
	var throughput, cpu, rss []Point
	for s := range 60 {
		t := float64(s)
		throughput = append(throughput, Point{T: t, V: 1000 + 20*math.Sin(t/5)})
		cpu = append(cpu, Point{T: t + 0.5, V: 30 + 5*math.Cos(t/3)})
		rss = append(rss, Point{T: t + 0.5, V: 40 + t/10})
	}
	return Result{
		Scenario: "steady-1000",
		Started:  time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC),
		Params:   map[string]any{"jobs": 1000.0, "duration": "60s"},
		Machine:  Machine{Cores: 2, CPU: "AMD EPYC", GoVersion: "go1.26.8", Postgres: "15.8", NATS: "2.9.10", Redis: "7.0.15"},
		Metrics: []Metric{
			{Name: "delivery lateness p99", Value: 41.5, Unit: "ms", Target: "≤ 50 ms", Met: &ok},
			{Name: "delivery lateness max", Value: 300, Unit: "ms", Target: "≤ 250 ms", Met: &missed},
			{Name: "fires per second achieved", Value: 999.8, Unit: "fires/s"},
		},
		Lateness:   map[string][]float64{"delivery": latenessSamples(delivery, 1), "dispatch": latenessSamples(dispatch, 2)},
		Throughput: []Series{{Name: "executions arriving", Points: throughput}},
		CPU:        []Series{{Name: "tick-1", Points: cpu}, {Name: "execute-http-1", Points: slices.Clone(cpu[10:])}},
		RSS:        []Series{{Name: "tick-1", Points: rss}},
		Notes:      []string{"measured on a shared machine"},
	}
}

func TestWrite(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "results") // Write creates it
	r := sampleResult(5000, 2500)
	delivery := slices.Clone(r.Lateness["delivery"])

	files, err := Write(dir, r)
	require.NoError(t, err)

	base := filepath.Join(dir, "steady-1000")
	require.Equal(t, []string{
		base + ".json", base + ".md",
		base + "-lateness-hist.png", base + "-lateness-cdf.png",
		base + "-throughput.png", base + "-cpu.png", base + "-rss.png",
	}, files)
	require.Equal(t, delivery, r.Lateness["delivery"], "the caller's samples are left unsorted")

	t.Run("ChartsArePNGsOfTheChartSize", func(t *testing.T) {
		t.Parallel()
		for _, f := range files[2:] {
			fh, err := os.Open(f)
			require.NoError(t, err)
			img, err := png.Decode(fh)
			require.NoError(t, fh.Close())
			require.NoError(t, err, f)
			require.Equal(t, chartWidthPx, img.Bounds().Dx(), f)
			require.Equal(t, chartHeightPx, img.Bounds().Dy(), f)
		}
	})

	t.Run("JSONKeepsSummariesNotSamples", func(t *testing.T) {
		t.Parallel()
		raw, err := os.ReadFile(base + ".json")
		require.NoError(t, err)
		require.Less(t, len(raw), 40_000, "7,500 samples would not fit")

		var top map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(raw, &top))
		require.ElementsMatch(t, []string{"scenario", "started", "params", "machine", "metrics", "lateness", "throughput", "cpu_percent", "rss_mb", "notes"}, keys(top))
		var sets map[string]map[string]float64
		require.NoError(t, json.Unmarshal(top["lateness"], &sets))
		require.ElementsMatch(t, []string{"delivery", "dispatch"}, keys(sets))
		for _, s := range sets {
			require.ElementsMatch(t, []string{"count", "min", "p50", "p90", "p99", "p99_9", "max", "mean"}, keys(s))
		}

		var back Result
		require.NoError(t, json.Unmarshal(raw, &back))
		want := r
		want.Lateness = nil
		want.Summaries = map[string]Summary{"delivery": Summarize(r.Lateness["delivery"]), "dispatch": Summarize(r.Lateness["dispatch"])}
		require.Equal(t, want, back)
		require.Equal(t, 5000, back.Summaries["delivery"].Count)
	})

	t.Run("MarkdownSummarisesAndLinksTheCharts", func(t *testing.T) {
		t.Parallel()
		md, err := os.ReadFile(base + ".md")
		require.NoError(t, err)
		for _, want := range []string{
			"**Machine:** 2 cores (AMD EPYC), go1.26.8, PostgreSQL 15.8, NATS 2.9.10, Redis 7.0.15; started 2026-11-29 08:00:00 UTC.",
			"| duration | 60s |",
			"| delivery lateness p99 | 41.5 ms | ≤ 50 ms | ✅ met |",
			"| delivery lateness max | 300 ms | ≤ 250 ms | ❌ missed |",
			"| fires per second achieved | 999.8 fires/s |  |  |",
			"| delivery | 5000 |",
			"| dispatch | 2500 |",
			"- measured on a shared machine",
			"![steady-1000: lateness histogram](steady-1000-lateness-hist.png)",
			"![steady-1000: lateness CDF](steady-1000-lateness-cdf.png)",
			"](steady-1000-throughput.png)", "](steady-1000-cpu.png)", "](steady-1000-rss.png)",
		} {
			require.Contains(t, string(md), want)
		}
		require.NotContains(t, string(md), dir, "links are relative")
	})
}

func TestWriteDrawsOnlyChartsWithData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		edit   func(*Result)
		charts []string
	}{
		{"MetricsOnly", func(r *Result) { *r = Result{Scenario: r.Scenario, Metrics: r.Metrics} }, nil},
		{"EmptySetsAndSeries", func(r *Result) {
			r.Lateness = map[string][]float64{"delivery": {}}
			r.Throughput, r.RSS = []Series{{Name: "none"}}, nil
		}, []string{"-cpu.png"}},
		{"OneLatenessSample", func(r *Result) {
			r.Lateness = map[string][]float64{"delivery": {3}}
			r.Throughput, r.CPU, r.RSS = nil, nil, nil
		}, []string{"-lateness-hist.png", "-lateness-cdf.png"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := sampleResult(100, 100)
			tt.edit(&r)
			dir := t.TempDir()
			files, err := Write(dir, r)
			require.NoError(t, err)
			want := []string{filepath.Join(dir, "steady-1000.json"), filepath.Join(dir, "steady-1000.md")}
			for _, c := range tt.charts {
				want = append(want, filepath.Join(dir, "steady-1000"+c))
			}
			require.Equal(t, want, files)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Len(t, entries, len(want))
		})
	}
}

func TestWriteRejectsBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*Result)
		want string
	}{
		{"PathInScenario", func(r *Result) { r.Scenario = "../escape" }, `scenario "../escape"`},
		{"EmptyScenario", func(r *Result) { r.Scenario = "" }, `scenario ""`},
		{"UpperCaseScenario", func(r *Result) { r.Scenario = "Steady" }, `scenario "Steady"`},
		{"SpaceInScenario", func(r *Result) { r.Scenario = "steady 100" }, `scenario "steady 100"`},
		{"NaNMetric", func(r *Result) { r.Metrics[2].Value = math.NaN() }, "metrics[2] (fires per second achieved)"},
		{"InfiniteSample", func(r *Result) { r.Lateness["dispatch"][7] = math.Inf(1) }, `lateness["dispatch"][7]`},
		{"NaNPoint", func(r *Result) { r.CPU[1].Points[3].V = math.NaN() }, "cpu[1] (execute-http-1).points[3]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := sampleResult(10, 10)
			tt.edit(&r)
			dir := filepath.Join(t.TempDir(), "out")
			files, err := Write(dir, r)
			require.ErrorContains(t, err, tt.want)
			require.Empty(t, files)
			require.NoDirExists(t, dir, "nothing is written")
		})
	}
}

func keys[V any](m map[string]V) []string {
	return sortedKeys(m)
}

func BenchmarkWriteMillionSamples(b *testing.B) {
	r := sampleResult(1_000_000, 0)
	delete(r.Lateness, "dispatch")
	dir := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Write(dir, r); err != nil {
			b.Fatal(err)
		}
	}
}

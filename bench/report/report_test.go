package report

import (
	"encoding/json"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestPercentileNearestRank(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		sorted []float64
		p      float64
		want   float64
	}{
		{"Empty", nil, 50, 0},
		{"One", []float64{7}, 99, 7},
		{"MedianOdd", []float64{1, 2, 3}, 50, 2},
		{"MedianEven", []float64{1, 2, 3, 4}, 50, 2},
		{"P99OfHundred", seq(100), 99, 99},
		{"Max", seq(10), 100, 10},
		{"Min", seq(10), 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, Percentile(tt.sorted, tt.p))
		})
	}
}

func seq(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(i + 1)
	}
	return out
}

func TestSummarizeIsOrderedAndLeavesInputAlone(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		in := rapid.SliceOfN(rapid.Float64Range(-1e6, 1e6), 1, 500).Draw(t, "samples")
		orig := slices.Clone(in)
		s := Summarize(in)
		require.Equal(t, orig, in)
		require.Equal(t, len(in), s.Count)
		require.True(t, s.Min <= s.P50 && s.P50 <= s.P90 && s.P90 <= s.P99 && s.P99 <= s.P999 && s.P999 <= s.Max)
		require.True(t, s.Mean >= s.Min-1e-6 && s.Mean <= s.Max+1e-6)
	})
	require.Equal(t, Summary{}, Summarize(nil))
}

func sampleResult(n int) Result {
	rng := rand.New(rand.NewPCG(1, 2))
	delivery := make([]float64, n)
	for i := range delivery {
		delivery[i] = 2 + rng.ExpFloat64()*8
	}
	ok, missed := true, false
	return Result{
		Scenario: "steady-1000", Started: time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC),
		Params:  map[string]any{"jobs": 1000, "duration_s": 60},
		Machine: Machine{Cores: 2, GoVersion: "go1.26.8", Postgres: "15.8", NATS: "2.9.10", Redis: "7.0.15"},
		Metrics: []Metric{
			{Name: "delivery lateness p99", Value: 41.5, Unit: "ms", Target: "<= 50 ms", Met: &ok},
			{Name: "delivery lateness max", Value: 300, Unit: "ms", Target: "<= 250 ms", Met: &missed},
			{Name: "fires per second achieved", Value: 999.8, Unit: "fires/s"},
		},
		Lateness:   map[string][]float64{"delivery": delivery, "dispatch": delivery[:n/2]},
		Throughput: []Series{{Name: "executions", Points: []Point{{0, 990}, {1, 1000}, {2, 1001}}}},
		CPU:        []Series{{Name: "tick-1", Points: []Point{{0.5, 12}, {1, 15}}}},
		RSS:        []Series{{Name: "tick-1", Points: []Point{{0.5, 30}, {1, 31}}}},
		Notes:      []string{"measured on a shared machine"},
	}
}

func TestWriteReportFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files, err := Write(dir, sampleResult(5000))
	require.NoError(t, err)
	for _, suffix := range []string{".json", ".md", "-lateness-hist.png", "-lateness-cdf.png", "-throughput.png", "-cpu.png", "-rss.png"} {
		require.Contains(t, files, filepath.Join(dir, "steady-1000"+suffix))
	}
	for _, f := range files {
		if !strings.HasSuffix(f, ".png") {
			continue
		}
		fh, err := os.Open(f)
		require.NoError(t, err)
		img, err := png.Decode(fh)
		fh.Close()
		require.NoError(t, err, f)
		require.Equal(t, chartWidth, img.Bounds().Dx(), f)
		require.Equal(t, chartHeight, img.Bounds().Dy(), f)
	}

	raw, err := os.ReadFile(filepath.Join(dir, "steady-1000.json"))
	require.NoError(t, err)
	require.Less(t, len(raw), 20_000, "samples are summarised, not stored")
	var back Result
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, 5000, back.Summaries["delivery"].Count)
	require.Equal(t, 2500, back.Summaries["dispatch"].Count)

	md, err := os.ReadFile(filepath.Join(dir, "steady-1000.md"))
	require.NoError(t, err)
	for _, want := range []string{"2 cores", "PostgreSQL 15.8", "NATS 2.9.10", "Redis 7.0.15",
		"| delivery lateness p99 | 41.50 ms | <= 50 ms | ✅ |", "| delivery lateness max | 300 ms | <= 250 ms | ❌ |",
		"](steady-1000-lateness-cdf.png)", "- measured on a shared machine"} {
		require.Contains(t, string(md), want)
	}
}

func TestWriteRejectsABadScenarioName(t *testing.T) {
	t.Parallel()
	r := sampleResult(10)
	r.Scenario = "../escape"
	_, err := Write(t.TempDir(), r)
	require.ErrorContains(t, err, "scenario:")
}

func BenchmarkWriteMillionSamples(b *testing.B) {
	r := sampleResult(1_000_000)
	dir := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Write(dir, r); err != nil {
			b.Fatal(err)
		}
	}
}

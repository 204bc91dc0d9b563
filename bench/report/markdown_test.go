package report

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMarkdown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		r       Result
		charts  []string
		want    []string
		notWant []string
	}{
		{
			name:    "MachineLineLeavesOutWhatIsUnknown",
			r:       Result{Scenario: "cold-start", Machine: Machine{Cores: 4, GoVersion: "go1.26.8"}},
			want:    []string{"## cold-start\n\n**Machine:** 4 cores, go1.26.8.\n"},
			notWant: []string{"PostgreSQL", "NATS", "Redis", "started", "### "},
		},
		{
			name: "LatenessFromSamplesWhenNotSummarised",
			r:    Result{Scenario: "s", Lateness: map[string][]float64{"delivery": {3, 1, 2}, "empty": nil}},
			want: []string{"| delivery | 3 | 1 | 2 | 3 | 3 | 3 | 3 | 2 |"},
			// A set without samples has no percentiles to show.
			notWant: []string{"| empty |"},
		},
		{
			name: "LatenessFromSummariesWhenGiven",
			r:    Result{Scenario: "s", Summaries: map[string]Summary{"dispatch": {Count: 2, Min: 0.25, P50: 0.5, P90: 1, P99: 1, P999: 1, Max: 1, Mean: 0.625}}},
			want: []string{"| dispatch | 2 | 0.25 | 0.5 | 1 | 1 | 1 | 1 | 0.625 |"},
		},
		{
			name: "CellsKeepTheTableWhole",
			r: Result{Scenario: "s", Params: map[string]any{"a|b": "x\ny"},
				Metrics: []Metric{{Name: "p99 | p50", Value: 1.23456, Unit: "ms"}}},
			want: []string{`| a\|b | x y |`, `| p99 \| p50 | 1.235 ms |  |  |`},
		},
		{
			name:   "ChartsAsRelativeImages",
			r:      Result{Scenario: "burst-10000", Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))},
			charts: []string{"burst-10000-throughput.png", "burst-10000-rss.png", "other.png"},
			want: []string{
				"started 2026-01-02 02:04:05 UTC.",
				"### Charts\n\n![burst-10000: throughput over time](burst-10000-throughput.png)\n\n",
				"![burst-10000: resident memory (RSS) per process](burst-10000-rss.png)",
				"![other](other.png)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			md := Markdown(tt.r, tt.charts)
			for _, w := range tt.want {
				require.Contains(t, md, w)
			}
			for _, w := range tt.notWant {
				require.NotContains(t, md, w)
			}
		})
	}
}

func TestFormatValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v    float64
		want string
	}{
		{0, "0"}, {-0.0, "0"}, {60000, "60000"}, {7232.44, "7232"}, {999.8, "999.8"}, {41.5, "41.5"},
		{5.16123, "5.161"}, {0.012345, "0.01235"}, {-2.5, "-2.5"}, {1e18, "1000000000000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, formatValue(tt.v))
		})
	}
}

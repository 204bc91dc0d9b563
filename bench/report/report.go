// Package report turns a load scenario's raw measurements into what a person and a machine read:
// <scenario>.json (every figure, with lateness summarised rather than every sample), a Markdown
// summary with each figure against its target, and PNG charts (lateness histogram and CDF,
// throughput, CPU and RSS over time). Every figure carries the machine it was measured on.
package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// Machine describes where a result was measured; every figure is printed with it.
type Machine struct {
	Cores     int    `json:"cores"`
	CPU       string `json:"cpu,omitempty"`
	GoVersion string `json:"go_version"`
	Postgres  string `json:"postgres,omitempty"`
	NATS      string `json:"nats,omitempty"`
	Redis     string `json:"redis,omitempty"`
}

// Metric is one figure of a scenario. Target is a human string such as "<= 50 ms" (empty if
// none); Met is nil when there is no target.
type Metric struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Target string  `json:"target,omitempty"`
	Met    *bool   `json:"met,omitempty"`
}

// Point is one sample of a series; T is seconds since the scenario started.
type Point struct {
	T float64 `json:"t"`
	V float64 `json:"v"`
}

// Series is a named line over time.
type Series struct {
	Name   string  `json:"name"`
	Points []Point `json:"points"`
}

// Summary condenses a set of samples.
type Summary struct {
	Count int     `json:"count"`
	Min   float64 `json:"min"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

// Result is one scenario run.
type Result struct {
	Scenario string         `json:"scenario"`
	Started  time.Time      `json:"started"`
	Params   map[string]any `json:"params"`
	Machine  Machine        `json:"machine"`
	Metrics  []Metric       `json:"metrics"`
	// Lateness holds samples in milliseconds per named set ("delivery", "dispatch"); the JSON
	// keeps only their summaries, so files stay small.
	Lateness   map[string][]float64 `json:"-"`
	Summaries  map[string]Summary   `json:"lateness,omitempty"`
	Throughput []Series             `json:"throughput,omitempty"`
	CPU        []Series             `json:"cpu_percent,omitempty"`
	RSS        []Series             `json:"rss_mb,omitempty"`
	Notes      []string             `json:"notes,omitempty"`
}

// Summarize returns the summary of samples without modifying them; zero for none.
func Summarize(samples []float64) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	var sum float64
	for _, v := range sorted {
		sum += v
	}
	return Summary{
		Count: len(sorted), Min: sorted[0], Max: sorted[len(sorted)-1], Mean: sum / float64(len(sorted)),
		P50: Percentile(sorted, 50), P90: Percentile(sorted, 90), P99: Percentile(sorted, 99), P999: Percentile(sorted, 99.9),
	}
}

// Percentile returns the nearest-rank p-th percentile (p in [0, 100]) of sorted; 0 for none.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Check compares value with target: op is "<=" or ">=".
func Check(value float64, op string, target float64) *bool {
	var ok bool
	switch op {
	case "<=":
		ok = value <= target
	case ">=":
		ok = value >= target
	default:
		return nil
	}
	return &ok
}

var scenarioName = regexp.MustCompile(`^[a-z0-9-]+$`)

// Write writes the JSON, the Markdown and the charts of r into dir (created if missing) and
// returns the paths written.
func Write(dir string, r Result) ([]string, error) {
	if !scenarioName.MatchString(r.Scenario) {
		return nil, fmt.Errorf("scenario: %q must be lower-case letters, digits and dashes", r.Scenario)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write report: %w", err)
	}
	r.Summaries = map[string]Summary{}
	for name, samples := range r.Lateness {
		if len(samples) > 0 {
			r.Summaries[name] = Summarize(samples)
		}
	}
	base := filepath.Join(dir, r.Scenario)
	charts, err := writeCharts(base, r)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("write report: %w", err)
	}
	names := make([]string, len(charts))
	for i, c := range charts {
		names[i] = filepath.Base(c)
	}
	files := []string{base + ".json", base + ".md"}
	err = errors.Join(os.WriteFile(files[0], append(b, '\n'), 0o644), os.WriteFile(files[1], []byte(Markdown(r, names)), 0o644))
	if err != nil {
		return nil, fmt.Errorf("write report: %w", err)
	}
	return append(files, charts...), nil
}

// Markdown renders the summary of r; charts are file names relative to the Markdown file.
func Markdown(r Result, charts []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", r.Scenario)
	m := r.Machine
	fmt.Fprintf(&b, "Measured %s on %d cores", r.Started.UTC().Format("2006-01-02 15:04 MST"), m.Cores)
	if m.CPU != "" {
		fmt.Fprintf(&b, " (%s)", m.CPU)
	}
	fmt.Fprintf(&b, ", %s, PostgreSQL %s, NATS %s, Redis %s; everything co-located.\n\n", m.GoVersion, m.Postgres, m.NATS, m.Redis)
	if len(r.Params) > 0 {
		keys := make([]string, 0, len(r.Params))
		for k := range r.Params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("| parameter | value |\n|---|---|\n")
		for _, k := range keys {
			fmt.Fprintf(&b, "| %s | %v |\n", k, r.Params[k])
		}
		b.WriteString("\n")
	}
	if len(r.Metrics) > 0 {
		b.WriteString("| figure | value | target | |\n|---|---|---|---|\n")
		for _, mt := range r.Metrics {
			mark := ""
			if mt.Met != nil {
				mark = "❌"
				if *mt.Met {
					mark = "✅"
				}
			}
			fmt.Fprintf(&b, "| %s | %s %s | %s | %s |\n", mt.Name, formatValue(mt.Value), mt.Unit, mt.Target, mark)
		}
		b.WriteString("\n")
	}
	sums := r.Summaries
	if len(sums) == 0 {
		sums = map[string]Summary{}
		for name, s := range r.Lateness {
			if len(s) > 0 {
				sums[name] = Summarize(s)
			}
		}
	}
	if len(sums) > 0 {
		names := make([]string, 0, len(sums))
		for n := range sums {
			names = append(names, n)
		}
		sort.Strings(names)
		b.WriteString("| ms | count | min | p50 | p90 | p99 | p99.9 | max | mean |\n|---|---|---|---|---|---|---|---|---|\n")
		for _, n := range names {
			s := sums[n]
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", n, s.Count, formatValue(s.Min), formatValue(s.P50),
				formatValue(s.P90), formatValue(s.P99), formatValue(s.P999), formatValue(s.Max), formatValue(s.Mean))
		}
		b.WriteString("\n")
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n")
	}
	for _, c := range charts {
		fmt.Fprintf(&b, "![%s](%s)\n", strings.TrimSuffix(c, ".png"), c)
	}
	return b.String()
}

func formatValue(v float64) string {
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

// Package report turns one load scenario's raw measurements into files that can be kept and
// compared across commits: <scenario>.json for tools, <scenario>.md for a person, and PNG charts
// the Markdown links to. The harness measures; this package only summarises and draws, so a
// figure is computed one way in every scenario and always printed with the machine it came from.
//
// Lateness is kept as a summary, never as raw samples: a million-job run would otherwise write
// a file of tens of megabytes that no one reads, while the percentiles are what gets compared.
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

// Metric is one figure of a scenario. Target is a human string such as "≤ 50 ms" (empty if
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

// Series is a named line over time, such as one process's CPU.
type Series struct {
	Name   string  `json:"name"`
	Points []Point `json:"points"`
}

// Result is one scenario run.
type Result struct {
	Scenario string         `json:"scenario"`
	Started  time.Time      `json:"started"`
	Params   map[string]any `json:"params"`
	Machine  Machine        `json:"machine"`
	Metrics  []Metric       `json:"metrics"`
	// Lateness holds samples in milliseconds per named set ("delivery", "dispatch"); the JSON
	// keeps only the summary of each set, not every sample, so files stay small.
	Lateness map[string][]float64 `json:"-"`
	// Summaries is filled by Write from Lateness; when Lateness is empty, Write keeps it as
	// given, so a Result read back from its JSON can be written again.
	Summaries  map[string]Summary `json:"lateness,omitempty"`
	Throughput []Series           `json:"throughput,omitempty"`
	CPU        []Series           `json:"cpu_percent,omitempty"`
	RSS        []Series           `json:"rss_mb,omitempty"`
	Notes      []string           `json:"notes,omitempty"`
}

// Check reports whether value meets target, for Metric.Met: op is "<=" or ">=". It returns nil
// for any other op, which reads as "no target".
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

// scenarioName keeps scenario names usable as file names on every platform and in Markdown
// links without escaping.
var scenarioName = regexp.MustCompile(`^[a-z0-9-]+$`)

// Write writes the JSON, the Markdown and the charts of r into dir (created if missing) and
// returns the paths written, the JSON first and the Markdown second. A chart is written only
// when it has data. On failure it returns the paths written so far with the error; r is
// rejected before anything is written when its scenario name is not [a-z0-9-]+ or a figure is
// NaN or infinite.
func Write(dir string, r Result) ([]string, error) {
	if err := validate(r); err != nil {
		return nil, fmt.Errorf("write report: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write report: %w", err)
	}

	// Each set is sorted once here and shared by the summary and both lateness charts: with a
	// million samples the sort is most of the work.
	sorted := sortedSets(r.Lateness)
	if len(r.Lateness) > 0 {
		r.Summaries = make(map[string]Summary, len(sorted))
		for name, s := range sorted {
			r.Summaries[name] = summarizeSorted(s)
		}
	}

	base := filepath.Join(dir, r.Scenario)
	var written []string
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("write report: encode json: %w", err)
	}
	if err := os.WriteFile(base+".json", append(b, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("write report: %w", err)
	}
	written = append(written, base+".json")

	// The Markdown names the charts, so they are drawn before it is written.
	charts, err := writeCharts(base, r, sorted)
	links := make([]string, len(charts))
	for i, c := range charts {
		links[i] = filepath.Base(c)
	}
	if err != nil {
		return append(written, charts...), fmt.Errorf("write report: %w", err)
	}
	if err := os.WriteFile(base+".md", []byte(Markdown(r, links)), 0o644); err != nil {
		return append(written, charts...), fmt.Errorf("write report: %w", err)
	}
	written = append(written, base+".md")
	return append(written, charts...), nil
}

// validate rejects what would make a bad file name or an unwritable JSON (which has no NaN),
// naming the field.
func validate(r Result) error {
	if !scenarioName.MatchString(r.Scenario) {
		return fmt.Errorf("scenario %q: want lower-case letters, digits and dashes", r.Scenario)
	}
	var errs []error
	for i, m := range r.Metrics {
		if !finite(m.Value) {
			errs = append(errs, fmt.Errorf("metrics[%d] (%s): value %v is not a finite number", i, m.Name, m.Value))
		}
	}
	for _, name := range sortedKeys(r.Lateness) {
		if i := slices.IndexFunc(r.Lateness[name], func(v float64) bool { return !finite(v) }); i >= 0 {
			errs = append(errs, fmt.Errorf("lateness[%q][%d]: %v is not a finite number of milliseconds", name, i, r.Lateness[name][i]))
		}
	}
	for _, set := range []struct {
		field  string
		series []Series
	}{{"throughput", r.Throughput}, {"cpu", r.CPU}, {"rss", r.RSS}} {
		for i, s := range set.series {
			if j := slices.IndexFunc(s.Points, func(p Point) bool { return !finite(p.T) || !finite(p.V) }); j >= 0 {
				errs = append(errs, fmt.Errorf("%s[%d] (%s).points[%d]: %v is not a finite point", set.field, i, s.Name, j, s.Points[j]))
			}
		}
	}
	return errors.Join(errs...)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// sortedSets returns a sorted copy of each non-empty set; the caller's slices are left alone.
func sortedSets(sets map[string][]float64) map[string][]float64 {
	out := make(map[string][]float64, len(sets))
	for name, s := range sets {
		if len(s) == 0 {
			continue
		}
		c := slices.Clone(s)
		slices.Sort(c)
		out[name] = c
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

package report

import (
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"
)

// Markdown renders r as the section a person reads: the machine line, the parameters, each
// metric against its target, the percentiles of each lateness set, the notes and the charts.
// charts are paths relative to the Markdown file (Write passes bare file names). The lateness
// table comes from r.Summaries when set, else from r.Lateness.
func Markdown(r Result, charts []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", r.Scenario)
	b.WriteString(machineLine(r))
	b.WriteString("\n\n")

	if len(r.Params) > 0 {
		b.WriteString("### Parameters\n\n| parameter | value |\n|---|---|\n")
		for _, k := range sortedKeys(r.Params) {
			fmt.Fprintf(&b, "| %s | %s |\n", cell(k), cell(fmt.Sprint(r.Params[k])))
		}
		b.WriteString("\n")
	}

	if len(r.Metrics) > 0 {
		b.WriteString("### Metrics\n\n| metric | value | target | result |\n|---|--:|---|---|\n")
		for _, m := range r.Metrics {
			value := strings.TrimSpace(formatValue(m.Value) + " " + m.Unit)
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", cell(m.Name), cell(value), cell(m.Target), verdict(m.Met))
		}
		b.WriteString("\n")
	}

	sums := r.Summaries
	if len(sums) == 0 && len(r.Lateness) > 0 {
		sums = make(map[string]Summary, len(r.Lateness))
		for name, s := range r.Lateness {
			if len(s) > 0 {
				sums[name] = Summarize(s)
			}
		}
	}
	if len(sums) > 0 {
		b.WriteString("### Lateness (ms)\n\n| set | count | min | p50 | p90 | p99 | p99.9 | max | mean |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, name := range sortedKeys(sums) {
			s := sums[name]
			fmt.Fprintf(&b, "| %s | %d |", cell(name), s.Count)
			for _, v := range []float64{s.Min, s.P50, s.P90, s.P99, s.P999, s.Max, s.Mean} {
				fmt.Fprintf(&b, " %s |", formatValue(v))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}

	if len(r.Notes) > 0 {
		b.WriteString("### Notes\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", strings.ReplaceAll(n, "\n", " "))
		}
		b.WriteString("\n")
	}

	if len(charts) > 0 {
		b.WriteString("### Charts\n\n")
		for _, c := range charts {
			fmt.Fprintf(&b, "![%s](%s)\n\n", chartTitle(r.Scenario, c), c)
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// machineLine says where and when the figures were measured, leaving out what is unknown.
func machineLine(r Result) string {
	m := r.Machine
	cores := fmt.Sprintf("%d cores", m.Cores)
	if m.CPU != "" {
		cores += " (" + m.CPU + ")"
	}
	parts := []string{cores}
	for _, v := range []struct{ name, version string }{
		{"", m.GoVersion}, {"PostgreSQL ", m.Postgres}, {"NATS ", m.NATS}, {"Redis ", m.Redis},
	} {
		if v.version != "" {
			parts = append(parts, v.name+v.version)
		}
	}
	line := "**Machine:** " + strings.Join(parts, ", ")
	if !r.Started.IsZero() {
		line += "; started " + r.Started.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	return line + "."
}

func verdict(met *bool) string {
	switch {
	case met == nil:
		return ""
	case *met:
		return "✅ met"
	}
	return "❌ missed"
}

// chartTitle names a chart for its alt text from the file name Write gives it.
func chartTitle(scenario, file string) string {
	kind := strings.TrimSuffix(strings.TrimPrefix(path.Base(file), scenario+"-"), ".png")
	if title := kindTitle(kind); title != "" {
		return scenario + ": " + title
	}
	return kind
}

// cell keeps a value inside its table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", "").Replace(s)
}

// formatValue prints a figure with the precision a reader can use: whole numbers and values
// from 1000 up without decimals, smaller ones to four significant digits.
func formatValue(v float64) string {
	switch a := math.Abs(v); {
	case v == 0:
		return "0" // not "-0"
	case a >= 1000 || v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	rounded, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 4, 64), 64)
	return strconv.FormatFloat(rounded, 'f', -1, 64)
}

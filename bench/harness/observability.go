package harness

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/vecron/vecron/bench/report"
)

// Variant is one configuration the observability scenario measures (docs/observability.md §8).
type Variant string

// The variants, in the order each round runs them.
const (
	// VariantBaseline serves no metrics and exports no spans.
	VariantBaseline Variant = "baseline"
	// VariantMetrics serves metrics, scraped as Prometheus would.
	VariantMetrics Variant = "metrics"
	// VariantTracing01 adds traces at the default sampling ratio, exported to a sink in the bench.
	VariantTracing01 Variant = "tracing-0.1"
	// VariantTracing10 samples every fire.
	VariantTracing10 Variant = "tracing-1.0"
)

// AllVariants returns the variants in the order a round runs them.
func AllVariants() []Variant {
	return []Variant{VariantBaseline, VariantMetrics, VariantTracing01, VariantTracing10}
}

// The defaults of ObservabilityParams.
const (
	ObservabilityRoundsDefault = 3
	ScrapeEveryDefault         = 15 * time.Second
)

// ObservabilityParams size the observability scenario.
type ObservabilityParams struct {
	// Jobs is how many jobs fire every second.
	Jobs int
	// Window is how long each variant is measured, after Warmup.
	Window, Warmup time.Duration
	// Rounds is how many times the four variants run, interleaved; 0 means
	// ObservabilityRoundsDefault.
	Rounds int
	// ScrapeEvery is the interval at which the metrics variants are scraped; 0 means
	// ScrapeEveryDefault, Prometheus's usual.
	ScrapeEvery time.Duration
	// Variants are the variants each round runs, in AllVariants's order whatever order they are
	// given in; empty means all of them.
	Variants []Variant
}

// variants returns the variants p selects, in the order a round runs them.
func (p ObservabilityParams) variants() []Variant {
	if len(p.Variants) == 0 {
		return AllVariants()
	}
	var out []Variant
	for _, v := range AllVariants() {
		if slices.Contains(p.Variants, v) {
			out = append(out, v)
		}
	}
	return out
}

// ParseVariants returns the variants named in s, comma-separated; empty means all of them. It
// returns an error naming the first name that is not a variant.
func ParseVariants(s string) ([]Variant, error) {
	var out []Variant
	for _, name := range strings.Split(s, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if !slices.Contains(AllVariants(), Variant(name)) {
			return nil, fmt.Errorf("%q is not one of %v", name, AllVariants())
		}
		out = append(out, Variant(name))
	}
	return out, nil
}

// vars returns the settings of v, exporting spans to endpoint when v traces.
func (v Variant) vars(endpoint string) []string {
	switch v {
	case VariantBaseline:
		return []string{"VECRON_METRICS__ENABLED=false"}
	case VariantMetrics:
		return []string{"VECRON_METRICS__ENABLED=true"}
	}
	ratio := strings.TrimPrefix(string(v), "tracing-")
	return []string{"VECRON_METRICS__ENABLED=true", "VECRON_OTEL__ENDPOINT=" + endpoint, "VECRON_OTEL__SAMPLE_RATIO=" + ratio}
}

func (v Variant) scraped() bool { return v != VariantBaseline }
func (v Variant) traced() bool  { return strings.HasPrefix(string(v), "tracing-") }

// inheritedTelemetry are the settings a variant sets or leaves off, which the bench's own
// environment must not supply (a developer's shell may export a collector).
var inheritedTelemetry = []string{"VECRON_METRICS__ENABLED", "VECRON_OTEL__ENDPOINT", "VECRON_OTEL__SAMPLE_RATIO",
	"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"}

// variantRun is what one variant measured in one round.
type variantRun struct {
	shapeRun
	variant Variant
	round   int
	window  float64 // seconds
	scrapes scrapeTotals
	otlp    otlpTotals
}

// vecronMicrosPerFire is the CPU of vecron's own processes alone, per request that arrived:
// where metrics and spans cost, without PostgreSQL's, NATS's and Redis's share.
func (r variantRun) vecronMicrosPerFire() float64 {
	if r.cpuRequests == 0 {
		return 0
	}
	var s float64
	for _, g := range r.cpu {
		if slices.Contains(r.processes, g.name) {
			s += g.seconds
		}
	}
	return s * 1e6 / float64(r.cpuRequests)
}

// Observability measures what metrics and traces cost a fire: the vecron-binaries shape of the
// lateness scenario, p.Jobs jobs on `* * * * * *`, in the variants p selects, interleaved (each
// round runs them in order), the median per variant reported.
func Observability(ctx context.Context, env Env, p ObservabilityParams) (report.Result, error) {
	rounds := p.Rounds
	if rounds <= 0 {
		rounds = ObservabilityRoundsDefault
	}
	every := p.ScrapeEvery
	if every <= 0 {
		every = ScrapeEveryDefault
	}
	variants := p.variants()
	if len(variants) == 0 {
		return report.Result{}, fmt.Errorf("no variant among %v", p.Variants)
	}
	lp := LatenessParams{Jobs: p.Jobs, Window: p.Window, Warmup: p.Warmup, Shapes: []Shape{ShapeBinaries}}
	res := newResult(ctx, env, fmt.Sprintf("observability-%d", p.Jobs), map[string]any{
		"jobs": p.Jobs, "cron": lp.cron(), "warmup_s": p.Warmup.Seconds(), "window_s": p.Window.Seconds(),
		"rounds": rounds, "scrape_every_s": every.Seconds(), "shape": string(ShapeBinaries)})
	for _, v := range variants {
		res.Params[string(v)+" settings"] = strings.Join(v.vars("<the bench's OTLP sink>"), " ")
	}
	runs := map[Variant][]variantRun{}
	for round := 1; round <= rounds; round++ {
		for _, v := range variants {
			env.progress("%s: round %d of %d: %s", res.Scenario, round, rounds, v)
			r, err := runVariant(ctx, env, res.Scenario, lp, v, round, every)
			if err != nil {
				return res, fmt.Errorf("round %d, %s: %w", round, v, err)
			}
			env.progress("%s: %s: CPU per fire %.0f µs (vecron's processes %.0f µs), %.0f spans/s", res.Scenario, v,
				r.microsPerFire(), r.vecronMicrosPerFire(), float64(r.otlp.spans)/r.window)
			runs[v] = append(runs[v], r)
		}
	}
	res.Metrics, res.Notes = observabilityFigures(runs), append(res.Notes, observabilityNotes(runs, variants, rounds)...)
	res.Lateness = map[string][]float64{}
	for _, v := range AllVariants() {
		rs := runs[v]
		if len(rs) == 0 {
			continue
		}
		for _, r := range rs {
			res.Lateness[string(v)] = append(res.Lateness[string(v)], r.lateness...)
		}
		// The charts show the last round: one line per variant.
		last := rs[len(rs)-1]
		for _, s := range last.cpuSeries {
			s.Name = string(v) + " (every process)"
			res.CPU = append(res.CPU, s)
		}
		rss := sumSeries(string(v)+" (vecron's processes)", last.rssSeries)
		res.RSS = append(res.RSS, rss)
		last.throughput.Name = string(v)
		res.Throughput = append(res.Throughput, last.throughput)
		res.Params[string(v)+" processes"] = strings.Join(last.processes, ", ")
	}
	return res, nil
}

// runVariant runs the vecron-binaries shape once with v's settings.
func runVariant(ctx context.Context, env Env, scenario string, lp LatenessParams, v Variant, round int, every time.Duration) (variantRun, error) {
	var sink *otlpSink
	endpoint := ""
	if v.traced() {
		sink = newOTLPSink()
		defer sink.Close()
		endpoint = sink.URL
	}
	var sc *scraper
	x := shapeExtras{vars: v.vars(endpoint), unset: inheritedTelemetry}
	if !v.scraped() {
		x.during = func(ctx context.Context, s *stack) (func() error, error) {
			return func() error { return nil }, checkMetricsOff(ctx, s.procs)
		}
	}
	if v.scraped() {
		x.during = func(ctx context.Context, s *stack) (func() error, error) {
			var err error
			if sc, err = startScraping(ctx, s.procs, every); err != nil {
				return nil, err
			}
			return func() error { sc.stop(); return nil }, nil
		}
	}
	r, err := runShape(ctx, env, fmt.Sprintf("%s-%s-%d", scenario, v, round), lp, ShapeBinaries, x)
	out := variantRun{shapeRun: r, variant: v, round: round, window: lp.Window.Seconds()}
	if err != nil {
		return out, err
	}
	if sc != nil {
		out.scrapes = sc.between(time.Time{}, time.Now())
	}
	if sink != nil {
		out.otlp = sink.between(r.from, r.from.Add(lp.Window))
	}
	return out, nil
}

// median returns the median of xs, 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// medianOf returns the median of f over runs.
func medianOf(runs []variantRun, f func(variantRun) float64) float64 {
	xs := make([]float64, len(runs))
	for i, r := range runs {
		xs[i] = f(r)
	}
	return median(xs)
}

// change returns how much a exceeds b in percent, and false when b is not positive.
func change(a, b float64) (float64, bool) {
	if b <= 0 || math.IsNaN(a) || math.IsInf(a, 0) {
		return 0, false
	}
	return 100 * (a/b - 1), true
}

// The targets of docs/observability.md §8, in percent of CPU per fire.
const (
	metricsOverBaselineMax = 5.0
	tracingOverMetricsMax  = 5.0
)

func observabilityFigures(runs map[Variant][]variantRun) []report.Metric {
	var out []report.Metric
	cpu := map[Variant]float64{}
	vecronCPU := map[Variant]float64{}
	for _, v := range AllVariants() {
		rs := runs[v]
		if len(rs) == 0 {
			continue
		}
		prefix := string(v) + ": "
		cpu[v] = medianOf(rs, func(r variantRun) float64 { return r.microsPerFire() })
		vecronCPU[v] = medianOf(rs, variantRun.vecronMicrosPerFire)
		var expected, missed, duplicated int
		for _, r := range rs {
			expected += r.expected
			missed += r.missed
			duplicated += r.duplicated
		}
		out = append(out,
			metric(prefix+"CPU per fire, every process", cpu[v], "µs"),
			metric(prefix+"CPU per fire, vecron's processes", vecronCPU[v], "µs"),
			metric(prefix+"lateness p50", medianOf(rs, func(r variantRun) float64 { return report.Summarize(r.lateness).P50 }), "ms"),
			metric(prefix+"lateness p99", medianOf(rs, func(r variantRun) float64 { return report.Summarize(r.lateness).P99 }), "ms"),
			metric(prefix+"RSS, vecron's processes", medianOf(rs, func(r variantRun) float64 { return r.rssMB }), "MB"),
			metric(prefix+"requests arriving per second", medianOf(rs, func(r variantRun) float64 { return r.arrivalsPerSecond }), "fires/s"),
			metric(prefix+"fires expected", float64(expected), "fires"),
			metric(prefix+fmt.Sprintf("fires not arrived %g s after the window", drainLimit.Seconds()), float64(missed), "fires"),
			metric(prefix+"fires duplicated", float64(duplicated), "fires"),
			metric(prefix+"CPU of everything else on the machine", medianOf(rs, func(r variantRun) float64 { return r.otherPercent }), "%"))
		if v.scraped() {
			var ok, failed, bytes int
			for _, r := range rs {
				ok, failed, bytes = ok+r.scrapes.ok, failed+r.scrapes.failed, bytes+r.scrapes.bytes
			}
			out = append(out, metric(prefix+"scrapes", float64(ok), "scrapes"),
				targeted(prefix+"scrapes failed", float64(failed), "scrapes", "<=", 0))
			if ok > 0 {
				out = append(out, metric(prefix+"scrape size", float64(bytes)/float64(ok), "bytes"))
			}
		}
		if v.traced() {
			spans := medianOf(rs, func(r variantRun) float64 { return float64(r.otlp.spans) / r.window })
			out = append(out,
				metric(prefix+"spans received per second", spans, "spans/s"),
				metric(prefix+"OTLP requests received per second", medianOf(rs, func(r variantRun) float64 { return float64(r.otlp.requests) / r.window }), "requests/s"),
				metric(prefix+"OTLP bytes received per second", medianOf(rs, func(r variantRun) float64 { return float64(r.otlp.bytes) / r.window }), "bytes/s"))
			if fires := medianOf(rs, func(r variantRun) float64 { return r.arrivalsPerSecond }); fires > 0 {
				out = append(out, metric(prefix+"spans per fire", spans/fires, "spans"))
			}
		}
	}
	// The changes, from the medians.
	for _, v := range AllVariants()[1:] {
		if len(runs[v]) == 0 {
			continue // not run: its 0 is no figure
		}
		if d, ok := change(cpu[v], cpu[VariantBaseline]); ok {
			if v == VariantMetrics {
				out = append(out, targeted(string(v)+": CPU per fire over baseline", d, "%", "<=", metricsOverBaselineMax))
			} else {
				out = append(out, metric(string(v)+": CPU per fire over baseline", d, "%"))
			}
		}
		if d, ok := change(vecronCPU[v], vecronCPU[VariantBaseline]); ok {
			out = append(out, metric(string(v)+": CPU per fire of vecron's processes over baseline", d, "%"))
		}
	}
	for _, v := range []Variant{VariantTracing01, VariantTracing10} {
		if len(runs[v]) == 0 {
			continue
		}
		if d, ok := change(cpu[v], cpu[VariantMetrics]); ok {
			// Without a span received the variant ran the metrics variant's binaries again: its
			// change is noise, and no goal is judged on it.
			if v == VariantTracing01 && received(runs[v]) {
				out = append(out, targeted(string(v)+": CPU per fire over metrics", d, "%", "<=", tracingOverMetricsMax))
			} else {
				out = append(out, metric(string(v)+": CPU per fire over metrics", d, "%"))
			}
		}
	}
	return out
}

// received reports whether the sink received an export in any of runs.
func received(runs []variantRun) bool {
	return slices.ContainsFunc(runs, func(r variantRun) bool { return r.otlp.requests > 0 })
}

func observabilityNotes(runs map[Variant][]variantRun, variants []Variant, rounds int) []string {
	names := make([]string, len(variants))
	for i, v := range variants {
		names[i] = string(v)
	}
	notes := []string{
		"each variant is the vecron-binaries shape of the lateness scenario (one tick, one execute-http, one execute-db on the shared nats-server, at their defaults, in a schema, stream prefix and key prefix of its own, every job stored before it starts); the variants run interleaved, " + strings.Join(names, ", ") + " in every round, and each figure is the median over the rounds",
		"CPU per fire, every process: as the lateness scenario counts it, the CPU seconds over the window of vecron's processes, the PostgreSQL backends of their connections, PostgreSQL's own processes, nats-server and redis-server, divided by the requests that arrived at the target in the window. \"vecron's processes\" counts the three binaries alone, where metrics and spans cost. The changes are taken between the variants' medians",
		"metrics: each process serves /metrics on admin.addr 127.0.0.1:0, found in its \"admin listening\" log line; the bench scrapes every process once when it is ready and then at the scrape interval, with Prometheus's Accept header (OpenMetrics first). The scrapes' CPU in the processes counts; the bench's does not",
		"tracing: otel.endpoint is an OTLP/HTTP receiver in the bench's process that reads each POST /v1/traces, counts its bytes (as sent) and its spans, and answers 200; its CPU is the bench's and counts in no variant. Spans per second are those received in the window",
	}
	if t01, t10 := runs[VariantTracing01], runs[VariantTracing10]; len(t01)+len(t10) > 0 && !received(t01) && !received(t10) {
		notes = append(notes, "the sink received no span: the binaries measured do not trace (otel.* not wired yet), so the tracing variants measure the metrics variant again, and the goal for tracing-0.1 is not judged")
	}
	var perRound []string
	for round := 1; round <= rounds; round++ {
		var parts []string
		for _, v := range AllVariants() {
			for _, r := range runs[v] {
				if r.round == round {
					parts = append(parts, fmt.Sprintf("%s %.0f µs (vecron's %.0f, load %s)", v, r.microsPerFire(), r.vecronMicrosPerFire(), r.load))
				}
			}
		}
		perRound = append(perRound, fmt.Sprintf("round %d: %s", round, strings.Join(parts, ", ")))
	}
	return append(notes, "CPU per fire by round, with the load average when the variant started: "+strings.Join(perRound, "; "))
}

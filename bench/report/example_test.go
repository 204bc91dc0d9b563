package report_test

import (
	"fmt"
	"time"

	"github.com/vecron/vecron/bench/report"
)

func ExampleSummarize() {
	s := report.Summarize([]float64{12, 3, 7, 5, 40})
	fmt.Printf("count %d, p50 %g ms, p99 %g ms, mean %g ms\n", s.Count, s.P50, s.P99, s.Mean)
	// Output: count 5, p50 7 ms, p99 40 ms, mean 13.4 ms
}

func ExampleMarkdown() {
	p99 := report.Summarize([]float64{2.5, 3, 4, 48}).P99
	r := report.Result{
		Scenario: "steady-100",
		Started:  time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC),
		Params:   map[string]any{"jobs": 100},
		Machine:  report.Machine{Cores: 2, GoVersion: "go1.26.8", Postgres: "15.8"},
		Metrics: []report.Metric{
			{Name: "delivery lateness p99", Value: p99, Unit: "ms", Target: "≤ 50 ms", Met: report.Check(p99, "<=", 50)},
		},
		Lateness: map[string][]float64{"delivery": {2.5, 3, 4, 48}},
	}
	fmt.Println(report.Markdown(r, []string{"steady-100-lateness-cdf.png"}))
	// Output:
	// ## steady-100
	//
	// **Machine:** 2 cores, go1.26.8, PostgreSQL 15.8; started 2026-11-29 08:00:00 UTC.
	//
	// ### Parameters
	//
	// | parameter | value |
	// |---|---|
	// | jobs | 100 |
	//
	// ### Metrics
	//
	// | metric | value | target | result |
	// |---|--:|---|---|
	// | delivery lateness p99 | 48 ms | ≤ 50 ms | ✅ met |
	//
	// ### Lateness (ms)
	//
	// | set | count | min | p50 | p90 | p99 | p99.9 | max | mean |
	// |---|--:|--:|--:|--:|--:|--:|--:|--:|
	// | delivery | 4 | 2.5 | 3 | 48 | 48 | 48 | 48 | 14.38 |
	//
	// ### Charts
	//
	// ![steady-100: lateness CDF](steady-100-lateness-cdf.png)
}

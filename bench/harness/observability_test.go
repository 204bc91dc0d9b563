package harness

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/bench/report"
)

// field encodes one length-delimited protobuf field.
func field(num uint64, payload []byte) []byte {
	b := binary.AppendUvarint(nil, num<<3|2)
	b = binary.AppendUvarint(b, uint64(len(payload)))
	return append(b, payload...)
}

// exportRequest encodes an ExportTraceServiceRequest of resources × scopes × spans spans, with
// the other fields OTLP puts around them (a resource, a scope, varint and fixed fields).
func exportRequest(resources, scopes, spans int) []byte {
	var req []byte
	for range resources {
		rs := field(1, field(1, []byte("service.name=tick"))) // resource
		for range scopes {
			ss := field(1, field(1, []byte("vecron"))) // scope
			for i := range spans {
				span := field(1, bytes.Repeat([]byte{1}, 16))             // trace_id
				span = append(span, field(5, []byte("fire"))...)          // name
				span = append(span, byte(6<<3|0), byte(i+1))              // kind, a varint
				span = append(span, byte(7<<3|1), 1, 2, 3, 4, 5, 6, 7, 8) // start_time_unix_nano, fixed64
				ss = append(ss, field(2, span)...)
			}
			ss = append(ss, field(3, []byte("https://opentelemetry.io/schemas/1.26.0"))...)
			rs = append(rs, field(2, ss)...)
		}
		req = append(req, field(1, rs)...)
	}
	return req
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func TestCountSpans(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name            string
		body            []byte
		encoding, ctype string
		want            int
	}{
		{"Empty", nil, "", "application/x-protobuf", 0},
		{"OneSpan", exportRequest(1, 1, 1), "", "application/x-protobuf", 1},
		{"ResourcesTimesScopesTimesSpans", exportRequest(3, 2, 5), "", "application/x-protobuf", 30},
		{"Gzipped", gzipped(t, exportRequest(2, 1, 7)), "gzip", "application/x-protobuf", 14},
		{"JSON", []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"a"},{"spanId":"b"}]}]}]}`), "", "application/json", 2},
		{"Truncated", exportRequest(1, 1, 3)[:20], "", "application/x-protobuf", -1},
		{"NotGzip", exportRequest(1, 1, 1), "gzip", "application/x-protobuf", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, countSpans(tc.body, tc.encoding, tc.ctype))
		})
	}
}

func TestOTLPSinkCountsWhatItReceives(t *testing.T) {
	t.Parallel()
	sink := newOTLPSink()
	defer sink.Close()
	from := time.Now()
	post := func(body []byte, encoding string) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, sink.URL+"/v1/traces", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-protobuf")
		if encoding != "" {
			req.Header.Set("Content-Encoding", encoding)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	plain, zipped := exportRequest(1, 2, 10), gzipped(t, exportRequest(1, 1, 5))
	post(plain, "")
	post(zipped, "gzip")
	post([]byte{0xff}, "")
	got := sink.between(from, time.Now().Add(time.Second))
	require.Equal(t, otlpTotals{requests: 3, bytes: len(plain) + len(zipped) + 1, spans: 25, unreadable: 1}, got)
	require.Zero(t, sink.between(time.Now().Add(time.Second), time.Now().Add(time.Hour)).requests, "nothing after the window")

	resp, err := http.Get(sink.URL + "/v1/metrics")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "only traces are received")
}

func TestFindAdminAddr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, out, want string }{
		{"JSON", `{"time":"2026-12-06T10:00:00Z","level":"INFO","msg":"starting"}` + "\n" +
			`{"time":"2026-12-06T10:00:00Z","level":"INFO","msg":"admin listening","addr":"127.0.0.1:41873"}` + "\n", "127.0.0.1:41873"},
		{"Text", `time=2026-12-06T10:00:00Z level=INFO msg="admin listening" addr=127.0.0.1:39001` + "\n", "127.0.0.1:39001"},
		{"NotYet", `{"level":"INFO","msg":"listening","addr":"127.0.0.1:8080"}` + "\n", ""},
		{"HalfWritten", `{"level":"INFO","msg":"admin listening","ad`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, findAdminAddr(tc.out))
		})
	}
}

// loggedProcess is a process that has logged out and is still running.
func loggedProcess(name, out string) *process {
	p := &process{name: name, cmd: &exec.Cmd{}, done: make(chan struct{})}
	_, _ = p.Write([]byte(out))
	return p
}

func TestScraperFetchesOpenMetrics(t *testing.T) {
	t.Parallel()
	var accept string
	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accept = r.Header.Get("Accept")
		w.Header().Set("Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
		fmt.Fprint(w, "# TYPE vecron_x counter\nvecron_x_total 1\n# EOF\n")
	}))
	defer metrics.Close()
	addr := metrics.Listener.Addr().String()
	p := loggedProcess("tick", `{"level":"INFO","msg":"admin listening","addr":"`+addr+`"}`+"\n")
	sc, err := startScraping(t.Context(), []*process{p}, time.Hour)
	require.NoError(t, err)
	sc.stop()
	got := sc.between(time.Time{}, time.Now().Add(time.Second))
	require.Equal(t, 1, got.ok, "the first scrape happens at once")
	require.Zero(t, got.failed)
	require.Equal(t, len("# TYPE vecron_x counter\nvecron_x_total 1\n# EOF\n"), got.bytes)
	require.Equal(t, openMetricsAccept, accept)
}

func TestScraperRejectsWhatIsNotOpenMetrics(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"TextFormat", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			fmt.Fprint(w, "vecron_x_total 1\n")
		}, "not OpenMetrics"},
		{"MetricsOff", func(w http.ResponseWriter, _ *http.Request) { http.NotFound(w, nil) }, "404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			p := loggedProcess("execute-http", `time=x level=INFO msg="admin listening" addr=`+srv.Listener.Addr().String()+"\n")
			_, err := startScraping(t.Context(), []*process{p}, time.Hour)
			require.ErrorContains(t, err, tc.want)
			require.ErrorContains(t, err, "first scrape of execute-http")
		})
	}
}

func TestAdminAddrNamesAProcessThatDied(t *testing.T) {
	t.Parallel()
	p := loggedProcess("tick", "panic: boom\n")
	close(p.done)
	_, err := p.adminAddr(t.Context(), time.Minute)
	require.ErrorContains(t, err, "tick exited during the run")
	require.ErrorContains(t, err, "panic: boom")
}

func TestMedian(t *testing.T) {
	t.Parallel()
	require.Zero(t, median(nil))
	require.Equal(t, 3.0, median([]float64{5, 1, 3}))
	require.Equal(t, 2.5, median([]float64{4, 1, 3, 2}))
}

// run is a variant's round with the given CPU per fire (every process, and vecron's alone).
func run(v Variant, round int, all, vecron float64, spans int) variantRun {
	const fires = 1000
	r := variantRun{variant: v, round: round, window: 10, otlp: otlpTotals{requests: 5, bytes: 5000, spans: spans}}
	r.processes = []string{"tick-1"}
	r.cpuRequests = fires
	r.cpuSeconds = all * fires / 1e6
	r.cpu = []groupCPU{{name: "tick-1", seconds: vecron * fires / 1e6}, {name: "postgres", seconds: (all - vecron) * fires / 1e6}}
	r.arrivalsPerSecond = 100
	r.lateness = []float64{10, 20, 30}
	if v.scraped() {
		r.scrapes = scrapeTotals{ok: 5, bytes: 50_000}
	}
	return r
}

func figure(t *testing.T, ms []report.Metric, name string) report.Metric {
	t.Helper()
	for _, m := range ms {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("no figure %q in %+v", name, ms)
	return report.Metric{}
}

func TestObservabilityFiguresAreMediansAndTheirChanges(t *testing.T) {
	t.Parallel()
	runs := map[Variant][]variantRun{
		VariantBaseline:  {run(VariantBaseline, 1, 400, 200, 0), run(VariantBaseline, 2, 500, 250, 0), run(VariantBaseline, 3, 300, 150, 0)},
		VariantMetrics:   {run(VariantMetrics, 1, 410, 205, 0), run(VariantMetrics, 2, 412, 210, 0), run(VariantMetrics, 3, 900, 450, 0)},
		VariantTracing01: {run(VariantTracing01, 1, 453.2, 220, 1000)},
		VariantTracing10: {run(VariantTracing10, 1, 462, 231, 10_000)},
	}
	ms := observabilityFigures(runs)
	require.InDelta(t, 400, figure(t, ms, "baseline: CPU per fire, every process").Value, 1e-6)
	require.InDelta(t, 412, figure(t, ms, "metrics: CPU per fire, every process").Value, 1e-6, "the median, not the mean")
	require.InDelta(t, 210, figure(t, ms, "metrics: CPU per fire, vecron's processes").Value, 1e-6)

	over := figure(t, ms, "metrics: CPU per fire over baseline")
	require.InDelta(t, 3, over.Value, 1e-6)
	require.NotNil(t, over.Met)
	require.True(t, *over.Met, "3 %% is within the target")
	tracing := figure(t, ms, "tracing-0.1: CPU per fire over metrics")
	require.InDelta(t, 10, tracing.Value, 1e-6)
	require.NotNil(t, tracing.Met)
	require.False(t, *tracing.Met, "10 %% is not")
	require.Nil(t, figure(t, ms, "tracing-1.0: CPU per fire over metrics").Met, "tracing at 1.0 has no goal")
	require.InDelta(t, 15.5, figure(t, ms, "tracing-1.0: CPU per fire over baseline").Value, 1e-6)

	require.InDelta(t, 100, figure(t, ms, "tracing-0.1: spans received per second").Value, 1e-6)
	require.InDelta(t, 10, figure(t, ms, "tracing-1.0: spans per fire").Value, 1e-6)
	require.InDelta(t, 0.5, figure(t, ms, "tracing-1.0: OTLP requests received per second").Value, 1e-6)
	require.InDelta(t, 15, figure(t, ms, "metrics: scrapes").Value, 1e-6)
	require.InDelta(t, 10_000, figure(t, ms, "metrics: scrape size").Value, 1e-6)
	require.InDelta(t, 20, figure(t, ms, "baseline: lateness p50").Value, 1e-6)

	for _, m := range ms {
		require.NotContains(t, m.Name, "baseline: scrape", "the baseline serves no metrics")
	}
	notes := observabilityNotes(runs, AllVariants(), 3)
	require.NotContains(t, notes, "the sink received no span: the binaries measured do not trace (otel.* not wired yet), so the tracing variants measure the metrics variant again, and the goal for tracing-0.1 is not judged")
}

func TestObservabilityFiguresWithoutABaselineFigure(t *testing.T) {
	t.Parallel()
	runs := map[Variant][]variantRun{
		VariantBaseline: {{variant: VariantBaseline, round: 1, window: 10}}, // no request arrived
		VariantMetrics:  {run(VariantMetrics, 1, 410, 205, 0)},
	}
	ms := observabilityFigures(runs)
	for _, m := range ms {
		require.NotContains(t, m.Name, "over baseline", "no change from a baseline of 0")
	}
	_, err := report.Write(t.TempDir(), report.Result{Scenario: "observability-1", Metrics: ms})
	require.NoError(t, err, "no NaN or infinite figure")
}

func TestObservabilityNotesSayWhenNothingTraced(t *testing.T) {
	t.Parallel()
	r := run(VariantTracing01, 1, 400, 200, 0)
	r.otlp = otlpTotals{}
	m := run(VariantMetrics, 1, 300, 150, 0)
	runs := map[Variant][]variantRun{VariantMetrics: {m}, VariantTracing01: {r}}
	notes := observabilityNotes(runs, []Variant{VariantMetrics, VariantTracing01}, 1)
	require.Contains(t, notes, "the sink received no span: the binaries measured do not trace (otel.* not wired yet), so the tracing variants measure the metrics variant again, and the goal for tracing-0.1 is not judged")
	require.Nil(t, figure(t, observabilityFigures(runs), "tracing-0.1: CPU per fire over metrics").Met,
		"without spans the variant does not measure tracing, and its goal is not judged")
}

func TestCheckMetricsOff(t *testing.T) {
	t.Parallel()
	off := httptest.NewServer(http.NotFoundHandler())
	defer off.Close()
	on := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/openmetrics-text; version=1.0.0")
		fmt.Fprint(w, "# EOF\n")
	}))
	defer on.Close()
	line := func(s *httptest.Server) string {
		return `{"msg":"admin listening","addr":"` + s.Listener.Addr().String() + `"}` + "\n"
	}
	require.NoError(t, checkMetricsOff(t.Context(), []*process{loggedProcess("tick", line(off))}))
	err := checkMetricsOff(t.Context(), []*process{loggedProcess("tick", line(off)), loggedProcess("execute-db", line(on))})
	require.ErrorContains(t, err, "execute-db serves metrics with metrics.enabled=false")
}

func TestVariantSelection(t *testing.T) {
	t.Parallel()
	vs, err := ParseVariants(" tracing-0.1,metrics ,")
	require.NoError(t, err)
	require.Equal(t, []Variant{VariantMetrics, VariantTracing01}, ObservabilityParams{Variants: vs}.variants(), "in the order a round runs them")
	require.Equal(t, AllVariants(), ObservabilityParams{}.variants(), "none named: all")
	none, err := ParseVariants("")
	require.NoError(t, err)
	require.Empty(t, none)
	_, err = ParseVariants("metrics,tracing-0.5")
	require.ErrorContains(t, err, `"tracing-0.5"`)

	runs := map[Variant][]variantRun{
		VariantMetrics:   {run(VariantMetrics, 1, 410, 205, 0)},
		VariantTracing01: {run(VariantTracing01, 1, 451, 220, 1000)},
	}
	ms := observabilityFigures(runs)
	for _, m := range ms {
		require.NotContains(t, m.Name, "over baseline", "no baseline ran")
		require.NotContains(t, m.Name, "tracing-1.0", "tracing-1.0 did not run")
	}
	require.InDelta(t, 10, figure(t, ms, "tracing-0.1: CPU per fire over metrics").Value, 1e-6)
	notes := observabilityNotes(runs, []Variant{VariantMetrics, VariantTracing01}, 1)
	require.Contains(t, notes[0], "interleaved, metrics, tracing-0.1 in every round")
}

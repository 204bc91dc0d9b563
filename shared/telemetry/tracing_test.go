package telemetry_test

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/telemetry"
)

type collector struct {
	srv     *httptest.Server
	mu      sync.Mutex
	spans   []*tracepb.Span
	attrs   map[string]string
	headers http.Header
}

func newCollector(t *testing.T) *collector {
	t.Helper()
	c := &collector{attrs: map[string]string{}}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.headers = r.Header.Clone()
		for _, rs := range req.ResourceSpans {
			for _, kv := range rs.Resource.Attributes {
				c.attrs[kv.Key] = kv.Value.GetStringValue()
			}
			for _, ss := range rs.ScopeSpans {
				c.spans = append(c.spans, ss.Spans...)
			}
		}
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *collector) span(t *testing.T, name string) *tracepb.Span {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.spans {
		if s.Name == name {
			return s
		}
	}
	require.FailNow(t, "no span "+name)
	return nil
}

// Not parallel: AllocsPerRun refuses to run beside other tests.
func TestTracingOffAllocatesNoSpan(t *testing.T) {
	reg, err := metric.New(metric.Config{Function: "tick"})
	require.NoError(t, err)
	tr, err := telemetry.NewTracing(telemetry.DefaultTracingConfig(), telemetry.TracingDeps{Function: "tick", Registry: reg})
	require.NoError(t, err)
	require.False(t, tr.Enabled())
	families, err := reg.Gather()
	require.NoError(t, err)
	served := map[string]bool{}
	for _, f := range families {
		served[f.GetName()] = true
	}
	for _, n := range []metric.Name{metric.OtelSpansEnded, metric.OtelSpansExported, metric.OtelExportFailures} {
		require.True(t, served[string(n)], "%s is served with tracing off", n)
	}
	require.False(t, tr.PropagateToTargets())
	tracer := tr.Tracer("t")
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		_, s := tracer.Start(ctx, "vecron.fire")
		s.End()
	})
	// The no-op span is one shared value; what remains is the context that carries it.
	require.LessOrEqual(t, allocs, 1.0)
	_, s := tracer.Start(ctx, "vecron.fire")
	require.False(t, s.IsRecording())
	require.False(t, s.SpanContext().IsValid())
	require.NoError(t, tr.Shutdown(ctx))
}

func TestTracingExportsWithKeyDerivedIDs(t *testing.T) {
	t.Parallel()
	c := newCollector(t)
	cfg := telemetry.DefaultTracingConfig()
	cfg.Endpoint, cfg.SampleRatio = c.srv.URL, 1
	cfg.Headers = []string{"Authorization=Bearer ${env:OTEL_TOKEN}", "X-Scope = prod"}
	tr, err := telemetry.NewTracing(cfg, telemetry.TracingDeps{
		Function: "tick", Version: "v1.0.0", Instance: "tick-7", Policy: egress.LoopbackPolicy(),
		Environ: []string{"OTEL_TOKEN=s3cret", "OTEL_RESOURCE_ATTRIBUTES=deployment.environment=prod%20eu,service.name=from-env"},
	})
	require.NoError(t, err)
	require.True(t, tr.Enabled())
	require.True(t, tr.PropagateToTargets())

	key := "0197c3a4-job:1767225600000"
	ctx, fire := tr.Tracer("tick").Start(telemetry.WithIDKey(context.Background(), key), "vecron.fire")
	_, publish := tr.Tracer("tick").Start(ctx, "publish vecron.due.http")
	publish.End()
	fire.End()
	require.NoError(t, tr.Shutdown(t.Context()))

	sum := sha256.Sum256([]byte(key))
	f := c.span(t, "vecron.fire")
	require.Equal(t, sum[:16], f.TraceId)
	require.Equal(t, sum[16:24], f.SpanId)
	p := c.span(t, "publish vecron.due.http")
	require.Equal(t, sum[:16], p.TraceId)
	require.Equal(t, sum[16:24], p.ParentSpanId)
	require.NotEqual(t, sum[16:24], p.SpanId, "a child gets an id of its own")

	c.mu.Lock()
	defer c.mu.Unlock()
	require.Equal(t, "Bearer s3cret", c.headers.Get("Authorization"))
	require.Equal(t, "prod", c.headers.Get("X-Scope"))
	require.Equal(t, map[string]string{
		"service.name": "from-env", "service.version": "v1.0.0", "service.instance.id": "tick-7",
		"deployment.environment": "prod eu",
	}, c.attrs)
}

func TestTracingSettingsAreChecked(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		mod  func(*telemetry.TracingConfig)
		want string
	}{
		{"RatioAboveOne", func(c *telemetry.TracingConfig) { c.SampleRatio = 1.5 }, "otel.sample_ratio"},
		{"NegativeTimeout", func(c *telemetry.TracingConfig) { c.Timeout = -1 }, "otel.timeout"},
		{"HeaderWithoutValue", func(c *telemetry.TracingConfig) { c.Headers = []string{"Authorization"} }, "otel.headers[0]: not a name=value pair"},
		{"HeaderWrittenAsHTTP", func(c *telemetry.TracingConfig) { c.Headers = []string{"Authorization: Basic dXNlcjpzM2NyM3Q="} }, "otel.headers[0]: not a name=value pair"},
		{"HeaderFromMissingEnv", func(c *telemetry.TracingConfig) { c.Headers = []string{"K=${env:NOPE}"} }, "otel.headers[0]: the environment has no NOPE"},
		{"DeniedEndpoint", func(c *telemetry.TracingConfig) { c.Endpoint = "http://169.254.169.254:4318" }, "otel.endpoint: egress policy refuses"},
		{"LoopbackNeedsAllow", func(c *telemetry.TracingConfig) { c.Endpoint = "http://127.0.0.1:4318" }, "egress.allow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := telemetry.DefaultTracingConfig()
			cfg.Endpoint = "http://otel-collector:4318"
			tc.mod(&cfg)
			_, err := telemetry.NewTracing(cfg, telemetry.TracingDeps{Function: "api"})
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "dXNlcjpzM2NyM3Q", "a header value in an error")
		})
	}
}

func sampledContext(sampled bool) trace.SpanContext {
	cfg := trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}}
	if sampled {
		cfg.TraceFlags = trace.FlagsSampled
	}
	return trace.NewSpanContext(cfg)
}

func TestLinkedOrRatioSampler(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithSampler(telemetry.LinkedOrRatio(0)),
		sdktrace.WithIDGenerator(telemetry.KeyIDGenerator()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tracer := tp.Tracer("t")
	bg := context.Background()

	_, root := tracer.Start(bg, "root")
	require.False(t, root.SpanContext().IsSampled(), "ratio 0 samples no root")

	_, batch := tracer.Start(bg, "due.publish", trace.WithLinks(trace.Link{SpanContext: sampledContext(false)}, trace.Link{SpanContext: sampledContext(true)}))
	require.True(t, batch.SpanContext().IsSampled(), "a sampled link samples the batch span")

	_, unlinked := tracer.Start(bg, "due.publish", trace.WithLinks(trace.Link{SpanContext: sampledContext(false)}))
	require.False(t, unlinked.SpanContext().IsSampled())

	_, child := tracer.Start(trace.ContextWithRemoteSpanContext(bg, sampledContext(true)), "process vecron.due.http")
	require.True(t, child.SpanContext().IsSampled(), "children follow a sampled parent")

	_, child = tracer.Start(trace.ContextWithRemoteSpanContext(bg, sampledContext(false)), "process vecron.due.http")
	require.False(t, child.SpanContext().IsSampled(), "and an unsampled one")

	require.Contains(t, telemetry.LinkedOrRatio(0.25).Description(), "0.25")
}

func TestKeyIDGenerator(t *testing.T) {
	t.Parallel()
	gen := telemetry.KeyIDGenerator()
	key := "job-1:1767225600000"
	wantT, wantS := telemetry.KeyIDs(key)
	sum := sha256.Sum256([]byte(key))
	require.Equal(t, sum[:16], wantT[:])
	require.Equal(t, sum[16:24], wantS[:])

	ctx := telemetry.WithIDKey(context.Background(), key)
	tid, sid := gen.NewIDs(ctx)
	require.Equal(t, wantT, tid)
	require.Equal(t, wantS, sid)
	tid2, sid2 := gen.NewIDs(ctx)
	require.NotEqual(t, wantT, tid2, "only the first span takes the key's ids")
	require.NotEqual(t, wantS, sid2)

	// Under a parent (a fire a request started), the span id alone comes from the key.
	ctx = telemetry.WithIDKey(context.Background(), key)
	require.Equal(t, wantS, gen.NewSpanID(ctx, trace.TraceID{9}))
	require.NotEqual(t, wantS, gen.NewSpanID(ctx, trace.TraceID{9}))

	// Without a key, random and valid.
	seen := map[trace.TraceID]bool{}
	for range 100 {
		tid, sid := gen.NewIDs(context.Background())
		require.True(t, tid.IsValid())
		require.True(t, sid.IsValid())
		require.False(t, seen[tid])
		seen[tid] = true
	}
}

package httpjob

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/secret"
)

// tracing returns a provider that records every span it ends, sampling roots with sampler.
func tracing(t *testing.T, sampler sdktrace.Sampler) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithSampler(sdktrace.ParentBased(sampler)))
	t.Cleanup(func() { _ = tp.Shutdown(context.WithoutCancel(t.Context())) })
	return tp, rec
}

// spanText is everything a recorded span says, for checking that a value appears nowhere.
func spanText(s sdktrace.ReadOnlySpan) string {
	var b strings.Builder
	fmt.Fprintln(&b, s.Name(), s.Status().Description)
	for _, a := range s.Attributes() {
		fmt.Fprintln(&b, a.Key, a.Value.Emit())
	}
	for _, e := range s.Events() {
		fmt.Fprintln(&b, e.Name, e.Attributes)
	}
	return b.String()
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, a := range s.Attributes() {
		m[a.Key] = a.Value
	}
	return m
}

func TestRunSpanIsSentAsTraceparentOverTheJobsOwn(t *testing.T) {
	t.Parallel()
	tp, rec := tracing(t, sdktrace.AlwaysSample())
	tg := newTarget(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	r := newRunner(t, Config{TracerProvider: tp, Propagate: true})

	ctx, parent := tp.Tracer("test").Start(t.Context(), "process vecron.due.http")
	url := strings.Replace(tg.URL, "http://", "http://alice:pw-in-userinfo@", 1) + "/hooks/run?token=query-secret"
	res := r.Run(ctx, dueFor(&domain.HTTPSpec{Method: "post", URL: url, Headers: map[string]string{
		"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"TraceState":  "spoofed=1",
	}}))
	parent.End()
	require.Equal(t, http.StatusServiceUnavailable, res.HTTPStatus)

	spans := rec.Ended()
	require.Len(t, spans, 2)
	span := spans[0]
	require.Equal(t, "POST", span.Name())
	assert.Equal(t, trace.SpanKindClient, span.SpanKind())
	assert.Equal(t, parent.SpanContext().SpanID(), span.Parent().SpanID())
	assert.Equal(t, parent.SpanContext().TraceID(), span.SpanContext().TraceID())

	got := tg.only(t).header
	assert.Equal(t, fmt.Sprintf("00-%s-%s-01", span.SpanContext().TraceID(), span.SpanContext().SpanID()), got.Get("Traceparent"))
	assert.Len(t, got.Values("Traceparent"), 1)
	assert.Empty(t, got.Values("Tracestate"), "the job's tracestate does not ride with our traceparent")

	a := attrs(span)
	assert.Equal(t, "POST", a["http.request.method"].AsString())
	assert.Equal(t, "127.0.0.1", a["server.address"].AsString())
	assert.Equal(t, tg.Listener.Addr().String(), fmt.Sprintf("127.0.0.1:%d", a["server.port"].AsInt64()))
	assert.Equal(t, "http", a["url.scheme"].AsString())
	assert.Equal(t, "/hooks/run", a["url.path"].AsString())
	assert.Equal(t, int64(503), a["http.response.status_code"].AsInt64())
	assert.Equal(t, string(domain.FailHTTPStatus), a["error.type"].AsString())
	assert.Equal(t, codes.Error, span.Status().Code)
	assert.Equal(t, res.Error, span.Status().Description)
	text := spanText(span)
	for _, never := range []string{"query-secret", "token", "alice", "pw-in-userinfo"} {
		assert.NotContains(t, text, never)
	}
}

func TestRunSendsUnsampledTraceparent(t *testing.T) {
	t.Parallel()
	tp, rec := tracing(t, sdktrace.NeverSample())
	tg := newTarget(t, nil)
	res := newRunner(t, Config{TracerProvider: tp, Propagate: true}).Run(t.Context(), dueFor(&domain.HTTPSpec{URL: tg.URL}))
	require.Equal(t, domain.StatusSucceeded, res.Status)
	assert.Regexp(t, `^00-[0-9a-f]{32}-[0-9a-f]{16}-00$`, tg.only(t).header.Get("Traceparent"))
	assert.Empty(t, rec.Ended())
}

func TestRunWithoutPropagationSendsNoTraceContext(t *testing.T) {
	t.Parallel()
	tp, rec := tracing(t, sdktrace.AlwaysSample())
	for name, cfg := range map[string]Config{
		"PropagateOff": {TracerProvider: tp},
		"NoTracing":    {Propagate: true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, nil)
			res := newRunner(t, cfg).Run(t.Context(), dueFor(&domain.HTTPSpec{URL: tg.URL + "/x"}))
			require.Equal(t, domain.StatusSucceeded, res.Status)
			h := tg.only(t).header
			assert.Empty(t, h.Values("Traceparent"))
			assert.Empty(t, h.Values("Tracestate"))
		})
	}
	t.Cleanup(func() {
		// The runner with tracing but without propagation still made its span.
		require.Len(t, rec.Ended(), 1)
		assert.Equal(t, int64(200), attrs(rec.Ended()[0])["http.response.status_code"].AsInt64())
	})
}

// TestRunSpanHidesSecrets: a secret rendered into the host and the path is masked in the span as
// in the stored error, with the attempt's masker.
func TestRunSpanHidesSecrets(t *testing.T) {
	t.Parallel()
	tp, rec := tracing(t, sdktrace.AlwaysSample())
	const secretValue = "hunter2hunter2"
	ctx := secret.WithMasker(t.Context(), secret.NewMasker([]string{secretValue}))
	res := newRunner(t, Config{TracerProvider: tp, Propagate: true}).Run(ctx,
		dueFor(&domain.HTTPSpec{URL: "http://" + secretValue + ".invalid/p/" + secretValue}))
	require.Equal(t, domain.StatusFailed, res.Status)
	require.Contains(t, res.Error, secretValue, "the runner's own error is masked by the runtime")

	spans := rec.Ended()
	require.Len(t, spans, 1)
	assert.Equal(t, codes.Error, spans[0].Status().Code)
	assert.Contains(t, spans[0].Status().Description, secret.Masked)
	assert.NotContains(t, spanText(spans[0]), secretValue)
	assert.Equal(t, "/p/"+secret.Masked, attrs(spans[0])["url.path"].AsString())
}

// TestRunSpanCoversRedirects: one span for the request and the hop it follows, whose traceparent
// is the same span's, and whose status code is the last answer's.
func TestRunSpanCoversRedirects(t *testing.T) {
	t.Parallel()
	tp, rec := tracing(t, sdktrace.AlwaysSample())
	final := newTarget(t, nil)
	first := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, final.URL+"/there", http.StatusFound)
	})
	res := newRunner(t, Config{TracerProvider: tp, Propagate: true}).Run(t.Context(),
		dueFor(&domain.HTTPSpec{URL: first.URL + "/here", FollowRedirects: 1}))
	require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)

	spans := rec.Ended()
	require.Len(t, spans, 1)
	want := fmt.Sprintf("00-%s-%s-01", spans[0].SpanContext().TraceID(), spans[0].SpanContext().SpanID())
	assert.Equal(t, want, first.only(t).header.Get("Traceparent"))
	assert.Equal(t, want, final.only(t).header.Get("Traceparent"))
	a := attrs(spans[0])
	assert.Equal(t, "/here", a["url.path"].AsString())
	assert.Equal(t, int64(200), a["http.response.status_code"].AsInt64())
}

// Under a parent that was dropped the client span is not started; the target still gets the
// trace context the SDK's non-recording span would carry: the parent's trace and tracestate,
// flag 00, a span id of its own.
func TestRunUnderAnUnsampledParentSendsItsTraceWithoutASpan(t *testing.T) {
	t.Parallel()
	// The flags sent are the ones the SDK's non-recording span carries: the parent's, without
	// the sampled bit (W3C level 2's random flag kept).
	for _, tc := range []struct {
		name  string
		flags trace.TraceFlags
		sent  string
	}{{"NoFlags", 0, "00"}, {"Random", trace.FlagsRandom, "02"}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tp, rec := tracing(t, sdktrace.AlwaysSample())
			tg := newTarget(t, nil)
			ts, err := trace.ParseTraceState("vendor=v1")
			require.NoError(t, err)
			parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{0xab, 1}, SpanID: trace.SpanID{0xcd, 2},
				TraceFlags: tc.flags, TraceState: ts, Remote: true})
			ctx := trace.ContextWithSpanContext(t.Context(), parent)
			res := newRunner(t, Config{TracerProvider: tp, Propagate: true}).Run(ctx, dueFor(&domain.HTTPSpec{URL: tg.URL,
				Headers: map[string]string{"TraceState": "spoofed=1"}}))
			require.Equal(t, domain.StatusSucceeded, res.Status)
			h := tg.only(t).header
			require.Len(t, h.Values("Traceparent"), 1)
			got, err := trace.ParseTraceState(h.Get("Tracestate"))
			require.NoError(t, err)
			assert.Equal(t, ts, got)
			assert.Len(t, h.Values("Tracestate"), 1)
			sent := strings.Split(h.Get("Traceparent"), "-")
			require.Len(t, sent, 4)
			assert.Equal(t, "00", sent[0])
			assert.Equal(t, parent.TraceID().String(), sent[1])
			assert.NotEqual(t, parent.SpanID().String(), sent[2])
			assert.NotEqual(t, trace.SpanID{}.String(), sent[2])
			assert.Equal(t, tc.sent, sent[3])
			assert.Empty(t, rec.Ended())

			// What the SDK itself gives the span it does not record under that parent.
			_, span := tp.Tracer("sdk").Start(ctx, "GET", trace.WithSpanKind(trace.SpanKindClient))
			assert.Equal(t, tc.sent, span.SpanContext().TraceFlags().String())
		})
	}
}

// BenchmarkStartSpan is the client span and the trace headers of one request, under a parent
// the ratio dropped (nine requests in ten at the default) and under a sampled one.
func BenchmarkStartSpan(b *testing.B) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	r := &Runner{tracer: tp.Tracer(tracerName), cfg: Config{Propagate: true}}
	for _, tc := range []struct {
		name  string
		flags trace.TraceFlags
	}{{"Unsampled", 0}, {"Sampled", trace.FlagsSampled}} {
		b.Run(tc.name, func(b *testing.B) {
			parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: tc.flags, Remote: true})
			ctx := trace.ContextWithSpanContext(context.Background(), parent)
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:9/x", nil)
			require.NoError(b, err)
			b.ReportAllocs()
			for b.Loop() {
				endSpan(ctx, r.startSpan(ctx, req), domain.RunResult{HTTPStatus: 200})
			}
		})
	}
}

package executor

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/telemetry"
)

// TestTracingOffCostsNothing: with the no-op provider of tracing off, every span site of a fire
// is a nil check — no span, no context, no allocation — and no trace extension is written.
func TestTracingOffCostsNothing(t *testing.T) {
	require.Nil(t, tracerOf(nil))
	require.Nil(t, tracerOf(noop.NewTracerProvider()))
	var r Runtime
	ctx := context.Background()
	ev := cloudevents.NewEvent()
	ev.SetID("x")
	allocs := testing.AllocsPerRun(100, func() {
		c, span := r.startSpan(ctx, "execution.finish")
		endSpan(span, "")
		if s := r.startPublish(c, "vecron.events.x", &ev); s != nil {
			t.Fatal("a publish span with tracing off")
		}
		_ = sampledTraceID(c)
		_, _ = event.TraceParent(trace.SpanContextFromContext(c))
		_ = fireTraceFrom(c)
		var x execLog
		x.sc = trace.SpanContextFromContext(c)
	})
	require.Zero(t, allocs)
	require.Empty(t, ev.Extensions())
}

func TestAttemptSpanIDsAreDeterministicAndDistinct(t *testing.T) {
	a1, a2 := telemetry.AttemptSpanID("k", 1), telemetry.AttemptSpanID("k", 2)
	require.Equal(t, a1, telemetry.AttemptSpanID("k", 1))
	require.NotEqual(t, a1, a2)
	require.True(t, a1.IsValid())
	_, fire := telemetry.KeyIDs("k")
	require.NotEqual(t, fire, a1, "the consume span is not the fire span")
}

func TestExecLogCarriesTheAttemptsSpan(t *testing.T) {
	var buf bytes.Buffer
	tid, _ := telemetry.KeyIDs("k")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: telemetry.AttemptSpanID("k", 2)})
	x := execLog{l: slog.New(slog.NewJSONHandler(&buf, nil)), job: "j", execution: "e", key: "k", sc: sc}
	x.Info("attempt failed")
	require.Contains(t, buf.String(), `"trace_id":"`+tid.String()+`"`)
	require.Contains(t, buf.String(), `"span_id":"`+sc.SpanID().String()+`"`)
	buf.Reset()
	execLog{l: x.l}.Info("untraced")
	require.NotContains(t, buf.String(), "trace_id")
}

// An unsampled fire whose insert batch was kept (another member of it was sampled) exports no
// span: its record span links to the batch, and started, that link alone would keep it, under
// a consume span that was dropped. Its events still carry the fire's trace, unsampled.
func TestAnUnsampledFireInAKeptBatchExportsNothing(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithSampler(telemetry.LinkedOrRatio(0)),
		sdktrace.WithIDGenerator(telemetry.KeyIDGenerator()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	r := Runtime{tracer: tracerOf(tp), ratio: sdktrace.TraceIDRatioBased(0), dueSubject: "vecron.due.http", consumeName: "process vecron.due.http"}

	ev := cloudevents.NewEvent()
	ev.SetID("k")
	d := event.Due{IdempotencyKey: "k", JobID: "j"}
	ft := r.newFireTrace(context.Background(), ev, d)
	require.False(t, ft.flags.IsSampled(), "ratio 0")
	kept := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled})
	ft.recStart, ft.recEnd, ft.recBatch = time.Now(), time.Now(), kept
	ft.stageStart, ft.stageEnd = time.Now(), time.Now()

	ctx, span := r.startConsume(context.Background(), ev, d, &domain.Execution{ID: "e", Attempt: 1}, ft)
	sc := span.SpanContext()
	require.False(t, span.IsRecording())
	require.Equal(t, ft.tid, sc.TraceID(), "logs still name the fire's trace")
	require.Equal(t, telemetry.AttemptSpanID("k", 1), sc.SpanID())

	out := cloudevents.NewEvent()
	require.Nil(t, r.startPublish(ctx, "vecron.events.x", &out), "no span under a dropped parent")
	parent, _ := event.TraceFrom(out)
	require.Equal(t, "00-"+sc.TraceID().String()+"-"+sc.SpanID().String()+"-00", parent, "the decision travels on")
	span.End()
	require.Empty(t, rec.Ended())
}

// Whoever reaches the push port sends a traceparent of its choice: it is a link of a kept
// consume span, never a reason to keep one.
func TestAPushRequestsTraceCannotForceSampling(t *testing.T) {
	t.Parallel()
	const pushed = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	for _, tc := range []struct {
		name  string
		ratio float64
	}{{"Dropped", 0}, {"Kept", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithSampler(telemetry.LinkedOrRatio(tc.ratio)),
				sdktrace.WithIDGenerator(telemetry.KeyIDGenerator()))
			t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			r := Runtime{tracer: tracerOf(tp), ratio: sdktrace.TraceIDRatioBased(tc.ratio), dueSubject: "vecron.due.http", consumeName: "process vecron.due.http"}
			ev := cloudevents.NewEvent()
			ev.SetID("k")
			d := event.Due{IdempotencyKey: "k", JobID: "j"}
			ft := r.newFireTrace(withPushTrace(context.Background(), pushed, ""), ev, d)
			_, span := r.startConsume(context.Background(), ev, d, &domain.Execution{ID: "e", Attempt: 1}, ft)
			span.End()
			if tc.ratio == 0 {
				require.False(t, span.IsRecording())
				require.Empty(t, rec.Ended())
				return
			}
			require.Len(t, rec.Ended(), 1)
			links := rec.Ended()[0].Links()
			require.Len(t, links, 1)
			require.Equal(t, "0af7651916cd43dd8448eb211c80319c", links[0].SpanContext.TraceID().String())
		})
	}
}

// BenchmarkUnsampledFireSpans is the span work of a fire the ratio drops, nine in ten at the
// default: its trace bookkeeping, its consume span (in a kept insert batch), one event
// published under it.
func BenchmarkUnsampledFireSpans(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()), sdktrace.WithSampler(telemetry.LinkedOrRatio(0)),
		sdktrace.WithIDGenerator(telemetry.KeyIDGenerator()))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	r := Runtime{tracer: tracerOf(tp), ratio: sdktrace.TraceIDRatioBased(0), dueSubject: "vecron.due.http", consumeName: "process vecron.due.http"}
	ev := cloudevents.NewEvent()
	ev.SetID("k")
	d := event.Due{IdempotencyKey: "0193a4b2-7c1e-7000-8000-000000000001@2026-12-06T10:00:00Z", JobID: "0193a4b2-7c1e-7000-8000-000000000001"}
	e := &domain.Execution{ID: "0193a4b2-7c1e-7000-8000-000000000002", Attempt: 1}
	kept := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled})
	b.ReportAllocs()
	for b.Loop() {
		ft := r.newFireTrace(context.Background(), ev, d)
		ft.recStart, ft.recEnd, ft.recBatch = time.Now(), time.Now(), kept
		ctx, span := r.startConsume(context.Background(), ev, d, e, ft)
		out := cloudevents.NewEvent()
		endSpan(r.startPublish(ctx, "vecron.events.x", &out), "")
		span.End()
	}
}

// remoteContext reads what propagation.TraceContext extracts, and nothing else.
func FuzzRemoteContext(f *testing.F) {
	for _, seed := range [][2]string{
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ""},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "vendor=v1,other=x"},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03", "bad state=="},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-04", ""},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", ""},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", ""},
		{"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff-more-fields", "a=1"},
		{"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", ""},
		{"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ""},
		{"fe-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ""},
		{"00-00000000000000000000000000000000-00f067aa0ba902b7-01", "a=1"},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "a=1"},
		{"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", ""},
		{"00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01", ""},
		{"0-04bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ""},
		{"", "a=1"},
		{"garbage", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, parent, state string) {
		c := propagation.MapCarrier{}
		if parent != "" {
			c["traceparent"] = parent
		}
		if state != "" {
			c["tracestate"] = state
		}
		want := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), c))
		got := remoteContext(parent, state)
		if !want.Equal(got) || want.IsRemote() != got.IsRemote() {
			t.Fatalf("traceparent %q tracestate %q: got %v, the propagator reads %v", parent, state, got, want)
		}
	})
}

func BenchmarkRemoteContext(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if !remoteContext("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "").IsValid() {
			b.Fatal("invalid")
		}
	}
}

// A delivery under a parent the ratio dropped gets the flags the SDK's non-recording child
// would have: the parent's without the sampled bit, W3C level 2's random flag kept, in the
// consume span's context and in what is published under it.
func TestAnUnsampledParentsRandomFlagTravelsOn(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithSampler(telemetry.LinkedOrRatio(1)),
		sdktrace.WithIDGenerator(telemetry.KeyIDGenerator()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	r := Runtime{tracer: tracerOf(tp), ratio: sdktrace.TraceIDRatioBased(1), dueSubject: "vecron.due.http", consumeName: "process vecron.due.http"}
	const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-02"
	ev := cloudevents.NewEvent()
	ev.SetID("k")
	event.SetTrace(&ev, parent, "")
	d := event.Due{IdempotencyKey: "k", JobID: "j"}
	ft := r.newFireTrace(context.Background(), ev, d)
	ctx, span := r.startConsume(context.Background(), ev, d, &domain.Execution{ID: "e", Attempt: 1}, ft)
	require.False(t, span.IsRecording(), "a dropped parent")
	require.Equal(t, trace.FlagsRandom, span.SpanContext().TraceFlags())

	// What the SDK itself gives a child it does not record under that parent.
	_, sdk := tp.Tracer("sdk").Start(trace.ContextWithRemoteSpanContext(context.Background(), ft.parent), "x")
	require.Equal(t, sdk.SpanContext().TraceFlags(), span.SpanContext().TraceFlags())

	out := cloudevents.NewEvent()
	require.Nil(t, r.startPublish(ctx, "vecron.events.x", &out))
	sent, _ := event.TraceFrom(out)
	require.Equal(t, "00-0af7651916cd43dd8448eb211c80319c-"+span.SpanContext().SpanID().String()+"-02", sent)
	span.End()
	require.Empty(t, rec.Ended())
}

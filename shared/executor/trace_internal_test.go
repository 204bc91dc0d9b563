package executor

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

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
		_, _ = traceParent(trace.SpanContextFromContext(c))
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

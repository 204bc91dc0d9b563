package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"

	"github.com/vecron/vecron/shared/telemetry"
)

func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for l := range bytes.Lines(buf.Bytes()) {
		var m map[string]any
		require.NoError(t, json.Unmarshal(l, &m), string(l))
		out = append(out, m)
	}
	return out
}

func TestLogLinesCarryTheTraceAndTheContextsAttributes(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := telemetry.NewLogger(&buf, telemetry.LogConfig{})
	require.NoError(t, err)
	tid, err := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	require.NoError(t, err)
	sid, err := trace.SpanIDFromHex("00f067aa0ba902b7")
	require.NoError(t, err)
	unsampled := trace.ContextWithSpanContext(t.Context(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}))
	ctx := telemetry.WithLogAttrs(unsampled, "user", "ann")
	ctx = telemetry.WithLogAttrs(ctx, "request_id", "r1")

	log.InfoContext(ctx, "job created", "job_id", "j1")
	log.With("component", "api").WarnContext(ctx, "with attrs")
	log.Info("no context")
	log.InfoContext(context.Background(), "empty context")
	log.InfoContext(telemetry.WithLogAttrs(t.Context(), "user", "bob"), "no span")

	got := lines(t, &buf)
	require.Len(t, got, 5)
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", got[0]["trace_id"], "unsampled spans are joined too")
	require.Equal(t, "00f067aa0ba902b7", got[0]["span_id"])
	require.Equal(t, "ann", got[0]["user"])
	require.Equal(t, "r1", got[0]["request_id"])
	require.Equal(t, "j1", got[0]["job_id"])
	require.Equal(t, "api", got[1]["component"])
	require.Equal(t, "ann", got[1]["user"])
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", got[1]["trace_id"])
	for _, l := range got[2:4] {
		require.NotContains(t, l, "trace_id")
		require.NotContains(t, l, "user")
	}
	require.Equal(t, "bob", got[4]["user"])
	require.NotContains(t, got[4], "trace_id", "no valid span context, no ids")
}

// A context's attributes are its own: adding to a derived context leaves its parent's alone.
func TestWithLogAttrsDoesNotShareItsSlice(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := telemetry.NewLogger(&buf, telemetry.LogConfig{Format: "json"})
	require.NoError(t, err)
	base := telemetry.WithLogAttrs(t.Context(), "a", 1)
	left := telemetry.WithLogAttrs(base, "left", true)
	right := telemetry.WithLogAttrs(base, "right", true)
	log.InfoContext(left, "l")
	log.InfoContext(right, "r")
	log.InfoContext(base, "b")
	got := lines(t, &buf)
	require.Contains(t, got[0], "left")
	require.NotContains(t, got[0], "right")
	require.Contains(t, got[1], "right")
	require.NotContains(t, got[1], "left")
	require.NotContains(t, got[2], "left")
	require.NotContains(t, got[2], "right")
}

func TestTextFormatToo(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := telemetry.NewLogger(&buf, telemetry.LogConfig{Format: "text", Level: "debug"})
	require.NoError(t, err)
	log.DebugContext(telemetry.WithLogAttrs(t.Context(), "user", "ann"), "hello")
	require.Contains(t, buf.String(), "user=ann")
}

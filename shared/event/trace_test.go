package event_test

import (
	"context"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/extensions"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/vecron/vecron/shared/event"
)

func TestTraceRidesTheNATSHeaders(t *testing.T) {
	t.Parallel()
	const (
		traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		tracestate  = "vendor=abc,other=1"
	)
	for _, tc := range []struct {
		name, parent, state string
	}{
		{"ParentAndState", traceparent, tracestate},
		{"ParentOnly", traceparent, ""},
		{"None", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev := cloudevents.NewEvent()
			ev.SetID("job-1:1767225600000")
			ev.SetSource("/vecron/tick/t0")
			ev.SetType(event.TypeJobDue)
			ev.SetTime(time.UnixMilli(1767225600000).UTC())
			require.NoError(t, ev.SetData(cloudevents.ApplicationJSON, map[string]string{"job_id": "job-1"}))
			event.SetTrace(&ev, tc.parent, tc.state)

			msg, err := event.ToNATS(t.Context(), ev)
			require.NoError(t, err)
			require.Equal(t, tc.parent, msg.Header.Get("ce-traceparent"))
			require.Equal(t, tc.state, msg.Header.Get("ce-tracestate"))
			if tc.state == "" {
				require.NotContains(t, msg.Header, "ce-tracestate")
			}

			back, err := event.FromNATS(t.Context(), msg)
			require.NoError(t, err)
			parent, state := event.TraceFrom(back)
			require.Equal(t, tc.parent, parent)
			require.Equal(t, tc.state, state)
		})
	}
}

// TraceFrom reads the extension in place; what it returns must be what the SDK's reader does.
func TestTraceFromReadsAsTheSDK(t *testing.T) {
	t.Parallel()
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, tc := range []struct {
		name string
		exts map[string]any
	}{
		{"None", nil},
		{"ParentOnly", map[string]any{"traceparent": tp}},
		{"ParentAndState", map[string]any{"traceparent": tp, "tracestate": "a=1"}},
		{"StateOnly", map[string]any{"tracestate": "a=1"}},
		{"ParentNotAString", map[string]any{"traceparent": 7}},
		{"StateNotAString", map[string]any{"traceparent": tp, "tracestate": 7}},
		{"OtherExtensions", map[string]any{"jobkind": "http", "attempt": 2, "traceparent": tp}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev := cloudevents.NewEvent()
			for k, v := range tc.exts {
				ev.SetExtension(k, v)
			}
			var want [2]string
			if d, ok := extensions.GetDistributedTracingExtension(ev); ok {
				want = [2]string{d.TraceParent, d.TraceState}
			}
			parent, state := event.TraceFrom(ev)
			require.Equal(t, want, [2]string{parent, state})
		})
	}
}

// TraceParent writes what propagation.TraceContext injects.
func TestTraceParentIsWhatTheW3CPropagatorWrites(t *testing.T) {
	t.Parallel()
	ts, err := trace.ParseTraceState("vendor=v1,other=x")
	require.NoError(t, err)
	tid := trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	sid := trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
	for _, tc := range []struct {
		name string
		sc   trace.SpanContext
	}{
		{"Sampled", trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})},
		{"NotSampled", trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid})},
		{"OtherFlagsAndState", trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: 0xff, TraceState: ts})},
		{"Remote", trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, Remote: true})},
		{"Invalid", trace.SpanContext{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := propagation.MapCarrier{}
			propagation.TraceContext{}.Inject(trace.ContextWithSpanContext(context.Background(), tc.sc), c)
			parent, state := event.TraceParent(tc.sc)
			require.Equal(t, c["traceparent"], parent)
			require.Equal(t, c["tracestate"], state)
		})
	}
}

func BenchmarkTraceParent(b *testing.B) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}})
	b.ReportAllocs()
	for b.Loop() {
		_, _ = event.TraceParent(sc)
	}
}

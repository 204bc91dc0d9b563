package otlp_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/telemetry/otlp"
)

// tb is what testing.T and rapid.T both are.
type tb interface {
	Helper()
	require.TestingT
}

// record runs fn with a tracer provider of the real SDK and returns the spans it ended.
func record(t tb, res *resource.Resource, fn func(tp trace.TracerProvider)) []sdktrace.ReadOnlySpan {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(rec),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithSpanLimits(sdktrace.SpanLimits{
			AttributeValueLengthLimit: -1, AttributeCountLimit: 40,
			EventCountLimit: 3, LinkCountLimit: 3,
			AttributePerEventCountLimit: 40, AttributePerLinkCountLimit: 40,
		}),
	)
	fn(tp)
	require.NoError(t, tp.Shutdown(context.Background()))
	return rec.Ended()
}

// everyType has an attribute of every type the attribute package has.
func everyType() []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.Bool("b", true),
		attribute.Bool("b_false", false),
		attribute.Int64("i", -42),
		attribute.Int64("i_max", math.MaxInt64),
		attribute.Float64("f", 1.5),
		attribute.Float64("f_inf", math.Inf(-1)),
		attribute.String("s", "héllo"),
		attribute.String("s_empty", ""),
		attribute.BoolSlice("bs", []bool{true, false}),
		attribute.Int64Slice("is", []int64{1, -2, 3}),
		attribute.Float64Slice("fs", []float64{0.25, -8}),
		attribute.StringSlice("ss", []string{"a", "", "c"}),
		attribute.ByteSlice("bytes", []byte{0, 1, 0xff}),
		attribute.Slice("mixed", attribute.StringValue("x"), attribute.Int64Value(7), attribute.Int64SliceValue([]int64{9})),
		attribute.Map("map", attribute.String("k", "v"), attribute.Bool("ok", true),
			attribute.Map("inner", attribute.Float64("z", 2))),
		{Key: "empty", Value: attribute.Value{}},
	}
}

func TestEncodeMatchesTheGeneratedTypes(t *testing.T) {
	t.Parallel()
	res := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0",
		attribute.String("service.name", "tick"), attribute.String("service.version", "v1.2.3"),
		attribute.String("service.instance.id", "tick-0"))
	ts, err := trace.ParseTraceState("vendor=abc,other=1")
	require.NoError(t, err)
	remote := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0xa, 1}, SpanID: trace.SpanID{0xb, 2},
		TraceFlags: trace.FlagsSampled, TraceState: ts, Remote: true,
	})
	linked := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0xc, 3}, SpanID: trace.SpanID{0xd, 4}, TraceState: ts,
	})
	spans := record(t, res, func(tp trace.TracerProvider) {
		tick := tp.Tracer("github.com/vecron/vecron/shared/tick", trace.WithInstrumentationVersion("v9"),
			trace.WithSchemaURL("https://opentelemetry.io/schemas/1.26.0"),
			trace.WithInstrumentationAttributes(attribute.String("scope.attr", "x")))
		exec := tp.Tracer("github.com/vecron/vecron/shared/executor")

		ctx, root := tick.Start(context.Background(), "tick.claim", trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(everyType()...),
			trace.WithLinks(trace.Link{SpanContext: linked, Attributes: []attribute.KeyValue{attribute.String("link.kind", "batch")}},
				trace.Link{SpanContext: remote}))
		root.AddEvent("claimed", trace.WithAttributes(attribute.Int("fires", 3), attribute.StringSlice("kinds", []string{"http"})))
		for i := range 5 { // past the event limit: the SDK counts the dropped ones
			root.AddEvent(fmt.Sprintf("e%d", i))
		}
		_, child := exec.Start(ctx, "publish vecron.due.http", trace.WithSpanKind(trace.SpanKindProducer))
		child.SetStatus(codes.Error, "nats: timeout")
		child.End()
		_, ok := exec.Start(ctx, "execution.finish", trace.WithSpanKind(trace.SpanKindClient))
		ok.SetStatus(codes.Ok, "")
		ok.End()
		root.End()

		_, consumer := exec.Start(trace.ContextWithRemoteSpanContext(context.Background(), remote), "process vecron.due.http",
			trace.WithSpanKind(trace.SpanKindConsumer))
		consumer.End()
		_, internal := exec.Start(context.Background(), "internal")
		internal.End()
	})
	require.Len(t, spans, 5)

	var req coltracepb.ExportTraceServiceRequest
	require.NoError(t, proto.Unmarshal(otlp.Encode(spans), &req))
	requireSameSpans(t, spans, &req)

	// One resource, two scopes, as the protocol nests them.
	require.Len(t, req.ResourceSpans, 1)
	require.Len(t, req.ResourceSpans[0].ScopeSpans, 2)
	root := findSpan(t, &req, spans[2].SpanContext().SpanID())
	require.EqualValues(t, 3, root.DroppedEventsCount)
	require.Equal(t, tracepb.Span_SPAN_KIND_SERVER, root.Kind)
}

func TestEncodeEmptyIsAnEmptyRequest(t *testing.T) {
	t.Parallel()
	var req coltracepb.ExportTraceServiceRequest
	require.NoError(t, proto.Unmarshal(otlp.Encode(nil), &req))
	require.Empty(t, req.ResourceSpans)
}

// Any attribute value the SDK keeps is decoded by the official types as the same value.
func TestEncodeAnyAttributeValue(t *testing.T) {
	t.Parallel()
	res := resource.NewSchemaless(attribute.String("service.name", "api"))
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 8).Draw(t, "n")
		var attrs []attribute.KeyValue
		for i := range n {
			attrs = append(attrs, attribute.KeyValue{
				Key:   attribute.Key(fmt.Sprintf("%s.%d", rapid.StringN(0, 12, -1).Draw(t, "key"), i)),
				Value: valueGen(2).Draw(t, "value"),
			})
		}
		name := rapid.String().Draw(t, "name")
		spans := record(t, res, func(tp trace.TracerProvider) {
			_, s := tp.Tracer("prop").Start(context.Background(), name, trace.WithAttributes(attrs...))
			s.AddEvent(name, trace.WithAttributes(attrs...))
			s.End()
		})
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(otlp.Encode(spans), &req); err != nil {
			t.Fatalf("decode: %v", err)
		}
		requireSameSpans(t, spans, &req)
	})
}

func valueGen(depth int) *rapid.Generator[attribute.Value] {
	notNaN := rapid.Float64().Filter(func(f float64) bool { return !math.IsNaN(f) })
	gens := []*rapid.Generator[attribute.Value]{
		rapid.Map(rapid.Bool(), attribute.BoolValue),
		rapid.Map(rapid.Int64(), attribute.Int64Value),
		rapid.Map(notNaN, attribute.Float64Value),
		rapid.Map(rapid.String(), attribute.StringValue),
		rapid.Map(rapid.SliceOfN(rapid.Bool(), 0, 5), attribute.BoolSliceValue),
		rapid.Map(rapid.SliceOfN(rapid.Int64(), 0, 5), attribute.Int64SliceValue),
		rapid.Map(rapid.SliceOfN(notNaN, 0, 5), attribute.Float64SliceValue),
		rapid.Map(rapid.SliceOfN(rapid.String(), 0, 5), attribute.StringSliceValue),
		rapid.Map(rapid.SliceOfN(rapid.Byte(), 0, 16), attribute.ByteSliceValue),
		rapid.Just(attribute.Value{}),
	}
	if depth > 0 {
		inner := valueGen(depth - 1)
		gens = append(gens,
			rapid.Map(rapid.SliceOfN(inner, 0, 3), func(vs []attribute.Value) attribute.Value { return attribute.SliceValue(vs...) }),
			rapid.Map(rapid.SliceOfN(inner, 0, 3), func(vs []attribute.Value) attribute.Value {
				kvs := make([]attribute.KeyValue, len(vs))
				for i, v := range vs {
					kvs[i] = attribute.KeyValue{Key: attribute.Key(fmt.Sprintf("k%d", i)), Value: v}
				}
				return attribute.MapValue(kvs...)
			}))
	}
	return rapid.OneOf(gens...)
}

func findSpan(t testing.TB, req *coltracepb.ExportTraceServiceRequest, id trace.SpanID) *tracepb.Span {
	t.Helper()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				if string(s.SpanId) == string(id[:]) {
					return s
				}
			}
		}
	}
	require.FailNow(t, "span not sent", hex.EncodeToString(id[:]))
	return nil
}

// requireSameSpans compares what req holds with what the SDK recorded, field by field.
func requireSameSpans(t tb, want []sdktrace.ReadOnlySpan, req *coltracepb.ExportTraceServiceRequest) {
	t.Helper()
	got := 0
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			got += len(ss.Spans)
		}
	}
	require.Equal(t, len(want), got, "spans sent")
	for _, w := range want {
		rs, ss, g := locate(t, req, w.SpanContext().SpanID())
		// Resource and scope.
		require.Equal(t, anyKVs(w.Resource().Attributes()), rs.Resource.Attributes, "resource")
		require.Equal(t, w.Resource().SchemaURL(), rs.SchemaUrl)
		is := w.InstrumentationScope()
		require.Equal(t, is.Name, ss.Scope.Name)
		require.Equal(t, is.Version, ss.Scope.Version)
		require.Equal(t, is.SchemaURL, ss.SchemaUrl)
		requireKVs(t, is.Attributes.ToSlice(), ss.Scope.Attributes)
		// The span.
		sc := w.SpanContext()
		tid, sid := sc.TraceID(), sc.SpanID()
		require.Equal(t, tid[:], g.TraceId)
		require.Equal(t, sid[:], g.SpanId)
		require.Equal(t, sc.TraceState().String(), g.TraceState)
		if w.Parent().HasSpanID() {
			pid := w.Parent().SpanID()
			require.Equal(t, pid[:], g.ParentSpanId)
		} else {
			require.Empty(t, g.ParentSpanId)
		}
		flags := uint32(sc.TraceFlags()) | uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK)
		if w.Parent().IsRemote() {
			flags |= uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK)
		}
		require.Equal(t, flags, g.Flags)
		require.Equal(t, w.Name(), g.Name)
		require.EqualValues(t, w.SpanKind(), g.Kind)
		require.EqualValues(t, w.StartTime().UnixNano(), g.StartTimeUnixNano)
		require.EqualValues(t, w.EndTime().UnixNano(), g.EndTimeUnixNano)
		requireKVs(t, w.Attributes(), g.Attributes)
		require.EqualValues(t, w.DroppedAttributes(), g.DroppedAttributesCount)
		require.Len(t, g.Events, len(w.Events()))
		for i, e := range w.Events() {
			require.Equal(t, e.Name, g.Events[i].Name)
			require.EqualValues(t, e.Time.UnixNano(), g.Events[i].TimeUnixNano)
			requireKVs(t, e.Attributes, g.Events[i].Attributes)
			require.EqualValues(t, e.DroppedAttributeCount, g.Events[i].DroppedAttributesCount)
		}
		require.EqualValues(t, w.DroppedEvents(), g.DroppedEventsCount)
		require.Len(t, g.Links, len(w.Links()))
		for i, l := range w.Links() {
			ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
			require.Equal(t, ltid[:], g.Links[i].TraceId)
			require.Equal(t, lsid[:], g.Links[i].SpanId)
			require.Equal(t, l.SpanContext.TraceState().String(), g.Links[i].TraceState)
			requireKVs(t, l.Attributes, g.Links[i].Attributes)
			require.EqualValues(t, l.DroppedAttributeCount, g.Links[i].DroppedAttributesCount)
			lflags := uint32(l.SpanContext.TraceFlags()) | uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK)
			if l.SpanContext.IsRemote() {
				lflags |= uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK)
			}
			require.Equal(t, lflags, g.Links[i].Flags)
		}
		require.EqualValues(t, w.DroppedLinks(), g.DroppedLinksCount)
		wantCode := map[codes.Code]tracepb.Status_StatusCode{
			codes.Unset: tracepb.Status_STATUS_CODE_UNSET, codes.Ok: tracepb.Status_STATUS_CODE_OK, codes.Error: tracepb.Status_STATUS_CODE_ERROR,
		}[w.Status().Code]
		require.Equal(t, wantCode, g.GetStatus().GetCode())
		require.Equal(t, w.Status().Description, g.GetStatus().GetMessage())
	}
}

func locate(t require.TestingT, req *coltracepb.ExportTraceServiceRequest, id trace.SpanID) (*tracepb.ResourceSpans, *tracepb.ScopeSpans, *tracepb.Span) {
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				if string(s.SpanId) == string(id[:]) {
					return rs, ss, s
				}
			}
		}
	}
	require.FailNow(t, "span not sent", hex.EncodeToString(id[:]))
	return nil, nil, nil
}

func requireKVs(t require.TestingT, want []attribute.KeyValue, got []*commonpb.KeyValue) {
	w := anyKVs(want)
	require.Len(t, got, len(w))
	for i := range w {
		require.True(t, proto.Equal(w[i], got[i]), "attribute %s: want %v, got %v", w[i].Key, w[i].Value, got[i].Value)
	}
}

// anyKVs converts attributes to the generated types the way the protocol defines them,
// independently of the encoder under test.
func anyKVs(kvs []attribute.KeyValue) []*commonpb.KeyValue {
	out := make([]*commonpb.KeyValue, 0, len(kvs))
	for _, kv := range kvs {
		out = append(out, &commonpb.KeyValue{Key: string(kv.Key), Value: anyValue(kv.Value)})
	}
	return out
}

func anyValue(v attribute.Value) *commonpb.AnyValue {
	arr := func(n int, item func(i int) *commonpb.AnyValue) *commonpb.AnyValue {
		vals := make([]*commonpb.AnyValue, n)
		for i := range n {
			vals[i] = item(i)
		}
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vals}}}
	}
	switch v.Type() {
	case attribute.BOOL:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: v.AsBool()}}
	case attribute.INT64:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v.AsInt64()}}
	case attribute.FLOAT64:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: v.AsFloat64()}}
	case attribute.STRING:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v.AsString()}}
	case attribute.BYTESLICE:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: v.AsByteSlice()}}
	case attribute.BOOLSLICE:
		s := v.AsBoolSlice()
		return arr(len(s), func(i int) *commonpb.AnyValue { return anyValue(attribute.BoolValue(s[i])) })
	case attribute.INT64SLICE:
		s := v.AsInt64Slice()
		return arr(len(s), func(i int) *commonpb.AnyValue { return anyValue(attribute.Int64Value(s[i])) })
	case attribute.FLOAT64SLICE:
		s := v.AsFloat64Slice()
		return arr(len(s), func(i int) *commonpb.AnyValue { return anyValue(attribute.Float64Value(s[i])) })
	case attribute.STRINGSLICE:
		s := v.AsStringSlice()
		return arr(len(s), func(i int) *commonpb.AnyValue { return anyValue(attribute.StringValue(s[i])) })
	case attribute.SLICE:
		s := v.AsSlice()
		return arr(len(s), func(i int) *commonpb.AnyValue { return anyValue(s[i]) })
	case attribute.MAP:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: anyKVs(v.AsMap())}}}
	}
	return &commonpb.AnyValue{}
}

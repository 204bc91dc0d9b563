package executor

import (
	"context"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/vecron/vecron/shared/delivery"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/telemetry"
)

// tracerName is the instrumentation scope of the executor's spans.
const tracerName = "github.com/vecron/vecron/shared/executor"

// tracerOf returns the executor's tracer of tp, or nil when tp traces nothing (nil, or the
// no-op provider of tracing off): every span site then costs one nil check and no allocation.
func tracerOf(tp trace.TracerProvider) trace.Tracer {
	switch tp.(type) {
	case nil, noop.TracerProvider, *noop.TracerProvider:
		return nil
	}
	return tp.Tracer(tracerName)
}

// fireTrace is what a delivery's spans need before its consume span can start. The consume
// span's id derives from the attempt number (docs/observability.md §3), which only the record
// of the execution tells, so the record and the staged wait are timed as they happen and become
// the consume span's children once it starts, with their original timestamps. The record span's
// id is chosen up front, so that the insert batch can link to it before it exists.
type fireTrace struct {
	received time.Time
	// parent is the fire span the due event's trace extension names; invalid when it has none,
	// and the consume span is then a root in the trace of the fire's key.
	parent   trace.SpanContext
	tid      trace.TraceID
	flags    trace.TraceFlags
	recSID   trace.SpanID
	recStart time.Time
	recEnd   time.Time
	recBatch trace.SpanContext
	// stageStart and stageEnd bound a staged fire's wait for its instant.
	stageStart, stageEnd time.Time
	// pushed is the HTTP trace context of a push delivery: the broker's, a link at most.
	pushed trace.SpanContext
}

type fireTraceKey struct{}

func fireTraceFrom(ctx context.Context) *fireTrace {
	ft, _ := ctx.Value(fireTraceKey{}).(*fireTrace)
	return ft
}

// pushTraceKey holds the traceparent and tracestate headers of a pushed request.
type pushTraceKey struct{}

type pushTrace struct{ parent, state string }

// withPushTrace keeps a push request's own trace headers for the consume span's link.
func withPushTrace(ctx context.Context, parent, state string) context.Context {
	if parent == "" {
		return ctx
	}
	return context.WithValue(ctx, pushTraceKey{}, pushTrace{parent, state})
}

// remoteContext parses a W3C trace context as propagation.TraceContext's Extract does
// (FuzzRemoteContext holds the two to each other); invalid when it does not parse. Parsed here
// rather than through Extract, whose carrier map and context cost every delivery four
// allocations for a span context the executor keeps by value.
func remoteContext(parent, state string) trace.SpanContext {
	// version "-" trace id "-" span id "-" flags, and for a version above 00 more fields after.
	if len(parent) < 55 || parent[2] != '-' || parent[35] != '-' || parent[52] != '-' {
		return trace.SpanContext{}
	}
	var ver, flags [1]byte
	var scc trace.SpanContextConfig
	if !lowerHex(ver[:], parent[:2]) || ver[0] == 0xff || !lowerHex(scc.TraceID[:], parent[3:35]) ||
		!lowerHex(scc.SpanID[:], parent[36:52]) || !lowerHex(flags[:], parent[53:55]) {
		return trace.SpanContext{}
	}
	var rest string
	if len(parent) > 55 {
		if parent[55] != '-' {
			return trace.SpanContext{}
		}
		rest = parent[56:]
	}
	if ver[0] == 0 && (rest != "" || flags[0] > 3) {
		// Version 00 has no further fields and no reserved flag bits.
		return trace.SpanContext{}
	}
	scc.TraceFlags = trace.TraceFlags(flags[0]) & (trace.FlagsSampled | trace.FlagsRandom)
	// A tracestate that does not parse leaves the traceparent as it is (W3C).
	scc.TraceState, _ = trace.ParseTraceState(state)
	scc.Remote = true
	if sc := trace.NewSpanContext(scc); sc.IsValid() {
		return sc
	}
	return trace.SpanContext{}
}

// lowerHex decodes src, lower-case hexadecimal digits only as W3C trace context allows, into dst.
func lowerHex(dst []byte, src string) bool {
	for i := range dst {
		hi, ok1 := hexDigit(src[2*i])
		lo, ok2 := hexDigit(src[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// newFireTrace starts the trace bookkeeping of delivery ev of d.
func (r *Runtime) newFireTrace(ctx context.Context, ev cloudevents.Event, d event.Due) *fireTrace {
	ft := &fireTrace{received: time.Now(), recSID: telemetry.RandomSpanID()}
	ft.parent = remoteContext(event.TraceFrom(ev))
	if ft.parent.IsValid() {
		// The parent's flags, as the SDK gives its child span (the sampled bit is the
		// parent's, since the sampler follows it; W3C level 2's random flag is kept).
		ft.tid, ft.flags = ft.parent.TraceID(), ft.parent.TraceFlags()
	} else {
		// A root in the trace of the key: the ratio decides on that trace id, as it did for the
		// tick's fire span, so the decision is known before the span starts.
		ft.tid, _ = telemetry.KeyIDs(d.IdempotencyKey)
		if r.ratio.ShouldSample(sdktrace.SamplingParameters{TraceID: ft.tid}).Decision == sdktrace.RecordAndSample {
			ft.flags = trace.FlagsSampled
		}
	}
	if p, ok := ctx.Value(pushTraceKey{}).(pushTrace); ok {
		ft.pushed = remoteContext(p.parent, p.state)
	}
	return ft
}

// recordLink is the span context the insert batch links to: the execution.record span to be.
func (ft *fireTrace) recordLink() trace.SpanContext {
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: ft.tid, SpanID: ft.recSID, TraceFlags: ft.flags})
}

// startConsume starts the consume span of attempt e.Attempt of d's fire, at the delivery's
// receipt, and the children that happened before it could (the record, the staged wait).
func (r *Runtime) startConsume(ctx context.Context, ev cloudevents.Event, d event.Due, e *domain.Execution, ft *fireTrace) (context.Context, trace.Span) {
	sid := telemetry.AttemptSpanID(d.IdempotencyKey, e.Attempt)
	if !ft.flags.IsSampled() {
		// The sampler's answer is already known: an unsampled parent is dropped by ParentBased,
		// a root is dropped on the same trace id by the same ratio (newFireTrace), and the only
		// link it could see, the previous attempt's, carries the same flags. So the span the
		// SDK would start, with its options, id hint and sampler call, is the non-recording one
		// made here, nine fires in ten at the default ratio; logs and the events published
		// under it still name the fire's trace and this attempt's span.
		sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: ft.tid, SpanID: sid, TraceFlags: ft.flags, TraceState: ft.parent.TraceState()})
		ctx = trace.ContextWithSpanContext(ctx, sc)
		return ctx, trace.SpanFromContext(ctx)
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithTimestamp(ft.received)}
	var links []trace.Link
	if e.Attempt > 1 {
		prev := trace.NewSpanContext(trace.SpanContextConfig{TraceID: ft.tid, SpanID: telemetry.AttemptSpanID(d.IdempotencyKey, e.Attempt-1), TraceFlags: ft.flags})
		links = append(links, trace.Link{SpanContext: prev, Attributes: []attribute.KeyValue{attribute.String("vecron.link", "previous_attempt")}})
	}
	if len(links) > 0 {
		opts = append(opts, trace.WithLinks(links...))
	}
	pctx := ctx
	if ft.parent.IsValid() {
		pctx = trace.ContextWithRemoteSpanContext(ctx, ft.parent)
	} else {
		opts = append(opts, trace.WithNewRoot())
	}
	ctx, span := r.tracer.Start(telemetry.WithIDs(pctx, ft.tid, sid), r.consumeName, opts...)
	if !span.IsRecording() {
		// Dropped, and its children with it: they would only be started to be dropped. The
		// record span in particular must not start, since its link to a kept insert batch would
		// keep it, under a parent that is not (nine fires in ten, at the default ratio).
		return ctx, span
	}
	// The push request's trace is a link added after the sampler decided, never one it sees:
	// whoever can reach the push port (or a broker that samples its own spans) must not be able
	// to make a fire's consume span recorded.
	if ft.pushed.IsValid() && !ft.pushed.Equal(ft.parent) {
		span.AddLink(trace.Link{SpanContext: ft.pushed, Attributes: []attribute.KeyValue{attribute.String("vecron.link", "push_request")}})
	}
	// Set once the sampler kept the span, for the same reason.
	span.SetAttributes(
		attribute.String("messaging.destination.name", r.dueSubject),
		attribute.String("messaging.message.id", ev.ID()),
		attribute.String("vecron.job.id", d.JobID),
		attribute.String("vecron.execution.id", e.ID),
		attribute.Int("vecron.attempt", e.Attempt),
	)
	if f, ok := delivery.FactsFrom(ctx); ok {
		span.SetAttributes(attribute.String("messaging.system", "nats"), attribute.Int("vecron.delivery.count", f.Count))
	}
	if !ft.recStart.IsZero() {
		o := []trace.SpanStartOption{trace.WithTimestamp(ft.recStart)}
		if ft.recBatch.IsValid() {
			o = append(o, trace.WithLinks(trace.Link{SpanContext: ft.recBatch}))
		}
		_, rec := r.tracer.Start(telemetry.WithIDs(ctx, ft.tid, ft.recSID), "execution.record", o...)
		rec.End(trace.WithTimestamp(ft.recEnd))
	}
	if !ft.stageStart.IsZero() && !ft.stageEnd.IsZero() {
		_, st := r.tracer.Start(ctx, "stage.wait", trace.WithTimestamp(ft.stageStart))
		st.End(trace.WithTimestamp(ft.stageEnd))
	}
	return ctx, span
}

// startSpan starts an internal child span of ctx's; nil when tracing is off or ctx's span
// is not recorded.
func (r *Runtime) startSpan(ctx context.Context, name string) (context.Context, trace.Span) {
	if r.tracer == nil || !trace.SpanFromContext(ctx).IsRecording() {
		// Under a dropped parent the child would be dropped too; nil ends as a no-op.
		return ctx, nil
	}
	return r.tracer.Start(ctx, name)
}

// startPublish starts the producer span of publishing ev to subject and puts it on ev as its
// trace extension, so the event's consumers continue the trace. Nil when tracing is off.
func (r *Runtime) startPublish(ctx context.Context, subject string, ev *cloudevents.Event) trace.Span {
	if r.tracer == nil {
		return nil
	}
	parent := trace.SpanContextFromContext(ctx)
	if !parent.IsValid() {
		return nil
	}
	if !parent.IsSampled() {
		// A producer span under a dropped parent is dropped too: the event carries the parent,
		// which tells its consumers the decision all the same, without a span started for it.
		tp, ts := event.TraceParent(parent)
		event.SetTrace(ev, tp, ts)
		return nil
	}
	_, span := r.tracer.Start(ctx, "publish "+subject, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("messaging.system", "nats"), attribute.String("messaging.destination.name", subject),
			attribute.String("messaging.message.id", ev.ID())))
	tp, ts := event.TraceParent(span.SpanContext())
	event.SetTrace(ev, tp, ts)
	return span
}

// endSpan ends span (nil when tracing is off) with an error status of msg, when not empty.
// msg is what is stored for the execution: masked, never a secret.
func endSpan(span trace.Span, msg string) {
	if span == nil {
		return
	}
	if msg != "" {
		span.SetStatus(codes.Error, msg)
	}
	span.End()
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// sampledTraceID is the trace id of ctx's span for an exemplar: empty unless sampled, since an
// exemplar pointing at a trace that was dropped leads nowhere.
func sampledTraceID(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.IsSampled() {
		return sc.TraceID().String()
	}
	return ""
}

// batchSpan is the span of one batched statement, linked to its sampled members' spans.
func batchSpan(ctx context.Context, t trace.Tracer, name string, began time.Time, size int, links []trace.Link) trace.Span {
	_, span := t.Start(ctx, name, trace.WithNewRoot(), trace.WithTimestamp(began), trace.WithLinks(links...),
		trace.WithAttributes(attribute.Int("db.operation.batch.size", size)))
	return span
}

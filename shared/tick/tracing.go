package tick

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/telemetry"
	"github.com/vecron/vecron/shared/timeline"
)

// tracerName is the instrumentation scope of the engine's spans.
const tracerName = "github.com/vecron/vecron/shared/tick"

// SetTracer makes the engine trace its claims and fires with tp (docs/observability.md §3),
// whose sampler is telemetry.LinkedOrRatio(ratio), as telemetry.NewTracing builds it; nil or a
// no-op provider traces nothing and costs nothing per fire. Call it before Run.
func (e *Engine) SetTracer(tp trace.TracerProvider, ratio float64) {
	e.tracer, e.ratio = nil, nil
	if tp == nil {
		return
	}
	if _, off := tp.(noop.TracerProvider); off {
		return
	}
	e.tracer = tp.Tracer(tracerName)
	e.ratio = sdktrace.TraceIDRatioBased(ratio)
}

// claimSpan is what the fires of one claim need of it: the span they link to and when the claim
// began, which is when their own spans begin.
type claimSpan struct {
	sc    trace.SpanContext
	began time.Time
}

// traceClaim records one claim as a root span of its own trace, started once its fires are
// known; nil when the engine does not trace.
func (e *Engine) traceClaim(began time.Time, shards []int32, claimed, fires int, err error) *claimSpan {
	if e.tracer == nil {
		return nil
	}
	_, span := e.tracer.Start(context.Background(), "tick.claim",
		trace.WithNewRoot(), trace.WithTimestamp(began),
		trace.WithAttributes(
			// 0: every shard (no lease filter).
			attribute.Int("vecron.tick.shards", len(shards)),
			attribute.Int("vecron.tick.jobs_claimed", claimed),
			attribute.Int("vecron.tick.fires_claimed", fires),
		))
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
	return &claimSpan{sc: span.SpanContext(), began: began}
}

// fireSpans are the spans of one fire being published: nil, both, for a fire that is not
// sampled, whose span context sc still is what the event carries.
type fireSpans struct {
	fire, publish trace.Span
	sc            trace.SpanContext
}

// startFire starts f's vecron.fire span and its producer span. The fire span's ids come from
// the fire's key, so a claim redone after a rollback, a relay republish and a takeover land on
// the same span; its parent is the request that started the fire when the payload names one.
// The link to the claim is added after the start: the sampler must not sample every fire of
// a sampled claim, or the ratio would be decided per claim instead of per fire.
func (e *Engine) startFire(f *pendingFire, batchBegan time.Time) (fireSpans, string, string) {
	ctx := context.Background()
	if f.Trigger != domain.TriggerSchedule {
		ctx = requestContext(ctx, f.Payload)
	}
	if !trace.SpanContextFromContext(ctx).IsValid() {
		// A root, with its ids from the key: the sampler (LinkedOrRatio: no link yet, no
		// parent) decides on the ratio and that trace id alone, so its answer is known here.
		// A fire it drops, nine in ten at the default ratio, gets no span: the SDK would make
		// a non-recording one with these ids and no tracestate, and the event carries them
		// all the same, so the executor and the target continue the same (unsampled) trace.
		tid, sid := telemetry.KeyIDs(f.Key)
		if e.ratio != nil && e.ratio.ShouldSample(sdktrace.SamplingParameters{TraceID: tid}).Decision != sdktrace.RecordAndSample {
			sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid})
			parent, state := event.TraceParent(sc)
			return fireSpans{sc: sc}, parent, state
		}
	}
	began := batchBegan
	if f.claim != nil {
		began = f.claim.began
	}
	// The attributes are set once the sampler kept the span: nine fires in ten at the default
	// ratio are not recorded, and building them cost more than the rest of their span.
	ctx, fire := e.tracer.Start(telemetry.WithIDKey(ctx, f.Key), "vecron.fire", trace.WithTimestamp(began))
	if !fire.IsRecording() {
		// The producer span would be dropped with its parent: the fire's own (non-recording)
		// span stands in for it, so that ending both is harmless.
		sc := fire.SpanContext()
		parent, state := event.TraceParent(sc)
		return fireSpans{fire: fire, publish: fire, sc: sc}, parent, state
	}
	fire.SetAttributes(
		attribute.String("vecron.idempotency_key", f.Key),
		attribute.String("vecron.job.id", f.JobID),
		attribute.String("vecron.job.kind", string(f.Kind)),
		attribute.String("vecron.trigger", string(f.Trigger)),
	)
	if f.claim != nil && f.claim.sc.IsValid() {
		fire.AddLink(trace.Link{SpanContext: f.claim.sc})
	}
	_, pub := e.tracer.Start(ctx, "publish "+dueSubjectKind(f.Kind),
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.operation.type", "send"),
			attribute.String("messaging.message.id", f.Key),
		))
	// The event carries the fire span, not the producer's: a republish has a producer span of
	// its own, and every delivery of the fire must continue the same (key-derived) span.
	sc := fire.SpanContext()
	parent, state := event.TraceParent(sc)
	return fireSpans{fire: fire, publish: pub, sc: sc}, parent, state
}

// dueSubjectKind is the span name's destination: the due subject's kind-qualified name.
func dueSubjectKind(k domain.JobKind) string { return "vecron.due." + string(k) }

// end ends s: the fire was acknowledged (err nil) or left for the relay.
func (s fireSpans) end(err error) {
	if s.fire == nil {
		return
	}
	if err != nil {
		s.publish.SetStatus(codes.Error, err.Error())
		s.fire.SetStatus(codes.Error, "not acknowledged; the relay will retry")
	}
	s.publish.End()
	s.fire.End()
}

// traceBatch records one PublishBatch: a root span linked to each sampled fire in it, started
// when the batch began so the sampler sees its links.
func (e *Engine) traceBatch(began time.Time, spans []fireSpans, messages int) trace.Span {
	links := make([]trace.Link, 0, len(spans))
	for _, s := range spans {
		if s.sc.IsSampled() {
			links = append(links, trace.Link{SpanContext: s.sc})
		}
	}
	_, span := e.tracer.Start(context.Background(), "due.publish",
		trace.WithNewRoot(), trace.WithTimestamp(began), trace.WithLinks(links...),
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.Int("messaging.batch.message_count", messages),
		))
	if bsc := span.SpanContext(); bsc.IsSampled() {
		for _, s := range spans {
			if s.publish != nil && s.publish.SpanContext().IsSampled() {
				s.publish.AddLink(trace.Link{SpanContext: bsc})
			}
		}
	}
	return span
}

// requestTrace is the part of a due payload naming the request that started the fire.
type requestTrace struct {
	Trace      string `json:"trace"`
	TraceState string `json:"tracestate"`
}

// traceKey guards the parse: most payloads of other triggers carry no trace either.
var traceKey = []byte(`"trace"`)

// requestContext returns ctx under the request span payload names, or ctx when it names none
// (or one that does not parse).
func requestContext(ctx context.Context, payload []byte) context.Context {
	if !bytes.Contains(payload, traceKey) {
		return ctx
	}
	var rt requestTrace
	if json.Unmarshal(payload, &rt) != nil || rt.Trace == "" {
		return ctx
	}
	carrier := propagation.MapCarrier{"traceparent": rt.Trace}
	if rt.TraceState != "" {
		carrier["tracestate"] = rt.TraceState
	}
	return propagation.TraceContext{}.Extract(ctx, carrier)
}

// skipCount is how many fires of one namespace and kind a claim recorded skipped for a reason.
type skipCount struct {
	namespace, kind, reason string
	n                       int
}

// skipTally collects a claim's skipped fires per job. A claim can be redone in the same call
// (a missing history partition rolls it back): each job's entry is replaced when it is planned
// again, so a redone claim counts its skips once.
type skipTally map[string][]skipCount

// countingPlan wraps plan to tally the skips it records into *t (allocated at the first skip);
// plan itself when the engine counts nothing.
func (e *Engine) countingPlan(plan store.Plan, t *skipTally) store.Plan {
	if e.metrics.skipped == nil {
		return plan
	}
	return func(j *domain.Job) (domain.PlanResult, error) {
		r, err := plan(j)
		if err != nil || len(r.Skips) == 0 {
			if *t != nil {
				delete(*t, j.ID)
			}
			return r, err
		}
		var counts []skipCount
	skips:
		for _, s := range r.Skips {
			reason := timeline.SkipReason(s.Reason)
			for i := range counts {
				if counts[i].reason == reason {
					counts[i].n++
					continue skips
				}
			}
			counts = append(counts, skipCount{namespace: j.Namespace, kind: string(j.Kind), reason: reason, n: 1})
		}
		if *t == nil {
			*t = skipTally{}
		}
		(*t)[j.ID] = counts
		return r, nil
	}
}

// count adds the tally of a committed claim to the skipped family.
func (m *metrics) countSkips(t skipTally) {
	for _, counts := range t {
		for _, c := range counts {
			m.skipped.Add(float64(c.n), c.namespace, c.kind, c.reason)
		}
	}
}

// endSpans ends a batch's spans once the broker answered for each of its messages.
func (e *Engine) endSpans(batch trace.Span, spans []fireSpans, errs []error) {
	failed := 0
	for i, s := range spans {
		var err error
		if i < len(errs) {
			err = errs[i]
		}
		if err != nil {
			failed++
		}
		s.end(err)
	}
	if failed > 0 {
		batch.SetAttributes(attribute.Int("vecron.tick.failed_messages", failed))
		batch.SetStatus(codes.Error, "some messages were not acknowledged")
	}
	batch.End()
}

// withTrace returns ev carrying the trace context; ev is taken by value so that the fire's path
// without tracing does not move every event to the heap.
func withTrace(ev cloudevents.Event, traceparent, tracestate string) cloudevents.Event {
	if traceparent != "" {
		event.SetTrace(&ev, traceparent, tracestate)
	}
	return ev
}

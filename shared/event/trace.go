package event

import (
	"encoding/hex"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/extensions"
	"go.opentelemetry.io/otel/trace"
)

// SetTrace puts a span's W3C trace context on ev as the CloudEvents distributed-tracing
// extension (traceparent, and tracestate when not empty), which ToNATS writes as the
// ce-traceparent and ce-tracestate headers and a Knative broker keeps in both HTTP modes: the
// trace of a fire continues in whoever consumes the event. An empty traceparent sets nothing.
func SetTrace(ev *cloudevents.Event, traceparent, tracestate string) {
	if traceparent == "" {
		return
	}
	// What extensions.DistributedTracingExtension.AddTracingAttributes sets, without its
	// reflection over the struct's fields and lower-casing of their names: every due and
	// lifecycle event pays it, sampled or not. The names are valid, so it cannot fail.
	_ = ev.Context.SetExtension(extensions.TraceParentExtension, traceparent)
	if tracestate != "" {
		_ = ev.Context.SetExtension(extensions.TraceStateExtension, tracestate)
	}
}

// TraceFrom returns the trace context SetTrace put on ev; empty strings when it has none. The
// values are as received: the caller parses them (propagation.TraceContext) and ignores what
// does not parse.
func TraceFrom(ev cloudevents.Event) (traceparent, tracestate string) {
	// A 1.0 event's extensions are read in place: extensions.GetDistributedTracingExtension
	// copies the whole map twice, on every delivery. Any other shape takes that path.
	if v1, ok := ev.Context.(*cloudevents.EventContextV1); ok {
		tp, ok := v1.Extensions[extensions.TraceParentExtension].(string)
		if !ok {
			if _, set := v1.Extensions[extensions.TraceParentExtension]; !set {
				return "", ""
			}
		} else {
			ts, isString := v1.Extensions[extensions.TraceStateExtension].(string)
			if _, set := v1.Extensions[extensions.TraceStateExtension]; isString || !set {
				return tp, ts
			}
		}
	}
	d, ok := extensions.GetDistributedTracingExtension(ev)
	if !ok {
		return "", ""
	}
	return d.TraceParent, d.TraceState
}

// TraceParent renders sc as W3C trace context values, as propagation.TraceContext's Inject
// writes them (the executor's test holds the two to each other); empty strings when sc is
// invalid. Written out rather than through Inject, whose carrier, context and hex strings cost
// every event and every request to a target a few allocations for the same 55 bytes.
func TraceParent(sc trace.SpanContext) (traceparent, tracestate string) {
	if !sc.IsValid() {
		return "", ""
	}
	var b [55]byte
	tid, sid := sc.TraceID(), sc.SpanID()
	copy(b[:3], "00-")
	hex.Encode(b[3:35], tid[:])
	b[35] = '-'
	hex.Encode(b[36:52], sid[:])
	b[52] = '-'
	hex.Encode(b[53:55], []byte{byte(sc.TraceFlags() & (trace.FlagsSampled | trace.FlagsRandom))})
	return string(b[:]), sc.TraceState().String()
}

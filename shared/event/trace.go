package event

import (
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/extensions"
)

// SetTrace puts a span's W3C trace context on ev as the CloudEvents distributed-tracing
// extension (traceparent, and tracestate when not empty), which ToNATS writes as the
// ce-traceparent and ce-tracestate headers and a Knative broker keeps in both HTTP modes: the
// trace of a fire continues in whoever consumes the event. An empty traceparent sets nothing.
func SetTrace(ev *cloudevents.Event, traceparent, tracestate string) {
	extensions.DistributedTracingExtension{TraceParent: traceparent, TraceState: tracestate}.AddTracingAttributes(ev)
}

// TraceFrom returns the trace context SetTrace put on ev; empty strings when it has none. The
// values are as received: the caller parses them (propagation.TraceContext) and ignores what
// does not parse.
func TraceFrom(ev cloudevents.Event) (traceparent, tracestate string) {
	d, ok := extensions.GetDistributedTracingExtension(ev)
	if !ok {
		return "", ""
	}
	return d.TraceParent, d.TraceState
}

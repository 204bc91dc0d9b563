package jobs

import (
	"context"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/vecron/vecron/shared/event"
)

// traceCarrier is a propagation.TextMapCarrier of the two W3C headers, without a map.
type traceCarrier struct{ parent, state string }

func (c *traceCarrier) Get(key string) string {
	switch key {
	case "traceparent":
		return c.parent
	case "tracestate":
		return c.state
	}
	return ""
}

func (c *traceCarrier) Set(key, value string) {
	switch key {
	case "traceparent":
		c.parent = value
	case "tracestate":
		c.state = value
	}
}

func (c *traceCarrier) Keys() []string { return []string{"traceparent", "tracestate"} }

// withTrace writes the span context of ctx — the api's request span — into d as its trace and
// tracestate, so that the fire continues the request's trace: it rides the outbox payload
// written anyway (docs/observability.md §3). It returns the trace id to record with the
// execution: empty unless the span is sampled, since a link to a trace that was not kept leads
// nowhere. Without a span (tracing off) it writes nothing.
func withTrace(ctx context.Context, d *event.Due) (traceID string) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	var c traceCarrier
	propagation.TraceContext{}.Inject(ctx, &c)
	d.Trace, d.TraceState = c.parent, c.state
	if !sc.IsSampled() {
		return ""
	}
	return sc.TraceID().String()
}

package telemetry

import (
	"fmt"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// linkedOrRatio samples a span when any of its links is sampled, and otherwise as
// ParentBased(TraceIDRatioBased(ratio)) does. A batch span (one publish or insert for many
// fires) is a root linked to its fires' spans: sampled on the ratio alone, a sampled fire would
// link to a batch span that was dropped.
type linkedOrRatio struct {
	base  sdktrace.Sampler
	ratio float64
}

// LinkedOrRatio returns the linked-or-ratio sampler of ratio (docs/observability.md §3).
func LinkedOrRatio(ratio float64) sdktrace.Sampler {
	return linkedOrRatio{base: sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), ratio: ratio}
}

// ShouldSample implements sdktrace.Sampler.
func (s linkedOrRatio) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	for _, l := range p.Links {
		if l.SpanContext.IsSampled() {
			return sdktrace.SamplingResult{
				Decision:   sdktrace.RecordAndSample,
				Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState(),
			}
		}
	}
	return s.base.ShouldSample(p)
}

// Description implements sdktrace.Sampler.
func (s linkedOrRatio) Description() string {
	return fmt.Sprintf("LinkedOrRatio{%g}", s.ratio)
}

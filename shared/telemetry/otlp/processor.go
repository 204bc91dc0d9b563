package otlp

import (
	"context"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/vecron/vecron/shared/metric"
)

// CountingProcessor counts the spans it hands to the processor it wraps. The batch processor
// drops spans silently when its queue is full; the gap between this count
// (vecron_otel_spans_ended_total) and the exporter's is what was dropped or failed.
type CountingProcessor struct {
	next  sdktrace.SpanProcessor
	ended *metric.Counter
}

var _ sdktrace.SpanProcessor = (*CountingProcessor)(nil)

// NewCountingProcessor wraps next, counting into reg (nil counts nothing). It returns an error
// only when the registry cannot register the family.
func NewCountingProcessor(next sdktrace.SpanProcessor, reg *metric.Registry) (*CountingProcessor, error) {
	ended, err := reg.Counter(metric.OtelSpansEnded)
	if err != nil {
		return nil, err
	}
	return &CountingProcessor{next: next, ended: ended}, nil
}

// OnStart passes the span on.
func (p *CountingProcessor) OnStart(ctx context.Context, s sdktrace.ReadWriteSpan) {
	p.next.OnStart(ctx, s)
}

// OnEnd counts a sampled span and passes it on; an unsampled one is never exported, so it is
// not counted as lost either.
func (p *CountingProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.SpanContext().IsSampled() {
		p.ended.Inc()
	}
	p.next.OnEnd(s)
}

// Shutdown shuts the wrapped processor down.
func (p *CountingProcessor) Shutdown(ctx context.Context) error { return p.next.Shutdown(ctx) }

// ForceFlush flushes the wrapped processor.
func (p *CountingProcessor) ForceFlush(ctx context.Context) error { return p.next.ForceFlush(ctx) }

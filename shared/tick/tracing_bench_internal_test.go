package tick

import (
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/vecron/vecron/shared/telemetry"
)

// benchProvider samples spans at ratio into memory, as an exporting process would record them.
func benchProvider(ratio float64) (*tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	rec := tracetest.NewSpanRecorder()
	return rec, sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec),
		sdktrace.WithSampler(telemetry.LinkedOrRatio(ratio)), sdktrace.WithIDGenerator(telemetry.KeyIDGenerator()))
}

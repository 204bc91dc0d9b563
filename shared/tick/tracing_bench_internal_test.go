package tick

import (
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/vecron/vecron/shared/telemetry"
)

// benchProvider samples every span into memory, as an exporting process would record them.
func benchProvider() (*tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	rec := tracetest.NewSpanRecorder()
	return rec, sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec),
		sdktrace.WithSampler(telemetry.LinkedOrRatio(1)), sdktrace.WithIDGenerator(telemetry.KeyIDGenerator()))
}

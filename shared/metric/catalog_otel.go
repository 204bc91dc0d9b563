package metric

// The tracing families (docs/observability.md §2, "Health of the parts"; §3). The SDK drops
// spans silently when its queue is full, so the gap between ended and exported is the only
// place a lost span shows.
const (
	OtelSpansEnded     Name = "vecron_otel_spans_ended_total"
	OtelSpansExported  Name = "vecron_otel_spans_exported_total"
	OtelExportFailures Name = "vecron_otel_export_failures_total"
)

func otelFamilies() []Desc {
	return []Desc{
		{
			Name: OtelSpansEnded, Type: TypeCounter,
			Help:       "Sampled spans ended and handed to the batch span processor.",
			ObservedIn: "shared/telemetry/otlp, the span processor wrapper's OnEnd",
		},
		{
			Name: OtelSpansExported, Type: TypeCounter,
			Help:       "Spans the OTLP collector accepted.",
			ObservedIn: "shared/telemetry/otlp, after an export request answered 2xx",
		},
		{
			Name: OtelExportFailures, Type: TypeCounter,
			Help:       "OTLP export requests given up on (refused, unreachable, or retried until otel.timeout); their spans are lost.",
			ObservedIn: "shared/telemetry/otlp, when an export returns an error",
		},
	}
}

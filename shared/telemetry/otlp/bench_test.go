package otlp_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"

	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/telemetry/otlp"
)

// BenchmarkExportSpans is one export of n spans shaped like a fire's (a consume span with a
// handful of attributes and its children), encoded, compressed and posted to a collector that
// reads and discards the body.
func BenchmarkExportSpans(b *testing.B) {
	for _, n := range []int{64, 512} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			spans := record(b, resource.NewSchemaless(attribute.String("service.name", "execute-http")), func(tp trace.TracerProvider) {
				for i := range n / 2 {
					ctx, s := tp.Tracer("t").Start(context.Background(), "process vecron.due.http", trace.WithAttributes(
						attribute.String("messaging.destination.name", "vecron.due.http"),
						attribute.String("messaging.message.id", fmt.Sprintf("job-%d@2026-12-06T10:00:%02dZ", i, i%60)),
						attribute.String("vecron.job.id", fmt.Sprintf("job-%d", i)),
						attribute.String("vecron.execution.id", fmt.Sprintf("01JEXEC%020d", i)),
						attribute.Int("vecron.attempt", 1)))
					_, c := tp.Tracer("t").Start(ctx, "execution.record")
					c.End()
					s.End()
				}
			})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
			}))
			b.Cleanup(srv.Close)
			e, err := otlp.New(otlp.Config{Endpoint: srv.URL, Policy: egress.LoopbackPolicy()})
			require.NoError(b, err)
			b.Cleanup(func() { _ = e.Shutdown(context.Background()) })
			b.ReportAllocs()
			for b.Loop() {
				if err := e.ExportSpans(context.Background(), spans); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

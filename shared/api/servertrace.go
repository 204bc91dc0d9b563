package api

import (
	"context"
	"net/http"
	"strconv"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/vecron/vecron/shared/event"
)

// tracerName is the instrumentation scope of the api's spans.
const tracerName = "github.com/vecron/vecron/shared/api"

// serverSpans starts a server span per request (docs/observability.md §3), named after the
// method and the route's pattern — never the path, whose ids are the caller's — with the
// semantic conventions' http.request.method, http.route, http.response.status_code and
// url.scheme, and nothing else of the request: no path values, no query, no header.
//
// The api is internet-facing, so a caller's traceparent never becomes the parent: the span is a
// new root and the caller's context is only a link. The link is added once the span has
// started, where the sampler does not see it: the linked-or-ratio sampler samples a span with a
// sampled link, which would let any caller force sampling. headerLink false takes no link from
// the header (the internal events listener, whose header is the broker's: the event's own trace
// extension is linked instead, see linkEventTraces). Like requestMetrics it must run inside
// the chi router (Use), where the route context holds the pattern once the request is served.
// A nil provider starts no span.
func serverSpans(tp trace.TracerProvider, headerLink bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if tp == nil {
			return next
		}
		tracer := tp.Tracer(tracerName)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			scheme := "http"
			if r.TLS != nil {
				scheme = "https"
			}
			method := r.Method
			if !knownMethods[method] {
				method = "_OTHER" // the semantic conventions' word for a method outside the set
			}
			ctx, span := tracer.Start(r.Context(), method, trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("http.request.method", method), attribute.String("url.scheme", scheme)))
			defer span.End()
			if headerLink {
				linkRemote(span, propagation.HeaderCarrier(r.Header))
			}
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r.WithContext(ctx))
			route := unmatchedRoute
			if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
				route = rc.RoutePattern()
			}
			code := ww.Status()
			if code == 0 {
				code = http.StatusOK // nothing written: net/http answers 200
			}
			span.SetName(method + " " + route)
			span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", code))
			if code >= 500 {
				span.SetStatus(codes.Error, strconv.Itoa(code))
			}
		})
	}
}

// knownMethods are the methods a span names as sent; any other is the caller's word.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true, http.MethodPatch: true,
	http.MethodDelete: true, http.MethodOptions: true, http.MethodConnect: true, http.MethodTrace: true,
}

// linkRemote links span to the W3C trace context in c, if it holds a valid one.
func linkRemote(span trace.Span, c propagation.TextMapCarrier) {
	sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), c))
	if sc.IsValid() {
		span.AddLink(trace.Link{SpanContext: sc})
	}
}

// maxEventLinks bounds the links one request's span takes from the events of a batch.
const maxEventLinks = 32

// linkEventTraces links the request span of ctx to the trace extension of each event (its
// producer's span): a link, never the parent, as for a header.
func linkEventTraces(ctx context.Context, events []cloudevents.Event) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	n := 0
	for _, ev := range events {
		p, _ := event.TraceFrom(ev)
		if p == "" {
			continue
		}
		if n == maxEventLinks {
			return
		}
		n++
		linkRemote(span, propagation.MapCarrier{"traceparent": p})
	}
}

package httpjob

import (
	"cmp"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/secret"
)

// tracerName is the instrumentation scope of the request spans.
const tracerName = "github.com/vecron/vecron/shared/httpjob"

// startSpan starts the client span of req, a child of the attempt's span in ctx, and writes its
// trace context into req's headers when the runner propagates it. It returns nil when the
// runner makes no spans.
//
// The trace context is written last, over any traceparent or tracestate the job set itself: the
// target's view of the trace is ours, and a job cannot splice its request into another trace.
// An unsampled span is sent too (flag 00): the target may sample on its own.
//
// One span covers the request and the redirects it follows: net/http follows them inside one
// Do, and each hop carries the headers of the first, this traceparent included.
func (r *Runner) startSpan(ctx context.Context, req *http.Request) trace.Span {
	if r.tracer == nil {
		return nil
	}
	if parent := trace.SpanContextFromContext(ctx); parent.IsValid() && !parent.IsSampled() {
		// The sampler's answer is known: vecron's (telemetry.LinkedOrRatio) drops a span with
		// no links under a parent that was dropped, as ParentBased does. So the span is not
		// started, nine requests in ten at the default ratio; the target is sent the
		// traceparent the SDK's non-recording span would have had, with an id of its own: the
		// parent's flags but sampled (W3C level 2's random flag among them).
		if r.cfg.Propagate {
			setTraceHeaders(req.Header, trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: parent.TraceID(), SpanID: randomSpanID(), TraceFlags: parent.TraceFlags() &^ trace.FlagsSampled,
				TraceState: parent.TraceState()}))
		}
		return nil
	}
	ctx, span := r.tracer.Start(ctx, req.Method, trace.WithSpanKind(trace.SpanKindClient))
	if span.IsRecording() {
		// Only the parts of the URL that name the endpoint: a query or userinfo often holds a
		// token. A rendered host or path may hold a secret too, hidden as the stored outcome is.
		mask := secret.MaskerFrom(ctx)
		port := req.URL.Port()
		if port == "" {
			port = "80"
			if strings.EqualFold(req.URL.Scheme, "https") {
				port = "443"
			}
		}
		n, _ := strconv.Atoi(port)
		span.SetAttributes(
			attribute.String("http.request.method", req.Method),
			attribute.String("server.address", mask.Mask(req.URL.Hostname())),
			attribute.Int("server.port", n),
			attribute.String("url.scheme", req.URL.Scheme),
			attribute.String("url.path", mask.Mask(req.URL.EscapedPath())),
		)
	}
	if r.cfg.Propagate {
		setTraceHeaders(req.Header, span.SpanContext())
	}
	return span
}

// setTraceHeaders writes sc into h as propagation.TraceContext's Inject does (nothing when sc is
// invalid), after removing any tracestate the job set: a job's own tracestate would otherwise
// ride along with our traceparent.
func setTraceHeaders(h http.Header, sc trace.SpanContext) {
	parent, state := event.TraceParent(sc)
	if parent == "" {
		return
	}
	h.Del("Tracestate")
	if state != "" {
		h["Tracestate"] = []string{state}
	}
	h["Traceparent"] = []string{parent}
}

// randomSpanID returns a random valid span id, as the SDK's generator does.
func randomSpanID() trace.SpanID {
	var sid trace.SpanID
	for !sid.IsValid() {
		binary.NativeEndian.PutUint64(sid[:], rand.Uint64())
	}
	return sid
}

// endSpan records res on span (nil: nothing). The error is masked as the runtime masks the
// stored one, with the masker of the attempt in ctx.
func endSpan(ctx context.Context, span trace.Span, res domain.RunResult) {
	if span == nil {
		return
	}
	if span.IsRecording() {
		if res.HTTPStatus != 0 {
			span.SetAttributes(attribute.Int("http.response.status_code", res.HTTPStatus))
		}
		if res.Error != "" {
			span.SetAttributes(attribute.String("error.type", cmp.Or(string(res.Reason), "_OTHER")))
			span.SetStatus(codes.Error, strings.ToValidUTF8(secret.MaskerFrom(ctx).Mask(res.Error), "\uFFFD"))
		}
	}
	span.End()
}

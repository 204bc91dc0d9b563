package sqljob

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/secret"
)

// tracerName is the instrumentation scope of the statement spans.
const tracerName = "github.com/vecron/vecron/shared/sqljob"

// operationOther names a statement whose first word is not a plain keyword.
const operationOther = "OTHER"

// maxOperationLen bounds the word a span is named after: longer is no SQL keyword, and more of a
// statement's text in a span is more that might be a value.
const maxOperationLen = 16

// operation returns what a statement span of q is named: q's first keyword, upper-cased, past
// whitespace and comments, when it is 1 to 16 letters A to Z; OTHER otherwise. It is the only
// text of a statement that reaches a span: a comment may hold anything, a literal a secret.
func operation(q string) string {
	w := leadingWord(q)
	if w == "" || len(w) > maxOperationLen {
		return operationOther
	}
	for i := range len(w) {
		if w[i] < 'A' || w[i] > 'Z' {
			return operationOther
		}
	}
	return w
}

// dbSystem is the db.system.name of a Dialect.Driver.
func dbSystem(driver string) string {
	switch driver {
	case domain.DriverPostgres:
		return "postgresql"
	case domain.DriverMySQL:
		return "mysql" // MariaDB too: the driver cannot tell them apart before connecting
	}
	return driver // "oracle"
}

// spanAttributes returns the attributes every statement span of a job on src has; nil when the
// runner makes no spans. Names the job rendered from a variable are masked as its stored
// outcome is.
func (r *Runner) spanAttributes(ctx context.Context, dl Dialect, src resolved) []attribute.KeyValue {
	if r.tracer == nil {
		return nil
	}
	mask := secret.MaskerFrom(ctx)
	attrs := []attribute.KeyValue{attribute.String("db.system.name", dbSystem(dl.Driver))}
	if src.database != "" {
		attrs = append(attrs, attribute.String("db.namespace", mask.Mask(src.database)))
	}
	if _, hostport, ok := strings.Cut(src.target, "://"); ok {
		if host, port, err := net.SplitHostPort(hostport); err == nil {
			attrs = append(attrs, attribute.String("server.address", mask.Mask(host)))
			if n, err := strconv.Atoi(port); err == nil {
				attrs = append(attrs, attribute.Int("server.port", n))
			}
		}
	}
	return attrs
}

// startStatement starts the client span of statement q, named after its operation alone: never
// its text, its parameters or its rows. It returns ctx unchanged and a nil span when the runner
// makes no spans.
func (r *Runner) startStatement(ctx context.Context, q string, attrs []attribute.KeyValue) (context.Context, trace.Span) {
	if r.tracer == nil {
		return ctx, nil
	}
	op := operation(q)
	ctx, span := r.tracer.Start(ctx, op, trace.WithSpanKind(trace.SpanKindClient))
	if span.IsRecording() {
		span.SetAttributes(attrs...)
		span.SetAttributes(attribute.String("db.operation.name", op))
	}
	return ctx, span
}

// endStatement ends span (nil: nothing) with the outcome of its statement. A failure is told by
// its class only: a database's message may quote a parameter's value.
func (r *Runner) endStatement(span trace.Span, dl Dialect, err error) {
	if span == nil {
		return
	}
	if err != nil && span.IsRecording() {
		ours, _, timedOut := r.classify(err)
		why := string(reason(dl, err, ours))
		if timedOut || errors.Is(err, context.DeadlineExceeded) {
			why = string(domain.FailTimeout)
		}
		span.SetAttributes(attribute.String("error.type", why))
		span.SetStatus(codes.Error, why)
	}
	span.End()
}

// Package telemetry sets up vecron's structured logging.
package telemetry

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// LogConfig configures the logger.
type LogConfig struct {
	Level  string `koanf:"level" usage:"log level: debug, info, warn or error"`
	Format string `koanf:"format" usage:"log format: json or text"`
}

// NewLogger returns a logger writing to w, or an error naming the bad setting. A line logged
// with a context (the …Context methods) carries the trace and span ids of the context's span
// and the attributes WithLogAttrs put there.
func NewLogger(w io.Writer, cfg LogConfig) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cmp.Or(cfg.Level, "info"))); err != nil {
		return nil, fmt.Errorf("log.level: %q is not one of debug, info, warn, error", cfg.Level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(cmp.Or(cfg.Format, "json")) {
	case "json":
		return slog.New(NewTraceHandler(slog.NewJSONHandler(w, opts))), nil
	case "text":
		return slog.New(NewTraceHandler(slog.NewTextHandler(w, opts))), nil
	}
	return nil, fmt.Errorf("log.format: %q is not one of json, text", cfg.Format)
}

// NewTraceHandler wraps h so that every record logged with a context gains that context's
// trace_id and span_id, when it holds a valid span context (sampled or not: a log line is worth
// joining to its trace either way), and the attributes of WithLogAttrs. Tests that build their
// own handler wrap it with this to see what production lines carry.
func NewTraceHandler(h slog.Handler) slog.Handler { return traceHandler{inner: h} }

// traceHandler adds what the context knows of a record's request or fire to the record.
type traceHandler struct{ inner slog.Handler }

func (h traceHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	if attrs, ok := ctx.Value(logAttrsKey{}).([]slog.Attr); ok {
		r.AddAttrs(attrs...)
	}
	return h.inner.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceHandler{inner: h.inner.WithAttrs(attrs)}
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{inner: h.inner.WithGroup(name)}
}

type logAttrsKey struct{}

// WithLogAttrs returns ctx carrying args — key-value pairs or slog.Attrs, as slog's Log takes
// them — for every line logged with it, after those ctx carried already. They are log data
// (who asked, which request), never a dependency; no secret belongs in them.
func WithLogAttrs(ctx context.Context, args ...any) context.Context {
	r := slog.NewRecord(time.Time{}, 0, "", 0)
	r.Add(args...)
	prev, _ := ctx.Value(logAttrsKey{}).([]slog.Attr)
	attrs := slices.Grow(slices.Clone(prev), r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, a)
		return true
	})
	return context.WithValue(ctx, logAttrsKey{}, attrs)
}

package sqljob_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/sqljob"
)

// TestStatementSpans: one client span per statement, named by its first word only; the text of
// a statement, its comments, its parameters, its rows and the database's message about it are
// in no span.
func TestStatementSpans(t *testing.T) {
	t.Parallel()
	for _, tg := range targets(t) {
		t.Run(tg.driver, func(t *testing.T) {
			t.Parallel()
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			t.Cleanup(func() { _ = tp.Shutdown(context.WithoutCancel(t.Context())) })
			r := newRunner(t, sqljob.Config{TracerProvider: tp})

			const (
				param   = "param-value-7d1f"
				comment = "comment-text-93ab"
				column  = "no_such_column_5c2e"
			)
			res, out := run(t, r, tg, domain.SQLSpec{Statements: []domain.SQLStatement{
				{SQL: "SELECT " + tg.ph(1) + " AS v", Params: []any{param}},
				{SQL: "/* " + comment + " */ -- " + comment + "\n  select 'row-value-4e0a' AS w"},
				{SQL: "SELECT " + column},
			}})
			require.Equal(t, domain.StatusFailed, res.Status)
			require.Contains(t, res.Error, column, "the database's message names the statement's text")
			require.Len(t, out, 3)

			spans := rec.Ended()
			require.Len(t, spans, 3)
			system := map[string]string{domain.DriverPostgres: "postgresql", domain.DriverMySQL: "mysql"}[tg.driver]
			for i, s := range spans {
				assert.Equal(t, "SELECT", s.Name(), "statement %d", i+1)
				assert.Equal(t, trace.SpanKindClient, s.SpanKind())
				a := map[attribute.Key]string{}
				for _, kv := range s.Attributes() {
					a[kv.Key] = kv.Value.Emit()
				}
				assert.Equal(t, "SELECT", a["db.operation.name"])
				assert.Equal(t, system, a["db.system.name"])
				assert.NotEmpty(t, a["db.namespace"])
				assert.NotEmpty(t, a["server.address"])
				assert.NotEmpty(t, a["server.port"])
			}
			assert.Equal(t, codes.Unset, spans[0].Status().Code)
			assert.Equal(t, codes.Error, spans[2].Status().Code)
			assert.Equal(t, string(domain.FailSQLError), spans[2].Status().Description)

			for _, s := range spans {
				text := recorded(s)
				for _, never := range []string{param, comment, column, "row-value-4e0a", " AS ", tg.dsn} {
					assert.NotContains(t, text, never)
				}
			}
		})
	}
}

// TestStatementSpansFollowTheAttempt: statement spans are children of the attempt's span in
// the context, and sampled as it is.
func TestStatementSpansFollowTheAttempt(t *testing.T) {
	t.Parallel()
	tg := targets(t)[0]
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())))
	t.Cleanup(func() { _ = tp.Shutdown(context.WithoutCancel(t.Context())) })
	r := newRunner(t, sqljob.Config{TracerProvider: tp})
	attempt := func(flags trace.TraceFlags) (context.Context, trace.SpanContext) {
		sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5, 6}, TraceFlags: flags, Remote: true})
		return trace.ContextWithRemoteSpanContext(t.Context(), sc), sc
	}

	// An unsampled attempt has unsampled statements: nothing is recorded.
	ctx, _ := attempt(0)
	res := r.Run(ctx, event.Due{JobID: "j", Kind: domain.KindSQL, SQL: &domain.SQLSpec{Driver: tg.driver, DSN: tg.dsn, Statements: stmts("SELECT 1")}})
	require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
	assert.Empty(t, rec.Ended())

	// A sampled attempt's statements are its children; a first word that is not a plain
	// keyword names the span OTHER.
	ctx, parent := attempt(trace.FlagsSampled)
	res = r.Run(ctx, event.Due{JobID: "j", Kind: domain.KindSQL, SQL: &domain.SQLSpec{Driver: tg.driver, DSN: tg.dsn,
		Statements: stmts("update_nothing", "INSERT INTO nowhere VALUES (1)")}})
	require.Equal(t, domain.StatusFailed, res.Status)
	spans := rec.Ended()
	require.Len(t, spans, 1, "the first statement fails: the second never runs")
	assert.Equal(t, "OTHER", spans[0].Name())
	assert.Equal(t, parent.TraceID(), spans[0].SpanContext().TraceID())
	assert.Equal(t, parent.SpanID(), spans[0].Parent().SpanID())
}

// recorded is everything a span says.
func recorded(s sdktrace.ReadOnlySpan) string {
	var b strings.Builder
	fmt.Fprintln(&b, s.Name(), s.Status().Description)
	for _, a := range s.Attributes() {
		fmt.Fprintln(&b, a.Key, a.Value.Emit())
	}
	for _, e := range s.Events() {
		fmt.Fprintln(&b, e.Name, e.Attributes)
	}
	return b.String()
}

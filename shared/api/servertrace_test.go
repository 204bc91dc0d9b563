package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/vecron/vecron/shared/api"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/server"
	"github.com/vecron/vecron/shared/telemetry"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/variables"
)

// callerParent is a sampled traceparent a caller sends: never our parent, never our sampler.
const (
	callerTrace  = "0af7651916cd43dd8448eb211c80319c"
	callerSpan   = "b7ad6b7169203331"
	callerParent = "00-" + callerTrace + "-" + callerSpan + "-01"
)

// tracedClient is a client of an api that traces with the linked-or-ratio sampler of ratio,
// recording what it ends.
func tracedClient(t *testing.T, ratio float64) (*client, *tracetest.SpanRecorder, *api.Server) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(telemetry.LinkedOrRatio(ratio)), sdktrace.WithSpanProcessor(rec),
		sdktrace.WithIDGenerator(telemetry.KeyIDGenerator()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	st, dbURL := testfactory.Store(t)
	ident := testfactory.Identity(t, st, testfactory.AuthConfig(t), time.Now)
	h := api.New(api.Deps{Jobs: jobs.New(st, time.Now), Vars: variables.New(st, nil, time.Now), Store: st, Identity: ident,
		Checks: []server.Check{{Name: "postgres", Fn: st.Ping}}, Tracer: tp}, time.Now, testenv.Logger(t))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &client{t: t, srv: srv, st: st, dbURL: dbURL, token: testfactory.AdminToken(t, st)}, rec, h
}

// serverSpan returns the one ended span named name.
func serverSpan(t *testing.T, rec *tracetest.SpanRecorder, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	var found []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == name {
			found = append(found, s)
		}
	}
	require.Len(t, found, 1, "spans named %q", name)
	return found[0]
}

func attrs(s sdktrace.ReadOnlySpan) map[string]string {
	out := map[string]string{}
	for _, kv := range s.Attributes() {
		out[string(kv.Key)] = kv.Value.Emit()
	}
	return out
}

// dueTrace returns the trace context the queued fire of key carries in its Due data.
func dueTrace(t *testing.T, c *client, key string) trace.SpanContext {
	t.Helper()
	fires, err := c.st.DueQueued(t.Context(), time.Now().Add(time.Second), 100)
	require.NoError(t, err)
	for _, f := range fires {
		if f.Key != key {
			continue
		}
		var d event.Due
		require.NoError(t, json.Unmarshal(f.Payload, &d))
		return trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(),
			propagation.MapCarrier{"traceparent": d.Trace, "tracestate": d.TraceState}))
	}
	require.Failf(t, "no queued fire", "key %s", key)
	return trace.SpanContext{}
}

func TestServerSpans(t *testing.T) {
	t.Parallel()
	c, rec, _ := tracedClient(t, 1)
	j, _ := c.createJob(validJob)

	code, _, b := c.do(http.MethodGet, "/api/v1/jobs/"+j.ID+"?secret=hunter2", "", "traceparent", callerParent, "tracestate", "vendor=x")
	require.Equal(t, http.StatusOK, code, string(b))
	s := serverSpan(t, rec, "GET /api/v1/jobs/{id}")
	require.Equal(t, trace.SpanKindServer, s.SpanKind())
	require.Equal(t, map[string]string{"http.request.method": "GET", "http.route": "/api/v1/jobs/{id}",
		"http.response.status_code": "200", "url.scheme": "http"}, attrs(s), "the pattern, never the path, the id or the query")

	// The caller's context is a link, never the parent.
	require.False(t, s.Parent().IsValid(), "a new root")
	require.NotEqual(t, callerTrace, s.SpanContext().TraceID().String())
	require.Len(t, s.Links(), 1)
	require.Equal(t, callerTrace, s.Links()[0].SpanContext.TraceID().String())
	require.Equal(t, callerSpan, s.Links()[0].SpanContext.SpanID().String())

	// A path no route matches is named for no path at all.
	code, _, _ = c.do(http.MethodGet, "/api/v1/no/such/"+j.ID, "")
	require.Equal(t, http.StatusNotFound, code)
	s = serverSpan(t, rec, "GET unmatched")
	require.Equal(t, "unmatched", attrs(s)["http.route"])
	require.Equal(t, "404", attrs(s)["http.response.status_code"])
	for _, sp := range rec.Ended() {
		for _, v := range attrs(sp) {
			require.NotContains(t, v, j.ID, "no path value in %s", sp.Name())
			require.NotContains(t, v, "hunter2")
		}
	}
}

// TestCallerCannotForceSampling: with a ratio of 0 nothing is sampled, whatever flag the
// caller's traceparent holds — and the run it starts carries our unsampled context, not theirs.
func TestCallerCannotForceSampling(t *testing.T) {
	t.Parallel()
	c, rec, _ := tracedClient(t, 0)
	j, _ := c.createJob(validJob)
	out, _ := c.runNow(j.ID, "", "traceparent", callerParent)
	require.Empty(t, rec.Ended(), "no span sampled")

	sc := dueTrace(t, c, out.IdempotencyKey)
	require.True(t, sc.IsValid(), "the Due carries the request's context, sampled or not")
	require.False(t, sc.IsSampled())
	require.NotEqual(t, callerTrace, sc.TraceID().String())
	require.Empty(t, c.execution(out.ExecutionID).TraceID, "an unsampled trace is not recorded")
}

func TestRunNowContinuesTheRequestTrace(t *testing.T) {
	t.Parallel()
	c, rec, _ := tracedClient(t, 1)
	j, _ := c.createJob(validJob)
	out, _ := c.runNow(j.ID, "", "traceparent", callerParent)
	s := serverSpan(t, rec, "POST /api/v1/jobs/{id}/trigger")
	require.Equal(t, "202", attrs(s)["http.response.status_code"])

	sc := dueTrace(t, c, out.IdempotencyKey)
	require.True(t, sc.IsSampled())
	require.Equal(t, s.SpanContext().TraceID(), sc.TraceID(), "the fire continues the request's trace")
	require.Equal(t, s.SpanContext().SpanID(), sc.SpanID(), "as a child of the request span")

	e := c.execution(out.ExecutionID)
	require.Equal(t, domain.StatusQueued, e.Status)
	require.Equal(t, s.SpanContext().TraceID().String(), e.TraceID)

	// The listing answers it too.
	code, _, b := c.do(http.MethodGet, "/api/v1/jobs/"+j.ID+"/executions", "")
	require.Equal(t, http.StatusOK, code, string(b))
	var list struct {
		Items []domain.Execution `json:"items"`
	}
	require.NoError(t, json.Unmarshal(b, &list))
	require.Len(t, list.Items, 1)
	require.Equal(t, e.TraceID, list.Items[0].TraceID)
}

// TestInternalEventsLinkTheEventTrace: behind the broker, the HTTP traceparent is the broker's;
// the span is a new root linked to the event's own trace extension, and the run continues ours.
func TestInternalEventsLinkTheEventTrace(t *testing.T) {
	t.Parallel()
	c, rec, h := tracedClient(t, 1)
	internal := httptest.NewServer(h.InternalEvents([]string{"shop"}))
	t.Cleanup(internal.Close)
	c.eventJob("shop", "ship", `{"filters":[{"exact":{"type":"order.paid"}}]}`)

	const brokerParent = "00-11111111111111111111111111111111-2222222222222222-01"
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, internal.URL+"/events", strings.NewReader(`{"id":7}`))
	require.NoError(t, err)
	for k, v := range map[string]string{"Content-Type": "application/json", "Ce-Specversion": "1.0", "Ce-Id": "e-1",
		"Ce-Source": "/orders", "Ce-Type": "order.paid", "Ce-Traceparent": callerParent, "Traceparent": brokerParent} {
		req.Header.Set(k, v)
	}
	resp, err := internal.Client().Do(req)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusAccepted, resp.StatusCode, string(b))
	var out eventAnswer
	require.NoError(t, json.Unmarshal(b, &out))
	require.Len(t, out.Executions, 1)

	s := serverSpan(t, rec, "POST /events")
	require.False(t, s.Parent().IsValid())
	require.Len(t, s.Links(), 1, "the event's trace, not the broker's header")
	require.Equal(t, callerTrace, s.Links()[0].SpanContext.TraceID().String())

	sc := dueTrace(t, c, out.Executions[0].IdempotencyKey)
	require.Equal(t, s.SpanContext().TraceID(), sc.TraceID())
	require.Equal(t, s.SpanContext().TraceID().String(), c.execution(out.Executions[0].ExecutionID).TraceID)
}

package executor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/httpjob"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/telemetry"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/variables"
)

// tracedFixture is a fixture whose runtime records every span (ratio 1) in rec.
type tracedFixture struct {
	*fixture
	rec *tracetest.SpanRecorder
}

func newTracedFixture(t *testing.T) *tracedFixture {
	t.Helper()
	st, _ := testfactory.Store(t)
	return newTracedFixtureOn(t, st, nil, clockwork.NewFakeClockAt(time.Now().UTC()))
}

func newTracedFixtureOn(t *testing.T, st *store.Store, vars executor.Variables, clock clockwork.Clock) *tracedFixture {
	t.Helper()
	_, js, names := testenv.NATS(t)
	runner := httpjob.New(clock, httpjob.Config{}, egress.LoopbackPolicy())
	t.Cleanup(runner.Close)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithSampler(telemetry.LinkedOrRatio(1)),
		sdktrace.WithIDGenerator(telemetry.KeyIDGenerator()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	deps := executor.Deps{Store: st, Runner: runner, Publisher: queue.NewPublisher(js), Names: names, Clock: clock,
		Log: testenv.Logger(t), Tracer: tp, TraceSampleRatio: 1}
	if vars != nil {
		deps.Variables = vars
	}
	rt, err := executor.New(domain.KindHTTP, "execute-http", deps, executor.Config{})
	require.NoError(t, err)
	fake, _ := clock.(*clockwork.FakeClock)
	return &tracedFixture{fixture: &fixture{rt: rt, store: st, js: js, names: names, clock: fake}, rec: rec}
}

func spansNamed(rec *tracetest.SpanRecorder, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

func oneSpan(t *testing.T, rec *tracetest.SpanRecorder, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	s := spansNamed(rec, name)
	require.Len(t, s, 1, name)
	return s[0]
}

func attr(s sdktrace.ReadOnlySpan, key string) attribute.Value {
	for _, a := range s.Attributes() {
		if string(a.Key) == key {
			return a.Value
		}
	}
	return attribute.Value{}
}

func linksTo(s sdktrace.ReadOnlySpan, sc trace.SpanContext) bool {
	for _, l := range s.Links() {
		if l.SpanContext.TraceID() == sc.TraceID() && l.SpanContext.SpanID() == sc.SpanID() {
			return true
		}
	}
	return false
}

func okTarget(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	t.Cleanup(srv.Close)
	return srv
}

func TestAFireIsTracedUnderTheSpanItsEventNames(t *testing.T) {
	t.Parallel()
	f := newTracedFixture(t)
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: okTarget(t).URL})
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	ev := dueEvent(t, j, at)
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	event.SetTrace(&ev, parent, "vendor=1")
	require.NoError(t, f.rt.Handle(t.Context(), ev))

	key := domain.ScheduledKey(j.ID, at)
	e, err := f.store.ExecutionByKey(t.Context(), key)
	require.NoError(t, err)
	consume := oneSpan(t, f.rec, "process "+f.names.DueSubject(domain.KindHTTP))
	require.Equal(t, trace.SpanKindConsumer, consume.SpanKind())
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", consume.SpanContext().TraceID().String())
	require.Equal(t, "00f067aa0ba902b7", consume.Parent().SpanID().String(), "the parent is the event's trace extension")
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", e.TraceID, "the execution names its sampled trace")
	require.True(t, consume.Parent().IsRemote())
	require.Equal(t, telemetry.AttemptSpanID(key, 1), consume.SpanContext().SpanID())
	require.Equal(t, e.ID, attr(consume, "vecron.execution.id").AsString())
	require.Equal(t, j.ID, attr(consume, "vecron.job.id").AsString())
	require.Equal(t, int64(1), attr(consume, "vecron.attempt").AsInt64())
	require.Equal(t, ev.ID(), attr(consume, "messaging.message.id").AsString())
	require.Equal(t, f.names.DueSubject(domain.KindHTTP), attr(consume, "messaging.destination.name").AsString())
	require.Equal(t, codes.Unset, consume.Status().Code)

	for name, batchName := range map[string]string{"execution.record": "executions.insert", "execution.finish": "executions.finish"} {
		child := oneSpan(t, f.rec, name)
		require.Equal(t, consume.SpanContext().SpanID(), child.Parent().SpanID(), name)
		batch := oneSpan(t, f.rec, batchName)
		require.True(t, linksTo(child, batch.SpanContext()), "%s links to its batch", name)
		require.True(t, linksTo(batch, child.SpanContext()), "%s's batch links to it", name)
		require.Equal(t, int64(1), attr(batch, "db.operation.batch.size").AsInt64())
		require.False(t, batch.Parent().IsValid(), "a batch span is a root")
		require.False(t, child.StartTime().Before(consume.StartTime()))
	}

	// Each lifecycle event carries its publish span, a child of the consume span.
	events := allLifecycle(t, f.fixture)
	require.Len(t, events, 2)
	for _, le := range events {
		tp, _ := event.TraceFrom(le)
		require.NotEmpty(t, tp, le.Type())
		pub := oneSpan(t, f.rec, "publish "+f.names.EventSubject(le.Type()))
		require.Equal(t, trace.SpanKindProducer, pub.SpanKind())
		require.Equal(t, consume.SpanContext().SpanID(), pub.Parent().SpanID())
		require.Contains(t, tp, pub.SpanContext().SpanID().String())
	}
}

func TestEachAttemptHasItsOwnSpanLinkedToTheLast(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "later", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer target.Close()
	f := newTracedFixture(t)
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL,
		Retry: &domain.RetryPolicy{MaxAttempts: 3, Backoff: []domain.Duration{domain.Duration(50 * time.Millisecond)}}})
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	ev := dueEvent(t, j, at) // no trace extension: the trace of the key
	handleUntilSettled(t, f.fixture, func() error { return f.rt.Handle(t.Context(), ev) })

	key := domain.ScheduledKey(j.ID, at)
	tid, _ := telemetry.KeyIDs(key)
	consume := spansNamed(f.rec, "process "+f.names.DueSubject(domain.KindHTTP))
	require.Len(t, consume, 2)
	for i, s := range consume {
		require.Equal(t, tid, s.SpanContext().TraceID(), "the trace id derives from the key")
		require.Equal(t, telemetry.AttemptSpanID(key, i+1), s.SpanContext().SpanID())
		require.False(t, s.Parent().IsValid(), "a root: no request started the fire")
		require.Equal(t, int64(i+1), attr(s, "vecron.attempt").AsInt64())
	}
	require.Equal(t, codes.Error, consume[0].Status().Code)
	require.Contains(t, consume[0].Status().Description, "503")
	require.Equal(t, codes.Unset, consume[1].Status().Code)
	require.Empty(t, consume[0].Links())
	require.True(t, linksTo(consume[1], consume[0].SpanContext()), "attempt 2 links to attempt 1")
	require.NotEqual(t, telemetry.AttemptSpanID(key, 1), telemetry.AttemptSpanID(key+"x", 1))
}

func TestAChainedRunContinuesTheUpstreamTrace(t *testing.T) {
	t.Parallel()
	f := newTracedFixture(t)
	srv := okTarget(t)
	svc := jobs.New(f.store, f.clock.Now)
	ns := "trace-" + testfactory.User(t, f.store, testfactory.UserOpts{}).ID[:8]
	u := testfactory.User(t, f.store, testfactory.UserOpts{Role: rbac.RoleEditor, Namespace: ns})
	ctx := asEditor(t.Context(), u, rbac.RoleEditor, ns)
	b := chainedJob(ctx, t, svc, ns, "b", srv.URL+"/b", `x`)
	a := chainedJob(ctx, t, svc, ns, "a", srv.URL+"/a", `go`, "b")
	at := f.clock.Now().UTC().Truncate(time.Millisecond)
	require.NoError(t, f.rt.Handle(t.Context(), dueEvent(t, a, at)))

	consume := oneSpan(t, f.rec, "process "+f.names.DueSubject(domain.KindHTTP))
	fires, err := f.store.DueQueued(t.Context(), time.Now().Add(time.Hour), 100)
	require.NoError(t, err)
	var found bool
	for _, fire := range fires {
		if fire.JobID != b.ID {
			continue
		}
		var d event.Due
		require.NoError(t, json.Unmarshal(fire.Payload, &d))
		sc := consume.SpanContext()
		require.Equal(t, "00-"+sc.TraceID().String()+"-"+sc.SpanID().String()+"-01", d.Trace, "the upstream attempt's span")
		found = true
	}
	require.True(t, found, "b is queued")
}

// TestNoSecretInASpan fails a job whose request holds a secret against a target that echoes it
// in its error, and looks for the secret in every span's name, attributes, status and events.
func TestNoSecretInASpan(t *testing.T) {
	t.Parallel()
	const token = "tok-51ab-span-secret"
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "you sent "+r.URL.RawQuery+" "+r.Header.Get("Authorization")+" "+string(body))
	}))
	defer echo.Close()
	st, _ := testfactory.Store(t)
	vars := sealedVariables(t, st, time.Now)
	_, _, err := vars.Put(t.Context(), domain.ScopeGlobal, "", "TOKEN", variables.PutRequest{Value: new(token), IsSecret: new(true)})
	require.NoError(t, err)
	f := newTracedFixtureOn(t, st, vars, clockwork.NewRealClock())
	j := testfactory.Job(t, st, testfactory.JobOpts{URL: echo.URL + "/fail?t={{ var.TOKEN | urlquery }}",
		Retry: &domain.RetryPolicy{MaxAttempts: 1}})
	j.HTTP.Headers = map[string]string{"Authorization": "Bearer {{ var.TOKEN }}"}
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	require.NoError(t, f.rt.Handle(t.Context(), dueEvent(t, j, at)))

	consume := oneSpan(t, f.rec, "process "+f.names.DueSubject(domain.KindHTTP))
	require.Equal(t, codes.Error, consume.Status().Code)
	oneSpan(t, f.rec, "variables.resolve")
	require.NotEmpty(t, spansNamed(f.rec, "publish "+f.names.DLQSubject(domain.KindHTTP)))
	for _, s := range f.rec.Ended() {
		var b strings.Builder
		b.WriteString(s.Name() + " " + s.Status().Description)
		for _, a := range s.Attributes() {
			b.WriteString(" " + string(a.Key) + "=" + a.Value.Emit())
		}
		for _, e := range s.Events() {
			b.WriteString(" " + e.Name)
			for _, a := range e.Attributes {
				b.WriteString(" " + a.Value.Emit())
			}
		}
		require.NotContains(t, b.String(), token, s.Name())
	}
}

// TestAPushedFireLinksTheBrokersTraceAndKeepsItsOwnParent: the HTTP traceparent of a push
// belongs to the broker's spans; the consume span's parent is the event's extension.
func TestAPushedFireLinksTheBrokersTraceAndKeepsItsOwnParent(t *testing.T) {
	t.Parallel()
	f := newTracedFixture(t)
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: okTarget(t).URL})
	at := recent()
	ev := dueEvent(t, j, at)
	const fire, broker = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-11111111111111111111111111111111-2222222222222222-01"
	event.SetTrace(&ev, fire, "")
	srv := httptest.NewServer(executor.PushHandler(context.Background(), f.rt.HandlePushed, testenv.Logger(t)))
	defer srv.Close()
	req, err := cehttp.NewHTTPRequestFromEvent(t.Context(), srv.URL, ev)
	require.NoError(t, err)
	req.Header.Set("traceparent", broker)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	consume := oneSpan(t, f.rec, "process "+f.names.DueSubject(domain.KindHTTP))
	require.Equal(t, "00f067aa0ba902b7", consume.Parent().SpanID().String())
	require.Len(t, consume.Links(), 1)
	require.Equal(t, "2222222222222222", consume.Links()[0].SpanContext.SpanID().String())
	require.Equal(t, "11111111111111111111111111111111", consume.Links()[0].SpanContext.TraceID().String())
}

// BenchmarkHandleTracing is the cost of tracing a fire: off (the no-op provider) against on
// (spans handed to an in-memory recorder) at the default ratio, where nine fires in ten are
// dropped, and with every fire sampled, on a real database and broker.
func BenchmarkHandleTracing(b *testing.B) {
	for _, tc := range []struct {
		name  string
		ratio float64 // 0: tracing off
	}{{"off", 0}, {"ratio0.1", 0.1}, {"on", 1}} {
		on := tc.ratio > 0
		b.Run(tc.name, func(b *testing.B) {
			st, _ := testfactory.Store(b)
			_, js, names := testenv.NATS(b)
			clock := clockwork.NewRealClock()
			// As httpfn wires it: the runner makes client spans and propagates when tracing is on.
			var tp trace.TracerProvider = noop.NewTracerProvider()
			hc := httpjob.Config{}
			if on {
				sdk := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()),
					sdktrace.WithSampler(telemetry.LinkedOrRatio(tc.ratio)), sdktrace.WithIDGenerator(telemetry.KeyIDGenerator()))
				b.Cleanup(func() { _ = sdk.Shutdown(context.Background()) })
				tp, hc.TracerProvider, hc.Propagate = sdk, sdk, true
			}
			runner := httpjob.New(clock, hc, egress.LoopbackPolicy())
			b.Cleanup(runner.Close)
			deps := executor.Deps{Store: st, Runner: runner, Publisher: queue.NewPublisher(js), Names: names, Clock: clock,
				Log: testenv.Logger(b), Tracer: tp, TraceSampleRatio: tc.ratio}
			rt, err := executor.New(domain.KindHTTP, "execute-http", deps, executor.Config{})
			require.NoError(b, err)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			b.Cleanup(srv.Close)
			j := testfactory.Job(b, st, testfactory.JobOpts{URL: srv.URL})
			base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
			evs := make([]cloudevents.Event, b.N)
			for i := range evs {
				at := base.Add(time.Duration(i) * time.Millisecond)
				d := event.DueFor(j, at, domain.TriggerSchedule, domain.ScheduledKey(j.ID, at))
				evs[i], err = event.NewDue(d, "/bench")
				require.NoError(b, err)
				if on {
					// As the tick sends it: the fire span's ids from the key, its flag from the ratio.
					tid, sid := telemetry.KeyIDs(d.IdempotencyKey)
					var flags trace.TraceFlags
					if sdktrace.TraceIDRatioBased(tc.ratio).ShouldSample(sdktrace.SamplingParameters{TraceID: tid}).Decision == sdktrace.RecordAndSample {
						flags = trace.FlagsSampled
					}
					sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags})
					event.SetTrace(&evs[i], fmt.Sprintf("00-%s-%s-%s", sc.TraceID(), sc.SpanID(), sc.TraceFlags()), "")
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := rt.Handle(context.Background(), evs[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestAStagedFireShowsItsWait(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	f := newTracedFixtureOn(t, st, nil, clockwork.NewRealClock())
	j := testfactory.Job(t, st, testfactory.JobOpts{URL: okTarget(t).URL,
		Retry: &domain.RetryPolicy{MaxAttempts: 3}})
	at := time.Now().UTC().Add(1500 * time.Millisecond).Truncate(time.Millisecond)
	require.NoError(t, f.rt.Handle(t.Context(), dueEvent(t, j, at)))

	consume := oneSpan(t, f.rec, "process "+f.names.DueSubject(domain.KindHTTP))
	wait := oneSpan(t, f.rec, "stage.wait")
	rec := oneSpan(t, f.rec, "execution.record")
	require.Equal(t, consume.SpanContext().SpanID(), wait.Parent().SpanID())
	require.False(t, wait.StartTime().Before(rec.EndTime()), "recorded ahead, then waits")
	require.False(t, wait.EndTime().Before(at), "the wait ends at the fire's instant")
	require.True(t, rec.StartTime().Before(at))
}

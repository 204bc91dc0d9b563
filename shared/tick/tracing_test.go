package tick_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/telemetry"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/tick"
)

// recorder returns a provider sampling every span, with the ids and sampler the functions use.
func recorder(t *testing.T) (*tracetest.SpanRecorder, trace.TracerProvider) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec),
		sdktrace.WithSampler(telemetry.LinkedOrRatio(1)), sdktrace.WithIDGenerator(telemetry.KeyIDGenerator()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return rec, tp
}

// headers consumes the due stream and keeps each message's ce-traceparent by message id.
type headers struct {
	mu     sync.Mutex
	parent map[string]string
}

func collectHeaders(t *testing.T, js jetstream.JetStream, names event.Names) *headers {
	t.Helper()
	c, err := js.CreateConsumer(t.Context(), names.DueStream(), jetstream.ConsumerConfig{AckPolicy: jetstream.AckExplicitPolicy})
	require.NoError(t, err)
	h := &headers{parent: map[string]string{}}
	cc, err := c.Consume(func(m jetstream.Msg) {
		h.mu.Lock()
		h.parent[m.Headers().Get(jetstream.MsgIDHeader)] = m.Headers().Get("ce-traceparent")
		h.mu.Unlock()
		_ = m.Ack()
	})
	require.NoError(t, err)
	t.Cleanup(cc.Stop)
	return h
}

func (h *headers) get(key string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.parent[key]
	return p, ok
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

func fireSpan(rec *tracetest.SpanRecorder, key string) (sdktrace.ReadOnlySpan, bool) {
	for _, s := range spansNamed(rec, "vecron.fire") {
		for _, a := range s.Attributes() {
			if a.Key == "vecron.idempotency_key" && a.Value.AsString() == key {
				return s, true
			}
		}
	}
	return nil, false
}

func linksTo(s sdktrace.ReadOnlySpan, sc trace.SpanContext) bool {
	for _, l := range s.Links() {
		if l.SpanContext.TraceID() == sc.TraceID() && l.SpanContext.SpanID() == sc.SpanID() {
			return true
		}
	}
	return false
}

func intAttr(s sdktrace.ReadOnlySpan, key attribute.Key) (int64, bool) {
	for _, a := range s.Attributes() {
		if a.Key == key {
			return a.Value.AsInt64(), true
		}
	}
	return 0, false
}

func traceparentOf(sc trace.SpanContext) string {
	return fmt.Sprintf("00-%s-%s-%s", sc.TraceID(), sc.SpanID(), sc.TraceFlags())
}

// A scheduled fire's span takes its ids from the fire's key, links to its claim, is linked by
// its batch, and is what the due message names as its trace parent.
func TestEngineTracesAScheduledFire(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	at := time.Now().UTC().Truncate(time.Second).Add(time.Second)
	j := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: at, Cron: "0 0 0 1 1 *"})
	key := domain.ScheduledKey(j.ID, at)
	h := collectHeaders(t, js, names)
	rec, tp := recorder(t)
	e, err := tick.New(st, queue.NewPublisher(js), names, clockwork.NewRealClock(), testenv.Logger(t), tick.Config{})
	require.NoError(t, err)
	e.SetTracer(tp, 1)
	stop := runEngine(t, e)
	parent := testenv.AwaitWithin(t, 15*time.Second, "the fire published", func() (string, bool) { return h.get(key) })
	stop()

	fire, ok := fireSpan(rec, key)
	require.True(t, ok, "a vecron.fire span for %s", key)
	tid, sid := telemetry.KeyIDs(key)
	require.Equal(t, tid, fire.SpanContext().TraceID(), "trace id from the key")
	require.Equal(t, sid, fire.SpanContext().SpanID(), "span id from the key")
	require.False(t, fire.Parent().IsValid(), "a scheduled fire is a root")
	require.Equal(t, traceparentOf(fire.SpanContext()), parent, "the event continues the fire span")

	var claimed bool
	for _, c := range spansNamed(rec, "tick.claim") {
		if n, _ := intAttr(c, "vecron.tick.fires_claimed"); n > 0 && linksTo(fire, c.SpanContext()) {
			claimed = true
			require.False(t, c.Parent().IsValid(), "a claim is a root")
			require.NotEqual(t, tid, c.SpanContext().TraceID(), "a claim has a trace of its own")
		}
	}
	require.True(t, claimed, "the fire links to the claim that planned it")

	var pub sdktrace.ReadOnlySpan
	for _, p := range spansNamed(rec, "publish vecron.due.http") {
		if p.Parent().SpanID() == sid {
			pub = p
		}
	}
	require.NotNil(t, pub, "a producer span under the fire")
	require.Equal(t, trace.SpanKindProducer, pub.SpanKind())

	var batched bool
	for _, b := range spansNamed(rec, "due.publish") {
		if linksTo(b, fire.SpanContext()) {
			batched = true
			n, ok := intAttr(b, "messaging.batch.message_count")
			require.True(t, ok)
			require.EqualValues(t, len(b.Links()), n, "one message per linked fire (all sampled)")
			require.True(t, linksTo(pub, b.SpanContext()), "the producer span links back to its batch")
			require.False(t, b.StartTime().After(pub.StartTime()), "the batch span starts when the batch began")
		}
	}
	require.True(t, batched, "the batch span links the fire")
}

// A fire whose due data names the request that started it is a child of that request's span,
// still with the key's span id.
func TestEngineTracesARequestedFireUnderItsRequest(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	j := testfactory.Job(t, st, testfactory.JobOpts{Cron: "0 0 0 1 1 *", NextRunAt: time.Now().Add(time.Hour)})
	now := testenv.DatabaseNow(t, url)
	key := domain.ScheduledKey(j.ID, now) + "-manual"
	request := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	payload := []byte(`{"job_id":"` + j.ID + `","kind":"http","trace":"` + request + `","tracestate":"k=v"}`)
	_, err := st.QueueFires(t.Context(), now, []domain.Fire{{Key: key, JobID: j.ID, Kind: domain.KindHTTP,
		Trigger: domain.TriggerManual, ScheduledAt: now, PublishAt: now, Payload: payload}})
	require.NoError(t, err)
	h := collectHeaders(t, js, names)
	rec, tp := recorder(t)
	e, err := tick.New(st, queue.NewPublisher(js), names, clockwork.NewRealClock(), testenv.Logger(t), tick.Config{})
	require.NoError(t, err)
	e.SetTracer(tp, 1)
	stop := runEngine(t, e)
	parent := testenv.AwaitWithin(t, 15*time.Second, "the fire published", func() (string, bool) { return h.get(key) })
	stop()

	fire, ok := fireSpan(rec, key)
	require.True(t, ok)
	require.Equal(t, "0af7651916cd43dd8448eb211c80319c", fire.SpanContext().TraceID().String(), "in the request's trace")
	require.Equal(t, "b7ad6b7169203331", fire.Parent().SpanID().String(), "a child of the request span")
	require.True(t, fire.Parent().IsRemote())
	_, sid := telemetry.KeyIDs(key)
	require.Equal(t, sid, fire.SpanContext().SpanID(), "span id from the key")
	require.Equal(t, "k=v", fire.SpanContext().TraceState().String())
	require.Equal(t, traceparentOf(fire.SpanContext()), parent)
}

// The misfires a claim records skipped are counted once it commits, by the timeline's reason.
func TestEngineCountsSkippedMisfires(t *testing.T) {
	t.Parallel()
	for name, lookahead := range map[string]time.Duration{"HeldClaims": 0, "OutboxClaims": 3 * time.Second} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st, _ := testfactory.Store(t)
			_, js, names := testenv.NATS(t)
			ns := "skips"
			// Down for a minute: fire_once (the default) runs the latest misfire and records the
			// others skipped, about 50 with a 10 s threshold.
			testfactory.Job(t, st, testfactory.JobOpts{Namespace: ns, NextRunAt: time.Now().Add(-time.Minute)})
			collectHeaders(t, js, names)
			reg := newRegistry(t)
			e, err := tick.New(st, queue.NewPublisher(js), names, clockwork.NewRealClock(), testenv.Logger(t),
				tick.Config{Lookahead: lookahead, MisfireThreshold: 10 * time.Second})
			require.NoError(t, err)
			require.NoError(t, e.SetMetrics(reg))
			stop := runEngine(t, e)
			testenv.Eventually(t, "the misfires counted", func() bool {
				return gather(t, reg, metric.JobSkipped, "namespace", ns, "kind", "http", "reason", "misfire_policy").value > 0
			})
			stop()
			n := gather(t, reg, metric.JobSkipped, "namespace", ns, "kind", "http", "reason", "misfire_policy").value
			require.InDelta(t, 50, n, 5, "each misfire recorded skipped counted once")
			require.Equal(t, n, gather(t, reg, metric.JobSkipped).value, "no other reason, namespace or kind")
		})
	}
}

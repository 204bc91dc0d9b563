package queue_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/delivery"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/testenv"
)

func newRegistry(t *testing.T) *metric.Registry {
	t.Helper()
	reg, err := metric.New(metric.Config{Function: "dev"})
	require.NoError(t, err)
	return reg
}

// sample returns the value of family name's series whose one label is value, false when there
// is none.
func sample(t *testing.T, reg *metric.Registry, name metric.Name, value string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != string(name) {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == value {
				if m.GetCounter() != nil {
					return m.GetCounter().GetValue(), true
				}
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

func requireSample(t *testing.T, reg *metric.Registry, name metric.Name, value string, want float64) {
	t.Helper()
	got, ok := sample(t, reg, name, value)
	require.True(t, ok, "%s{%s} has no sample", name, value)
	require.Equal(t, want, got, "%s{%s}", name, value)
}

func TestQueueSizeIsWhatNoExecutorAcknowledged(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	reg := newRegistry(t)
	clock := clockwork.NewFakeClock()
	require.NoError(t, queue.RegisterQueueSize(reg, js, names, clock))

	// No executor has made its consumer yet: the stream's messages of the kind are its backlog.
	publishDue(t, js, names, "a", "b", "c")
	requireSample(t, reg, metric.JobQueueSize, "http", 3)
	requireSample(t, reg, metric.JobQueueSize, "sql", 0)

	cons, err := js.CreateOrUpdateConsumer(t.Context(), names.DueStream(), jetstream.ConsumerConfig{
		Durable: names.DueConsumer(domain.KindHTTP), FilterSubject: names.DueSubject(domain.KindHTTP),
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute})
	require.NoError(t, err)
	publishDue(t, js, names, "d", "e")
	requireSample(t, reg, metric.JobQueueSize, "http", 3) // read again only after 5 s
	clock.Advance(5 * time.Second)
	requireSample(t, reg, metric.JobQueueSize, "http", 5)

	// Delivered and not acknowledged still counts; acknowledged no more.
	batch, err := cons.Fetch(2, jetstream.FetchMaxWait(5*time.Second))
	require.NoError(t, err)
	var got []jetstream.Msg
	for m := range batch.Messages() {
		got = append(got, m)
	}
	require.NoError(t, batch.Error())
	require.Len(t, got, 2)
	clock.Advance(5 * time.Second)
	requireSample(t, reg, metric.JobQueueSize, "http", 5)
	for _, m := range got {
		require.NoError(t, m.DoubleAck(t.Context()))
	}
	clock.Advance(5 * time.Second)
	requireSample(t, reg, metric.JobQueueSize, "http", 3)
}

// Without the due stream there is no backlog to tell, and no made-up 0 either.
func TestQueueSizeWithoutAStreamHasNoSample(t *testing.T) {
	t.Parallel()
	_, js, _ := testenv.NATS(t)
	reg := newRegistry(t)
	require.NoError(t, queue.RegisterQueueSize(reg, js, event.Names{Prefix: testenv.Name(t) + "none"}, clockwork.NewRealClock()))
	_, ok := sample(t, reg, metric.JobQueueSize, "http")
	require.False(t, ok)
}

func TestPullerCountsRedeliveries(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	reg := newRegistry(t)
	var calls atomic.Int32
	done := make(chan struct{})
	h := func(context.Context, cloudevents.Event) error {
		switch calls.Add(1) {
		case 1, 2:
			return &delivery.RetryError{After: 0, Err: errors.New("busy")}
		case 3:
			close(done)
		}
		return nil
	}
	p, err := queue.NewPuller(js, names, domain.KindHTTP, h, clockwork.NewRealClock(), queue.PullerConfig{Concurrency: 2}, testenv.Logger(t))
	require.NoError(t, err)
	p, err = p.WithMetrics(reg)
	require.NoError(t, err)
	requireSample(t, reg, metric.QueueRedeliveries, "http", 0)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- p.Run(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-stopped) })

	publishDue(t, js, names, "again")
	select {
	case <-done:
	case <-time.After(testenv.Timeout(30 * time.Second)):
		t.Fatal("the event was not delivered three times")
	}
	requireSample(t, reg, metric.QueueRedeliveries, "http", 2)
	requireSample(t, reg, metric.QueueRedeliveries, "sql", 0)
}

func TestPublisherCountsErrorsByStream(t *testing.T) {
	t.Parallel()
	_, js, stored := testenv.NATS(t)
	reg := newRegistry(t)
	// Names whose streams do not exist: nothing stores what is published on them.
	names := event.Names{Prefix: testenv.Name(t) + "none"}
	pub, err := queue.NewPublisher(js).WithMetrics(reg)
	require.NoError(t, err)
	msg := func(subject, id string) queue.Message {
		return queue.Message{Subject: subject, MsgID: id, Msg: nats.NewMsg(subject)}
	}
	ctx, cancel := context.WithTimeout(t.Context(), testenv.Timeout(20*time.Second))
	defer cancel()

	require.Error(t, pub.Publish(ctx, msg(names.DueSubject(domain.KindHTTP), "1")))
	for _, err := range pub.PublishBatch(ctx, []queue.Message{
		msg(names.EventSubject("io.vecron.execution.succeeded"), "2"), msg(names.EventSubject("io.vecron.execution.failed"), "3"),
	}) {
		require.Error(t, err)
	}
	require.Error(t, pub.PublishAsync(msg(names.DLQSubject(domain.KindSQL), "4")).Wait(ctx))

	requireSample(t, reg, metric.QueuePublishErrors, "due", 1)
	requireSample(t, reg, metric.QueuePublishErrors, "events", 2)
	requireSample(t, reg, metric.QueuePublishErrors, "dlq", 1)

	// A stored message counts nothing; the publisher without metrics counts nowhere.
	require.NoError(t, pub.Publish(ctx, msg(stored.DueSubject(domain.KindHTTP), "5")))
	require.Error(t, queue.NewPublisher(js).Publish(ctx, msg(names.DueSubject(domain.KindHTTP), "6")))
	requireSample(t, reg, metric.QueuePublishErrors, "due", 1)
}

package queue_test

import (
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/testenv"
)

// The lag an autoscaler reads is the backlog vecron_job_queue_size reports, at every step: before
// the consumer exists, while messages are delivered and not acknowledged, and once they are.
func TestLagIsTheQueueSize(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	in := queue.NewInspector(js, names)
	reg := newRegistry(t)
	clock := clockwork.NewFakeClock()
	require.NoError(t, queue.RegisterQueueSize(reg, js, names, clock))
	requireLag := func(kind domain.JobKind, want int64) {
		t.Helper()
		got, err := in.Lag(t.Context(), kind)
		require.NoError(t, err)
		require.Equal(t, want, got, "lag of %s", kind)
		clock.Advance(5 * time.Second) // past the collector's cache
		requireSample(t, reg, metric.JobQueueSize, string(kind), float64(want))
	}

	requireLag(domain.KindHTTP, 0)
	// No executor has made its consumer: the stream's messages of the kind are the lag, and
	// another kind's are not.
	publishDue(t, js, names, "a", "b", "c")
	requireLag(domain.KindHTTP, 3)
	requireLag(domain.KindSQL, 0)

	cons, err := js.CreateOrUpdateConsumer(t.Context(), names.DueStream(), jetstream.ConsumerConfig{
		Durable: names.DueConsumer(domain.KindHTTP), FilterSubject: names.DueSubject(domain.KindHTTP),
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute})
	require.NoError(t, err)
	publishDue(t, js, names, "d", "e")
	requireLag(domain.KindHTTP, 5)

	// Handed out and not acknowledged is still lag (an executor works on it); acknowledged is not.
	batch, err := cons.Fetch(2, jetstream.FetchMaxWait(5*time.Second))
	require.NoError(t, err)
	var got []jetstream.Msg
	for m := range batch.Messages() {
		got = append(got, m)
	}
	require.NoError(t, batch.Error())
	require.Len(t, got, 2)
	requireLag(domain.KindHTTP, 5)
	for _, m := range got {
		require.NoError(t, m.DoubleAck(t.Context()))
	}
	requireLag(domain.KindHTTP, 3)
}

// Without the due stream the lag is an error naming the consumer, never a 0 that would scale an
// executor down while the broker cannot be read.
func TestLagWithoutAStreamIsAnError(t *testing.T) {
	t.Parallel()
	_, js, _ := testenv.NATS(t)
	names := event.Names{Prefix: testenv.Name(t) + "none"}
	_, err := queue.NewInspector(js, names).Lag(t.Context(), domain.KindHTTP)
	require.ErrorIs(t, err, jetstream.ErrStreamNotFound)
	require.ErrorContains(t, err, names.DueConsumer(domain.KindHTTP))
}

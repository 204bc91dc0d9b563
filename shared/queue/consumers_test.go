package queue_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/testenv"
)

// consumerInfo returns kind's due consumer as the server holds it.
func consumerInfo(t *testing.T, js jetstream.JetStream, names event.Names, kind domain.JobKind) *jetstream.ConsumerInfo {
	t.Helper()
	c, err := js.Consumer(t.Context(), names.DueStream(), names.DueConsumer(kind))
	require.NoError(t, err)
	info, err := c.Info(t.Context())
	require.NoError(t, err)
	return info
}

// startPuller runs a puller of kind with cfg until the test ends, and waits until it pulls: its
// consumer is made (or updated) by then.
func startPuller(t *testing.T, js jetstream.JetStream, names event.Names, kind domain.JobKind, cfg queue.PullerConfig, h queue.Handler) {
	t.Helper()
	p, err := queue.NewPuller(js, names, kind, h, clockwork.NewRealClock(), cfg, testenv.Logger(t))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	testenv.Eventually(t, "the puller pulls", func() bool {
		c, err := js.Consumer(t.Context(), names.DueStream(), names.DueConsumer(kind))
		if err != nil {
			return false
		}
		info, err := c.Info(t.Context())
		return err == nil && info.NumWaiting > 0
	})
}

// The consumers made ahead are each exactly the one its kind's executor makes with its default
// pull settings: the puller starting on it changes nothing (neither its settings nor its
// creation: it is the same consumer), and it delivers to that puller. The negative control
// shows the comparison sees a difference: made ahead with other settings, the puller's own
// replace them.
func TestDueConsumersMadeAheadAreThePullers(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	require.NoError(t, queue.EnsureDueConsumers(t.Context(), js, names))
	for _, kind := range queue.DueKinds() {
		ahead := consumerInfo(t, js, names, kind)
		require.Equal(t, names.DueSubject(kind), ahead.Config.FilterSubject)
		require.Equal(t, jetstream.AckExplicitPolicy, ahead.Config.AckPolicy)

		var got atomic.Int32
		startPuller(t, js, names, kind, queue.DefaultPullerConfigOf(kind), func(context.Context, cloudevents.Event) error {
			got.Add(1)
			return nil
		})
		after := consumerInfo(t, js, names, kind)
		require.Equal(t, ahead.Config, after.Config, "kind %s", kind)
		require.Equal(t, ahead.Created, after.Created, "kind %s: the same consumer", kind)

		wake := event.NewWake(kind, time.Now(), "/test")
		msg, err := event.ToNATS(t.Context(), wake)
		require.NoError(t, err)
		msg.Subject = names.DueSubject(kind)
		_, err = js.PublishMsg(t.Context(), msg)
		require.NoError(t, err)
		testenv.Eventually(t, "the wake acknowledged through the consumer made ahead", func() bool {
			return consumerInfo(t, js, names, kind).AckFloor.Stream > 0
		})
		require.Zero(t, got.Load(), "a wake never reaches the handler")
	}

	// The control: with another concurrency the puller's consumer differs, so the equality above
	// is not vacuous.
	_, js2, names2 := testenv.NATS(t)
	require.NoError(t, queue.EnsureDueConsumers(t.Context(), js2, names2))
	ahead := consumerInfo(t, js2, names2, domain.KindHTTP)
	startPuller(t, js2, names2, domain.KindHTTP, queue.PullerConfig{Concurrency: 3, MaxStaged: 4000}, func(context.Context, cloudevents.Event) error { return nil })
	require.NotEqual(t, ahead.Config.MaxAckPending, consumerInfo(t, js2, names2, domain.KindHTTP).Config.MaxAckPending)
}

// The sql kind's consumer is made with the sql executor's own default concurrency, not the
// http one's: the two consumers differ, each its kind's.
func TestDueConsumerConfigIsPerKind(t *testing.T) {
	t.Parallel()
	names := event.Names{Prefix: "x"}
	http := queue.DueConsumerConfig(names, domain.KindHTTP, queue.DefaultPullerConfigOf(domain.KindHTTP))
	sql := queue.DueConsumerConfig(names, domain.KindSQL, queue.DefaultPullerConfigOf(domain.KindSQL))
	require.Equal(t, "execute-http", http.Durable)
	require.Equal(t, "execute-sql", sql.Durable)
	require.Equal(t, "x.due.sql", sql.FilterSubject)
	require.Equal(t, queue.SQLConcurrencyDefault, queue.DefaultPullerConfigOf(domain.KindSQL).Concurrency)
	require.Equal(t, queue.ConcurrencyDefault, queue.DefaultPullerConfigOf(domain.KindHTTP).Concurrency)
	require.Greater(t, http.MaxAckPending, sql.MaxAckPending)
	// Zero settings are the defaults, as the puller reads them.
	require.Equal(t, http, queue.DueConsumerConfig(names, domain.KindHTTP, queue.PullerConfig{}))
}

// A consumer that exists is never changed, whatever its settings (an executor with other pull
// settings made it its own), and ensuring again, or from many processes at once, makes each
// consumer once and fails nowhere.
func TestEnsureDueConsumersLeavesExistingOnes(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	ensureLeavesExisting(t, js, names)
}

// The same on a current server (the embedded one, 2.10 or later), which honours the "create
// only" action: a consumer made between the look-up and the create is refused as existing,
// which EnsureDueConsumers takes as there. testenv's server may be older (2.9 ignores the
// action), so this path is run here.
func TestEnsureDueConsumersOnACurrentServer(t *testing.T) {
	t.Parallel()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	require.NoError(t, err)
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	require.True(t, ns.ReadyForConnections(10*time.Second))
	nc, err := nats.Connect(ns.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	names := event.Names{Prefix: "vecron"}
	require.NoError(t, queue.EnsureStreams(t.Context(), js, names, queue.StreamsConfig{}))

	// What EnsureDueConsumers relies on when it loses the race to a puller.
	own := queue.DueConsumerConfig(names, domain.KindSQL, queue.PullerConfig{Concurrency: 5})
	_, err = js.CreateConsumer(t.Context(), names.DueStream(), own)
	require.NoError(t, err)
	_, err = js.CreateConsumer(t.Context(), names.DueStream(), queue.DueConsumerConfig(names, domain.KindSQL, queue.DefaultPullerConfigOf(domain.KindSQL)))
	require.ErrorIs(t, err, jetstream.ErrConsumerExists)
	require.NoError(t, js.DeleteConsumer(t.Context(), names.DueStream(), own.Durable))

	ensureLeavesExisting(t, js, names)
}

// ensureLeavesExisting makes the http consumer with settings of its own, ensures the consumers
// from several goroutines at once, and requires the http one unchanged, the sql one made, and
// nothing else.
func ensureLeavesExisting(t *testing.T, js jetstream.JetStream, names event.Names) {
	t.Helper()
	own := queue.DueConsumerConfig(names, domain.KindHTTP, queue.PullerConfig{Concurrency: 8, AckWait: 9 * time.Second})
	_, err := js.CreateConsumer(t.Context(), names.DueStream(), own)
	require.NoError(t, err)
	before := consumerInfo(t, js, names, domain.KindHTTP)

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- queue.EnsureDueConsumers(t.Context(), js, names) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	after := consumerInfo(t, js, names, domain.KindHTTP)
	require.Equal(t, before.Config, after.Config)
	require.Equal(t, 9*time.Second, after.Config.AckWait)
	require.Equal(t, before.Created, after.Created)

	sql := consumerInfo(t, js, names, domain.KindSQL)
	require.NoError(t, queue.EnsureDueConsumers(t.Context(), js, names))
	require.Equal(t, sql.Created, consumerInfo(t, js, names, domain.KindSQL).Created)

	s, err := js.Stream(t.Context(), names.DueStream())
	require.NoError(t, err)
	var n int
	for range s.ListConsumers(t.Context()).Info() {
		n++
	}
	require.Equal(t, 2, n, "one consumer per kind, nothing else")
}

// Without the due stream (EnsureStreams not run first), the error names the consumer.
func TestEnsureDueConsumersWithoutTheStream(t *testing.T) {
	t.Parallel()
	_, js, _ := testenv.NATS(t)
	err := queue.EnsureDueConsumers(t.Context(), js, event.Names{Prefix: testenv.Name(t) + "none"})
	require.ErrorContains(t, err, "execute-http")
}

package queue_test

import (
	"context"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/testenv"
)

// publishDueAt publishes one due event per key, scheduled at at.
func publishDueAt(t *testing.T, js jetstream.JetStream, names event.Names, at time.Time, keys ...string) {
	t.Helper()
	var msgs []queue.Message
	for _, k := range keys {
		d := event.Due{JobID: "job-" + k, Kind: domain.KindHTTP, HTTP: &domain.HTTPSpec{URL: "http://x.test"},
			ScheduledAt: at, Trigger: domain.TriggerSchedule, IdempotencyKey: k}
		ev, err := event.NewDue(d, "/test")
		require.NoError(t, err)
		msg, err := event.ToNATS(t.Context(), ev)
		require.NoError(t, err)
		msgs = append(msgs, queue.Message{Subject: names.DueSubject(domain.KindHTTP), MsgID: k, Msg: msg})
	}
	for _, err := range queue.NewPublisher(js).PublishBatch(t.Context(), msgs) {
		require.NoError(t, err)
	}
}

// TestPullerHoldsEarlyFiresUntilTheirInstantWithoutHoldingSlots: fires published ahead of their
// instant run at it, not before; while they wait they hold no execution slot, so a fire due now
// runs at once even with one slot and a herd staged.
func TestPullerHoldsEarlyFiresUntilTheirInstantWithoutHoldingSlots(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	var (
		mu    sync.Mutex
		ran   = map[string]time.Time{}
		calls = map[string]int{}
	)
	h := func(_ context.Context, ev cloudevents.Event) error {
		mu.Lock()
		ran[ev.ID()] = time.Now()
		calls[ev.ID()]++
		mu.Unlock()
		return nil
	}
	runPuller(t, js, names, queue.PullerConfig{Concurrency: 1, AckWait: 300 * time.Millisecond}, h)
	// Further ahead than the ack wait: progress signals keep them from being redelivered.
	at := time.Now().Add(1500 * time.Millisecond)
	publishDueAt(t, js, names, at, "early-1", "early-2", "early-3", "early-4")
	publishDueAt(t, js, names, time.Now(), "now")
	testenv.Eventually(t, "the fire due now", func() bool {
		mu.Lock()
		defer mu.Unlock()
		_, ok := ran["now"]
		return ok
	})
	mu.Lock()
	require.True(t, ran["now"].Before(at), "the fire due now waited for the staged ones")
	require.Len(t, ran, 1, "a staged fire ran before its instant")
	mu.Unlock()
	testenv.Eventually(t, "the staged fires", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(ran) == 5
	})
	mu.Lock()
	defer mu.Unlock()
	for k, when := range ran {
		if k != "now" {
			require.False(t, when.Before(at), "%s ran %s before its instant", k, at.Sub(when))
		}
	}
	testenv.Eventually(t, "all acknowledged", func() bool { return pending(t, js, names) == 0 })
	// Held past three ack waits and then queued for the one slot, none was redelivered.
	for k, n := range calls {
		require.Equal(t, 1, n, "%s handled %d times", k, n)
	}
}

// TestPullerHandsStagedFiresBackOnShutdown: a worker that stops gives the fires it holds for
// later instants back at once, for another worker to run at their instants.
func TestPullerHandsStagedFiresBackOnShutdown(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	var (
		mu  sync.Mutex
		ran []string
	)
	h := func(_ context.Context, ev cloudevents.Event) error {
		mu.Lock()
		ran = append(ran, ev.ID())
		mu.Unlock()
		return nil
	}
	stop := runPuller(t, js, names, queue.PullerConfig{Concurrency: 2, AckWait: time.Minute}, h)
	at := time.Now().Add(3 * time.Second)
	publishDueAt(t, js, names, at, "a", "b", "c")
	testenv.Eventually(t, "the fires fetched and staged", func() bool {
		c, err := js.Consumer(t.Context(), names.DueStream(), names.DueConsumer(domain.KindHTTP))
		if err != nil {
			return false
		}
		info, err := c.Info(t.Context())
		return err == nil && info.NumAckPending == 3
	})
	stop()
	mu.Lock()
	require.Empty(t, ran)
	mu.Unlock()
	require.EqualValues(t, 3, pending(t, js, names))

	// Another worker gets them long before the minute of ack wait, and runs them at the instant.
	runPuller(t, js, names, queue.PullerConfig{Concurrency: 2, AckWait: time.Minute}, h)
	testenv.Eventually(t, "the fires handed back", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(ran) == 3
	})
	require.False(t, time.Now().Before(at))
}

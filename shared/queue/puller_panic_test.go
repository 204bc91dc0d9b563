package queue_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/testenv"
)

// A handler that panics has its event redelivered, and the puller goes on with the others.
func TestPullerRedeliversAnEventWhoseHandlerPanicked(t *testing.T) {
	t.Parallel()
	const secret = "tok-0c9e4f7b-puller-secret"
	_, js, names := testenv.NATS(t)
	handled := make(chan string, 10)
	var mu sync.Mutex
	calls := map[string]int{}
	h := func(_ context.Context, ev cloudevents.Event) error {
		mu.Lock()
		calls[ev.ID()]++
		n := calls[ev.ID()]
		mu.Unlock()
		if ev.ID() == "boom" && n == 1 {
			panic("driver bug: cannot call https://x.test/?t=" + secret)
		}
		handled <- ev.ID()
		return nil
	}
	logs := &testenv.LogBuffer{}
	p, err := queue.NewPuller(js, names, domain.KindHTTP, h, clockwork.NewRealClock(), queue.PullerConfig{Concurrency: 2},
		slog.New(slog.NewJSONHandler(logs, nil)))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()

	pub := queue.NewPublisher(js)
	for _, key := range []string{"boom", "ok"} {
		ev, err := event.NewDue(event.Due{JobID: "job-" + key, Kind: domain.KindHTTP, HTTP: &domain.HTTPSpec{URL: "http://x.test"},
			ScheduledAt: time.Now().UTC(), Trigger: domain.TriggerSchedule, IdempotencyKey: key}, "/test")
		require.NoError(t, err)
		msg, err := event.ToNATS(t.Context(), ev)
		require.NoError(t, err)
		require.NoError(t, pub.Publish(t.Context(), queue.Message{Subject: names.DueSubject(domain.KindHTTP), MsgID: key, Msg: msg}))
	}

	got := map[string]bool{}
	for len(got) < 2 {
		select {
		case id := <-handled:
			got[id] = true
		case <-time.After(15 * time.Second):
			t.Fatalf("handled only %v", got)
		}
	}
	mu.Lock()
	require.Equal(t, map[string]int{"boom": 2, "ok": 1}, calls, "the panicked event came back")
	mu.Unlock()
	require.Contains(t, logs.String(), `"msg":"event handler panicked"`)
	require.Contains(t, logs.String(), "TestPullerRedeliversAnEventWhoseHandlerPanicked", "the log line holds the stack")
	require.NotContains(t, logs.String(), secret)
}

package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/queue"
)

// NATS connects to JetStream and creates vecron's streams under names of t's own; the streams
// are deleted and the connection closed when t ends.
func NATS(t testing.TB) (*nats.Conn, jetstream.JetStream, event.Names) {
	t.Helper()
	nc, err := nats.Connect(NATSURL(t))
	if err != nil {
		t.Fatalf("connect to %s: %v", natsService.env, err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(16384))
	if err != nil {
		t.Fatal(err)
	}
	names := event.Names{Prefix: Name(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := queue.EnsureStreams(ctx, js, names, queue.StreamsConfig{}); err != nil {
		t.Fatalf("create streams: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := queue.DeleteStreams(ctx, js, names); err != nil {
			t.Errorf("delete streams: %v", err)
		}
		nc.Close()
	})
	return nc, js, names
}

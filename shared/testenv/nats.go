package testenv

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/queue"
)

// anchorStream is never deleted. A NATS server (2.9) removes an account's stream directory when
// its last stream goes, and a stream created by a parallel test at that moment fails with
// "could not create storage directory"; with one stream always there, the directory stays.
const anchorStream = "VECRON_TESTENV_ANCHOR"

var anchorOnce sync.Once

// anchor creates anchorStream once per test binary, trying again while the race it prevents
// can still happen.
func anchor(ctx context.Context, js jetstream.JetStream) (err error) {
	anchorOnce.Do(func() {
		for range 5 {
			_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: anchorStream,
				Subjects: []string{"vecron.testenv.anchor"}, MaxMsgs: 1})
			if err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return err
}

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
	if err := anchor(ctx, js); err != nil {
		t.Fatalf("create the anchor stream: %v", err)
	}
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

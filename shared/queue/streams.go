// Package queue is vecron's NATS JetStream adapter: it creates the streams and consumers, publishes
// events asynchronously in batches with de-duplication ids, and pulls due events for executors.
package queue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vecron/vecron/shared/event"
)

// Defaults of StreamsConfig.
const (
	DedupWindowDefault  = 2 * time.Minute
	EventsMaxAgeDefault = 24 * time.Hour
)

// StreamsConfig shapes the streams.
type StreamsConfig struct {
	// DedupWindow is how long JetStream remembers a Nats-Msg-Id, so a fire republished by the
	// relay within it is stored once.
	DedupWindow time.Duration `koanf:"dedup_window" usage:"how long JetStream drops a republished fire (≥ 2m)"`
	// EventsMaxAge bounds how long lifecycle events are kept.
	EventsMaxAge time.Duration `koanf:"events_max_age" usage:"how long lifecycle events are kept"`
	// Replicas is the stream replica count (1 on a single server, 3 on a cluster).
	Replicas int `koanf:"replicas" usage:"JetStream stream replicas"`
}

// DefaultStreamsConfig returns the configuration zero fields fall back to.
func DefaultStreamsConfig() StreamsConfig {
	return StreamsConfig{DedupWindow: DedupWindowDefault, EventsMaxAge: EventsMaxAgeDefault, Replicas: 1}
}

// EnsureStreams creates vecron's streams, or updates them to cfg when they exist.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, names event.Names, cfg StreamsConfig) error {
	dedup := cmp.Or(cfg.DedupWindow, DedupWindowDefault)
	if dedup < DedupWindowDefault {
		return fmt.Errorf("queue.dedup_window: %s is shorter than the %s a relayed fire may take", dedup, DedupWindowDefault)
	}
	replicas := cmp.Or(cfg.Replicas, 1)
	streams := []jetstream.StreamConfig{{
		Name:        names.DueStream(),
		Description: "vecron due fires, one message per fire, removed when an executor acknowledges it",
		Subjects:    []string{names.DueSubjects()},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Duplicates:  dedup,
		Replicas:    replicas,
	}, {
		Name:        names.EventsStream(),
		Description: "vecron execution lifecycle events",
		Subjects:    []string{names.EventsSubjects()},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		MaxAge:      cmp.Or(cfg.EventsMaxAge, EventsMaxAgeDefault),
		Duplicates:  dedup,
		Replicas:    replicas,
	}, {
		// Kept until deleted: the database says what became of each; this is their feed.
		Name:        names.DLQStream(),
		Description: "vecron dead-lettered executions: every attempt failed",
		Subjects:    []string{names.DLQSubjects()},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Duplicates:  dedup,
		Replicas:    replicas,
	}}
	for _, sc := range streams {
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("ensure stream %s: %w", sc.Name, err)
		}
	}
	return nil
}

// DeleteStreams removes vecron's streams; tests use it to clean up after themselves.
func DeleteStreams(ctx context.Context, js jetstream.JetStream, names event.Names) error {
	var errs []error
	for _, name := range []string{names.DueStream(), names.EventsStream(), names.DLQStream()} {
		if err := js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			errs = append(errs, fmt.Errorf("delete stream %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

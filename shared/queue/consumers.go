package queue

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
)

// SQLConcurrencyDefault is the pull.concurrency of sql jobs' executors: a sql job waits for one
// of sql.max_conns_per_target connections, within its timeout, so more executions in flight
// than a few targets' connections only queue there and time out.
const SQLConcurrencyDefault = 32

// DueKinds returns the job kinds that have a due subject and a durable consumer each.
func DueKinds() []domain.JobKind { return []domain.JobKind{domain.KindHTTP, domain.KindSQL} }

// DefaultPullerConfigOf returns the pull settings kind's executor runs with when none are set:
// the consumer EnsureDueConsumers makes ahead is the one such an executor makes.
func DefaultPullerConfigOf(kind domain.JobKind) PullerConfig {
	cfg := DefaultPullerConfig()
	if kind == domain.KindSQL {
		cfg.Concurrency = SQLConcurrencyDefault
	}
	return cfg
}

// DueConsumerConfig returns the durable consumer of kind's due events as a puller with cfg makes
// it. The puller and EnsureDueConsumers both build it here, so a consumer made ahead is the
// puller's: starting the puller then changes nothing.
func DueConsumerConfig(names event.Names, kind domain.JobKind, cfg PullerConfig) jetstream.ConsumerConfig {
	cfg = cfg.withDefaults()
	return jetstream.ConsumerConfig{
		Durable:       names.DueConsumer(kind),
		Description:   "vecron executor for " + string(kind) + " jobs",
		FilterSubject: names.DueSubject(kind),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxAckPending: maxAckPending(cfg.Concurrency, cfg.MaxStaged),
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
}

// EnsureDueConsumers makes the durable consumer of every kind's due events that does not exist
// yet, as an executor with its kind's default pull settings would (DefaultPullerConfigOf), so
// that the consumers exist before any executor runs: KEDA's nats-jetstream scaler reads a
// consumer's lag and reports an error for one that is missing, which it is while executors are
// at zero (docs/deploy.md §5). A consumer that exists is left as it is, whatever its settings:
// an executor started with other pull settings made it its own, and only that executor's
// puller updates it. It returns an error naming the consumer it could not make.
func EnsureDueConsumers(ctx context.Context, js jetstream.JetStream, names event.Names) error {
	stream := names.DueStream()
	for _, kind := range DueKinds() {
		cfg := DueConsumerConfig(names, kind, DefaultPullerConfigOf(kind))
		// Looked up first: a NATS server before 2.10 ignores the "create only" action and
		// would update an existing consumer to these settings.
		_, err := js.Consumer(ctx, stream, cfg.Durable)
		if err == nil {
			continue
		}
		if !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return fmt.Errorf("ensure consumer %s: %w", cfg.Durable, err)
		}
		// Made meanwhile by another process: with these settings the server answers with it,
		// with others (a puller's) it refuses, and either way it is there.
		if _, err := js.CreateConsumer(ctx, stream, cfg); err != nil && !errors.Is(err, jetstream.ErrConsumerExists) {
			return fmt.Errorf("ensure consumer %s: %w", cfg.Durable, err)
		}
	}
	return nil
}

package queue

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
)

// Lag returns kind's backlog as KEDA's nats-jetstream scaler reads it: NumPending +
// NumAckPending of the kind's durable consumer, the number vecron_job_queue_size reports. A
// kind whose consumer does not exist yet counts the due stream's messages on its subject: in a
// work queue nothing else removes them, so they are exactly what its executor will be handed. It
// returns an error when the broker cannot be asked, never a made-up 0.
func (i *Inspector) Lag(ctx context.Context, kind domain.JobKind) (int64, error) {
	n, err := dueLag(ctx, i.js, i.names, kind)
	if err != nil {
		return 0, fmt.Errorf("read the lag of %s: %w", i.names.DueConsumer(kind), err)
	}
	return n, nil
}

// dueLag is Lag, shared with QueueSize.
//
// The fallback to the stream's count covers a consumer not made yet (an executor never started,
// or scaled to zero since install). Once every function ensures the due consumers at start
// (docs/deploy.md §5, queue.EnsureDueConsumers) it is only a safety net; KEDA itself reports
// "consumer not found" there instead.
func dueLag(ctx context.Context, js jetstream.JetStream, names event.Names, kind domain.JobKind) (int64, error) {
	cons, err := js.Consumer(ctx, names.DueStream(), names.DueConsumer(kind))
	if err == nil {
		info := cons.CachedInfo()
		return int64(info.NumPending) + int64(info.NumAckPending), nil
	}
	if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return 0, err
	}
	stream, err := js.Stream(ctx, names.DueStream())
	if err != nil {
		return 0, err
	}
	subject := names.DueSubject(kind)
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return 0, err
	}
	return int64(info.State.Subjects[subject]), nil
}

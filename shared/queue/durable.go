package queue

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
)

// ConsumeDurable makes the durable consumer cfg on stream and calls consume with it until ctx
// ends. A consumer that cannot be made (its stream does not exist yet) is retried with a growing
// delay. When consume returns nil while ctx is live — its iterator closed, or ConsumerGone said
// so: the consumer was deleted by an operator or with its stream — the consumer is made again
// and consume called anew: a process that only returned then would go on answering its probes
// and never take a message again until restarted. It returns consume's error, or nil once ctx
// ended.
func ConsumeDurable(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.ConsumerConfig, clock clockwork.Clock, log *slog.Logger,
	consume func(jetstream.Consumer) error,
) error {
	for {
		cons, ok := makeConsumer(ctx, js, stream, cfg, clock, log)
		if !ok {
			return nil
		}
		if err := consume(cons); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		log.Warn("the consumer is gone; making it again", "consumer", cfg.Durable)
		select {
		case <-ctx.Done():
			return nil
		case <-clock.After(time.Second):
		}
	}
}

// makeConsumer creates or updates cfg on stream, retrying until it can; false when ctx ended
// first.
func makeConsumer(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.ConsumerConfig, clock clockwork.Clock, log *slog.Logger) (jetstream.Consumer, bool) {
	wait := time.Second
	for ; ; wait = min(2*wait, 30*time.Second) {
		cons, err := js.CreateOrUpdateConsumer(ctx, stream, cfg)
		if err == nil {
			return cons, true
		}
		if ctx.Err() != nil {
			return nil, false
		}
		log.Warn("create the consumer; retrying", "consumer", cfg.Durable, "error", err, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return nil, false
		case <-clock.After(wait):
		}
	}
}

// ConsumerGone reports whether err, from an iterator of cons, is because cons no longer exists:
// the server said so, or pulls went unanswered and the server does not know the consumer (a
// pull to a consumer deleted before it was made gets no answer, only missed heartbeats; a pull
// expiry shorter than the client's default 30 s notices that sooner).
func ConsumerGone(ctx context.Context, cons jetstream.Consumer, err error) bool {
	if errors.Is(err, jetstream.ErrConsumerDeleted) {
		return true
	}
	_, err = cons.Info(ctx)
	return errors.Is(err, jetstream.ErrConsumerNotFound)
}

// ReturnBuffered hands the messages it fetched but not yet given out back to the stream at once
// (a nak each), for another replica, rather than letting them wait out their ack wait; it
// returns once it is closed. it must be draining (MessagesContext.Drain), or it never closes.
func ReturnBuffered(it jetstream.MessagesContext, log *slog.Logger) {
	for {
		msg, err := it.Next()
		if err != nil {
			return
		}
		Nak(msg, log)
	}
}

// Nak hands msg back for redelivery now, logging a failure to.
func Nak(msg jetstream.Msg, log *slog.Logger) {
	if err := msg.Nak(); err != nil {
		log.Warn("return a message on shutdown", "subject", msg.Subject(), "error", err)
	}
}

package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
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

// Pull says how ConsumeEach pulls the messages of a consumer and hands them out.
type Pull struct {
	// Name names the consumer in the error of a pull that cannot start.
	Name string
	// Expiry is how long one pull request waits on the server: a pull to a consumer deleted
	// before it was made gets no answer, only missed heartbeats, and a shorter expiry than the
	// client's default 30 s notices that sooner (ConsumerGone).
	Expiry time.Duration
	// Slots bounds the messages handled at once, and its capacity how many a pull fetches
	// ahead. A message is taken only once a slot is free, and its handler holds the slot until
	// it calls release or returns.
	Slots chan struct{}
	// Group counts the handlers' goroutines.
	Group *sync.WaitGroup
	Clock clockwork.Clock
	Log   *slog.Logger
	// Failed is told of a failed pull the iterator recovers from on its own (missed heartbeats
	// and the like); the next pull waits a second.
	Failed func(error)
}

// ConsumeEach hands each message of cons to handle, in a goroutine of p.Group holding a slot of
// p.Slots, until ctx ends or the iterator closes (the consumer was deleted, the connection
// closed); it then returns nil, or the error of a pull that could not start. When ctx ends, the
// messages fetched ahead and not handed out go back to the stream at once (Drain, then a nak
// each) for another replica, rather than waiting out their ack wait; handlers already started
// go on.
func ConsumeEach(ctx context.Context, cons jetstream.Consumer, p Pull, handle func(msg jetstream.Msg, release func())) error {
	it, err := cons.Messages(jetstream.PullMaxMessages(cap(p.Slots)), jetstream.PullExpiry(p.Expiry))
	if err != nil {
		return fmt.Errorf("consume %s: %w", p.Name, err)
	}
	stop := context.AfterFunc(ctx, it.Drain)
	defer stop()
	for {
		select {
		case p.Slots <- struct{}{}:
		case <-ctx.Done():
			ReturnBuffered(it, p.Log)
			return nil
		}
		msg, err := it.Next()
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			<-p.Slots
			return nil
		}
		if err != nil {
			<-p.Slots
			if ConsumerGone(ctx, cons, err) {
				it.Stop()
				return nil
			}
			p.Failed(err)
			select {
			case <-ctx.Done():
			case <-p.Clock.After(time.Second):
			}
			continue
		}
		if ctx.Err() != nil {
			<-p.Slots
			Nak(msg, p.Log)
			ReturnBuffered(it, p.Log)
			return nil
		}
		p.Group.Go(func() {
			release := sync.OnceFunc(func() { <-p.Slots })
			defer release()
			handle(msg, release)
		})
	}
}

package queue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vecron/vecron/shared/delivery"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/metric"
)

// Defaults of PullerConfig.
const (
	// ConcurrencyDefault is sized by measurement (docs/bench-lateness.md): an execution spends
	// about 30 ms of round trips to the database and the broker on this 2-core machine, so 32
	// slots capped an executor near 1 100 fires a second and left each second's fires queued
	// behind them; 256 keeps 1 000 fires due on one instant flowing.
	ConcurrencyDefault = 256
	// AckWaitDefault is short so that the fires a dead worker held come back within seconds;
	// a handler signals progress every AckWait/3 while it works.
	AckWaitDefault = 4 * time.Second
	// MaxStagedDefault bounds the events a worker holds ahead of their instants beside those it
	// works on: the thousand fires a second that are staged half a second ahead, twice over.
	// Holding four times more let a worker stage 5 000 fires a second, but against NATS 2.9.10 a
	// worker holding some 4 000 events lost its pull requests every 10–20 s (no heartbeat), and
	// delivered 600–2 700 fires a second instead of 4 300.
	MaxStagedDefault = 1024
)

// PullerConfig configures a pull consumer.
type PullerConfig struct {
	// Concurrency bounds the events handled at once (and the messages fetched ahead).
	Concurrency int `koanf:"concurrency" usage:"events handled at once"`
	// MaxStaged bounds the events held, beside those handled, while they wait for their
	// instants (see delivery.Slot).
	MaxStaged int `koanf:"max_staged" usage:"events held ahead of their instants, beside those handled"`
	// AckWait is how long JetStream waits for an acknowledgement before redelivering; a long
	// handler keeps its message with progress signals every AckWait/3.
	AckWait time.Duration `koanf:"ack_wait" usage:"redelivery timeout of an unacknowledged event"`
	// Grace is how long in-flight handlers may run on after shutdown begins; then their context
	// is cancelled with cause delivery.ErrShutdown. Zero waits for them however long they take.
	Grace time.Duration `koanf:"-"`
}

// pullExpiry is how long one pull request waits; see Run.
const pullExpiry = 4 * time.Second

// maxAckPending is the consumer's MaxAckPending for a puller of concurrency slots and maxStaged
// staged events: twice what one process holds (one event a slot, one a slot fetched ahead, and
// the staged ones), so that neither one worker nor a second one beside it brings the consumer to
// the limit. A consumer at its limit gets no message until one is settled.
func maxAckPending(concurrency, maxStaged int) int {
	return max(1000, 2*(2*concurrency+maxStaged))
}

// Handler handles one event; its result is turned into an outcome by delivery.Decide, and a panic
// in it into a redelivery (see delivery.Recovered).
type Handler func(ctx context.Context, ev cloudevents.Event) error

// Puller consumes one kind's due events from its durable pull consumer.
type Puller struct {
	js      jetstream.JetStream
	names   event.Names
	kind    domain.JobKind
	cfg     PullerConfig
	handler Handler
	clock   clockwork.Clock
	log     *slog.Logger
	// redelivered counts the messages taken that were delivered before.
	redelivered *metric.CounterVec
}

// DefaultPullerConfig returns the configuration zero fields fall back to.
func DefaultPullerConfig() PullerConfig { return PullerConfig{}.withDefaults() }

func (c PullerConfig) withDefaults() PullerConfig {
	c.Concurrency = cmp.Or(c.Concurrency, ConcurrencyDefault)
	c.AckWait = cmp.Or(c.AckWait, AckWaitDefault)
	c.MaxStaged = cmp.Or(c.MaxStaged, MaxStagedDefault)
	return c
}

func (c PullerConfig) validate() error {
	switch {
	case c.Concurrency < 0:
		return errors.New("pull.concurrency: must not be negative")
	case c.MaxStaged < 0:
		return errors.New("pull.max_staged: must not be negative")
	case c.AckWait < 0 || (c.AckWait > 0 && c.AckWait < 10*time.Millisecond):
		return errors.New("pull.ack_wait: must be at least 10ms")
	}
	return nil
}

// NewPuller returns a puller of kind's due events that calls handler for each, or an error naming
// a bad setting.
func NewPuller(js jetstream.JetStream, names event.Names, kind domain.JobKind, handler Handler, clock clockwork.Clock, cfg PullerConfig, log *slog.Logger) (*Puller, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Puller{js: js, names: names, kind: kind, cfg: cfg.withDefaults(), handler: handler, clock: clock, log: log}, nil
}

// WithMetrics returns a copy of p that counts the due events delivered again in reg's
// vecron_queue_redeliveries_total, or an error when reg cannot register the family.
func (p *Puller) WithMetrics(reg *metric.Registry) (*Puller, error) {
	redelivered, err := reg.CounterVec(metric.QueueRedeliveries)
	if err != nil {
		return nil, err
	}
	q := *p
	q.redelivered = redelivered
	return &q, nil
}

// Run creates or updates the durable consumer (DueConsumerConfig) and handles events until ctx ends; a consumer
// deleted meanwhile (alone, or with its stream) is made again (see ConsumeDurable). When ctx
// ends it stops fetching, returns buffered events to the stream at once, and lets in-flight
// handlers finish within the grace period; past it their context is cancelled with cause
// delivery.ErrShutdown, so they record what they can and hand their event back. It returns nil.
func (p *Puller) Run(ctx context.Context) error {
	work, interrupt := context.WithCancelCause(context.WithoutCancel(ctx))
	defer interrupt(nil)
	// sem bounds the events handled at once; held those taken and not yet settled: the handled
	// ones and those staged, which gave their slot back until their instants.
	sem := make(chan struct{}, p.cfg.Concurrency)
	held := make(chan struct{}, p.cfg.Concurrency+p.cfg.MaxStaged)
	var wg sync.WaitGroup
	defer p.drain(&wg, interrupt)
	cfg := DueConsumerConfig(p.names, p.kind, p.cfg)
	return ConsumeDurable(ctx, p.js, p.names.DueStream(), cfg, p.clock, p.log, func(consumer jetstream.Consumer) error {
		return p.consume(ctx, work, consumer, sem, held, &wg)
	})
}

// consume handles the messages of consumer until ctx ends or its iterator closes (the consumer
// is gone), each in a goroutine of wg running on work.
func (p *Puller) consume(ctx, work context.Context, consumer jetstream.Consumer, sem, held chan struct{}, wg *sync.WaitGroup) error {
	// A pull request the server stops answering — seen against NATS 2.9 under a backlog, when
	// the client waits for a heartbeat that never comes — is noticed after two missed
	// heartbeats and renewed: with the client's default expiry of 30 s that stopped all
	// consumption for half a minute; at 4 s (a heartbeat every 2 s) the stall lasts seconds.
	it, err := consumer.Messages(jetstream.PullMaxMessages(p.cfg.Concurrency), jetstream.PullExpiry(pullExpiry))
	if err != nil {
		return fmt.Errorf("consume %s: %w", p.names.DueConsumer(p.kind), err)
	}
	stop := context.AfterFunc(ctx, it.Drain)
	defer stop()
	for {
		// Take a message only while a slot is free, so that no message waits long for one (and
		// spends its ack wait) in this process — but without keeping that slot while waiting
		// for a message: a staged handler must find one free at its instant.
		select {
		case held <- struct{}{}:
		case <-ctx.Done():
			ReturnBuffered(it, p.log)
			return nil
		}
		select {
		case sem <- struct{}{}:
			<-sem
		case <-ctx.Done():
			<-held
			ReturnBuffered(it, p.log)
			return nil
		}
		msg, err := it.Next()
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			<-held
			return nil
		}
		if err != nil {
			<-held
			if ConsumerGone(ctx, consumer, err) {
				it.Stop()
				return nil
			}
			// Missed heartbeats and the like: the iterator recovers on its own; don't spin.
			p.log.Warn("pull due events", "consumer", p.names.DueConsumer(p.kind), "error", err)
			select {
			case <-ctx.Done():
			case <-p.clock.After(time.Second):
			}
			continue
		}
		if ctx.Err() != nil {
			<-held
			Nak(msg, p.log)
			ReturnBuffered(it, p.log)
			return nil
		}
		// Its slot now, if still free, so that the next turn sees it taken; otherwise a staged
		// handler took it meanwhile, and this one waits for the next, signalling progress.
		slot := &pullSlot{sem: sem}
		select {
		case sem <- struct{}{}:
			slot.held = true
		default:
		}
		wg.Add(1)
		go func() {
			defer func() { slot.Release(); <-held; wg.Done() }()
			p.handle(work, msg, slot)
		}()
	}
}

// pullSlot is a handler's execution slot (delivery.Slot); only its handler's goroutine uses it.
type pullSlot struct {
	sem  chan struct{}
	held bool
}

func (s *pullSlot) Release() {
	if s.held {
		s.held = false
		<-s.sem
	}
}

func (s *pullSlot) Acquire(ctx context.Context) error {
	if s.held {
		return nil
	}
	select {
	case s.sem <- struct{}{}:
		s.held = true
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// drain waits for in-flight handlers, interrupting them when the grace period is over.
func (p *Puller) drain(wg *sync.WaitGroup, interrupt context.CancelCauseFunc) {
	if p.cfg.Grace > 0 {
		t := p.clock.AfterFunc(p.cfg.Grace, func() {
			p.log.Warn("grace period over; interrupting in-flight events", "grace", p.cfg.Grace)
			interrupt(delivery.ErrShutdown)
		})
		defer t.Stop()
	}
	wg.Wait()
	// The acks sent so far are in the server once it answers a flush.
	if err := p.js.Conn().FlushTimeout(flushTimeout); err != nil {
		p.log.Warn("flush acknowledgements on shutdown", "error", err)
	}
}

// flushTimeout bounds the wait for the server to take the last acknowledgements in: a round
// trip when it is there, and no more than a small part of a shutdown's budget when it is not.
const flushTimeout = time.Second

// handle decodes one message, takes a slot for it, and handles and settles it.
func (p *Puller) handle(ctx context.Context, msg jetstream.Msg, slot *pullSlot) {
	callCtx := ctx
	// A message without metadata is not a JetStream delivery: nothing to tell.
	if md, err := msg.Metadata(); err == nil {
		if md.NumDelivered > 1 {
			p.redelivered.Inc(string(p.kind))
		}
		callCtx = withFacts(ctx, md)
	}
	ev, err := event.FromNATS(ctx, &nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()})
	if err == nil && event.IsWake(ev) {
		// Its delivery was its work (the executor is up): no slot, no handler, nothing recorded.
		if err := msg.Ack(); err != nil {
			p.log.Warn("settle wake", "event_id", ev.ID(), "error", err)
		}
		return
	}
	if err != nil {
		err = fmt.Errorf("%w: %w", delivery.ErrPermanent, err)
	} else {
		err = p.withProgress(ctx, msg, func() error {
			if err := slot.Acquire(ctx); err != nil {
				return &delivery.RetryError{After: 0, Err: err}
			}
			return p.call(delivery.WithSlot(callCtx, slot), ev)
		})
	}
	outcome := delivery.Decide(err)
	var settleErr error
	switch outcome.Action {
	case delivery.Ack:
		// Not confirmed one by one: a confirmation is one more message each way per event, and
		// an ack that is lost only redelivers an event whose execution is settled, which the
		// handler acknowledges again without running it. On the way out, drain flushes the
		// connection, so the acks of a graceful stop are not lost with it.
		settleErr = msg.Ack()
	case delivery.Redeliver:
		p.log.Debug("event will be redelivered", "event_id", ev.ID(), "delay", outcome.Delay, "error", err)
		settleErr = msg.NakWithDelay(outcome.Delay)
	case delivery.Drop:
		p.log.Error("event dropped", "event_id", ev.ID(), "subject", msg.Subject(), "error", err)
		settleErr = msg.Term()
	}
	if settleErr != nil {
		p.log.Warn("settle event", "event_id", ev.ID(), "error", settleErr)
	}
}

// withFacts returns ctx carrying a message's delivery metadata md, for the execution's timeline.
func withFacts(ctx context.Context, md *jetstream.MsgMetadata) context.Context {
	return delivery.WithFacts(ctx, delivery.Facts{StreamSeq: md.Sequence.Stream, StoredAt: md.Timestamp.UTC(),
		Consumer: md.Consumer, Count: int(md.NumDelivered)})
}

// call calls the handler, turning a panic into an error that has the event redelivered: a
// panic here would otherwise end the worker and every event in flight on it.
func (p *Puller) call(ctx context.Context, ev cloudevents.Event) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = delivery.Recovered(v)
			p.log.Error("event handler panicked", "event_id", ev.ID(), "error", err, "stack", string(debug.Stack()))
		}
	}()
	return p.handler(ctx, ev)
}

// withProgress runs fn, telling JetStream every AckWait/3 that the message is still being worked
// on so a long execution is not redelivered to another worker.
func (p *Puller) withProgress(ctx context.Context, msg jetstream.Msg, fn func() error) error {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// The real clock on purpose: the server counts the ack wait on its own clock.
		t := time.NewTicker(p.cfg.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := msg.InProgress(); err != nil {
					p.log.Warn("signal progress", "error", err)
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	defer wg.Wait()
	defer close(done)
	return fn()
}

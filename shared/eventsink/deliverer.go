// Package eventsink delivers the lifecycle events of the events stream — io.vecron.execution.*,
// io.vecron.job.*, and whatever type lands there next — to events.sink (or K_SINK, from a
// Knative SinkBinding) as CloudEvents in HTTP binary mode, through the egress policy.
//
// Delivery is at least once. The events are read through one durable JetStream consumer that
// every api replica pulls from, so each event goes to one replica; a message is acknowledged
// only after the sink answers 2xx, and handed back with a growing delay otherwise. After
// events.max_attempts deliveries, or once an event is older than events.max_age, a failing
// event is given up: logged at error level with its id and type, and terminated on the
// consumer. An event is sent again when a replica stops between the sink's answer and the
// acknowledgement, or gave up waiting for an answer the sink then acted on; its id is the same
// every time, so the receiver drops what it has seen. Events are not ordered: a retried event
// arrives after later ones. The data of an event (a response excerpt, a job) is never logged.
package eventsink

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/sink"
)

// Defaults of Config.
const (
	// MaxAttemptsDefault with the back-off below keeps retrying a sink that is down for about
	// 45 minutes (a minute apart once the back-off is at its limit).
	MaxAttemptsDefault = 50
	MaxAgeDefault      = 6 * time.Hour
	ConcurrencyDefault = 16
	MinBackoffDefault  = time.Second
	MaxBackoffDefault  = time.Minute
)

// Config configures a Deliverer.
type Config struct {
	// Sink is the receiver's http or https URL; empty delivers nothing.
	Sink string `koanf:"sink" usage:"http(s) URL that receives every lifecycle event (io.vecron.execution.*, io.vecron.job.*) as a CloudEvent in HTTP binary mode; also K_SINK (Knative SinkBinding); empty delivers nothing"`
	// Types limits the types delivered: exact types, or families ending in "*"; empty delivers
	// every type on the stream.
	Types []string `koanf:"types" usage:"event types delivered to events.sink, exact or a family such as io.vecron.execution.*; empty delivers all"`
	// MaxAttempts bounds the deliveries of one event; then it is given up, with an error log.
	MaxAttempts int `koanf:"max_attempts" usage:"deliveries of one event to events.sink before it is given up (logged at error level)"`
	// MaxAge bounds how long a failing event is retried, counted from when it was published.
	MaxAge time.Duration `koanf:"max_age" usage:"age after which an event events.sink refuses is given up (logged at error level)"`
	// Concurrency bounds the deliveries in flight on one replica.
	Concurrency int `koanf:"concurrency" usage:"deliveries to events.sink in flight on one api replica"`
	// Timeout bounds one delivery, the sink's answer included.
	Timeout time.Duration `koanf:"timeout" usage:"time allowed for one delivery to events.sink"`
	// MinBackoff is the delay after a first failed delivery; each failure of the same event
	// doubles it, up to MaxBackoff.
	MinBackoff time.Duration `koanf:"-"`
	MaxBackoff time.Duration `koanf:"-"`
	// Metrics receives vecron_event_sink_deliveries_total; nil counts nothing.
	Metrics *metric.Registry `koanf:"-"`
}

// DefaultConfig returns the configuration zero fields fall back to.
func DefaultConfig() Config { return Config{}.withDefaults() }

func (c Config) withDefaults() Config {
	c.MaxAttempts = cmp.Or(c.MaxAttempts, MaxAttemptsDefault)
	c.MaxAge = cmp.Or(c.MaxAge, MaxAgeDefault)
	c.Concurrency = cmp.Or(c.Concurrency, ConcurrencyDefault)
	c.Timeout = cmp.Or(c.Timeout, sink.TimeoutDefault)
	c.MinBackoff = cmp.Or(c.MinBackoff, MinBackoffDefault)
	c.MaxBackoff = cmp.Or(c.MaxBackoff, MaxBackoffDefault)
	return c
}

func (c Config) validate() error {
	switch {
	case c.MaxAttempts < 0:
		return errors.New("events.max_attempts: must not be negative")
	case c.MaxAge < 0:
		return errors.New("events.max_age: must not be negative")
	case c.Concurrency < 0:
		return errors.New("events.concurrency: must not be negative")
	case c.Timeout < 0:
		return errors.New("events.timeout: must not be negative")
	case c.MinBackoff < 0 || c.MaxBackoff < 0:
		return errors.New("eventsink: MinBackoff and MaxBackoff must not be negative")
	}
	for _, t := range c.Types {
		family, _ := strings.CutSuffix(t, "*")
		if family == "" || strings.ContainsAny(t, " \t,") || strings.Contains(family, "*") {
			return fmt.Errorf("events.types: %q is not an event type or a family such as io.vecron.execution.*", t)
		}
	}
	return nil
}

// Deliverer delivers the events stream to the sink. Run one on every api replica.
type Deliverer struct {
	js    jetstream.JetStream
	names event.Names
	sink  *sink.Client
	cfg   Config
	clock clockwork.Clock
	log   *slog.Logger
	// deliveries counts the settled deliveries by result.
	deliveries *metric.CounterVec
}

// New returns a deliverer to cfg.Sink through policy (nil: the default policy). It returns an
// error naming the setting when cfg is invalid, and when the sink's host is an address that
// policy refuses: a sink that can never be reached fails the start, not every delivery. A host
// name is checked on the address it resolves to, at each connection; a refusal there fails that
// delivery, is logged at error level with the rule, and is retried like any other failure.
func New(js jetstream.JetStream, names event.Names, policy *egress.Policy, clock clockwork.Clock, log *slog.Logger, cfg Config) (*Deliverer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	client, err := sink.New(sink.Config{URL: cfg.Sink, Setting: "events.sink", Timeout: cfg.Timeout, Policy: policy})
	if err != nil {
		return nil, err
	}
	if err := client.Refused(); err != nil {
		return nil, fmt.Errorf("events.sink: %w; allow the sink's address with egress.allow", err)
	}
	deliveries, err := cfg.Metrics.CounterVec(metric.EventSinkDeliveries)
	if err != nil {
		return nil, err
	}
	return &Deliverer{js: js, names: names, sink: client, cfg: cfg, clock: clock, log: log, deliveries: deliveries}, nil
}

// Run delivers until ctx ends, then hands the events it fetched and did not start back for
// another replica, lets the deliveries in flight end and returns nil. A missing stream (the
// tick and the executors create it) is waited for, and a consumer that goes away meanwhile
// (removed by an operator, or with its stream) is made again (see queue.ConsumeDurable).
func (d *Deliverer) Run(ctx context.Context) error {
	defer d.sink.CloseIdleConnections()
	sem := make(chan struct{}, d.cfg.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	cfg := jetstream.ConsumerConfig{
		Durable:     d.names.SinkConsumer(),
		Description: "vecron delivery of lifecycle events to events.sink",
		AckPolicy:   jetstream.AckExplicitPolicy,
		// Longer than a delivery and the wait of a message fetched behind one.
		AckWait:       3*d.cfg.Timeout + 10*time.Second,
		MaxAckPending: 4 * d.cfg.Concurrency,
		// From when delivery was first configured: a new sink does not get a day of history.
		DeliverPolicy: jetstream.DeliverNewPolicy,
	}
	return queue.ConsumeDurable(ctx, d.js, d.names.EventsStream(), cfg, d.clock, d.log, func(cons jetstream.Consumer) error {
		d.log.Info("delivering lifecycle events", "sink_host", d.sink.Host(), "consumer", d.names.SinkConsumer())
		return d.consume(ctx, cons, sem, &wg)
	})
}

// consume delivers the messages of cons until ctx ends or its iterator closes (the consumer
// was deleted, the connection closed), each in a goroutine of wg holding a slot of sem.
func (d *Deliverer) consume(ctx context.Context, cons jetstream.Consumer, sem chan struct{}, wg *sync.WaitGroup) error {
	return queue.ConsumeEach(ctx, cons, queue.Pull{Name: d.names.SinkConsumer(), Expiry: pullExpiry, Slots: sem, Group: wg,
		Clock: d.clock, Log: d.log, Failed: func(err error) { d.log.Warn("event sink: pull events", "error", err) }},
		func(msg jetstream.Msg, _ func()) { d.handle(ctx, msg) })
}

// pullExpiry is how long a pull request of the deliverer waits on the server.
const pullExpiry = 10 * time.Second

// handle delivers one message and settles it: decides, in this one place, between ack, a
// delayed redelivery, and giving up.
func (d *Deliverer) handle(ctx context.Context, msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		d.log.Error("event sink: a message without metadata; dropped", "subject", msg.Subject(), "error", err)
		_ = msg.Term()
		return
	}
	ev, err := event.FromNATS(ctx, &nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()})
	if err != nil {
		// Never readable, whatever the sink does.
		d.log.Error("event sink: an unreadable event given up", "subject", msg.Subject(), "stream_seq", meta.Sequence.Stream, "error", err)
		d.deliveries.Inc(metric.ResultGaveUp)
		_ = msg.Term()
		return
	}
	if !d.wanted(ev.Type()) {
		d.settle(msg, ev.ID(), msg.Ack())
		return
	}
	err = d.sink.Post(ctx, ev)
	if err == nil {
		d.deliveries.Inc(metric.ResultOK)
		d.settle(msg, ev.ID(), msg.Ack())
		return
	}
	if ctx.Err() != nil {
		// Shutting down: another replica, or this one after its restart, delivers it.
		d.settle(msg, ev.ID(), msg.Nak())
		return
	}
	attempts := int(meta.NumDelivered)
	age := d.clock.Now().Sub(meta.Timestamp)
	attrs := []any{"event_id", ev.ID(), "event_type", ev.Type(), "attempts", attempts}
	var asked time.Duration // the sink's Retry-After
	if se := (*sink.Error)(nil); errors.As(err, &se) && se.Status != 0 {
		attrs = append(attrs, "status", se.Status)
		asked = se.RetryAfter
	} else {
		attrs = append(attrs, "error", err.Error())
	}
	if attempts >= d.cfg.MaxAttempts || age >= d.cfg.MaxAge {
		d.log.Error("lifecycle event given up: the sink did not accept it", append(attrs, "age", age.Round(time.Second).String())...)
		d.deliveries.Inc(metric.ResultGaveUp)
		d.settle(msg, ev.ID(), msg.Term())
		return
	}
	// A sink that asks for a pause gets it, up to the longest back-off.
	wait := max(sink.Backoff(attempts, d.cfg.MinBackoff, d.cfg.MaxBackoff), min(asked, d.cfg.MaxBackoff))
	level := slog.LevelWarn
	if _, refused := egress.Denied(err); refused {
		level = slog.LevelError // not going away by itself: the policy or the sink must change
	}
	d.log.Log(ctx, level, "lifecycle event not delivered to the sink; retrying", append(attrs, "retry_in", wait.String())...)
	d.deliveries.Inc(metric.ResultRetry)
	d.settle(msg, ev.ID(), msg.NakWithDelay(wait))
}

func (d *Deliverer) settle(msg jetstream.Msg, id string, err error) {
	if err != nil {
		d.log.Warn("event sink: settle event", "event_id", id, "subject", msg.Subject(), "error", err)
	}
}

// wanted reports whether events.types lets an event of type t through.
func (d *Deliverer) wanted(t string) bool {
	if len(d.cfg.Types) == 0 {
		return true
	}
	for _, want := range d.cfg.Types {
		if family, ok := strings.CutSuffix(want, "*"); ok && strings.HasPrefix(t, family) || want == t {
			return true
		}
	}
	return false
}

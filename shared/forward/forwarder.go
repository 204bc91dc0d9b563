// Package forward moves due events from JetStream to an HTTP sink — a Knative Broker's address,
// or per kind an OpenFaaS gateway's route — for platforms whose executors are invoked rather
// than pull (docs/deploy.md §4 and §6).
//
// For each kind with a sink the forwarder consumes the same durable consumer a pulling executor
// of that kind would (queue.DueConsumerConfig), so the work-queue stream never has overlapping
// consumers and the queue size metric and KEDA's lag mean the same in every mode. Each event is
// posted unchanged in CloudEvents HTTP binary mode through shared/sink (the egress policy, no
// redirects followed, no URL in errors) and settled in one place, decide: a 2xx acknowledges
// it; a refusal the event itself caused (a 4xx other than 404, 408, 409 and 429, which Knative
// also retries, and 401, 403, 405, 421 and 425, which an operator's fix or time ends) is posted to
// forward.dead_letter_sink with Knative's error extensions, as a broker dead-letters (the api's
// /dead-letter records the fire dead-lettered), or without one terminated, logged at error level
// and counted as given up — posting it again would be refused again; anything else (5xx,
// a timeout, a refused connection, a redirect) hands it back with a growing delay, without
// limit: a due fire waits for its sink rather than being lost.
//
// Delivery is at least once: a post whose answer is lost is made again, with the same event
// id. The broker ingress stores an event under its id (Nats-Msg-Id) and the executor records
// an execution once per idempotency key, which is that id, so the fire runs once.
//
// In callback mode (forward.callback_port, for an OpenFaaS gateway's asynchronous route) a
// sink's 202 with an X-Call-Id only says the invocation is queued: the message is held, with
// progress signals, until the gateway posts the function's answer to the X-Callback-Url the post
// carried, and is then settled by decide on that answer. The URL holds a token only the replica
// that posted can check; a callback reaching another replica is relayed to it over NATS
// (callback.go). No callback in time hands the message back, to be posted again.
package forward

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/lograte"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/sink"
)

// route is one kind's consumer and sink.
type route struct {
	kind     domain.JobKind
	sink     *sink.Client
	consumer jetstream.ConsumerConfig
	// dest is the sink's scheme, host and port: what a dead letter says it was refused by.
	dest string
	// failing notes how the sink last failed, so that a sink down or refusing every event is
	// logged when that starts and ends, not once per event per attempt.
	failing *failureLog
}

// failureLog is the class of a sink's last failure ("" while it accepts); safe for concurrent use.
type failureLog struct {
	mu    sync.Mutex
	class string
}

// changed notes class and reports whether it differs from the one noted before. A nil
// failureLog reports every class as changed.
func (l *failureLog) changed(class string) bool {
	if l == nil {
		return class != ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.class == class {
		return false
	}
	l.class = class
	return true
}

// failureClass names how a post failed, coarsely enough that one sink's trouble is one class:
// its status, an egress refusal, a timeout, or any other failure to get an answer.
func failureClass(err error, se *sink.Error) string {
	_, refused := egress.Denied(err)
	switch {
	case se != nil && se.Status != 0:
		return "status " + strconv.Itoa(se.Status)
	case refused:
		return "egress refused"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	default:
		return "no answer"
	}
}

// Knative's error extensions, which a dead-letter sink reads: where the event was last posted
// and the status it got (the api's /dead-letter records them).
const (
	extErrorDest = "knativeerrordest"
	extErrorCode = "knativeerrorcode"
)

// Forwarder posts the due events of the kinds with a sink to that sink. Run one on every tick
// replica: they share each kind's consumer.
type Forwarder struct {
	js     jetstream.JetStream
	names  event.Names
	routes []route
	cfg    Config
	clock  clockwork.Clock
	log    *slog.Logger
	// deliveries counts the settled posts by kind and result.
	deliveries *metric.CounterVec
	// enabledOff notes a sink set while forward.enabled is false, for Run to say so.
	enabledOff bool
	// deadLetters takes the events a sink refused as malformed; nil gives them up.
	deadLetters *sink.Client
	// callbacks correlates an OpenFaaS gateway's callbacks with the messages held for them; nil
	// when forward.callback_port is 0.
	callbacks *callbacks
	// refusals counts and logs the callbacks refused.
	refusals refusals
	// progressFailures holds back failed progress signals' lines: while NATS is unreachable
	// every waiting fire fails one every third of the ack wait.
	progressFailures lograte.Limiter
}

// New returns a forwarder of names' due stream on js, reaching its sinks through policy (nil:
// the default policy). With forward.enabled false it forwards nothing (Run returns at once), but
// still registers its metric family. It returns an error naming the setting when cfg is invalid:
// a sink that is not an http or https URL with a host, or whose host is an address policy
// refuses — a sink that can never be reached fails the start, not every fire.
func New(js jetstream.JetStream, names event.Names, policy *egress.Policy, clock clockwork.Clock, log *slog.Logger, cfg Config) (*Forwarder, error) {
	cfg = cfg.withDefaults()
	targets, err := cfg.targets()
	if err != nil {
		return nil, err
	}
	deliveries, err := cfg.Metrics.CounterVec(metric.ForwardDeliveries)
	if err != nil {
		return nil, err
	}
	refused, err := cfg.Metrics.CounterVec(metric.ForwardCallbackRefusals)
	if err != nil {
		return nil, err
	}
	f := &Forwarder{js: js, names: names, cfg: cfg, clock: clock, log: log, deliveries: deliveries, refusals: refusals{counter: refused}}
	if !cfg.Enabled {
		f.enabledOff = len(targets) > 0
		return f, nil
	}
	for _, t := range targets {
		client, err := sink.New(sink.Config{URL: t.url, Setting: t.setting, Timeout: cfg.Timeout, Policy: policy})
		if err != nil {
			return nil, err
		}
		if err := client.Refused(); err != nil {
			return nil, fmt.Errorf("%s: %w; allow the sink's address with egress.allow", t.setting, err)
		}
		f.routes = append(f.routes, route{kind: t.kind, sink: client, dest: destOf(t.url), failing: &failureLog{},
			consumer: queue.DueConsumerConfig(names, t.kind, queue.DefaultPullerConfigOf(t.kind))})
	}
	if cfg.CallbackPort != 0 {
		if cfg.Executions == nil {
			return nil, errors.New("forward.callback_port: callback mode needs the executions store, to check a reported success against the fire's record")
		}
		if f.callbacks, err = newCallbacks(cfg.CallbackURL, names); err != nil {
			return nil, err
		}
	}
	if cfg.DeadLetterSink != "" {
		const setting = "forward.dead_letter_sink"
		if f.deadLetters, err = sink.New(sink.Config{URL: cfg.DeadLetterSink, Setting: setting, Timeout: cfg.Timeout, Policy: policy}); err != nil {
			return nil, err
		}
		if err := f.deadLetters.Refused(); err != nil {
			return nil, fmt.Errorf("%s: %w; allow the sink's address with egress.allow", setting, err)
		}
	}
	return f, nil
}

// Kinds returns the kinds whose due events this forwarder posts, none when it is off.
func (f *Forwarder) Kinds() []domain.JobKind {
	out := make([]domain.JobKind, len(f.routes))
	for i, r := range f.routes {
		out[i] = r.kind
	}
	return out
}

// Run forwards until ctx ends, then hands the events it fetched and did not start posting back
// to the stream at once, lets the posts in flight end (each within forward.timeout) and settles
// them, and returns nil. A missing stream is waited for, and a consumer deleted meanwhile is made
// again (queue.ConsumeDurable). It returns nil at once when there is nothing to forward.
func (f *Forwarder) Run(ctx context.Context) error {
	if f.enabledOff {
		f.log.Warn("a forward sink is set but forward.enabled is false: due events are left to executors that pull")
	}
	if len(f.routes) == 0 {
		return nil
	}
	if f.callbacks != nil {
		sub, err := f.js.Conn().Subscribe(f.callbacks.subject, f.callbacks.serve(f.clock.Now))
		if err != nil {
			return fmt.Errorf("forward: take relayed callbacks: %w", err)
		}
		defer func() { _ = sub.Unsubscribe() }()
	}
	g, ctx := errgroup.WithContext(ctx)
	for _, r := range f.routes {
		g.Go(func() error { return f.runRoute(ctx, r) })
	}
	return g.Wait()
}

// runRoute forwards one kind's due events.
func (f *Forwarder) runRoute(ctx context.Context, r route) error {
	defer r.sink.CloseIdleConnections()
	sem := make(chan struct{}, f.cfg.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	return queue.ConsumeDurable(ctx, f.js, f.names.DueStream(), r.consumer, f.clock, f.log, func(cons jetstream.Consumer) error {
		f.log.Info("forwarding due events", "kind", r.kind, "sink_host", r.sink.Host(), "consumer", r.consumer.Durable)
		return f.consume(ctx, r, cons, sem, &wg)
	})
}

// pullExpiry is how long a pull request waits on the server: short, so a consumer deleted
// before the pull was made is noticed within seconds (queue.ConsumerGone).
const pullExpiry = 4 * time.Second

// consume posts the messages of cons until ctx ends or its iterator closes, each in a goroutine
// of wg holding a slot of sem. The slot is released as soon as the post is answered: a fire
// waiting for its callback holds none (the consumer's MaxAckPending bounds those).
func (f *Forwarder) consume(ctx context.Context, r route, cons jetstream.Consumer, sem chan struct{}, wg *sync.WaitGroup) error {
	return queue.ConsumeEach(ctx, cons, queue.Pull{Name: r.consumer.Durable, Expiry: pullExpiry, Slots: sem, Group: wg,
		Clock: f.clock, Log: f.log, Failed: func(err error) { f.log.Warn("forward: pull due events", "kind", r.kind, "error", err) }},
		func(msg jetstream.Msg, release func()) { f.handle(ctx, r, msg, release) })
}

// handle posts one message to r's sink and settles it as decide says. In callback mode a sink's
// 202 with an X-Call-Id (an OpenFaaS gateway queueing the invocation) calls release and settles
// the message on the gateway's callback instead, or hands it back when none comes in time.
func (f *Forwarder) handle(ctx context.Context, r route, msg jetstream.Msg, release func()) {
	meta, err := msg.Metadata()
	if err != nil {
		f.log.Error("forward: a message without metadata; dropped", "subject", msg.Subject(), "error", err)
		f.deliveries.Inc(string(r.kind), metric.ResultGaveUp)
		f.settle(msg, "", msg.Term())
		return
	}
	ev, err := event.FromNATS(ctx, &nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()})
	if err != nil {
		// Never readable, whatever the sink does; no executor could read it either.
		f.log.Error("forward: an unreadable due event given up", "kind", r.kind, "stream_seq", meta.Sequence.Stream, "error", err)
		f.deliveries.Inc(string(r.kind), metric.ResultGaveUp)
		f.settle(msg, "", msg.Term())
		return
	}
	var (
		header http.Header
		w      *waiter
		wait   time.Duration
		key    string
	)
	if f.callbacks != nil {
		// Waiting before the post: the callback may come before the post's answer is read.
		d := delivery{seq: meta.Sequence.Stream, n: meta.NumDelivered}
		wait, key = f.callbackWait(ev)
		w = f.callbacks.add(d)
		defer f.callbacks.remove(d, w)
		header = http.Header{headerCallbackURL: {f.callbacks.callbackURL(f.callbacks.mint(d, f.clock.Now().Add(wait+callbackGrace)))}}
	}
	// A post begun is finished, within forward.timeout, even when the tick is stopping: its
	// answer settles the message, where a cancelled post would only send the event again.
	answer, err := f.post(context.WithoutCancel(ctx), r, msg, ev, header)
	if callID := answer.Header.Get(headerCallID); err == nil && w != nil && answer.Status == http.StatusAccepted && callID != "" {
		release()
		cb, left, ok := f.await(ctx, r, msg, w, callID, wait, key)
		switch {
		case !ok && ctx.Err() != nil:
			// Stopping: handed back for the rest of its wait, so that the invocation under way
			// may finish first. Its callback then finds this replica gone and is refused; the
			// next post finds the fire recorded, and the executor answers without running it
			// again. Handed back at once, it would be invoked twice while the first still runs.
			f.settle(msg, ev.ID(), msg.NakWithDelay(left))
		case !ok:
			f.log.Warn("no callback for a due event in time; posting it again", "kind", r.kind, "event_id", ev.ID(),
				"call_id", printable(callID), "waited", wait.String(), "attempts", meta.NumDelivered)
			f.deliveries.Inc(string(r.kind), metric.ResultNoCallback)
			f.settle(msg, ev.ID(), msg.NakWithDelay(sink.Backoff(int(meta.NumDelivered), f.cfg.MinBackoff, f.cfg.MaxBackoff)))
		default:
			f.settleCallback(ctx, r, msg, ev, cb, int(meta.NumDelivered))
		}
		return
	}
	o := decide(err, int(meta.NumDelivered), f.cfg.MinBackoff, f.cfg.MaxBackoff, f.cfg.MaxBackoff)
	attrs := eventAttrs(r, ev, int(meta.NumDelivered))
	var se *sink.Error
	if errors.As(err, &se) && se.Status != 0 {
		attrs = append(attrs, "status", se.Status)
	} else if err != nil {
		attrs = append(attrs, "error", err.Error())
	}
	switch o.action {
	case ack:
		if r.failing.changed("") {
			f.log.Info("due events accepted by the forward sink again", "kind", r.kind, "sink_host", r.sink.Host())
		}
		f.deliveries.Inc(string(r.kind), metric.ResultOK)
		f.settle(msg, ev.ID(), msg.Ack())
	case drop:
		f.deadLetter(ctx, r, msg, ev, se.Status, int(meta.NumDelivered), attrs)
	case retry:
		// Once per change of how the sink fails: every event fails alike meanwhile, and the
		// metric counts each attempt.
		if class := failureClass(err, se); r.failing.changed(class) {
			level := slog.LevelWarn
			if _, refused := egress.Denied(err); refused || (se != nil && se.Status >= 300 && se.Status < 400) {
				level = slog.LevelError // not going away by itself: the policy or the sink setting must change
			}
			f.log.Log(ctx, level, "due event not accepted by the forward sink; retrying, logged again when this changes",
				append(attrs, "failure", class, "retry_in", o.delay.String())...)
		}
		f.deliveries.Inc(string(r.kind), metric.ResultRetry)
		f.settle(msg, ev.ID(), msg.NakWithDelay(o.delay))
	}
}

// eventAttrs are the log attributes of an event posted to r's sink.
func eventAttrs(r route, ev cloudevents.Event, attempts int) []any {
	return []any{"kind", r.kind, "event_id", ev.ID(), "event_type", ev.Type(), "attempts", attempts}
}

// settleCallback settles msg on the function's answer in cb, as decide says and as a pull
// executor would settle its own answer: the function's Retry-After, up to a day, is the job's
// retry delay. A function asking for a retry is the job's business, recorded by its executor:
// unlike the sink's own failures it says nothing of the sink, and is neither logged above debug
// nor counted as the sink failing.
func (f *Forwarder) settleCallback(ctx context.Context, r route, msg jetstream.Msg, ev cloudevents.Event, cb callback, attempts int) {
	var err error
	if cb.status < 200 || cb.status > 299 {
		err = &sink.Error{Status: cb.status, RetryAfter: cb.retryAfter}
	}
	o := decide(err, attempts, f.cfg.MinBackoff, f.cfg.MaxBackoff, sink.MaxRetryAfter)
	attrs := append(eventAttrs(r, ev, attempts), "status", cb.status)
	switch o.action {
	case ack:
		f.deliveries.Inc(string(r.kind), metric.ResultOK)
		f.settle(msg, ev.ID(), msg.Ack())
	case drop:
		f.deadLetter(ctx, r, msg, ev, cb.status, attempts, attrs)
	case retry:
		f.log.Debug("the function asked for its due event again", append(attrs, "retry_in", o.delay.String())...)
		f.deliveries.Inc(string(r.kind), metric.ResultRetry)
		f.settle(msg, ev.ID(), msg.NakWithDelay(o.delay))
	}
}

// deadLetter settles an event r's sink refused with status: posted to forward.dead_letter_sink
// with Knative's error extensions and acknowledged once it is taken there; handed back with the
// back-off when the dead-letter sink fails for a while (the next delivery tries r's sink first
// again); given up, with an error log, without a dead-letter sink or when that refuses it too.
func (f *Forwarder) deadLetter(ctx context.Context, r route, msg jetstream.Msg, ev cloudevents.Event, status, attempts int, attrs []any) {
	if f.deadLetters == nil {
		f.log.Error("due event given up: the forward sink refused it as malformed, and forward.dead_letter_sink is not set", attrs...)
		f.deliveries.Inc(string(r.kind), metric.ResultGaveUp)
		f.settle(msg, ev.ID(), msg.Term())
		return
	}
	dl := ev.Clone()
	dl.SetExtension(extErrorDest, r.dest)
	dl.SetExtension(extErrorCode, strconv.Itoa(status))
	err := f.deadLetters.Post(context.WithoutCancel(ctx), dl)
	o := decide(err, attempts, f.cfg.MinBackoff, f.cfg.MaxBackoff, f.cfg.MaxBackoff)
	switch o.action {
	case ack:
		f.log.Error("due event dead-lettered: the forward sink refused it as malformed", attrs...)
		f.deliveries.Inc(string(r.kind), metric.ResultDeadLettered)
		f.settle(msg, ev.ID(), msg.Ack())
	case drop:
		var se *sink.Error
		errors.As(err, &se)
		f.log.Error("due event given up: the forward sink refused it as malformed, and so did the dead-letter sink",
			append(attrs, "dead_letter_status", se.Status)...)
		f.deliveries.Inc(string(r.kind), metric.ResultGaveUp)
		f.settle(msg, ev.ID(), msg.Term())
	case retry:
		f.log.Warn("due event refused as malformed, not taken by the dead-letter sink; retrying",
			append(attrs, "dead_letter_error", err.Error(), "retry_in", o.delay.String())...)
		f.deliveries.Inc(string(r.kind), metric.ResultRetry)
		f.settle(msg, ev.ID(), msg.NakWithDelay(o.delay))
	}
}

// destOf returns a sink's scheme, host and port: its user info, path, query and fragment may
// each hold the receiver's token, and the dead letter's reader is whoever reads the execution.
func destOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
}

// post posts ev to r's sink with header, telling JetStream every third of the ack wait that the
// message is still in work: the consumer is the executors' (ack wait 4 s), shorter than
// forward.timeout.
func (f *Forwarder) post(ctx context.Context, r route, msg jetstream.Msg, ev cloudevents.Event, header http.Header) (sink.Answer, error) {
	defer f.inProgress(msg, r.consumer.AckWait)()
	return r.sink.Send(ctx, ev, header)
}

// inProgress tells JetStream every third of the ack wait that msg is still in work, until the
// returned stop is called.
func (f *Forwarder) inProgress(msg jetstream.Msg, ackWait time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		// The real clock on purpose: the server counts the ack wait on its own clock.
		t := time.NewTicker(ackWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := msg.InProgress(); err != nil {
					if n, ok := f.progressFailures.Allow(f.clock.Now(), refusalLogEvery); ok {
						f.log.Warn("forward: signal progress; logged at most once a minute", "error", err, "failed_since_last_line", n)
					}
				}
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// await holds msg, signalling progress, until w gets the callback of the invocation callID or
// wait passes or ctx ends; false for the last two, with the wait left when ctx ended. A callback
// with another call id — a forged one, or a stale one of an earlier invocation — is refused and
// the wait goes on; so is a success for a due fire (key, its idempotency key) that is not
// recorded (see recorded). A success of an earlier delivery's invocation of the same message,
// under a token this replica minted, is taken as this one's would be. The callback handler logs
// refusals.
func (f *Forwarder) await(ctx context.Context, r route, msg jetstream.Msg, w *waiter, callID string, wait time.Duration, key string) (callback, time.Duration, bool) {
	defer f.inProgress(msg, r.consumer.AckWait)()
	deadline := f.clock.Now().Add(wait)
	timer := f.clock.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return callback{}, max(deadline.Sub(f.clock.Now()), 0), false
		case <-timer.Chan():
			return callback{}, 0, false
		case cb := <-w.calls:
			success := cb.status >= 200 && cb.status <= 299
			if cb.earlier {
				// The invocation an earlier wait gave up on, answering late: its success settles
				// the fire as this one's would, once recorded. Its failure is not this
				// invocation's to act on: the one under way answers for itself.
				switch {
				case !success:
					cb.answer(relayRefused)
				case !f.successRecorded(ctx, r, key):
					cb.answer(relayUnrecorded)
				default:
					cb.answer(relayTaken)
					return cb, 0, true
				}
				continue
			}
			if !hmac.Equal([]byte(cb.callID), []byte(callID)) {
				cb.answer(relayRefused)
				continue
			}
			if success && !f.successRecorded(ctx, r, key) {
				// Kept waiting rather than handed back: the real callback may still come, and a
				// forged one must not get the fire invoked again.
				cb.answer(relayUnrecorded)
				continue
			}
			cb.answer(relayTaken)
			return cb, 0, true
		}
	}
}

// successRecorded reports whether a success for the event of key may be taken: a wake's always,
// a due fire's once recorded.
func (f *Forwarder) successRecorded(ctx context.Context, r route, key string) bool {
	return key == noRecord || f.recorded(ctx, r, key)
}

// noRecord is the key of an event whose success records nothing: a wake.
const noRecord = "\x00wake"

// recordCheckTimeout bounds the check of a reported success: the replica that took the callback
// waits relayTimeout for the answer.
const recordCheckTimeout = 3 * time.Second

// recorded reports whether the executors recorded the fire of key in a state their push handler
// answers 2xx for once it has written it: an end (succeeded, failed, timed out, skipped,
// cancelled, dead-lettered). The handler answers 2xx for a fire another worker took over too,
// still running; a success for that is refused here, and the fire's next post, after the wait,
// is answered once the record has ended. A lookup that fails refuses the success: the fire is
// then posted again, and its executor's answer settles it.
func (f *Forwarder) recorded(ctx context.Context, r route, key string) bool {
	if key == "" {
		return false // a due event without a key: no executor answers 2xx for it
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordCheckTimeout)
	defer cancel()
	e, err := f.cfg.Executions.ExecutionByKey(ctx, key)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return false
	case err != nil:
		f.log.Warn("forward: check the record of a fire reported done", "kind", r.kind, "idempotency_key", key, "error", err)
		return false
	}
	return e.Status.Terminal()
}

// callbackWait returns how long a posted event waits for its callback — forward.callback_timeout,
// or a due fire's job timeout and callbackGrace when that is shorter; a wake (no job) waits
// callbackGrace at most — and the key a success is checked under: the fire's idempotency key,
// noRecord for a wake, "" for an event no executor answers 2xx for.
func (f *Forwarder) callbackWait(ev cloudevents.Event) (time.Duration, string) {
	job, key := time.Duration(0), ""
	if event.IsWake(ev) {
		key = noRecord
	} else if due, err := event.ParseDue(ev); err == nil {
		job, key = time.Duration(due.Timeout), due.IdempotencyKey
	}
	return min(f.cfg.CallbackTimeout, job+callbackGrace), key
}

func (f *Forwarder) settle(msg jetstream.Msg, id string, err error) {
	if err != nil {
		f.log.Warn("forward: settle due event", "event_id", id, "subject", msg.Subject(), "error", err)
	}
}

// action is what becomes of a posted message.
type action int

const (
	ack action = iota
	retry
	drop
)

// outcome is decide's answer: the action, and for retry the delay.
type outcome struct {
	action action
	delay  time.Duration
}

// decide settles a post, in this one place: nil (a 2xx) → ack; a 4xx the event itself caused →
// drop; anything else → retry after the back-off of the attempts so far, or the sink's
// Retry-After when it asks for longer, up to retryAfterMax: the longest back-off for a sink, a
// day for a function's answer in a callback (the executor's own retry delay).
func decide(err error, attempts int, minBackoff, maxBackoff, retryAfterMax time.Duration) outcome {
	if err == nil {
		return outcome{action: ack}
	}
	var se *sink.Error
	errors.As(err, &se)
	if se != nil && permanent(se.Status) {
		return outcome{action: drop}
	}
	wait := sink.Backoff(max(attempts, 1), minBackoff, maxBackoff)
	if se != nil {
		wait = max(wait, min(se.RetryAfter, retryAfterMax))
	}
	return outcome{action: retry, delay: wait}
}

// permanent reports whether a sink's status refuses the event itself: a 4xx, except those
// Knative's delivery retries too — 404 (a broker not ready yet), 408, 409 and 429 — and those a
// sink setting or the sink's state causes, whatever the event: 401 and 403 (a credential or
// policy an operator fixes), 405 and 421 (a sink URL naming the wrong route or host: dropped,
// every fire would be lost without a dead-letter sink) and 425 (the sink asks to be asked later).
func permanent(status int) bool {
	switch status {
	case http.StatusNotFound, http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests,
		http.StatusUnauthorized, http.StatusForbidden,
		http.StatusMethodNotAllowed, http.StatusMisdirectedRequest, http.StatusTooEarly:
		return false
	}
	return status >= 400 && status < 500
}

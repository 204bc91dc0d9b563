package alert

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/store"
)

// parallelNotices bounds the notices of a batch delivered at once.
const parallelNotices = 8

// Store is what the dispatcher needs of the database.
type Store interface {
	DeliverAlerts(ctx context.Context, now time.Time, limit int, deliver func(ctx context.Context, list []*domain.Alert) error) (int, error)
	PruneAlerts(ctx context.Context, before time.Time) (int64, error)
}

var _ Store = (*store.Store)(nil)

// sender delivers a notice through one channel.
type sender interface {
	Name() string
	Send(ctx context.Context, a *domain.Alert, d Data) error
}

// Dispatcher delivers the alerts outbox: every notice to the events stream (when it has one)
// and to every configured channel, each channel retried on its own with a back-off until it
// delivers or GiveUpAfter has passed since the notice was raised. Every api replica runs one;
// the store's row locks let one deliver a notice at a time.
type Dispatcher struct {
	store   Store
	senders []sender
	cfg     Config
	clock   clockwork.Clock
	log     *slog.Logger
	client  *http.Client
	// types are the channel_type label of each sender, by name; notices counts the attempts.
	types   map[string]string
	notices *metric.CounterVec
}

// New returns a dispatcher that delivers through cfg.Channels and, when js is not nil, to the
// events stream of names. It returns an error naming the setting when cfg is invalid.
func New(st Store, js jetstream.JetStream, names event.Names, clock clockwork.Clock, log *slog.Logger, cfg Config) (*Dispatcher, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = cfg.Policy.Dialer(cfg.Timeout).DialContext
	transport.Proxy = nil // the policy would see only the proxy
	client := &http.Client{Transport: transport,
		// A redirect is not a delivery: followed, a 302 to a login page would count as one.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	notices, err := cfg.Metrics.CounterVec(metric.AlertNotifications)
	if err != nil {
		return nil, err
	}
	d := &Dispatcher{store: st, cfg: cfg, clock: clock, log: log, client: client, types: map[string]string{}, notices: notices}
	if js != nil {
		d.senders = append(d.senders, &events{pub: queue.NewPublisher(js), names: names, publicURL: cfg.PublicURL})
		d.types[EventsChannel] = "events"
	}
	for _, c := range cfg.Channels {
		var (
			s   sender
			err error
		)
		switch c.Type {
		case "webhook":
			s, err = newWebhook(c, client, cfg.PublicURL)
		case "smtp":
			s, err = newMailer(c, cfg.Policy, clock)
		default:
			err = fmt.Errorf("alert channel %s: type %q is not webhook or smtp", c.Name, c.Type)
		}
		if err != nil {
			return nil, err
		}
		d.senders = append(d.senders, s)
		d.types[c.Name] = c.Type
	}
	return d, nil
}

// pruneEvery is how often Run removes notices done for longer than Config.Retention.
const pruneEvery = time.Hour

// Run delivers until ctx ends, then returns nil. Failures are logged; none ends it.
func (d *Dispatcher) Run(ctx context.Context) error {
	defer d.client.CloseIdleConnections()
	names := make([]string, len(d.senders))
	for i, s := range d.senders {
		names[i] = s.Name()
	}
	d.log.Info("delivering alerts", "channels", names, "interval", d.cfg.Interval.String())
	failures := 0
	var pruned time.Time
	for {
		if now := d.clock.Now(); now.Sub(pruned) >= pruneEvery {
			// Done notices are kept a while for the job page and for an operator's questions.
			if n, err := d.store.PruneAlerts(ctx, now.Add(-d.cfg.Retention)); err != nil {
				d.log.Warn("alerts: prune delivered notices", "error", err)
			} else if n > 0 {
				d.log.Info("alerts: pruned delivered notices", "count", n)
			}
			pruned = now
		}
		n, err := d.Pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := d.cfg.Interval
		switch {
		case err != nil:
			failures++
			wait = min(d.cfg.Interval<<min(failures, 5), d.cfg.MaxBackoff)
			d.log.Error("alerts: read the outbox", "error", err, "failures", failures, "retry_in", wait.String())
		case n == d.cfg.BatchSize:
			failures, wait = 0, 0 // more may be waiting
		default:
			failures = 0
		}
		if wait > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-d.clock.After(wait):
			}
		}
	}
}

// Pass delivers the notices due now, one batch at most, and returns how many it looked at.
// A channel that fails does not fail the pass: the notice keeps it pending for a later one.
// It returns the database's error.
func (d *Dispatcher) Pass(ctx context.Context) (int, error) {
	return d.store.DeliverAlerts(ctx, d.clock.Now(), d.cfg.BatchSize, func(ctx context.Context, list []*domain.Alert) error {
		// At once, a few at a time: a channel that answers slowly holds up the batch (and its
		// locks) for one timeout, not one per notice. A batch never holds two notices of one
		// job (the store hands a job's next notice over once the one before it is done).
		var wg sync.WaitGroup
		sem := make(chan struct{}, parallelNotices)
		for _, a := range list {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				d.deliver(ctx, a)
			})
		}
		wg.Wait()
		return nil
	})
}

// deliver tries every channel of a that is pending and due, at once, then sets when a is
// tried next, or that it is done.
func (d *Dispatcher) deliver(ctx context.Context, a *domain.Alert) {
	now := d.clock.Now()
	if a.Deliveries == nil {
		a.Deliveries = map[string]*domain.AlertDelivery{}
	}
	data := DataOf(a, d.cfg.PublicURL)
	var wg sync.WaitGroup
	for _, s := range d.senders {
		st := a.Deliveries[s.Name()]
		if st == nil {
			st = &domain.AlertDelivery{State: domain.DeliveryPending}
			a.Deliveries[s.Name()] = st
		}
		if st.State != domain.DeliveryPending || (st.NextAt != nil && st.NextAt.After(now)) {
			continue
		}
		wg.Go(func() {
			sctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
			defer cancel()
			err := s.Send(sctx, a, data)
			d.settle(a, s.Name(), st, err, now)
		})
	}
	wg.Wait()
	d.settleUnknown(a, now)
	var next *time.Time
	for _, st := range a.Deliveries {
		if st.State == domain.DeliveryPending && st.NextAt != nil && (next == nil || st.NextAt.Before(*next)) {
			next = st.NextAt
		}
	}
	if next == nil {
		a.DoneAt = &now
		return
	}
	a.NextAttemptAt = *next
}

// settleUnknown deals with the pending deliveries of a to channels this replica does not have:
// a channel renamed or removed from the settings while it failed, or one another replica (in a
// rollout) has. Such a delivery is given up, as a failing channel is, once GiveUpAfter has
// passed since a was raised; until then it is looked at again after MaxBackoff, not on every
// pass, and a replica that has the channel may still deliver it. Left pending, it would keep a
// due forever, and every later notice of its job (the recovery) behind it.
func (d *Dispatcher) settleUnknown(a *domain.Alert, now time.Time) {
	for name, st := range a.Deliveries {
		if st.State != domain.DeliveryPending || slices.ContainsFunc(d.senders, func(s sender) bool { return s.Name() == name }) {
			continue
		}
		giveUp := a.CreatedAt.Add(d.cfg.GiveUpAfter)
		if !now.Before(giveUp) {
			st.State, st.At, st.NextAt, st.LastError = domain.DeliveryFailed, &now, nil, "the channel is not configured on this replica"
			d.log.Error("alert not delivered; giving up on a channel that is not configured",
				"alert_id", a.ID, "job_id", a.JobID, "state", string(a.State), "channel", name)
			continue
		}
		if st.NextAt == nil || !st.NextAt.After(now) {
			next := now.Add(d.cfg.MaxBackoff)
			if giveUp.Before(next) {
				next = giveUp
			}
			st.NextAt = &next
		}
	}
}

// settle records how one channel's attempt went.
func (d *Dispatcher) settle(a *domain.Alert, channel string, st *domain.AlertDelivery, err error, now time.Time) {
	st.Attempts++
	if err == nil {
		st.State, st.At, st.NextAt, st.LastError = domain.DeliveryDelivered, &now, nil, ""
		d.notices.Inc(d.types[channel], metric.ResultOK)
		return
	}
	st.LastError = err.Error()
	attrs := []any{"alert_id", a.ID, "job_id", a.JobID, "state", string(a.State), "channel", channel, "attempts", st.Attempts, "error", st.LastError}
	_, denied := egress.Denied(err)
	if denied || now.Sub(a.CreatedAt) >= d.cfg.GiveUpAfter {
		// A refusal by the egress policy is permanent: retrying cannot change it.
		st.State, st.At, st.NextAt = domain.DeliveryFailed, &now, nil
		d.log.Error("alert not delivered; giving up on the channel", attrs...)
		d.notices.Inc(d.types[channel], metric.ResultGaveUp)
		return
	}
	wait := d.cfg.MinBackoff
	for i := 1; i < st.Attempts && wait < d.cfg.MaxBackoff; i++ {
		wait *= 2
	}
	next := now.Add(min(wait, d.cfg.MaxBackoff))
	st.NextAt = &next
	d.log.Warn("alert not delivered; retrying", append(attrs, "retry_at", next.Format(time.RFC3339))...)
	d.notices.Inc(d.types[channel], metric.ResultRetry)
}

// events publishes the io.vecron.job.alert event on the events stream, where the lifecycle
// sink forwards it with the other events.
type events struct {
	pub       *queue.Publisher
	names     event.Names
	publicURL string
}

func (e *events) Name() string { return EventsChannel }

// Send publishes a's event with the message id "<source>/<alert id>": the stream keeps one
// copy of a notice published twice within its duplicate window.
func (e *events) Send(ctx context.Context, a *domain.Alert, _ Data) error {
	ev, err := event.NewJobAlert(a, e.publicURL)
	if err != nil {
		return err
	}
	msg, err := event.ToNATS(ctx, ev)
	if err != nil {
		return err
	}
	return e.pub.Publish(ctx, queue.Message{Subject: e.names.EventSubject(event.TypeJobAlert), MsgID: event.SourceAlerts + "/" + ev.ID(), Msg: msg})
}

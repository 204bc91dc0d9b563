// Package auditsink forwards the audit log to a SIEM: every row, in seq order, as an
// io.vecron.audit.recorded CloudEvent posted in HTTP binary mode to the URL of audit.sink.
//
// Delivery is at least once. The store keeps the seq of the last row the sink accepted (a 2xx
// answer) and moves it after each acceptance, in the transaction that holds the cursor's row
// locked: one API replica delivers at a time, a restart resumes after the cursor, and a row is
// sent again only when the forwarder stopped between the sink's answer and the commit (a crash,
// a lost connection, a failed commit) or gave up waiting for an answer the sink then acted on. The event id is
// the row's seq, so the receiver drops what it has seen. A row the sink refuses is retried,
// after a back-off, until it is accepted: no row is ever skipped, and none is sent before the
// rows ahead of it.
package auditsink

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/sink"
	"github.com/vecron/vecron/shared/store"
)

// Defaults of Config.
const (
	IntervalDefault   = 2 * time.Second
	BatchSizeDefault  = 100
	MinBackoffDefault = time.Second
	MaxBackoffDefault = time.Minute
	TimeoutDefault    = 10 * time.Second
)

// lockSlack is the time a delivery's bound allows beyond the sink's timeout: reading and locking
// the cursor before the post.
const lockSlack = 5 * time.Second

// Config configures a Forwarder. Zero fields take their defaults.
type Config struct {
	// Sink is the http or https URL the events are posted to: the setting audit.sink.
	Sink string
	// Interval is how often the forwarder looks for new rows once it has caught up, and how
	// often a replica that does not hold the cursor tries to: audit.forward_interval.
	Interval time.Duration
	// BatchSize bounds the rows read at once.
	BatchSize int
	// MinBackoff is the wait after a first failure; each failure in a row doubles it, up to
	// MaxBackoff.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// Timeout bounds one delivery, the sink's answer included.
	Timeout time.Duration
	// Policy is the egress policy the sink is reached through, like every outbound connection
	// of a configured channel; nil applies the default policy.
	Policy *egress.Policy
}

func (c Config) withDefaults() Config {
	c.Interval = cmp.Or(c.Interval, IntervalDefault)
	c.BatchSize = cmp.Or(c.BatchSize, BatchSizeDefault)
	c.MinBackoff = cmp.Or(c.MinBackoff, MinBackoffDefault)
	c.MaxBackoff = cmp.Or(c.MaxBackoff, MaxBackoffDefault)
	c.Timeout = cmp.Or(c.Timeout, TimeoutDefault)
	return c
}

func (c Config) validate() error {
	switch {
	case c.Interval < 0:
		return errors.New("audit.forward_interval: must not be negative")
	case c.BatchSize < 0:
		return errors.New("auditsink: BatchSize must not be negative")
	case c.MinBackoff < 0 || c.MaxBackoff < 0:
		return errors.New("auditsink: MinBackoff and MaxBackoff must not be negative")
	case c.Timeout < 0:
		return errors.New("auditsink: Timeout must not be negative")
	}
	return nil
}

// Store is what the forwarder needs of the database.
type Store interface {
	AuditForwardCursor(ctx context.Context) (int64, error)
	AuditAfter(ctx context.Context, after int64, limit int) ([]*audit.Record, error)
	AdvanceAuditForward(ctx context.Context, from, to int64, deliver func(context.Context) error) error
}

var _ Store = (*store.Store)(nil)

// Forwarder delivers the audit log to the sink. Run it on every API replica: they take turns
// through the store's cursor, and one delivers at a time.
type Forwarder struct {
	store Store
	sink  *sink.Client
	cfg   Config
	clock clockwork.Clock
	log   *slog.Logger
}

// New returns a forwarder to cfg.Sink that waits on clock and logs to log. It returns an error
// naming the setting when cfg is invalid.
func New(st Store, clock clockwork.Clock, log *slog.Logger, cfg Config) (*Forwarder, error) {
	// The URL may carry credentials: the errors say what is wrong without quoting it.
	client, err := sink.New(sink.Config{URL: cfg.Sink, Setting: "audit.sink", Timeout: cfg.Timeout, Policy: cfg.Policy})
	if err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Forwarder{store: st, sink: client, cfg: cfg.withDefaults(), clock: clock, log: log}, nil
}

// Run forwards until ctx ends, then returns nil. Failures are logged and retried; none ends it.
func (f *Forwarder) Run(ctx context.Context) error {
	defer f.sink.CloseIdleConnections()
	f.log.Info("forwarding the audit log", "sink_host", f.sink.Host(), "interval", f.cfg.Interval.String())
	failures := 0
	for {
		full, err := f.pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := f.cfg.Interval
		switch {
		case errors.Is(err, store.ErrAuditForwardHeld):
			// Another replica forwards; its failures are its own to back off from.
			failures = 0
		case err != nil:
			failures++
			wait = sink.Backoff(failures, f.cfg.MinBackoff, f.cfg.MaxBackoff)
			f.logFailure(err, failures, wait)
		case full:
			failures, wait = 0, 0 // more rows may be waiting
		default:
			failures = 0
		}
		if !f.sleep(ctx, wait) {
			return nil
		}
	}
}

// pass delivers the rows after the cursor, one batch at most, each once the one before it is
// accepted. full reports a whole batch delivered (more may wait). It stops at the first row not
// delivered and returns why: the sink's answer (*DeliveryError), store.ErrAuditForwardHeld
// when another replica forwards, or the database's error.
func (f *Forwarder) pass(ctx context.Context) (full bool, err error) {
	after, err := f.store.AuditForwardCursor(ctx)
	if err != nil {
		return false, err
	}
	rows, err := f.store.AuditAfter(ctx, after, f.cfg.BatchSize)
	if err != nil {
		return false, err
	}
	for _, r := range rows {
		// The deadline is how long the database holds the cursor for this delivery
		// (AdvanceAuditForward): the sink's own timeout, and a moment to take the lock.
		dctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout+lockSlack)
		err := f.store.AdvanceAuditForward(dctx, after, r.Seq, func(ctx context.Context) error { return f.deliver(ctx, r) })
		cancel()
		if err != nil {
			return false, err
		}
		after = r.Seq
	}
	return len(rows) == f.cfg.BatchSize, nil
}

// DeliveryError says why the sink did not accept a row.
type DeliveryError struct {
	Seq int64
	// Status is the sink's HTTP status; 0 when it did not answer.
	Status int
	// Err is why there was no answer or no request; nil when the sink answered.
	Err error
}

func (e *DeliveryError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("deliver audit row %d: %v", e.Seq, e.Err)
	}
	return fmt.Sprintf("deliver audit row %d: the sink answered %d", e.Seq, e.Status)
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// deliver posts r's event and returns nil when the sink accepts it with a 2xx.
func (f *Forwarder) deliver(ctx context.Context, r *audit.Record) error {
	ev, err := event.NewAuditRecorded(r)
	if err != nil {
		return &DeliveryError{Seq: r.Seq, Err: err}
	}
	err = f.sink.Post(ctx, ev)
	if se := (*sink.Error)(nil); errors.As(err, &se) {
		return &DeliveryError{Seq: r.Seq, Status: se.Status, Err: se.Err}
	}
	if err != nil {
		return &DeliveryError{Seq: r.Seq, Err: err}
	}
	return nil
}

// logFailure logs why forwarding stopped: the seq and the sink's status, never the row, which is
// the SIEM's to see and not the application log's.
func (f *Forwarder) logFailure(err error, failures int, wait time.Duration) {
	var de *DeliveryError
	if !errors.As(err, &de) {
		f.log.Error("audit forwarding: read the log", "error", err, "failures", failures, "retry_in", wait.String())
		return
	}
	attrs := []any{"seq", de.Seq, "failures", failures, "retry_in", wait.String()}
	if de.Status != 0 {
		attrs = append(attrs, "status", de.Status)
	}
	if de.Err != nil {
		attrs = append(attrs, "error", de.Err.Error())
	}
	f.log.Warn("audit row not delivered to the sink; retrying", attrs...)
}

// sleep waits d on the clock and reports false when ctx ended first.
func (f *Forwarder) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := f.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.Chan():
		return true
	}
}

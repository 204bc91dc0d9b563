// Package jobevents publishes the changes made to jobs through the API — created, updated,
// deleted, paused, resumed — as io.vecron.job.* CloudEvents on the events stream, beside the
// executors' io.vecron.execution.* events.
//
// The events are read from the audit log, not sent by the request that made the change: the
// audit row is written in the change's own transaction, so a change that commits is published
// even when the replica that made it dies a moment later, and a change rolled back never is. A
// cursor in the database (audit_cursors, "job-events") says how far the log has been
// published; every api replica runs a Publisher and they take turns through it, one publishing
// at a time. Delivery is at least once: a batch whose cursor write failed is published again,
// with the same message ids (the stream drops repeats within its duplicate window) and the same
// event ids (a reader drops the rest).
package jobevents

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/store"
)

// CursorName names the publisher's cursor in audit_cursors.
const CursorName = "job-events"

// Defaults of Config.
const (
	// IntervalDefault is how often the log is read when no notification arrives: a replica
	// that did not hold the cursor when a change was notified, or a lost notification, waits
	// at most this long.
	IntervalDefault  = 5 * time.Second
	BatchSizeDefault = 200
	maxBackoff       = time.Minute
)

// Config configures a Publisher. Zero fields take their defaults.
type Config struct {
	Interval  time.Duration
	BatchSize int
}

// Store is what the publisher needs of the database.
type Store interface {
	AuditCursor(ctx context.Context, name string) (int64, error)
	AuditAfter(ctx context.Context, after int64, limit int) ([]*audit.Record, error)
	AdvanceAuditCursor(ctx context.Context, name string, from, to int64, deliver func(context.Context) error) error
	ListenAudit(ctx context.Context, ready func(), notify func()) error
}

var _ Store = (*store.Store)(nil)

// Publisher publishes job changes from the audit log.
type Publisher struct {
	store Store
	pub   *queue.Publisher
	names event.Names
	cfg   Config
	clock clockwork.Clock
	log   *slog.Logger
	wake  chan struct{}
}

// New returns a publisher to the events stream of names on js.
func New(st Store, js jetstream.JetStream, names event.Names, clock clockwork.Clock, log *slog.Logger, cfg Config) *Publisher {
	cfg.Interval = cmp.Or(cfg.Interval, IntervalDefault)
	cfg.BatchSize = cmp.Or(cfg.BatchSize, BatchSizeDefault)
	return &Publisher{store: st, pub: queue.NewPublisher(js), names: names, cfg: cfg, clock: clock, log: log,
		wake: make(chan struct{}, 1)}
}

// Run publishes until ctx ends, then returns nil. Failures are logged and retried; none ends it.
func (p *Publisher) Run(ctx context.Context) error {
	go p.listen(ctx)
	failures := 0
	for {
		full, err := p.pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := p.cfg.Interval
		switch {
		case errors.Is(err, store.ErrAuditForwardHeld):
			failures = 0 // another replica publishes
		case err != nil:
			failures++
			wait = min(time.Duration(1<<min(failures-1, 6))*time.Second, maxBackoff)
			p.log.Error("job events: publish", "error", err, "failures", failures, "retry_in", wait.String())
		case full:
			failures, wait = 0, 0
		default:
			failures = 0
		}
		if wait == 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-p.clock.After(wait):
		case <-p.wake:
			if failures > 0 {
				// A failing stream or database is not retried faster because changes keep coming.
				select {
				case <-ctx.Done():
					return nil
				case <-p.clock.After(wait):
				}
			}
		}
	}
}

// listen turns audit notifications into wake-ups, listening again after a lost connection.
func (p *Publisher) listen(ctx context.Context) {
	for {
		err := p.store.ListenAudit(ctx, p.poke, p.poke)
		if ctx.Err() != nil {
			return
		}
		p.log.Warn("job events: audit notifications interrupted; listening again", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-p.clock.After(time.Second):
		}
	}
}

func (p *Publisher) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// pass publishes the job changes among the rows after the cursor, one batch of rows at most,
// and moves the cursor past them. full reports a whole batch read (more may wait).
func (p *Publisher) pass(ctx context.Context) (full bool, err error) {
	after, err := p.store.AuditCursor(ctx, CursorName)
	if err != nil {
		return false, err
	}
	rows, err := p.store.AuditAfter(ctx, after, p.cfg.BatchSize)
	if err != nil || len(rows) == 0 {
		return false, err
	}
	var msgs []queue.Message
	for _, r := range rows {
		evs, err := event.NewJobChanges(r)
		if err != nil {
			// A row that cannot be read now never will be: holding the cursor on it would stop
			// every change after it.
			p.log.Error("job events: skip an audit row that does not describe a job", "seq", r.Seq, "error", err)
			continue
		}
		for _, ev := range evs {
			msg, err := event.ToNATS(ctx, ev)
			if err != nil {
				p.log.Error("job events: skip an event that cannot be encoded", "seq", r.Seq, "error", err)
				continue
			}
			msgs = append(msgs, queue.Message{Subject: p.names.EventSubject(ev.Type()), MsgID: event.SourceJobs + "/" + ev.ID(), Msg: msg})
		}
	}
	last := rows[len(rows)-1].Seq
	err = p.store.AdvanceAuditCursor(ctx, CursorName, after, last, func(ctx context.Context) error {
		return errors.Join(p.pub.PublishBatch(ctx, msgs)...)
	})
	if err != nil {
		return false, fmt.Errorf("publish job changes after audit row %d: %w", after, err)
	}
	return len(rows) == p.cfg.BatchSize, nil
}

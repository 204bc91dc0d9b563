package queue

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vecron/vecron/shared/metric"
)

// Message is one message to publish: the subject, the de-duplication id and the encoded event.
type Message struct {
	Subject string
	// MsgID becomes the Nats-Msg-Id header: JetStream stores one message per id within the
	// stream's duplicate window.
	MsgID string
	Msg   *nats.Msg
}

// Publisher publishes to JetStream.
type Publisher struct {
	js   jetstream.JetStream
	errs *metric.CounterVec
}

// NewPublisher returns a publisher on js. Create js with jetstream.WithPublishAsyncMaxPending
// sized to the largest batch you publish.
func NewPublisher(js jetstream.JetStream) *Publisher { return &Publisher{js: js} }

// WithMetrics returns a copy of p that counts the messages JetStream did not store in reg's
// vecron_queue_publish_errors_total, or an error when reg cannot register the family.
func (p *Publisher) WithMetrics(reg *metric.Registry) (*Publisher, error) {
	errs, err := reg.CounterVec(metric.QueuePublishErrors)
	if err != nil {
		return nil, err
	}
	q := *p
	q.errs = errs
	return &q, nil
}

// failed counts a message to subject that was not stored, and returns err.
func (p *Publisher) failed(subject string, err error) error {
	if p != nil {
		p.errs.Inc(streamOf(subject))
	}
	return err
}

// streamOf returns the stream label of subject: its second token ("vecron.due.http" → "due"),
// since a prefix is one token (event.Names) and each stream has its own second token.
func streamOf(subject string) string {
	_, rest, _ := strings.Cut(subject, ".")
	token, _, _ := strings.Cut(rest, ".")
	return token
}

// PublishBatch publishes msgs without waiting between them, then waits for every acknowledgement.
// It returns one error per message (nil when JetStream stored it, including as a duplicate).
func (p *Publisher) PublishBatch(ctx context.Context, msgs []Message) []error {
	errs, _ := p.PublishBatchDup(ctx, msgs)
	return errs
}

// PublishBatchDup is PublishBatch that also says which messages JetStream acknowledged as
// duplicates of one it already had (the same MsgID within the stream's duplicate window): a
// republished fire is acknowledged, but was published before.
func (p *Publisher) PublishBatchDup(ctx context.Context, msgs []Message) ([]error, []bool) {
	errs := make([]error, len(msgs))
	dups := make([]bool, len(msgs))
	futures := make([]jetstream.PubAckFuture, len(msgs))
	for i, m := range msgs {
		m.Msg.Subject = m.Subject
		f, err := p.js.PublishMsgAsync(m.Msg, jetstream.WithMsgID(m.MsgID))
		if err != nil {
			errs[i] = p.failed(m.Subject, fmt.Errorf("publish %s: %w", m.MsgID, err))
			continue
		}
		futures[i] = f
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case ack := <-f.Ok():
			dups[i] = ack != nil && ack.Duplicate
		case err := <-f.Err():
			errs[i] = p.failed(msgs[i].Subject, fmt.Errorf("publish %s: %w", msgs[i].MsgID, err))
		case <-ctx.Done():
			errs[i] = p.failed(msgs[i].Subject, fmt.Errorf("publish %s: %w", msgs[i].MsgID, ctx.Err()))
		}
	}
	return errs, dups
}

// Publish publishes one message and waits for its acknowledgement.
func (p *Publisher) Publish(ctx context.Context, m Message) error {
	m.Msg.Subject = m.Subject
	if _, err := p.js.PublishMsg(ctx, m.Msg, jetstream.WithMsgID(m.MsgID)); err != nil {
		return p.failed(m.Subject, fmt.Errorf("publish %s: %w", m.MsgID, err))
	}
	return nil
}

// Pending is a message published without waiting: its acknowledgement arrives later.
type Pending struct {
	p       *Publisher
	id      string
	subject string
	f       jetstream.PubAckFuture
	err     error
}

// PublishAsync publishes one message and returns at once, before JetStream acknowledges it:
// the caller goes on with its work and asks Pending.Wait later, when the acknowledgement has
// most likely arrived. It blocks only while the connection holds MaxPending unacknowledged
// messages.
func (p *Publisher) PublishAsync(m Message) *Pending {
	m.Msg.Subject = m.Subject
	f, err := p.js.PublishMsgAsync(m.Msg, jetstream.WithMsgID(m.MsgID))
	if err != nil {
		err = p.failed(m.Subject, fmt.Errorf("publish %s: %w", m.MsgID, err))
	}
	return &Pending{p: p, id: m.MsgID, subject: m.Subject, f: f, err: err}
}

// Wait returns nil once JetStream has stored the message (or dropped it as a duplicate), and
// an error when the publish failed, its acknowledgement timed out, or ctx ended first.
func (q *Pending) Wait(ctx context.Context) error {
	if q.err != nil {
		return q.err
	}
	select {
	case <-q.f.Ok():
		return nil
	case err := <-q.f.Err():
		return q.p.failed(q.subject, fmt.Errorf("publish %s: %w", q.id, err))
	case <-ctx.Done():
		return q.p.failed(q.subject, fmt.Errorf("publish %s: %w", q.id, ctx.Err()))
	}
}

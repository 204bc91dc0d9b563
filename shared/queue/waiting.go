package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
)

// Waiting is a fire the due stream still holds: published, not yet acknowledged by an executor.
type Waiting struct {
	Key         string
	JobID       string
	ScheduledAt time.Time
	Kind        domain.JobKind
	// Seq is the message's sequence in the due stream; Stored when the stream stored it, by
	// the broker's clock.
	Seq    uint64
	Stored time.Time
	// Consumer is the durable consumer of the fire's kind; empty when there is none.
	Consumer string
	// Delivered reports that the consumer has handed the message out at least once.
	Delivered bool
}

// Inspector reads what the due stream holds without consuming it.
type Inspector struct {
	js    jetstream.JetStream
	names event.Names
}

// NewInspector returns an inspector of names' due stream on js.
func NewInspector(js jetstream.JetStream, names event.Names) *Inspector {
	return &Inspector{js: js, names: names}
}

// Waiting returns up to limit of the oldest fires the due stream holds from sequence from on
// (from the first when from is 0, or beyond the stream's end, as after the stream was made
// again), oldest first, each with what its kind's durable consumer says of it. A message that
// is not a due fire this version wrote comes back with an empty Key, to be stepped over. A work-queue stream holds a message until an
// executor acknowledges it, so in a healthy system it holds only fires in flight, staged, or
// waiting for a retry. It reads each message by "next by subject" from the previous one, which
// steps over the holes acknowledged messages leave, and never consumes or redelivers anything.
func (i *Inspector) Waiting(ctx context.Context, from uint64, limit int) ([]Waiting, error) {
	stream, err := i.js.Stream(ctx, i.names.DueStream())
	if err != nil {
		return nil, fmt.Errorf("inspect due stream: %w", err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("inspect due stream: %w", err)
	}
	if info.State.Msgs == 0 || limit <= 0 {
		return nil, nil
	}
	// The last stream sequence each kind's consumer has delivered: a message still held at or
	// below it was delivered and not acknowledged; above it, it was never delivered.
	delivered := map[domain.JobKind]uint64{}
	consumers := map[domain.JobKind]string{}
	for _, kind := range []domain.JobKind{domain.KindHTTP, domain.KindSQL} {
		name := i.names.DueConsumer(kind)
		c, err := stream.Consumer(ctx, name)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("inspect consumer %s: %w", name, err)
		}
		ci, err := c.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("inspect consumer %s: %w", name, err)
		}
		consumers[kind], delivered[kind] = name, ci.Delivered.Stream
	}
	prefix := strings.TrimSuffix(i.names.DueSubjects(), ">")
	var out []Waiting
	seq := max(from, info.State.FirstSeq)
	if from > info.State.LastSeq+1 {
		seq = info.State.FirstSeq
	}
	for len(out) < limit {
		msg, err := stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(i.names.DueSubjects()))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return out, fmt.Errorf("read due message %d: %w", seq, err)
		}
		seq = msg.Sequence + 1
		w := Waiting{Key: msg.Header.Get(jetstream.MsgIDHeader), JobID: msg.Header.Get("ce-subject"),
			Kind: domain.JobKind(strings.TrimPrefix(msg.Subject, prefix)), Seq: msg.Sequence, Stored: msg.Time.UTC()}
		at, err := time.Parse(time.RFC3339Nano, msg.Header.Get("ce-time"))
		if err != nil || w.Key == "" || uuid.Validate(w.JobID) != nil {
			out = append(out, Waiting{Seq: msg.Sequence}) // nothing to judge it by
			continue
		}
		w.ScheduledAt = domain.Instant(at)
		if name, ok := consumers[w.Kind]; ok {
			w.Consumer, w.Delivered = name, msg.Sequence <= delivered[w.Kind]
		}
		out = append(out, w)
	}
	return out, nil
}

// Package feed follows the events stream (VECRON_EVENTS) for the API's live stream: one ordered
// consumer per replica, started when the first watcher arrives and stopped a while after the
// last one leaves, fanned out to every watcher through a bounded buffer each.
//
// A watcher may resume after the stream sequence of the last event it saw (SSE's
// Last-Event-ID). The hub keeps the newest events in a ring; a resume from within the ring is
// served from memory, an older one is read back from the stream first, then the ring, then the
// live feed, so a reconnecting watcher misses nothing the stream still holds. A watcher too
// slow to keep up is dropped, and resumes the same way when it reconnects.
package feed

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vecron/vecron/shared/event"
)

// Defaults of Config.
const (
	RingDefault        = 4096
	BufferDefault      = 1024
	IdleDefault        = 5 * time.Minute
	MaxBackfillDefault = 100_000
	// MaxBackfillsDefault: a read-back costs a consumer on the server and decoding up to
	// MaxBackfill events; a replica serves this many at once.
	MaxBackfillsDefault = 4
)

// Config shapes a Hub. Zero fields take their defaults.
type Config struct {
	// Ring is how many of the newest events are kept in memory for watchers that resume.
	Ring int
	// Buffer is how many events may wait for one watcher before it is dropped as too slow.
	Buffer int
	// Idle is how long the hub keeps following the stream after its last watcher left.
	Idle time.Duration
	// MaxBackfill bounds how many events a resume reads back from the stream; a watcher further
	// behind is told what it missed and resumes there.
	MaxBackfill uint64
	// MaxBackfills bounds the read-backs running at once; more resumes wait for a turn.
	MaxBackfills int
}

// gapExpired explains a gap of events the stream no longer holds.
const gapExpired = "these events are older than the stream keeps"

// ErrClosed is returned by Subscribe once the hub has stopped.
var ErrClosed = errors.New("feed: stopped")

// Item is one event of the stream.
type Item struct {
	// Seq is the event's sequence in the stream: the SSE id a watcher resumes after.
	Seq uint64
	// Type, Namespace and Subject are the event's type, namespace extension and subject.
	Type, Namespace, Subject string
	// JSON is the event in CloudEvents' structured JSON form.
	JSON []byte
	// Gap, when set, makes the item a notice instead of an event: the events it names left the
	// stream before the hub could read them. Seq is then Gap.Until.
	Gap *Gap
}

// Gap tells a watcher that events after After and up to Until (inclusive) can no longer be
// delivered: they left the stream, or were too many to read back.
type Gap struct {
	After, Until uint64
	Reason       string
}

// Hub fans the events stream out to watchers.
type Hub struct {
	js     jetstream.JetStream
	stream string
	filter string
	cfg    Config
	clock  clockwork.Clock
	log    *slog.Logger

	mu      sync.Mutex
	closed  bool
	subs    map[*Sub]struct{}
	running jetstream.ConsumeContext
	idle    clockwork.Timer
	// ring holds the newest events, oldest first, from head; floor is the sequence every event
	// after which is in the ring or still to come from the live feed; last is the newest
	// sequence the live feed has delivered (or floor).
	ring  []Item
	head  int
	floor uint64
	last  uint64
	// backfills holds a token per read-back running.
	backfills chan struct{}
}

// New returns a hub over the events stream of names on js.
func New(js jetstream.JetStream, names event.Names, clock clockwork.Clock, log *slog.Logger, cfg Config) *Hub {
	cfg.Ring = cmp.Or(cfg.Ring, RingDefault)
	cfg.Buffer = cmp.Or(cfg.Buffer, BufferDefault)
	cfg.Idle = cmp.Or(cfg.Idle, IdleDefault)
	cfg.MaxBackfill = cmp.Or(cfg.MaxBackfill, MaxBackfillDefault)
	cfg.MaxBackfills = cmp.Or(cfg.MaxBackfills, MaxBackfillsDefault)
	return &Hub{js: js, stream: names.EventsStream(), filter: names.EventsSubjects(), cfg: cfg, clock: clock, log: log,
		subs: map[*Sub]struct{}{}, backfills: make(chan struct{}, cfg.MaxBackfills)}
}

// Run keeps the hub until ctx ends, then stops following the stream and ends every watcher.
func (h *Hub) Run(ctx context.Context) error {
	<-ctx.Done()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	h.stopLocked()
	for s := range h.subs {
		s.end("the server is shutting down")
	}
	return nil
}

// Sub is one watcher's subscription.
type Sub struct {
	hub *Hub
	ch  chan Item
	// reason says why the hub ended the subscription; read it after C is closed.
	reason string
	// Resume plan, fixed when subscribing: read back (backfillAfter, backfillUntil] from the
	// stream when backfillUntil > backfillAfter, then snapshot, then C.
	backfillAfter, backfillUntil uint64
	snapshot                     []Item
	// after: events up to it were seen by the watcher (or skipped by a reset).
	after uint64
	gap   *Gap
}

// C delivers live events; it is closed when the hub ends the subscription (Reason says why).
func (s *Sub) C() <-chan Item { return s.ch }

// Reason says why C was closed.
func (s *Sub) Reason() string {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.reason
}

func (s *Sub) end(reason string) {
	if s.reason == "" {
		s.reason = reason
		close(s.ch)
	}
}

// Close ends the subscription.
func (s *Sub) Close() {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; !ok {
		return
	}
	delete(h.subs, s)
	s.end("closed")
	h.idleLocked()
}

// Subscribe adds a watcher. With last nil the watcher sees the events that come from now on;
// with last set it resumes after that stream sequence. Replay then delivers what it missed.
func (h *Hub) Subscribe(ctx context.Context, last *uint64) (*Sub, error) {
	// Read before taking the lock: a slow answer must not hold up every watcher's feed.
	info, err := h.js.Stream(ctx, h.stream)
	if err != nil {
		return nil, fmt.Errorf("feed: read stream %s: %w", h.stream, err)
	}
	state := info.CachedInfo().State
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	if h.running != nil && state.LastSeq < h.last {
		// The stream was made anew and counts from 1 again: what the hub holds is the old one's.
		h.stopLocked()
		for s := range h.subs {
			delete(h.subs, s)
			s.end("the event stream was reset; reconnect")
		}
	}
	if h.running == nil {
		if err := h.startLocked(ctx, state); err != nil {
			return nil, err
		}
	}
	if h.idle != nil {
		h.idle.Stop()
		h.idle = nil
	}
	s := &Sub{hub: h, ch: make(chan Item, h.cfg.Buffer)}
	now := max(h.last, state.LastSeq)
	switch {
	case last == nil:
		// What the hub is still catching up on happened before this watcher came.
		s.after = now
	case *last > now:
		// An id of a stream that no longer exists.
		s.after = now
		s.gap = &Gap{After: 0, Until: now, Reason: "the event stream was made anew; its events resume from the newest"}
	case *last > h.last:
		// Ahead of this replica's feed (another replica served it): the feed brings the rest.
		s.after = *last
	default:
		s.after = *last
		if *last < h.floor {
			s.backfillAfter, s.backfillUntil = *last, h.floor
		}
		for i := range len(h.ring) {
			if it := h.ring[(h.head+i)%cap(h.ring)]; it.Seq > *last {
				s.snapshot = append(s.snapshot, it)
			}
		}
	}
	h.subs[s] = struct{}{}
	return s, nil
}

// Replay calls fn with what the watcher missed before its live events: a Gap first when some
// of it is gone, then each missed event in order. It reads back from the stream when the
// watcher resumes from before the ring.
func (s *Sub) Replay(ctx context.Context, gap func(Gap) error, fn func(Item) error) error {
	if s.gap != nil {
		if err := gap(*s.gap); err != nil {
			return err
		}
	}
	if s.backfillUntil > s.backfillAfter {
		select {
		case s.hub.backfills <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		err := s.hub.backfill(ctx, s.backfillAfter, s.backfillUntil, gap, fn)
		<-s.hub.backfills
		if err != nil {
			return err
		}
	}
	for _, it := range s.snapshot {
		var err error
		if it.Gap != nil {
			err = gap(*it.Gap)
		} else {
			err = fn(it)
		}
		if err != nil {
			return err
		}
	}
	s.snapshot = nil
	return nil
}

// After is the sequence the watcher's live events start after: C never delivers one at or
// before it.
func (s *Sub) After() uint64 { return s.after }

// backfill reads the events in (after, until] back from the stream.
func (h *Hub) backfill(ctx context.Context, after, until uint64, gap func(Gap) error, fn func(Item) error) error {
	info, err := h.js.Stream(ctx, h.stream)
	if err != nil {
		return fmt.Errorf("feed: read stream %s: %w", h.stream, err)
	}
	state := info.CachedInfo().State
	from := after + 1
	if state.FirstSeq > from {
		end := min(state.FirstSeq-1, until)
		if err := gap(Gap{After: after, Until: end, Reason: gapExpired}); err != nil {
			return err
		}
		from = end + 1
	}
	if from > until {
		return nil
	}
	if until-from+1 > h.cfg.MaxBackfill {
		end := until - h.cfg.MaxBackfill
		if err := gap(Gap{After: from - 1, Until: end, Reason: fmt.Sprintf("more than %d events were missed; read the history for them", h.cfg.MaxBackfill)}); err != nil {
			return err
		}
		from = end + 1
	}
	if state.LastSeq < from {
		return gap(Gap{After: from - 1, Until: until, Reason: gapExpired}) // purged since
	}
	// The server removes the consumer soon after it is left.
	cons, err := h.js.OrderedConsumer(ctx, h.stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{h.filter}, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: from,
		InactiveThreshold: 10 * time.Second})
	if err != nil {
		return fmt.Errorf("feed: read back from %d: %w", from, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("feed: read back from %d: %w", from, err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	prev := from - 1
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("feed: read back from %d: %w", from, err)
		}
		item, meta, ok := h.decode(msg)
		if meta != nil && meta.Sequence.Stream > until {
			if prev < until {
				return gap(Gap{After: prev, Until: until, Reason: gapExpired})
			}
			return nil
		}
		if meta != nil && meta.Sequence.Stream > prev+1 {
			// Events left the stream while it was read back.
			if err := gap(Gap{After: prev, Until: meta.Sequence.Stream - 1, Reason: gapExpired}); err != nil {
				return err
			}
		}
		if meta != nil {
			prev = meta.Sequence.Stream
		}
		if ok {
			if err := fn(item); err != nil {
				return err
			}
		}
		if meta == nil || meta.Sequence.Stream >= until {
			return nil
		}
		if meta.NumPending == 0 {
			return gap(Gap{After: prev, Until: until, Reason: gapExpired}) // the rest left the stream
		}
	}
}

// startLocked follows the stream, from far enough back to fill the ring: a watcher resuming
// just after a restart of the api, or after the hub was idle, is served from memory.
func (h *Hub) startLocked(ctx context.Context, state jetstream.StreamState) error {
	start := max(state.FirstSeq, state.LastSeq+1-min(uint64(h.cfg.Ring), state.LastSeq))
	cons, err := h.js.OrderedConsumer(ctx, h.stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{h.filter}, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: max(start, 1)})
	if err != nil {
		return fmt.Errorf("feed: follow stream %s: %w", h.stream, err)
	}
	h.ring, h.head = make([]Item, 0, h.cfg.Ring), 0
	h.floor = max(start, 1) - 1
	h.last = h.floor
	cc, err := cons.Consume(h.receive, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		h.log.Warn("live stream: following the event stream", "error", err)
	}))
	if err != nil {
		return fmt.Errorf("feed: follow stream %s: %w", h.stream, err)
	}
	h.running = cc
	h.log.Info("live stream: following the event stream", "stream", h.stream, "from", h.floor+1)
	return nil
}

func (h *Hub) stopLocked() {
	if h.idle != nil {
		h.idle.Stop()
		h.idle = nil
	}
	if h.running != nil {
		h.running.Stop()
		h.running = nil
		h.ring = nil
		h.log.Info("live stream: stopped following the event stream")
	}
}

// idleLocked stops following the stream a while after the last watcher left.
func (h *Hub) idleLocked() {
	if len(h.subs) > 0 || h.running == nil || h.idle != nil {
		return
	}
	var t clockwork.Timer
	t = h.clock.AfterFunc(h.cfg.Idle, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		// A timer stopped too late to keep its callback from running is not the current one.
		if h.idle == t && len(h.subs) == 0 {
			h.idle = nil
			h.stopLocked()
		}
	})
	h.idle = t
}

// receive takes one live event into the ring and hands it to every watcher, after a notice of
// the events that left the stream before the hub could read them.
func (h *Hub) receive(msg jetstream.Msg) {
	item, meta, ok := h.decode(msg)
	if meta == nil {
		return
	}
	seq := meta.Sequence.Stream
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.running == nil || seq <= h.last {
		return // stopped, or a message seen before the consumer was made anew
	}
	if seq > h.last+1 {
		h.appendLocked(Item{Seq: seq - 1, Gap: &Gap{After: h.last, Until: seq - 1, Reason: gapExpired}})
	}
	h.last = seq
	if ok {
		h.appendLocked(item)
	}
	h.idleLocked()
}

func (h *Hub) appendLocked(item Item) {
	if len(h.ring) < cap(h.ring) {
		h.ring = append(h.ring, item)
	} else {
		h.floor = h.ring[h.head].Seq
		h.ring[h.head] = item
		h.head = (h.head + 1) % cap(h.ring)
	}
	for s := range h.subs {
		if item.Seq <= s.after {
			continue
		}
		select {
		case s.ch <- item:
		default:
			// Too slow: a watcher that reconnects with its last id resumes without a loss.
			delete(h.subs, s)
			s.end("the connection fell too far behind the stream; reconnect to resume")
		}
	}
}

// decode turns a message of the stream into an Item; ok is false for one that is not a
// CloudEvent, which is logged and skipped. meta is nil only for a message that is not the
// stream's.
func (h *Hub) decode(msg jetstream.Msg) (Item, *jetstream.MsgMetadata, bool) {
	meta, err := msg.Metadata()
	if err != nil {
		h.log.Warn("live stream: skip a message without metadata", "error", err)
		return Item{}, nil, false
	}
	ev, err := event.FromNATS(context.Background(), &nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()})
	if err != nil {
		h.log.Warn("live stream: skip a message that is not a CloudEvent", "seq", meta.Sequence.Stream, "error", err)
		return Item{}, meta, false
	}
	b, err := json.Marshal(ev)
	if err != nil {
		h.log.Warn("live stream: skip an event that cannot be written as JSON", "seq", meta.Sequence.Stream, "error", err)
		return Item{}, meta, false
	}
	ns, _ := ev.Extensions()[event.ExtNamespace].(string)
	return Item{Seq: meta.Sequence.Stream, Type: ev.Type(), Namespace: ns, Subject: ev.Subject(), JSON: b}, meta, true
}

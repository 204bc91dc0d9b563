package executor

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// batcher groups the calls that concurrent executions make within a moment into one call of fn:
// one statement and one commit for many executions instead of one each, which is what lets a
// worker record thousands of executions a second. The first caller of a batch leads it: it waits
// up to wait for others to join (or until the batch is full), then for one of the inFlight turns
// to run, runs fn for all, and hands each caller its result. While the batches in flight run,
// the next one keeps filling: under load a batch grows to what arrives during a round trip
// instead of a commit each millisecond (group commit), and alone an execution waits no more than
// wait. No goroutine outlives a call.
type batcher[In, Out any] struct {
	fn   func(ctx context.Context, in []In) ([]Out, error)
	max  int
	wait time.Duration
	// turns holds one token per batch that may run at once.
	turns chan struct{}
	// tracer, when set, gives a batch with a sampled member a span named name, linked to the
	// sampled members' spans; each member gets its context back to link to it.
	tracer trace.Tracer
	name   string

	mu      sync.Mutex
	pending *batch[In, Out]
}

type batch[In, Out any] struct {
	items []In
	links []trace.Link
	began time.Time
	span  trace.SpanContext
	full  chan struct{}
	done  chan struct{}
	outs  []Out
	err   error
}

func newBatcher[In, Out any](max, inFlight int, wait time.Duration, fn func(ctx context.Context, in []In) ([]Out, error)) *batcher[In, Out] {
	return &batcher[In, Out]{fn: fn, max: max, wait: wait, turns: make(chan struct{}, inFlight)}
}

// traced makes the batcher's batches spans named name.
func (b *batcher[In, Out]) traced(t trace.Tracer, name string) *batcher[In, Out] {
	b.tracer, b.name = t, name
	return b
}

// do adds v to the current batch and returns its result once the batch has run.
func (b *batcher[In, Out]) do(ctx context.Context, v In) (Out, error) {
	out, _, err := b.doLinked(ctx, v, trace.SpanContext{})
	return out, err
}

// doLinked is do for a member whose span is member: a sampled one is linked from the batch's
// span, whose context is returned.
func (b *batcher[In, Out]) doLinked(ctx context.Context, v In, member trace.SpanContext) (Out, trace.SpanContext, error) {
	b.mu.Lock()
	bt, leader := b.pending, false
	if bt == nil {
		bt, leader = &batch[In, Out]{full: make(chan struct{}), done: make(chan struct{})}, true
		b.pending = bt
		if b.tracer != nil {
			bt.began = time.Now()
		}
	}
	i := len(bt.items)
	bt.items = append(bt.items, v)
	if member.IsSampled() {
		bt.links = append(bt.links, trace.Link{SpanContext: member})
	}
	if len(bt.items) == b.max {
		b.pending = nil
		close(bt.full)
	}
	b.mu.Unlock()

	if leader {
		// The real clock on purpose: this wait is a pause for company measured in CPU time, not
		// an instant of any schedule, and on a test's stopped clock it would hold every write.
		t := time.NewTimer(b.wait)
		select {
		case <-bt.full:
		case <-t.C:
		}
		t.Stop()
		// Still open to joiners until it is its turn (or full).
		b.turns <- struct{}{}
		defer func() { <-b.turns }()
		b.mu.Lock()
		if b.pending == bt {
			b.pending = nil
		}
		b.mu.Unlock()
		func() {
			// Whatever happens in fn, the followers are answered.
			defer close(bt.done)
			bt.err = errors.New("batch did not complete")
			// The members are known: the span starts now, dated from the batch's first member,
			// so that the sampler sees its links. Only a batch with a sampled member has one.
			var span trace.Span
			if b.tracer != nil && len(bt.links) > 0 {
				span = batchSpan(ctx, b.tracer, b.name, bt.began, len(bt.items), bt.links)
				bt.span = span.SpanContext()
			}
			// The batch is everyone's: the leader's cancellation must not fail the others.
			bt.outs, bt.err = b.fn(context.WithoutCancel(ctx), bt.items)
			endSpan(span, errText(bt.err))
		}()
	} else {
		<-bt.done
	}
	var zero Out
	if bt.err != nil {
		return zero, bt.span, bt.err
	}
	return bt.outs[i], bt.span, nil
}

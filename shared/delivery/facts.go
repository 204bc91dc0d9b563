package delivery

import (
	"context"
	"time"
)

// Facts are what a transport knows of how an event reached its handler: for JetStream, the
// message's metadata. A zero field is not known (push delivery carries none of them).
type Facts struct {
	// StreamSeq is the message's sequence in its stream; StoredAt when the stream stored it.
	StreamSeq uint64
	StoredAt  time.Time
	// Consumer is the durable consumer that delivered it, Count how many times it has so far.
	Consumer string
	Count    int
}

type factsKey struct{}

// WithFacts returns ctx carrying the facts of the delivery its handler serves: request-scoped
// data, like the slot, not a dependency.
func WithFacts(ctx context.Context, f Facts) context.Context {
	return context.WithValue(ctx, factsKey{}, f)
}

// FactsFrom returns the facts of ctx's delivery, and false when its transport gave none.
func FactsFrom(ctx context.Context) (Facts, bool) {
	f, ok := ctx.Value(factsKey{}).(Facts)
	return f, ok
}

package telemetry

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"sync/atomic"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// idKey is the context key of the idempotency key a span's ids derive from.
type idKey struct{}

// keyed is the key and whether a span took its ids already: the context of that span (and of
// every span under it) still holds the value, and those spans must not reuse its ids.
type keyed struct {
	key string
	// ids, when set, are the ids to take instead of those derived from key.
	ids  bool
	tid  trace.TraceID
	sid  trace.SpanID
	used atomic.Bool
}

// WithIDKey returns ctx carrying key (a fire's idempotency key): the next span started from it
// takes its ids from the key — a root span the trace id SHA-256(key)[0:16] and the span id
// SHA-256(key)[16:24]; a span with a parent the span id alone. A claim replayed after a rollback,
// a republished outbox row and a takeover thus land on the same trace with nothing stored.
// Only the first span started from the returned context takes them; spans under it, and
// other spans started from the same context, get random ids as usual.
func WithIDKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idKey{}, &keyed{key: key})
}

// WithIDs returns ctx carrying explicit ids for the next span started from it, taken as
// WithIDKey's are: a root span takes both, a span with a parent the span id alone. The executor
// gives an attempt's consume span its deterministic id (AttemptSpanID) this way, and the child
// span a batch links to the id it chose before the batch ran.
func WithIDs(ctx context.Context, tid trace.TraceID, sid trace.SpanID) context.Context {
	return context.WithValue(ctx, idKey{}, &keyed{ids: true, tid: tid, sid: sid})
}

// AttemptSpanID returns the span id of the consume span of attempt n of the fire of key: the
// first 8 bytes of SHA-256(key, NUL, n in decimal). Attempt n+1 links to attempt n's span by
// this id, which is thus known without being stored.
func AttemptSpanID(key string, n int) trace.SpanID {
	// One buffer on the stack for the usual key, rather than a hash object and a digit slice
	// on the heap for every delivery.
	var buf [128]byte
	b := append(buf[:0], key...)
	b = append(b, 0)
	b = strconv.AppendInt(b, int64(n), 10)
	sum := sha256.Sum256(b)
	var sid trace.SpanID
	copy(sid[:], sum[:8])
	return sid
}

// RandomSpanID returns a random valid span id, for a span whose id must be known before it starts.
func RandomSpanID() trace.SpanID { return randomSpanID() }

// KeyIDs returns the trace and span ids derived from key.
func KeyIDs(key string) (trace.TraceID, trace.SpanID) {
	sum := sha256.Sum256([]byte(key))
	var tid trace.TraceID
	var sid trace.SpanID
	copy(tid[:], sum[:16])
	copy(sid[:], sum[16:24])
	return tid, sid
}

// keyIDGenerator takes ids from the key WithIDKey put in the context, and random ones otherwise.
type keyIDGenerator struct{}

// KeyIDGenerator returns the key-derived IDGenerator.
func KeyIDGenerator() sdktrace.IDGenerator { return keyIDGenerator{} }

// derived returns the ids of the key in ctx, unless a span took them already.
func derived(ctx context.Context) (trace.TraceID, trace.SpanID, bool) {
	k, ok := ctx.Value(idKey{}).(*keyed)
	if !ok || !k.used.CompareAndSwap(false, true) {
		return trace.TraceID{}, trace.SpanID{}, false
	}
	if k.ids {
		return k.tid, k.sid, true
	}
	tid, sid := KeyIDs(k.key)
	return tid, sid, true
}

// NewIDs implements sdktrace.IDGenerator for a root span.
func (keyIDGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if tid, sid, ok := derived(ctx); ok {
		return tid, sid
	}
	var tid trace.TraceID
	for !tid.IsValid() {
		binary.NativeEndian.PutUint64(tid[:8], rand.Uint64())
		binary.NativeEndian.PutUint64(tid[8:], rand.Uint64())
	}
	return tid, randomSpanID()
}

// NewSpanID implements sdktrace.IDGenerator for a span with a parent.
func (keyIDGenerator) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	if _, sid, ok := derived(ctx); ok {
		return sid
	}
	return randomSpanID()
}

func randomSpanID() trace.SpanID {
	var sid trace.SpanID
	for !sid.IsValid() {
		binary.NativeEndian.PutUint64(sid[:], rand.Uint64())
	}
	return sid
}

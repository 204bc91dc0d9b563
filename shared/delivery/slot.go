package delivery

import "context"

// Slot is the execution slot a transport gives a handler: held while the handler runs, so that
// a transport bounds the attempts in flight. A handler that must wait before its work — a fire
// delivered ahead of its instant — steps aside with Release, so the slot serves another event
// meanwhile, and takes one back with Acquire before it works again.
type Slot interface {
	// Release gives the slot up; it does nothing when the handler holds none.
	Release()
	// Acquire waits for a slot; it returns ctx's error when ctx ends first.
	Acquire(ctx context.Context) error
}

type slotKey struct{}

// WithSlot returns ctx carrying the slot its handler holds.
func WithSlot(ctx context.Context, s Slot) context.Context {
	return context.WithValue(ctx, slotKey{}, s)
}

// SlotFrom returns the slot ctx's handler holds, or nil when its transport bounds nothing per
// handler (HTTP push, where the broker bounds the requests it sends).
func SlotFrom(ctx context.Context) Slot {
	s, _ := ctx.Value(slotKey{}).(Slot)
	return s
}

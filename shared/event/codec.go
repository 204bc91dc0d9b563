package event

import (
	"bytes"
	"context"
	"fmt"

	natsce "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/nats-io/nats.go"
)

// ToNATS encodes ev in binary content mode: attributes as "ce-" headers, data as the body.
// The message carries no subject; the publisher sets it.
func ToNATS(ctx context.Context, ev cloudevents.Event) (*nats.Msg, error) {
	var body bytes.Buffer
	header, err := natsce.WriteMsg(ctx, binding.ToMessage(&ev), &body)
	if err != nil {
		return nil, fmt.Errorf("encode event %q: %w", ev.ID(), err)
	}
	return &nats.Msg{Header: header, Data: body.Bytes()}, nil
}

// FromNATS decodes a message written by ToNATS (or any binary or structured mode CloudEvent).
func FromNATS(ctx context.Context, msg *nats.Msg) (cloudevents.Event, error) {
	ev, err := binding.ToEvent(ctx, natsce.NewMessage(msg))
	if err != nil {
		return cloudevents.Event{}, fmt.Errorf("decode event: %w", err)
	}
	return *ev, nil
}

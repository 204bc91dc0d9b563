package event

import (
	"context"
	"fmt"
	"strconv"
	"time"

	natsce "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/extensions"
	"github.com/nats-io/nats.go"
)

// ToNATS encodes ev in binary content mode: attributes as "ce-" headers, data as the body,
// exactly as the CloudEvents SDK's NATS JetStream binding writes them (a property test holds it
// to that), without the SDK's generic writer: every fire's due event and every execution's
// lifecycle event go through here, and the generic path cost a worker about 15 µs each.
// The message carries no subject; the publisher sets it. Its body is ev's encoded data, not a
// copy.
func ToNATS(_ context.Context, ev cloudevents.Event) (*nats.Msg, error) {
	ctx := ev.Context
	if ctx == nil {
		return nil, fmt.Errorf("encode event: no context")
	}
	// Read in place when it can be: GetExtensions copies the map for every message.
	var exts map[string]any
	if v1, ok := ctx.(*cloudevents.EventContextV1); ok {
		exts = v1.Extensions
	} else {
		exts = ctx.GetExtensions()
	}
	h := make(nats.Header, 8+len(exts))
	// As the SDK does, a blank attribute is a missing one.
	set := func(name, v string) {
		if v != "" {
			h[name] = []string{v}
		}
	}
	set("ce-specversion", ctx.GetSpecVersion())
	set("ce-id", ctx.GetID())
	set("ce-source", ctx.GetSource())
	set("ce-type", ctx.GetType())
	set("ce-subject", ctx.GetSubject())
	if t := ctx.GetTime(); !t.IsZero() {
		h["ce-time"] = []string{t.Format(time.RFC3339Nano)}
	}
	set("ce-datacontenttype", ctx.GetDataContentType())
	set("ce-dataschema", ctx.GetDataSchema())
	for name, v := range exts {
		h[headerName(name)] = []string{extensionString(v)}
	}
	return &nats.Msg{Header: h, Data: ev.DataEncoded}, nil
}

// headerName is "ce-" + name, without building the string for the extensions every due or
// lifecycle event carries.
func headerName(name string) string {
	switch name {
	case extensions.TraceParentExtension:
		return "ce-" + extensions.TraceParentExtension
	case extensions.TraceStateExtension:
		return "ce-" + extensions.TraceStateExtension
	case ExtJobKind:
		return "ce-" + ExtJobKind
	case ExtTrigger:
		return "ce-" + ExtTrigger
	case ExtAttempt:
		return "ce-" + ExtAttempt
	case ExtNamespace:
		return "ce-" + ExtNamespace
	case ExtJobName:
		return "ce-" + ExtJobName
	}
	return "ce-" + name
}

// extensionString is fmt.Sprint for the types an extension holds, without its reflection.
func extensionString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// FromNATS decodes a message written by ToNATS (or any binary or structured mode CloudEvent).
func FromNATS(ctx context.Context, msg *nats.Msg) (cloudevents.Event, error) {
	ev, err := binding.ToEvent(ctx, natsce.NewMessage(msg))
	if err != nil {
		return cloudevents.Event{}, fmt.Errorf("decode event: %w", err)
	}
	return *ev, nil
}

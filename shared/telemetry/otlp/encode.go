package otlp

import (
	"math"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of the OTLP trace protocol (opentelemetry-proto, stable since OTLP 1.0): the
// messages of collector/trace/v1, trace/v1, resource/v1 and common/v1 that a span needs.
const (
	requestResourceSpans protowire.Number = 1

	resourceSpansResource   protowire.Number = 1
	resourceSpansScopeSpans protowire.Number = 2
	resourceSpansSchemaURL  protowire.Number = 3

	resourceAttributes protowire.Number = 1

	scopeSpansScope     protowire.Number = 1
	scopeSpansSpans     protowire.Number = 2
	scopeSpansSchemaURL protowire.Number = 3

	scopeName       protowire.Number = 1
	scopeVersion    protowire.Number = 2
	scopeAttributes protowire.Number = 3

	spanTraceID           protowire.Number = 1
	spanSpanID            protowire.Number = 2
	spanTraceState        protowire.Number = 3
	spanParentSpanID      protowire.Number = 4
	spanName              protowire.Number = 5
	spanKind              protowire.Number = 6
	spanStart             protowire.Number = 7
	spanEnd               protowire.Number = 8
	spanAttributes        protowire.Number = 9
	spanDroppedAttributes protowire.Number = 10
	spanEvents            protowire.Number = 11
	spanDroppedEvents     protowire.Number = 12
	spanLinks             protowire.Number = 13
	spanDroppedLinks      protowire.Number = 14
	spanStatus            protowire.Number = 15
	spanFlags             protowire.Number = 16

	eventTime              protowire.Number = 1
	eventName              protowire.Number = 2
	eventAttributes        protowire.Number = 3
	eventDroppedAttributes protowire.Number = 4

	linkTraceID           protowire.Number = 1
	linkSpanID            protowire.Number = 2
	linkTraceState        protowire.Number = 3
	linkAttributes        protowire.Number = 4
	linkDroppedAttributes protowire.Number = 5
	linkFlags             protowire.Number = 6

	statusMessage protowire.Number = 2
	statusCode    protowire.Number = 3

	keyValueKey   protowire.Number = 1
	keyValueValue protowire.Number = 2

	anyString protowire.Number = 1
	anyBool   protowire.Number = 2
	anyInt    protowire.Number = 3
	anyDouble protowire.Number = 4
	anyArray  protowire.Number = 5
	anyKVList protowire.Number = 6
	anyBytes  protowire.Number = 7

	arrayValues  protowire.Number = 1
	kvListValues protowire.Number = 1
)

// Span flags: the low byte is the W3C trace flags; the next two bits say whether the parent
// (or the linked span) was remote, and that this is known.
const (
	flagsHasIsRemote uint32 = 0x100
	flagsIsRemote    uint32 = 0x200
)

// appendMessage appends field num holding the message that body appends. The body is written
// in place and shifted right by the size of its length prefix once that is known, which costs a
// copy per nesting level but no scratch buffer.
func appendMessage(b []byte, num protowire.Number, body func([]byte) []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	start := len(b)
	b = body(b)
	n := len(b) - start
	sz := protowire.SizeVarint(uint64(n))
	b = append(b, make([]byte, sz)...)
	copy(b[start+sz:], b[start:start+n])
	protowire.AppendVarint(b[start:start], uint64(n))
	return b
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendUint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendFixed64(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, v)
}

func appendFixed32(b []byte, num protowire.Number, v uint32) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, v)
}

// appendKeyValues appends each attribute as a repeated KeyValue field num.
func appendKeyValues(b []byte, num protowire.Number, kvs []attribute.KeyValue) []byte {
	for _, kv := range kvs {
		b = appendMessage(b, num, func(b []byte) []byte {
			b = appendString(b, keyValueKey, string(kv.Key))
			return appendMessage(b, keyValueValue, func(b []byte) []byte { return appendAnyValue(b, kv.Value) })
		})
	}
	return b
}

// appendAnyValue appends the fields of an AnyValue. Every type the attribute package has is
// written: a value of a type it adds later is sent empty rather than dropped, so the key is
// still seen.
func appendAnyValue(b []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.BOOL:
		b = protowire.AppendTag(b, anyBool, protowire.VarintType)
		return protowire.AppendVarint(b, protowire.EncodeBool(v.AsBool()))
	case attribute.INT64:
		b = protowire.AppendTag(b, anyInt, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(v.AsInt64()))
	case attribute.FLOAT64:
		b = protowire.AppendTag(b, anyDouble, protowire.Fixed64Type)
		return protowire.AppendFixed64(b, math.Float64bits(v.AsFloat64()))
	case attribute.STRING:
		// Set even when empty: the oneof says the value is a string.
		b = protowire.AppendTag(b, anyString, protowire.BytesType)
		return protowire.AppendString(b, v.AsString())
	case attribute.BYTESLICE:
		return appendBytes(b, anyBytes, v.AsByteSlice())
	case attribute.BOOLSLICE:
		return appendArray(b, func(b []byte) []byte {
			for _, x := range v.AsBoolSlice() {
				b = appendArrayItem(b, attribute.BoolValue(x))
			}
			return b
		})
	case attribute.INT64SLICE:
		return appendArray(b, func(b []byte) []byte {
			for _, x := range v.AsInt64Slice() {
				b = appendArrayItem(b, attribute.Int64Value(x))
			}
			return b
		})
	case attribute.FLOAT64SLICE:
		return appendArray(b, func(b []byte) []byte {
			for _, x := range v.AsFloat64Slice() {
				b = appendArrayItem(b, attribute.Float64Value(x))
			}
			return b
		})
	case attribute.STRINGSLICE:
		return appendArray(b, func(b []byte) []byte {
			for _, x := range v.AsStringSlice() {
				b = appendArrayItem(b, attribute.StringValue(x))
			}
			return b
		})
	case attribute.SLICE:
		return appendArray(b, func(b []byte) []byte {
			for _, x := range v.AsSlice() {
				b = appendArrayItem(b, x)
			}
			return b
		})
	case attribute.MAP:
		return appendMessage(b, anyKVList, func(b []byte) []byte {
			return appendKeyValues(b, kvListValues, v.AsMap())
		})
	}
	return b
}

func appendArray(b []byte, items func([]byte) []byte) []byte {
	return appendMessage(b, anyArray, items)
}

func appendArrayItem(b []byte, v attribute.Value) []byte {
	return appendMessage(b, arrayValues, func(b []byte) []byte { return appendAnyValue(b, v) })
}

// remoteFlags returns the span flags of a span whose parent (or linked span) is sc.
func remoteFlags(sc trace.SpanContext) uint32 {
	f := flagsHasIsRemote
	if sc.IsRemote() {
		f |= flagsIsRemote
	}
	return f
}

func appendSpan(b []byte, s sdktrace.ReadOnlySpan) []byte {
	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	b = appendBytes(b, spanTraceID, tid[:])
	b = appendBytes(b, spanSpanID, sid[:])
	b = appendString(b, spanTraceState, sc.TraceState().String())
	parent := s.Parent()
	if parent.HasSpanID() {
		pid := parent.SpanID()
		b = appendBytes(b, spanParentSpanID, pid[:])
	}
	b = appendString(b, spanName, s.Name())
	b = appendUint(b, spanKind, uint64(s.SpanKind()))
	b = appendFixed64(b, spanStart, unixNano(s.StartTime().UnixNano()))
	b = appendFixed64(b, spanEnd, unixNano(s.EndTime().UnixNano()))
	b = appendKeyValues(b, spanAttributes, s.Attributes())
	b = appendUint(b, spanDroppedAttributes, uint64(max(s.DroppedAttributes(), 0)))
	for _, ev := range s.Events() {
		b = appendMessage(b, spanEvents, func(b []byte) []byte {
			b = appendFixed64(b, eventTime, unixNano(ev.Time.UnixNano()))
			b = appendString(b, eventName, ev.Name)
			b = appendKeyValues(b, eventAttributes, ev.Attributes)
			return appendUint(b, eventDroppedAttributes, uint64(max(ev.DroppedAttributeCount, 0)))
		})
	}
	b = appendUint(b, spanDroppedEvents, uint64(max(s.DroppedEvents(), 0)))
	for _, l := range s.Links() {
		b = appendMessage(b, spanLinks, func(b []byte) []byte {
			ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
			b = appendBytes(b, linkTraceID, ltid[:])
			b = appendBytes(b, linkSpanID, lsid[:])
			b = appendString(b, linkTraceState, l.SpanContext.TraceState().String())
			b = appendKeyValues(b, linkAttributes, l.Attributes)
			b = appendUint(b, linkDroppedAttributes, uint64(max(l.DroppedAttributeCount, 0)))
			return appendFixed32(b, linkFlags, uint32(l.SpanContext.TraceFlags())|remoteFlags(l.SpanContext))
		})
	}
	b = appendUint(b, spanDroppedLinks, uint64(max(s.DroppedLinks(), 0)))
	st := s.Status()
	if st.Code != 0 || st.Description != "" {
		b = appendMessage(b, spanStatus, func(b []byte) []byte {
			b = appendString(b, statusMessage, st.Description)
			// codes.Code numbers Unset, Error, Ok; the protocol numbers Unset, Ok, Error.
			return appendUint(b, statusCode, uint64(statusCodeOf(uint32(st.Code))))
		})
	}
	flags := uint32(sc.TraceFlags())
	if parent.IsValid() {
		flags |= remoteFlags(parent)
	} else {
		flags |= flagsHasIsRemote // a root: its parent is known not to be remote
	}
	return appendFixed32(b, spanFlags, flags)
}

// statusCodeOf maps codes.Code (Unset 0, Error 1, Ok 2) to STATUS_CODE_* (Unset 0, Ok 1, Error 2).
func statusCodeOf(c uint32) uint32 {
	switch c {
	case 1:
		return 2
	case 2:
		return 1
	}
	return 0
}

// unixNano keeps a zero time (before 1970 in UnixNano's reading) at 0.
func unixNano(n int64) uint64 { return uint64(max(n, 0)) }

// scopeKey tells instrumentation scopes apart.
type scopeKey struct {
	name, version, schemaURL string
	attrs                    attribute.Distinct
}

// Encode returns the ExportTraceServiceRequest carrying spans, grouped by resource and by
// instrumentation scope as the protocol nests them, in the order they first appear.
func Encode(spans []sdktrace.ReadOnlySpan) []byte {
	type scopeGroup struct {
		key   scopeKey
		spans []sdktrace.ReadOnlySpan
	}
	type resourceGroup struct {
		first  sdktrace.ReadOnlySpan
		scopes []*scopeGroup
	}
	var groups []*resourceGroup
	type resourceKey struct {
		attrs     attribute.Distinct
		schemaURL string
	}
	byResource := map[resourceKey]*resourceGroup{}
	for _, s := range spans {
		var rkey resourceKey
		if r := s.Resource(); r != nil {
			rkey = resourceKey{r.Equivalent(), r.SchemaURL()}
		}
		rg, ok := byResource[rkey]
		if !ok {
			rg = &resourceGroup{first: s}
			byResource[rkey] = rg
			groups = append(groups, rg)
		}
		is := s.InstrumentationScope()
		k := scopeKey{is.Name, is.Version, is.SchemaURL, is.Attributes.Equivalent()}
		var sg *scopeGroup
		for _, g := range rg.scopes {
			if g.key == k {
				sg = g
				break
			}
		}
		if sg == nil {
			sg = &scopeGroup{key: k}
			rg.scopes = append(rg.scopes, sg)
		}
		sg.spans = append(sg.spans, s)
	}
	b := make([]byte, 0, 256*len(spans))
	for _, rg := range groups {
		b = appendMessage(b, requestResourceSpans, func(b []byte) []byte {
			r := rg.first.Resource()
			if r != nil {
				b = appendMessage(b, resourceSpansResource, func(b []byte) []byte {
					return appendKeyValues(b, resourceAttributes, r.Attributes())
				})
			}
			for _, sg := range rg.scopes {
				b = appendMessage(b, resourceSpansScopeSpans, func(b []byte) []byte {
					is := sg.spans[0].InstrumentationScope()
					b = appendMessage(b, scopeSpansScope, func(b []byte) []byte {
						b = appendString(b, scopeName, is.Name)
						b = appendString(b, scopeVersion, is.Version)
						return appendKeyValues(b, scopeAttributes, is.Attributes.ToSlice())
					})
					for _, s := range sg.spans {
						b = appendMessage(b, scopeSpansSpans, func(b []byte) []byte { return appendSpan(b, s) })
					}
					return appendString(b, scopeSpansSchemaURL, is.SchemaURL)
				})
			}
			if r != nil {
				b = appendString(b, resourceSpansSchemaURL, r.SchemaURL())
			}
			return b
		})
	}
	return b
}

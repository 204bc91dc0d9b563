package harness

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// otlpSink is an OTLP/HTTP trace receiver in the bench's process: it answers every export
// with 200 and keeps only what each request weighed, so the processes' exporters run as they
// would against a collector while none of its work counts as theirs.
type otlpSink struct {
	*httptest.Server
	mu      sync.Mutex
	exports []otlpExport
}

// otlpExport is one request the sink received.
type otlpExport struct {
	at time.Time
	// bytes is the body as sent (compressed, when it was); spans is how many spans it held,
	// -1 when the body could not be read as an export request.
	bytes, spans int
}

func newOTLPSink() *otlpSink {
	k := &otlpSink{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		e := otlpExport{at: time.Now(), bytes: len(body), spans: countSpans(body, r.Header.Get("Content-Encoding"), r.Header.Get("Content-Type"))}
		k.mu.Lock()
		k.exports = append(k.exports, e)
		k.mu.Unlock()
		// An empty ExportTraceServiceResponse: everything accepted.
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte("{}"))
			return
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	})
	k.Server = httptest.NewServer(mux)
	return k
}

// otlpTotals is what the sink received in a window.
type otlpTotals struct {
	requests, bytes, spans int
	// unreadable counts the requests whose spans could not be counted.
	unreadable int
}

// between returns what arrived from from (inclusive) to to (exclusive).
func (k *otlpSink) between(from, to time.Time) otlpTotals {
	k.mu.Lock()
	defer k.mu.Unlock()
	var t otlpTotals
	for _, e := range k.exports {
		if e.at.Before(from) || !e.at.Before(to) {
			continue
		}
		t.requests++
		t.bytes += e.bytes
		if e.spans < 0 {
			t.unreadable++
			continue
		}
		t.spans += e.spans
	}
	return t
}

// countSpans returns the spans in an OTLP trace export body, or -1 when it is not one.
// Protobuf (the default encoding) is walked field by field; JSON, OTLP/HTTP's other encoding,
// is counted by its spans' ids, which is close enough for a rate.
func countSpans(body []byte, encoding, contentType string) int {
	if strings.EqualFold(encoding, "gzip") {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return -1
		}
		if body, err = io.ReadAll(io.LimitReader(zr, 256<<20)); err != nil {
			return -1
		}
	}
	if strings.HasPrefix(contentType, "application/json") {
		return bytes.Count(body, []byte(`"spanId"`))
	}
	// ExportTraceServiceRequest.resource_spans (1) → ResourceSpans.scope_spans (2) →
	// ScopeSpans.spans (2).
	n := 0
	err := eachField(body, 1, func(rs []byte) error {
		return eachField(rs, 2, func(ss []byte) error {
			return eachField(ss, 2, func([]byte) error { n++; return nil })
		})
	})
	if err != nil {
		return -1
	}
	return n
}

var errNotProtobuf = errors.New("not a protobuf message")

// eachField calls fn with the bytes of every length-delimited field numbered field in the
// protobuf message b, skipping the others; it fails on a malformed message.
func eachField(b []byte, field uint64, fn func([]byte) error) error {
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 {
			return errNotProtobuf
		}
		b = b[n:]
		var v []byte
		switch tag & 7 {
		case 0: // varint
			if _, n = binary.Uvarint(b); n <= 0 {
				return errNotProtobuf
			}
			b = b[n:]
			continue
		case 1: // fixed64
			if len(b) < 8 {
				return errNotProtobuf
			}
			b = b[8:]
			continue
		case 5: // fixed32
			if len(b) < 4 {
				return errNotProtobuf
			}
			b = b[4:]
			continue
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return errNotProtobuf
			}
			v, b = b[n:n+int(l)], b[n+int(l):]
		default: // groups are not used by OTLP
			return errNotProtobuf
		}
		if tag>>3 == field {
			if err := fn(v); err != nil {
				return err
			}
		}
	}
	return nil
}

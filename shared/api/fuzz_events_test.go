package api

import (
	"errors"
	"net/http"
	"testing"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
)

// FuzzEventParser feeds the ingest parser arbitrary bodies in each content mode: it never
// panics, and either refuses the body naming a field or returns events that every later step
// can trust (checked, keyable).
func FuzzEventParser(f *testing.F) {
	f.Add(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{"a":1}}`, structuredMediaType, "")
	f.Add(`[{"specversion":"1.0","id":"1","source":"/s","type":"t"}]`, batchMediaType, "")
	f.Add(`{"order":1}`, "application/json", "1.0")
	f.Add(`[{"specversion":"1.0","id":"1","source":"/s","type":"t","data_base64":"AAE="},{}]`, batchMediaType, "")
	f.Add(`{"specversion":"1.0","id":"\u0001","source":"::","type":"t","time":"yesterday"}`, structuredMediaType, "")
	f.Add("\xff", "text/plain", "0.3")
	f.Fuzz(func(t *testing.T, body, ctype, spec string) {
		h := http.Header{}
		h.Set("Content-Type", ctype)
		if spec != "" {
			h.Set("Ce-Specversion", spec)
			h.Set("Ce-Id", "fuzz-1")
			h.Set("Ce-Source", "/fuzz")
			h.Set("Ce-Type", "io.example.fuzz")
		}
		batch := ctype == batchMediaType
		events, err := parseEvents(h, []byte(body), batch)
		if err != nil {
			var verr *domain.ValidationError
			var tooLarge *tooLargeError
			if !errors.As(err, &verr) && !errors.As(err, &tooLarge) {
				t.Fatalf("a bad body is a field error, got %T: %v", err, err)
			}
			return
		}
		if len(events) == 0 || (batch && len(events) > maxBatch) {
			t.Fatalf("parsed %d events", len(events))
		}
		for i := range events {
			if jobs.CheckEvent("", &events[i]) != nil {
				continue
			}
			key := domain.EventKey("job", events[i].Source(), events[i].ID())
			for _, c := range []byte(key) {
				if c <= ' ' || c > '~' {
					t.Fatalf("a checked event makes key %q", key)
				}
			}
			if _, err := events[i].MarshalJSON(); err != nil {
				t.Fatalf("a checked event cannot be encoded for its fire: %v", err)
			}
		}
	})
}

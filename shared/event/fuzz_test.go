package event_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/vecron/vecron/shared/event"
)

// FuzzFromNATS checks that no message makes FromNATS, ParseDue or Attempt panic, and that an
// event FromNATS accepts survives another trip through ToNATS and FromNATS. Header values come
// in through Header.Add, as the NATS client decodes them, so no key has an empty value list.
func FuzzFromNATS(f *testing.F) {
	due := sampleDue()
	data, err := json.Marshal(due)
	if err != nil {
		f.Fatal(err)
	}
	ev, err := event.NewDue(due, testSource)
	if err != nil {
		f.Fatal(err)
	}
	envelope, err := json.Marshal(ev)
	if err != nil {
		f.Fatal(err)
	}
	// specversion, id, type, source, time, attempt, extension name, extension value, content type, body
	f.Add("1.0", due.IdempotencyKey, event.TypeJobDue, testSource, "2025-03-10T02:00:00.123Z", "1", "jobkind", "http", "application/json", data)
	f.Add("1.0", "id", event.TypeJobDue, testSource, "2025-03-10T02:00:00Z", "x", "trigger", "", "text/plain", []byte("not json"))
	f.Add("0.3", "id", "t", "%zz", "yesterday", "-1", "", "", "", []byte{})
	f.Add("", "", "", "", "", "", "", "", "", envelope)
	f.Add("", "", "", "", "", "", "", "", "application/cloudevents+json", []byte(`{"specversion":"1.0","id":"a","type":"b","source":"/c","data_base64":"!!"}`))
	f.Add("9.9", "id", "type", "/s", "", "99999999999", "attempt", "7", "application/json", []byte(`{"job_id":`))
	f.Fuzz(func(t *testing.T, specversion, id, typ, source, at, attempt, extName, extValue, contentType string, body []byte) {
		h := nats.Header{}
		add := func(k, v string) {
			if v != "" {
				h.Add(k, v)
			}
		}
		add("ce-specversion", specversion)
		add("ce-id", id)
		add("ce-type", typ)
		add("ce-source", source)
		add("ce-time", at)
		add("ce-attempt", attempt)
		add("content-type", contentType)
		if extName != "" {
			h.Add("ce-"+extName, extValue)
		}
		msg := &nats.Msg{Subject: "vecron.due.http", Header: h, Data: body}

		got, err := event.FromNATS(t.Context(), msg)
		if err != nil {
			return
		}
		if n := event.Attempt(got); n < 1 {
			t.Fatalf("Attempt = %d, want at least 1", n)
		}
		if d, err := event.ParseDue(got); err == nil {
			if d.JobID == "" || d.ScheduledAt.IsZero() || d.IdempotencyKey != got.ID() {
				t.Fatalf("ParseDue accepted an incomplete due fire: %+v", d)
			}
		}

		again, err := event.ToNATS(t.Context(), got)
		if err != nil {
			return // the SDK may refuse to encode what it decoded, but must not panic
		}
		back, err := event.FromNATS(t.Context(), again)
		if err != nil {
			t.Fatalf("FromNATS of a re-encoded event: %v\nevent: %s", err, got)
		}
		// Binary mode trims the id and type; structured mode keeps them as sent.
		if back.ID() != strings.TrimSpace(got.ID()) || back.Type() != strings.TrimSpace(got.Type()) || back.Source() != got.Source() ||
			!back.Time().Equal(got.Time()) || !bytes.Equal(back.Data(), got.Data()) {
			t.Fatalf("re-encoding changed the event\nfirst:  %s\nsecond: %s", got, back)
		}
	})
}

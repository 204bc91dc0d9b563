package event_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
)

// trimmed draws strings without surrounding white space: the CloudEvents SDK trims the id and the
// subject, and vecron's keys ("<uuid>:<unix ms>") and job ids never have any.
func trimmed(minLen int) *rapid.Generator[string] {
	return rapid.StringN(minLen, -1, -1).Filter(func(s string) bool { return strings.TrimSpace(s) == s })
}

// genDue draws a due fire with arbitrary unicode strings, header maps and an instant at
// millisecond precision. The idempotency key is the event id, so it is never empty.
func genDue(t *rapid.T) event.Due {
	d := event.Due{
		JobID:          trimmed(0).Draw(t, "jobID"),
		JobVersion:     rapid.Int64().Draw(t, "jobVersion"),
		JobName:        rapid.String().Draw(t, "jobName"),
		Namespace:      rapid.String().Draw(t, "namespace"),
		Kind:           domain.JobKind(rapid.OneOf(rapid.SampledFrom([]string{"http", "sql"}), rapid.String()).Draw(t, "kind")),
		Timezone:       rapid.String().Draw(t, "timezone"),
		Timeout:        domain.Duration(rapid.Int64Range(0, int64(48*time.Hour)).Draw(t, "timeout")),
		Trigger:        domain.Trigger(rapid.OneOf(rapid.SampledFrom([]string{"schedule", "manual", "retry"}), rapid.String()).Draw(t, "trigger")),
		IdempotencyKey: trimmed(1).Draw(t, "key"),
	}
	ms := rapid.Int64Range(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()).Draw(t, "unixMilli")
	d.ScheduledAt = time.UnixMilli(ms).UTC()
	if rapid.Bool().Draw(t, "hasHTTP") {
		d.HTTP = &domain.HTTPSpec{
			Method: rapid.String().Draw(t, "method"),
			URL:    rapid.String().Draw(t, "url"),
			Body:   rapid.String().Draw(t, "body"),
		}
		headers := rapid.MapOf(rapid.String(), rapid.String()).Draw(t, "headers")
		if len(headers) > 0 { // an empty map is omitted from the JSON and comes back nil
			d.HTTP.Headers = headers
		}
	}
	return d
}

// TestCodecRoundTripProperty checks that a due event survives NewDue → ToNATS → FromNATS with
// every attribute, extension and the data intact, and that ParseDue decides alike on both sides.
func TestCodecRoundTripProperty(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		d := genDue(t)
		source := event.Source("tick", rapid.StringMatching(`[a-z0-9-]{1,20}`).Draw(t, "instance"))
		attempt := rapid.IntRange(1, 1000).Draw(t, "attempt")

		ev, err := event.NewDue(d, source)
		if err != nil {
			t.Fatalf("NewDue: %v", err)
		}
		ev.SetExtension(event.ExtAttempt, attempt)
		msg, err := event.ToNATS(t.Context(), ev)
		if err != nil {
			t.Fatalf("ToNATS: %v", err)
		}
		if got := msg.Header.Get("ce-id"); got != d.IdempotencyKey {
			t.Fatalf("header ce-id = %q, want %q", got, d.IdempotencyKey)
		}
		var body event.Due
		if err := json.Unmarshal(msg.Data, &body); err != nil {
			t.Fatalf("body is not a JSON Due: %v", err)
		}
		if !dueEqual(body, d) {
			t.Fatalf("body decodes to\n%+v\nwant\n%+v", body, d)
		}

		back, err := event.FromNATS(t.Context(), msg)
		if err != nil {
			t.Fatalf("FromNATS: %v", err)
		}
		switch {
		case back.ID() != d.IdempotencyKey:
			t.Fatalf("id %q, want %q", back.ID(), d.IdempotencyKey)
		case back.Type() != event.TypeJobDue:
			t.Fatalf("type %q", back.Type())
		case back.Source() != source:
			t.Fatalf("source %q, want %q", back.Source(), source)
		case back.Subject() != d.JobID:
			t.Fatalf("subject %q, want %q", back.Subject(), d.JobID)
		case !back.Time().Equal(d.ScheduledAt):
			t.Fatalf("time %s, want %s", back.Time(), d.ScheduledAt)
		case back.Extensions()[event.ExtJobKind] != string(d.Kind):
			t.Fatalf("jobkind %q, want %q", back.Extensions()[event.ExtJobKind], d.Kind)
		case back.Extensions()[event.ExtTrigger] != string(d.Trigger):
			t.Fatalf("trigger %q, want %q", back.Extensions()[event.ExtTrigger], d.Trigger)
		case event.Attempt(back) != attempt:
			t.Fatalf("attempt %d, want %d", event.Attempt(back), attempt)
		}
		var data event.Due
		if err := json.Unmarshal(back.Data(), &data); err != nil {
			t.Fatalf("data is not a JSON Due: %v", err)
		}
		if !dueEqual(data, d) {
			t.Fatalf("data decodes to\n%+v\nwant\n%+v", data, d)
		}

		before, errBefore := event.ParseDue(ev)
		after, errAfter := event.ParseDue(back)
		if (errBefore == nil) != (errAfter == nil) {
			t.Fatalf("ParseDue before the codec: %v; after: %v", errBefore, errAfter)
		}
		if errBefore == nil && !dueEqual(before, after) {
			t.Fatalf("ParseDue before the codec\n%+v\nafter\n%+v", before, after)
		}
		if errBefore == nil && !dueEqual(after, d) {
			t.Fatalf("ParseDue returned\n%+v\nwant\n%+v", after, d)
		}
	})
}

func dueEqual(a, b event.Due) bool {
	at, bt := a.ScheduledAt, b.ScheduledAt
	a.ScheduledAt, b.ScheduledAt = time.Time{}, time.Time{}
	ah, bh := a.HTTP, b.HTTP
	a.HTTP, b.HTTP = nil, nil
	// The schedule round-trips through JSON like the rest; compare it as JSON.
	as, _ := json.Marshal(a.Schedule)
	bs, _ := json.Marshal(b.Schedule)
	a.Schedule, b.Schedule = domain.Schedule{}, domain.Schedule{}
	if !at.Equal(bt) || (ah == nil) != (bh == nil) || !reflect.DeepEqual(a, b) || string(as) != string(bs) {
		return false
	}
	if ah == nil {
		return true
	}
	if ah.Method != bh.Method || ah.URL != bh.URL || ah.Body != bh.Body || len(ah.Headers) != len(bh.Headers) {
		return false
	}
	for k, v := range ah.Headers {
		if w, ok := bh.Headers[k]; !ok || w != v {
			return false
		}
	}
	return true
}

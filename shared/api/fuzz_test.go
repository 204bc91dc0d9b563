package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
)

// FuzzJobRequest feeds arbitrary bodies through the job parser and validation: they never panic,
// and every rejection names a field.
func FuzzJobRequest(f *testing.F) {
	f.Add(`{"name":"a","schedule":{"cron":"* * * * * *"},"http":{"url":"http://x.test"}}`)
	f.Add(`{"name":"a","timeout":"1h","schedule":{"cron":"@every 90s"},"timezone":"Europe/Paris","http":{"url":"https://x.test","method":"PATCH","headers":{"A":"b"}}}`)
	f.Add(`{"name":[1],"http":{"headers":{"Bad Name":"x\r\n"}}}`)
	f.Add(`{"enabled":"yes"}`)
	f.Add(`not json`)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/jobs", strings.NewReader(body))
		var in jobRequest
		err := decodeBody(httptest.NewRecorder(), r, &in)
		if err == nil {
			_, err = jobs.Validate(jobs.WithDefaults(in.toJob()))
		}
		if err == nil {
			return
		}
		var verr *domain.ValidationError
		if !errors.As(err, &verr) || len(verr.Fields) == 0 {
			t.Fatalf("rejection without a field: %v", err)
		}
		for _, f := range verr.Fields {
			if f.Reason == "" {
				t.Fatalf("field %q rejected without a reason", f.Field)
			}
		}
	})
}

// FuzzCursor checks that any cursor string is either rejected (the API answers 400 naming the
// field "cursor") or round-trips.
func FuzzCursor(f *testing.F) {
	f.Add(encodeCursor(time.Time{}, "0193b7c4-0000-7000-8000-000000000001"))
	f.Add("")
	f.Add("MTIzXw")
	f.Fuzz(func(t *testing.T, s string) {
		at, id, ok := decodeCursor(s)
		if !ok {
			if badCursor.Fields[0].Field != "cursor" {
				t.Fatal("a bad cursor must be reported on the field cursor")
			}
			return
		}
		if id == "" {
			if s != "" {
				t.Fatal("non-empty cursor decoded to nothing")
			}
			return
		}
		at2, id2, ok := decodeCursor(encodeCursor(at, id))
		if !ok || !at2.Equal(at) || id2 != id {
			t.Fatal("cursor does not round-trip")
		}
	})
}

// FuzzExecutionFilter: whatever the query, the history filter either names a bad parameter or
// holds only known statuses and triggers and an ordered time range.
func FuzzExecutionFilter(f *testing.F) {
	for _, q := range []string{"status=failed,succeeded&trigger=manual", "from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z",
		"status=,", "trigger=%00", "from=2026-12-02T00:00:00%2B07:00&to=2026-12-01T00:00:00Z", "status=" + strings.Repeat("queued,", 20)} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		r.URL.RawQuery = query
		got, err := parseExecutionFilter(r)
		if err != nil {
			var verr *domain.ValidationError
			if !errors.As(err, &verr) || len(verr.Fields) == 0 {
				t.Fatalf("%q: an error that names no field: %v", query, err)
			}
			return
		}
		for _, s := range got.Statuses {
			if !slices.Contains(domain.Statuses(), s) {
				t.Fatalf("%q: unknown status %q accepted", query, s)
			}
		}
		for _, tr := range got.Triggers {
			if !slices.Contains(domain.Triggers(), tr) {
				t.Fatalf("%q: unknown trigger %q accepted", query, tr)
			}
		}
		if got.From != nil && got.To != nil && !got.From.Before(*got.To) {
			t.Fatalf("%q: from %s not before to %s", query, got.From, got.To)
		}
	})
}

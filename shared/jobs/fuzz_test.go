package jobs_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
)

// knownField reports whether field is one Validate may name for a job with header headerName.
func knownField(field, headerName string) bool {
	switch field {
	case "name", "namespace", "description", "kind", "http", "http.method", "http.url",
		"http.headers", "http.body", "timeout", "schedule.cron", "timezone":
		return true
	}
	return field == "http.headers."+headerName
}

// FuzzValidate checks that no job makes WithDefaults or Validate panic, that a rejection is a
// *domain.ValidationError naming only known fields, and that an accepted job really holds the
// properties Validate promises.
func FuzzValidate(f *testing.F) {
	f.Add("nightly-report", "https://example.com/hook", "0 0 2 * * *", "", "", "X-Team", "billing", int64(0))
	f.Add("", "", "", "", "", "", "", int64(-1))
	f.Add("a\x00b", "ftp://x", "61 * * * *", "Local", "FETCH", "Bad Name", "a\r\nb", int64(25*time.Hour))
	f.Add(" ping ", "http://:80/", "@every 90s", "Asia/Ho_Chi_Minh", "post", "idempotency-key", "x", int64(time.Millisecond))
	f.Add("x", "HTTPS://user:pass@[::1]:8443/p?q=1#f", "*/5 * * * * *", "Pacific/Chatham", "options", "X", "\x01", int64(24*time.Hour))
	f.Add("x", "http:///path", "TZ=UTC 0 * * * *", "../zoneinfo", "get", "", "", int64(1))
	f.Fuzz(func(t *testing.T, name, rawURL, cron, tz, method, headerName, headerValue string, timeout int64) {
		j := &domain.Job{
			Name: name,
			HTTP: &domain.HTTPSpec{
				Method:  method,
				URL:     rawURL,
				Headers: map[string]string{headerName: headerValue},
			},
			Schedule: domain.Schedule{Cron: cron},
			Timezone: tz,
			Timeout:  domain.Duration(timeout),
		}
		sched, err := jobs.Validate(jobs.WithDefaults(j))
		if err != nil {
			if sched != nil {
				t.Fatalf("Validate returned a schedule with error %v", err)
			}
			var verr *domain.ValidationError
			if !errors.As(err, &verr) || len(verr.Fields) == 0 {
				t.Fatalf("want a *domain.ValidationError, got %T: %v", err, err)
			}
			for _, fe := range verr.Fields {
				if !knownField(fe.Field, headerName) {
					t.Fatalf("unknown field %q (reason %q)", fe.Field, fe.Reason)
				}
				if fe.Reason == "" {
					t.Fatalf("field %q has no reason", fe.Field)
				}
			}
			return
		}
		if sched == nil {
			t.Fatal("Validate accepted the job but returned no schedule")
		}
		// What an accepted job promises.
		if j.Name == "" || len(j.Name) > jobs.MaxNameLen || strings.IndexFunc(j.Name, unicode.IsControl) >= 0 {
			t.Fatalf("accepted name %q", j.Name)
		}
		switch j.HTTP.Method {
		case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead, http.MethodOptions:
		default:
			t.Fatalf("accepted method %q", j.HTTP.Method)
		}
		u, err := url.Parse(j.HTTP.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			t.Fatalf("accepted URL %q", j.HTTP.URL)
		}
		if _, err := http.NewRequest(j.HTTP.Method, j.HTTP.URL, nil); err != nil {
			t.Fatalf("accepted URL %q that net/http refuses: %v", j.HTTP.URL, err)
		}
		if strings.ContainsAny(headerValue, "\r\n\x00") || http.CanonicalHeaderKey(headerName) == "Idempotency-Key" {
			t.Fatalf("accepted header %q: %q", headerName, headerValue)
		}
		if d := time.Duration(j.Timeout); d <= 0 || d > jobs.MaxTimeout {
			t.Fatalf("accepted timeout %s", d)
		}
		if sched.Location().String() != j.Timezone {
			t.Fatalf("schedule zone %s, job zone %s", sched.Location(), j.Timezone)
		}
		next, ok := sched.Next(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
		if ok && !next.After(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("Next went backwards: %s", next)
		}
	})
}

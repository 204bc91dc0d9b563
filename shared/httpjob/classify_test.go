package httpjob

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testenv"
)

func TestRunClassifiesFailuresForRetry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		status        int
		retryAfter    string
		wantPermanent bool
		wantWait      time.Duration
	}{
		{name: "BadRequest", status: 400, wantPermanent: true},
		{name: "Unauthorized", status: 401, wantPermanent: true},
		{name: "NotFound", status: 404, wantPermanent: true},
		{name: "Conflict", status: 409, wantPermanent: true},
		{name: "RequestTimeout", status: 408},
		{name: "TooManyRequests", status: 429, retryAfter: "7", wantWait: 7 * time.Second},
		{name: "ServerError", status: 500},
		{name: "Unavailable", status: 503, retryAfter: "120", wantWait: 2 * time.Minute},
		{name: "UnreadableRetryAfter", status: 503, retryAfter: "soon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, func(w http.ResponseWriter, _ *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
			})
			res := newRunner(t, Config{}).Run(t.Context(), dueFor(&domain.HTTPSpec{URL: tg.URL}))
			assert.Equal(t, domain.StatusFailed, res.Status)
			assert.Equal(t, tt.wantPermanent, res.Permanent)
			assert.Equal(t, tt.wantWait, res.RetryAfter)
		})
	}
}

func TestRunTransportFailures(t *testing.T) {
	t.Parallel()
	tlsTarget := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(tlsTarget.Close)
	tests := []struct {
		name          string
		url           string
		wantPermanent bool
		wantError     string
	}{
		{name: "ConnectionRefused", url: "http://" + testenv.RefusedAddr(t).String() + "/", wantError: "connection refused"},
		{name: "UntrustedCertificate", url: tlsTarget.URL, wantPermanent: true, wantError: "certificate"},
		{name: "UnsupportedScheme", url: "ftp://example.com/x", wantPermanent: true, wantError: "unsupported protocol scheme"},
		{name: "Unparsable", url: "http://[::1", wantPermanent: true, wantError: "build request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := newRunner(t, Config{}).Run(t.Context(), dueFor(&domain.HTTPSpec{URL: tt.url}))
			require.Equal(t, domain.StatusFailed, res.Status)
			assert.Equal(t, tt.wantPermanent, res.Permanent)
			assert.Contains(t, res.Error, tt.wantError)
		})
	}
}

func TestTargetNamesHostAndPort(t *testing.T) {
	t.Parallel()
	r := newRunner(t, Config{})
	for url, want := range map[string]string{
		"https://API.example.com/v1":      "api.example.com:443",
		"http://example.com/":             "example.com:80",
		"http://user:pw@10.0.0.1:8080/x?": "10.0.0.1:8080",
		"http://[::1]:9000/":              "[::1]:9000",
		"not a url at all":                "",
	} {
		assert.Equal(t, want, r.Target(dueFor(&domain.HTTPSpec{URL: url})), url)
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	assert.Equal(t, 90*time.Second, retryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now))
	assert.Zero(t, retryAfter(now.Add(-time.Minute).Format(http.TimeFormat), now), "a date in the past")
	assert.Zero(t, retryAfter("-5", now))
}

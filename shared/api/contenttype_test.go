package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/testenv"
)

// Every write route of the API, walked from the router so a new one cannot be missed, refuses
// what a web page can make a browser send without a CORS preflight: text/plain, form and
// multipart posts, and bodyless posts.
func TestWritesRefuseWhatABrowserSendsUnasked(t *testing.T) {
	t.Parallel()
	s := New(Deps{}, time.Now, testenv.Logger(t)) // rejected before any handler runs
	var writes []string
	require.NoError(t, chi.Walk(s.router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		switch method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			writes = append(writes, method+" "+route)
		}
		return nil
	}))
	require.NotEmpty(t, writes)
	for _, w := range writes {
		method, route, _ := strings.Cut(w, " ")
		if route == hooksPattern {
			// A webhook takes the types its job declares, text/plain included; no browser
			// carries its credential (a signature under a secret), so a page gains nothing by
			// sending one. TestWebhookBodyLimitsAndTypes checks its 415.
			continue
		}
		path := strings.NewReplacer("{id}", "0193b7c4-0000-7000-8000-000000000000", "{name}", "X").Replace(route)
		for _, ct := range []string{"", "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
			"multipart/form-data; boundary=x", "application/jsonp", "application/json-seq", "not a media type"} {
			t.Run(strings.ReplaceAll(w+" "+ct, "/", "_"), func(t *testing.T) {
				t.Parallel()
				req := httptest.NewRequest(method, path, strings.NewReader(`{"name":"x"}`))
				if ct != "" {
					req.Header.Set("Content-Type", ct)
				}
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				require.Equal(t, http.StatusUnsupportedMediaType, rec.Code, rec.Body.String())
				require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
				var p problem
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
				want := "Content-Type must be application/json"
				if route == EventsPath {
					want = "Content-Type must be " + structuredMediaType
				}
				require.Contains(t, p.Detail, want)
			})
		}
	}
}

func TestJSONOnlyLetsJSONThrough(t *testing.T) {
	t.Parallel()
	h := jsonOnly(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	for _, c := range []struct {
		method, contentType string
		want                int
	}{
		{http.MethodPost, "application/json", http.StatusNoContent},
		{http.MethodPost, "Application/JSON; charset=utf-8", http.StatusNoContent},
		{http.MethodPut, "application/json", http.StatusNoContent},
		{http.MethodPatch, "application/merge-patch+json", http.StatusNoContent},
		{http.MethodPost, "application/merge-patch+json", http.StatusUnsupportedMediaType},
		{http.MethodGet, "", http.StatusNoContent},
		{http.MethodDelete, "", http.StatusNoContent},
	} {
		req := httptest.NewRequest(c.method, "/api/v1/jobs", nil)
		if c.contentType != "" {
			req.Header.Set("Content-Type", c.contentType)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, c.want, rec.Code, "%s %q", c.method, c.contentType)
	}
}

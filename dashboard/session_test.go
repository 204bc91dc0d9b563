package dashboard

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func httptestRequest(acceptLanguage, langCookieValue string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/jobs", nil)
	if acceptLanguage != "" {
		r.Header.Set("Accept-Language", acceptLanguage)
	}
	if langCookieValue != "" {
		r.AddCookie(&http.Cookie{Name: langCookie, Value: langCookieValue})
	}
	return r
}

func TestSafeNext(t *testing.T) {
	t.Parallel()
	for next, want := range map[string]string{
		"":                     "/jobs",
		"/jobs/1?x=y":          "/jobs/1?x=y",
		"/history":             "/history",
		"//evil.test":          "/jobs",
		"///evil.test":         "/jobs",
		"/\\evil.test":         "/jobs",
		"https://evil.test/":   "/jobs",
		"javascript:alert(1)":  "/jobs",
		"/login":               "/jobs",
		"/login?next=/x":       "/jobs",
		"jobs":                 "/jobs",
		"/jobs\r\nSet-Cookie:": "/jobs",
		"/%2F%2Fevil.test":     "/%2F%2Fevil.test",
	} {
		require.Equal(t, want, SafeNext(next), next)
	}
}

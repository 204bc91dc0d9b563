package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestValidUTF8RefusesOtherBytes(t *testing.T) {
	t.Parallel()
	h := validUTF8(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	for target, want := range map[string]int{
		"/api/v1/audit?action=job.create": http.StatusNoContent,
		"/api/v1/audit?action=%ff":        http.StatusBadRequest,
		"/api/v1/jobs?namespace=%c3":      http.StatusBadRequest,
		"/api/v1/jobs/%ff%fe":             http.StatusBadRequest,
		"/api/v1/jobs?%ff=x":              http.StatusBadRequest,
		"/api/v1/jobs?name=%C3%A9t%C3%A9": http.StatusNoContent,
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		require.Equal(t, want, rec.Code, target)
	}
}

func TestPrintableCutsAtACharacter(t *testing.T) {
	t.Parallel()
	require.Equal(t, "curl\uFFFD", printable("curl\xff", 512))
	long := strings.Repeat("a", 511) + "é"
	require.Equal(t, strings.Repeat("a", 511), printable(long, 512), "é would be split by the cut")
	require.True(t, utf8.ValidString(printable(strings.Repeat("é", 300), 512)))
}

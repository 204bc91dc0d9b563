package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestRequestID(t *testing.T) {
	t.Parallel()
	var seen string
	h := requestID(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = r.Header.Get(requestIDHeader) }))
	for name, c := range map[string]struct {
		incoming string
		kept     bool
	}{
		"None":          {"", false},
		"WellFormed":    {"gw-01HZX3:req.42_a", true},
		"LogInjection":  {"abc\nlevel=ERROR msg=forged", false},
		"TooLong":       {strings.Repeat("a", 129), false},
		"HeaderSmuggle": {"a b", false},
	} {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/jobs", nil)
		if c.incoming != "" {
			req.Header.Set(requestIDHeader, c.incoming)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Header().Get(requestIDHeader)
		require.Equal(t, got, seen, "%s: the handler sees the id the response carries", name)
		if c.kept {
			require.Equal(t, c.incoming, got, name)
			continue
		}
		_, err := uuid.Parse(got)
		require.NoError(t, err, "%s: a new id replaces %q", name, c.incoming)
	}
}

package api

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/telemetry"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// Once the guard knows the caller, every line the request logs with its context names them —
// the username, or the API token's name — and never holds the credential.
func TestLinesOfASignedInRequestNameTheCaller(t *testing.T) {
	t.Parallel()
	e := newAccessEnv(t)
	u := testfactory.User(t, e.st, testfactory.UserOpts{Role: rbac.RoleEditor, Namespace: "team-a"})
	h := e.s.guard(need(domain.PermJobWrite), func(w http.ResponseWriter, r *http.Request) {
		e.s.log.InfoContext(r.Context(), "job changed")
		w.WriteHeader(http.StatusNoContent)
	})
	for _, c := range []struct{ name, token, want string }{
		{"AccessToken", e.token(u), "user=" + u.Username},
		{"APIToken", testfactory.APIToken(t, e.st, u.ID, "team-a", nil), "user=test"},
	} {
		logs := &testenv.LogBuffer{}
		log, err := telemetry.NewLogger(logs, telemetry.LogConfig{Format: "text"})
		require.NoError(t, err)
		e.s.log = log
		req := httptest.NewRequest(http.MethodPost, "/api/v1/jobs", nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusNoContent, rec.Code, c.name)
		require.Contains(t, logs.String(), c.want, c.name)
		require.NotContains(t, logs.String(), c.token, c.name)
	}
}

package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/api"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// TestInProcessIdentity: a request built in this process with api.WithIdentity acts as that
// identity, with its permissions checked as for a bearer token's; a nil identity is nobody.
func TestInProcessIdentity(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ident := testfactory.Identity(t, st, testfactory.AuthConfig(t), time.Now)
	h := api.New(api.Deps{Jobs: jobs.New(st, time.Now), Store: st, Identity: ident}, time.Now, testenv.Logger(t))
	viewer := testfactory.User(t, st, testfactory.UserOpts{Role: rbac.RoleViewer})
	id, err := ident.UserIdentity(t.Context(), viewer.ID)
	require.NoError(t, err)

	serve := func(id *rbac.Identity, method, path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequestWithContext(api.WithIdentity(t.Context(), id, nil), method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	rec := serve(id, http.MethodGet, "/api/v1/auth/me", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var me struct{ Subject, Name string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &me))
	require.Equal(t, viewer.ID, me.Subject)
	require.Equal(t, viewer.Username, me.Name)

	rec = serve(id, http.MethodPost, "/api/v1/jobs", validJob)
	require.Equal(t, http.StatusForbidden, rec.Code, "a viewer's in-process write is refused like any other: %s", rec.Body.String())

	rec = serve(nil, http.MethodGet, "/api/v1/auth/me", "")
	require.Equal(t, http.StatusUnauthorized, rec.Code)
}

// TestNetworkCannotImpersonate: nothing a client sends over the network makes the guard take an
// in-process identity: headers, cookies and query parameters that might name one are ignored.
func TestNetworkCannotImpersonate(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	c.token = ""
	admin := testfactory.User(t, c.st, testfactory.UserOpts{Role: rbac.RoleAdmin})
	for _, tc := range []struct {
		name   string
		path   string
		header []string
	}{
		{"NoCredential", "/api/v1/auth/me", nil},
		{"IdentityHeaders", "/api/v1/auth/me", []string{"X-Vecron-Identity", admin.ID, "X-User", admin.Username, "X-Forwarded-User", admin.Username, "Remote-User", admin.Username}},
		{"SessionCookie", "/api/v1/auth/me", []string{"Cookie", "vecron_session=" + admin.ID}},
		{"QueryParameter", "/api/v1/auth/me?identity=" + admin.ID + "&user_id=" + admin.ID, nil},
		{"Write", "/api/v1/jobs", []string{"X-Vecron-Identity", admin.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := http.MethodGet
			if tc.path == "/api/v1/jobs" {
				method = http.MethodPost
			}
			p := c.problem(method, tc.path, validJob, http.StatusUnauthorized, tc.header...)
			require.NotEmpty(t, p.Detail)
		})
	}
}

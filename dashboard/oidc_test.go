package dashboard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard"
	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/shared/api"
	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/auth/oidclogin"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/identity"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// fakeFlow stands for the identity provider's flow: /auth/oidc/start signs its user in at once.
type fakeFlow struct{ user *auth.OIDCIdentity }

func (fakeFlow) Label() string { return "Keycloak" }

func (f fakeFlow) ServeOIDC(w http.ResponseWriter, r *http.Request, start dashboard.SessionStarter) {
	if r.URL.Path != "/auth/oidc/start" {
		http.NotFound(w, r)
		return
	}
	if err := start.StartOIDCSession(w, r, &oidclogin.Grant{Identity: f.user}); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, dashboard.SafeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
}

// TestOIDCSessionSeam: a flow plugged in through Deps.OIDC starts a session whose roles come
// from the bindings of the user's groups, read on every request; sign-in and sign-out are in the
// audit log as the user's.
func TestOIDCSessionSeam(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ident := testfactory.Identity(t, st, testfactory.AuthConfig(t), time.Now)
	h := api.New(api.Deps{Jobs: jobs.New(st, time.Now), Store: st, Identity: ident}, time.Now, testenv.Logger(t))
	sub := "sub-" + uuid.NewString()[:8]
	ui, err := dashboard.New(dashboard.Deps{API: h, Identity: ident, Sessions: st, Now: time.Now, Log: testenv.Logger(t),
		OIDC: fakeFlow{&auth.OIDCIdentity{Subject: sub, Username: "alice", Roles: []string{"ops"}}}}, dashboard.Config{})
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.Owns(r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		ui.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	admin := testfactory.User(t, st, testfactory.UserOpts{Role: rbac.RoleAdmin})
	env := &dashboardtest.Server{URL: srv.URL, Store: st}
	token := env.Token(t, admin)
	id := createJob(t, env, token, "nightly", "default")

	c := newClient(t, env)
	require.Contains(t, c.get("/login").body, `href="/auth/oidc/start?next=%2Fjobs">Sign in with Keycloak</a>`)
	r := c.get("/auth/oidc/start?next=" + url.QueryEscape("/jobs/"+id))
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	require.Equal(t, "/jobs/"+id, r.Header.Get("Location"))
	page := c.get("/jobs")
	require.Equal(t, http.StatusForbidden, page.StatusCode, "the group has no binding yet: the API refuses the list")
	require.Contains(t, page.body, "<strong>alice</strong>")
	require.Contains(t, page.body, "missing permission job:read")

	// A binding of the group takes effect on the next request: roles are not in the session.
	require.NoError(t, st.CreateBinding(context.Background(), &domain.RoleBinding{ID: uuid.NewString(), Role: rbac.RoleOperator,
		Group: "ops", Namespace: "default", CreatedAt: time.Now().UTC()}))
	page = c.get("/jobs")
	require.Equal(t, http.StatusOK, page.StatusCode)
	require.Contains(t, page.body, "Run now")

	// Signing in again in the same browser ends the session it held: one browser, one session.
	first := c.sessionCookie()
	r = c.get("/auth/oidc/start?next=%2Fjobs")
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	require.NotEqual(t, first, c.sessionCookie())
	other := newClient(t, env)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	other.c.Jar.SetCookies(u, []*http.Cookie{{Name: "vecron_session", Value: first}})
	r = other.get("/jobs")
	require.Equal(t, http.StatusSeeOther, r.StatusCode)
	require.Equal(t, "/login?expired=1", r.Header.Get("Location"))

	r = c.post("/logout", url.Values{"csrf": {c.csrf("/jobs")}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode)
	require.Equal(t, http.StatusSeeOther, c.get("/jobs").StatusCode)

	for action, n := range map[string]int{"auth.login": 2, "auth.logout": 2} {
		records := auditOf(t, st, action, "oidc:"+sub)
		require.Len(t, records, n, action)
		require.Equal(t, "alice", records[0].ActorName, action)
		require.Equal(t, identity.ModeOIDC, records[0].AuthMode, action)
	}
}

func auditOf(t *testing.T, st *store.Store, action, objectID string) []*audit.Record {
	t.Helper()
	list, err := st.ListAudit(t.Context(), store.AuditFilter{Action: action, ObjectID: objectID, Limit: 10})
	require.NoError(t, err)
	return list
}

package dashboard_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

var userLink = regexp.MustCompile(`^/admin/users/([0-9a-f-]{36})\?done=created$`)

func TestAdminUsers(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")

	// Not an admin: no link, the API refuses the page and a forged post.
	editor := srv.User(t, rbac.RoleEditor, "")
	ce := newClient(t, srv)
	ce.login(editor.Username)
	r := ce.get("/jobs")
	require.NotContains(t, r.body, `href="/admin"`)
	etoken := csrfInput.FindStringSubmatch(r.body)[1]
	r = ce.get("/admin/users")
	require.Equal(t, http.StatusForbidden, r.StatusCode)
	require.Contains(t, r.body, "You may not do that.")
	r = ce.post("/admin/users", url.Values{"csrf": {etoken}, "username": {"mallory"}, "password": {"correct horse battery staple"}})
	require.Equal(t, http.StatusForbidden, r.StatusCode, r.body)
	r = ce.post("/admin/users/"+editor.ID+"/bindings", url.Values{"csrf": {etoken}, "role": {"admin"}, "namespace": {"*"}})
	require.Equal(t, http.StatusForbidden, r.StatusCode, r.body)

	c := newClient(t, srv)
	c.login(admin.Username)
	require.Equal(t, "/admin/users", c.get("/admin").Header.Get("Location"))
	r = c.get("/admin/users")
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Contains(t, r.body, editor.Username)
	require.Contains(t, r.body, "editor (*)")
	token := csrfInput.FindStringSubmatch(r.body)[1]

	// A refused user comes back with the API's reasons and never its password.
	r = c.post("/admin/users", url.Values{"csrf": {token}, "username": {"new user!"}, "password": {"short-Pw9"}})
	require.Equal(t, http.StatusBadRequest, r.StatusCode, r.body)
	require.Regexp(t, `id="username-err">[^<]+</p>`, r.body)
	require.Regexp(t, `id="password-err">[^<]+</p>`, r.body)
	require.NotContains(t, r.body, "short-Pw9")

	r = c.post("/admin/users", url.Values{"csrf": {token}, "username": {"carol"}, "display_name": {hostile}, "password": {testfactory.Password}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	m := userLink.FindStringSubmatch(r.Header.Get("Location"))
	require.NotNil(t, m, r.Header.Get("Location"))
	carol := m[1]
	r = c.get(r.Header.Get("Location"))
	require.Contains(t, r.body, "User created.")
	require.Contains(t, r.body, "&lt;img src=x onerror=alert(1)&gt;")
	require.NotContains(t, r.body, "<img src=x")
	require.Contains(t, r.body, "No roles")

	// Bind a role, then remove it after the question.
	r = c.post("/admin/users/"+carol+"/bindings", url.Values{"csrf": {token}, "role": {"operator"}, "namespace": {"pay"}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	r = c.get(r.Header.Get("Location"))
	require.Contains(t, r.body, "Role granted.")
	require.Equal(t, 1, strings.Count(r.body, `class="binding-row"`))
	unbind := regexp.MustCompile(`href="(/admin/users/` + carol + `/bindings/[0-9a-f-]+/delete)"`).FindStringSubmatch(r.body)
	require.NotNil(t, unbind)
	r = c.post("/admin/users/"+carol+"/bindings", url.Values{"csrf": {token}, "role": {"nosuch"}, "namespace": {"pay"}})
	require.GreaterOrEqual(t, r.StatusCode, 400)
	cc := newClient(t, srv)
	cc.login("carol")
	require.Contains(t, cc.get("/jobs").body, "Jobs")
	r = c.get(unbind[1])
	require.Contains(t, r.body, "Remove this role from the user?")
	r = c.post(unbind[1], url.Values{"csrf": {token}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	require.Equal(t, 0, strings.Count(c.get("/admin/users/"+carol).body, `class="binding-row"`))

	// Disable after the question: carol's session ends. Enable again.
	r = c.get("/admin/users/" + carol + "/disable")
	require.Contains(t, r.body, "Disable this user?")
	r = c.post("/admin/users/"+carol+"/disable", url.Values{"csrf": {token}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	r = c.get(r.Header.Get("Location"))
	require.Contains(t, r.body, `<span aria-hidden="true">⊘</span> Disabled`)
	require.Equal(t, http.StatusSeeOther, cc.get("/jobs").StatusCode, "carol was signed out")
	r = c.post("/admin/users/"+carol+"/enable", url.Values{"csrf": {token}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	require.Contains(t, c.get("/admin/users/"+carol).body, `<span aria-hidden="true">✓</span> Active`)

	code, b := srv.API(t, srv.Token(t, admin), http.MethodGet, "/api/v1/audit?object_id="+carol, "")
	require.Equal(t, http.StatusOK, code, b)
	require.Contains(t, b, `"user.create"`)
	require.Equal(t, http.StatusNotFound, c.get("/admin/users/not-a-user").StatusCode)
}

func TestOwnTokens(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	createJob(t, srv, srv.Token(t, srv.User(t, rbac.RoleAdmin, "")), "listed", "default")
	viewer := srv.User(t, rbac.RoleViewer, "")
	c := newClient(t, srv)
	c.login(viewer.Username)
	r := c.get("/account/tokens")
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Contains(t, r.body, "No tokens yet.")
	require.Contains(t, r.body, `value="job:read"`)
	require.NotContains(t, r.body, `value="job:write"`, "only the permissions the user holds are offered")
	token := csrfInput.FindStringSubmatch(r.body)[1]

	r = c.post("/account/tokens", url.Values{"csrf": {token}, "name": {"ci"}, "scopes": {"job:write"}, "expires": {"30"}})
	require.Equal(t, http.StatusForbidden, r.StatusCode, r.body)
	require.Contains(t, r.body, "scopes exceed your permissions")
	r = c.post("/account/tokens", url.Values{"csrf": {token}, "name": {hostile}, "scopes": {"job:read", "execution:read"}, "expires": {"30"}})
	require.Equal(t, http.StatusCreated, r.StatusCode, r.body)
	m := regexp.MustCompile(`<input id="new-token" readonly value="([^"]+)"`).FindStringSubmatch(r.body)
	require.NotNil(t, m, "the token is shown once")
	secret := html.UnescapeString(m[1])
	require.NotContains(t, r.body, "<img src=x")
	code, b := srv.API(t, secret, http.MethodGet, "/api/v1/jobs", "")
	require.Equal(t, http.StatusOK, code, b)
	require.Contains(t, b, "listed")

	r = c.get("/account/tokens")
	require.NotContains(t, r.body, secret, "never again")
	require.Contains(t, r.body, "job:read, execution:read")
	revoke := regexp.MustCompile(`href="(/account/tokens/[0-9a-f-]+/revoke)"`).FindStringSubmatch(r.body)
	require.NotNil(t, revoke)

	// Another user cannot revoke it, by the page or by a post.
	other := newClient(t, srv)
	other.login(srv.User(t, rbac.RoleViewer, "").Username)
	otoken := other.csrf("/account/tokens")
	require.Equal(t, http.StatusNotFound, other.get(revoke[1]).StatusCode)
	require.Equal(t, http.StatusNotFound, other.post(revoke[1], url.Values{"csrf": {otoken}}).StatusCode)

	r = c.get(revoke[1])
	require.Contains(t, r.body, "Revoke this token?")
	r = c.post(revoke[1], url.Values{"csrf": {token}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	require.Contains(t, c.get(r.Header.Get("Location")).body, "Token revoked.")
	code, _ = srv.API(t, secret, http.MethodGet, "/api/v1/jobs", "")
	require.Equal(t, http.StatusUnauthorized, code)
}

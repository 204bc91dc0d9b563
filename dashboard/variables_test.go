package dashboard_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/shared/rbac"
)

const secretValue = "s3cr3t-Value-Z9q!"

func varRows(body string) int { return strings.Count(body, `class="var-row"`) }

func TestVariablesSecretsAreWriteOnly(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	c := newClient(t, srv)
	c.login(admin.Username)
	token := c.csrf("/variables")

	r := c.post("/variables", url.Values{"csrf": {token}, "kind": {"plain"}, "name": {"GREETING"}, "value": {hostile}, "namespaces": {"pay, ops"}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	require.Equal(t, "/variables?done=created", r.Header.Get("Location"))
	r = c.post("/variables", url.Values{"csrf": {token}, "kind": {"secret"}, "name": {"API_KEY"}, "value": {secretValue}, "allowed_hosts": {"api.example.com"}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)

	// A refused secret comes back with the API's reason and without its value.
	r = c.post("/variables", url.Values{"csrf": {token}, "kind": {"secret"}, "name": {"1bad name"}, "value": {secretValue}})
	require.Equal(t, http.StatusBadRequest, r.StatusCode, r.body)
	require.Regexp(t, `id="secret-name-err">[^<]+</p>`, r.body)
	require.Contains(t, r.body, `value="1bad name"`, "the name stays")
	require.NotContains(t, r.body, secretValue)
	r = c.post("/variables", url.Values{"csrf": {token}, "kind": {"secret"}, "name": {"SHORT"}, "value": {"abc"}})
	require.Equal(t, http.StatusBadRequest, r.StatusCode, r.body)
	require.Regexp(t, `id="secret-value-err">[^<]+</p>`, r.body)

	r = c.get("/variables?done=created")
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Equal(t, 2, varRows(r.body))
	require.Contains(t, r.body, "Created.")
	require.Contains(t, r.body, "&lt;img src=x onerror=alert(1)&gt;", "a value is text")
	require.NotContains(t, r.body, "<img src=x")
	require.Contains(t, r.body, "pay, ops")
	require.Contains(t, r.body, "Secret, set")
	require.Contains(t, r.body, "sent only to api.example.com")

	// The edit page of a secret has an empty password field; leaving it empty keeps the value.
	r = c.get("/variables/API_KEY/edit")
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Contains(t, r.body, `<input id="value" name="value" type="password" autocomplete="new-password"`)
	// Sending a kept secret to more hosts takes its value again: whoever may write variables
	// need not know it.
	r = c.post("/variables/API_KEY", url.Values{"csrf": {token}, "allowed_hosts": {"api.example.com, *.example.org"}})
	require.Equal(t, http.StatusBadRequest, r.StatusCode, r.body)
	require.Regexp(t, `value-err">[^<]+</p>`, r.body)
	r = c.post("/variables/API_KEY", url.Values{"csrf": {token}, "value": {secretValue}, "allowed_hosts": {"api.example.com, *.example.org"}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	code, b := srv.API(t, srv.Token(t, admin), http.MethodGet, "/api/v1/variables/API_KEY", "")
	require.Equal(t, http.StatusOK, code, b)
	require.Contains(t, b, `"is_secret":true`)
	require.Contains(t, b, `*.example.org`)
	r = c.post("/variables/GREETING", url.Values{"csrf": {token}, "value": {"hello"}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	require.Contains(t, c.get("/variables").body, "<code class=\"var-value\">hello</code>")

	// Nowhere in any page, attribute or form: the secret's value.
	for _, path := range []string{"/variables", "/variables/API_KEY/edit", "/variables/API_KEY/delete", "/audit"} {
		r = c.get(path)
		require.NotContains(t, r.body, secretValue, path)
		require.NotContains(t, html.UnescapeString(r.body), secretValue, path)
	}

	// Delete asks first.
	r = c.get("/variables/GREETING/delete")
	require.Contains(t, r.body, "Delete this variable?")
	r = c.post("/variables/GREETING/delete", url.Values{"csrf": {token}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	require.Equal(t, 1, varRows(c.get("/variables").body))
	require.Equal(t, http.StatusNotFound, c.get("/variables/NOPE/edit").StatusCode)
	require.Equal(t, http.StatusNotFound, c.get("/variables/..%2Fjobs/edit").StatusCode)

	code, b = srv.API(t, srv.Token(t, admin), http.MethodGet, "/api/v1/audit?object_kind=variable", "")
	require.Equal(t, http.StatusOK, code, b)
	require.Contains(t, b, admin.ID, "the API recorded who changed them")
	require.NotContains(t, b, secretValue)
}

func TestVariablesPermissions(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	atoken := srv.Token(t, admin)
	code, b := srv.API(t, atoken, http.MethodPost, "/api/v1/variables", `{"name":"REGION","value":"hcm"}`)
	require.Equal(t, http.StatusCreated, code, b)
	id := createJob(t, srv, atoken, "nightly", "pay")
	code, b = srv.API(t, atoken, http.MethodPost, "/api/v1/jobs/"+id+"/variables", `{"name":"LIMIT","value":"10"}`)
	require.Equal(t, http.StatusCreated, code, b)

	// A viewer reads and has no form and no button; a forged post is refused by the API.
	viewer := srv.User(t, rbac.RoleViewer, "")
	cv := newClient(t, srv)
	cv.login(viewer.Username)
	r := cv.get("/variables")
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Contains(t, r.body, "hcm")
	for _, s := range []string{`action="/variables"`, "/edit", "/delete"} {
		require.NotContains(t, r.body, s)
	}
	vtoken := csrfInput.FindStringSubmatch(r.body)[1]
	r = cv.post("/variables", url.Values{"csrf": {vtoken}, "kind": {"plain"}, "name": {"X"}, "value": {"y"}})
	require.Equal(t, http.StatusForbidden, r.StatusCode, r.body)
	r = cv.post("/variables/REGION/delete", url.Values{"csrf": {vtoken}})
	require.Equal(t, http.StatusForbidden, r.StatusCode, r.body)

	// Variable writes in the namespace without job:write: the job's variables stay read-only.
	code, b = srv.API(t, atoken, http.MethodPut, "/api/v1/roles/varwriter", `{"permissions":["job:read","variable:read","variable:write"]}`)
	require.Contains(t, []int{http.StatusOK, http.StatusCreated}, code, b)
	writer := srv.User(t, "", "")
	code, b = srv.API(t, atoken, http.MethodPost, "/api/v1/role-bindings", `{"role":"varwriter","user_id":"`+writer.ID+`","namespace":"pay"}`)
	require.Equal(t, http.StatusCreated, code, b)
	cw := newClient(t, srv)
	cw.login(writer.Username)
	r = cw.get("/jobs/" + id + "/variables")
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Contains(t, r.body, "LIMIT")
	require.NotContains(t, r.body, `action="/jobs/`+id+`/variables"`)
	wtoken := csrfInput.FindStringSubmatch(r.body)[1]
	r = cw.post("/jobs/"+id+"/variables/LIMIT", url.Values{"csrf": {wtoken}, "value": {"99"}})
	require.Equal(t, http.StatusForbidden, r.StatusCode, r.body)

	// An editor of the namespace writes the job's own variables.
	editor := srv.User(t, rbac.RoleEditor, "pay")
	ce := newClient(t, srv)
	ce.login(editor.Username)
	r = ce.get("/jobs/" + id)
	require.Contains(t, r.body, `href="/jobs/`+id+`/variables"`, "the job page links its variables")
	r = ce.get("/jobs/" + id + "/variables")
	require.Contains(t, r.body, `action="/jobs/`+id+`/variables"`)
	require.NotContains(t, r.body, `id="plain-ns"`, "a job's variable has no namespaces")
	etoken := csrfInput.FindStringSubmatch(r.body)[1]
	r = ce.post("/jobs/"+id+"/variables/LIMIT", url.Values{"csrf": {etoken}, "value": {"99"}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	require.Equal(t, "/jobs/"+id+"/variables?done=updated", r.Header.Get("Location"))
	require.Contains(t, ce.get("/jobs/"+id+"/variables").body, `<code class="var-value">99</code>`)
	r = ce.post("/jobs/"+id+"/variables", url.Values{"csrf": {etoken}, "kind": {"secret"}, "name": {"TOKEN"}, "value": {secretValue}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	require.NotContains(t, ce.get("/jobs/"+id+"/variables").body, secretValue)
	// Global variables need variable:write in every namespace.
	require.NotContains(t, ce.get("/variables").body, `action="/variables"`)

	other := srv.User(t, rbac.RoleEditor, "elsewhere")
	co := newClient(t, srv)
	co.login(other.Username)
	require.Equal(t, http.StatusNotFound, co.get("/jobs/"+id+"/variables").StatusCode)
}

package dashboard_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/shared/rbac"
)

func auditRows(body string) int { return strings.Count(body, `class="audit-row"`) }

func TestAuditLog(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	evil := createJob(t, srv, token, hostile, "pay")
	for i := range 52 {
		createJob(t, srv, token, "bulk-"+string(rune('a'+i%26))+string(rune('a'+i/26)), "bulk")
	}
	c := newClient(t, srv)
	c.login(admin.Username)

	r := c.get("/audit")
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Equal(t, 50, auditRows(r.body))
	require.NotContains(t, r.body, "<img src=x", "names in the recorded objects are text")
	m := regexpNext.FindStringSubmatch(r.body)
	require.NotNil(t, m)
	r = c.get(html.UnescapeString(m[1]))
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Positive(t, auditRows(r.body))
	require.Contains(t, r.body, "First page")

	// The filters reach the API.
	r = c.get("/audit?" + url.Values{"action": {"job.create"}, "object_id": {evil}}.Encode())
	require.Equal(t, 1, auditRows(r.body))
	require.Contains(t, r.body, `href="/jobs/`+evil+`"`, "the object links its page")
	require.Contains(t, r.body, "&lt;img src=x onerror=alert(1)&gt;")
	require.NotContains(t, r.body, "<img src=x")
	require.Regexp(t, `<a href="/audit\?action=job.create&amp;actor=[^"&]+&amp;`, r.body, "the actor filters the log, keeping the filters")
	r = c.get("/audit?namespace=pay&action=job.create")
	require.Equal(t, 1, auditRows(r.body))
	r = c.get("/audit?action=auth.login&actor=" + admin.ID)
	require.Equal(t, 1, auditRows(r.body))
	future := time.Now().Add(2 * time.Hour).UTC().Format("2006-01-02T15:04")
	r = c.get("/audit?" + url.Values{"since": {future}, "zone": {"UTC"}}.Encode())
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Equal(t, 0, auditRows(r.body))
	require.Contains(t, r.body, "No records match.")
	r = c.get("/audit?" + url.Values{"until": {future}, "zone": {"UTC"}, "action": {"job.create"}, "namespace": {"pay"}}.Encode())
	require.Equal(t, 1, auditRows(r.body))
	for query, field := range map[string]string{"since=soon": "err-since", "zone=Nowhere%2FLand": "err-zone", "namespace=Bad%20NS": "err-namespace"} {
		r = c.get("/audit?" + query)
		require.Equal(t, http.StatusBadRequest, r.StatusCode, query)
		require.Regexp(t, `id="`+field+`">[^<]+</p>`, r.body, query)
	}

	// Without audit:read the API refuses, and the page says so.
	viewer := srv.User(t, rbac.RoleViewer, "")
	cv := newClient(t, srv)
	cv.login(viewer.Username)
	r = cv.get("/audit")
	require.Equal(t, http.StatusForbidden, r.StatusCode)
	require.Contains(t, r.body, "You may not do that.")

	// audit:read in one namespace: that namespace's rows only.
	code, b := srv.API(t, token, http.MethodPut, "/api/v1/roles/auditor", `{"permissions":["audit:read"]}`)
	require.Contains(t, []int{http.StatusOK, http.StatusCreated}, code, b)
	auditor := srv.User(t, "", "")
	code, b = srv.API(t, token, http.MethodPost, "/api/v1/role-bindings", `{"role":"auditor","user_id":"`+auditor.ID+`","namespace":"pay"}`)
	require.Equal(t, http.StatusCreated, code, b)
	ca := newClient(t, srv)
	ca.login(auditor.Username)
	r = ca.get("/audit?action=job.create")
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Equal(t, 1, auditRows(r.body))
}

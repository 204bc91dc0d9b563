package dashboard_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

// inputIDs finds the ids of the form controls a user fills in.
var inputIDs = regexp.MustCompile(`<(?:input|select|textarea) id="([^"]+)"(?: name="[^"]*")?(?: type="(?:text|password|search|datetime-local|checkbox)")?`)

// operatorPages seeds one of everything the operators' pages show and returns their paths.
func operatorPages(t *testing.T, srv *dashboardtest.Server, admin *domain.User) []string {
	t.Helper()
	token := srv.Token(t, admin)
	j := testfactory.Job(t, srv.Store, testfactory.JobOpts{Name: hostile})
	e := failedTwice(t, srv.Store, j, time.Now().UTC().Add(-time.Hour).Truncate(time.Second), hostile)
	running := testfactory.RunningExclusive(t, srv.Store, testfactory.Job(t, srv.Store, testfactory.JobOpts{Name: "long", Namespace: "ops"}))
	code, b := srv.API(t, token, http.MethodPost, "/api/v1/variables", `{"name":"PLAIN","value":"<b>v</b>"}`)
	require.Equal(t, http.StatusCreated, code, b)
	code, b = srv.API(t, token, http.MethodPost, "/api/v1/jobs/"+j.ID+"/variables", `{"name":"KEY","value":"`+secretValue+`","is_secret":true}`)
	require.Equal(t, http.StatusCreated, code, b)
	// Sessions: a database user's, and an identity provider's user's whose claims are hostile.
	other := srv.User(t, rbac.RoleViewer, "")
	ds, _ := testfactory.DashboardSession(t, srv.Store, testfactory.SessionOpts{User: other})
	sub := `sub-"><b>v</b>`
	oidc, _ := testfactory.DashboardSession(t, srv.Store, testfactory.SessionOpts{Subject: sub, Username: hostile, Groups: []string{hostile}})
	return []string{"/admin/sessions", "/admin/sessions/end?" + url.Values{"subject": {sub}}.Encode(),
		"/admin/sessions/" + oidc.ID + "/end?" + url.Values{"subject": {sub}}.Encode(),
		"/admin/users/" + other.ID, "/admin/users/" + other.ID + "/sessions/end", "/admin/users/" + other.ID + "/sessions/" + ds.ID + "/end",
		"/account/sessions",
		"/executions", "/executions?status=failed", "/executions/" + e.ID, "/executions/" + running.ID + "/cancel",
		"/dead-letters", "/dead-letters/" + e.ID + "/replay", "/dead-letters/" + e.ID + "/discard",
		"/variables", "/variables/PLAIN/edit", "/variables/PLAIN/delete", "/jobs/" + j.ID + "/variables", "/jobs/" + j.ID + "/variables/KEY/edit",
		"/audit", "/jobs/" + j.ID, "/admin/users", "/admin/users/" + admin.ID, "/admin/users/" + admin.ID + "/disable", "/account/tokens"}
}

func TestOperatorPagesNoInlineCode(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	pages := operatorPages(t, srv, admin)
	c := newClient(t, srv)
	c.login(admin.Username)
	for _, lang := range []string{"en", "vi"} {
		for _, path := range pages {
			r := c.get(path, "Accept-Language", lang)
			require.Equal(t, http.StatusOK, r.StatusCode, "%s: %s", path, r.body)
			require.NotContains(t, r.Header.Get("Content-Security-Policy"), "unsafe-inline")
			require.NotRegexp(t, `<script(?:\s[^>]*)?>\s*[^<\s]`, r.body, "inline script on %s", path)
			require.NotRegexp(t, `<[a-z]+(?:\s+[a-z-]+(?:=(?:"[^"]*"|[^\s>"]+))?)*\s+style=`, r.body, "inline style on %s", path)
			require.NotRegexp(t, `<[a-z]+(?:\s+[a-z-]+(?:=(?:"[^"]*"|[^\s>"]+))?)*\s+on[a-z]+=`, r.body, "inline event handler on %s", path)
			require.NotContains(t, r.body, "<style", path)
			require.NotContains(t, r.body, "<img src=x", path)
			require.NotContains(t, r.body, "<b>v</b>", path)
			require.NotContains(t, r.body, secretValue, path)
			require.NotContains(t, r.body, "hx-confirm", "questions are pages the server renders")
			// Every input, select and textarea has a label.
			for _, id := range inputIDs.FindAllStringSubmatch(r.body, -1) {
				require.Contains(t, r.body, `for="`+id[1]+`"`, "%s: input %s has no label", path, id[1])
			}
			// No text was left untranslated.
			require.NotRegexp(t, `>\s*(?:history|execution|deadletters|variables|audit|admin|confirm|sessions)\.[a-z_.]+\s*<`, r.body, path)
		}
	}
}

func TestOperatorPagesSignedOut(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	c := newClient(t, srv)
	for _, path := range []string{"/executions", "/dead-letters", "/variables", "/audit", "/admin/users", "/account/tokens"} {
		r := c.get(path)
		require.Equal(t, http.StatusSeeOther, r.StatusCode, path)
		require.True(t, strings.HasPrefix(r.Header.Get("Location"), "/login?next="+url.QueryEscape(path)), r.Header.Get("Location"))
	}
	require.Equal(t, http.StatusFound, c.get("/history").StatusCode, "the placeholder's address leads to the history")
}

package dashboard_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard"
	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/functions/api/apifn"
	"github.com/vecron/vecron/shared/rbac"
)

// createJob creates an http job named name in namespace ns through the API and returns its id.
func createJob(t *testing.T, srv *dashboardtest.Server, token, name, ns string) string {
	t.Helper()
	body, err := json.Marshal(map[string]any{"name": name, "namespace": ns, "schedule": map[string]string{"cron": "0 0 * * * *"},
		"http": map[string]string{"url": "http://example.test/run"}})
	require.NoError(t, err)
	code, b := srv.API(t, token, http.MethodPost, "/api/v1/jobs", string(body))
	require.Equal(t, http.StatusCreated, code, b)
	var j struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(b), &j))
	return j.ID
}

func TestSecurityHeadersAndNoInlineCode(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	c := newClient(t, srv)
	admin := srv.User(t, rbac.RoleAdmin, "")
	createJob(t, srv, srv.Token(t, admin), "nightly", "default")
	for _, path := range []string{"/login", "/jobs"} {
		if path == "/jobs" {
			c.login(admin.Username)
		}
		r := c.get(path)
		require.Equal(t, http.StatusOK, r.StatusCode, r.body)
		csp := r.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
			require.Contains(t, csp, want)
		}
		require.NotContains(t, csp, "unsafe-inline")
		require.NotContains(t, csp, "unsafe-eval")
		require.Equal(t, "nosniff", r.Header.Get("X-Content-Type-Options"))
		require.Equal(t, "DENY", r.Header.Get("X-Frame-Options"))
		require.Equal(t, "no-store", r.Header.Get("Cache-Control"))
		// Everything the CSP would refuse is absent, so nothing breaks under it.
		require.Equal(t, strings.Count(r.body, "<script"), strings.Count(r.body, `<script src="/assets/`), "every script of %s is a file of this site", path)
		require.NotRegexp(t, `<script[^>]*>\s*[^<\s]`, r.body, "inline script on %s", path)
		require.NotRegexp(t, `\sstyle=`, r.body, "inline style on %s", path)
		require.NotRegexp(t, `\son[a-z]+=`, r.body, "inline event handler on %s", path)
		require.NotContains(t, r.body, "<style", path)
		require.Contains(t, html.UnescapeString(r.body), `"allowEval":false`)
		require.Contains(t, html.UnescapeString(r.body), `"includeIndicatorStyles":false`)
	}
}

func TestSessionCookieFlags(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	user := srv.User(t, rbac.RoleViewer, "")
	r := newClient(t, srv).post("/login", url.Values{"username": {user.Username}, "password": {"correct horse battery staple"}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	var session *http.Cookie
	for _, k := range r.Cookies() {
		if k.Name == "vecron_session" {
			session = k
		}
	}
	require.NotNil(t, session)
	require.True(t, session.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, session.SameSite)
	require.Equal(t, "/", session.Path)
	require.False(t, session.Secure, "plain HTTP without dashboard.secure_cookie")
	require.Positive(t, session.MaxAge)

	// Only the token's hash is stored: the cookie is not in the table, its SHA-256 is.
	raw, err := base64.RawURLEncoding.DecodeString(session.Value)
	require.NoError(t, err)
	require.Len(t, raw, 32)
	sum := sha256.Sum256(raw)
	ds, err := srv.Store.DashboardSession(t.Context(), sum[:], time.Now())
	require.NoError(t, err)
	require.Equal(t, user.ID, ds.UserID)
	_, err = srv.Store.DashboardSession(t.Context(), raw, time.Now())
	require.Error(t, err)
}

func TestSecureCookieSetting(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{Settings: func(s *apifn.Settings) { s.Dashboard.SecureCookie = true }})
	user := srv.User(t, rbac.RoleViewer, "")
	r := newClient(t, srv).post("/login", url.Values{"username": {user.Username}, "password": {"correct horse battery staple"}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode)
	require.NotEmpty(t, r.Cookies())
	for _, k := range r.Cookies() {
		require.True(t, k.Secure, k.Name)
	}
}

func TestLoginFailures(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{Settings: func(s *apifn.Settings) { s.Auth.LoginFailures = 2 }})
	admin := srv.User(t, rbac.RoleAdmin, "")
	user := srv.User(t, rbac.RoleViewer, "")
	c := newClient(t, srv)

	r := c.post("/login", url.Values{"username": {""}, "password": {""}})
	require.Equal(t, http.StatusUnprocessableEntity, r.StatusCode)
	require.Contains(t, r.body, `id="username-error"`)
	require.Contains(t, r.body, `id="password-error"`)

	r = c.post("/login", url.Values{"username": {user.Username}, "password": {"wrong"}})
	require.Equal(t, http.StatusUnauthorized, r.StatusCode)
	require.Contains(t, r.body, "Wrong username or password.")
	require.Contains(t, r.body, `value="`+user.Username+`"`, "the username stays in the form")
	require.Empty(t, c.sessionCookie())

	// The failure is in the audit log as the API's own login records it.
	code, b := srv.API(t, srv.Token(t, admin), http.MethodGet, "/api/v1/audit?action=auth.login_failed&object_id="+user.ID, "")
	require.Equal(t, http.StatusOK, code, b)
	require.Contains(t, b, `"auth.login_failed"`)

	c.post("/login", url.Values{"username": {user.Username}, "password": {"wrong again"}})
	r = c.post("/login", url.Values{"username": {user.Username}, "password": {"correct horse battery staple"}})
	require.Equal(t, http.StatusTooManyRequests, r.StatusCode)
	require.NotEmpty(t, r.Header.Get("Retry-After"))
	require.Contains(t, r.body, "Too many failed sign-ins. Try again in")
	require.Empty(t, c.sessionCookie())
}

func TestLoginRecordsAndGoesToNext(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	c := newClient(t, srv)
	for next, want := range map[string]string{"/jobs?q=a": "/jobs?q=a", "//evil.test/x": "/jobs", "https://evil.test": "/jobs", "/\\evil.test": "/jobs"} {
		r := c.post("/login", url.Values{"username": {admin.Username}, "password": {"correct horse battery staple"}, "next": {next}})
		require.Equal(t, http.StatusSeeOther, r.StatusCode)
		require.Equal(t, want, r.Header.Get("Location"), next)
	}
	code, b := srv.API(t, srv.Token(t, admin), http.MethodGet, "/api/v1/audit?action=auth.login&object_id="+admin.ID, "")
	require.Equal(t, http.StatusOK, code, b)
	require.Contains(t, b, `"auth.login"`)
}

func TestSignedOutGoesToLogin(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	c := newClient(t, srv)
	r := c.get("/jobs?state=paused")
	require.Equal(t, http.StatusSeeOther, r.StatusCode)
	require.Equal(t, "/login?next=%2Fjobs%3Fstate%3Dpaused", r.Header.Get("Location"))

	// A forged cookie is no session, and says nothing about one.
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: "vecron_session", Value: base64.RawURLEncoding.EncodeToString(make([]byte, 32))}})
	r = c.get("/jobs", "HX-Request", "true", "HX-Current-URL", srv.URL+"/jobs?q=x")
	require.Equal(t, http.StatusUnauthorized, r.StatusCode)
	require.Equal(t, "/login?expired=1&next=%2Fjobs%3Fq%3Dx", r.Header.Get("HX-Redirect"))
}

func TestSessionExpires(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(time.Now())
	srv := dashboardtest.Start(t, dashboardtest.Options{Clock: clock})
	user := srv.User(t, rbac.RoleViewer, "")
	c := newClient(t, srv)
	c.login(user.Username)
	require.Equal(t, http.StatusOK, c.get("/jobs").StatusCode)

	// Used within the idle timeout, the session lives on past it.
	clock.Advance(dashboard.IdleTimeoutDefault - time.Minute)
	require.Equal(t, http.StatusOK, c.get("/jobs").StatusCode)
	clock.Advance(dashboard.IdleTimeoutDefault - time.Minute)
	require.Equal(t, http.StatusOK, c.get("/jobs").StatusCode)

	clock.Advance(dashboard.IdleTimeoutDefault + time.Second)
	r := c.get("/jobs")
	require.Equal(t, http.StatusSeeOther, r.StatusCode)
	require.Equal(t, "/login?expired=1", r.Header.Get("Location"))
	r = c.get("/login?expired=1")
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Contains(t, r.body, "Your session has ended. Sign in again to continue.")

	r = c.get("/jobs", "HX-Request", "true")
	require.Equal(t, http.StatusUnauthorized, r.StatusCode)
	require.Equal(t, "/login", r.Header.Get("HX-Redirect"), "the expired cookie was deleted")
}

func TestSessionMaxAge(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(time.Now())
	srv := dashboardtest.Start(t, dashboardtest.Options{Clock: clock})
	user := srv.User(t, rbac.RoleViewer, "")
	c := newClient(t, srv)
	c.login(user.Username)
	for elapsed := time.Duration(0); elapsed < dashboard.MaxAgeDefault-dashboard.IdleTimeoutDefault; elapsed += dashboard.IdleTimeoutDefault / 2 {
		require.Equal(t, http.StatusOK, c.get("/jobs").StatusCode, "after %s", elapsed)
		clock.Advance(dashboard.IdleTimeoutDefault / 2)
	}
	clock.Advance(dashboard.IdleTimeoutDefault)
	r := c.get("/jobs")
	require.Equal(t, http.StatusSeeOther, r.StatusCode)
	require.Equal(t, "/login?expired=1", r.Header.Get("Location"))
}

func TestLogout(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	c := newClient(t, srv)
	c.login(admin.Username)
	cookie := c.sessionCookie()
	token := c.csrf("/jobs")

	r := c.post("/logout", url.Values{})
	require.Equal(t, http.StatusForbidden, r.StatusCode, "a logout needs the CSRF token too")
	r = c.post("/logout", url.Values{"csrf": {token}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode)
	require.Equal(t, "/login?signed_out=1", r.Header.Get("Location"))
	require.Empty(t, c.sessionCookie())
	require.Contains(t, c.get("/login?signed_out=1").body, "You have signed out.")

	// The old cookie, replayed, no longer works.
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: "vecron_session", Value: cookie}})
	r = c.get("/jobs")
	require.Equal(t, http.StatusSeeOther, r.StatusCode)
	require.Equal(t, "/login?expired=1", r.Header.Get("Location"))

	code, b := srv.API(t, srv.Token(t, admin), http.MethodGet, "/api/v1/audit?action=auth.logout&object_id="+admin.ID, "")
	require.Equal(t, http.StatusOK, code, b)
	require.Contains(t, b, `"auth.logout"`)
}

func TestDisabledUserIsSignedOut(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	user := srv.User(t, rbac.RoleOperator, "")
	c := newClient(t, srv)
	c.login(user.Username)
	require.Equal(t, http.StatusOK, c.get("/jobs").StatusCode)

	code, b := srv.API(t, srv.Token(t, admin), http.MethodPatch, "/api/v1/users/"+user.ID, `{"disabled":true}`)
	require.Equal(t, http.StatusOK, code, b)
	r := c.get("/jobs")
	require.Equal(t, http.StatusSeeOther, r.StatusCode)
	require.Equal(t, "/login?expired=1", r.Header.Get("Location"))
}

func TestRoleChangeTakesEffect(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	createJob(t, srv, srv.Token(t, admin), "hourly", "default")
	user := srv.User(t, rbac.RoleViewer, "")
	c := newClient(t, srv)
	c.login(user.Username)
	require.NotContains(t, c.get("/jobs").body, "Run now")

	code, b := srv.API(t, srv.Token(t, admin), http.MethodPost, "/api/v1/role-bindings", `{"role":"operator","user_id":"`+user.ID+`","namespace":"default"}`)
	require.Equal(t, http.StatusCreated, code, b)
	require.Contains(t, c.get("/jobs").body, "Run now")
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	id := createJob(t, srv, srv.Token(t, admin), "hourly", "default")
	c := newClient(t, srv)
	c.login(admin.Username)
	token := c.csrf("/jobs")

	for name, tc := range map[string]struct {
		form   url.Values
		header []string
	}{
		"None":         {url.Values{}, nil},
		"Wrong":        {url.Values{"csrf": {token[:len(token)-1] + "x"}}, nil},
		"WrongHeader":  {url.Values{}, []string{"X-CSRF-Token", "nope"}},
		"OtherSession": {url.Values{"csrf": {otherToken(t, srv)}}, nil},
	} {
		r := c.post("/jobs/"+id+"/disable", tc.form, tc.header...)
		require.Equal(t, http.StatusForbidden, r.StatusCode, name)
		require.Contains(t, r.body, "This form has expired or did not come from this site.", name)
	}
	code, b := srv.API(t, srv.Token(t, admin), http.MethodGet, "/api/v1/jobs/"+id, "")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, b, `"enabled":true`, "no refused post changed the job")

	// Without HTMX, a post goes back to the page it came from, on this site only.
	r := c.post("/jobs/"+id+"/disable", url.Values{"csrf": {token}}, "Referer", srv.URL+"/jobs?q=hour")
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	require.Equal(t, "/jobs?q=hour", r.Header.Get("Location"))
	r = c.post("/jobs/"+id+"/run", url.Values{"csrf": {token}}, "Referer", "https://evil.test/jobs?q=hour")
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	require.Equal(t, "/jobs", r.Header.Get("Location"))
	r = c.post("/jobs/"+id+"/enable", url.Values{}, "X-CSRF-Token", token, "HX-Request", "true")
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Contains(t, r.body, `id="job-`+id+`"`)
	require.Contains(t, r.body, "Resumed.")
}

// otherToken returns the CSRF token of another user's session.
func otherToken(t *testing.T, srv *dashboardtest.Server) string {
	t.Helper()
	other := newClient(t, srv)
	other.login(srv.User(t, rbac.RoleAdmin, "").Username)
	return other.csrf("/jobs")
}

func TestCrossOriginPostRefused(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	user := srv.User(t, rbac.RoleViewer, "")
	c := newClient(t, srv)
	form := url.Values{"username": {user.Username}, "password": {"correct horse battery staple"}}
	r := c.post("/login", form, "Sec-Fetch-Site", "cross-site")
	require.Equal(t, http.StatusForbidden, r.StatusCode)
	r = c.post("/login", form, "Origin", "https://evil.test")
	require.Equal(t, http.StatusForbidden, r.StatusCode)
	require.Empty(t, c.sessionCookie())
	r = c.post("/login", form, "Sec-Fetch-Site", "same-origin")
	require.Equal(t, http.StatusSeeOther, r.StatusCode)
}

func TestViewerCannotWrite(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	id := createJob(t, srv, srv.Token(t, admin), "hourly", "default")
	viewer := srv.User(t, rbac.RoleViewer, "")
	c := newClient(t, srv)
	c.login(viewer.Username)
	page := c.get("/jobs").body
	require.Contains(t, page, "hourly")
	for _, s := range []string{"/disable", "/enable", "/run", "Run now", `class="act act-`, "/jobs/new", "/jobs/import"} {
		require.NotContains(t, page, s)
	}
	require.NotContains(t, c.get("/jobs/"+id).body, "/edit", "no edit link for a viewer")
	require.Contains(t, c.get("/jobs").body, "/jobs/export", "a viewer may export what they read")
	token := csrfInput.FindStringSubmatch(page)[1]
	for _, action := range []string{"disable", "run"} {
		r := c.post("/jobs/"+id+"/"+action, url.Values{"csrf": {token}}, "HX-Request", "true")
		require.Equal(t, http.StatusForbidden, r.StatusCode, r.body)
		require.Contains(t, r.body, "You may not do that.")
		require.Contains(t, html.UnescapeString(r.body), "missing permission")
	}
	r := c.post("/jobs/not-a-job/run", url.Values{"csrf": {token}})
	require.Equal(t, http.StatusNotFound, r.StatusCode)
}

func TestJobNamesAreText(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	createJob(t, srv, srv.Token(t, admin), `<img src=x onerror=alert(1)>`, "default")
	c := newClient(t, srv)
	c.login(admin.Username)
	page := c.get("/jobs").body
	require.NotContains(t, page, "<img")
	require.Contains(t, page, "&lt;img src=x onerror=alert(1)&gt;")
}

func TestJobsFiltersAndPages(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	for i := range 55 {
		createJob(t, srv, token, "batch-"+strings.Repeat("x", i%3)+"-"+string(rune('a'+i%26))+string(rune('a'+i/26)), "batch")
	}
	createJob(t, srv, token, "settle payments", "pay")
	c := newClient(t, srv)
	c.login(admin.Username)

	r := c.get("/jobs?q=SETTLE")
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Contains(t, r.body, "settle payments")
	require.NotContains(t, r.body, "batch-")

	r = c.get("/jobs?namespace=batch")
	require.Equal(t, 50, strings.Count(r.body, `class="job-row"`))
	m := regexpNext.FindStringSubmatch(r.body)
	require.NotNil(t, m, "a full page links the next")
	r = c.get(html.UnescapeString(m[1]))
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Equal(t, 5, strings.Count(r.body, `class="job-row"`))
	require.Nil(t, regexpNext.FindStringSubmatch(r.body))
	require.Contains(t, r.body, "First page")

	r = c.get("/jobs?state=nonsense")
	require.Equal(t, http.StatusBadRequest, r.StatusCode)
	require.Contains(t, r.body, "is not a job state")
}

func TestLanguage(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	c := newClient(t, srv)
	require.Contains(t, c.get("/login").body, "Sign in to vecron")
	require.Contains(t, c.get("/login", "Accept-Language", "vi-VN,vi;q=0.9,en;q=0.5").body, "Đăng nhập vào vecron")
	require.Contains(t, c.get("/login", "Accept-Language", "fr-FR").body, "Sign in to vecron")

	r := c.get("/lang?set=vi&next=%2Flogin")
	require.Equal(t, http.StatusSeeOther, r.StatusCode)
	require.Equal(t, "/login", r.Header.Get("Location"))
	page := c.get("/login", "Accept-Language", "en").body
	require.Contains(t, page, "Đăng nhập vào vecron", "the remembered choice wins over Accept-Language")
	require.Contains(t, page, `<html lang="vi">`)

	for _, next := range []string{"//evil.test", "https://evil.test/", "/\\evil.test"} {
		r := c.get("/lang?set=en&next=" + url.QueryEscape(next))
		require.Equal(t, "/jobs", r.Header.Get("Location"), next)
	}
}

func TestUnknownPathsAndAssets(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	c := newClient(t, srv)
	r := c.get("/no/such/page")
	require.Equal(t, http.StatusNotFound, r.StatusCode)
	require.Contains(t, r.body, "There is nothing here.")
	r = c.get("/api/v1/no-such")
	require.Equal(t, http.StatusNotFound, r.StatusCode)
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), "the API answers its own paths")
	require.Equal(t, http.StatusOK, c.get("/healthz").StatusCode)

	r = c.get("/assets/vendor/htmx.min.js")
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Contains(t, r.Header.Get("Content-Type"), "javascript")
	etag := r.Header.Get("ETag")
	require.NotEmpty(t, etag)
	require.Equal(t, http.StatusNotModified, c.get("/assets/vendor/htmx.min.js", "If-None-Match", etag).StatusCode)
	require.Equal(t, http.StatusNotFound, c.get("/assets/dashboard.go").StatusCode)
	require.NotEqual(t, http.StatusOK, c.get("/assets/%2e%2e/dashboard.go").StatusCode)
}

func TestJobPage(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	id := createJob(t, srv, token, "hourly", "default")
	c := newClient(t, srv)
	c.login(admin.Username)
	r := c.get("/jobs/" + id)
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Contains(t, r.body, `<h1 class="job-title">hourly</h1>`)
	require.Contains(t, r.body, "Local time (Asia/Ho_Chi_Minh)")
	fires := html.UnescapeString(r.body[strings.Index(r.body, `<table class="fires">`):])
	require.Equal(t, 10, strings.Count(fires, "<tr><td>"), "the next 10 fires")
	require.Contains(t, fires, ":00:00 +07")
	require.Contains(t, fires, ":00:00 UTC")
	require.Contains(t, html.UnescapeString(r.body), `"id": "`+id+`"`, "the definition as the API answers it")

	// Another namespace's job, or none at all, is a 404 the API decides.
	other := srv.User(t, rbac.RoleViewer, "elsewhere")
	c2 := newClient(t, srv)
	c2.login(other.Username)
	require.Equal(t, http.StatusNotFound, c2.get("/jobs/"+id).StatusCode)
	require.Equal(t, http.StatusNotFound, c.get("/jobs/0193b7c4-0000-7000-8000-000000000000").StatusCode)
	require.Equal(t, http.StatusNotFound, c.get("/jobs/..%2Fusers").StatusCode)
}

// TestSessionCookieIsNoAPICredential: the dashboard's cookie signs nobody in to the API from the
// network; only the dashboard's in-process requests carry the session's identity.
func TestSessionCookieIsNoAPICredential(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	c := newClient(t, srv)
	c.login(admin.Username)
	token := c.csrf("/jobs")
	r := c.get("/api/v1/auth/me", "X-CSRF-Token", token)
	require.Equal(t, http.StatusUnauthorized, r.StatusCode, r.body)
	r = c.do(http.MethodPost, "/api/v1/jobs", nil, "X-CSRF-Token", token, "Content-Type", "application/json")
	require.Equal(t, http.StatusUnauthorized, r.StatusCode, r.body)
}

package dashboard_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard"
	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/functions/api/apifn"
	"github.com/vecron/vecron/shared/api"
	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// sessionCookieOf returns the session cookie r sets (nil for none), of either name.
func sessionCookieOf(r response) *http.Cookie {
	for _, k := range r.Cookies() {
		if strings.HasSuffix(k.Name, "vecron_session") && k.MaxAge > 0 {
			return k
		}
	}
	return nil
}

// TestSessionCookieFollowsPublicURL: where browsers reach the dashboard over HTTPS (an https
// public_url, the case behind an ingress that ends TLS; or dashboard.secure_cookie), the session
// cookie is Secure and __Host- prefixed and every page sends HSTS; over plain HTTP neither. The
// sign-in, the CSRF check and the sign-out work either way, and a cookie of the old name is no
// session there.
func TestSessionCookieFollowsPublicURL(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		settings func(*apifn.Settings)
		secure   bool
	}{
		"None":         {settings: func(*apifn.Settings) {}},
		"PlainHTTP":    {settings: func(s *apifn.Settings) { s.PublicURL = "http://vecron.example.test" }},
		"HTTPS":        {settings: func(s *apifn.Settings) { s.PublicURL = "https://vecron.example.test/" }, secure: true},
		"SecureCookie": {settings: func(s *apifn.Settings) { s.Dashboard.SecureCookie = true }, secure: true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := dashboardtest.Start(t, dashboardtest.Options{Settings: tc.settings})
			admin := srv.User(t, rbac.RoleAdmin, "")
			id := createJob(t, srv, srv.Token(t, admin), "hourly", "default")
			c := newClient(t, srv)
			c.c.Jar = behindTLS{c.c.Jar}
			login := c.get("/login")
			r := c.post("/login", url.Values{"username": {admin.Username}, "password": {testfactory.Password}})
			require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
			k := sessionCookieOf(r)
			require.NotNil(t, k)
			require.True(t, k.HttpOnly)
			require.Equal(t, http.SameSiteLaxMode, k.SameSite)
			require.Equal(t, "/", k.Path)
			require.Empty(t, k.Domain)
			require.Equal(t, tc.secure, k.Secure)
			if tc.secure {
				require.Equal(t, "__Host-vecron_session", k.Name)
			} else {
				require.Equal(t, "vecron_session", k.Name)
			}
			page := c.get("/jobs")
			require.Equal(t, http.StatusOK, page.StatusCode, page.body)
			for _, resp := range []response{login, r, page} {
				if tc.secure {
					require.Equal(t, "max-age=31536000", resp.Header.Get("Strict-Transport-Security"))
				} else {
					require.Empty(t, resp.Header.Get("Strict-Transport-Security"))
				}
			}

			// The CSRF check and the sign-out, with the cookie of this name.
			require.Equal(t, http.StatusForbidden, c.post("/jobs/"+id+"/disable", url.Values{"csrf": {"forged"}}).StatusCode)
			token := c.csrf("/jobs")
			require.Equal(t, http.StatusSeeOther, c.post("/jobs/"+id+"/disable", url.Values{"csrf": {token}}).StatusCode)
			r = c.post("/logout", url.Values{"csrf": {token}})
			require.Equal(t, http.StatusSeeOther, r.StatusCode)
			require.Empty(t, c.sessionCookie())

			if !tc.secure {
				return
			}
			// A cookie of the old name, however valid its token was, is no session behind HTTPS:
			// it could have been planted where a __Host- one cannot. Its holder signs in again.
			other := newClient(t, srv)
			other.c.Jar = behindTLS{other.c.Jar}
			other.login(admin.Username)
			u, err := url.Parse(srv.URL)
			require.NoError(t, err)
			old := newClient(t, srv)
			old.c.Jar = behindTLS{old.c.Jar}
			old.c.Jar.SetCookies(u, []*http.Cookie{{Name: "vecron_session", Value: other.sessionCookie(), Path: "/"}})
			r = old.get("/jobs")
			require.Equal(t, http.StatusSeeOther, r.StatusCode)
			require.Equal(t, "/login?expired=1", r.Header.Get("Location"))
			require.Contains(t, r.Header.Values("Set-Cookie"), "vecron_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax", "the old cookie is deleted")
		})
	}
}

var sessionRowID = regexp.MustCompile(`id="session-([0-9a-f-]{36})" class="session-row"`)

// TestAdminEndsAUsersSessions: an admin sees a user's sessions on their page, and ends one, then
// all, after a question and with the CSRF token; the user's next request, a page or an HTMX
// request, goes to the login page. Nobody else may, whatever they post.
func TestAdminEndsAUsersSessions(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	user := srv.User(t, rbac.RoleOperator, "")
	phone, laptop := newClient(t, srv), newClient(t, srv)
	phone.login(user.Username)
	phoneSession := userSessionIDs(t, srv, user.ID)[0]
	laptop.login(user.Username)

	// An operator (any non-admin) reaches nothing of it, even with a valid CSRF token of theirs.
	mallory := newClient(t, srv)
	mallory.login(srv.User(t, rbac.RoleOperator, "").Username)
	token := mallory.csrf("/jobs")
	for _, path := range []string{"/admin/sessions", "/admin/users/" + user.ID + "/sessions/end"} {
		require.Equal(t, http.StatusForbidden, mallory.get(path).StatusCode, path)
	}
	sessions := userSessionIDs(t, srv, user.ID)
	require.Len(t, sessions, 2)
	for _, path := range []string{"/admin/users/" + user.ID + "/sessions/" + sessions[0] + "/end", "/admin/users/" + user.ID + "/sessions/end",
		"/admin/sessions/" + sessions[0] + "/end"} {
		r := mallory.post(path, url.Values{"csrf": {token}})
		require.Equal(t, http.StatusForbidden, r.StatusCode, path)
	}
	require.Equal(t, http.StatusOK, phone.get("/jobs").StatusCode, "no refused post ended a session")

	c := newClient(t, srv)
	c.login(admin.Username)
	page := c.get("/admin/users/" + user.ID)
	require.Equal(t, http.StatusOK, page.StatusCode, page.body)
	require.ElementsMatch(t, sessions, allMatches(sessionRowID, page.body))
	require.Contains(t, page.body, "Password")
	require.NotContains(t, page.body, phone.sessionCookie(), "no token material on the page")

	end := "/admin/users/" + user.ID + "/sessions/" + phoneSession + "/end"
	q := c.get(end)
	require.Equal(t, http.StatusOK, q.StatusCode, q.body)
	require.Contains(t, q.body, "End this session?")
	require.Equal(t, http.StatusForbidden, c.post(end, url.Values{}).StatusCode, "the CSRF token is required")
	require.Equal(t, http.StatusForbidden, c.post(end, url.Values{"csrf": {token}}).StatusCode, "another session's token is not")
	r := c.post(end, url.Values{"csrf": {c.csrf("/jobs")}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	require.Equal(t, "/admin/users/"+user.ID+"?done=session_ended", r.Header.Get("Location"))
	require.Contains(t, c.get(r.Header.Get("Location")).body, "Session ended.")
	r = phone.get("/jobs?q=x")
	require.Equal(t, http.StatusSeeOther, r.StatusCode)
	require.Equal(t, "/login?expired=1&next=%2Fjobs%3Fq%3Dx", r.Header.Get("Location"))
	require.Equal(t, http.StatusOK, laptop.get("/jobs").StatusCode, "the other session stays")

	// All of them: the HTMX request of the other browser is sent to the login page too.
	require.Contains(t, c.get("/admin/users/"+user.ID+"/sessions/end").body, "End every dashboard session of this user?")
	r = c.post("/admin/users/"+user.ID+"/sessions/end", url.Values{"csrf": {c.csrf("/jobs")}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	require.Contains(t, c.get(r.Header.Get("Location")).body, "Sessions ended.")
	r = laptop.get("/jobs", "HX-Request", "true", "HX-Current-URL", srv.URL+"/jobs")
	require.Equal(t, http.StatusUnauthorized, r.StatusCode)
	require.Equal(t, "/login?expired=1", r.Header.Get("HX-Redirect"))
	require.Equal(t, http.StatusOK, c.get("/jobs").StatusCode, "the admin's own session stays")
	require.Contains(t, c.get("/admin/users/"+user.ID).body, "No active sessions.")

	code, b := srv.API(t, srv.Token(t, admin), http.MethodGet, "/api/v1/audit?action=session.end&object_id="+user.ID, "")
	require.Equal(t, http.StatusOK, code, b)
	require.Equal(t, 2, strings.Count(b, `"action":"session.end"`), b)
}

func allMatches(re *regexp.Regexp, s string) []string {
	var out []string
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// userSessionIDs lists the sessions of user id through the API, as an admin.
func userSessionIDs(t *testing.T, srv *dashboardtest.Server, id string) []string {
	t.Helper()
	code, b := srv.API(t, testfactory.AdminToken(t, srv.Store), http.MethodGet, "/api/v1/sessions?user_id="+id, "")
	require.Equal(t, http.StatusOK, code, b)
	return allMatches(regexp.MustCompile(`"id":"([0-9a-f-]{36})"`), b)
}

// TestOwnSessions: a user sees where they are signed in, this browser marked, and ends another
// browser's session, or this one's, which signs them out.
func TestOwnSessions(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	user := srv.User(t, rbac.RoleViewer, "")
	here, there := newClient(t, srv), newClient(t, srv)
	here.login(user.Username)
	mine := userSessionIDs(t, srv, user.ID)[0]
	there.login(user.Username)
	stranger := newClient(t, srv)
	stranger.login(srv.User(t, rbac.RoleViewer, "").Username)

	page := here.get("/account/sessions")
	require.Equal(t, http.StatusOK, page.StatusCode, page.body)
	ids := allMatches(sessionRowID, page.body)
	require.Len(t, ids, 2)
	require.Equal(t, 1, strings.Count(page.body, "This browser"))
	row := page.body[strings.Index(page.body, `id="session-`+mine+`"`):]
	require.Contains(t, row[:strings.Index(row, "</tr>")], "This browser", "this browser's session is marked")
	theirs := ids[0]
	if theirs == mine {
		theirs = ids[1]
	}

	// A stranger ending it by its id: not found, and nothing ends.
	r := stranger.post("/account/sessions/"+theirs+"/end", url.Values{"csrf": {stranger.csrf("/jobs")}})
	require.Equal(t, http.StatusNotFound, r.StatusCode, r.body)
	require.Equal(t, http.StatusNotFound, stranger.get("/account/sessions/"+theirs+"/end").StatusCode)
	require.Equal(t, http.StatusOK, there.get("/jobs").StatusCode)

	require.Contains(t, here.get("/account/sessions/"+theirs+"/end").body, "End this session?")
	r = here.post("/account/sessions/"+theirs+"/end", url.Values{"csrf": {here.csrf("/jobs")}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	require.Equal(t, "/account/sessions?done=session_ended", r.Header.Get("Location"))
	require.Equal(t, http.StatusSeeOther, there.get("/jobs").StatusCode)

	require.Contains(t, here.get("/account/sessions/"+mine+"/end").body, "you will be signed out")
	r = here.post("/account/sessions/"+mine+"/end", url.Values{"csrf": {here.csrf("/jobs")}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	require.Equal(t, "/login?signed_out=1", r.Header.Get("Location"))
	require.Empty(t, here.sessionCookie())
}

// TestEndedSessionEndsItsLiveStream: a page's open live connection whose session an admin ends
// closes, saying so, at its next check.
func TestEndedSessionEndsItsLiveStream(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{Settings: func(s *apifn.Settings) {
		s.Dashboard.LiveRecheck = 100 * time.Millisecond
	}})
	admin := srv.User(t, rbac.RoleAdmin, "")
	adminToken := srv.Token(t, admin)
	j := liveJob(t, srv, adminToken, "watched", "default")
	user := srv.User(t, rbac.RoleViewer, "")
	c := newClient(t, srv)
	c.login(user.Username)
	w := watchLive(t, c, "/live?job="+j.ID, "Referer", srv.URL+"/jobs/"+j.ID)
	w.next()

	ids := userSessionIDs(t, srv, user.ID)
	require.Len(t, ids, 1)
	code, b := srv.API(t, adminToken, http.MethodDelete, "/api/v1/sessions/"+ids[0], "")
	require.Equal(t, http.StatusOK, code, b)
	got := w.until("the end of the live updates", func(f liveFrame) bool { return f.event == "live-end" })
	require.Contains(t, got[len(got)-1].data, "your session has ended")
	_, open := w.next()
	require.False(t, open, "the stream ended")
}

// oidcUI serves the API and a dashboard whose identity provider's flow signs user in at once,
// on clock.
func oidcUI(t *testing.T, clock clockwork.Clock, user *auth.OIDCIdentity) *dashboardtest.Server {
	t.Helper()
	st, _ := testfactory.Store(t)
	ident := testfactory.Identity(t, st, testfactory.AuthConfig(t), clock.Now)
	h := api.New(api.Deps{Jobs: jobs.New(st, clock.Now), Store: st, Identity: ident}, clock.Now, testenv.Logger(t))
	ui, err := dashboard.New(dashboard.Deps{API: h, Identity: ident, Sessions: st, Now: clock.Now, Log: testenv.Logger(t),
		OIDC: fakeFlow{user}}, dashboard.Config{})
	require.NoError(t, err)
	srv := httptest.NewServer(apifn.Handler(h, ui))
	t.Cleanup(srv.Close)
	return &dashboardtest.Server{URL: srv.URL, Store: st, Clock: clock}
}

// TestProviderSessions: an admin lists the sessions of the identity provider's users, who are no
// rows of users, and ends every one of a subject after a question; a subject that cannot be one
// is refused with the field named. The identity provider's user's own page lists theirs.
func TestProviderSessions(t *testing.T) {
	t.Parallel()
	sub := "sub-" + uuid.NewString()[:8]
	srv := oidcUI(t, clockwork.NewRealClock(), &auth.OIDCIdentity{Subject: sub, Username: "lan.tran", Roles: []string{"ops"},
		ExpiresAt: time.Now().Add(time.Hour)})
	browser := newClient(t, srv)
	require.Equal(t, http.StatusSeeOther, browser.get("/auth/oidc/start").StatusCode)
	require.Equal(t, http.StatusOK, browser.get("/account/sessions").StatusCode)
	require.Contains(t, browser.get("/account/sessions").body, "Identity provider")

	admin := srv.User(t, rbac.RoleAdmin, "")
	c := newClient(t, srv)
	c.login(admin.Username)
	page := c.get("/admin/sessions")
	require.Equal(t, http.StatusOK, page.StatusCode, page.body)
	require.Contains(t, page.body, "<code>"+sub+"</code>")
	require.Contains(t, page.body, "lan.tran")
	require.Contains(t, page.body, "ops")
	require.NotContains(t, page.body, browser.sessionCookie())

	r := c.get("/admin/sessions/end?subject=" + url.QueryEscape("bad\x01subject"))
	require.Equal(t, http.StatusUnprocessableEntity, r.StatusCode)
	require.Regexp(t, `id="subject-err">Enter a subject`, r.body)
	r = c.post("/admin/sessions/end", url.Values{"csrf": {c.csrf("/jobs")}, "subject": {strings.Repeat("s", 256)}})
	require.Equal(t, http.StatusUnprocessableEntity, r.StatusCode)

	q := c.get("/admin/sessions/end?subject=" + url.QueryEscape(sub))
	require.Equal(t, http.StatusOK, q.StatusCode, q.body)
	require.Contains(t, q.body, "End every dashboard session of this user of the identity provider?")
	action := regexp.MustCompile(`<form method="post" action="([^"]+)" class="confirm-form"`).FindStringSubmatch(q.body)
	require.NotNil(t, action)
	r = c.post(strings.ReplaceAll(action[1], "&amp;", "&"), url.Values{"csrf": {c.csrf("/jobs")}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	require.Equal(t, "/admin/sessions?done=sessions_ended", r.Header.Get("Location"))
	r = browser.get("/jobs")
	require.Equal(t, http.StatusSeeOther, r.StatusCode)
	require.Equal(t, "/login?expired=1", r.Header.Get("Location"))
	require.Contains(t, c.get("/admin/sessions").body, "No active sessions.")
	require.Len(t, auditOf(t, srv.Store, "session.end", "oidc:"+sub), 1)
}

// TestProviderSessionEndsWithItsIdentity: a sign-in through the identity provider that left no
// refresh token holds as long as its ID token (at least dashboard.oidc_identity_min), however
// active; then it ends, the reason in the audit log.
func TestProviderSessionEndsWithItsIdentity(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(time.Now())
	sub := "sub-" + uuid.NewString()[:8]
	srv := oidcUI(t, clock, &auth.OIDCIdentity{Subject: sub, Username: "lan.tran", Roles: []string{"ops"},
		ExpiresAt: clock.Now().Add(time.Minute)})
	browser := newClient(t, srv)
	require.Equal(t, http.StatusSeeOther, browser.get("/auth/oidc/start").StatusCode)
	for range 4 {
		require.Equal(t, http.StatusForbidden, browser.get("/jobs").StatusCode, "signed in (the group may not list jobs)")
		clock.Advance(dashboard.OIDCIdentityMinDefault/4 - time.Second)
	}
	clock.Advance(5 * time.Second)
	r := browser.get("/jobs")
	require.Equal(t, http.StatusSeeOther, r.StatusCode)
	require.Equal(t, "/login?expired=1", r.Header.Get("Location"))
	rows := auditOf(t, srv.Store, "auth.session_expired", "oidc:"+sub)
	require.Len(t, rows, 1)
	require.Contains(t, string(rows[0].After), "gave no refresh token")
	require.Equal(t, "lan.tran", rows[0].ActorName)
}

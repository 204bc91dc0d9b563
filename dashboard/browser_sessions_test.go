package dashboard_test

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

// TestBrowserEndSessionOnAPhone: on a phone, by keyboard, an admin ends a user's session from
// the user's page; the user's next page is the login page.
func TestBrowserEndSessionOnAPhone(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	user := srv.User(t, rbac.RoleViewer, "")
	c := newClient(t, srv)
	c.login(user.Username)
	b := dashboardtest.NewBrowser(t, 390, 844)
	b.SignIn(srv.URL, admin.Username, testfactory.Password)

	b.Do(chromedp.Navigate(srv.URL + "/admin/users/" + user.ID))
	b.WaitForText("#sessions-h", "Dashboard sessions")
	require.Equal(t, 1, dashboardtest.Eval[int](b, `document.querySelectorAll("tr.session-row").length`))
	require.LessOrEqual(t, dashboardtest.Eval[int](b, `document.documentElement.scrollWidth`), 390)
	b.Do(chromedp.Focus(chromedp.CSS("tr.session-row .act-end-session")), chromedp.KeyEvent(kb.Enter))
	b.WaitForText("main h1", "End this session?")
	require.Equal(t, http.StatusOK, c.get("/jobs").StatusCode, "nothing ends before the answer")
	b.Do(chromedp.Focus(chromedp.CSS(".confirm-yes")), chromedp.KeyEvent(kb.Enter))
	b.WaitForText("main .notice", "Session ended.")
	require.Zero(t, dashboardtest.Eval[int](b, `document.querySelectorAll("tr.session-row").length`))
	r := c.get("/jobs")
	require.Equal(t, http.StatusSeeOther, r.StatusCode)
	require.Equal(t, "/login?expired=1", r.Header.Get("Location"))
	b.Clean()
}

package dashboard_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

// TestBrowserWebhookPage: at a phone's width, by keyboard, under the CSP: the webhook is
// enabled from its page and its secret and curl example shown without scrolling the page
// sideways.
func TestBrowserWebhookPage(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	id := createJob(t, srv, srv.Token(t, admin), "hooked", "default")

	br := dashboardtest.NewBrowser(t, 390, 844)
	br.SignIn(srv.URL, admin.Username, testfactory.Password)
	br.Do(chromedp.Navigate(srv.URL + "/jobs/" + id))
	br.Do(chromedp.Focus(chromedp.CSS("#webhook-link")), chromedp.KeyEvent(kb.Enter))
	br.WaitFor("the webhook page", `document.querySelector("#hook-none") !== null`)
	br.Do(chromedp.Focus(chromedp.CSS("#hook-enable")), chromedp.KeyEvent(kb.Enter))
	br.WaitFor("the secret", `document.querySelector("#hook-secret") !== null`)
	require.Contains(t, dashboardtest.Eval[string](br, `document.querySelector("#hook-secret").value`), "whsec_")
	require.Contains(t, dashboardtest.Eval[string](br, `document.querySelector("#hook-curl").textContent`), "X-Vecron-Signature")
	require.Contains(t, dashboardtest.Eval[string](br, `document.querySelector("label[for=hook-secret]").textContent`), "Signing secret")
	require.Contains(t, dashboardtest.Eval[string](br, `document.querySelector("#hook-state").textContent`), "Enabled")
	require.LessOrEqual(t, dashboardtest.Eval[int](br, `document.documentElement.scrollWidth`), 390, "nothing scrolls sideways at 390 px")
	br.Clean()

	code, b := srv.API(t, srv.Token(t, admin), http.MethodGet, "/api/v1/jobs/"+id+"/webhook", "")
	require.Equal(t, http.StatusOK, code, b)
	var h struct{ Enabled bool }
	require.NoError(t, json.Unmarshal([]byte(b), &h))
	require.True(t, h.Enabled)
}

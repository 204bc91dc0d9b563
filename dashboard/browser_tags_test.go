package dashboard_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

// TestBrowserTagsOnAPhone: at 390 px a job's tags wrap inside its card; a tag is reached and
// followed by keyboard; typing in the tag filter narrows the list as the other filters do.
func TestBrowserTagsOnAPhone(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	long := "team:payments/settlement-and-reconciliation-of-card-schemes-vn"
	settle := createTagged(t, srv, token, "settle payments", "pay", long, "env/prod", "critical", "region:hcm", "owner:ops-oncall")
	other := createTagged(t, srv, token, "monthly report", "reports", "env/prod")
	b := dashboardtest.NewBrowser(t, 390, 844)
	b.SignIn(srv.URL, admin.Username, testfactory.Password)

	b.WaitFor("both rows", `document.querySelectorAll(".job-row").length === 2`)
	require.LessOrEqual(t, dashboardtest.Eval[int](b, `document.documentElement.scrollWidth`), 390, "nothing scrolls sideways")
	require.Equal(t, 6, dashboardtest.Eval[int](b, `document.querySelectorAll("#job-`+settle+` .tag, #job-`+other+` .tag").length`))

	// By keyboard: focus the tag, press Enter, land on the jobs that have it.
	b.Do(chromedp.Focus(chromedp.CSS(`#job-`+settle+` a.tag[href*="critical"]`)), chromedp.KeyEvent(kb.Enter))
	b.WaitFor("the jobs tagged critical", `location.search === "?tag=critical" && document.querySelectorAll(".job-row").length === 1`)
	require.Equal(t, "critical", dashboardtest.Eval[string](b, `document.querySelector("#tag").value`))

	// The filter input narrows as typed, without a page load.
	require.Empty(t, dashboardtest.Eval[string](b, `(e => (e.value = "", e.value))(document.querySelector("#tag"))`))
	b.Do(chromedp.SendKeys(chromedp.CSS("#tag"), "env/prod"))
	b.WaitFor("both jobs tagged env/prod", `new URLSearchParams(location.search).get("tag") === "env/prod" && document.querySelectorAll(".job-row").length === 2`)
	b.Do(chromedp.SendKeys(chromedp.CSS("#tag"), " Nope"))
	b.WaitForText("#err-tag", "must be lowercase")
	b.Clean()
}

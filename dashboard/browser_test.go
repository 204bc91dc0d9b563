package dashboard_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// Browser tests drive Debian's chromium through the pages as a person would: the HTMX requests,
// the CSP and the cookies are the browser's own. Each waits for the page to change, within
// dashboardtest.BrowserWait, and ends requiring that the page met no CSP violation.

func TestBrowserSignInSeesJobs(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	id := createJob(t, srv, srv.Token(t, admin), "settle payments", "pay")
	b := dashboardtest.NewBrowser(t, 1280, 800)
	b.SignIn(srv.URL, admin.Username, testfactory.Password)
	b.WaitForText("#job-"+id+" .job-name", "settle payments")
	require.Equal(t, "pay", dashboardtest.Eval[string](b, `document.querySelector("#job-`+id+` td").textContent.trim()`))
	require.Contains(t, dashboardtest.Eval[string](b, `document.querySelector(".who").textContent`), admin.Username)
	b.Clean()
}

func TestBrowserPauseAndRunNow(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	id := createJob(t, srv, token, "hourly report", "default")
	b := dashboardtest.NewBrowser(t, 1280, 800)
	b.SignIn(srv.URL, admin.Username, testfactory.Password)

	// HTMX posts with the CSRF header and swaps the row alone.
	b.Do(chromedp.Click(chromedp.CSS("#job-" + id + " .act-pause")))
	b.WaitForText("#job-"+id+" .row-msg", "Paused.")
	b.WaitFor("the resume button", `document.querySelector("#job-`+id+` .act-resume") !== null`)
	// HTMX wires the buttons of a swapped row when it settles; a click before that would post
	// the form without HTMX (which works, and reloads the page).
	b.WaitSettled("#job-" + id)
	code, body := srv.API(t, token, http.MethodGet, "/api/v1/jobs/"+id, "")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `"enabled":false`)

	// The live stream swaps the row in again when the pause's own event arrives, which under load
	// can be after the wait above: a click then lands on a row no longer in the page and posts
	// nothing. So the click is repeated until the run is queued (a second run is harmless here).
	queued := `Array.from(document.querySelectorAll("#job-` + id + ` .row-msg")).some(e => e.textContent.includes("Run queued."))`
	for try := 0; ; try++ {
		b.WaitSettled("#job-" + id)
		b.Do(chromedp.Click(chromedp.CSS("#job-" + id + " .act-run")))
		deadline := time.Now().Add(testenv.Timeout(10 * time.Second))
		for !dashboardtest.Eval[bool](b, queued) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if dashboardtest.Eval[bool](b, queued) {
			break
		}
		require.Less(t, try, 5, "the run was never queued")
	}
	code, body = srv.API(t, token, http.MethodGet, "/api/v1/executions?job_id="+id, "")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `"trigger":"manual"`)
	require.Equal(t, "/jobs", dashboardtest.Eval[string](b, `location.pathname`), "the page stayed; only the row changed")
	b.Clean()
}

func TestBrowserJobNameIsText(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	const name = `<img src=x onerror=alert(1)>`
	id := createJob(t, srv, srv.Token(t, admin), name, "default")
	b := dashboardtest.NewBrowser(t, 1280, 800)
	b.SignIn(srv.URL, admin.Username, testfactory.Password)
	b.WaitForText("#job-"+id+" .job-name", name)
	require.Equal(t, name, dashboardtest.Eval[string](b, `document.querySelector("#job-`+id+` .job-name").textContent`))
	require.Zero(t, dashboardtest.Eval[int](b, `document.querySelectorAll("main img").length`), "the name made no element")
	b.Do(chromedp.Navigate(srv.URL + "/jobs/" + id))
	b.WaitForText("h1.job-title", name)
	require.Zero(t, dashboardtest.Eval[int](b, `document.querySelectorAll("main img").length`))
	b.Clean()
}

func TestBrowserViewer(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	id := createJob(t, srv, token, "read only", "default")
	viewer := srv.User(t, rbac.RoleViewer, "")
	b := dashboardtest.NewBrowser(t, 1280, 800)
	b.SignIn(srv.URL, viewer.Username, testfactory.Password)
	b.WaitForText("#job-"+id+" .job-name", "read only")
	require.Zero(t, dashboardtest.Eval[int](b, `document.querySelectorAll("#job-`+id+` button, #job-`+id+` form").length`), "no write buttons")
	require.Zero(t, dashboardtest.Eval[int](b, `document.querySelectorAll('a[href="/admin"]').length`), "no admin link")

	// A forged write with the page's own valid CSRF token: the API's permission check refuses it.
	status := dashboardtest.Eval[int](b, `(async () => {
		const token = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"];
		const r = await fetch("/jobs/`+id+`/disable", {method: "POST", headers: {"X-CSRF-Token": token, "HX-Request": "true"}});
		return r.status;
	})()`)
	require.Equal(t, http.StatusForbidden, status)
	code, body := srv.API(t, token, http.MethodGet, "/api/v1/jobs/"+id, "")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `"enabled":true`)
	b.Clean()
}

func TestBrowserFormWithoutCSRFToken(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	id := createJob(t, srv, token, "guarded", "default")
	b := dashboardtest.NewBrowser(t, 1280, 800)
	b.SignIn(srv.URL, admin.Username, testfactory.Password)
	b.WaitForText("#job-"+id+" .job-name", "guarded")
	// A plain form post (no HTMX) of the pause form, its token taken out.
	b.Do(chromedp.Evaluate[chromedp.Void](`(() => {
		const f = document.querySelector("#job-` + id + ` form[action$='/disable']");
		f.querySelector("input[name=csrf]").remove();
		f.submit();
	})()`))
	b.WaitForText("main h1", "This form has expired or did not come from this site.")
	code, body := srv.API(t, token, http.MethodGet, "/api/v1/jobs/"+id, "")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `"enabled":true`)
	b.Clean()
}

func TestBrowserVietnamese(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	id := createJob(t, srv, srv.Token(t, admin), "báo cáo", "default")
	b := dashboardtest.NewBrowser(t, 1280, 800)
	b.SignIn(srv.URL, admin.Username, testfactory.Password)
	b.Do(chromedp.Click(chromedp.CSS(`.langs a[lang="vi"]`)))
	b.WaitForText("main h1", "Tác vụ")
	b.WaitForText("#job-"+id+" .act-run", "Chạy ngay")
	require.Equal(t, "vi", dashboardtest.Eval[string](b, `document.documentElement.lang`))
	// Remembered: a new page is in Vietnamese too.
	b.Do(chromedp.Navigate(srv.URL + "/jobs/" + id))
	b.WaitForText("main h2", "Định nghĩa")
	b.Clean()
}

func TestBrowserPhoneWidth(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	id := createJob(t, srv, srv.Token(t, admin), "a job with a rather long name that must wrap on a phone", "default")
	b := dashboardtest.NewBrowser(t, 390, 844)
	b.SignIn(srv.URL, admin.Username, testfactory.Password)
	b.WaitForText("#job-"+id+" .job-name", "rather long name")
	width := dashboardtest.Eval[int](b, `document.documentElement.scrollWidth`)
	require.LessOrEqual(t, width, 390, "nothing scrolls sideways at 390 px")
	label := dashboardtest.Eval[string](b, `getComputedStyle(document.querySelector("#job-`+id+` td"), "::before").content`)
	require.True(t, strings.Contains(label, "Namespace"), "each cell is labelled on a phone: %s", label)
	b.Clean()
}

func TestBrowserSearchUpdatesTheList(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	settle := createJob(t, srv, token, "settle payments", "pay")
	nightly := createJob(t, srv, token, "nightly report", "reports")
	b := dashboardtest.NewBrowser(t, 1280, 800)
	b.SignIn(srv.URL, admin.Username, testfactory.Password)
	b.WaitForText("#job-"+nightly+" .job-name", "nightly report")
	// Typing filters the list in place, and the address follows (back and reload keep it).
	b.Do(chromedp.SendKeys(chromedp.CSS("#q"), "SETTLE"))
	b.WaitFor("the list without the nightly report", `document.querySelector("#job-`+nightly+`") === null`)
	b.WaitForText("#job-"+settle+" .job-name", "settle payments")
	b.WaitFor("the search in the address", `new URLSearchParams(location.search).get("q") === "SETTLE"`)
	require.Equal(t, "SETTLE", dashboardtest.Eval[string](b, `document.querySelector("#q").value`), "the input kept what was typed")
	b.Clean()
}

func TestBrowserShowsTheAPIsRefusal(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	id := createJob(t, srv, token, "hourly", "default")
	operator := srv.User(t, rbac.RoleOperator, "default")
	b := dashboardtest.NewBrowser(t, 1280, 800)
	b.SignIn(srv.URL, operator.Username, testfactory.Password)
	b.WaitForText("#job-"+id+" .act-run", "Run now")

	// The operator's role goes while the page is open: the button is still there, the API
	// refuses, and the page says so in its alert region.
	code, body := srv.API(t, token, http.MethodGet, "/api/v1/role-bindings?user_id="+operator.ID, "")
	require.Equal(t, http.StatusOK, code, body)
	var bindings struct{ Items []struct{ ID string } }
	require.NoError(t, json.Unmarshal([]byte(body), &bindings))
	require.Len(t, bindings.Items, 1)
	code, body = srv.API(t, token, http.MethodDelete, "/api/v1/role-bindings/"+bindings.Items[0].ID, "")
	require.Equal(t, http.StatusNoContent, code, body)

	b.Do(chromedp.Click(chromedp.CSS("#job-" + id + " .act-run")))
	b.WaitForText("#flash [role=alert]", "You may not do that.")
	require.Equal(t, "/jobs", dashboardtest.Eval[string](b, `location.pathname`))
	b.Clean()
}

package dashboard_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

func TestBrowserHistoryByStatus(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	j := testfactory.Job(t, srv.Store, testfactory.JobOpts{Name: "nightly"})
	now := time.Now().UTC().Truncate(time.Second)
	ok := testfactory.Outcome(t, srv.Store, j, domain.StatusSucceeded, now.Add(-2*time.Hour), time.Second)
	bad := testfactory.Outcome(t, srv.Store, j, domain.StatusFailed, now.Add(-time.Hour), time.Second)
	b := dashboardtest.NewBrowser(t, 1280, 800)
	b.SignIn(srv.URL, admin.Username, testfactory.Password)

	b.Do(chromedp.Click(chromedp.CSS(`.nav a[href="/executions"]`)))
	b.WaitFor("both executions", `document.querySelectorAll(".exec-row").length === 2`)
	// Keyboard and form as a person uses them: choose the status, submit.
	b.Do(chromedp.SetValue(chromedp.CSS("#status"), "failed"), chromedp.Submit(chromedp.CSS("#status")))
	b.WaitFor("the failed execution alone", `location.search.includes("status=failed") && document.querySelectorAll(".exec-row").length === 1`)
	require.Equal(t, 1, dashboardtest.Eval[int](b, `document.querySelectorAll("#exec-`+bad.ID+`").length`))
	require.Zero(t, dashboardtest.Eval[int](b, `document.querySelectorAll("#exec-`+ok.ID+`").length`))
	require.Contains(t, dashboardtest.Eval[string](b, `document.querySelector("#exec-`+bad.ID+` .outcome").textContent`), "Failed",
		"the status is written, not only coloured")

	// At a phone's width nothing scrolls sideways and each cell says what it is.
	b.Do(chromedp.EmulateViewport(390, 844))
	b.WaitFor("the phone layout", `document.documentElement.scrollWidth <= 390`)
	label := dashboardtest.Eval[string](b, `getComputedStyle(document.querySelector("#exec-`+bad.ID+` td"), "::before").content`)
	require.Contains(t, label, "Scheduled")
	b.Clean()
}

func TestBrowserExecutionAttempts(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	j := testfactory.Job(t, srv.Store, testfactory.JobOpts{Name: hostile})
	e := failedTwice(t, srv.Store, j, time.Now().UTC().Add(-time.Hour).Truncate(time.Second), "target answered 500")
	b := dashboardtest.NewBrowser(t, 1280, 800)
	b.SignIn(srv.URL, admin.Username, testfactory.Password)
	b.Do(chromedp.Navigate(srv.URL + "/executions"))
	b.WaitForText("#exec-"+e.ID+" .exec-link", hostile)
	b.Do(chromedp.Click(chromedp.CSS("#exec-" + e.ID + " .exec-link")))
	b.WaitFor("the two attempts", `document.querySelectorAll("tr.attempt").length === 2`)
	require.Equal(t, "500", dashboardtest.Eval[string](b, `document.querySelector("tr.attempt td:nth-of-type(2)").textContent.trim()`))
	require.Contains(t, dashboardtest.Eval[string](b, `document.querySelector("tr.attempt .attempt-error").textContent`), "target answered 500")
	require.Equal(t, hostile, dashboardtest.Eval[string](b, `document.querySelector(".exec-title a").textContent`))
	require.Zero(t, dashboardtest.Eval[int](b, `document.querySelectorAll("main img").length`), "the name made no element")
	b.Clean()
}

func TestBrowserReplayDeadLetter(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	j := testfactory.Job(t, srv.Store, testfactory.JobOpts{Name: "payout"})
	dead := testfactory.DeadLetter(t, srv.Store, j)
	b := dashboardtest.NewBrowser(t, 1280, 800)
	b.SignIn(srv.URL, admin.Username, testfactory.Password)

	b.Do(chromedp.Click(chromedp.CSS(`.nav a[href="/dead-letters"]`)))
	b.WaitForText("#dl-"+dead.ID+" .exec-link", "payout")
	b.Do(chromedp.Click(chromedp.CSS("#dl-" + dead.ID + " .act-replay")))
	// The server asks; nothing is replayed before the answer.
	b.WaitForText("main h1", "Run this dead letter again?")
	code, body := srv.API(t, token, http.MethodGet, "/api/v1/dead-letters?job_id="+j.ID, "")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, dead.ID, "still pending")
	// By keyboard: the answer is a plain button.
	b.Do(chromedp.Focus(chromedp.CSS(".confirm-yes")), chromedp.KeyEvent(kb.Enter))
	b.WaitForText("main .notice", "Replayed: a new run is queued.")
	require.Equal(t, "/executions/"+dead.ID, dashboardtest.Eval[string](b, `location.pathname`))
	b.WaitForText("#dl-state", "Replayed")

	// Once a worker records the replay, the dead letter links it.
	run := recordReplay(t, srv, token, dead)
	b.Do(chromedp.Reload())
	b.WaitForText("#replay-run", "The run that replays it")
	b.Do(chromedp.Click(chromedp.CSS("#replay-run")))
	b.WaitFor("the replay's page", `location.pathname === "/executions/`+run.ID+`"`)
	b.WaitForText("main dl", "Replay")
	b.Clean()
}

func TestBrowserOperatorPagesOnAPhone(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	pages := operatorPages(t, srv, admin)
	b := dashboardtest.NewBrowser(t, 390, 844)
	b.SignIn(srv.URL, admin.Username, testfactory.Password)
	for _, path := range pages {
		b.Do(chromedp.Navigate(srv.URL + path))
		b.WaitFor(path+" to load", `document.readyState === "complete" && document.querySelector("main h1") !== null`)
		width := dashboardtest.Eval[int](b, `document.documentElement.scrollWidth`)
		require.LessOrEqual(t, width, 390, "nothing scrolls sideways at 390 px on %s", path)
		require.Zero(t, dashboardtest.Eval[int](b, `document.querySelectorAll("main img, main script").length`), path)
		b.Clean()
	}
}

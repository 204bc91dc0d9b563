package dashboard_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/functions/api/apifn"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/humanize"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// Browser tests of the live updates: the tick and the http executor run beside the server, so
// the executions a page shows are real ones, published as the executors publish them.

// createJobCalling creates an http job named name on the schedule cron that calls url, and
// returns its id.
func createJobCalling(t *testing.T, srv *dashboardtest.Server, token, name, cron, url string) string {
	t.Helper()
	body, err := json.Marshal(map[string]any{"name": name, "namespace": "default", "schedule": map[string]string{"cron": cron},
		"http": map[string]string{"url": url}})
	require.NoError(t, err)
	code, b := srv.API(t, token, http.MethodPost, "/api/v1/jobs", string(body))
	require.Equal(t, http.StatusCreated, code, b)
	var j struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(b), &j))
	return j.ID
}

// markPage marks the page the browser shows: the mark is gone if the page is loaded again.
func markPage(b *dashboardtest.Browser) {
	b.Do(chromedp.Evaluate[chromedp.Void](`window.__livePage = true`))
}

// requireSamePage requires that the page marked is still the one shown: it changed in place.
func requireSamePage(t *testing.T, b *dashboardtest.Browser) {
	t.Helper()
	require.True(t, dashboardtest.Eval[bool](b, `window.__livePage === true`), "the page was not loaded again")
}

// timelineItems is an expression: how many executions the job page's timeline shows.
const timelineItems = `document.querySelectorAll("#timeline li.tl-item a[href^='/executions/']").length`

func TestBrowserLiveTimelineAndRows(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	target := srv.StartWorkers(t)
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	every := createJobCalling(t, srv, token, "every second", "* * * * * *", target)
	byHand := createJobCalling(t, srv, token, "by hand", "0 0 0 1 1 ? 2099", target)
	b := dashboardtest.NewBrowser(t, 1280, 800)
	b.SignIn(srv.URL, admin.Username, testfactory.Password)

	// The job page: its first executions appear in the timeline, newest first, as they run.
	b.Do(chromedp.Navigate(srv.URL + "/jobs/" + every))
	b.WaitFor("the job page", `document.querySelector("#timeline") !== null`)
	markPage(b)
	before := dashboardtest.Eval[int](b, timelineItems)
	b.WaitFor("two more executions in the timeline", timelineItems+` >= `+strconv.Itoa(before+2))
	requireSamePage(t, b)
	// Each run in words beside its icon, never by colour alone: running, then succeeded.
	b.WaitForText("#timeline li.tl-item .outcome", "✓ Succeeded")
	b.WaitForText("#timeline li.tl-item", "scheduled")
	b.Clean()

	// The jobs list: the busy job's row shows newer results as they come, and a run by hand
	// shows its result while the row keeps saying what the button did.
	b.Do(chromedp.Navigate(srv.URL + "/jobs"))
	b.WaitForText("#job-"+byHand+" .job-name", "by hand")
	b.WaitFor("the busy job's last result", `document.querySelector("#job-`+every+` .last-when") !== null`)
	markPage(b)
	last := dashboardtest.Eval[string](b, `document.querySelector("#job-`+every+` .last-when").dataset.at`)
	b.WaitFor("a newer result in the busy job's row", `document.querySelector("#job-`+every+` .last-when").dataset.at !== `+strconv.Quote(last))
	b.WaitSettled("#job-" + byHand)
	b.Do(chromedp.Click(chromedp.CSS("#job-" + byHand + " .act-run")))
	b.WaitForText("#job-"+byHand+" .row-msg", "Run queued.")
	b.WaitForText("#job-"+byHand+" .outcome", "Succeeded")
	require.Equal(t, "Run queued.", dashboardtest.Eval[string](b, `document.querySelector("#job-`+byHand+` .row-msg").textContent`))
	requireSamePage(t, b)
	b.Clean()
}

func TestBrowserLiveResumesAfterTheServerDropsIt(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	target := srv.StartWorkers(t)
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	id := createJobCalling(t, srv, token, "by hand", "0 0 0 1 1 ? 2099", target)
	proxy := dashboardtest.NewProxy(t, srv.URL)
	b := dashboardtest.NewBrowser(t, 1280, 800)
	b.SignIn(proxy.URL, admin.Username, testfactory.Password)
	b.Do(chromedp.Navigate(proxy.URL + "/jobs/" + id))
	b.WaitFor("the empty timeline", `document.querySelector("#timeline .tl-empty") !== null`)
	const source = `document.querySelector(".live")["htmx-internal-data"].sseEventSource`
	b.WaitFor("the live connection", source+`.readyState === EventSource.OPEN`)
	markPage(b)

	// The connection drops, and the browser's reconnection waits while the job runs.
	proxy.Hold()
	proxy.Drop()
	b.WaitFor("the browser to notice", source+`.readyState !== EventSource.OPEN`)
	code, body := srv.API(t, token, http.MethodPost, "/api/v1/jobs/"+id+"/trigger", "")
	require.True(t, code >= 200 && code < 300, "%d %s", code, body)
	testenv.EventuallyWithin(t, dashboardtest.BrowserWait, "the execution's event in the stream", func() bool {
		s, err := srv.JS.Stream(t.Context(), srv.Names.EventsStream())
		if err != nil {
			return false
		}
		msg, err := s.GetLastMsgForSubject(t.Context(), srv.Names.EventSubject(event.TypeExecutionSucceeded))
		return err == nil && msg.Header.Get("ce-subject") == id
	})
	require.Zero(t, dashboardtest.Eval[int](b, timelineItems), "nothing reached the page meanwhile")

	// Let the reconnection through: it resumes after the last event the page had, so the run
	// of the gap appears.
	proxy.Release()
	b.WaitFor("the run of the gap in the timeline", timelineItems+` === 1`)
	b.WaitForText("#timeline li.tl-item", "run by hand")
	b.WaitForText("#job-"+id+" .outcome", "Succeeded")
	requireSamePage(t, b)
	b.Clean()
}

func TestBrowserRelativeTimesStayFresh(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	id := createJobCalling(t, srv, srv.Token(t, admin), "every minute", "0 * * * * *", "http://example.test/")
	b := dashboardtest.NewBrowser(t, 1280, 800)
	b.SignIn(srv.URL, admin.Username, testfactory.Password)
	when := `document.querySelector("#job-` + id + ` .when").textContent`
	b.WaitFor("the next run", when+` !== ""`)
	markPage(b)
	first := dashboardtest.Eval[string](b, when)
	require.Regexp(t, `^(in \d+ s|in 1 min|just now|\d+ s ago)$`, first)
	b.WaitFor("the next run's relative time to move on", when+` !== `+strconv.Quote(first))
	requireSamePage(t, b)

	// The page writes relative times as the server does.
	t0 := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	for _, lang := range []string{"en", "vi"} {
		for _, d := range []time.Duration{0, 999 * time.Millisecond, time.Second, 1499 * time.Millisecond, 1500 * time.Millisecond,
			59 * time.Second, 59500 * time.Millisecond, 90 * time.Second, 59 * time.Minute, 3599 * time.Second, time.Hour,
			23*time.Hour + 31*time.Minute, 24 * time.Hour, 36 * time.Hour, 364 * 24 * time.Hour, 365 * 24 * time.Hour, 800 * 24 * time.Hour} {
			for _, sign := range []time.Duration{1, -1} {
				want := humanize.Relative(t0, t0.Add(sign*d), lang)
				got := dashboardtest.Eval[string](b, fmt.Sprintf(`window.vecron.relative(%d, %q)`, (sign*d).Milliseconds(), lang))
				require.Equal(t, want, got, "%s %v", lang, sign*d)
			}
		}
	}
	b.Clean()
}

func TestBrowserLiveStopsWhenSignedOutElsewhere(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{Settings: func(s *apifn.Settings) {
		s.Dashboard.LiveRecheck = 200 * time.Millisecond
	}})
	admin := srv.User(t, rbac.RoleAdmin, "")
	id := createJobCalling(t, srv, srv.Token(t, admin), "watched", "0 0 0 1 1 ? 2099", "http://example.test/")
	b := dashboardtest.NewBrowser(t, 1280, 800)
	b.SignIn(srv.URL, admin.Username, testfactory.Password)
	b.Do(chromedp.Navigate(srv.URL + "/jobs/" + id))
	const source = `document.querySelector(".live")["htmx-internal-data"].sseEventSource`
	b.WaitFor("the live connection", source+`.readyState === EventSource.OPEN`)
	markPage(b)

	// Signed out as from another tab: this page's updates stop, for good, and it says so.
	status := dashboardtest.Eval[int](b, `(async () => {
		const token = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"];
		const r = await fetch("/logout", {method: "POST", headers: {"X-CSRF-Token": token}, redirect: "manual"});
		return r.status;
	})()`)
	require.Contains(t, []int{0, http.StatusSeeOther}, status) // an opaque redirect reads 0
	b.WaitForText(".live-note", "your session has ended")
	b.WaitFor("the connection closed", source+`.readyState === EventSource.CLOSED`)
	require.Equal(t, "/login?next=%2Fjobs%2F"+id, dashboardtest.Eval[string](b, `document.querySelector(".live-note a").getAttribute("href")`))
	requireSamePage(t, b)
	b.Clean()
}

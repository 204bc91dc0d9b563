package dashboard_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

// TestBrowserBuilderCreatesHTTPJob: a person opens the builder from the jobs list, types a
// cron expression and sees its next fires appear, adds a header row, and creates the job.
func TestBrowserBuilderCreatesHTTPJob(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	b := dashboardtest.NewBrowser(t, 1280, 800)
	b.SignIn(srv.URL, admin.Username, testfactory.Password)
	b.Do(chromedp.Click(chromedp.CSS("#new-job")))
	b.WaitFor("the builder", `document.querySelector("#builder-form") !== null && location.pathname === "/jobs/new"`)
	b.WaitForText("#builder-live", "Type a cron expression")

	b.Do(
		chromedp.SendKeys(chromedp.CSS("#f-name"), "settle payments"),
		chromedp.SendKeys(chromedp.CSS("#f-http_url"), "https://payments.example.test/settle"),
	)
	// A header row comes from the server, swapped in by htmx.
	b.Do(chromedp.Click(chromedp.CSS("#add-header")))
	b.WaitFor("a header row", `document.querySelector("#f-header_name-0") !== null`)
	b.WaitSettled("#builder")
	require.Equal(t, "settle payments", dashboardtest.Eval[string](b, `document.querySelector("#f-name").value`), "the values stay")
	b.Do(
		chromedp.SendKeys(chromedp.CSS("#f-header_name-0"), "X-Region"),
		chromedp.SendKeys(chromedp.CSS("#f-header_value-0"), "eu"),
	)

	// As the cron expression is typed, its next fires and the JSON follow.
	b.Do(chromedp.SendKeys(chromedp.CSS("#f-cron"), "0 30 9 * * MON-FRI"))
	b.WaitFor("the schedule in words", `document.querySelector("#schedule-words") !== null && document.querySelector("#schedule-words").textContent.trim() !== ""`)
	b.WaitFor("the next 10 fires", `document.querySelectorAll("#live-fires tbody tr").length === 10`)
	b.WaitForText("#builder-json", `"cron": "0 30 9 * * MON-FRI"`)
	require.Contains(t, dashboardtest.Eval[string](b, `document.querySelector("#live-fires").textContent`), "09:30:00 +07")
	// A checkbox changes no value as it is ticked, so its change event refreshes the JSON.
	b.Do(chromedp.Evaluate[chromedp.Void](`document.querySelector("#f-enabled").click()`))
	b.WaitForText("#builder-json", `"enabled": false`)
	shown := dashboardtest.Eval[string](b, `document.querySelector("#builder-json").textContent`)
	require.Contains(t, shown, `"X-Region": "eu"`)

	b.Do(chromedp.Click(chromedp.CSS("#builder-save")))
	b.WaitFor("the job's page", `location.pathname.startsWith("/jobs/") && location.pathname !== "/jobs/new" && document.querySelector("h1.job-title") !== null`)
	require.Equal(t, "settle payments", dashboardtest.Eval[string](b, `document.querySelector("h1.job-title").textContent`))
	id := strings.TrimPrefix(dashboardtest.Eval[string](b, `location.pathname`), "/jobs/")

	code, body := srv.API(t, token, http.MethodGet, "/api/v1/jobs/"+id, "")
	require.Equal(t, http.StatusOK, code, body)
	var j domain.Job
	require.NoError(t, json.Unmarshal([]byte(body), &j))
	require.Equal(t, "0 30 9 * * MON-FRI", j.Schedule.Cron)
	require.Equal(t, map[string]string{"X-Region": "eu"}, j.HTTP.Headers)
	require.False(t, j.Enabled)
	var sent domain.JobDefinition
	require.NoError(t, json.Unmarshal([]byte(shown), &sent))
	require.Equal(t, sent.Name, j.Name)
	b.Clean()
}

// TestBrowserBuilderPhone: at 390 px the builder fits the screen and every control is labelled.
func TestBrowserBuilderPhone(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	b := dashboardtest.NewBrowser(t, 390, 844)
	b.SignIn(srv.URL, admin.Username, testfactory.Password)
	for _, kind := range []string{"http", "sql"} {
		b.Do(chromedp.Navigate(srv.URL + "/jobs/new"))
		b.WaitFor("the builder", `document.querySelector("#builder-form") !== null`)
		if kind == "sql" {
			// Without htmx's change event: the form's own button asks for the kind's fields.
			b.Do(chromedp.Evaluate[chromedp.Void](`document.querySelector("#f-kind").value = "sql"; document.querySelector("#show-kind").click()`))
			b.WaitFor("the sql fields", `document.querySelector("#f-sql_dsn") !== null`)
		}
		require.LessOrEqual(t, dashboardtest.Eval[int](b, `document.documentElement.scrollWidth`), 390, "%s: nothing scrolls sideways", kind)
		unlabelled := dashboardtest.Eval[[]string](b, `Array.from(document.querySelectorAll("#builder-form input, #builder-form select, #builder-form textarea"))
			.filter(e => e.type !== "hidden" && !(e.labels && e.labels.length > 0)).map(e => e.name)`)
		require.Empty(t, unlabelled, "%s: every control has a label", kind)
		// Keyboard: the first field takes the focus, and Tab moves on from it.
		b.Do(chromedp.Evaluate[chromedp.Void](`document.querySelector("#f-name").focus()`), chromedp.KeyEvent("\t"))
		require.NotEqual(t, "f-name", dashboardtest.Eval[string](b, `document.activeElement.id`))
	}
	b.Clean()
}

// TestBrowserImport: a document pasted into the import page is planned, and applied only once
// the plan is confirmed; the document travels back through the browser unchanged.
func TestBrowserImport(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	b := dashboardtest.NewBrowser(t, 1280, 800)
	b.SignIn(srv.URL, admin.Username, testfactory.Password)
	b.Do(chromedp.Navigate(srv.URL + "/jobs/import"))
	b.WaitFor("the import page", `document.querySelector("#i-document") !== null`)
	doc, err := json.Marshal(importDoc)
	require.NoError(t, err)
	b.Do(chromedp.Evaluate[chromedp.Void](`document.querySelector("#i-document").value = ` + string(doc) + `; document.querySelector("#import-plan-button").click()`))
	b.WaitFor("the plan", `document.querySelector("#import-apply") !== null`)
	require.Equal(t, 2, dashboardtest.Eval[int](b, `document.querySelectorAll("tr.plan-create").length`))
	require.Empty(t, jobNames(t, srv, token), "a plan changes nothing")

	b.Do(chromedp.Evaluate[chromedp.Void](`document.querySelector("#import-apply").click()`))
	b.WaitForText("#import-result", "Applied.")
	require.ElementsMatch(t, []string{"ops/ping", "ops/report"}, jobNames(t, srv, token))
	b.Clean()
}

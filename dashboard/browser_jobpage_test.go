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

// TestBrowserJobPageSections: the job page's statistics, variables and audit trail, and a sql
// execution's statements, under the CSP, at a desktop's and a phone's width, by keyboard.
func TestBrowserJobPageSections(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	id := createJob(t, srv, token, "settle", "default")
	code, b := srv.API(t, token, http.MethodPost, "/api/v1/jobs/"+id+"/variables", `{"name":"KEY","value":"`+secretValue+`","is_secret":true}`)
	require.Equal(t, http.StatusCreated, code, b)
	now := time.Now().UTC().Truncate(time.Second)
	for i, s := range []domain.ExecutionStatus{domain.StatusSucceeded, domain.StatusFailed, domain.StatusSkipped} {
		testfactory.Outcome(t, srv.Store, &domain.Job{ID: id, Version: 1}, s, now.Add(-time.Duration(i+1)*time.Hour), time.Second)
	}
	sj := sqlJob(t, srv, token)
	run := recordRun(t, srv.Store, sj, now.Add(-time.Hour), runSQL(t, sqlStatements(), 0))

	br := dashboardtest.NewBrowser(t, 1280, 800)
	br.SignIn(srv.URL, admin.Username, testfactory.Password)
	br.Do(chromedp.Navigate(srv.URL + "/jobs/" + id))
	br.WaitForText("#count-succeeded", "Succeeded")
	require.Equal(t, 1, dashboardtest.Eval[int](br, `document.querySelector("#count-failed meter").value`), "a bar drawn without inline style")
	require.Contains(t, dashboardtest.Eval[string](br, `document.querySelector("#vars-title").parentElement.textContent`), "Secret, set")
	require.NotContains(t, dashboardtest.Eval[string](br, `document.documentElement.outerHTML`), secretValue)
	require.Equal(t, 1, dashboardtest.Eval[int](br, `document.querySelectorAll("#audit-title ~ table .audit-row").length`))
	br.Do(chromedp.EmulateViewport(390, 844))
	br.WaitFor("the phone layout", `document.documentElement.scrollWidth <= 390`)
	br.Clean()

	br.Do(chromedp.EmulateViewport(390, 844), chromedp.Navigate(srv.URL+"/executions/"+run.ID))
	br.WaitForText("#statement-3", "2")
	require.LessOrEqual(t, dashboardtest.Eval[int](br, `document.documentElement.scrollWidth`), 390, "nothing scrolls sideways at 390 px")
	// The rows a query returned open by keyboard; their table scrolls within its own region.
	require.False(t, dashboardtest.Eval[bool](br, `document.querySelector("#rows-3").open`))
	br.Do(chromedp.Focus(chromedp.CSS("#rows-3 summary")), chromedp.KeyEvent(kb.Enter))
	br.WaitFor("the rows", `document.querySelector("#rows-3").open && document.querySelector("#rows-3 table.rows").offsetHeight > 0`)
	require.Equal(t, hostile, dashboardtest.Eval[string](br, `document.querySelectorAll("#rows-3 table.rows td")[1].textContent`))
	require.Zero(t, dashboardtest.Eval[int](br, `document.querySelectorAll("main img").length`), "a value made no element")
	require.LessOrEqual(t, dashboardtest.Eval[int](br, `document.documentElement.scrollWidth`), 390)
	br.Clean()
}

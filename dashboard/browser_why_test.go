package dashboard_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

// TestBrowserWhyViewsOnAPhone: the job page's recent fires and an execution's steps, under the
// CSP, at a phone's width: a long recorded reason wraps instead of widening the page, and
// markup in it stays text.
func TestBrowserWhyViewsOnAPhone(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	j := testfactory.Job(t, srv.Store, testfactory.JobOpts{Name: "hourly", Schedule: &domain.Schedule{Cron: "0 0 * * * ?"}})
	at := time.Now().UTC().Truncate(time.Hour)
	reason := "execution " + strings.Repeat("x", 200) + `<img src=x> of this job was still running (concurrency policy forbid)`
	skipped := &domain.Execution{ID: uuid.NewString(), JobID: j.ID, JobVersion: j.Version, IdempotencyKey: domain.ScheduledKey(j.ID, at),
		Trigger: domain.TriggerSchedule, ScheduledAt: at, FinishedAt: &at, Status: domain.StatusSkipped, Attempt: 1, WorkerID: "w", Error: reason}
	recorded, err := srv.Store.RecordSkipped(t.Context(), skipped)
	require.NoError(t, err)
	require.True(t, recorded)

	br := dashboardtest.NewBrowser(t, 390, 844)
	br.SignIn(srv.URL, admin.Username, testfactory.Password)
	br.Do(chromedp.Navigate(srv.URL + "/jobs/" + j.ID))
	br.WaitForText("#job-fires", "concurrency policy forbid")
	require.LessOrEqual(t, dashboardtest.Eval[int](br, `document.documentElement.scrollWidth`), 390, "nothing scrolls sideways at 390 px")
	require.Zero(t, dashboardtest.Eval[int](br, `document.querySelectorAll("main img").length`), "a recorded reason made no element")
	br.Clean()

	br.Do(chromedp.Navigate(srv.URL + "/executions/" + skipped.ID))
	br.WaitForText("#fire-steps", "How this fire travelled")
	require.LessOrEqual(t, dashboardtest.Eval[int](br, `document.documentElement.scrollWidth`), 390)
	require.Zero(t, dashboardtest.Eval[int](br, `document.querySelectorAll("main img").length`))
	br.Clean()
}

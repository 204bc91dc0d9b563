package dashboard_test

import (
	"html"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

// TestWhyViews: the job page lists its recent instants with the reason each did not run,
// linking the execution that says more; the execution's page lays out its way, and says
// "not recorded" where nothing was.
func TestWhyViews(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	j := testfactory.Job(t, srv.Store, testfactory.JobOpts{Name: "hourly", Schedule: &domain.Schedule{Cron: "0 0 * * * ?"}})
	at := time.Now().UTC().Truncate(time.Hour)
	skipped := &domain.Execution{ID: uuid.NewString(), JobID: j.ID, JobVersion: j.Version, IdempotencyKey: domain.ScheduledKey(j.ID, at),
		Trigger: domain.TriggerSchedule, ScheduledAt: at, FinishedAt: &at, Status: domain.StatusSkipped, Attempt: 1, WorkerID: "w",
		Error: "execution x of this job was still running (concurrency policy forbid)"}
	recorded, err := srv.Store.RecordSkipped(t.Context(), skipped)
	require.NoError(t, err)
	require.True(t, recorded)

	c := newClient(t, srv)
	c.login(admin.Username)
	r := c.get("/jobs/" + j.ID)
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	fires := html.UnescapeString(section(r.body, "fires-title"))
	require.Contains(t, fires, "Recent fires and why")
	require.Contains(t, fires, "Not run: an earlier run was still running (concurrency policy forbid).")
	require.Contains(t, fires, `<a href="/executions/`+skipped.ID+`">how it went</a>`)
	require.Contains(t, fires, "Before the job was created.", "the older instants of the day")

	r = c.get("/executions/" + skipped.ID)
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	steps := html.UnescapeString(section(r.body, "steps-h"))
	require.Contains(t, steps, "How this fire travelled")
	require.Contains(t, steps, "<strong>Claimed</strong> <span class=\"muted\">not recorded</span>")
	require.Contains(t, steps, "<strong>Result</strong> <span class=\"muted\">done</span>")
	require.Contains(t, steps, "Not run: an earlier run was still running (concurrency policy forbid).")

	r = c.get("/jobs/"+j.ID, "Accept-Language", "vi")
	require.Contains(t, html.UnescapeString(section(r.body, "fires-title")), "Các lần chạy gần đây và lý do")
}

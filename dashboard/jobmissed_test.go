package dashboard_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
)

// TestBuilderMissedAfterAndJobPageMissedFires: the builder writes a job's missed_after and shows
// it again in its edit; the job page lists the job's missed fires with where each stopped in
// words, and says when one ran late.
func TestBuilderMissedAfterAndJobPageMissedFires(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	c := newClient(t, srv)
	c.login(admin.Username)
	id := builderRoundTrip(t, srv, c, token, nil, func(v url.Values) {
		v.Set("name", "settle")
		v.Set("namespace", "pay")
		v.Set("cron", "0 0 2 * * *")
		v.Set("http_url", "https://settle.example.test/run")
		v.Set("missed_after", "5m0s")
	})
	def, j := stored(t, srv, token, id)
	require.Equal(t, domain.Duration(5*time.Minute), def.MissedAfter)

	require.NotContains(t, c.get("/jobs/"+id).body, `id="job-missed"`, "no section without missed fires")
	at := time.Date(2026, 3, 1, 19, 0, 0, 0, time.UTC)
	_, err := srv.Store.RecordMissedFires(t.Context(), []domain.MissedFire{
		{Key: domain.ScheduledKey(id, at), JobID: id, Namespace: j.Namespace, ScheduledAt: at, DetectedAt: at.Add(time.Minute),
			Stage: domain.MissedUndelivered, Detail: "<b>in the due stream</b>"},
		{Key: domain.ScheduledKey(id, at.Add(-time.Hour)), JobID: id, Namespace: j.Namespace, ScheduledAt: at.Add(-time.Hour),
			DetectedAt: at.Add(-time.Hour + time.Minute), Stage: domain.MissedUnclaimed},
	}, nil)
	require.NoError(t, err)

	page := c.get("/jobs/" + id)
	require.Equal(t, http.StatusOK, page.StatusCode, page.body)
	require.Contains(t, page.body, `id="job-missed"`)
	require.Contains(t, page.body, "published but no executor took it")
	require.Contains(t, page.body, "the tick never claimed it")
	require.Contains(t, page.body, "&lt;b&gt;in the due stream&lt;/b&gt;", "the detail is escaped")

	// A reader of another namespace cannot reach the page at all.
	viewer := srv.User(t, rbac.RoleViewer, "ops")
	vc := newClient(t, srv)
	vc.login(viewer.Username)
	require.Equal(t, http.StatusNotFound, vc.get("/jobs/"+id).StatusCode)
}

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
	"github.com/vecron/vecron/shared/testfactory"
)

// The builder writes a job's alert policy as the API stores it, keeps it in an edit, and the
// job page says when the job alerts; an out-of-range threshold is shown beside its field.
func TestBuilderAlertRoundTripAndJobPage(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	c := newClient(t, srv)
	c.login(admin.Username)
	fill := func(name, after string, off bool) func(url.Values) {
		return func(v url.Values) {
			v.Set("name", name)
			v.Set("cron", "0 0 2 * * *")
			v.Set("http_url", "https://extract.example.test/run")
			v.Set("alert_after", after)
			if off {
				v.Set("alert_off", "on")
			}
		}
	}
	id := builderRoundTrip(t, srv, c, token, nil, fill("five", "5", false))
	def, _ := stored(t, srv, token, id)
	require.Equal(t, domain.AlertPolicy{AfterFailures: 5}, def.Alert)
	page := c.get("/jobs/" + id)
	require.Equal(t, http.StatusOK, page.StatusCode, page.body)
	require.Contains(t, page.body, `<dd id="job-alerts">after 5 failures in a row</dd>`, "no streak, nothing more")
	// Six failures in a row: the page says so, and that the alert went out.
	j, err := srv.Store.GetJob(t.Context(), id)
	require.NoError(t, err)
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i := range 6 {
		testfactory.Outcome(t, srv.Store, j, domain.StatusFailed, at.Add(time.Duration(i)*time.Second), 0)
	}
	page = c.get("/jobs/" + id)
	require.Contains(t, page.body, `<span id="job-streak"><span aria-hidden="true">⚠</span> failing 6 times in a row now, alert sent</span>`)

	id = builderRoundTrip(t, srv, c, token, nil, fill("quiet", "3", true))
	def, _ = stored(t, srv, token, id)
	require.False(t, def.Alert.On())
	require.Equal(t, domain.AlertAfterDefault, def.Alert.AfterFailures)
	page = c.get("/jobs/" + id)
	require.Contains(t, page.body, `<dd id="job-alerts"><span class="muted">off</span></dd>`)

	r := c.get("/jobs/new")
	v := formOn(t, r, "builder-form")
	fill("too late", "1001", false)(v)
	v.Set("op", "save")
	r = c.post("/jobs/new", v)
	require.Equal(t, http.StatusBadRequest, r.StatusCode, r.body)
	require.Regexp(t, `id="e-f-alert_after">[^<]*1 to 1000`, r.body)
}

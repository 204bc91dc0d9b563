package dashboard_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/functions/api/apifn"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

var serverTiming = regexp.MustCompile(`^app;dur=([0-9.]+), api;dur=([0-9.]+);desc="([0-9]+) calls"$`)

// apiCalls returns how many calls of the API the page answered by r made, from its
// Server-Timing header.
func apiCalls(t *testing.T, r response) int {
	t.Helper()
	m := serverTiming.FindStringSubmatch(r.Header.Get("Server-Timing"))
	require.NotNil(t, m, "Server-Timing: %q", r.Header.Get("Server-Timing"))
	app, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	api, err := strconv.ParseFloat(m[2], 64)
	require.NoError(t, err)
	require.LessOrEqual(t, api, app, "the API's share is part of the whole")
	n, err := strconv.Atoi(m[3])
	require.NoError(t, err)
	return n
}

// A page of the history names its jobs and reads them in one call of the API
// (GET /api/v1/jobs?id=…), not one each: 50 rows of 50 jobs, one of them deleted since.
func TestHistoryReadsItsJobsAtOnce(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{Settings: func(s *apifn.Settings) { s.Dashboard.ServerTiming = true }})
	admin := srv.User(t, rbac.RoleAdmin, "")
	now := time.Now().UTC().Truncate(time.Second)
	var listed []*domain.Job
	for i := range 55 {
		j := testfactory.Job(t, srv.Store, testfactory.JobOpts{Name: fmt.Sprintf("reconcile <%02d>", i), Namespace: "pay"})
		testfactory.Outcome(t, srv.Store, j, domain.StatusSucceeded, now.Add(-time.Duration(i+1)*time.Minute), time.Second)
		listed = append(listed, j)
	}
	require.NoError(t, srv.Store.DeleteJob(t.Context(), listed[3].ID))
	c := newClient(t, srv)
	c.login(admin.Username)

	r := c.get("/executions")
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Equal(t, 50, execRows(r.body))
	for i, j := range listed[:50] {
		if i == 3 {
			require.NotContains(t, r.body, html.EscapeString(j.Name))
			require.Contains(t, r.body, j.ID, "a deleted job's row shows its id")
			continue
		}
		require.Contains(t, r.body, html.EscapeString(j.Name))
	}
	// The executions, their jobs, and nothing per row.
	require.LessOrEqual(t, apiCalls(t, r), 3)

	// A viewer of another namespace sees none of these, and the page still answers.
	other := srv.User(t, rbac.RoleViewer, "elsewhere")
	v := newClient(t, srv)
	v.login(other.Username)
	r = v.get("/executions")
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Zero(t, execRows(r.body))

	// The jobs list and a job's page carry the header too.
	for _, path := range []string{"/jobs", "/jobs/" + listed[0].ID, "/jobs?q=" + url.QueryEscape("<07>")} {
		r = c.get(path)
		require.Equal(t, http.StatusOK, r.StatusCode, r.body)
		apiCalls(t, r)
	}
}

// The history's job field finds a job by its exact name however many other names hold it: the
// dashboard asks the API for the name (name=), not for names that contain it.
func TestHistoryFindsAJobByNameAmongMany(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	now := time.Now().UTC().Truncate(time.Second)
	list := make([]*domain.Job, 0, 600)
	for i := range 600 {
		list = append(list, &domain.Job{Name: fmt.Sprintf("settle %03d", i), Namespace: "pay", Enabled: true,
			Schedule: domain.Schedule{Cron: "@hourly"}, HTTP: &domain.HTTPSpec{URL: "http://127.0.0.1:9/"}})
	}
	require.NoError(t, jobs.New(srv.Store, time.Now).CreateMany(t.Context(), srv.Store, list))
	// Created last, so that it comes after the 600 others in id order.
	settle := testfactory.Job(t, srv.Store, testfactory.JobOpts{Name: "settle", Namespace: "pay"})
	testfactory.Outcome(t, srv.Store, settle, domain.StatusFailed, now.Add(-time.Minute), time.Second)
	testfactory.Outcome(t, srv.Store, list[0], domain.StatusSucceeded, now.Add(-2*time.Minute), time.Second)
	c := newClient(t, srv)
	c.login(admin.Username)

	r := c.get("/executions?job=settle")
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Equal(t, 1, execRows(r.body))
	require.Contains(t, r.body, `class="exec-link">settle</a>`)
	require.NotContains(t, r.body, "settle 000")
	require.Empty(t, r.Header.Get("Server-Timing"), "off unless configured")

	// The same name in a second namespace: ambiguous until one is chosen.
	testfactory.Job(t, srv.Store, testfactory.JobOpts{Name: "settle", Namespace: "ops"})
	r = c.get("/executions?job=settle")
	require.Equal(t, http.StatusBadRequest, r.StatusCode, r.body)
	require.Contains(t, r.body, "choose a namespace")
	r = c.get("/executions?job=settle&namespace=ops")
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Zero(t, execRows(r.body))
	require.NotContains(t, r.body, "choose a namespace")

	// Names that are not exact find nothing, whatever they hold.
	for _, name := range []string{"SETTLE", "settl", "settle%", "settle_", "%", "' OR '1'='1"} {
		r = c.get("/executions?" + url.Values{"job": {name}}.Encode())
		require.Equal(t, http.StatusBadRequest, r.StatusCode, "job=%q", name)
		require.Contains(t, r.body, "No job you may read has this name", "job=%q", name)
		require.Zero(t, execRows(r.body))
	}
}

package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

// pages reads every page of path (which has a query) with c, limit at a time, and returns the
// execution ids in order.
func (c *client) pages(path string, limit string) []string {
	c.t.Helper()
	var ids []string
	cursor := ""
	for range 100 {
		status, _, body := c.do(http.MethodGet, path+"&limit="+limit+"&cursor="+url.QueryEscape(cursor), "")
		require.Equal(c.t, http.StatusOK, status, string(body))
		var page struct {
			Items      []domain.Execution `json:"items"`
			NextCursor string             `json:"next_cursor"`
		}
		require.NoError(c.t, json.Unmarshal(body, &page))
		for _, e := range page.Items {
			ids = append(ids, e.ID)
		}
		if page.NextCursor == "" {
			return ids
		}
		cursor = page.NextCursor
	}
	c.t.Fatal("more than 100 pages")
	return nil
}

// The history of every job, newest first, a page at a time, narrowed by the filters, showing
// each caller only the namespaces whose executions they may read.
func TestHistoryAcrossJobs(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	a1 := testfactory.Job(t, c.st, testfactory.JobOpts{Namespace: "team-a"})
	a2 := testfactory.Job(t, c.st, testfactory.JobOpts{Namespace: "team-a"})
	b1 := testfactory.Job(t, c.st, testfactory.JobOpts{Namespace: "team-b"})
	gone := testfactory.Job(t, c.st, testfactory.JobOpts{Namespace: "team-a"})
	base := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	type rec struct {
		e  *domain.Execution
		ns string
	}
	var all []rec
	jobs := []*domain.Job{a1, b1, a2, gone}
	statuses := []domain.ExecutionStatus{domain.StatusSucceeded, domain.StatusFailed, domain.StatusSucceeded, domain.StatusSkipped}
	for i := range 12 {
		j := jobs[i%len(jobs)]
		e := testfactory.Outcome(t, c.st, j, statuses[i%len(statuses)], base.Add(time.Duration(i)*time.Minute), time.Millisecond)
		all = append(all, rec{e, j.Namespace})
	}
	require.NoError(t, c.st.DeleteJob(t.Context(), gone.ID))
	slices.Reverse(all) // newest first
	want := func(keep func(rec) bool) []string {
		var ids []string
		for _, r := range all {
			if keep(r) {
				ids = append(ids, r.e.ID)
			}
		}
		return ids
	}

	// Everything, a deleted job's history included, for a reader of every namespace.
	require.Equal(t, want(func(rec) bool { return true }), c.pages("/api/v1/executions?", "5"))
	require.Equal(t, want(func(r rec) bool { return r.e.Status == domain.StatusFailed }), c.pages("/api/v1/executions?status=failed", "2"))
	from := base.Add(3 * time.Minute).Format(time.RFC3339)
	to := base.Add(7 * time.Minute).Format(time.RFC3339)
	require.Equal(t, want(func(r rec) bool {
		return !r.e.ScheduledAt.Before(base.Add(3*time.Minute)) && r.e.ScheduledAt.Before(base.Add(7*time.Minute))
	}), c.pages("/api/v1/executions?from="+from+"&to="+to, "3"))
	require.Equal(t, want(func(r rec) bool { return r.e.JobID == a1.ID || r.e.JobID == a2.ID }),
		c.pages("/api/v1/executions?namespace=team-a", "2"), "the jobs of the namespace; the deleted one is no longer in it")
	require.Equal(t, want(func(r rec) bool { return r.e.JobID == b1.ID }), c.pages("/api/v1/executions?job_id="+b1.ID, "2"))

	// A viewer of team-a sees team-a's, and nothing of team-b's.
	u := testfactory.User(t, c.st, testfactory.UserOpts{Role: rbac.RoleViewer, Namespace: "team-a"})
	admin := c.token
	c.token = testfactory.APIToken(t, c.st, u.ID, domain.AllNamespaces, nil)
	require.Equal(t, want(func(r rec) bool { return r.e.JobID == a1.ID || r.e.JobID == a2.ID }), c.pages("/api/v1/executions?", "3"))
	require.Equal(t, want(func(r rec) bool { return r.e.JobID == a1.ID && r.e.Status == domain.StatusSucceeded }),
		c.pages("/api/v1/executions?status=succeeded&trigger=schedule&namespace=team-a&job_id="+a1.ID, "10"))
	c.problem(http.MethodGet, "/api/v1/executions?namespace=team-b", "", http.StatusNotFound)
	c.problem(http.MethodGet, "/api/v1/executions?job_id="+b1.ID, "", http.StatusNotFound)
	c.problem(http.MethodGet, "/api/v1/executions?job_id="+gone.ID, "", http.StatusNotFound)
	c.token = admin

	p := c.problem(http.MethodGet, "/api/v1/executions?job_id=nope&namespace=Bad%20NS", "", http.StatusBadRequest)
	require.Equal(t, []string{"job_id"}, fields(p))
	p = c.problem(http.MethodGet, "/api/v1/executions?namespace=Bad%20NS&status=lost", "", http.StatusBadRequest)
	require.Equal(t, []string{"namespace"}, fields(p))
	p = c.problem(http.MethodGet, "/api/v1/executions?status=lost&limit=0", "", http.StatusBadRequest)
	require.Equal(t, []string{"limit"}, fields(p))
	p = c.problem(http.MethodGet, "/api/v1/executions?status=lost", "", http.StatusBadRequest)
	require.Equal(t, []string{"status"}, fields(p))
	c.problem(http.MethodGet, "/api/v1/executions?cursor=not-a-cursor", "", http.StatusBadRequest)
}

// A namespace of many jobs is read newest first across every job, keeping its own.
func TestHistoryOfANamespaceOfManyJobs(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	var jobs []*domain.Job
	for range 501 {
		jobs = append(jobs, testfactory.Job(t, c.st, testfactory.JobOpts{Namespace: "big"}))
	}
	other := testfactory.Job(t, c.st, testfactory.JobOpts{Namespace: "small"})
	base := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	var want []string
	for i, j := range []*domain.Job{jobs[0], other, jobs[250], other, jobs[500]} {
		e := testfactory.Outcome(t, c.st, j, domain.StatusSucceeded, base.Add(time.Duration(i)*time.Minute), time.Millisecond)
		if j != other {
			want = append([]string{e.ID}, want...)
		}
	}
	require.Equal(t, want, c.pages("/api/v1/executions?namespace=big", "2"))
}

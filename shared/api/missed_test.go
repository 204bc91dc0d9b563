package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

// recordMissed records n missed fires of job j, a minute apart from at backwards.
func recordMissed(t *testing.T, c *client, j *domain.Job, at time.Time, n int) {
	t.Helper()
	fires := make([]domain.MissedFire, n)
	for i := range fires {
		s := at.Add(-time.Duration(i) * time.Minute)
		fires[i] = domain.MissedFire{Key: domain.ScheduledKey(j.ID, s), JobID: j.ID, Namespace: j.Namespace, ScheduledAt: s,
			DetectedAt: s.Add(2 * time.Minute), Stage: domain.MissedUndelivered, StreamSeq: uint64(i + 1), Detail: "in the due stream"}
	}
	got, err := c.st.RecordMissedFires(t.Context(), fires, nil)
	require.NoError(t, err)
	require.Len(t, got, n)
}

type missedPage struct {
	Items      []domain.MissedFire `json:"items"`
	NextCursor string              `json:"next_cursor"`
}

func (c *client) missed(id, query string) missedPage {
	c.t.Helper()
	code, _, b := c.do(http.MethodGet, "/api/v1/jobs/"+id+"/missed"+query, "")
	require.Equal(c.t, http.StatusOK, code, string(b))
	var p missedPage
	require.NoError(c.t, json.Unmarshal(b, &p))
	return p
}

// A job's missed fires page newest first within from and to; a caller who cannot read the job's
// namespace gets 404, and bad parameters are 400s naming the parameter.
func TestMissedFiresListing(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	j := testfactory.Job(t, c.st, testfactory.JobOpts{Namespace: "team-b"})
	recordMissed(t, c, j, at, 3)

	all := c.missed(j.ID, "")
	require.Len(t, all.Items, 3)
	require.Equal(t, at, all.Items[0].ScheduledAt, "newest first")
	require.Equal(t, domain.MissedUndelivered, all.Items[0].Stage)

	first := c.missed(j.ID, "?limit=2")
	require.Len(t, first.Items, 2)
	require.NotEmpty(t, first.NextCursor)
	rest := c.missed(j.ID, "?limit=2&cursor="+first.NextCursor)
	require.Len(t, rest.Items, 1)
	require.Equal(t, at.Add(-2*time.Minute), rest.Items[0].ScheduledAt)

	window := c.missed(j.ID, "?from="+url.QueryEscape(at.Add(-time.Minute).Format(time.RFC3339))+"&to="+url.QueryEscape(at.Format(time.RFC3339)))
	require.Len(t, window.Items, 1)
	require.Equal(t, at.Add(-time.Minute), window.Items[0].ScheduledAt)

	for name, q := range map[string]string{
		"from":   "?from=yesterday",
		"to":     "?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z",
		"cursor": "?cursor=bm90LWEtY3Vyc29y",
		"limit":  "?limit=0",
	} {
		p := c.problem(http.MethodGet, "/api/v1/jobs/"+j.ID+"/missed"+q, "", http.StatusBadRequest)
		require.Equal(t, name, p.Errors[0].Field, "%s: %+v", q, p)
	}

	// Readers of team-b see them; a reader of team-a alone cannot tell the job exists.
	require.Len(t, c.as(rbac.RoleViewer, "team-b").missed(j.ID, "").Items, 3)
	code, _, b := c.as(rbac.RoleViewer, "team-a").do(http.MethodGet, "/api/v1/jobs/"+j.ID+"/missed", "")
	require.Equal(t, http.StatusNotFound, code, string(b))
	require.False(t, strings.Contains(string(b), j.ID[:8]+"-"), "the answer names nothing of the job")
}

// missed_after is validated and bounded, kept by an edit that does not name it, and reset by null.
func TestMissedAfterIsValidatedAndKept(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	for _, bad := range []string{`"5s"`, `"25h"`, `"-1m"`} {
		p := c.problem(http.MethodPost, "/api/v1/jobs", strings.Replace(validJob, `"timeout"`, `"missed_after":`+bad+`,"timeout"`, 1), http.StatusBadRequest)
		require.Equal(t, "missed_after", p.Errors[0].Field, "%s: %+v", bad, p)
	}
	j, _ := c.createJob(strings.Replace(validJob, `"timeout"`, `"missed_after":"5m","timeout"`, 1))
	require.Equal(t, domain.Duration(5*time.Minute), j.MissedAfter)
	got, _ := c.edit(http.MethodPatch, j.ID, `{"missed_after":null}`, "If-Match", `"1"`, "Content-Type", "application/merge-patch+json")
	require.Zero(t, got.MissedAfter, "null resets it to the default")
}

package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

func TestJobStatsThroughTheAPI(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j := testfactory.Job(t, c.st, testfactory.JobOpts{Namespace: "team-a"})
	quiet := testfactory.Job(t, c.st, testfactory.JobOpts{Namespace: "team-a"})
	now := time.Now().UTC().Truncate(time.Second)
	for i, s := range []domain.ExecutionStatus{domain.StatusSucceeded, domain.StatusFailed, domain.StatusSkipped, domain.StatusFailed} {
		testfactory.Outcome(t, c.st, j, s, now.Add(time.Duration(i-10)*time.Minute), time.Duration(i+1)*100*time.Millisecond)
	}

	status, _, body := c.do(http.MethodGet, "/api/v1/jobs/"+j.ID+"/stats", "")
	require.Equal(t, http.StatusOK, status, string(body))
	var s domain.JobStats
	require.NoError(t, json.Unmarshal(body, &s))
	require.Equal(t, j.ID, s.JobID)
	require.Equal(t, domain.OutcomeCounts{Succeeded: 1, Failed: 2, Skipped: 1}, s.Counts)
	require.InDelta(t, 1.0/3.0, *s.SuccessRate, 1e-9)
	require.Equal(t, 2, s.ConsecutiveFailures)
	require.NotNil(t, s.LastSuccessAt)
	require.NotNil(t, s.LastFailureAt)
	require.Len(t, s.LastOutcomes, 4)
	require.Equal(t, domain.StatusFailed, s.LastOutcomes[0].Status)
	require.Equal(t, 3, s.Duration.Samples)
	require.Equal(t, 200.0, *s.Duration.P50)

	// The same figures on the list, for every job listed.
	status, _, body = c.do(http.MethodGet, "/api/v1/jobs?namespace=team-a&include=stats", "")
	require.Equal(t, http.StatusOK, status, string(body))
	var list struct {
		Items []struct {
			ID    string           `json:"id"`
			Name  string           `json:"name"`
			Stats *domain.JobStats `json:"stats"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(body, &list))
	require.Len(t, list.Items, 2)
	for _, it := range list.Items {
		require.NotEmpty(t, it.Name, "the job's own fields stay")
		require.NotNil(t, it.Stats)
		require.Equal(t, it.ID, it.Stats.JobID)
		if it.ID == quiet.ID {
			require.Nil(t, it.Stats.SuccessRate)
		} else {
			require.Equal(t, s.Counts, it.Stats.Counts)
		}
	}
	status, _, body = c.do(http.MethodGet, "/api/v1/jobs?namespace=team-a", "")
	require.Equal(t, http.StatusOK, status)
	require.NotContains(t, string(body), `"stats"`, "only when asked for")

	p := c.problem(http.MethodGet, "/api/v1/jobs?include=history", "", http.StatusBadRequest)
	require.Equal(t, []string{"include"}, fields(p))

	// A caller who may read the job but not its executions gets the figures without the ids.
	role := "jobs-only-" + strings.ToLower(uuid.NewString()[:8])
	_, err := c.st.PutRole(t.Context(), &domain.Role{Name: role, Permissions: []domain.Permission{domain.PermJobRead}}, time.Now())
	require.NoError(t, err)
	reader := testfactory.User(t, c.st, testfactory.UserOpts{Role: role, Namespace: "team-a"})
	admin := c.token
	c.token = testfactory.APIToken(t, c.st, reader.ID, domain.AllNamespaces, nil)
	status, _, body = c.do(http.MethodGet, "/api/v1/jobs/"+j.ID+"/stats", "")
	require.Equal(t, http.StatusOK, status, string(body))
	require.NotContains(t, string(body), "execution_id")
	require.Contains(t, string(body), `"status":"failed"`)
	status, _, body = c.do(http.MethodGet, "/api/v1/jobs?include=stats", "")
	require.Equal(t, http.StatusOK, status, string(body))
	require.NotContains(t, string(body), "execution_id")
	c.token = admin

	// Another namespace's viewer does not learn the job exists.
	u := testfactory.User(t, c.st, testfactory.UserOpts{Role: rbac.RoleViewer, Namespace: "team-b"})
	c.token = testfactory.APIToken(t, c.st, u.ID, domain.AllNamespaces, nil)
	c.problem(http.MethodGet, "/api/v1/jobs/"+j.ID+"/stats", "", http.StatusNotFound)
}

package api_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

func TestJobAlertsThroughTheAPI(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j := testfactory.Job(t, c.st, testfactory.JobOpts{Alert: domain.AlertPolicy{AfterFailures: 2}})
	at := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	var last *domain.Execution
	for i := range 3 {
		e := testfactory.Outcome(t, c.st, j, domain.StatusFailed, at.Add(time.Duration(i)*time.Second), 0)
		if i == 1 {
			last = e
		}
	}
	status, _, body := c.do(http.MethodGet, "/api/v1/jobs/"+j.ID+"/alerts", "")
	require.Equal(t, http.StatusOK, status, string(body))
	var got struct {
		Policy              domain.AlertPolicy `json:"policy"`
		ConsecutiveFailures int                `json:"consecutive_failures"`
		Alerted             bool               `json:"alerted"`
		Alerts              []domain.Alert     `json:"alerts"`
	}
	require.NoError(t, json.Unmarshal(body, &got))
	require.Equal(t, domain.AlertPolicy{AfterFailures: 2}, got.Policy)
	require.Equal(t, 3, got.ConsecutiveFailures)
	require.True(t, got.Alerted)
	require.Len(t, got.Alerts, 1)
	require.Equal(t, domain.AlertFiring, got.Alerts[0].State)
	require.Equal(t, last.ID, got.Alerts[0].ExecutionID)
	require.Equal(t, 2, got.Alerts[0].ConsecutiveFailures)

	status, _, body = c.do(http.MethodGet, "/api/v1/jobs/00000000-0000-7000-8000-000000000000/alerts", "")
	require.Equal(t, http.StatusNotFound, status, string(body))

	// A token that may read the job but not its executions sees the alerts without their ids.
	reader := c.as(rbac.RoleViewer, j.Namespace, domain.PermJobRead)
	status, _, body = reader.do(http.MethodGet, "/api/v1/jobs/"+j.ID+"/alerts", "")
	require.Equal(t, http.StatusOK, status, string(body))
	require.NotContains(t, string(body), last.ID)
	require.Contains(t, string(body), `"state":"firing"`)
	// Nor what the execution recorded: its error may quote the target's answer (the timeline
	// keeps a fire's detail from them alike).
	require.NotContains(t, string(body), "testfactory: failed")
	// One who may not read the namespace is told the job does not exist.
	other := c.as(rbac.RoleViewer, "elsewhere")
	status, _, _ = other.do(http.MethodGet, "/api/v1/jobs/"+j.ID+"/alerts", "")
	require.Equal(t, http.StatusNotFound, status)
}

// A missed fire's alert is the watchdog's finding, not an execution's record: a caller who may
// read the job but not its executions still reads why it alerted.
func TestJobAlertOfAMissedFireKeepsItsReasonForReaders(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j := testfactory.Job(t, c.st, testfactory.JobOpts{})
	at := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	f := domain.MissedFire{Key: domain.ScheduledKey(j.ID, at), JobID: j.ID, Namespace: j.Namespace, ScheduledAt: at,
		DetectedAt: at.Add(2 * time.Minute), Stage: domain.MissedUnclaimed}
	_, err := c.st.RecordMissedFires(t.Context(), []domain.MissedFire{f}, c.st.CountMissed)
	require.NoError(t, err)
	reader := c.as(rbac.RoleViewer, j.Namespace, domain.PermJobRead)
	status, _, body := reader.do(http.MethodGet, "/api/v1/jobs/"+j.ID+"/alerts", "")
	require.Equal(t, http.StatusOK, status, string(body))
	require.Contains(t, string(body), "missed (unclaimed)")
}

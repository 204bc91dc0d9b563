package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

func TestCancelAQueuedRunAndARunningOne(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j, _ := c.createJob(validJob)
	run, _ := c.runNow(j.ID, "")
	path := "/api/v1/executions/" + run.ExecutionID + "/cancel"
	code, _, b := c.do(http.MethodPost, path, `{"reason":"wrong month"}`)
	require.Equal(t, http.StatusOK, code, string(b))
	e := c.execution(run.ExecutionID)
	require.Equal(t, domain.StatusCancelled, e.Status)
	require.Equal(t, "cancelled by token:test: wrong month", e.Error)
	require.NotNil(t, e.FinishedAt)
	fires, err := c.st.DueQueued(t.Context(), time.Now().Add(time.Second), 10)
	require.NoError(t, err)
	require.Empty(t, fires, "its fire not yet published is withdrawn")

	rows, err := c.st.ListAudit(t.Context(), store.AuditFilter{Limit: 100})
	require.NoError(t, err)
	found := false
	for _, r := range rows {
		found = found || (r.Action == "execution.cancel" && r.ObjectID == run.ExecutionID && r.Namespace == j.Namespace)
	}
	require.True(t, found, "a cancel is audited")

	// An ended execution cannot be cancelled; the problem says why.
	p := c.problem(http.MethodPost, path, "", http.StatusConflict)
	require.Equal(t, []string{"status"}, fields(p))
	require.Contains(t, p.Detail, "cancelled")

	// A running one is recorded cancelled at once; its worker stops at its next heartbeat.
	forbid, _ := c.createJob(strings.Replace(validJob, "nightly report", "forbid", 1))
	running := testfactory.RunningExclusive(t, c.st, forbid)
	code, _, b = c.do(http.MethodPost, "/api/v1/executions/"+running.ID+"/cancel", "")
	require.Equal(t, http.StatusOK, code, string(b))
	e = c.execution(running.ID)
	require.Equal(t, domain.StatusCancelled, e.Status)
	require.Equal(t, "cancelled by token:test", e.Error)

	for body, field := range map[string]string{
		`{"reason":"` + strings.Repeat("x", 501) + `"}`: "reason",
		`{"reason":"a\u0007b"}`:                         "reason",
		`{"why":"x"}`:                                   "why",
	} {
		run, _ := c.runNow(j.ID, "")
		p := c.problem(http.MethodPost, "/api/v1/executions/"+run.ExecutionID+"/cancel", body, http.StatusBadRequest)
		require.Equal(t, []string{field}, fields(p))
		require.Equal(t, domain.StatusQueued, c.execution(run.ExecutionID).Status, "a refused cancel changes nothing")
	}
	c.problem(http.MethodPost, "/api/v1/executions/"+uuid.NewString()+"/cancel", "", http.StatusNotFound)
	c.problem(http.MethodPost, "/api/v1/executions/not-an-id/cancel", "", http.StatusNotFound)
}

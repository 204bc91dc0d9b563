package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

type triggered struct {
	ExecutionID    string                 `json:"execution_id"`
	IdempotencyKey string                 `json:"idempotency_key"`
	Status         domain.ExecutionStatus `json:"status"`
	Forced         bool                   `json:"forced"`
}

// runNow triggers job id and expects 202.
func (c *client) runNow(id, body string, header ...string) (triggered, http.Header) {
	c.t.Helper()
	code, h, b := c.do(http.MethodPost, "/api/v1/jobs/"+id+"/trigger", body, header...)
	require.Equal(c.t, http.StatusAccepted, code, string(b))
	var out triggered
	require.NoError(c.t, json.Unmarshal(b, &out))
	return out, h
}

func (c *client) execution(id string) *domain.Execution {
	c.t.Helper()
	code, _, b := c.do(http.MethodGet, "/api/v1/executions/"+id, "")
	require.Equal(c.t, http.StatusOK, code, string(b))
	var e domain.Execution
	require.NoError(c.t, json.Unmarshal(b, &e))
	return &e
}

func TestRunNowRecordsAQueuedExecutionAndQueuesItsFire(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j, _ := c.createJob(validJob)
	out, h := c.runNow(j.ID, `{"payload":{"reason":"month end","n":3}}`)
	require.Equal(t, "/api/v1/executions/"+out.ExecutionID, h.Get("Location"))
	require.Equal(t, domain.StatusQueued, out.Status)
	require.True(t, strings.HasPrefix(out.IdempotencyKey, j.ID+":manual:"), out.IdempotencyKey)

	e := c.execution(out.ExecutionID)
	require.Equal(t, domain.StatusQueued, e.Status)
	require.Equal(t, domain.TriggerManual, e.Trigger)
	require.Equal(t, j.Version, e.JobVersion)
	require.Zero(t, e.Attempt, "no attempt has started")
	require.WithinDuration(t, time.Now(), e.ScheduledAt, time.Minute)

	fires, err := c.st.DueQueued(t.Context(), time.Now().Add(time.Second), 10)
	require.NoError(t, err)
	require.Len(t, fires, 1, "the fire is queued in the same transaction")
	require.Equal(t, out.IdempotencyKey, fires[0].Key)
	var d struct {
		Payload json.RawMessage `json:"payload"`
		Forced  bool            `json:"forced"`
	}
	require.NoError(t, json.Unmarshal(fires[0].Payload, &d))
	require.JSONEq(t, `{"reason":"month end","n":3}`, string(d.Payload))
	require.False(t, d.Forced)

	rows, err := c.st.ListAudit(t.Context(), store.AuditFilter{Limit: 100})
	require.NoError(t, err)
	found := false
	for _, r := range rows {
		found = found || (r.Action == "job.trigger" && r.ObjectID == j.ID && strings.Contains(string(r.After), out.ExecutionID))
	}
	require.True(t, found, "a run now is audited")

	// Without a body: no payload.
	out, _ = c.runNow(j.ID, "")
	require.Equal(t, domain.StatusQueued, c.execution(out.ExecutionID).Status)
}

func TestRunNowIsIdempotentByKey(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j, _ := c.createJob(validJob)
	key := "deploy-" + uuid.NewString()
	first, h := c.runNow(j.ID, `{}`, "Idempotency-Key", key)
	require.Empty(t, h.Get("Idempotent-Replayed"))
	again, h := c.runNow(j.ID, `{}`, "Idempotency-Key", key)
	require.Equal(t, first.ExecutionID, again.ExecutionID)
	require.Equal(t, "true", h.Get("Idempotent-Replayed"))

	// Racing requests with one key start one run.
	other := "deploy-" + uuid.NewString()
	var wg sync.WaitGroup
	ids := make([]string, 6)
	for i := range ids {
		wg.Go(func() {
			code, _, b := c.do(http.MethodPost, "/api/v1/jobs/"+j.ID+"/trigger", `{}`, "Idempotency-Key", other)
			if code == http.StatusAccepted {
				var out triggered
				if json.Unmarshal(b, &out) == nil {
					ids[i] = out.ExecutionID
				}
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		require.Equal(t, ids[0], id)
	}
	require.NotEqual(t, first.ExecutionID, ids[0], "another key is another run")
	fires, err := c.st.DueQueued(t.Context(), time.Now().Add(time.Second), 100)
	require.NoError(t, err)
	require.Len(t, fires, 2, "one fire per key")

	for _, bad := range []string{strings.Repeat("k", 129), "a key", "naïve", "a/b"} {
		p := c.problem(http.MethodPost, "/api/v1/jobs/"+j.ID+"/trigger", `{}`, http.StatusBadRequest, "Idempotency-Key", bad)
		require.Equal(t, []string{"Idempotency-Key"}, fields(p), bad)
	}
}

func TestRunNowOfAForbidJobWhileItRunsNeedsForce(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j, _ := c.createJob(strings.Replace(validJob, `"timeout"`, `"concurrency_policy":"forbid","timeout"`, 1))
	running := testfactory.RunningExclusive(t, c.st, j)

	p := c.problem(http.MethodPost, "/api/v1/jobs/"+j.ID+"/trigger", `{}`, http.StatusConflict)
	require.Equal(t, []string{"force"}, fields(p))
	require.Contains(t, p.Detail, running.ID)
	fires, err := c.st.DueQueued(t.Context(), time.Now().Add(time.Second), 10)
	require.NoError(t, err)
	require.Empty(t, fires, "a refused run queues nothing")

	out, _ := c.runNow(j.ID, `{"force":true}`)
	require.True(t, out.Forced)
	require.True(t, c.execution(out.ExecutionID).Forced, "the record says the run was forced")
}

func TestRunNowRejectsBadInputNamingTheField(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j, _ := c.createJob(validJob)
	path := "/api/v1/jobs/" + j.ID + "/trigger"
	big := `{"payload":"` + strings.Repeat("x", 70<<10) + `"}`
	for body, field := range map[string]string{
		`{"payload":{"a":1},"colour":"blue"}`: "colour",
		`{"force":"yes"}`:                     "force",
		big:                                   "payload",
		`[1]`:                                 "body",
		`{"payload":`:                         "body",
	} {
		p := c.problem(http.MethodPost, path, body, http.StatusBadRequest)
		require.Contains(t, fields(p), field, p.Detail)
	}
	c.problem(http.MethodPost, "/api/v1/jobs/"+uuid.NewString()+"/trigger", `{}`, http.StatusNotFound)
}

func TestRunNowOutlivesAPauseButNotADelete(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j, _ := c.createJob(validJob)
	before, _ := c.runNow(j.ID, "")
	code, _, b := c.do(http.MethodPost, "/api/v1/jobs/"+j.ID+"/disable", "")
	require.Equal(t, http.StatusOK, code, string(b))
	after, _ := c.runNow(j.ID, "") // a pause stops the schedule, not an operator
	fires, err := c.st.DueQueued(t.Context(), time.Now().Add(time.Second), 10)
	require.NoError(t, err)
	require.Len(t, fires, 2, "a pause keeps runs started by hand")

	code, _, b = c.do(http.MethodDelete, "/api/v1/jobs/"+j.ID, "")
	require.Equal(t, http.StatusNoContent, code, string(b))
	for _, id := range []string{before.ExecutionID, after.ExecutionID} {
		e := c.execution(id)
		require.Equal(t, domain.StatusSkipped, e.Status, "a delete ends the runs it would strand")
		require.Contains(t, e.Error, "deleted")
	}
	fires, err = c.st.DueQueued(t.Context(), time.Now().Add(time.Second), 10)
	require.NoError(t, err)
	require.Empty(t, fires)
	c.problem(http.MethodPost, "/api/v1/jobs/"+j.ID+"/trigger", "", http.StatusNotFound)
}

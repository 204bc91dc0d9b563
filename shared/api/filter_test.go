package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

// recordOutcome records an execution of j at at, by trigger, ended with status.
func recordOutcome(t *testing.T, st *store.Store, j *domain.Job, at time.Time, trigger domain.Trigger, status domain.ExecutionStatus) *domain.Execution {
	t.Helper()
	started := at.Add(time.Millisecond)
	e := &domain.Execution{ID: uuid.Must(uuid.NewV7()).String(), JobID: j.ID, JobVersion: j.Version,
		IdempotencyKey: domain.Key(j.ID, trigger, at, uuid.NewString()), Trigger: trigger, ScheduledAt: at,
		StartedAt: &started, Status: domain.StatusRunning, Attempt: 1, WorkerID: "w"}
	_, err := st.StartExecution(t.Context(), e, store.StartParams{StaleAfter: time.Minute})
	require.NoError(t, err)
	finished := started.Add(time.Millisecond)
	e.Status, e.FinishedAt = status, &finished
	require.NoError(t, st.FinishExecution(t.Context(), e, &domain.Attempt{Attempt: 1, StartedAt: &started, FinishedAt: finished, Status: status}))
	return e
}

func TestHistoryFiltersByStatusTriggerAndTime(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j := testfactory.Job(t, c.st, testfactory.JobOpts{})
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	for i := range 12 {
		status, trigger := domain.StatusSucceeded, domain.TriggerSchedule
		if i%3 == 0 {
			status = domain.StatusFailed
		}
		if i%4 == 0 {
			trigger = domain.TriggerManual
		}
		recordOutcome(t, c.st, j, base.Add(time.Duration(i)*time.Minute), trigger, status)
	}
	list := func(query string) []domain.Execution {
		t.Helper()
		var all []domain.Execution
		cursor := ""
		for {
			var page struct {
				Items      []domain.Execution `json:"items"`
				NextCursor string             `json:"next_cursor"`
			}
			code, _, b := c.do(http.MethodGet, "/api/v1/jobs/"+j.ID+"/executions?limit=2&"+query+"&cursor="+url.QueryEscape(cursor), "")
			require.Equal(t, http.StatusOK, code, string(b))
			require.NoError(t, json.Unmarshal(b, &page))
			all = append(all, page.Items...)
			if page.NextCursor == "" {
				return all
			}
			cursor = page.NextCursor
		}
	}
	failed := list("status=failed")
	require.Len(t, failed, 4)
	for _, e := range failed {
		require.Equal(t, domain.StatusFailed, e.Status)
	}
	require.Len(t, list("status=failed,succeeded"), 12)
	manual := list("trigger=manual&status=succeeded") // fires 4 and 8: manual (0 is manual, but failed)
	require.Len(t, manual, 2)
	for _, e := range manual {
		require.Equal(t, domain.TriggerManual, e.Trigger)
		require.Equal(t, domain.StatusSucceeded, e.Status)
	}
	from, to := base.Add(3*time.Minute), base.Add(6*time.Minute)
	window := list("from=" + url.QueryEscape(from.Format(time.RFC3339)) + "&to=" + url.QueryEscape(to.Format(time.RFC3339)))
	require.Len(t, window, 3, "from is inclusive, to exclusive")
	for i, e := range window {
		require.True(t, e.ScheduledAt.Equal(base.Add(time.Duration(5-i)*time.Minute)), "newest first: %s", e.ScheduledAt)
	}

	for query, field := range map[string]string{
		"status=fine":             "status",
		"trigger=cron":            "trigger",
		"from=yesterday":          "from",
		"to=2026-13-01T00:00:00Z": "to",
		"from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z":                     "to",
		"status=failed,failed,failed,failed,failed,failed,failed,failed,failed": "status",
	} {
		p := c.problem(http.MethodGet, "/api/v1/jobs/"+j.ID+"/executions?"+query, "", http.StatusBadRequest)
		require.Equal(t, []string{field}, fields(p), query)
	}
}

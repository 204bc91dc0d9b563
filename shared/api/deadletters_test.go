package api_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

// deadLetter records an execution of j that failed attempts times and was dead-lettered.
func deadLetter(t *testing.T, st *store.Store, j *domain.Job, at time.Time, attempts int) *domain.Execution {
	t.Helper()
	started := time.Now().UTC()
	e := &domain.Execution{ID: uuid.Must(uuid.NewV7()).String(), JobID: j.ID, JobVersion: j.Version,
		IdempotencyKey: domain.ScheduledKey(j.ID, at), Trigger: domain.TriggerSchedule, ScheduledAt: at,
		StartedAt: &started, Status: domain.StatusRunning, Attempt: 1, WorkerID: "w"}
	p := store.StartParams{StaleAfter: time.Minute}
	for n := 1; n <= attempts; n++ {
		_, err := st.StartExecution(t.Context(), e, p)
		require.NoError(t, err)
		finished := time.Now().UTC()
		a := &domain.Attempt{Attempt: n, StartedAt: &started, FinishedAt: finished, Status: domain.StatusFailed, HTTPStatus: 500, Error: "target answered 500"}
		e.Status, e.HTTPStatus, e.Error, e.NextAttemptAt, e.FinishedAt = domain.StatusQueued, 500, a.Error, &finished, nil
		if n == attempts {
			e.Status, e.FinishedAt, e.NextAttemptAt, e.Error = domain.StatusDeadLettered, &finished, nil, "gave up after 2 attempts: target answered 500"
		}
		require.NoError(t, st.FinishExecution(t.Context(), e, a))
	}
	return e
}

func TestDeadLettersListShowReplayDiscard(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j := testfactory.Job(t, c.st, testfactory.JobOpts{})
	at := time.Now().UTC().Truncate(time.Second)
	first := deadLetter(t, c.st, j, at, 2)
	second := deadLetter(t, c.st, j, at.Add(time.Second), 2)

	code, _, b := c.do(http.MethodGet, "/api/v1/dead-letters?limit=1", "")
	require.Equal(t, http.StatusOK, code, string(b))
	var list struct {
		Items      []domain.Execution `json:"items"`
		NextCursor string             `json:"next_cursor"`
	}
	require.NoError(t, json.Unmarshal(b, &list))
	require.Len(t, list.Items, 1)
	require.Equal(t, second.ID, list.Items[0].ID)
	require.NotEmpty(t, list.NextCursor)
	code, _, b = c.do(http.MethodGet, "/api/v1/dead-letters?limit=1&cursor="+list.NextCursor, "")
	require.Equal(t, http.StatusOK, code)
	require.NoError(t, json.Unmarshal(b, &list))
	require.Equal(t, first.ID, list.Items[0].ID)

	// One execution shows every attempt.
	code, _, b = c.do(http.MethodGet, "/api/v1/executions/"+first.ID, "")
	require.Equal(t, http.StatusOK, code, string(b))
	var shown domain.Execution
	require.NoError(t, json.Unmarshal(b, &shown))
	require.Equal(t, domain.StatusDeadLettered, shown.Status)
	require.Len(t, shown.Attempts, 2)
	require.Equal(t, 500, shown.Attempts[1].HTTPStatus)

	// Replay queues a new execution with trigger replay; a second replay is refused.
	code, _, b = c.do(http.MethodPost, "/api/v1/dead-letters/"+first.ID+"/replay", "")
	require.Equal(t, http.StatusAccepted, code, string(b))
	var replayed domain.Execution
	require.NoError(t, json.Unmarshal(b, &replayed))
	require.Equal(t, domain.DeadLetterReplayed, replayed.DeadLetter.State)
	require.Regexp(t, "^"+j.ID+":replay:", replayed.DeadLetter.ReplayKey)
	queued, err := c.st.DueQueued(t.Context(), time.Now().Add(time.Second), 10)
	require.NoError(t, err)
	require.Len(t, queued, 1)
	require.Equal(t, domain.TriggerReplay, queued[0].Trigger)
	var due event.Due
	require.NoError(t, json.Unmarshal(queued[0].Payload, &due))
	require.Equal(t, replayed.DeadLetter.ReplayKey, due.IdempotencyKey)
	require.Equal(t, at, due.ScheduledAt, "the replay runs the original fire")
	p := c.problem(http.MethodPost, "/api/v1/dead-letters/"+first.ID+"/replay", "", http.StatusConflict)
	require.Contains(t, p.Detail, "already replayed as "+replayed.DeadLetter.ReplayKey)

	// Discard; then it is listed only under its state.
	code, _, b = c.do(http.MethodPost, "/api/v1/dead-letters/"+second.ID+"/discard", "")
	require.Equal(t, http.StatusOK, code, string(b))
	c.problem(http.MethodPost, "/api/v1/dead-letters/"+second.ID+"/replay", "", http.StatusConflict)
	_, _, b = c.do(http.MethodGet, "/api/v1/dead-letters", "")
	require.NoError(t, json.Unmarshal(b, &list))
	require.Empty(t, list.Items)
	_, _, b = c.do(http.MethodGet, "/api/v1/dead-letters?state=all&job_id="+j.ID, "")
	require.NoError(t, json.Unmarshal(b, &list))
	require.Len(t, list.Items, 2)

	c.problem(http.MethodPost, "/api/v1/dead-letters/"+uuid.Must(uuid.NewV7()).String()+"/replay", "", http.StatusNotFound)
	c.problem(http.MethodPost, "/api/v1/dead-letters/not-an-id/discard", "", http.StatusNotFound)
	bad := c.problem(http.MethodGet, "/api/v1/dead-letters?state=lost&job_id=x&cursor=%25%25", "", http.StatusBadRequest)
	require.ElementsMatch(t, []string{"state", "job_id", "cursor"}, fields(bad))
}

func TestReplayOfADeletedJobIsRefused(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j := testfactory.Job(t, c.st, testfactory.JobOpts{})
	dead := deadLetter(t, c.st, j, time.Now().UTC().Truncate(time.Second), 1)
	require.NoError(t, c.st.DeleteJob(t.Context(), j.ID))
	p := c.problem(http.MethodPost, "/api/v1/dead-letters/"+dead.ID+"/replay", "", http.StatusConflict)
	require.Contains(t, p.Detail, "deleted")
}

func TestCreateJobWithRetryPolicy(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	code, _, b := c.do(http.MethodPost, "/api/v1/jobs", `{"name":"r","schedule":{"cron":"@daily"},"http":{"url":"http://x.test/"},"retry":{"max_attempts":3}}`)
	require.Equal(t, http.StatusCreated, code, string(b))
	var j domain.Job
	require.NoError(t, json.Unmarshal(b, &j))
	require.Equal(t, 3, j.Retry.MaxAttempts)
	require.Equal(t, domain.BackoffDefault(), j.Retry.Backoff)

	p := c.problem(http.MethodPost, "/api/v1/jobs", `{"name":"r2","schedule":{"cron":"@daily"},"http":{"url":"http://x.test/"},"retry":{"max_attempts":0,"backoff":["1ms","2h"]}}`, http.StatusBadRequest)
	require.ElementsMatch(t, []string{"retry.backoff[0]"}, fields(p), "max_attempts 0 takes the default")
	p = c.problem(http.MethodPost, "/api/v1/jobs", `{"name":"r3","schedule":{"cron":"@daily"},"http":{"url":"http://x.test/"},"retry":{"max_attempts":101}}`, http.StatusBadRequest)
	require.ElementsMatch(t, []string{"retry.max_attempts"}, fields(p))
}

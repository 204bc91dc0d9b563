package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
)

// createJob creates body's job and returns it with its entity tag.
func (c *client) createJob(body string) (*domain.Job, string) {
	c.t.Helper()
	code, h, b := c.do(http.MethodPost, "/api/v1/jobs", body)
	require.Equal(c.t, http.StatusCreated, code, string(b))
	var j domain.Job
	require.NoError(c.t, json.Unmarshal(b, &j))
	return &j, h.Get("ETag")
}

// edit sends an edit and decodes the job it answers with.
func (c *client) edit(method, id, body string, header ...string) (*domain.Job, http.Header) {
	c.t.Helper()
	code, h, b := c.do(method, "/api/v1/jobs/"+id, body, header...)
	require.Equal(c.t, http.StatusOK, code, string(b))
	var j domain.Job
	require.NoError(c.t, json.Unmarshal(b, &j))
	return &j, h
}

func TestEditsAreConditional(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j, tag := c.createJob(validJob)
	require.Equal(t, `"1"`, tag)
	require.Equal(t, domain.StateScheduled, j.State, "the create answer shows the state a read shows")
	code, h, _ := c.do(http.MethodGet, "/api/v1/jobs/"+j.ID, "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, `"1"`, h.Get("ETag"))

	path := "/api/v1/jobs/" + j.ID
	for _, method := range []string{http.MethodPut, http.MethodPatch} {
		p := c.problem(method, path, validJob, http.StatusPreconditionRequired)
		require.Contains(t, p.Detail, "If-Match")
		require.Contains(t, p.Detail, `"1"`, "the problem tells the current tag")

		code, h, b := c.do(method, path, validJob, "If-Match", `"7"`)
		require.Equal(t, http.StatusPreconditionFailed, code, string(b))
		require.Equal(t, `"1"`, h.Get("ETag"))
		require.Contains(t, string(b), "version 1")

		c.problem(method, path, validJob, http.StatusPreconditionFailed, "If-Match", `W/"1"`) // weak tags never match
		p = c.problem(method, path, validJob, http.StatusBadRequest, "If-Match", `1`)
		require.Equal(t, []string{"If-Match"}, fields(p))
	}
	got, err := c.st.GetJob(t.Context(), j.ID)
	require.NoError(t, err)
	require.Equal(t, int64(1), got.Version, "a refused edit changes nothing")

	// Of two edits of the same version, one wins and the other is told the job moved on.
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range codes {
		wg.Go(func() {
			body := strings.Replace(validJob, "nightly report", "report "+string(rune('a'+i)), 1)
			codes[i], _, _ = c.do(http.MethodPut, path, body, "If-Match", `"1"`)
		})
	}
	wg.Wait()
	require.ElementsMatch(t, []int{http.StatusOK, http.StatusPreconditionFailed}, codes)
}

func TestPutReplacesTheDefinition(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j, _ := c.createJob(validJob)
	before := time.Now()
	edited := `{"name":"nightly report v2","schedule":{"cron":"0 15 9 * * *"},"http":{"url":"https://example.test/v2"},"timeout":"10s","retry":{"max_attempts":2}}`
	got, h := c.edit(http.MethodPut, j.ID, edited, "If-Match", `"1"`)
	require.Equal(t, `"2"`, h.Get("ETag"))
	require.Equal(t, int64(2), got.Version)
	require.Equal(t, j.ID, got.ID)
	require.Equal(t, j.CreatedAt, got.CreatedAt)
	require.Equal(t, "nightly report v2", got.Name)
	require.Equal(t, "https://example.test/v2", got.HTTP.URL)
	require.Equal(t, "GET", got.HTTP.Method, "a PUT is the whole definition: what it leaves out takes its default")
	require.Empty(t, got.HTTP.Headers)
	require.Equal(t, domain.Duration(10*time.Second), got.Timeout)
	require.Equal(t, 2, got.Retry.MaxAttempts)
	require.True(t, got.Enabled, "left out, enabled keeps the job's state")
	require.Equal(t, domain.StateScheduled, got.State)
	// Planned anew from now: 09:15 in Ho Chi Minh City is 02:15Z.
	require.Equal(t, 2, got.NextRunAt.Hour())
	require.Equal(t, 15, got.NextRunAt.Minute())
	require.True(t, got.NextRunAt.After(before))
	require.WithinDuration(t, before, got.UpdatedAt, time.Minute)

	read, err := c.st.GetJob(t.Context(), j.ID)
	require.NoError(t, err)
	require.Equal(t, got.HTTP, read.HTTP)
	require.Equal(t, got.NextRunAt, read.NextRunAt)

	// The audit log holds the edit, before and after, as one row.
	rows, err := c.st.ListAudit(t.Context(), store.AuditFilter{Limit: 100})
	require.NoError(t, err)
	var rec *audit.Record
	for _, r := range rows {
		if r.Action == "job.update" && r.ObjectID == j.ID {
			require.Nil(t, rec, "one audit row per edit")
			rec = r
		}
	}
	require.NotNil(t, rec)
	require.Contains(t, string(rec.Before), "https://example.test/run")
	require.Contains(t, string(rec.After), "https://example.test/v2")

	// An edit that leaves the plan alone leaves the next run where it is; If-Match: * edits
	// whatever version is current, and a tag of no version of ours matches none.
	got, _ = c.edit(http.MethodPatch, j.ID, `{"description":"same plan"}`, "If-Match", `*`)
	require.Equal(t, read.NextRunAt, got.NextRunAt)
	require.Equal(t, int64(3), got.Version)
	c.problem(http.MethodPatch, "/api/v1/jobs/"+j.ID, `{}`, http.StatusPreconditionFailed, "If-Match", `"abc"`)

	// An edit may pause the job: no next run, and it says so.
	got, _ = c.edit(http.MethodPut, j.ID, strings.Replace(edited, `"timeout"`, `"enabled":false,"timeout"`, 1), "If-Match", `"3"`)
	require.False(t, got.Enabled)
	require.Nil(t, got.NextRunAt)
	require.Equal(t, domain.StatePaused, got.State)
}

func TestPatchMergesIntoTheDefinition(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j, _ := c.createJob(validJob)
	patch := `{"description":"runs the report","http":{"headers":{"X-Team":null,"X-Run":"nightly"}},"retry":{"max_attempts":4}}`
	got, h := c.edit(http.MethodPatch, j.ID, patch, "If-Match", `"1"`, "Content-Type", "application/merge-patch+json")
	require.Equal(t, `"2"`, h.Get("ETag"))
	require.Equal(t, "runs the report", got.Description)
	require.Equal(t, map[string]string{"X-Run": "nightly"}, got.HTTP.Headers, "null removes a member, others are added")
	require.Equal(t, "POST", got.HTTP.Method, "what the patch does not name is kept")
	require.Equal(t, "https://example.test/run", got.HTTP.URL)
	require.Equal(t, "{}", got.HTTP.Body)
	require.Equal(t, j.Schedule, got.Schedule)
	require.Equal(t, 4, got.Retry.MaxAttempts)
	require.Equal(t, j.Retry.Backoff, got.Retry.Backoff)
	require.Equal(t, domain.Duration(45*time.Second), got.Timeout)

	got, _ = c.edit(http.MethodPatch, j.ID, `{"enabled":false}`, "If-Match", `"2"`)
	require.Equal(t, domain.StatePaused, got.State)

	path := "/api/v1/jobs/" + j.ID
	for body, field := range map[string]string{
		`{"colour":"blue"}`:               "colour",
		`{"timeout":"soon"}`:              "timeout",
		`{"schedule":{"cron":"bad"}}`:     "schedule.cron",
		`[{"op":"replace"}]`:              "body",
		`not json`:                        "body",
		`{"name":"a","name":"b"}`:         "name",
		`{"http":{"url":"file:///etc"}}`:  "http.url",
		`{"namespace":"elsewhere"}`:       "namespace",
		`{"kind":"sql"}`:                  "kind",
		`{"name":"has\u0000nul"}`:         "name",
		`{"misfire_policy":"sometimes"}`:  "misfire_policy",
		`{"max_catchup":5000}`:            "max_catchup",
		`{"starting_deadline":"10ms"}`:    "starting_deadline",
		`{"concurrency_policy":"maybe"}`:  "concurrency_policy",
		`{"retry":{"max_attempts":1000}}`: "retry.max_attempts",
	} {
		p := c.problem(http.MethodPatch, path, body, http.StatusBadRequest, "If-Match", `"3"`)
		require.Contains(t, fields(p), field, "%s: %s", body, p.Detail)
	}
	c.problem(http.MethodPatch, path, `{}`, http.StatusUnsupportedMediaType, "If-Match", `"3"`, "Content-Type", "text/plain")
	got, err := c.st.GetJob(t.Context(), j.ID)
	require.NoError(t, err)
	require.Equal(t, int64(3), got.Version, "no refused patch changed the job")
}

func TestAnEditKeepsNamesUnique(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	a, _ := c.createJob(validJob)
	b, _ := c.createJob(strings.Replace(validJob, "nightly report", "weekly report", 1))
	p := c.problem(http.MethodPatch, "/api/v1/jobs/"+b.ID, `{"name":"nightly report"}`, http.StatusConflict, "If-Match", `"1"`)
	require.Equal(t, []string{"name"}, fields(p))
	require.Contains(t, p.Detail, `"nightly report"`)
	// The same name in another namespace is another job.
	p = c.problem(http.MethodPost, "/api/v1/jobs", validJob, http.StatusConflict)
	require.Equal(t, []string{"name"}, fields(p))
	other := strings.Replace(validJob, `"name"`, `"namespace":"team-z","name"`, 1)
	z, _ := c.createJob(strings.Replace(other, "nightly report", "z", 1))
	got, _ := c.edit(http.MethodPatch, z.ID, `{"name":"nightly report"}`, "If-Match", `"1"`)
	require.Equal(t, "nightly report", got.Name)
	require.NotEqual(t, a.ID, got.ID)
}

func TestAnEditOfAnEndedScheduleKeepsItEnded(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	at := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	j, _ := c.createJob(`{"name":"once","schedule":{"kind":"once","at":"` + at + `"},"http":{"url":"https://example.test/once"}}`)
	// Its instant came and went: nothing is due any more.
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	conn, err := pgx.Connect(t.Context(), c.dbURL)
	require.NoError(t, err)
	defer conn.Close(t.Context())
	_, err = conn.Exec(t.Context(), `UPDATE jobs SET next_run_at = NULL, schedule = jsonb_set(schedule, '{at}', to_jsonb($2::text)) WHERE id = $1`, j.ID, past)
	require.NoError(t, err)
	got, _ := c.edit(http.MethodPatch, j.ID, `{"description":"ran once"}`, "If-Match", `"1"`)
	require.Equal(t, "ran once", got.Description)
	require.Nil(t, got.NextRunAt)
	require.Equal(t, domain.StateCompleted, got.State)
	// A new schedule that never fires is refused, as on create.
	earlier := time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339)
	p := c.problem(http.MethodPatch, "/api/v1/jobs/"+j.ID, `{"schedule":{"kind":"once","at":"`+earlier+`"}}`, http.StatusBadRequest, "If-Match", `"2"`)
	require.Equal(t, []string{"schedule.at"}, fields(p))
}

// TestAnEditKeepsTheNextRunOnlyWhereTheLockedRowAllows: an edit decided to keep the next run
// (same plan, enabled) on a read that a concurrent pause made stale; under the row's lock the
// stored job is paused, so the edit's own plan applies instead of a next run of NULL.
func TestAnEditKeepsTheNextRunOnlyWhereTheLockedRowAllows(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j, _ := c.createJob(validJob)
	read, err := c.st.GetJob(t.Context(), j.ID)
	require.NoError(t, err)
	_, err = c.st.SetEnabled(t.Context(), j.ID, false, nil, time.Now().UTC())
	require.NoError(t, err)

	edited := *read
	edited.Description, edited.Enabled = "edited on a stale read", true
	planned := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	edited.NextRunAt = &planned
	got, err := c.st.UpdateJob(t.Context(), &edited, 0, true, time.Now().UTC())
	require.NoError(t, err)
	require.True(t, got.Enabled)
	require.NotNil(t, got.NextRunAt, "an enabled job with no next run would never fire")
	require.True(t, got.NextRunAt.Equal(planned))
}

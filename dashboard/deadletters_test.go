package dashboard_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

func dlRows(body string) int { return strings.Count(body, `class="dl-row"`) }

// recordReplay records the run that replays dead letter id, as an executor does when the
// replay's due event reaches it, and returns it.
func recordReplay(t *testing.T, srv *dashboardtest.Server, token string, dead *domain.Execution) *domain.Execution {
	t.Helper()
	code, b := srv.API(t, token, http.MethodGet, "/api/v1/executions/"+dead.ID, "")
	require.Equal(t, http.StatusOK, code, b)
	var shown domain.Execution
	require.NoError(t, json.Unmarshal([]byte(b), &shown))
	require.NotNil(t, shown.DeadLetter)
	require.NotEmpty(t, shown.DeadLetter.ReplayKey)
	now := time.Now().UTC()
	e := &domain.Execution{ID: uuid.Must(uuid.NewV7()).String(), JobID: dead.JobID, JobVersion: dead.JobVersion,
		IdempotencyKey: shown.DeadLetter.ReplayKey, Trigger: domain.TriggerReplay, ScheduledAt: dead.ScheduledAt,
		StartedAt: &now, Status: domain.StatusRunning, Attempt: 1, WorkerID: "execute-http-9"}
	_, err := srv.Store.StartExecution(t.Context(), e, store.StartParams{StaleAfter: time.Minute})
	require.NoError(t, err)
	return e
}

func TestDeadLettersReplayDiscard(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	j := testfactory.Job(t, srv.Store, testfactory.JobOpts{Name: hostile})
	// Instants of their own: testfactory.DeadLetter's may meet when a second turns between calls.
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	first := failedTwice(t, srv.Store, j, at, "boom")
	second := failedTwice(t, srv.Store, j, at.Add(time.Second), "boom")

	// A viewer sees the dead letters, no button, and a forged post is refused by the API.
	viewer := srv.User(t, rbac.RoleViewer, "")
	cv := newClient(t, srv)
	cv.login(viewer.Username)
	r := cv.get("/dead-letters")
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Equal(t, 2, dlRows(r.body))
	require.NotContains(t, r.body, "/replay")
	require.NotContains(t, r.body, "/discard")
	vtoken := csrfInput.FindStringSubmatch(r.body)[1]
	for _, action := range []string{"replay", "discard"} {
		r = cv.post("/dead-letters/"+first.ID+"/"+action, url.Values{"csrf": {vtoken}})
		require.Equal(t, http.StatusForbidden, r.StatusCode, r.body)
		require.Contains(t, html.UnescapeString(r.body), "missing permission")
	}

	c := newClient(t, srv)
	c.login(admin.Username)
	r = c.get("/dead-letters")
	require.Equal(t, 2, dlRows(r.body))
	require.NotContains(t, r.body, "<img src=x", "the job's name is text")
	require.Contains(t, r.body, "&lt;img src=x onerror=alert(1)&gt;")
	require.Contains(t, r.body, `href="/dead-letters/`+first.ID+`/replay"`)
	require.Contains(t, r.body, "boom", "the last error")

	// Replay: a question first, then the API; the dead letter's page links the new run.
	r = c.get("/dead-letters/" + first.ID + "/replay")
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Contains(t, r.body, "Run this dead letter again?")
	ctoken := csrfInput.FindStringSubmatch(r.body)[1]
	require.Equal(t, http.StatusForbidden, c.post("/dead-letters/"+first.ID+"/replay", url.Values{}).StatusCode)
	r = c.post("/dead-letters/"+first.ID+"/replay", url.Values{"csrf": {ctoken}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	require.Equal(t, "/executions/"+first.ID+"?done=replayed", r.Header.Get("Location"))
	r = c.get(r.Header.Get("Location"))
	require.Contains(t, r.body, "Replayed: a new run is queued.")
	require.Contains(t, html.UnescapeString(r.body), `href="/executions?job=`+j.ID+`&trigger=replay" id="replay-run"`, "the replay's place in the history")
	require.NotContains(t, r.body, "/replay\"", "nothing left to replay")
	run := recordReplay(t, srv, token, first)
	r = c.get("/executions/" + first.ID)
	require.Contains(t, r.body, `href="/executions/`+run.ID+`" id="replay-run"`, "the run itself once recorded")
	r = c.post("/dead-letters/"+first.ID+"/replay", url.Values{"csrf": {ctoken}})
	require.Equal(t, http.StatusConflict, r.StatusCode)
	require.Contains(t, r.body, "already replayed")
	code, b := srv.API(t, token, http.MethodGet, "/api/v1/audit?action=dead_letter.replay&object_id="+first.ID, "")
	require.Equal(t, http.StatusOK, code, b)
	require.Contains(t, b, admin.ID, "the API recorded who replayed")

	// Discard, confirmed; it leaves the pending list for its own.
	r = c.get("/dead-letters/" + second.ID + "/discard")
	require.Contains(t, r.body, "Discard this dead letter?")
	require.Contains(t, r.body, "This cannot be undone.")
	r = c.post("/dead-letters/"+second.ID+"/discard", url.Values{"csrf": {ctoken}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	r = c.get(r.Header.Get("Location"))
	require.Contains(t, r.body, "Discarded.")
	require.Equal(t, 0, dlRows(r.body))
	require.Equal(t, 1, dlRows(c.get("/dead-letters?state=discarded").body))
	require.Equal(t, 2, dlRows(c.get("/dead-letters?state=all").body))
	r = c.get("/dead-letters?state=bogus")
	require.Equal(t, http.StatusBadRequest, r.StatusCode)
	require.Regexp(t, `id="err-state">[^<]+</p>`, r.body)
	require.Equal(t, http.StatusNotFound, c.post("/dead-letters/nope/replay", url.Values{"csrf": {ctoken}}).StatusCode)
}

func TestDeadLettersPages(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	j := testfactory.Job(t, srv.Store, testfactory.JobOpts{Name: "flaky"})
	other := testfactory.Job(t, srv.Store, testfactory.JobOpts{Name: "other"})
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	for i := range 51 {
		failedTwice(t, srv.Store, j, at.Add(time.Duration(i)*time.Second), "boom")
	}
	failedTwice(t, srv.Store, other, at, "boom")
	c := newClient(t, srv)
	c.login(admin.Username)
	r := c.get("/dead-letters?job=flaky")
	require.Equal(t, 50, dlRows(r.body))
	m := regexpNext.FindStringSubmatch(r.body)
	require.NotNil(t, m)
	next := html.UnescapeString(m[1])
	require.Contains(t, next, "job=flaky")
	r = c.get(next)
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Equal(t, 1, dlRows(r.body))
	require.Contains(t, r.body, "First page")
	require.Equal(t, 1, dlRows(c.get("/dead-letters?job="+other.ID).body))
	twin := testfactory.Job(t, srv.Store, testfactory.JobOpts{Name: "flaky", Namespace: "elsewhere"})
	failedTwice(t, srv.Store, twin, at, "boom")
	r = c.get("/dead-letters?job=flaky")
	require.Equal(t, http.StatusBadRequest, r.StatusCode)
	require.Contains(t, r.body, "use the job&#39;s id")
	require.Equal(t, 1, dlRows(c.get("/dead-letters?job="+twin.ID).body))
}

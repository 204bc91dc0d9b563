package dashboard_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
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

const hostile = `<img src=x onerror=alert(1)>`

// execRows counts the rows of a listing of executions.
func execRows(body string) int { return strings.Count(body, `class="exec-row"`) }

// failedTwice records an execution of j whose two attempts got HTTP 500 and that was then
// dead-lettered, as the executors record one.
func failedTwice(t *testing.T, st *store.Store, j *domain.Job, at time.Time, errText string) *domain.Execution {
	t.Helper()
	started := time.Now().UTC()
	e := &domain.Execution{ID: uuid.Must(uuid.NewV7()).String(), JobID: j.ID, JobVersion: j.Version,
		IdempotencyKey: domain.ScheduledKey(j.ID, at), Trigger: domain.TriggerSchedule, ScheduledAt: at,
		StartedAt: &started, Status: domain.StatusRunning, Attempt: 1, WorkerID: "execute-http-1"}
	for n := 1; n <= 2; n++ {
		_, err := st.StartExecution(t.Context(), e, store.StartParams{StaleAfter: time.Minute})
		require.NoError(t, err)
		finished := time.Now().UTC()
		a := &domain.Attempt{Attempt: n, StartedAt: &started, FinishedAt: finished, Status: domain.StatusFailed, HTTPStatus: 500,
			DurationMS: 42, Error: errText, WorkerID: "execute-http-" + string(rune('0'+n))}
		e.Status, e.HTTPStatus, e.Error, e.NextAttemptAt, e.FinishedAt, e.ResponseExcerpt = domain.StatusQueued, 500, errText, &finished, nil, `{"error":"`+errText+`"}`
		if n == 2 {
			e.Status, e.FinishedAt, e.NextAttemptAt, e.Error = domain.StatusDeadLettered, &finished, nil, "gave up after 2 attempts: "+errText
		}
		require.NoError(t, st.FinishExecution(t.Context(), e, a))
	}
	return e
}

// skipped records j's fire at `at` as skipped for reason.
func skipped(t *testing.T, st *store.Store, j *domain.Job, at time.Time, reason string) *domain.Execution {
	t.Helper()
	now := time.Now().UTC()
	e := &domain.Execution{ID: uuid.Must(uuid.NewV7()).String(), JobID: j.ID, JobVersion: j.Version,
		IdempotencyKey: domain.ScheduledKey(j.ID, at), Trigger: domain.TriggerSchedule, ScheduledAt: at,
		Status: domain.StatusSkipped, FinishedAt: &now, Error: reason}
	_, err := st.RecordSkipped(t.Context(), e)
	require.NoError(t, err)
	return e
}

func TestHistoryFiltersReachTheAPI(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	now := time.Now().UTC().Truncate(time.Second)
	a := testfactory.Job(t, srv.Store, testfactory.JobOpts{Name: "settle", Namespace: "pay"})
	b := testfactory.Job(t, srv.Store, testfactory.JobOpts{Name: "report", Namespace: "ops"})
	twin := testfactory.Job(t, srv.Store, testfactory.JobOpts{Name: "report", Namespace: "other"})
	testfactory.Outcome(t, srv.Store, a, domain.StatusSucceeded, now.Add(-3*time.Hour), 1500*time.Millisecond)
	testfactory.Outcome(t, srv.Store, a, domain.StatusFailed, now.Add(-2*time.Hour), 2*time.Second)
	testfactory.Outcome(t, srv.Store, b, domain.StatusSucceeded, now.Add(-30*time.Minute), 300*time.Millisecond)
	testfactory.Outcome(t, srv.Store, twin, domain.StatusSucceeded, now.Add(-20*time.Minute), time.Second)
	c := newClient(t, srv)
	c.login(admin.Username)

	r := c.get("/executions")
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Equal(t, 4, execRows(r.body))
	// The default range is the last 30 days, shown in the form.
	from := regexp.MustCompile(`id="from" name="from" type="datetime-local" value="([^"]+)"`).FindStringSubmatch(r.body)
	require.NotNil(t, from)
	start, err := time.ParseInLocation("2006-01-02T15:04", from[1], mustZone(t, domain.DefaultTimezone))
	require.NoError(t, err)
	require.InDelta(t, float64(30*24*time.Hour), float64(time.Since(start)), float64(2*time.Minute))
	require.Contains(t, r.body, "1.5 s", "the duration")
	require.Regexp(t, `\d\d:\d\d:\d\d \+07<`, html.UnescapeString(r.body), "the scheduled instant in the job's zone")
	require.Contains(t, r.body, "3 h ago", "and relative")

	r = c.get("/executions?status=failed")
	require.Equal(t, 1, execRows(r.body))
	require.Contains(t, r.body, `<span aria-hidden="true">✗</span> Failed`, "a status is an icon and a word")
	require.Contains(t, r.body, `<option value="failed" selected>`)

	r = c.get("/executions?job=settle")
	require.Equal(t, 2, execRows(r.body))
	r = c.get("/executions?job=" + b.ID)
	require.Equal(t, 1, execRows(r.body))
	r = c.get("/executions?job=report")
	require.Equal(t, http.StatusBadRequest, r.StatusCode)
	require.Contains(t, r.body, "Jobs of several namespaces have this name")
	r = c.get("/executions?job=report&namespace=other")
	require.Equal(t, 1, execRows(r.body))
	require.Contains(t, r.body, "/executions/")
	r = c.get("/executions?job=nosuch")
	require.Equal(t, http.StatusBadRequest, r.StatusCode)
	require.Equal(t, 0, execRows(r.body))

	r = c.get("/executions?trigger=manual")
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Equal(t, 0, execRows(r.body))
	require.Contains(t, r.body, "No executions match.")

	// From and until are local times of the form's zone, sent to the API as RFC 3339.
	r = c.get("/executions?" + url.Values{"zone": {"UTC"}, "from": {now.Add(-150 * time.Minute).Format("2006-01-02T15:04")},
		"to": {now.Add(-25 * time.Minute).Format("2006-01-02T15:04")}}.Encode())
	require.Equal(t, 2, execRows(r.body), "the failure and report in ops")
	r = c.get("/executions?"+url.Values{"from": {now.Add(-150 * time.Minute).In(mustZone(t, "Asia/Ho_Chi_Minh")).Format("02/01/2006 15:04")}}.Encode(),
		"Accept-Language", "vi")
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Equal(t, 3, execRows(r.body), "a Vietnamese date in the default zone")

	for query, field := range map[string]string{"from=yesterday": "err-from", "zone=Mars%2FOlympus": "err-zone",
		"status=nonsense": "err-status", "namespace=" + url.QueryEscape("Not A Namespace!"): "err-namespace"} {
		r = c.get("/executions?" + query)
		require.Equal(t, http.StatusBadRequest, r.StatusCode, query)
		require.Regexp(t, `id="`+field+`">[^<]+</p>`, r.body, query)
	}
	r = c.get("/executions?" + url.Values{"zone": {"UTC"}, "from": {now.Format("2006-01-02T15:04")}, "to": {now.Add(-time.Hour).Format("2006-01-02T15:04")}}.Encode())
	require.Equal(t, http.StatusBadRequest, r.StatusCode)
	require.Contains(t, r.body, "must be after from")

	// A viewer of one namespace sees that namespace's executions only: the API decides.
	viewer := srv.User(t, rbac.RoleViewer, "ops")
	cv := newClient(t, srv)
	cv.login(viewer.Username)
	r = cv.get("/executions")
	require.Equal(t, 1, execRows(r.body))
	require.Contains(t, r.body, "report")
	require.NotContains(t, r.body, "settle")
}

func TestHistoryPages(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	j := testfactory.Job(t, srv.Store, testfactory.JobOpts{Name: "busy"})
	now := time.Now().UTC().Truncate(time.Second)
	for i := range 55 {
		testfactory.Outcome(t, srv.Store, j, domain.StatusSucceeded, now.Add(-time.Duration(i+1)*time.Minute), time.Second)
	}
	c := newClient(t, srv)
	c.login(admin.Username)
	r := c.get("/executions?status=succeeded")
	require.Equal(t, 50, execRows(r.body))
	m := regexpNext.FindStringSubmatch(r.body)
	require.NotNil(t, m)
	next := html.UnescapeString(m[1])
	require.Contains(t, next, "status=succeeded", "the next page keeps the filters")
	r = c.get(next)
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Equal(t, 5, execRows(r.body))
	require.Nil(t, regexpNext.FindStringSubmatch(r.body))
	require.Contains(t, r.body, "First page")
	r = c.get("/executions?cursor=garbage")
	require.Equal(t, http.StatusBadRequest, r.StatusCode)
}

func TestExecutionPage(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	j := testfactory.Job(t, srv.Store, testfactory.JobOpts{Name: hostile})
	e := failedTwice(t, srv.Store, j, time.Now().UTC().Add(-time.Hour).Truncate(time.Second), `<script>alert("x")</script>`)
	c := newClient(t, srv)
	c.login(admin.Username)

	r := c.get("/executions/" + e.ID)
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Equal(t, 2, strings.Count(r.body, `<tr class="attempt">`), "every attempt")
	require.Contains(t, r.body, `<td data-label="HTTP status">500</td>`)
	require.Contains(t, r.body, "execute-http-1")
	require.Contains(t, r.body, "execute-http-2")
	require.Contains(t, r.body, "42 ms")
	require.Contains(t, r.body, `<span aria-hidden="true">☠</span> Dead-lettered`)
	require.Contains(t, r.body, e.IdempotencyKey)
	// Every user-controlled string is text.
	require.NotContains(t, r.body, "<img src=x")
	require.NotContains(t, r.body, "<script>alert")
	require.Contains(t, r.body, "&lt;img src=x onerror=alert(1)&gt;")
	require.Contains(t, r.body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;")
	require.Contains(t, r.body, "Response excerpt")
	// The dead letter can be acted on by who may.
	require.Contains(t, r.body, `href="/dead-letters/`+e.ID+`/replay"`)

	viewer := srv.User(t, rbac.RoleViewer, "")
	cv := newClient(t, srv)
	cv.login(viewer.Username)
	r = cv.get("/executions/" + e.ID)
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.NotContains(t, r.body, "/replay")
	require.NotContains(t, r.body, "/discard")

	other := srv.User(t, rbac.RoleViewer, "elsewhere")
	co := newClient(t, srv)
	co.login(other.Username)
	require.Equal(t, http.StatusNotFound, co.get("/executions/"+e.ID).StatusCode, "another namespace's execution is not there")
	require.Equal(t, http.StatusNotFound, c.get("/executions/not-an-id").StatusCode)
	require.Equal(t, http.StatusNotFound, c.get("/executions/"+uuid.Must(uuid.NewV7()).String()).StatusCode)
}

func TestExecutionSkipReasons(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	j := testfactory.Job(t, srv.Store, testfactory.JobOpts{Name: "skippy"})
	c := newClient(t, srv)
	c.login(admin.Username)
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	for i, tc := range []struct{ reason, want string }{
		{"skipped: the job was paused before this fire started", "The job was paused."},
		{"execution " + j.ID + ":1 of this job was still running (concurrency policy forbid)", "(concurrency policy forbid)"},
		{"missed by 2m0s; misfire policy skip", "The fire was missed (misfire policy)."},
		{"could not start within its starting deadline 30s (late by 1m0s)", "within its starting deadline."},
		{"frozen: year-end close (freeze 123 until 2026-12-31T00:00:00Z)", "A freeze of the namespace held it."},
		{"skipped: the job was deleted before this fire started", "The job was deleted."},
	} {
		e := skipped(t, srv.Store, j, at.Add(time.Duration(i)*time.Second), tc.reason)
		r := c.get("/executions/" + e.ID)
		require.Equal(t, http.StatusOK, r.StatusCode, r.body)
		require.Regexp(t, `<strong id="skip-reason">[^<]*`+regexp.QuoteMeta(html.EscapeString(tc.want)), r.body, tc.reason)
		require.Contains(t, html.UnescapeString(r.body), tc.reason, "the recorded detail too")
		require.Contains(t, r.body, "No attempt ran.")
	}
}

func TestExecutionCancel(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	j := testfactory.Job(t, srv.Store, testfactory.JobOpts{Name: "long"})
	e := testfactory.RunningExclusive(t, srv.Store, j)

	// A viewer has no button, and a forged post with their valid token is refused by the API.
	viewer := srv.User(t, rbac.RoleViewer, "")
	cv := newClient(t, srv)
	cv.login(viewer.Username)
	r := cv.get("/executions/" + e.ID)
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.NotContains(t, r.body, "/cancel")
	r = cv.post("/executions/"+e.ID+"/cancel", url.Values{"csrf": {csrfInput.FindStringSubmatch(r.body)[1]}})
	require.Equal(t, http.StatusForbidden, r.StatusCode, r.body)
	require.Contains(t, html.UnescapeString(r.body), "missing permission")

	c := newClient(t, srv)
	c.login(admin.Username)
	r = c.get("/executions/" + e.ID)
	require.Contains(t, r.body, `href="/executions/`+e.ID+`/cancel"`)
	// The button leads to a question the server renders; only its form cancels.
	r = c.get("/executions/" + e.ID + "/cancel")
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Contains(t, r.body, "Cancel this execution?")
	require.Contains(t, r.body, `<form method="post" action="/executions/`+e.ID+`/cancel"`)
	require.Equal(t, http.StatusForbidden, c.post("/executions/"+e.ID+"/cancel", url.Values{}).StatusCode, "no CSRF token")
	r = c.post("/executions/"+e.ID+"/cancel", url.Values{"csrf": {csrfInput.FindStringSubmatch(r.body)[1]}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	require.Equal(t, "/executions/"+e.ID+"?done=cancelled", r.Header.Get("Location"))
	r = c.get(r.Header.Get("Location"))
	require.Contains(t, r.body, "Cancelled.")
	require.Contains(t, r.body, `<span aria-hidden="true">⊘</span> Cancelled`)
	require.NotContains(t, r.body, "/cancel\"", "nothing left to cancel")

	code, b := srv.API(t, srv.Token(t, admin), http.MethodGet, "/api/v1/audit?action=execution.cancel&object_id="+e.ID, "")
	require.Equal(t, http.StatusOK, code, b)
	require.Contains(t, b, admin.ID, "the API recorded who cancelled")
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	require.NoError(t, err)
	return l
}

package dashboard_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/sqljob"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
)

// sqlStatements are a sql job's statements whose results a page can check: rows affected, a
// query cut at max_rows with a value that is markup and a NULL, and a query with no rows.
func sqlStatements() domain.SQLSpec {
	return domain.SQLSpec{Driver: domain.DriverPostgres, Transaction: true, MaxRows: 2, Statements: []domain.SQLStatement{
		{SQL: "CREATE TEMP TABLE ledger (v text) ON COMMIT DROP"},
		{SQL: "INSERT INTO ledger VALUES ($1), (NULL), ('c')", Params: []any{hostile}},
		{SQL: "SELECT v FROM ledger ORDER BY v NULLS FIRST"},
		{SQL: "SELECT v FROM ledger WHERE false"},
	}}
}

// runSQL runs spec against the test's target database with the sql executor's runner, keeping
// excerptBytes of its results (0: the default), and returns its result.
func runSQL(t *testing.T, spec domain.SQLSpec, excerptBytes int) domain.RunResult {
	t.Helper()
	policy, err := egress.New(egress.Loopback())
	require.NoError(t, err)
	r, err := sqljob.New(clockwork.NewRealClock(), []sqljob.Dialect{sqljob.Postgres()}, policy,
		testenv.PostgresIdentity(t, testenv.PostgresURL(t)), sqljob.Config{ExcerptBytes: excerptBytes})
	require.NoError(t, err)
	t.Cleanup(r.Close)
	spec.DSN = testenv.PostgresTargetURL(t)
	res := r.Run(t.Context(), event.Due{JobID: "j", Kind: domain.KindSQL, SQL: &spec})
	require.Empty(t, res.Error)
	return res
}

// recordRun records res as the one attempt of an execution of j, as the executor does.
func recordRun(t *testing.T, st *store.Store, j *domain.Job, at time.Time, res domain.RunResult) *domain.Execution {
	t.Helper()
	started := time.Now().UTC()
	e := &domain.Execution{ID: uuid.Must(uuid.NewV7()).String(), JobID: j.ID, JobVersion: j.Version,
		IdempotencyKey: domain.ScheduledKey(j.ID, at), Trigger: domain.TriggerSchedule, ScheduledAt: at,
		StartedAt: &started, Status: domain.StatusRunning, Attempt: 1, WorkerID: "execute-db-1"}
	_, err := st.StartExecution(t.Context(), e, store.StartParams{StaleAfter: time.Minute})
	require.NoError(t, err)
	finished := started.Add(res.Duration)
	e.Status, e.FinishedAt, e.DurationMS, e.ResponseExcerpt = res.Status, &finished, float64(res.Duration.Milliseconds()), res.Excerpt
	e.HTTPStatus = res.HTTPStatus
	a := &domain.Attempt{Attempt: 1, StartedAt: &started, FinishedAt: finished, Status: res.Status, HTTPStatus: res.HTTPStatus,
		DurationMS: e.DurationMS, WorkerID: e.WorkerID}
	require.NoError(t, st.FinishExecution(t.Context(), e, a))
	return e
}

// sqlJob creates a sql job through the API and returns it.
func sqlJob(t *testing.T, srv *dashboardtest.Server, token string) *domain.Job {
	t.Helper()
	body, err := json.Marshal(map[string]any{"name": "ledger", "schedule": map[string]string{"cron": "0 0 * * * *"},
		"sql": map[string]any{"driver": "postgres", "dsn": "{{ var.LEDGER_DSN }}", "statements": []map[string]string{{"sql": "SELECT 1"}}}})
	require.NoError(t, err)
	code, b := srv.API(t, token, http.MethodPost, "/api/v1/jobs", string(body))
	require.Equal(t, http.StatusCreated, code, b)
	var j domain.Job
	require.NoError(t, json.Unmarshal([]byte(b), &j))
	return &j
}

func TestExecutionPageSQLRows(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	j := sqlJob(t, srv, srv.Token(t, admin))
	full := runSQL(t, sqlStatements(), 0)
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	c := newClient(t, srv)
	c.login(admin.Username)

	e := recordRun(t, srv.Store, j, at, full)
	r := c.get("/executions/" + e.ID)
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	// The attempt shows rows where an http job's shows its status.
	require.NotContains(t, r.body, "HTTP status")
	require.Contains(t, r.body, `<td data-label="Rows" class="attempt-rows">Statement 1: 0 rows affected · Statement 2: 3 rows affected · `+
		`Statement 3: 2 rows returned, and more not kept · Statement 4: 0 rows returned</td>`)
	stmts := section(r.body, "sql-h")
	rows := regexp.MustCompile(`(?s)<tr class="statement" id="statement-(\d)">(.*?)</tr>`).FindAllStringSubmatch(stmts, -1)
	require.Len(t, rows, 4)
	require.Contains(t, rows[1][2], `<td data-label="Rows affected">3</td>`)
	require.Contains(t, rows[1][2], `<td data-label="Rows returned"><span class="muted">—</span></td>`)
	require.Contains(t, rows[2][2], `<td data-label="Rows returned"><span>2 <span class="muted">and more, not kept</span></span></td>`)
	require.Contains(t, rows[3][2], `<td data-label="Rows returned"><span>0</span></td>`)
	// The rows a query returned, the value that is markup as text.
	require.Contains(t, stmts, `<summary>Rows returned by statement 3</summary>`)
	require.Contains(t, stmts, "<tr><td>NULL</td></tr>")
	require.Contains(t, stmts, "<tr><td>&lt;img src=x onerror=alert(1)&gt;</td></tr>")
	require.NotContains(t, r.body, "<img src=x")
	require.Contains(t, stmts, `<td colspan="1" class="empty">No rows.</td>`)
	require.NotContains(t, stmts, `id="sql-cut"`)
	require.NotContains(t, stmts, `id="sql-unreadable"`)
	require.Contains(t, r.body, `id="excerpt-h"`, "the excerpt is still shown as kept")

	// An excerpt cut at its size limit within the third statement's result: the first two are
	// shown, and the page says the rest is not known.
	cutAt := strings.Index(full.Excerpt, `{"statement":3`) + 20
	cut := runSQL(t, sqlStatements(), cutAt)
	require.Len(t, cut.Excerpt, cutAt)
	e = recordRun(t, srv.Store, j, at.Add(time.Second), cut)
	r = c.get("/executions/" + e.ID)
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	stmts = section(r.body, "sql-h")
	require.Equal(t, 2, strings.Count(stmts, `<tr class="statement"`))
	require.Contains(t, stmts, `<p class="notice" id="sql-cut">`)
	require.Contains(t, r.body, `class="attempt-rows">Statement 1: 0 rows affected · Statement 2: 3 rows affected</td>`)

	// One cut before any statement's result is whole is no list at all: the page says so and
	// shows the excerpt as kept.
	e = recordRun(t, srv.Store, j, at.Add(2*time.Second), runSQL(t, sqlStatements(), 10))
	r = c.get("/executions/" + e.ID)
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	stmts = section(r.body, "sql-h")
	require.Contains(t, stmts, `<p class="notice" id="sql-unreadable">`)
	require.NotContains(t, stmts, `<tr class="statement"`)
	require.Contains(t, r.body, `<td data-label="Rows" class="attempt-rows"><span class="muted">—</span></td>`)

	// Nor is text of another form: a masked secret where the JSON began, or markup.
	for i, excerpt := range []string{`******"statement":1}]`, `<script>alert(1)</script>`, `[{"statement":2}]`, `{"rows":[[1]]}`} {
		e = recordRun(t, srv.Store, j, at.Add(time.Duration(3+i)*time.Second), domain.RunResult{Status: domain.StatusSucceeded, Excerpt: excerpt})
		r = c.get("/executions/" + e.ID)
		require.Equal(t, http.StatusOK, r.StatusCode, "%s: %s", excerpt, r.body)
		require.Contains(t, section(r.body, "sql-h"), `id="sql-unreadable"`, excerpt)
		require.NotContains(t, r.body, "<script>alert(1)", excerpt)
	}
}

// TestExecutionPageHTTPKeepsStatus: an http job's execution shows its HTTP status and no
// statements, whatever its excerpt looks like.
func TestExecutionPageHTTPKeepsStatus(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	id := createJob(t, srv, srv.Token(t, admin), "answers-like-sql", "default")
	j := &domain.Job{ID: id, Version: 1}
	e := recordRun(t, srv.Store, j, time.Now().UTC().Add(-time.Hour).Truncate(time.Second),
		domain.RunResult{Status: domain.StatusSucceeded, HTTPStatus: 200, Excerpt: `[{"statement":1,"rows_affected":1,"duration_ms":1}]`})
	c := newClient(t, srv)
	c.login(admin.Username)
	r := c.get("/executions/" + e.ID)
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Contains(t, r.body, `<th scope="col">HTTP status</th>`)
	require.NotContains(t, r.body, `id="sql-h"`)
}

package e2e_test

import (
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/functions/execute-http/httpfn"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testenv"
)

// TestSQLJobInsertsOneRowPerSecondIntoMariaDB creates a `* * * * * *` sql job whose connection
// string is a secret variable and whose statement inserts its scheduled second into a MariaDB
// table; after five fires the table must hold exactly one row per scheduled second.
func TestSQLJobInsertsOneRowPerSecondIntoMariaDB(t *testing.T) {
	t.Parallel()
	dsn := testenv.MySQLDSN(t)
	db, err := sql.Open("mysql", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = db.ExecContext(t.Context(), "CREATE TABLE fires (at VARCHAR(40) PRIMARY KEY, job VARCHAR(100))")
	require.NoError(t, err)

	s := startStack(t, httpfn.TransportPull)
	require.Equal(t, http.StatusCreated, postJSON(t, s.apiURL+"/api/v1/variables", map[string]any{
		"name": "SHOP_DSN", "value": dsn, "is_secret": true}, nil))
	var j domain.Job
	require.Equal(t, http.StatusCreated, postJSON(t, s.apiURL+"/api/v1/jobs", map[string]any{
		"name": "insert-a-row", "schedule": map[string]string{"cron": "* * * * * *"},
		"sql": map[string]any{"driver": "mysql", "dsn": "{{ var.SHOP_DSN }}", "statements": []map[string]any{{
			"sql":    "INSERT INTO fires (at, job) VALUES (?, ?)",
			"params": []string{"{{ execution.scheduled_at }}", "{{ job.name }}"},
		}}},
	}, &j))
	require.Equal(t, domain.KindSQL, j.Kind)
	require.NotContains(t, j.SQL.DSN, "@tcp", "the job holds the template, not the connection string")

	testenv.AwaitWithin(t, 30*time.Second, "five rows inserted", func() (string, bool) {
		var n int
		require.NoError(t, db.QueryRowContext(t.Context(), "SELECT count(*) FROM fires").Scan(&n))
		return fmt.Sprintf("%d rows", n), n >= 5
	})
	s.stops["tick"]()
	waitSettled(t, s, j.ID)
	s.stops["execute-db"]()

	execs := allExecutions(t, s.apiURL, j.ID)
	require.GreaterOrEqual(t, len(execs), 4)
	rows, err := db.QueryContext(t.Context(), "SELECT at, job FROM fires")
	require.NoError(t, err)
	defer rows.Close()
	inserted := map[string]bool{}
	for rows.Next() {
		var at, job string
		require.NoError(t, rows.Scan(&at, &job))
		require.Equal(t, "insert-a-row", job)
		inserted[at] = true
	}
	require.Len(t, inserted, len(execs), "one row per execution")
	loc, err := time.LoadLocation(domain.DefaultTimezone)
	require.NoError(t, err)
	for _, e := range execs {
		require.Equal(t, domain.StatusSucceeded, e.Status, e.Error)
		require.True(t, inserted[e.ScheduledAt.In(loc).Format(time.RFC3339)], "no row for the fire of %s", e.ScheduledAt)
		require.Contains(t, e.ResponseExcerpt, `"rows_affected":1`)
		require.NotContains(t, e.ResponseExcerpt+e.Error, "@tcp(", "the connection string never shows")
	}
}

// waitSettled waits until every fire published has run (see waitDrained) and every execution of
// the job has ended.
func waitSettled(t *testing.T, s *stack, jobID string) {
	t.Helper()
	waitDrained(t, s)
	testenv.EventuallyWithin(t, 20*time.Second, "every execution ended", func() bool {
		for _, e := range allExecutions(t, s.apiURL, jobID) {
			if !e.Status.Terminal() {
				return false
			}
		}
		return true
	})
}

// TestSQLDeadlockVictimIsRetried makes a sql job the victim of a real PostgreSQL deadlock: the
// test's own transaction holds row 2 and then asks for row 1 while the job, holding row 1, waits
// for row 2. The job's first attempt fails with the deadlock, naming its statement; the runtime
// retries it through JetStream, and the second attempt commits.
func TestSQLDeadlockVictimIsRetried(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dsn := testenv.PostgresTargetURL(t)
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = db.ExecContext(ctx, "CREATE TABLE acct (id INT PRIMARY KEY, v INT NOT NULL); INSERT INTO acct VALUES (1, 0), (2, 0)")
	require.NoError(t, err)

	// The test's transaction checks for deadlocks only after 30 s, so the job's check (after
	// PostgreSQL's default 1 s) always finds the cycle first and makes the job the victim.
	holder, err := db.Conn(ctx)
	require.NoError(t, err)
	defer holder.Close()
	_, err = holder.ExecContext(ctx, "SET deadlock_timeout = '30s'")
	require.NoError(t, err)
	tx, err := holder.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback() //nolint:errcheck // committed below
	_, err = tx.ExecContext(ctx, "UPDATE acct SET v = v + 10 WHERE id = 2")
	require.NoError(t, err)

	s := startStack(t, httpfn.TransportPull)
	marker := testenv.Name(t)
	var j domain.Job
	require.Equal(t, http.StatusCreated, postJSON(t, s.apiURL+"/api/v1/jobs", map[string]any{
		"name": "transfer", "schedule": map[string]any{"kind": "once", "at": time.Now().Add(time.Second).UTC().Format(time.RFC3339Nano)},
		"retry": map[string]any{"max_attempts": 3, "backoff": []string{"300ms"}},
		"sql": map[string]any{"driver": "postgres", "dsn": dsn, "transaction": true, "statements": []map[string]any{
			{"sql": "UPDATE acct SET v = v + 1 WHERE id = 1"},
			{"sql": "/* " + marker + " */ UPDATE acct SET v = v + 1 WHERE id = 2"},
		}},
	}, &j))

	// Once the job waits for row 2, ask for row 1: a deadlock.
	testenv.EventuallyWithin(t, 20*time.Second, "the job waiting for row 2", func() bool {
		var n int
		err := db.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1",
			"/* "+marker+" */%").Scan(&n)
		return err == nil && n == 1
	})
	_, err = tx.ExecContext(ctx, "UPDATE acct SET v = v + 10 WHERE id = 1")
	require.NoError(t, err, "the job, not the test, is the deadlock's victim")
	require.NoError(t, tx.Commit())

	e := waitExecution(t, s, j.ID, func(e domain.Execution) bool { return e.Status.Terminal() })
	require.Equal(t, domain.StatusSucceeded, e.Status, e.Error)
	require.Equal(t, 2, e.Attempt)
	var shown domain.Execution
	getJSON(t, s.apiURL+"/api/v1/executions/"+e.ID, &shown)
	require.Len(t, shown.Attempts, 2)
	require.Equal(t, domain.StatusFailed, shown.Attempts[0].Status)
	require.Contains(t, shown.Attempts[0].Error, "statement 2")
	require.Contains(t, shown.Attempts[0].Error, "deadlock detected")
	require.Equal(t, domain.StatusSucceeded, shown.Attempts[1].Status)

	var v1, v2 int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT (SELECT v FROM acct WHERE id = 1), (SELECT v FROM acct WHERE id = 2)").Scan(&v1, &v2))
	require.Equal(t, [2]int{11, 11}, [2]int{v1, v2}, "the test's +10s and the job's one committed +1 each")
}

// TestSQLJobsCannotReachTheSystemDatabaseOrTheExecutorsFiles: a connection string with a
// file-reading option, escaped, is refused on write with a 400 naming sql.dsn; a job naming the
// stack's own database by another address of its server is recorded failed with the reason, for
// good: nothing is retried.
func TestSQLJobsCannotReachTheSystemDatabaseOrTheExecutorsFiles(t *testing.T) {
	t.Parallel()
	s := startStack(t, httpfn.TransportPull)
	once := map[string]any{"kind": "once", "at": time.Now().Add(time.Second).UTC().Format(time.RFC3339Nano)}

	var problem struct {
		Errors []domain.FieldError `json:"errors"`
	}
	require.Equal(t, http.StatusBadRequest, postJSON(t, s.apiURL+"/api/v1/jobs", map[string]any{
		"name": "reads-a-file", "schedule": once,
		"sql": map[string]any{"driver": "postgres", "dsn": "postgres://etl:{{ var.DB_PASSWORD }}@db.internal/x?ssl%72ootcert=/etc/ssl/private/ca.pem",
			"statements": []map[string]any{{"sql": "SELECT 1"}}},
	}, &problem))
	require.Equal(t, []domain.FieldError{{Field: "sql.dsn", Reason: `the "sslrootcert" parameter is not allowed: it reads a file of the executor's host`}}, problem.Errors)

	u, err := url.Parse(s.dbURL)
	require.NoError(t, err)
	alias := "localhost"
	if u.Hostname() == "localhost" {
		alias = "127.0.0.1"
	}
	u.Host = net.JoinHostPort(alias, u.Port())
	var j domain.Job
	require.Equal(t, http.StatusCreated, postJSON(t, s.apiURL+"/api/v1/jobs", map[string]any{
		"name": "reads-the-variables", "schedule": once, "retry": map[string]any{"max_attempts": 3, "backoff": []string{"200ms"}},
		"sql": map[string]any{"driver": "postgres", "dsn": u.String(), "statements": []map[string]any{{"sql": "SELECT name, value FROM variables"}}},
	}, &j))
	var execs []domain.Execution
	testenv.AwaitWithin(t, 30*time.Second, "the fire ended", func() (string, bool) {
		execs = allExecutions(t, s.apiURL, j.ID)
		return fmt.Sprintf("%+v", execs), len(execs) == 1 && execs[0].Status.Terminal()
	})
	require.Equal(t, domain.StatusFailed, execs[0].Status, "refused for good: not retried, not dead-lettered")
	require.Equal(t, 1, execs[0].Attempt)
	require.Contains(t, execs[0].Error, "connect: the target is vecron's own system database")
	require.Empty(t, strings.Trim(execs[0].ResponseExcerpt, "null"), "nothing was read")
}

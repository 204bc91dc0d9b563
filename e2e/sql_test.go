package e2e_test

import (
	"database/sql"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/functions/execute-http/httpfn"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testenv"
)

// TestSQLJobInsertsOneRowPerSecondIntoMariaDB creates a `* * * * * *` sql job whose connection
// string is a secret variable and whose statement inserts its scheduled second into a MariaDB
// table; after about five seconds the table must hold exactly one row per scheduled second.
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

	time.Sleep(5500 * time.Millisecond)
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

// waitSettled waits until every execution of the job has ended.
func waitSettled(t *testing.T, s *stack, jobID string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		settled := true
		for _, e := range allExecutions(t, s.apiURL, jobID) {
			settled = settled && e.Status.Terminal()
		}
		if settled {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("executions did not settle")
}

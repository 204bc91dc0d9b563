package sqljob_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/render"
	"github.com/vecron/vecron/shared/sqljob"
	"github.com/vecron/vecron/shared/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// target is one database a test runs jobs against: its driver, DSN and placeholder style.
type target struct {
	driver string
	dsn    string
	ph     func(n int) string
	sleep  string
}

func targets(t testing.TB) []target {
	t.Helper()
	return []target{
		{driver: domain.DriverPostgres, dsn: testenv.PostgresTargetURL(t), ph: func(n int) string { return fmt.Sprintf("$%d", n) }, sleep: "SELECT pg_sleep(5)"},
		{driver: domain.DriverMySQL, dsn: testenv.MySQLDSN(t), ph: func(int) string { return "?" }, sleep: "SELECT SLEEP(5)"},
	}
}

// newRunner returns a runner of the standard build's dialects, closed when the test ends. Its
// targets are on this host, so its egress policy allows loopback; its system database is the
// test server's main database, whose schemas the tests' stores use (their targets are in
// testenv.TargetDatabase).
func newRunner(t testing.TB, cfg sqljob.Config) *sqljob.Runner {
	t.Helper()
	return newRunnerWith(t, egress.Loopback(), cfg)
}

func newRunnerWith(t testing.TB, ec egress.Config, cfg sqljob.Config) *sqljob.Runner {
	t.Helper()
	policy, err := egress.New(ec)
	require.NoError(t, err)
	r, err := sqljob.New(clockwork.NewRealClock(), []sqljob.Dialect{sqljob.Postgres(), sqljob.MySQL()}, policy, systemDatabase(t), cfg)
	require.NoError(t, err)
	t.Cleanup(r.Close)
	return r
}

// systemDatabase is the identity of the database the tests' stores live in.
func systemDatabase(t testing.TB) domain.DatabaseIdentity {
	t.Helper()
	return testenv.PostgresIdentity(t, testenv.PostgresURL(t))
}

func run(t *testing.T, r *sqljob.Runner, tg target, spec domain.SQLSpec) (domain.RunResult, []sqljob.StatementResult) {
	t.Helper()
	spec.Driver, spec.DSN = tg.driver, tg.dsn
	res := r.Run(t.Context(), event.Due{JobID: "j", Kind: domain.KindSQL, SQL: &spec})
	var out []sqljob.StatementResult
	if res.Excerpt != "" {
		require.NoError(t, json.Unmarshal([]byte(res.Excerpt), &out), res.Excerpt)
	}
	return res, out
}

func stmts(sqls ...string) []domain.SQLStatement {
	out := make([]domain.SQLStatement, len(sqls))
	for i, s := range sqls {
		out[i] = domain.SQLStatement{SQL: s}
	}
	return out
}

func TestSQLJobsAgainstPostgresAndMariaDB(t *testing.T) {
	t.Parallel()
	for _, tg := range targets(t) {
		t.Run(tg.driver, func(t *testing.T) {
			t.Parallel()
			r := newRunner(t, sqljob.Config{})

			// DDL and DML in one transaction, then a query of what they made.
			res, out := run(t, r, tg, domain.SQLSpec{Transaction: true, Statements: []domain.SQLStatement{
				{SQL: "CREATE TABLE report (id INT PRIMARY KEY, name VARCHAR(100))"},
				{SQL: "INSERT INTO report (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')"},
				{SQL: "UPDATE report SET name = " + tg.ph(1) + " WHERE id > " + tg.ph(2), Params: []any{"z", 1}},
				{SQL: "SELECT id, name FROM report ORDER BY id"},
			}})
			require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
			require.Len(t, out, 4)
			require.EqualValues(t, 3, *out[1].RowsAffected)
			require.EqualValues(t, 2, *out[2].RowsAffected)
			require.Equal(t, []string{"id", "name"}, out[3].Columns)
			require.Equal(t, "z", out[3].Rows[2][1])

			// The second statement fails: the first is rolled back, and the error names it.
			res, _ = run(t, r, tg, domain.SQLSpec{Transaction: true, Statements: stmts(
				"INSERT INTO report (id, name) VALUES (10, 'x')",
				"INSERT INTO report (id, name) VALUES (1, 'duplicate')",
			)})
			require.Equal(t, domain.StatusFailed, res.Status)
			require.Contains(t, res.Error, "statement 2:")
			require.True(t, res.Permanent, "a constraint violation does not retry")
			res, out = run(t, r, tg, domain.SQLSpec{Statements: stmts("SELECT count(*) FROM report WHERE id = 10")})
			require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
			require.EqualValues(t, 0, out[0].Rows[0][0], "rolled back")

			// A hostile parameter is a value, never SQL.
			hostile := "x'); DROP TABLE report; --"
			res, _ = run(t, r, tg, domain.SQLSpec{Statements: []domain.SQLStatement{
				{SQL: "INSERT INTO report (id, name) VALUES (20, " + tg.ph(1) + ")", Params: []any{hostile}}}})
			require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
			res, out = run(t, r, tg, domain.SQLSpec{Statements: stmts("SELECT name FROM report WHERE id = 20")})
			require.Equal(t, domain.StatusSucceeded, res.Status, res.Error, "the table is still there")
			require.Equal(t, hostile, out[0].Rows[0][0])

			// Read-only is enforced by the database.
			res, _ = run(t, r, tg, domain.SQLSpec{ReadOnly: true, Statements: stmts("DELETE FROM report")})
			require.Equal(t, domain.StatusFailed, res.Status)
			require.True(t, res.Permanent)
			// Nothing may end the read-only transaction and run the rest read-write: not a COMMIT,
			// and not a DDL (MySQL commits before DDL).
			for _, escape := range [][]string{{"/* end it */ COMMIT", "DELETE FROM report"}, {"CREATE TABLE escape (a INT)", "DELETE FROM report"}} {
				res, _ = run(t, r, tg, domain.SQLSpec{ReadOnly: true, Statements: stmts(escape...)})
				require.Equal(t, domain.StatusFailed, res.Status, escape)
				require.True(t, res.Permanent, escape)
				require.Contains(t, res.Error, "statement 1:", escape)
			}
			res, _ = run(t, r, tg, domain.SQLSpec{Transaction: true, Statements: stmts("INSERT INTO report (id, name) VALUES (30, 'x')", "ROLLBACK")})
			require.Equal(t, domain.StatusFailed, res.Status)
			require.Contains(t, res.Error, "statement 2: starts, ends or commits a transaction itself")
			res, out = run(t, r, tg, domain.SQLSpec{Statements: stmts("SELECT count(*) FROM report")})
			require.Equal(t, domain.StatusSucceeded, res.Status)
			require.EqualValues(t, 4, out[0].Rows[0][0])

			// Results are bounded.
			res, out = run(t, r, tg, domain.SQLSpec{MaxRows: 2, Statements: stmts("SELECT id FROM report ORDER BY id")})
			require.Equal(t, domain.StatusSucceeded, res.Status)
			require.Len(t, out[0].Rows, 2)
			require.True(t, out[0].Truncated)

			// Syntax errors are permanent and say which statement.
			res, _ = run(t, r, tg, domain.SQLSpec{Statements: stmts("SELECT 1", "SELEC nothing")})
			require.Equal(t, domain.StatusFailed, res.Status)
			require.True(t, res.Permanent)
			require.Contains(t, res.Error, "statement 2:")

			// A statement timeout cancels the statement.
			start := time.Now()
			res, _ = run(t, r, tg, domain.SQLSpec{StatementTimeout: domain.Duration(300 * time.Millisecond), Statements: stmts(tg.sleep)})
			require.Less(t, time.Since(start), 4*time.Second)
			require.NotEqual(t, domain.StatusSucceeded, res.Status)
			require.False(t, res.Permanent, "a timeout is worth retrying")
			require.Equal(t, 1, r.Pools(), "one pool per target, shared by every job")
		})
	}
}

func TestPostgresFunctionCallAndDeadlockClassification(t *testing.T) {
	t.Parallel()
	tg := targets(t)[0]
	r := newRunner(t, sqljob.Config{})
	res, _ := run(t, r, tg, domain.SQLSpec{Statements: stmts(
		"CREATE TABLE totals (day DATE PRIMARY KEY, n INT)",
		`CREATE FUNCTION close_day(d DATE) RETURNS INT LANGUAGE sql AS $$ INSERT INTO totals VALUES (d, 42) RETURNING n $$`,
	)})
	require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
	res, out := run(t, r, tg, domain.SQLSpec{Statements: []domain.SQLStatement{{SQL: "SELECT close_day($1)", Params: []any{"2026-11-30"}}}})
	require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
	require.EqualValues(t, 42, out[0].Rows[0][0])

	// Two jobs locking the same rows in opposite orders: one is chosen as the deadlock victim,
	// and that failure is retryable.
	_, _ = run(t, r, tg, domain.SQLSpec{Statements: stmts("CREATE TABLE acct (id INT PRIMARY KEY, bal INT)", "INSERT INTO acct VALUES (1, 0), (2, 0)")})
	lockBoth := func(first, second int) domain.SQLSpec {
		return domain.SQLSpec{Transaction: true, Statements: stmts(
			fmt.Sprintf("UPDATE acct SET bal = bal + 1 WHERE id = %d", first),
			"SELECT pg_sleep(0.5)",
			fmt.Sprintf("UPDATE acct SET bal = bal + 1 WHERE id = %d", second),
		)}
	}
	results := make(chan domain.RunResult, 2)
	for _, order := range [][2]int{{1, 2}, {2, 1}} {
		go func() {
			res, _ := run(t, r, tg, lockBoth(order[0], order[1]))
			results <- res
		}()
	}
	a, b := <-results, <-results
	victim := a
	if a.Status == domain.StatusSucceeded {
		victim = b
	}
	require.Equal(t, domain.StatusFailed, victim.Status)
	require.Contains(t, victim.Error, "deadlock")
	require.False(t, victim.Permanent, "a deadlock victim retries")
}

func TestSourceBuildsDSNsWithoutLeakingThem(t *testing.T) {
	t.Parallel()
	r := newRunner(t, sqljob.Config{})
	d, dsn, err := r.Source(&domain.SQLSpec{Driver: domain.DriverPostgres, Host: "db.internal", Port: 6432,
		Database: "reports", User: "etl", Password: "p'w d"})
	require.NoError(t, err)
	require.Equal(t, "pgx", d)
	require.Equal(t, `host='db.internal' port=6432 dbname='reports' user='etl' password='p\'w d'`, dsn)
	d, dsn, err = r.Source(&domain.SQLSpec{Driver: domain.DriverMySQL, Host: "10.0.0.5", Database: "shop", User: "u", Password: "s3cr3t"})
	require.NoError(t, err)
	require.Equal(t, "mysql", d)
	require.Contains(t, dsn, "u:s3cr3t@tcp(10.0.0.5:3306)/shop")
	_, _, err = r.Source(&domain.SQLSpec{Driver: domain.DriverMySQL, DSN: "not a dsn with s3cr3t"})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "s3cr3t")
	_, _, err = r.Source(&domain.SQLSpec{Driver: "mssql"})
	require.ErrorContains(t, err, `sql.driver: "mssql" is not one of postgres, mysql, oracle`)
	require.Equal(t, "postgres://db.internal:6432", r.Target(event.Due{SQL: &domain.SQLSpec{Driver: domain.DriverPostgres, DSN: "postgres://u:pw@db.internal:6432/x"}}))

	// This runner, like the slim execute-db's, has no Oracle dialect: an Oracle job fails for
	// good and says which build runs it.
	res := r.Run(t.Context(), event.Due{JobID: "j", Kind: domain.KindSQL, SQL: &domain.SQLSpec{Driver: domain.DriverOracle,
		DSN: "oracle://u:pw@db:1521/S", Statements: stmts("SELECT 1 FROM dual")}})
	require.Equal(t, domain.StatusFailed, res.Status)
	require.True(t, res.Permanent)
	require.Contains(t, res.Error, "execute-db-oracle")
}

func TestNewRefusesDialectsItCannotRun(t *testing.T) {
	t.Parallel()
	noClassify := sqljob.MySQL()
	noClassify.Classify = nil
	system := domain.DatabaseIdentity{SystemID: "1", Database: "vecron"}
	for name, c := range map[string]struct {
		dialects []sqljob.Dialect
		policy   *egress.Policy
		system   domain.DatabaseIdentity
		want     string
	}{
		"None":       {nil, &egress.Policy{}, system, "dialects: none given"},
		"NoDriver":   {[]sqljob.Dialect{sqljob.Postgres(), {}}, &egress.Policy{}, system, "dialects[1].Driver: is empty"},
		"Twice":      {[]sqljob.Dialect{sqljob.Postgres(), sqljob.MySQL(), sqljob.Postgres()}, &egress.Policy{}, system, `dialects[2].Driver: "postgres" is given twice`},
		"Unrunnable": {[]sqljob.Dialect{noClassify}, &egress.Policy{}, system, "dialects[0] (mysql): DriverName, Source, Connector, Target and Classify are required"},
		"NoPolicy":   {[]sqljob.Dialect{sqljob.Postgres()}, nil, system, "egress policy: none given"},
		"NoSystemDatabase": {[]sqljob.Dialect{sqljob.Postgres()}, &egress.Policy{}, domain.DatabaseIdentity{},
			"system database: unknown, so sql jobs could not be kept out of it; identify it, or set sql.allow_system_database"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := sqljob.New(clockwork.NewRealClock(), c.dialects, c.policy, c.system, sqljob.Config{})
			require.EqualError(t, err, c.want)
		})
	}
	_, err := sqljob.New(clockwork.NewRealClock(), []sqljob.Dialect{sqljob.Postgres()}, &egress.Policy{}, domain.DatabaseIdentity{}, sqljob.Config{AllowSystemDatabase: true})
	require.NoError(t, err, "allowed, the system database need not be known")
}

func TestRenderBindsTemplatesOnlyIntoParameters(t *testing.T) {
	t.Parallel()
	r := newRunner(t, sqljob.Config{})
	d := event.Due{SQL: &domain.SQLSpec{Driver: domain.DriverPostgres, DSN: "{{ var.DSN }}", Statements: []domain.SQLStatement{
		{SQL: "INSERT INTO t VALUES ($1, $2, $3)", Params: []any{"{{ var.NAME }}", 7.0, "{{ execution.scheduled_at | date \"2006-01-02\" }}"}},
		{SQL: "DELETE FROM t WHERE name = @name AND n < @n", NamedParams: map[string]any{"name": "{{ var.NAME }}", "n": 3.0}}}}}
	out, err := r.Render(d, &render.Context{Vars: map[string]string{"DSN": "postgres://x", "NAME": "'; DROP TABLE t; --"},
		ScheduledAt: time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC), Location: time.UTC})
	require.NoError(t, err)
	require.Equal(t, "postgres://x", out.SQL.DSN)
	require.Equal(t, "INSERT INTO t VALUES ($1, $2, $3)", out.SQL.Statements[0].SQL)
	require.Equal(t, []any{"'; DROP TABLE t; --", 7.0, "2026-11-29"}, out.SQL.Statements[0].Params)
	require.Equal(t, map[string]any{"name": "'; DROP TABLE t; --", "n": 3.0}, out.SQL.Statements[1].NamedParams)
	require.Equal(t, "{{ var.NAME }}", d.SQL.Statements[0].Params[0], "the job itself is untouched")
	require.Equal(t, "{{ var.NAME }}", d.SQL.Statements[1].NamedParams["name"], "the job itself is untouched")
	_, err = r.Render(d, &render.Context{})
	require.ErrorContains(t, err, `sql.dsn: variable "DSN" is not defined`)
}

// TestInjectionThroughAVariableIsInert fills a parameter from a variable holding an injection
// payload and runs it for real: the payload is stored as text and the table survives.
func TestInjectionThroughAVariableIsInert(t *testing.T) {
	t.Parallel()
	for _, tg := range targets(t) {
		t.Run(tg.driver, func(t *testing.T) {
			t.Parallel()
			r := newRunner(t, sqljob.Config{})
			res, _ := run(t, r, tg, domain.SQLSpec{Statements: stmts("CREATE TABLE notes (body VARCHAR(200))")})
			require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
			payload := "x'); DROP TABLE notes; -- \" OR 1=1"
			d, err := r.Render(event.Due{SQL: &domain.SQLSpec{Driver: tg.driver, DSN: tg.dsn, Statements: []domain.SQLStatement{
				{SQL: "INSERT INTO notes (body) VALUES (" + tg.ph(1) + ")", Params: []any{"{{ var.NOTE }}"}}}}},
				&render.Context{Vars: map[string]string{"NOTE": payload}})
			require.NoError(t, err)
			res = r.Run(t.Context(), d)
			require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
			res, out := run(t, r, tg, domain.SQLSpec{Statements: stmts("SELECT body FROM notes")})
			require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
			require.Equal(t, [][]any{{payload}}, out[0].Rows)
		})
	}
}

func TestMariaDBStoredProcedureCall(t *testing.T) {
	t.Parallel()
	tg := targets(t)[1]
	r := newRunner(t, sqljob.Config{})
	res, _ := run(t, r, tg, domain.SQLSpec{Statements: stmts(
		"CREATE TABLE month_end (month VARCHAR(7) PRIMARY KEY, closed BOOLEAN)",
		"CREATE PROCEDURE close_month(IN m VARCHAR(7)) BEGIN INSERT INTO month_end VALUES (m, TRUE); SELECT m AS closed_month; END",
	)})
	require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
	res, out := run(t, r, tg, domain.SQLSpec{Statements: []domain.SQLStatement{{SQL: "CALL close_month(?)", Params: []any{"2026-11"}}}})
	require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
	require.Equal(t, []string{"closed_month"}, out[0].Columns)
	require.Equal(t, "2026-11", out[0].Rows[0][0])
	res, out = run(t, r, tg, domain.SQLSpec{Statements: stmts("SELECT count(*) FROM month_end")})
	require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
	require.EqualValues(t, 1, out[0].Rows[0][0])
}

// TestPoolsAreBoundedSharedAndLetGoWhenIdle watches the target database's own view of the
// runner's connections: concurrent jobs share at most max_conns_per_target of them, idle ones
// close after idle_timeout, and Close leaves none behind.
func TestPoolsAreBoundedSharedAndLetGoWhenIdle(t *testing.T) {
	t.Parallel()
	pgDSN, myDSN := testenv.PostgresTargetURL(t), testenv.MySQLDSN(t)
	app := testenv.Name(t)
	pgTarget := target{driver: domain.DriverPostgres, dsn: pgDSN + "&application_name=" + app, sleep: "SELECT pg_sleep(0.3)"}
	myCfg, err := mysql.ParseDSN(myDSN)
	require.NoError(t, err)
	myTarget := target{driver: domain.DriverMySQL, dsn: myDSN, sleep: "SELECT SLEEP(0.3)"}

	pg, err := sql.Open("pgx", testenv.PostgresURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { pg.Close() })
	my, err := sql.Open("mysql", testenv.MySQLDSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { my.Close() })
	open := map[string]func() int{
		domain.DriverPostgres: func() int {
			var n int
			assert.NoError(t, pg.QueryRowContext(t.Context(), "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&n))
			return n
		},
		domain.DriverMySQL: func() int {
			var n int
			assert.NoError(t, my.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = ?", myCfg.DBName).Scan(&n))
			return n
		},
	}
	for _, tg := range []target{pgTarget, myTarget} {
		t.Run(tg.driver, func(t *testing.T) {
			t.Parallel()
			count := open[tg.driver]
			r := newRunner(t, sqljob.Config{MaxConnsPerTarget: 2, IdleTimeout: 500 * time.Millisecond})

			var wg sync.WaitGroup
			var peak atomic.Int32
			stop := make(chan struct{})
			go func() {
				for {
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond):
						if n := int32(count()); n > peak.Load() {
							peak.Store(n)
						}
					}
				}
			}()
			for range 8 {
				wg.Go(func() {
					spec := domain.SQLSpec{Driver: tg.driver, DSN: tg.dsn, Statements: stmts(tg.sleep)}
					res := r.Run(t.Context(), event.Due{JobID: "j", Kind: domain.KindSQL, SQL: &spec})
					assert.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
				})
			}
			wg.Wait()
			close(stop)
			require.Equal(t, 1, r.Pools(), "one pool per target, shared")
			require.EqualValues(t, 2, peak.Load(), "8 concurrent jobs share 2 connections")

			testenv.Eventually(t, "idle connections closed after idle_timeout", func() bool { return count() == 0 })

			res, _ := run(t, r, tg, domain.SQLSpec{Statements: stmts("SELECT 1")})
			require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
			require.Equal(t, 1, count())
			r.Close()
			require.Equal(t, 0, r.Pools())
			testenv.Eventually(t, "no connection left behind by Close", func() bool { return count() == 0 })
		})
	}
}

// TestEvictingAPoolWaitsForNobody: past max_targets the least recently used pool is closed; a
// statement still running on it finishes, and jobs of other targets do not wait for it.
func TestEvictingAPoolWaitsForNobody(t *testing.T) {
	t.Parallel()
	app := testenv.Name(t)
	pgTarget := target{driver: domain.DriverPostgres, dsn: testenv.PostgresTargetURL(t) + "&application_name=" + app}
	myTarget := target{driver: domain.DriverMySQL, dsn: testenv.MySQLDSN(t)}
	r := newRunner(t, sqljob.Config{MaxTargets: 1})

	slowDone := make(chan domain.RunResult, 1)
	go func() {
		spec := domain.SQLSpec{Driver: pgTarget.driver, DSN: pgTarget.dsn, Statements: stmts("SELECT pg_sleep(1)")}
		slowDone <- r.Run(t.Context(), event.Due{JobID: "slow", Kind: domain.KindSQL, SQL: &spec})
	}()
	pg, err := sql.Open("pgx", testenv.PostgresURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { pg.Close() })
	testenv.Eventually(t, "the slow statement running", func() bool {
		var n int
		return pg.QueryRowContext(t.Context(), "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'", app).Scan(&n) == nil && n == 1
	})

	res, _ := run(t, r, myTarget, domain.SQLSpec{Statements: stmts("SELECT 1")})
	require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
	require.Equal(t, 1, r.Pools(), "the PostgreSQL pool made way for the MariaDB one")
	select {
	case <-slowDone:
		t.Fatal("the MariaDB job waited for the evicted pool's running statement")
	default:
	}
	slow := <-slowDone
	require.Equal(t, domain.StatusSucceeded, slow.Status, slow.Error)
	testenv.Eventually(t, "the evicted pool's connection closed once its statement ended", func() bool {
		var n int
		return pg.QueryRowContext(t.Context(), "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&n) == nil && n == 0
	})
}

// TestNamedParameters binds by name on PostgreSQL (@name), hostile values staying values, and
// refuses them on MySQL, which has none, for good.
func TestNamedParameters(t *testing.T) {
	t.Parallel()
	tgs := targets(t)
	r := newRunner(t, sqljob.Config{})
	hostile := "x'); DROP TABLE named; --"
	res, out := run(t, r, tgs[0], domain.SQLSpec{Statements: []domain.SQLStatement{
		{SQL: "CREATE TABLE named (a TEXT, b INT)"},
		{SQL: "INSERT INTO named (a, b) VALUES (@a, @b)", NamedParams: map[string]any{"a": hostile, "b": 2}},
		{SQL: "SELECT a, b FROM named"},
	}})
	require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
	require.Equal(t, [][]any{{hostile, float64(2)}}, out[2].Rows)

	res, _ = run(t, r, tgs[0], domain.SQLSpec{Statements: []domain.SQLStatement{
		{SQL: "SELECT @a, @missing", NamedParams: map[string]any{"a": 1}}}})
	require.Equal(t, domain.StatusFailed, res.Status)
	require.Contains(t, res.Error, "statement 1")
	require.Contains(t, res.Error, "missing")

	res, _ = run(t, r, tgs[1], domain.SQLSpec{Statements: []domain.SQLStatement{
		{SQL: "SELECT 1", NamedParams: map[string]any{"a": 1}}}})
	require.Equal(t, domain.StatusFailed, res.Status)
	require.True(t, res.Permanent)
	require.Equal(t, "statement 1: mysql has no named parameters: use params", res.Error)
}

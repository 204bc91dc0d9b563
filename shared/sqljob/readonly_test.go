package sqljob_test

import (
	"database/sql"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/render"
	"github.com/vecron/vecron/shared/sqljob"
)

// victim creates table t in tg and returns a function that gives it back its one row, id 1, and
// one that counts its rows.
func victim(t *testing.T, r *sqljob.Runner, tg target) (reset func(), rows func() int) {
	t.Helper()
	res, _ := run(t, r, tg, domain.SQLSpec{Statements: stmts("CREATE TABLE t (id INT PRIMARY KEY)")})
	require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
	reset = func() {
		t.Helper()
		res, _ := run(t, r, tg, domain.SQLSpec{Transaction: true, Statements: stmts("DELETE FROM t", "INSERT INTO t (id) VALUES (1)")})
		require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
	}
	reset()
	return reset, func() int {
		t.Helper()
		res, out := run(t, r, tg, domain.SQLSpec{Statements: stmts("SELECT count(*) FROM t")})
		require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
		n, ok := out[0].Rows[0][0].(float64)
		require.True(t, ok, "%T", out[0].Rows[0][0])
		return int(n)
	}
}

// TestReadOnlyPostgresJobCannotLeaveItsReadOnlyTransaction runs read_only jobs that try to end
// or undo their read-only transaction and delete a row after it: a string of several statements
// in one (the first one harmless), and statements that turn the transaction read-write. Each
// fails for good and the row stays.
func TestReadOnlyPostgresJobCannotLeaveItsReadOnlyTransaction(t *testing.T) {
	t.Parallel()
	tg := targets(t)[0]
	r := newRunner(t, sqljob.Config{})
	reset, rows := victim(t, r, tg)
	const severalCommands = "statement 1: ERROR: cannot insert multiple commands into a prepared statement (SQLSTATE 42601)"
	const readWriteTooLate = "statement 1: ERROR: transaction read-write mode must be set before any query (SQLSTATE 25001)"
	const turnedReadWrite = "commit: a statement turned the read-only transaction read-write; it was rolled back, with whatever was written"
	for _, c := range []struct {
		name   string
		attack []string
		want   string
	}{
		{"SeveralStatementsInOne", []string{"SET LOCAL application_name = 'x'; COMMIT; DELETE FROM t WHERE id = 1"}, severalCommands},
		{"SeveralStatementsInAQuery", []string{"SELECT 1; COMMIT; DELETE FROM t WHERE id = 1"}, severalCommands},
		{"TransactionReadOnlyOff", []string{"SET transaction_read_only = off", "DELETE FROM t WHERE id = 1"}, readWriteTooLate},
		{"SetTransactionReadWrite", []string{"SET TRANSACTION READ WRITE", "DELETE FROM t WHERE id = 1"}, readWriteTooLate},
		{"SetLocalReadOnlyOff", []string{"SET LOCAL transaction_read_only TO off", "DELETE FROM t WHERE id = 1"}, readWriteTooLate},
		// PostgreSQL before 16 lets these through after the snapshot: the transaction is rolled
		// back, not committed, and the job fails.
		{"ResetReadOnly", []string{"RESET transaction_read_only", "DELETE FROM t WHERE id = 1"}, turnedReadWrite},
		{"SetReadOnlyToDefault", []string{"SET transaction_read_only TO DEFAULT", "DELETE FROM t WHERE id = 1"}, turnedReadWrite},
		{"ResetInsideAFunction", []string{"DO $$ BEGIN EXECUTE 'RESET transaction_read_only'; DELETE FROM t WHERE id = 1; END $$"}, turnedReadWrite},
	} {
		t.Run(c.name, func(t *testing.T) {
			reset()
			res, _ := run(t, r, tg, domain.SQLSpec{ReadOnly: true, Statements: stmts(c.attack...)})
			require.Equal(t, domain.StatusFailed, res.Status)
			require.True(t, res.Permanent)
			require.Equal(t, c.want, res.Error)
			require.Equal(t, 1, rows(), "the row is still there")
		})
	}
}

// TestPostgresConnectionRefusesStatementsOnceTheirTransactionEnded: a statement that ends the
// transaction it runs in — PREPARE TRANSACTION does, where the server allows prepared
// transactions, and no check of a statement's first keyword need know of it — leaves the
// statements after it to run outside, read-write. The connection sees from the server that the
// transaction is gone and refuses them, and the commit. A COMMIT stands in here for PREPARE
// TRANSACTION, which the test server does not allow; the runner would refuse it before running.
func TestPostgresConnectionRefusesStatementsOnceTheirTransactionEnded(t *testing.T) {
	t.Parallel()
	tg := targets(t)[0]
	r := newRunner(t, sqljob.Config{})
	_, rows := victim(t, r, tg)
	connector, err := sqljob.Postgres().Connector(tg.dsn, sqljob.Connect{Dial: (&net.Dialer{}).DialContext})
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	t.Cleanup(func() { db.Close() })

	for _, readOnly := range []bool{true, false} {
		tx, err := db.BeginTx(t.Context(), &sql.TxOptions{ReadOnly: readOnly})
		require.NoError(t, err)
		_, err = tx.ExecContext(t.Context(), "COMMIT")
		require.NoError(t, err)
		_, err = tx.ExecContext(t.Context(), "DELETE FROM t")
		require.EqualError(t, err, "the job's transaction was ended by an earlier statement; the statements after it would run outside it")
		_, err = tx.QueryContext(t.Context(), "DELETE FROM t RETURNING id")
		require.ErrorContains(t, err, "the job's transaction was ended by an earlier statement")
		require.ErrorContains(t, tx.Commit(), "the job's transaction was ended by an earlier statement")
		require.Equal(t, 1, rows(), "the row is still there")

		// The pool stays usable.
		res, err := db.ExecContext(t.Context(), "UPDATE t SET id = 1")
		require.NoError(t, err)
		n, err := res.RowsAffected()
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
	}
}

// TestPostgresRefusesSeveralStatementsInOneCall: every statement goes through the extended
// protocol, so the server itself refuses a string of several, in or out of a transaction, with
// parameters or without, and says why; none of them runs.
func TestPostgresRefusesSeveralStatementsInOneCall(t *testing.T) {
	t.Parallel()
	tg := targets(t)[0]
	r := newRunner(t, sqljob.Config{})
	reset, rows := victim(t, r, tg)
	for _, spec := range []domain.SQLSpec{
		{Statements: stmts("INSERT INTO t (id) VALUES (2); DELETE FROM t")},
		{Statements: stmts("DELETE FROM t; SELECT 1")},
		{Statements: stmts("SELECT 1; DELETE FROM t")},
		{Transaction: true, Statements: stmts("SELECT 1", "INSERT INTO t (id) VALUES (2); DELETE FROM t")},
		{Statements: []domain.SQLStatement{{SQL: "INSERT INTO t (id) VALUES ($1); DELETE FROM t", Params: []any{2}}}},
	} {
		reset()
		res, _ := run(t, r, tg, spec)
		last := len(spec.Statements)
		require.Equal(t, domain.StatusFailed, res.Status, spec.Statements[last-1].SQL)
		require.True(t, res.Permanent, "the same string fails the same way on a retry")
		require.Contains(t, res.Error, "cannot insert multiple commands into a prepared statement")
		require.Regexp(t, `^statement \d+: `, res.Error, "the error names the statement")
		require.Equal(t, 1, rows(), "%s: nothing ran", spec.Statements[last-1].SQL)
	}
}

// TestMariaDBJobCannotRunSeveralStatementsInOneCall: a connection string may not turn on
// multiStatements — neither as written nor once its templates are filled from a variable — and
// without it the server refuses a string of several statements, so a read_only job whose first
// statement reads cannot commit and delete after it, and no job runs two statements as one.
func TestMariaDBJobCannotRunSeveralStatementsInOneCall(t *testing.T) {
	t.Parallel()
	tg := targets(t)[1]
	r := newRunner(t, sqljob.Config{})
	reset, rows := victim(t, r, tg)
	const attack = "SELECT 1; COMMIT; DELETE FROM t WHERE id = 1"

	multi := tg
	multi.dsn += "?multiStatements=true"
	res, _ := run(t, r, multi, domain.SQLSpec{ReadOnly: true, Statements: stmts(attack)})
	require.Equal(t, domain.StatusFailed, res.Status)
	require.True(t, res.Permanent)
	require.Equal(t, `sql.dsn: the "multiStatements" parameter is not allowed: it runs several statements in one call, past the checks vecron makes of each statement`, res.Error)

	d, err := r.Render(event.Due{JobID: "j", Kind: domain.KindSQL, SQL: &domain.SQLSpec{Driver: tg.driver, DSN: "{{ var.SHOP_DSN }}",
		ReadOnly: true, Statements: stmts(attack)}}, &render.Context{Vars: map[string]string{"SHOP_DSN": multi.dsn}})
	require.NoError(t, err)
	res = r.Run(t.Context(), d)
	require.Equal(t, domain.StatusFailed, res.Status)
	require.True(t, res.Permanent)
	require.Contains(t, res.Error, `the "multiStatements" parameter is not allowed`, "checked again once the template is filled")
	require.Equal(t, 1, rows())

	for _, spec := range []domain.SQLSpec{
		{ReadOnly: true, Statements: stmts(attack)},
		{ReadOnly: true, Statements: []domain.SQLStatement{{SQL: "SELECT ?; COMMIT; DELETE FROM t WHERE id = 1", Params: []any{1}}}},
		{Statements: stmts("DELETE FROM t WHERE id = 1; SELECT 1")},
		{Transaction: true, Statements: stmts("SELECT 1; DELETE FROM t WHERE id = 1")},
	} {
		reset()
		res, _ := run(t, r, tg, spec)
		require.Equal(t, domain.StatusFailed, res.Status, spec.Statements[0].SQL)
		require.True(t, res.Permanent, spec.Statements[0].SQL)
		require.Contains(t, res.Error, "statement 1: ", spec.Statements[0].SQL)
		require.Equal(t, 1, rows(), "%s: the row is still there", spec.Statements[0].SQL)
	}
}

package executor_test

import (
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/sqljob"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/variables"
)

func newSQLSecretsFixture(t *testing.T) *secretsFixture {
	t.Helper()
	policy, err := egress.New(egress.Loopback())
	require.NoError(t, err)
	runner, err := sqljob.New(clockwork.NewRealClock(), []sqljob.Dialect{sqljob.Postgres(), sqljob.MySQL()}, policy,
		testenv.PostgresIdentity(t, testenv.PostgresURL(t)), sqljob.Config{})
	require.NoError(t, err)
	t.Cleanup(runner.Close)
	return newSecretsFixtureWith(t, domain.KindSQL, "execute-db", runner)
}

func sqlJob(t *testing.T, f *secretsFixture, driver, dsn string, stmts ...domain.SQLStatement) *domain.Job {
	t.Helper()
	j := testfactory.Job(t, f.store, testfactory.JobOpts{Retry: &domain.RetryPolicy{MaxAttempts: 1}})
	j.Kind, j.HTTP = domain.KindSQL, nil
	j.SQL = &domain.SQLSpec{Driver: driver, DSN: dsn, Statements: stmts}
	return j
}

// TestASecretThroughSQLIsMasked is the attack of having the target database transform a secret
// (reverse, hex, upper) into a result, or quote it in an error: the forms are masked in what is
// stored. What no masker can hide — an arbitrary function such as substr — is documented.
func TestASecretThroughSQLIsMasked(t *testing.T) {
	t.Parallel()
	const token = "Tok-SQL-5fe1c2"
	f := newSQLSecretsFixture(t)
	f.put(t, domain.ScopeGlobal, "", "TOKEN", variables.PutRequest{Value: new(token), IsSecret: new(true)})
	reversed := []rune(token)
	slices.Reverse(reversed)
	forms := []string{token, strings.ToUpper(token), strings.ToLower(token), string(reversed),
		hex.EncodeToString([]byte(token)), strings.ToUpper(hex.EncodeToString([]byte(token)))}
	param := []any{"{{ var.TOKEN }}"}

	for name, j := range map[string]*domain.Job{
		"PostgresResult": sqlJob(t, f, domain.DriverPostgres, testenv.PostgresTargetURL(t), domain.SQLStatement{
			SQL: "SELECT reverse($1::text) AS r, encode(convert_to($1::text, 'UTF8'), 'hex') AS h, upper($1::text) AS u, lower($1::text) AS l", Params: param}),
		"PostgresError": sqlJob(t, f, domain.DriverPostgres, testenv.PostgresTargetURL(t), domain.SQLStatement{
			SQL: "SELECT $1::int", Params: []any{"{{ var.TOKEN | lower }}"}}),
		"MySQLResult": sqlJob(t, f, domain.DriverMySQL, testenv.MySQLDSN(t), domain.SQLStatement{
			SQL: "SELECT REVERSE(?) AS r, HEX(?) AS h, UPPER(?) AS u", Params: []any{"{{ var.TOKEN }}", "{{ var.TOKEN }}", "{{ var.TOKEN }}"}}),
	} {
		e := f.run(t, j)
		if strings.HasSuffix(name, "Error") {
			require.NotEqual(t, domain.StatusSucceeded, e.Status, name)
			require.Contains(t, e.Error, "******", name)
		} else {
			require.Equal(t, domain.StatusSucceeded, e.Status, "%s: %s", name, e.Error)
			require.Contains(t, e.ResponseExcerpt, "******", name)
		}
		for _, form := range forms {
			require.NotContains(t, e.ResponseExcerpt+e.Error, form, name)
		}
	}
	for _, form := range forms {
		require.NotContains(t, f.logs.String(), form)
	}
}

// TestABoundSecretIsNotSentToAnotherDatabase: a secret bound to one database host is not sent,
// as a parameter or a password, to a job's other target.
func TestABoundSecretIsNotSentToAnotherDatabase(t *testing.T) {
	t.Parallel()
	f := newSQLSecretsFixture(t)
	f.put(t, domain.ScopeGlobal, "", "REPORT_KEY", variables.PutRequest{Value: new("key-7d41e0"), IsSecret: new(true),
		AllowedHosts: &[]string{"reports.db.internal:5432"}})
	j := sqlJob(t, f, domain.DriverPostgres, testenv.PostgresTargetURL(t), domain.SQLStatement{
		SQL: "SELECT $1::text", Params: []any{"{{ var.REPORT_KEY }}"}})
	e := f.run(t, j)
	require.Equal(t, domain.StatusFailed, e.Status)
	require.Contains(t, e.Error, "not sent: secret variable REPORT_KEY may be sent only to reports.db.internal:5432 (its allowed_hosts), not to 127.0.0.1:")
}

// TestABoundSecretIsNotSentToAFallbackServer: a connection string that lists a second server,
// which pgx would try when the first fails, may not carry a secret bound to the first.
func TestABoundSecretIsNotSentToAFallbackServer(t *testing.T) {
	t.Parallel()
	f := newSQLSecretsFixture(t)
	target := testenv.PostgresTargetURL(t)
	u, err := url.Parse(target)
	require.NoError(t, err)
	f.put(t, domain.ScopeGlobal, "", "REPORT_KEY", variables.PutRequest{Value: new("key-0c9a55"), IsSecret: new(true),
		AllowedHosts: &[]string{u.Host}})
	ok := sqlJob(t, f, domain.DriverPostgres, target, domain.SQLStatement{SQL: "SELECT $1::text", Params: []any{"{{ var.REPORT_KEY }}"}})
	require.Equal(t, domain.StatusSucceeded, f.run(t, ok).Status)

	withFallback := strings.Replace(target, u.Host, u.Host+",fallback.invalid:5432", 1)
	j := sqlJob(t, f, domain.DriverPostgres, withFallback, domain.SQLStatement{SQL: "SELECT $1::text", Params: []any{"{{ var.REPORT_KEY }}"}})
	e := f.run(t, j)
	require.Equal(t, domain.StatusFailed, e.Status, e.Error)
	require.Equal(t, "not sent: secret variable REPORT_KEY may be sent only to "+u.Host+" (its allowed_hosts), not to fallback.invalid:5432", e.Error)
}

package oracle_test

import (
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"
	goora "github.com/sijms/go-ora/v2"
	"github.com/sijms/go-ora/v2/network"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/sqljob"
	"github.com/vecron/vecron/shared/sqljob/oracle"
	"github.com/vecron/vecron/shared/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// No Oracle server can run on the machines the tests run on: these tests check everything up to
// the wire — URLs, guards, classification, a refused connection — and say so in their names.

const password = `p@ss:w/rd?&#% 'x"`

// newRunner returns a runner of the execute-db-oracle build's dialects, closed when the test
// ends, that may connect to this host.
func newRunner(t *testing.T) *sqljob.Runner {
	t.Helper()
	return newRunnerWith(t, egress.Loopback())
}

func newRunnerWith(t *testing.T, ec egress.Config) *sqljob.Runner {
	t.Helper()
	policy, err := egress.New(ec)
	require.NoError(t, err)
	// No Oracle database can be vecron's system database, which is PostgreSQL.
	r, err := sqljob.New(clockwork.NewRealClock(), []sqljob.Dialect{sqljob.Postgres(), sqljob.MySQL(), oracle.Dialect()}, policy,
		domain.DatabaseIdentity{SystemID: "0", Database: "vecron"}, sqljob.Config{})
	require.NoError(t, err)
	t.Cleanup(r.Close)
	return r
}

func TestSourceBuildsURLFromFields_NotRunAgainstOracle(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	spec := &domain.SQLSpec{Driver: domain.DriverOracle, Host: "db.bank.internal", Database: "ORCLPDB1", User: "batch", Password: password}
	driverName, dsn, err := r.Source(spec)
	require.NoError(t, err)
	require.Equal(t, "oracle", driverName)
	cfg, err := goora.ParseConfig(dsn)
	require.NoError(t, err)
	require.Equal(t, "batch", cfg.UserID)
	require.Equal(t, password, cfg.Password, "the password survives the URL's escaping")
	require.Equal(t, "ORCLPDB1", cfg.ServiceName)
	require.Len(t, cfg.Servers, 1)
	require.Equal(t, "db.bank.internal", cfg.Servers[0].Addr)
	require.Equal(t, oracle.DefaultPort, cfg.Servers[0].Port)

	spec.Port = 1600
	_, dsn, err = r.Source(spec)
	require.NoError(t, err)
	require.Equal(t, "oracle://db.bank.internal:1600", oracle.Target(dsn))

	_, _, err = r.Source(&domain.SQLSpec{Driver: domain.DriverOracle, Host: "db", User: "u"})
	require.EqualError(t, err, "sql.database: is required for Oracle: the service name, such as ORCLPDB1")
	_, _, err = r.Source(&domain.SQLSpec{Driver: domain.DriverOracle, Host: "db", Database: "S", User: "u"})
	require.ErrorContains(t, err, "the executor's OS user", "no password: the driver would use OS authentication")
}

func TestSourceChecksGivenURLs_NotRunAgainstOracle(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	ok := "oracle://batch:secret@db:1521/ORCLPDB1?PREFETCH_ROWS=100&TIMEOUT=30"
	_, dsn, err := r.Source(&domain.SQLSpec{Driver: domain.DriverOracle, DSN: ok})
	require.NoError(t, err)
	require.Equal(t, ok, dsn)

	// A RAC descriptor names its servers itself; the breaker keys on the first.
	rac := "oracle://batch:secret@:0/?connStr=" + strings.ReplaceAll("(DESCRIPTION=(ADDRESS_LIST=(ADDRESS=(PROTOCOL=TCP)(HOST=rac1)(PORT=1521))(ADDRESS=(PROTOCOL=TCP)(HOST=rac2)(PORT=1521)))(CONNECT_DATA=(SERVICE_NAME=BATCH)))", " ", "")
	_, dsn, err = r.Source(&domain.SQLSpec{Driver: domain.DriverOracle, DSN: rac})
	require.NoError(t, err)
	require.Equal(t, "oracle://rac1:1521", oracle.Target(dsn))

	for dsn, want := range map[string]string{
		"postgres://batch:" + password + "@db/x":       "sql.dsn: not an Oracle connection URL (oracle://user:password@host:1521/service)",
		"batch/secret@db:1521/ORCLPDB1":                "sql.dsn: not an Oracle connection URL (oracle://user:password@host:1521/service)",
		"oracle://batch:secret@/ORCLPDB1":              "sql.dsn: names no server: give host:port, or a connStr descriptor",
		"oracle://batch:secret@db:1521/S?RETRY TIME=3": `sql.dsn: the "RETRY TIME" option is not allowed; a job may set server, service name, sid, instance name, connstr, ssl, ssl verify, encryption, data integrity, timeout, connect timeout, connection timeout, prefetch_rows, lob fetch, language, territory, charset, client charset, program, use_oob, enable_oob, enable urgent data transport`,
		"oracle://batch:secret@db:1521/S?TIMEOUT=x":    "sql.dsn: not a valid Oracle connection URL",
		"oracle://db:1521/ORCLPDB1":                    "sql.dsn: names no user or no password: without them the driver logs in as the executor's OS user",
		"oracle://batch@db:1521/ORCLPDB1":              "sql.dsn: names no user or no password: without them the driver logs in as the executor's OS user",
	} {
		_, _, err := r.Source(&domain.SQLSpec{Driver: domain.DriverOracle, DSN: dsn})
		require.EqualError(t, err, want, dsn)
	}
}

func TestSourceRefusesOptionsThatUseTheExecutorsHost_NotRunAgainstOracle(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	for _, opt := range []string{"wallet=/etc/vecron", "WALLET%20PASSWORD=x", "trace%20file=/tmp/t.log", "TRACE%20DIR=/tmp",
		"unix%20socket=/var/run/ora", "AUTH%20TYPE=OS", "auth%20type=kerberos", "OS%20USER=root", "os%20password=x", "AUTH%20SERV=NTS",
		"w%61llet=/etc/vecron", "DBA%20PRIVILEGE=SYSDBA", "cid=(PROGRAM=x)", "unknown=1"} {
		dsn := goora.BuildUrl("db", 1521, "ORCLPDB1", "batch", password, nil) + "?" + opt
		_, _, err := r.Source(&domain.SQLSpec{Driver: domain.DriverOracle, DSN: dsn})
		require.Error(t, err, opt)
		require.Contains(t, err.Error(), "is not allowed", opt)
		require.NotContains(t, err.Error(), "p@ss", "an error never shows the DSN")
	}
}

func TestClassification_NotRunAgainstOracle(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	for _, c := range []struct {
		code      int
		permanent bool
	}{
		{60, false},    // deadlock
		{8177, false},  // serialization
		{54, false},    // resource busy
		{3113, false},  // end-of-file on communication channel
		{12541, false}, // no listener
		{1033, false},  // starting up
		{942, true},    // table or view does not exist
		{900, true},    // invalid SQL statement
		{1031, true},   // insufficient privileges
		{1, true},      // unique constraint
		{1400, true},   // cannot insert NULL
		{1456, true},   // insert in a READ ONLY transaction
		{1017, true},   // invalid username/password
	} {
		err := fmt.Errorf("statement 2: %w", &network.OracleError{ErrCode: c.code})
		require.Equal(t, c.permanent, r.Permanent(err), "ORA-%05d", c.code)
	}
	ours, permanent, timedOut := oracle.Classify(&network.OracleError{ErrCode: 1013})
	require.True(t, ours)
	require.False(t, permanent)
	require.True(t, timedOut, "ORA-01013 is a statement cancelled at its timeout")
	ours, _, _ = oracle.Classify(errors.New("dial tcp: connection refused"))
	require.False(t, ours)
}

func TestReasonsOfOracleErrors_NotRunAgainstOracle(t *testing.T) {
	t.Parallel()
	for code, want := range map[int]domain.FailReason{
		1017:  domain.FailAuth,    // invalid username/password
		28000: domain.FailAuth,    // account locked
		12541: domain.FailConnect, // no listener
		3113:  domain.FailConnect, // end-of-file on communication channel
		942:   "",                 // table or view does not exist: the runner's rule (sql_error)
	} {
		require.Equal(t, want, oracle.Reason(fmt.Errorf("connect: %w", &network.OracleError{ErrCode: code})), "ORA-%05d", code)
	}
	require.Empty(t, oracle.Reason(errors.New("dial tcp: connection refused")))
}

func TestRunAgainstNoListenerRetriesWithoutShowingThePassword_NotRunAgainstOracle(t *testing.T) {
	t.Parallel()
	port := testenv.RefusedAddr(t).Port // nothing listens there

	r := newRunner(t)
	res := r.Run(t.Context(), event.Due{JobID: "j", Kind: domain.KindSQL, SQL: &domain.SQLSpec{
		Driver: domain.DriverOracle, Host: "127.0.0.1", Port: port, Database: "ORCLPDB1", User: "batch", Password: password,
		Statements: []domain.SQLStatement{{SQL: "SELECT 1 FROM dual"}},
	}})
	require.Equal(t, domain.StatusFailed, res.Status)
	require.False(t, res.Permanent, "no listener may be a database restarting: retry")
	require.Equal(t, domain.FailConnect, res.Reason, res.Error)
	require.Contains(t, res.Error, "connect")
	require.NotContains(t, res.Error, "p@ss")
	require.Equal(t, fmt.Sprintf("oracle://127.0.0.1:%d", port), r.Target(event.Due{SQL: &domain.SQLSpec{
		Driver: domain.DriverOracle, Host: "127.0.0.1", Port: port, Database: "ORCLPDB1", User: "batch", Password: password}}))
}

// TestEgressPolicyRefusesOracleTargetsBeforeConnecting_NotRunAgainstOracle: go-ora dials through
// the egress policy, so a denied address fails for good, with the rule, and is never dialed.
func TestEgressPolicyRefusesOracleTargetsBeforeConnecting_NotRunAgainstOracle(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	accepted := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
			select {
			case accepted <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	port := ln.Addr().(*net.TCPAddr).Port

	r := newRunnerWith(t, egress.Config{})
	for _, host := range []string{"127.0.0.1", "localhost"} {
		res := r.Run(t.Context(), event.Due{JobID: "j", Kind: domain.KindSQL, SQL: &domain.SQLSpec{
			Driver: domain.DriverOracle, Host: host, Port: port, Database: "ORCLPDB1", User: "batch", Password: password,
			Statements: []domain.SQLStatement{{SQL: "SELECT 1 FROM dual"}},
		}})
		require.Equal(t, domain.StatusFailed, res.Status, host)
		require.True(t, res.Permanent, host)
		require.Regexp(t, `^connect: egress policy refuses (127\.0\.0\.1|::1) \(default rule: loopback`, res.Error, host)
	}
	select {
	case <-accepted:
		t.Fatal("the driver connected to a denied address")
	default:
	}
}

func TestNamedParametersBindAsSQLNamed_NotRunAgainstOracle(t *testing.T) {
	t.Parallel()
	args := sqljob.NamedSQL(map[string]any{"run_date": "2026-11-29"})
	require.Equal(t, []any{sql.Named("run_date", "2026-11-29")}, args, "go-ora binds sql.Named to :run_date")
}

func TestReadOnlyRunsQueriesOnly_NotRunAgainstOracle(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	for _, q := range []string{"BEGIN purge_old_rows; COMMIT; END;", "TRUNCATE TABLE report", "DELETE FROM report"} {
		// Refused before any connection: nothing listens at this address.
		res := r.Run(t.Context(), event.Due{JobID: "j", Kind: domain.KindSQL, SQL: &domain.SQLSpec{
			Driver: domain.DriverOracle, Host: "127.0.0.1", Port: 9, Database: "ORCLPDB1", User: "batch", Password: password,
			ReadOnly: true, Statements: []domain.SQLStatement{{SQL: "SELECT 1 FROM dual"}, {SQL: q}},
		}})
		require.Equal(t, domain.StatusFailed, res.Status, q)
		require.True(t, res.Permanent, q)
		require.Contains(t, res.Error, "statement 2: read_only oracle jobs run only queries", q)
	}
}

func FuzzSource(f *testing.F) {
	for _, s := range []string{"oracle://u:p@h:1521/S", "oracle://u:p@:0/?connStr=(DESCRIPTION=(ADDRESS=(HOST=a)(PORT=1)))", "oracle://h:1521/S",
		"oracle://u:p@h/S?wallet=/x", "oracle://%zz", "oracle://u:p@h:1521/S?server=h2:1522&TIMEOUT=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		got, err := oracle.Source(&domain.SQLSpec{Driver: domain.DriverOracle, DSN: dsn})
		if err != nil {
			return
		}
		cfg, err := goora.ParseConfig(got)
		if err != nil {
			t.Fatalf("accepted %q, which the driver cannot parse: %v", dsn, err)
		}
		if cfg.TraceFilePath != "" || cfg.TraceDir != "" || cfg.UnixAddress != "" || cfg.OSPassword != "" || cfg.UserID == "" || cfg.Password == "" {
			t.Fatalf("accepted %q, which uses the executor's host", dsn)
		}
		_ = oracle.Target(got)
	})
}

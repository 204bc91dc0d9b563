package sqljob_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/sqljob"
)

// TestCheckDSNRefusesWhatTheAllowListDoesNotName: parameters are judged by the name the driver
// reads, so an escaped spelling (ssl%72ootcert) is the parameter it decodes to, and whatever is
// not on the allow-list is refused — before the driver could open a file.
func TestCheckDSNRefusesWhatTheAllowListDoesNotName(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ driver, dsn, want string }{
		// The attack of issue 14: a URL-encoded file-reading option.
		{domain.DriverPostgres, "postgres://u:p@db:5432/x?ssl%72ootcert=/etc/vecron/ca.pem", `the "sslrootcert" parameter is not allowed: it reads a file of the executor's host`},
		{domain.DriverPostgres, "postgres://u:p@db/x?%73slkey=/k&sslcert=/c", `is not allowed: it reads a file of the executor's host`},
		{domain.DriverPostgres, "host=db user=u sslrootcert=/etc/ssl/private/ca.pem", `the "sslrootcert" parameter is not allowed`},
		{domain.DriverPostgres, "host=db user=u passfile=/root/.pgpass", `the "passfile" parameter is not allowed: it reads a password file`},
		{domain.DriverPostgres, "host=db user=u service=prod", `the "service" parameter is not allowed: it reads a service file`},
		{domain.DriverPostgres, "postgresql://u@db/x?service=prod", `the "service" parameter is not allowed`},
		{domain.DriverPostgres, "host=db user=u sslpassword=x", `the "sslpassword" parameter is not allowed`},
		{domain.DriverPostgres, "host=db user=u sslcertmode=require", `the "sslcertmode" parameter is not allowed: it would present the executor's client certificate`},
		{domain.DriverPostgres, "host=db user=u krbsrvname=postgres", `the "krbsrvname" parameter is not allowed`},
		{domain.DriverPostgres, "host=db user=u options='-c\\ role=admin'", `the "options" parameter is not allowed; a job may set host, port`},
		{domain.DriverPostgres, "postgres://u@db/x?default_query_exec_mode=simple_protocol", `the "default_query_exec_mode" parameter is not allowed`},
		// Connecting as the executor: its OS user, its Unix sockets.
		{domain.DriverPostgres, "host=db dbname=x", "sql.dsn: names no user"},
		{domain.DriverPostgres, "postgres://db/x", "sql.dsn: names no user"},
		{domain.DriverPostgres, "host=/var/run/postgresql user=u", "sql.dsn: names no host, or a Unix socket"},
		{domain.DriverPostgres, "postgres://u@%2Fvar%2Frun%2Fpostgresql/x", "sql.dsn: names no host, or a Unix socket"},
		{domain.DriverPostgres, "postgres://u@/x", "sql.dsn: names no host, or a Unix socket"},
		// Text after the job's string is vecron's: a trailing backslash or a key without a value
		// does not let the job's string swallow it.
		{domain.DriverPostgres, "host=db user=u sslrootcert=/x host=a\\", `the "sslrootcert" parameter is not allowed`},
		{domain.DriverPostgres, "user=u sslkey=/k host=", `the "sslkey" parameter is not allowed`},
		{domain.DriverPostgres, "host=db user='u", "sql.dsn: not a PostgreSQL connection string"},
		{domain.DriverPostgres, "host=db user=u\x00", "sql.dsn: not a PostgreSQL connection string"},
		{domain.DriverPostgres, "postgres://u@db/x?sslmode=verify-full&sslrootcert=system", `the "sslrootcert" parameter is not allowed`},

		{domain.DriverMySQL, "u:p@tcp(db:3306)/x?allowAllFiles=true", `the "allowAllFiles" parameter is not allowed: it lets the server read any file of the executor's host`},
		{domain.DriverMySQL, "u:p@tcp(db:3306)/x?allowAllFiles=1", `the "allowAllFiles" parameter is not allowed`},
		{domain.DriverMySQL, "u:p@tcp(db:3306)/x?multiStatements=true", `the "multiStatements" parameter is not allowed: it runs several statements in one call`},
		{domain.DriverMySQL, "u:p@tcp(db:3306)/x?interpolateParams=true", `the "interpolateParams" parameter is not allowed`},
		{domain.DriverMySQL, "u:p@tcp(db:3306)/x?allowCleartextPasswords=true", `the "allowCleartextPasswords" parameter is not allowed`},
		{domain.DriverMySQL, "u:p@tcp(db:3306)/x?allowOldPasswords=true", `the "allowOldPasswords" parameter is not allowed`},
		{domain.DriverMySQL, "u:p@tcp(db:3306)/x?tls=executor-client-cert", "sql.dsn: not a MySQL connection string"}, // no such configuration registered
		{domain.DriverMySQL, "u:p@tcp(db:3306)/x?serverPubKey=k", "sql.dsn: not a MySQL connection string"},           // no such key registered
		{domain.DriverMySQL, "u:p@unix(/var/run/mysqld/mysqld.sock)/x", "sql.dsn: connects by a Unix socket"},
		{domain.DriverMySQL, "u:p@tcp(db:3306)/x?strict=true", "sql.dsn: not a MySQL connection string"}, // the driver panics on it
		{domain.DriverMySQL, "u:p@tcp(db:3306)/x?sql_log_bin=0", `the session variable "sql_log_bin" is not one a job may set`},
		{domain.DriverMySQL, "u:p@tcp(db:3306)/x?time_zone=%27%2B00:00%27,sql_log_bin%3D0", `the value of "time_zone" may hold only`},
		{domain.DriverMySQL, "u:p@tcp(db:3306)/x?sql_mode=(SELECT%201)", `the value of "sql_mode" may hold only`},

		{domain.DriverOracle, "oracle://u:p@db:1521/S?WALLET=/etc/wallet", `the "WALLET" option is not allowed: it reads a wallet from the executor's files`},
		{domain.DriverOracle, "oracle://u:p@db:1521/S?wal%6Cet=/etc/wallet", `the "wallet" option is not allowed`},
		{domain.DriverOracle, "oracle://u:p@db:1521/S?DBA%20PRIVILEGE=SYSDBA", `the "DBA PRIVILEGE" option is not allowed`},
		{domain.DriverOracle, "oracle://u:p@db:1521/S?FAILOVER=1", `the "FAILOVER" option is not allowed`},
		{domain.DriverOracle, "oracle://db:1521/S", "names no user or no password"},
	} {
		err := sqljob.CheckDSN(c.driver, c.dsn)
		require.Error(t, err, c.dsn)
		require.Contains(t, err.Error(), c.want, c.dsn)
		require.True(t, strings.HasPrefix(err.Error(), "sql.dsn: "), err.Error())
		require.NotContains(t, err.Error(), "/etc/", "an error never shows the DSN")
	}
}

func TestCheckDSNAcceptsWhatJobsNeed(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ driver, dsn string }{
		{domain.DriverPostgres, "postgres://etl:s3cr3t@db.internal:5432/reports?sslmode=verify-full&application_name=nightly&connect_timeout=5"},
		{domain.DriverPostgres, "postgresql://etl@db1:5432,db2:5433/reports?target_session_attrs=read-write&search_path=etl,public"},
		{domain.DriverPostgres, "postgres://etl@db/reports?ssl=true"},
		{domain.DriverPostgres, "postgres://etl@db/reports?"},
		{domain.DriverPostgres, "postgres://etl@[::1]:5432/reports?statement_timeout=30000&lock_timeout=1000&timezone=Asia/Ho_Chi_Minh"},
		{domain.DriverPostgres, "host=db.internal port=6432 dbname=reports user=etl password='p\\'w d' sslmode=require channel_binding=prefer"},
		{domain.DriverPostgres, "host=db user=u application_name=a\\ b"},
		{domain.DriverMySQL, "etl:s3cr3t@tcp(db.internal:3306)/shop?tls=true&charset=utf8mb4&loc=Asia%2FHo_Chi_Minh&timeout=5s&readTimeout=30s"},
		{domain.DriverMySQL, "etl@tcp6([::1]:3306)/shop?time_zone=%27%2B07:00%27&sql_mode=%27STRICT_ALL_TABLES%27&compress=true&parseTime=true"},
		{domain.DriverMySQL, "etl@tcp(db)/shop?tls=skip-verify&maxAllowedPacket=16777216&clientFoundRows=true&collation=utf8mb4_general_ci"},
		{domain.DriverOracle, "oracle://batch:secret@db:1521/ORCLPDB1?PREFETCH_ROWS=100&TIMEOUT=30&SSL=true&SSL%20VERIFY=true"},
	} {
		require.NoError(t, sqljob.CheckDSN(c.driver, c.dsn), c.dsn)
	}
	require.ErrorContains(t, sqljob.CheckDSN("mssql", "x"), `sql.driver: "mssql" is not one of postgres, mysql, oracle`)
}

// TestDSNPasswordInClear: the password of a connection string is found where the driver reads
// it — with the driver's parser when it can parse the string, templates replaced by stand-ins,
// by its syntax when it cannot — and is in clear unless it is made of variables alone.
func TestDSNPasswordInClear(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		driver, dsn string
		inClear     bool
	}{
		{domain.DriverPostgres, "postgres://etl:s3cr3t@db/reports", true},
		{domain.DriverPostgres, "postgres://etl@db/reports?password=s3cr3t", true},
		{domain.DriverPostgres, "postgres://etl:s3cr3t@db:{{ var.PORT }}/reports", true},
		{domain.DriverPostgres, "postgres://etl:s3cr3t@db/reports?sslrootcert=/x", true},
		{domain.DriverPostgres, "host=db user=etl password=s3cr3t", true},
		{domain.DriverPostgres, "host=db user=etl password = 'a \\' b'", true},
		{domain.DriverPostgres, "host=db port={{ var.PORT }} user=etl password=s3cr3t", true},
		{domain.DriverPostgres, "host=db user=etl password='s3cr3t{{ var.PW }}'", true},
		{domain.DriverPostgres, `postgres://etl:{{ "s3cr3t" }}@db/reports`, true},
		{domain.DriverPostgres, "postgres://etl:{{ job.name }}@db/reports", true},
		{domain.DriverMySQL, "etl:s3cr3t@tcp(db:3306)/shop", true},
		{domain.DriverMySQL, "etl:s3cr3t@tcp({{ var.ADDR }})/shop", true},
		{domain.DriverMySQL, "etl:s3c/r3t@tcp(db:3306)/shop?x={{ var.X }}", true},
		{domain.DriverOracle, "oracle://etl:s3cr3t@db:1521/S", true},
		{domain.DriverOracle, "oracle://etl:s3cr3t@db:{{ var.PORT }}/S", true},

		{domain.DriverPostgres, "postgres://etl@db/reports", false},
		{domain.DriverPostgres, "postgres://etl:{{ var.PW }}@db/reports", false},
		{domain.DriverPostgres, "postgres://etl:{{ var.PW | urlquery }}@db:{{ var.PORT }}/reports", false},
		{domain.DriverPostgres, "postgres://etl@db/reports?password={{ var.PW }}", false},
		{domain.DriverPostgres, "host=db user=etl password={{ var.PW }}", false},
		{domain.DriverPostgres, "host=db user=etl password='{{ var.PW }}' sslpassword=x", false},
		{domain.DriverPostgres, "host=db port={{ var.PORT }} user=etl password={{var.PW}}", false},
		{domain.DriverPostgres, "{{ var.REPORTS_DSN }}", false},
		{domain.DriverMySQL, "etl@tcp(db:3306)/shop", false},
		{domain.DriverMySQL, "etl:{{ var.PW }}@tcp({{ var.ADDR }})/shop", false},
		{domain.DriverMySQL, "{{ var.SHOP_DSN }}", false},
		{domain.DriverOracle, "oracle://etl:{{ var.PW }}@db:1521/S", false},
		{domain.DriverOracle, "oracle://etl:{{ var.PW }}@db:{{ var.PORT }}/S", false},
		{domain.DriverOracle, "{{ var.ORACLE_DSN }}", false},
	} {
		require.Equal(t, c.inClear, sqljob.DSNPasswordInClear(c.driver, c.dsn), c.dsn)
	}
	require.True(t, sqljob.PasswordInClear("s3cr3t"))
	require.True(t, sqljob.PasswordInClear("s3cr3t{{ var.PW }}"))
	require.True(t, sqljob.PasswordInClear(`{{ "}}" }}`))
	require.False(t, sqljob.PasswordInClear("{{ var.PW }}"))
	require.False(t, sqljob.PasswordInClear(" {{ var.A }}{{ var.B | urlquery }} "))
}

// TestCheckDSNWithTemplates: a string whose templates fill only its password is checked on
// write with stand-ins, so a refused parameter is refused at once and an Oracle URL carries its
// password as a variable; one whose templates fill more waits to be checked once filled.
func TestCheckDSNWithTemplates(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ driver, dsn, want string }{
		{domain.DriverPostgres, "postgres://u:{{ var.PW }}@db/x?ssl%72ootcert=/etc/x", `the "sslrootcert" parameter is not allowed`},
		{domain.DriverPostgres, "host=db user=u password={{ var.PW }} passfile=/root/.pgpass", `the "passfile" parameter is not allowed`},
		{domain.DriverMySQL, "u:{{ var.PW }}@tcp(db:3306)/x?multiStatements=true", `the "multiStatements" parameter is not allowed`},
		{domain.DriverOracle, "oracle://u:{{ var.PW }}@db:1521/S?WALLET=/etc/wallet", `the "WALLET" option is not allowed`},
		{domain.DriverOracle, "oracle://u@db:1521/S", "names no user or no password"},
	} {
		require.ErrorContains(t, sqljob.CheckDSN(c.driver, c.dsn), c.want, c.dsn)
	}
	for _, c := range []struct{ driver, dsn string }{
		{domain.DriverPostgres, "postgres://u:{{ var.PW }}@db/x?sslmode=require"},
		{domain.DriverOracle, "oracle://u:{{ var.PW }}@db:1521/S"},
		{domain.DriverOracle, "oracle://u:{{ var.PW | urlquery }}{{ var.PW2 }}@db:1521/S"},
		// Filled elsewhere too: checked once filled.
		{domain.DriverPostgres, "{{ var.DSN }}"},
		{domain.DriverPostgres, "postgres://u:{{ var.PW }}@db:{{ var.PORT }}/x?sslrootcert=/etc/x"},
		{domain.DriverOracle, "oracle://{{ var.USER }}@db:1521/S"},
	} {
		require.NoError(t, sqljob.CheckDSN(c.driver, c.dsn), c.dsn)
	}
	require.ErrorContains(t, sqljob.CheckDSN("mssql", "{{ var.DSN }}"), `sql.driver: "mssql" is not one of`)
}

// postgresAllowed are the PostgreSQL parameters docs/sql-jobs.md lets a job set, and servicefile,
// which vecron overrides rather than refuses (it is read only with a service, which is refused).
var postgresAllowed = []string{"host", "port", "dbname", "user", "password", "sslmode", "channel_binding", "connect_timeout",
	"target_session_attrs", "application_name", "search_path", "timezone", "client_encoding", "statement_timeout",
	"lock_timeout", "idle_in_transaction_session_timeout", "servicefile"}

// FuzzCheckDSN: no connection string makes the check panic, and one it accepts (PostgreSQL,
// MySQL or Oracle) configures no file of the executor's host, no local socket and no parameter
// off the allow-lists.
func FuzzCheckDSN(f *testing.F) {
	for _, s := range []string{
		"postgres://u:p@db:5432/x?sslmode=require", "postgres://u@db/x?ssl%72ootcert=/x", "host=db user=u sslkey=/k host=a\\",
		"postgresql://u@[::1]:5432,h2/x?", "host=db user=u password='a b'", "postgres://u@db/x?a=b?c=d", "user=u host=",
		"u:p@tcp(db:3306)/x?allowAllFiles=true", "u@tcp(db)/x?time_zone=%27%2B00:00%27", "u:p@unix(/s)/x", "u@tcp(h)/x?strict=1",
	} {
		f.Add(uint8(0), s)
		f.Add(uint8(1), s)
	}
	for _, s := range []string{"oracle://u:p@h:1521/S?TIMEOUT=3", "oracle://u:p@h/S?w%61llet=/x", "oracle://u:p@:0/?connStr=(DESCRIPTION=(ADDRESS=(HOST=a)(PORT=1)))"} {
		f.Add(uint8(2), s)
	}
	f.Add(uint8(0), "postgres://u:{{ var.PW }}@db:{{ var.PORT }}/x")
	f.Add(uint8(1), `u:{{ "}}" }}@tcp(db)/x`)
	f.Fuzz(func(t *testing.T, which uint8, dsn string) {
		driver := []string{domain.DriverPostgres, domain.DriverMySQL, domain.DriverOracle}[which%3]
		// Without templates, a string the check accepts that has a password for the driver is
		// said to have one in clear. (The other way round the check may err, on the safe side.)
		if inClear := sqljob.DSNPasswordInClear(driver, dsn); !strings.Contains(dsn, "{{") && sqljob.CheckDSN(driver, dsn) == nil {
			var pw string
			switch driver {
			case domain.DriverPostgres:
				cfg, err := pgconn.ParseConfigWithOptions(dsn, pgconn.ParseConfigOptions{ConnStringAllowedKeys: postgresAllowed})
				if err != nil {
					return // the driver's defaults fill what the string leaves out
				}
				pw = cfg.Password
			case domain.DriverMySQL:
				cfg, err := mysql.ParseDSN(dsn)
				if err != nil {
					t.Fatalf("accepted %q, which the driver cannot parse: %v", dsn, err)
				}
				pw = cfg.Passwd
			case domain.DriverOracle:
				u, err := url.Parse(dsn)
				if err != nil {
					t.Fatalf("accepted %q, which is no URL: %v", dsn, err)
				}
				pw, _ = u.User.Password()
			}
			if !inClear && strings.TrimSpace(pw) != "" {
				t.Fatalf("%s %q: password %q, in clear %v", driver, dsn, pw, inClear)
			}
		}
		if strings.Contains(dsn, "{{") {
			return // what the check leaves to the filled string, the runner checks
		}
		switch which % 3 {
		case 0:
			if err := sqljob.CheckDSN(domain.DriverPostgres, dsn); err == nil {
				// The driver's own allow-list, on the job's string alone, finds no other key.
				_, err := pgconn.ParseConfigWithOptions(dsn, pgconn.ParseConfigOptions{ConnStringAllowedKeys: postgresAllowed})
				if err != nil && strings.HasSuffix(err.Error(), "is not in ConnStringAllowedKeys") {
					t.Fatalf("accepted %q: %v", dsn, err)
				}
			}
		case 1:
			if err := sqljob.CheckDSN(domain.DriverMySQL, dsn); err == nil {
				cfg, err := mysql.ParseDSN(dsn)
				if err != nil {
					t.Fatalf("accepted %q, which the driver cannot parse: %v", dsn, err)
				}
				if cfg.AllowAllFiles || cfg.MultiStatements || cfg.InterpolateParams || cfg.AllowCleartextPasswords || cfg.Net == "unix" || cfg.ServerPubKey != "" {
					t.Fatalf("accepted %q: %+v", dsn, cfg)
				}
			}
		case 2:
			if err := sqljob.CheckDSN(domain.DriverOracle, dsn); err == nil {
				u, err := url.Parse(dsn)
				if err != nil {
					t.Fatalf("accepted %q, which is no URL: %v", dsn, err)
				}
				for key := range u.Query() {
					switch strings.ToUpper(key) {
					case "WALLET", "WALLET PASSWORD", "TRACE FILE", "TRACE DIR", "UNIX SOCKET", "AUTH TYPE", "OS USER", "OS PASSWORD", "AUTH SERV":
						t.Fatalf("accepted %q, which sets %s", dsn, key)
					}
				}
			}
		}
	})
}

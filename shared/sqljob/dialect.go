package sqljob

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"net"
	"slices"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// Dialect is what the runner knows of one kind of target database. A runner runs the dialects
// it is given: Postgres and MySQL from this package, and Oracle from package sqljob/oracle, which
// only the executables that can afford its driver's size link.
type Dialect struct {
	// Driver is the sql.driver of the jobs it runs: one of the domain.Driver… constants.
	Driver string
	// DriverName is the database/sql driver's name.
	DriverName string
	// Source returns the connection string of spec: its DSN, checked, or one built from its
	// fields. Errors name the field and never include the DSN, which may hold a password.
	Source func(spec *domain.SQLSpec) (string, error)
	// Connector returns the connector of a connection string Source returned, whose connections
	// are made as c says.
	Connector func(dsn string, c Connect) (driver.Connector, error)
	// Target names the database's address for its circuit breaker, such as
	// "postgres://db:5432", or "" when dsn does not say.
	Target func(dsn string) string
	// Database names the database (the service, for Oracle) dsn connects to, for the
	// db.namespace of statement spans; nil, or "", leaves it out.
	Database func(dsn string) string
	// Hosts names every "host:port" dsn may connect to — a connection string may list fallback
	// servers — for the check of bound secrets; nil means the one Target names.
	Hosts func(dsn string) []string
	// Classify tells whether err is this database's error and, if it is, whether retrying
	// cannot help and whether it says a statement ran out of time.
	Classify func(err error) (ours, permanent, timedOut bool)
	// Reason, when set, names what only this database's own error codes tell: credentials
	// refused (domain.FailAuth) or a connection lost or not made (domain.FailConnect); "" (or a
	// nil Reason) leaves err to the runner's rule, under which the database's errors are
	// domain.FailSQLError.
	Reason func(err error) domain.FailReason
	// ReadOnlyStatement, when set, starts a read-only transaction in place of database/sql's
	// ReadOnly option, which the driver does not support.
	ReadOnlyStatement string
	// ReturnsRows tells a query, whose rows are read, from a command, whose count is; nil means
	// the rule of PostgreSQL and MySQL.
	ReturnsRows func(sql string) bool
	// Named turns named parameters into the driver's arguments; nil means the database has none.
	Named func(params map[string]any) []any
	// ReadOnlyAllows, when set, says which statements a read_only job may run: the databases
	// that commit before DDL (MySQL, Oracle) would otherwise let a DDL end the read-only
	// transaction and run what follows read-write. Nil means the database enforces read-only
	// by itself.
	ReadOnlyAllows func(sql string) bool
}

// Connect says how a connector makes its connections.
type Connect struct {
	// Dial opens each network connection: the egress policy's dialer, which refuses an address
	// the policy does not allow before connecting to it.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Database, when set, is told which database each new PostgreSQL connection is in, as the
	// server reports it; an error refuses the connection. (Only PostgreSQL can be vecron's own
	// system database.)
	Database func(domain.DatabaseIdentity) error
}

// leadingWord returns q's first keyword, upper-cased, past whitespace, comments and parentheses.
func leadingWord(q string) string {
	for {
		q = strings.TrimLeft(q, " \t\r\n(")
		switch {
		case strings.HasPrefix(q, "--") || strings.HasPrefix(q, "#"):
			_, rest, ok := strings.Cut(q, "\n")
			if !ok {
				return ""
			}
			q = rest
		case strings.HasPrefix(q, "/*"):
			_, rest, ok := strings.Cut(q[2:], "*/")
			if !ok {
				return ""
			}
			q = rest
		default:
			end := strings.IndexFunc(q, func(r rune) bool { return !unicode.IsLetter(r) && r != '_' })
			if end < 0 {
				end = len(q)
			}
			return strings.ToUpper(q[:end])
		}
	}
}

// controlsTransaction reports whether q starts, ends or commits the transaction it runs in,
// which would run the job's later statements outside it.
func controlsTransaction(driver, q string) bool {
	switch leadingWord(q) {
	case "COMMIT", "ROLLBACK", "END", "ABORT", "START":
		return true
	case "BEGIN":
		return driver != domain.DriverOracle // Oracle's BEGIN opens a PL/SQL block
	case "LOCK", "UNLOCK":
		return driver == domain.DriverMySQL
	case "SET":
		return driver == domain.DriverMySQL && strings.Contains(strings.ToUpper(q), "AUTOCOMMIT")
	}
	return false
}

// mysqlReadOnly are the statements a read-only MySQL job may run: those that only read.
func mysqlReadOnly(q string) bool {
	switch leadingWord(q) {
	case "SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "TABLE", "VALUES":
		return true
	}
	return false
}

// NamedSQL binds named parameters through database/sql's sql.Named, for drivers that take them
// (Oracle's :name).
func NamedSQL(params map[string]any) []any {
	out := make([]any, 0, len(params))
	for k, v := range params {
		out = append(out, sql.Named(k, v))
	}
	return out
}

// Postgres returns the dialect of PostgreSQL, through pgx.
func Postgres() Dialect {
	return Dialect{Driver: domain.DriverPostgres, DriverName: "pgx", Source: postgresSource, Connector: postgresConnector,
		Target: postgresTarget, Hosts: postgresHosts, Database: postgresDatabase, Classify: postgresClassify, Reason: postgresReason,
		// Strict: a placeholder without a value, or a value without a placeholder, is an error.
		Named: func(params map[string]any) []any { return []any{pgx.StrictNamedArgs(params)} }}
}

// MySQL returns the dialect of MySQL and MariaDB.
func MySQL() Dialect {
	return Dialect{Driver: domain.DriverMySQL, DriverName: "mysql", Source: mysqlSource, Connector: mysqlConnector,
		Target: mysqlTarget, Database: mysqlDatabase, Classify: mysqlClassify, Reason: mysqlReason, ReadOnlyAllows: mysqlReadOnly}
}

// returnsRows is the rule of PostgreSQL and MySQL, whose CALL can return a result set.
func returnsRows(q string) bool {
	f := strings.Fields(strings.ToUpper(q))
	if len(f) == 0 {
		return false
	}
	switch f[0] {
	case "SELECT", "WITH", "SHOW", "VALUES", "TABLE", "EXPLAIN", "DESCRIBE", "DESC", "CALL":
		return true
	}
	return slices.Contains(f, "RETURNING")
}

package sqljob

import (
	"cmp"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

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
	// Target names the database's address for its circuit breaker, such as
	// "postgres://db:5432", or "" when dsn does not say.
	Target func(dsn string) string
	// Classify tells whether err is this database's error and, if it is, whether retrying
	// cannot help and whether it says a statement ran out of time.
	Classify func(err error) (ours, permanent, timedOut bool)
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
	return Dialect{Driver: domain.DriverPostgres, DriverName: "pgx", Source: postgresSource, Target: postgresTarget, Classify: postgresClassify,
		// Strict: a placeholder without a value, or a value without a placeholder, is an error.
		Named: func(params map[string]any) []any { return []any{pgx.StrictNamedArgs(params)} }}
}

// MySQL returns the dialect of MySQL and MariaDB.
func MySQL() Dialect {
	return Dialect{Driver: domain.DriverMySQL, DriverName: "mysql", Source: mysqlSource, Target: mysqlTarget, Classify: mysqlClassify,
		ReadOnlyAllows: mysqlReadOnly}
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

func postgresSource(spec *domain.SQLSpec) (string, error) {
	dsn := spec.DSN
	// These make the driver read files of the executor's host (keys, password files).
	lower := strings.ToLower(dsn)
	for _, p := range []string{"sslkey", "sslcert", "sslrootcert", "passfile", "servicefile", "service="} {
		if strings.Contains(lower, p) {
			return "", fmt.Errorf("sql.dsn: the %s parameter is not allowed: it reads files of the executor's host", strings.TrimSuffix(p, "="))
		}
	}
	if dsn == "" {
		dsn = fmt.Sprintf("host=%s port=%d dbname=%s user=%s password=%s", quotePG(spec.Host), cmp.Or(spec.Port, 5432),
			quotePG(spec.Database), quotePG(spec.User), quotePG(spec.Password))
	}
	if _, err := pgx.ParseConfig(dsn); err != nil {
		return "", errors.New("sql.dsn: not a PostgreSQL connection string")
	}
	return dsn, nil
}

// quotePG quotes a value of a PostgreSQL keyword/value connection string.
func quotePG(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' || s[i] == '\\' {
			out = append(out, '\\')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}

func postgresTarget(dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return ""
	}
	return "postgres://" + net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

func postgresClassify(err error) (ours, permanent, timedOut bool) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false, false, false
	}
	c := pgErr.Code
	class := c[:min(2, len(c))]
	switch {
	case c == "57014":
		return true, false, true // cancelled by statement_timeout
	case c == "40001", c == "40P01", c == "55P03":
		return true, false, false // serialization, deadlock, lock not available
	case class == "08", class == "53", class == "57", class == "58":
		return true, false, false // connection, resources, operator intervention, system
	}
	return true, true, false
}

func mysqlSource(spec *domain.SQLSpec) (string, error) {
	if spec.DSN != "" {
		cfg, err := mysql.ParseDSN(spec.DSN)
		if err != nil {
			return "", errors.New("sql.dsn: not a MySQL connection string (user:password@tcp(host:port)/database)")
		}
		cfg.ParseTime = true
		// LOAD DATA LOCAL would let a job's server read the executor's files.
		cfg.AllowAllFiles, cfg.AllowCleartextPasswords = false, false
		return cfg.FormatDSN(), nil
	}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.DBName, cfg.ParseTime = spec.User, spec.Password, "tcp", spec.Database, true
	cfg.Addr = net.JoinHostPort(spec.Host, strconv.Itoa(cmp.Or(spec.Port, 3306)))
	return cfg.FormatDSN(), nil
}

func mysqlTarget(dsn string) string {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return ""
	}
	return "mysql://" + cfg.Addr
}

func mysqlClassify(err error) (ours, permanent, timedOut bool) {
	var myErr *mysql.MySQLError
	if !errors.As(err, &myErr) {
		return false, false, false
	}
	switch myErr.Number {
	case 3024:
		return true, false, true // max_execution_time
	case 1205, 1213, 1040, 1053, 1203, 2006, 2013:
		return true, false, false // lock wait, deadlock, too many connections, shutdown, gone away
	}
	return true, true, false
}

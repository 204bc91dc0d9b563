package sqljob

import (
	"cmp"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/vecron/vecron/shared/domain"
)

// mysqlKeys are the driver parameters a job's MySQL connection string may set: timeouts, TLS by
// one of the driver's own modes, character set, time handling and result shapes.
var mysqlKeys = []string{
	"allowFallbackToPlaintext", "allowNativePasswords", "charset", "checkConnLiveness", "clientFoundRows",
	"collation", "columnsWithAlias", "compress", "connectionAttributes", "loc", "maxAllowedPacket",
	"parseTime", "readTimeout", "rejectReadOnly", "timeTruncate", "timeout", "tls", "writeTimeout",
}

// mysqlVariables are the session variables a job's MySQL connection string may set (the driver
// runs SET name = value on each new connection).
var mysqlVariables = []string{
	"time_zone", "sql_mode", "transaction_isolation", "tx_isolation", "innodb_lock_wait_timeout",
	"lock_wait_timeout", "max_execution_time", "max_statement_time", "wait_timeout",
	"net_read_timeout", "net_write_timeout",
}

// mysqlValue is what a session variable's value may hold: the driver writes it into the SET
// statement as it is, so nothing that could start another expression or assignment.
var mysqlValue = regexp.MustCompile(`^[A-Za-z0-9_+\-.:,'/]*$`)

// mysqlRefused says why the best-known driver parameters outside mysqlKeys are refused.
var mysqlRefused = map[string]string{
	"allowAllFiles":           "lets the server read any file of the executor's host (LOAD DATA LOCAL INFILE)",
	"allowCleartextPasswords": "sends the password in clear to any server that asks for it",
	"allowOldPasswords":       "uses the insecure pre-4.1 password hash",
	"interpolateParams":       "splices parameters into the SQL text instead of binding them",
	"multiStatements":         "runs several statements in one call, past the checks vecron makes of each statement",
	"serverPubKey":            "names a key registered in the executor's process",
}

// mysqlTLS are the driver's own TLS modes; any other value names a configuration registered in
// the executor's process.
var mysqlTLS = []string{"true", "false", "skip-verify", "preferred"}

// parseMySQL parses dsn with the driver's parser, which panics on a parameter it has retired.
func parseMySQL(dsn string) (cfg *mysql.Config, err error) {
	defer func() {
		if recover() != nil {
			cfg, err = nil, errors.New("a parameter the driver no longer supports")
		}
	}()
	return mysql.ParseDSN(dsn)
}

// mysqlConfig returns the driver's configuration of a job's connection string, checked: a TCP
// address, and only the parameters of mysqlKeys and mysqlVariables — judged on the configuration
// the driver parsed, by the names it writes them under. Errors name sql.dsn and never include the
// string, which may hold a password.
func mysqlConfig(dsn string) (*mysql.Config, error) {
	cfg, err := parseMySQL(dsn)
	if err != nil {
		return nil, errors.New("sql.dsn: not a MySQL connection string (user:password@tcp(host:port)/database)")
	}
	if !slices.Contains([]string{"tcp", "tcp4", "tcp6"}, cfg.Net) {
		return nil, errors.New("sql.dsn: connects by a Unix socket or another local transport: a job connects over TCP, tcp(host:port)")
	}
	params, err := mysqlParams(cfg)
	if err != nil {
		return nil, err
	}
	for _, p := range params {
		key := p[0]
		switch _, variable := cfg.Params[key]; {
		case variable && !slices.Contains(mysqlVariables, key):
			return nil, fmt.Errorf("sql.dsn: the session variable %q is not one a job may set; it may set %s", key, strings.Join(mysqlVariables, ", "))
		case variable && !mysqlValue.MatchString(cfg.Params[key]):
			return nil, fmt.Errorf("sql.dsn: the value of %q may hold only letters, digits and _ + - . : , ' /", key)
		case variable:
		case key == "tls" && !slices.Contains(mysqlTLS, cfg.TLSConfig):
			return nil, errors.New("sql.dsn: tls names a configuration of the executor's process: use true, false, skip-verify or preferred")
		case slices.Contains(mysqlKeys, key):
		default:
			if why, ok := mysqlRefused[key]; ok {
				return nil, fmt.Errorf("sql.dsn: the %q parameter is not allowed: it %s", key, why)
			}
			return nil, fmt.Errorf("sql.dsn: the %q parameter is not allowed; a job may set %s", key, strings.Join(mysqlKeys, ", "))
		}
	}
	cfg.ParseTime = true
	return cfg, nil
}

// mysqlParams returns the parameters of cfg as the driver writes them back: its own name for
// each setting that differs from its default, then the session variables. Only what follows the
// address is read, and that part of the driver's output escapes every "&" a value holds.
func mysqlParams(cfg *mysql.Config) ([][2]string, error) {
	base := mysql.NewConfig()
	base.User, base.Passwd, base.Net, base.Addr, base.DBName = cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName
	query, ok := strings.CutPrefix(cfg.FormatDSN(), base.FormatDSN())
	if !ok {
		return nil, errors.New("sql.dsn: not a MySQL connection string vecron can check")
	}
	if query == "" {
		return nil, nil
	}
	query, ok = strings.CutPrefix(query, "?")
	if !ok {
		return nil, errors.New("sql.dsn: not a MySQL connection string vecron can check")
	}
	var out [][2]string
	for pair := range strings.SplitSeq(query, "&") {
		k, v, _ := strings.Cut(pair, "=")
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

func mysqlSource(spec *domain.SQLSpec) (string, error) {
	dsn := spec.DSN
	if dsn == "" {
		cfg := mysql.NewConfig()
		cfg.User, cfg.Passwd, cfg.Net, cfg.DBName = spec.User, spec.Password, "tcp", spec.Database
		cfg.Addr = net.JoinHostPort(spec.Host, strconv.Itoa(cmp.Or(spec.Port, 3306)))
		dsn = cfg.FormatDSN()
	}
	cfg, err := mysqlConfig(dsn)
	if err != nil {
		return "", err
	}
	return cfg.FormatDSN(), nil
}

// mysqlConnector returns the connector of a checked connection string, its connections dialed
// by c.Dial.
func mysqlConnector(dsn string, c Connect) (driver.Connector, error) {
	cfg, err := mysqlConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.DialFunc = c.Dial
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, errors.New("sql.dsn: not a valid MySQL connection string")
	}
	return connector, nil
}

func mysqlTarget(dsn string) string {
	cfg, err := mysqlConfig(dsn)
	if err != nil {
		return ""
	}
	return "mysql://" + cfg.Addr
}

// mysqlDatabase names the default database dsn selects.
func mysqlDatabase(dsn string) string {
	cfg, err := mysqlConfig(dsn)
	if err != nil {
		return ""
	}
	return cfg.DBName
}

// mysqlReason: access denied to the user (1045, and 1698 from MariaDB for an unknown one) or to
// the database it asked for (1044); too many connections, a server shutting down or gone away,
// a connection lost mid-query.
func mysqlReason(err error) domain.FailReason {
	var myErr *mysql.MySQLError
	if !errors.As(err, &myErr) {
		return ""
	}
	switch myErr.Number {
	case 1044, 1045, 1698:
		return domain.FailAuth
	case 1040, 1053, 2006, 2013:
		return domain.FailConnect
	}
	return ""
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

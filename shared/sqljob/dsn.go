package sqljob

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/vecron/vecron/shared/domain"
)

// CheckDSN checks a job's connection string for driver as the runner does before it connects:
// parsed by the driver's own parser, with only the parameters a job may set (the allow-lists of
// docs/sql-jobs.md). The API checks each job on write with it; the runner checks again once the
// templates are filled. Nothing is dialed. Errors start with "sql.dsn: ", say which parameter is
// refused and why, and never include the string, which may hold a password.
func CheckDSN(driver, dsn string) error {
	switch driver {
	case domain.DriverPostgres:
		_, err := postgresConfig(dsn)
		return err
	case domain.DriverMySQL:
		_, err := mysqlConfig(dsn)
		return err
	case domain.DriverOracle:
		return CheckOracleDSN(dsn)
	}
	return fmt.Errorf("sql.driver: %q is not one of postgres, mysql, oracle", driver)
}

// oracleOptions are the go-ora URL options a job may set: servers and service, TLS and network
// encryption, timeouts, and how rows, LOBs and text come back.
var oracleOptions = []string{
	"SERVER", "SERVICE NAME", "SID", "INSTANCE NAME", "CONNSTR",
	"SSL", "SSL VERIFY", "ENCRYPTION", "DATA INTEGRITY",
	"TIMEOUT", "CONNECT TIMEOUT", "CONNECTION TIMEOUT",
	"PREFETCH_ROWS", "LOB FETCH", "LANGUAGE", "TERRITORY", "CHARSET", "CLIENT CHARSET", "PROGRAM",
	"USE_OOB", "ENABLE_OOB", "ENABLE URGENT DATA TRANSPORT",
}

// oracleRefused says why the best-known options outside oracleOptions are refused: each makes
// the driver use the executor's host — its files, its OS identity, its local IPC — or a
// privilege a scheduled job has no need of.
var oracleRefused = map[string]string{
	"WALLET":            "reads a wallet from the executor's files",
	"WALLET PASSWORD":   "opens a wallet from the executor's files",
	"TRACE FILE":        "writes a trace file on the executor's host",
	"TRACE DIR":         "writes trace files on the executor's host",
	"TRACE FOLDER":      "writes trace files on the executor's host",
	"TRACE DIRECTORY":   "writes trace files on the executor's host",
	"UNIX SOCKET":       "connects to a local socket of the executor's host",
	"AUTH TYPE":         "selects OS, Kerberos or TCPS authentication, which use the executor's identity or files",
	"OS USER":           "authenticates as an OS user of the executor's host",
	"OS PASS":           "authenticates as an OS user of the executor's host",
	"OS PASSWORD":       "authenticates as an OS user of the executor's host",
	"OS HASH":           "authenticates as an OS user of the executor's host",
	"OS PASSHASH":       "authenticates as an OS user of the executor's host",
	"OS PASSWORD HASH":  "authenticates as an OS user of the executor's host",
	"AUTH SERV":         "turns on native authentication services, which send the executor's OS user",
	"DOMAIN":            "authenticates in a Windows domain as the executor",
	"DBA PRIVILEGE":     "logs in with an administrative privilege (SYSDBA, SYSOPER …)",
	"CID":               "rewrites the client identity the listener is told",
	"PROXY CLIENT NAME": "logs in through a proxy user",
}

// CheckOracleDSN checks an Oracle connection URL (oracle://user:password@host:1521/service) the
// way go-ora reads it — Go's URL parser, options matched by their upper-cased name — without
// go-ora, which the API does not link: only the options of the allow-list, a server, a user and a
// password (without them the driver logs in as the executor's OS user). Errors start with
// "sql.dsn: " and never include the URL.
func CheckOracleDSN(dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil || !strings.EqualFold(u.Scheme, "oracle") {
		return errors.New("sql.dsn: not an Oracle connection URL (oracle://user:password@host:1521/service)")
	}
	q := u.Query()
	keys := make([]string, 0, len(q))
	for key := range q {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	for _, key := range keys {
		name := strings.ToUpper(key)
		if slices.Contains(oracleOptions, name) {
			continue
		}
		if why, ok := oracleRefused[name]; ok {
			return fmt.Errorf("sql.dsn: the %q option is not allowed: it %s", key, why)
		}
		return fmt.Errorf("sql.dsn: the %q option is not allowed; a job may set %s", key, strings.ToLower(strings.Join(oracleOptions, ", ")))
	}
	if u.Host == "" && q.Get("connStr") == "" && q.Get("server") == "" {
		return errors.New("sql.dsn: names no server: give host:port, or a connStr descriptor")
	}
	if password, _ := u.User.Password(); u.User.Username() == "" || password == "" {
		return errors.New("sql.dsn: names no user or no password: without them the driver logs in as the executor's OS user")
	}
	return nil
}

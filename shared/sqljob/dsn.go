package sqljob

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/render"
)

// CheckDSN checks a job's connection string for driver as the runner does before it connects:
// parsed by the driver's own parser, with only the parameters a job may set (the allow-lists of
// docs/sql-jobs.md). The API checks each job on write with it; the runner checks again once the
// templates are filled. A string holding templates is checked with a stand-in for each when they
// fill its password alone (oracle://etl:{{ var.DB_PASSWORD }}@db:1521/ORCLPDB1), and not before
// they are filled when they fill more. Nothing is dialed. Errors start with "sql.dsn: ", say which
// parameter is refused and why, and never include the string, which may hold a password.
func CheckDSN(driver, dsn string) error {
	if !slices.Contains([]string{domain.DriverPostgres, domain.DriverMySQL, domain.DriverOracle}, driver) {
		return fmt.Errorf("sql.driver: %q is not one of postgres, mysql, oracle", driver)
	}
	dsn, checkable := checkedWithStandIns(driver, dsn)
	switch {
	case !checkable:
		return nil
	case driver == domain.DriverPostgres:
		_, err := postgresConfig(dsn)
		return err
	case driver == domain.DriverMySQL:
		_, err := mysqlConfig(dsn)
		return err
	}
	return CheckOracleDSN(dsn)
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

// PasswordInClear reports whether a password as a job writes it holds more than references to
// variables ({{ var.DB_PASSWORD }}, which are filled from sealed secrets at run time): any
// literal text, or a template that is not a variable's, such as {{ "hunter2" }}.
func PasswordInClear(password string) bool {
	standIn := sentinel()
	s, _ := withStandIns(password, standIn, sentinel())
	return strings.TrimSpace(strings.ReplaceAll(s, standIn, "")) != ""
}

// DSNPasswordInClear reports whether a job's connection string for driver, as written, holds a
// password in clear (PasswordInClear). The password is what the driver's own parser reads, each
// template replaced by a stand-in; from a string it cannot parse even so (a template where it
// wants a port, say) the password is read by the driver's syntax, and counted in clear where in
// doubt. It reports false for a driver it does not know.
func DSNPasswordInClear(driver, dsn string) bool {
	standIn := sentinel()
	s, _ := withStandIns(dsn, standIn, sentinel())
	return strings.TrimSpace(strings.ReplaceAll(dsnPassword(driver, s), standIn, "")) != ""
}

// checkedWithStandIns returns dsn as CheckDSN checks it on write: with a stand-in for each
// template when its templates fill only its password, the one part a check need not see. It
// returns false when templates fill other parts, which are checked once they are filled.
func checkedWithStandIns(driver, dsn string) (string, bool) {
	standIn, other := sentinel(), sentinel()
	s, n := withStandIns(dsn, standIn, other)
	if n == 0 {
		return dsn, true
	}
	pw := dsnPassword(driver, s)
	return s, strings.Count(pw, standIn)+strings.Count(pw, other) == n
}

// withStandIns returns s with each template replaced: a variable's ({{ var.X }}, filters
// allowed) by standIn, any other by other; and how many there were. A string that is not a
// valid template is returned as it is (render.Check refuses it on write).
func withStandIns(s, standIn, other string) (string, int) {
	out, n, err := render.Replace(s, func(variable bool) string {
		if variable {
			return standIn
		}
		return other
	})
	if err != nil {
		return s, 0
	}
	return out, n
}

// dsnPassword returns the password of a connection string without templates as the driver
// reads it or, when it cannot parse the string, as its syntax places it.
func dsnPassword(driver, dsn string) string {
	switch driver {
	case domain.DriverPostgres:
		if cfg, err := postgresConfig(dsn); err == nil {
			return cfg.Password
		}
		if isPostgresURL(dsn) {
			return urlPassword(dsn)
		}
		var pw strings.Builder
		for _, m := range keywordPassword.FindAllStringSubmatch(dsn, -1) {
			v := m[1]
			if strings.HasPrefix(v, "'") {
				v = strings.TrimSuffix(v[1:], "'")
			}
			pw.WriteString(keywordEscape.ReplaceAllString(v, "$1"))
		}
		return pw.String()
	case domain.DriverMySQL:
		if cfg, err := parseMySQL(dsn); err == nil {
			return cfg.Passwd
		}
		// The driver's rule: the user information ends at the last "@" before the last "/".
		userinfo := dsn
		if i := strings.LastIndex(userinfo, "/"); i >= 0 {
			userinfo = userinfo[:i]
		}
		if i := strings.LastIndex(userinfo, "@"); i >= 0 {
			_, pw, _ := strings.Cut(userinfo[:i], ":")
			return pw
		}
		return ""
	case domain.DriverOracle:
		if u, err := url.Parse(dsn); err == nil && strings.EqualFold(u.Scheme, "oracle") {
			pw, _ := u.User.Password()
			return pw
		}
		return urlPassword(dsn)
	}
	return ""
}

// keywordPassword finds a password in a PostgreSQL keyword/value string: quoted, or up to the
// next space, backslash escapes included.
var keywordPassword = regexp.MustCompile(`(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'?|(?:[^\s\\]|\\.)*)`)

// keywordEscape is a backslash escape of a keyword/value string.
var keywordEscape = regexp.MustCompile(`\\(.)`)

// urlPassword returns what a URL the parser refused holds after the user name: every password
// query parameter too.
func urlPassword(dsn string) string {
	_, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return ""
	}
	authority, query := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	if i := strings.Index(rest, "?"); i >= 0 {
		query = rest[i+1:]
	}
	var pw strings.Builder
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		_, p, _ := strings.Cut(authority[:i], ":")
		pw.WriteString(p)
	}
	for pair := range strings.SplitSeq(query, "&") {
		if k, v, _ := strings.Cut(pair, "="); strings.EqualFold(k, "password") {
			pw.WriteString(v)
		}
	}
	return pw.String()
}

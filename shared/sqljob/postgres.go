package sqljob

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/vecron/vecron/shared/domain"
)

// postgresKeys are the connection parameters a job's PostgreSQL connection string may set: where
// to connect, as whom, how securely, and settings of its own session. Everything else is refused
// — among it every parameter that makes the driver read a file of the executor's host
// (sslrootcert, sslcert, sslkey, sslpassword, passfile, service, servicefile), present the
// executor's client certificate (sslcertmode) or use its Kerberos identity.
var postgresKeys = []string{
	"host", "port", "dbname", "user", "password",
	"sslmode", "channel_binding", "connect_timeout", "target_session_attrs",
	"application_name", "search_path", "timezone", "client_encoding",
	"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout",
}

// postgresRefused says why the best-known parameters outside postgresKeys are refused.
var postgresRefused = map[string]string{
	"sslrootcert": "reads a file of the executor's host",
	"sslcert":     "reads a file of the executor's host",
	"sslkey":      "reads a file of the executor's host",
	"sslpassword": "unlocks a key file of the executor's host",
	"passfile":    "reads a password file of the executor's host",
	"service":     "reads a service file of the executor's host",
	"servicefile": "reads a service file of the executor's host",
	"sslcertmode": "would present the executor's client certificate",
	"krbsrvname":  "uses the executor's Kerberos identity",
	"krbspn":      "uses the executor's Kerberos identity",
}

// checkKey pads what vecron appends to a job's connection string: in the keyword/value form, a
// value ending in an escaping backslash, or a key left without a value, swallows the text after
// it, and then it swallows this parameter rather than one that matters.
const checkKey = "vecron_check"

// neutral are the file-reading parameters every connection string gets from vecron, after the
// job's own, so the driver reads none of the executor's files — neither the ones these would
// name nor its defaults (~/.pgpass, ~/.postgresql/*, ~/.pg_service.conf) nor those named by the
// executor's environment (PGPASSFILE, PGSSLCERT, PGSSLKEY, PGSSLROOTCERT, PGSERVICEFILE).
var neutral = [][2]string{
	{checkKey, "1"}, {"passfile", ""}, {"servicefile", ""}, {"sslcert", ""}, {"sslkey", ""},
	{"sslrootcert", ""}, {"sslpassword", ""}, {"sslcertmode", "disable"},
}

// checkSuffix makes the driver stop right after it has checked the job's parameters against
// postgresKeys, before it could open any file: with a service to look up in a service file
// whose name is empty, it fails at once, and it looks services up before anything else.
var checkSuffix = [][2]string{{checkKey, "1"}, {"service", "vecron"}, {"servicefile", ""}}

// serviceFailure ends the driver's error when it stopped at checkSuffix's service: the job's
// parameters passed. A job's connection string cannot make another error end so: the driver
// writes the string before its message.
const serviceFailure = "`: failed to read service (failed to read service file: )"

// notAllowedFailure ends the driver's error naming a parameter outside the allowed keys.
const (
	notAllowedStart = "`: connection string key "
	notAllowedEnd   = " is not in ConnStringAllowedKeys"
)

func isPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// appendParams writes params after a connection string: as query parameters after sep ("?",
// "&" or "") for a URL, as quoted keyword/value pairs otherwise.
func appendParams(dsn, sep string, params [][2]string) string {
	var b strings.Builder
	b.WriteString(dsn)
	if isPostgresURL(dsn) {
		b.WriteString(sep)
		for i, p := range params {
			if i > 0 {
				b.WriteByte('&')
			}
			b.WriteString(p[0] + "=" + p[1])
		}
		return b.String()
	}
	// Quoted: an empty unquoted value would take the next pair for its value.
	for _, p := range params {
		b.WriteString(" " + p[0] + "=" + quotePG(p[1]))
	}
	return b.String()
}

// postgresCheck checks the parameters of a job's connection string against postgresKeys with the
// driver's own parser — so a parameter is judged by the name the driver reads, after it decoded
// a URL's %-escapes (ssl%72ootcert is sslrootcert) — without letting the driver open any file.
// It returns the separator after which parameters can be appended to a URL.
func postgresCheck(dsn string) (string, error) {
	seps := []string{" "}
	switch {
	case isPostgresURL(dsn) && strings.HasSuffix(dsn, "?"):
		seps = []string{""}
	case isPostgresURL(dsn):
		// A URL with no query takes "?"; one with a query fails to parse with "?" (its last
		// parameter would hold a second "=") and takes "&".
		seps = []string{"?", "&"}
	}
	allowed := append(slices.Clone(postgresKeys), checkKey, "service", "servicefile")
	for _, sep := range seps {
		_, err := pgconn.ParseConfigWithOptions(appendParams(dsn, sep, checkSuffix), pgconn.ParseConfigOptions{ConnStringAllowedKeys: allowed})
		if err == nil {
			break // the appended parameters were not read as such
		}
		if strings.HasSuffix(err.Error(), serviceFailure) {
			return sep, nil
		}
		if key, ok := notAllowedKey(err); ok {
			return "", postgresNotAllowed(key)
		}
	}
	return "", errors.New("sql.dsn: not a PostgreSQL connection string (postgres://user:password@host:5432/database, or host=… dbname=… keywords)")
}

// notAllowedKey returns the parameter the driver refused for not being an allowed key.
func notAllowedKey(err error) (string, bool) {
	msg := err.Error()
	body, ok := strings.CutSuffix(msg, notAllowedEnd)
	if !ok {
		return "", false
	}
	i := strings.LastIndex(body, notAllowedStart)
	if i < 0 {
		return "", false
	}
	key, uerr := strconv.Unquote(body[i+len(notAllowedStart):])
	return key, uerr == nil
}

func postgresNotAllowed(key string) error {
	if why, ok := postgresRefused[key]; ok {
		return fmt.Errorf("sql.dsn: the %q parameter is not allowed: it %s", key, why)
	}
	return fmt.Errorf("sql.dsn: the %q parameter is not allowed; a job may set %s", key, strings.Join(postgresKeys, ", "))
}

// sentinel returns a value no job writes, to tell what a job's connection string left unset.
func sentinel() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "vecron" + hex.EncodeToString(b[:])
}

// withUserinfo gives a URL's user and password the values user and password where the URL
// leaves them empty, by libpq's rule for the user info: what comes before the first "@" that
// comes before any "/".
func withUserinfo(dsn, user, password string) string {
	scheme := "postgresql://"
	if strings.HasPrefix(dsn, "postgres://") {
		scheme = "postgres://"
	}
	rest := dsn[len(scheme):]
	i := strings.IndexAny(rest, "@/")
	if i < 0 || rest[i] != '@' {
		return scheme + user + ":" + password + "@" + rest
	}
	u, p, _ := strings.Cut(rest[:i], ":")
	if u == "" {
		u = user
	}
	if p == "" {
		p = password
	}
	return scheme + u + ":" + p + rest[i:]
}

// postgresConfig returns the driver's configuration of a job's connection string. The string is
// checked first (postgresCheck); then the driver parses it with vecron's neutral parameters
// after it, and with a user and a password before it that the job's own replace, so that it
// never falls back to the executor's: neither to a password in ~/.pgpass or PGPASSWORD nor to
// the OS user. Errors name sql.dsn and never include the string, which may hold a password.
func postgresConfig(dsn string) (*pgx.ConnConfig, error) {
	sep, err := postgresCheck(dsn)
	if err != nil {
		return nil, err
	}
	user, password := sentinel(), sentinel()
	full := "user=" + user + " password=" + password + " " + appendParams(dsn, sep, neutral)
	if isPostgresURL(dsn) {
		full = appendParams(withUserinfo(dsn, user, password), sep, neutral)
	}
	allowed := slices.Clone(postgresKeys)
	for _, p := range neutral {
		allowed = append(allowed, p[0])
	}
	cfg, err := pgx.ParseConfigWithOptions(full, pgx.ParseConfigOptions{ParseConfigOptions: pgconn.ParseConfigOptions{ConnStringAllowedKeys: allowed}})
	switch {
	case err == nil:
	case strings.HasSuffix(err.Error(), serviceFailure):
		return nil, errors.New("sql.dsn: the executor's environment sets PGSERVICE, which would apply a service file of its host to every job; unset it")
	default:
		if key, ok := notAllowedKey(err); ok {
			return nil, postgresNotAllowed(key)
		}
		return nil, errors.New("sql.dsn: not a valid PostgreSQL connection string")
	}
	if cfg.User == user {
		return nil, errors.New("sql.dsn: names no user: a job logs in as a user it names, never as the executor's")
	}
	if cfg.Password == password {
		cfg.Password = ""
	}
	for _, h := range append([]string{cfg.Host}, hosts(cfg.Fallbacks)...) {
		if filepath.IsAbs(h) {
			return nil, errors.New("sql.dsn: names no host, or a Unix socket: a job connects over the network to a host it names")
		}
	}
	// Session parameters come from the job alone: drop what the executor's environment added
	// (PGOPTIONS) and vecron's padding.
	for k := range cfg.RuntimeParams {
		if !slices.Contains(postgresKeys, k) {
			delete(cfg.RuntimeParams, k)
		}
	}
	cfg.SSLCertMode = "disable"
	// A prepared statement holds one statement: the server refuses a string of several, which
	// could otherwise end the job's transaction and run the rest outside it.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeCacheStatement
	return cfg, nil
}

func hosts(fallbacks []*pgconn.FallbackConfig) []string {
	out := make([]string, len(fallbacks))
	for i, f := range fallbacks {
		out[i] = f.Host
	}
	return out
}

// postgresConnector returns the connector of a checked connection string: connections dialed
// by c.Dial, and each one, once in, asked which database it is in for c.Database.
func postgresConnector(dsn string, c Connect) (driver.Connector, error) {
	cfg, err := postgresConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.DialFunc = c.Dial
	if c.Database != nil {
		cfg.AfterConnect = func(ctx context.Context, conn *pgconn.PgConn) error {
			id, err := postgresIdentity(ctx, conn)
			if err != nil {
				return err
			}
			return c.Database(id)
		}
	}
	return extendedConnector{stdlib.GetConnector(*cfg)}, nil
}

// extendedConnector makes extendedConns.
type extendedConnector struct{ driver.Connector }

func (c extendedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	pc, ok := conn.(*stdlib.Conn)
	if !ok {
		conn.Close()
		return nil, errors.New("sql.driver: the PostgreSQL driver gave an unknown connection")
	}
	return &extendedConn{Conn: pc}, nil
}

// extendedConn runs every statement of a job through PostgreSQL's extended protocol, where a
// string of several statements is refused by the server, and keeps a job's transaction what it
// began as. pgx sends a statement without arguments over the simple protocol, whatever its
// query exec mode, and there "SELECT 1; COMMIT; DELETE …" runs all three: the COMMIT ends a
// read-only transaction and the DELETE runs read-write.
type extendedConn struct {
	*stdlib.Conn
	// inTx is set while a transaction begun through the connection is open; database/sql
	// serialises the calls of one connection.
	inTx bool
}

// errTxEnded refuses a statement after the job's transaction was ended by one of its own
// (PREPARE TRANSACTION, say, which no keyword check need know of): it would run outside it.
var errTxEnded = jobError{errors.New("the job's transaction was ended by an earlier statement; the statements after it would run outside it")}

// ended returns errTxEnded when a transaction begun through c is open for database/sql but no
// longer on the server.
func (c *extendedConn) ended() error {
	if c.inTx && c.Conn.Conn().PgConn().TxStatus() == 'I' {
		return errTxEnded
	}
	return nil
}

func (c *extendedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if err := c.ended(); err != nil {
		return nil, err
	}
	if len(args) > 0 {
		return c.Conn.ExecContext(ctx, query, args) // with arguments pgx goes extended already
	}
	// As pgx's QueryExecModeExec does with arguments: an unnamed statement, parsed and run.
	tag, err := c.Conn.Conn().PgConn().ExecParams(ctx, query, nil, nil, nil, nil).Close()
	if err != nil {
		if pgconn.SafeToRetry(err) {
			return nil, driver.ErrBadConn
		}
		return nil, err
	}
	return driver.RowsAffected(tag.RowsAffected()), nil
}

func (c *extendedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if err := c.ended(); err != nil {
		return nil, err
	}
	return c.Conn.QueryContext(ctx, query, args)
}

func (c *extendedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	if opts.ReadOnly {
		// PostgreSQL lets a read-only transaction turn read-write (SET transaction_read_only =
		// off, SET TRANSACTION READ WRITE) until its first query takes a snapshot: take one now,
		// and the server refuses them.
		if _, err := c.Conn.Conn().PgConn().Exec(ctx, "SELECT 1").ReadAll(); err != nil {
			_ = tx.Rollback()
			return nil, err
		}
	}
	c.inTx = true
	return extendedTx{Tx: tx, c: c, ctx: ctx, readOnly: opts.ReadOnly}, nil
}

// errTurnedReadWrite fails a read-only job whose transaction a statement turned read-write.
var errTurnedReadWrite = jobError{errors.New("a statement turned the read-only transaction read-write; it was rolled back, with whatever was written")}

// extendedTx is a transaction begun through an extendedConn.
type extendedTx struct {
	driver.Tx
	c        *extendedConn
	ctx      context.Context // the transaction's, as database/sql's Commit takes none
	readOnly bool
}

func (tx extendedTx) Commit() error {
	defer func() { tx.c.inTx = false }()
	if err := tx.c.ended(); err != nil {
		_ = tx.Tx.Rollback()
		return err
	}
	if !tx.readOnly {
		return tx.Tx.Commit()
	}
	// A read-only transaction has nothing to commit, so it is rolled back: even once a
	// statement turned it read-write — RESET transaction_read_only, or SET … TO DEFAULT, which
	// PostgreSQL before 16 allows after the snapshot, also from inside a function — nothing it
	// wrote stays.
	res, err := tx.c.Conn.Conn().PgConn().Exec(tx.ctx, "SHOW transaction_read_only").ReadAll()
	if rerr := tx.Tx.Rollback(); err == nil {
		err = rerr
	}
	switch {
	case err != nil:
		return err
	case len(res) != 1 || len(res[0].Rows) != 1 || string(res[0].Rows[0][0]) != "on":
		return errTurnedReadWrite
	}
	return nil
}

func (tx extendedTx) Rollback() error {
	tx.c.inTx = false
	return tx.Tx.Rollback()
}

// postgresIdentity asks the server which database conn is in. pg_control_system() is open to
// every user unless an administrator revoked it; then the connection is refused, since vecron
// cannot tell the database from its own.
func postgresIdentity(ctx context.Context, conn *pgconn.PgConn) (domain.DatabaseIdentity, error) {
	res, err := conn.Exec(ctx, "SELECT system_identifier::text, current_database() FROM pg_control_system()").ReadAll()
	if err != nil {
		return domain.DatabaseIdentity{}, fmt.Errorf("identify the database (pg_control_system()): %w", err)
	}
	if len(res) != 1 || len(res[0].Rows) != 1 || len(res[0].Rows[0]) != 2 {
		return domain.DatabaseIdentity{}, errors.New("identify the database: pg_control_system() returned no row")
	}
	row := res[0].Rows[0]
	return domain.DatabaseIdentity{SystemID: string(row[0]), Database: string(row[1])}, nil
}

func postgresSource(spec *domain.SQLSpec) (string, error) {
	dsn := spec.DSN
	if dsn == "" {
		dsn = fmt.Sprintf("host=%s port=%d dbname=%s user=%s password=%s", quotePG(spec.Host), cmp.Or(spec.Port, 5432),
			quotePG(spec.Database), quotePG(spec.User), quotePG(spec.Password))
	}
	if _, err := postgresConfig(dsn); err != nil {
		return "", err
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
	cfg, err := postgresConfig(dsn)
	if err != nil {
		return ""
	}
	return "postgres://" + net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

// postgresDatabase names the database dsn connects to.
func postgresDatabase(dsn string) string {
	cfg, err := postgresConfig(dsn)
	if err != nil {
		return ""
	}
	return cfg.Database
}

// postgresHosts names the server dsn names first and each fallback pgx tries after it.
func postgresHosts(dsn string) []string {
	cfg, err := postgresConfig(dsn)
	if err != nil {
		return nil
	}
	hosts := []string{net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))}
	for _, f := range cfg.Fallbacks {
		hosts = append(hosts, net.JoinHostPort(f.Host, strconv.Itoa(int(f.Port))))
	}
	return hosts
}

// postgresReason: class 28 is invalid authorization (a wrong password, an unknown role, no
// pg_hba entry), class 08 a connection exception.
func postgresReason(err error) domain.FailReason {
	var pgErr *pgconn.PgError
	switch {
	case !errors.As(err, &pgErr):
		return ""
	case strings.HasPrefix(pgErr.Code, "28"):
		return domain.FailAuth
	case strings.HasPrefix(pgErr.Code, "08"):
		return domain.FailConnect
	}
	return ""
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

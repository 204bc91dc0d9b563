// Package sqljob runs the statements of a sql job against its target database — PostgreSQL
// (pgx), MySQL or MariaDB, and Oracle when given package sqljob/oracle's dialect — and reports
// the outcome: per statement the rows affected, or for a query its columns and first rows, and
// how long it took. Parameters are always bound, never spliced into the SQL, so a hostile value
// stays a value. Connections are pooled per target, bounded, and let go when idle, so an
// executor scaling to zero leaves no connections behind.
//
// The target is only ever what the job names, and what a job may name is bounded: its connection
// string is parsed by the driver's own parser and may set only the parameters of an allow-list
// (CheckDSN), none of which makes the driver read the executor's files; every connection is
// dialed through the egress policy, which checks the address a name resolved to before
// connecting; and a PostgreSQL connection that turns out to be in vecron's own system database,
// by whatever name or address, is refused unless the operator allowed it.
package sqljob

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jonboulle/clockwork"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/render"
	"github.com/vecron/vecron/shared/sqlresult"
)

// Defaults of Config.
const (
	MaxConnsPerTargetDefault = 4
	IdleTimeoutDefault       = time.Minute
	MaxTargetsDefault        = 256
	MaxRowsDefault           = 20
	ExcerptBytesDefault      = 8192
)

// Config bounds the pools and results.
type Config struct {
	MaxConnsPerTarget int           `koanf:"max_conns_per_target" usage:"connections kept open to one target database"`
	IdleTimeout       time.Duration `koanf:"idle_timeout" usage:"idle time after which a target connection is closed"`
	MaxTargets        int           `koanf:"max_targets" usage:"target databases with a pool at once; the least recently used is closed"`
	ExcerptBytes      int           `koanf:"excerpt_bytes" usage:"bytes of the statement results kept with an execution"`
	// AllowSystemDatabase lets jobs connect to vecron's own system database, which holds every
	// job, user and (sealed) secret. Off, such a connection is refused, however the job names
	// the database.
	AllowSystemDatabase bool `koanf:"allow_system_database" usage:"let sql jobs connect to vecron's own system database (refused by default: it holds every job and secret)"`
	// TracerProvider makes a client span per statement; nil makes none. The function sets it
	// from its tracing, not from settings.
	TracerProvider trace.TracerProvider `koanf:"-"`
}

func (c Config) withDefaults() Config {
	c.MaxConnsPerTarget = cmp.Or(c.MaxConnsPerTarget, MaxConnsPerTargetDefault)
	c.IdleTimeout = cmp.Or(c.IdleTimeout, IdleTimeoutDefault)
	c.MaxTargets = cmp.Or(c.MaxTargets, MaxTargetsDefault)
	c.ExcerptBytes = cmp.Or(c.ExcerptBytes, ExcerptBytesDefault)
	return c
}

// DefaultConfig returns the configuration zero fields fall back to.
func DefaultConfig() Config { return Config{}.withDefaults() }

// Runner runs sql jobs.
type Runner struct {
	clock    clockwork.Clock
	cfg      Config
	tracer   trace.Tracer       // nil: no spans
	dialects map[string]Dialect // by Dialect.Driver
	policy   *egress.Policy
	system   domain.DatabaseIdentity
	mu       sync.Mutex
	pools    map[string]*pool
	// closedWait is, per Dialect.Driver, the connection wait of the pools closed so far, so
	// that the wait counted over the open ones never goes back when one closes.
	closedWait map[string]time.Duration

	// sources remembers what connection fields resolved to: checking a DSN parses it, which
	// costs more than the rest of a short statement's work in the executor.
	sourcesMu sync.Mutex
	sources   map[sourceKey]resolved
}

type sourceKey struct {
	driver, dsn, host, database, user, password string
	port                                        int
}

type resolved struct {
	dsn, target, poolKey string
	database             string // the name the dialect reads from dsn; "" when unknown
	hosts                []string
	err                  error
}

// resolve returns the DSN of spec, the target it names and the key of its pool.
func (r *Runner) resolve(dl Dialect, spec *domain.SQLSpec) (resolved, error) {
	k := sourceKey{spec.Driver, spec.DSN, spec.Host, spec.Database, spec.User, spec.Password, spec.Port}
	r.sourcesMu.Lock()
	res, ok := r.sources[k]
	r.sourcesMu.Unlock()
	if ok {
		return res, res.err
	}
	if res.dsn, res.err = dl.Source(spec); res.err == nil {
		res.target = dl.Target(res.dsn)
		if dl.Database != nil {
			res.database = dl.Database(res.dsn)
		}
		if dl.Hosts != nil {
			res.hosts = dl.Hosts(res.dsn)
		} else if _, hostport, ok := strings.Cut(res.target, "://"); ok {
			res.hosts = []string{hostport}
		}
		sum := sha256.Sum256([]byte(dl.DriverName + "\x00" + res.dsn))
		res.poolKey = hex.EncodeToString(sum[:])
	}
	r.sourcesMu.Lock()
	if len(r.sources) >= 4*r.cfg.MaxTargets {
		clear(r.sources) // rendered fields may differ per fire; never grow without bound
	}
	r.sources[k] = res
	r.sourcesMu.Unlock()
	return res, res.err
}

type pool struct {
	db       *sql.DB
	lastUsed time.Time
	driver   string // Dialect.Driver
}

// New returns a runner of the jobs whose driver is one of dialects, with no pools yet, timing
// statements and idle pools by clock, connecting only where policy allows, and refusing to run
// jobs in the system database (unless cfg.AllowSystemDatabase). It fails when dialects is
// empty, names a driver twice or lacks a function the runner calls, when policy is nil, or when
// system is unknown and jobs may not use it.
func New(clock clockwork.Clock, dialects []Dialect, policy *egress.Policy, system domain.DatabaseIdentity, cfg Config) (*Runner, error) {
	switch {
	case len(dialects) == 0:
		return nil, errors.New("dialects: none given")
	case policy == nil:
		return nil, errors.New("egress policy: none given")
	case system == (domain.DatabaseIdentity{}) && !cfg.AllowSystemDatabase:
		return nil, errors.New("system database: unknown, so sql jobs could not be kept out of it; identify it, or set sql.allow_system_database")
	}
	byDriver := make(map[string]Dialect, len(dialects))
	for i, d := range dialects {
		switch _, dup := byDriver[d.Driver]; {
		case d.Driver == "":
			return nil, fmt.Errorf("dialects[%d].Driver: is empty", i)
		case dup:
			return nil, fmt.Errorf("dialects[%d].Driver: %q is given twice", i, d.Driver)
		case d.DriverName == "" || d.Source == nil || d.Connector == nil || d.Target == nil || d.Classify == nil:
			return nil, fmt.Errorf("dialects[%d] (%s): DriverName, Source, Connector, Target and Classify are required", i, d.Driver)
		}
		byDriver[d.Driver] = d
	}
	r := &Runner{clock: clock, cfg: cfg.withDefaults(), dialects: byDriver, policy: policy, system: system,
		pools: map[string]*pool{}, closedWait: map[string]time.Duration{}, sources: map[sourceKey]resolved{}}
	if cfg.TracerProvider != nil {
		r.tracer = cfg.TracerProvider.Tracer(tracerName)
	}
	return r, nil
}

// SystemDatabaseError refuses a connection that is in vecron's own system database.
type SystemDatabaseError struct {
	Database string
}

func (e *SystemDatabaseError) Error() string {
	return fmt.Sprintf("the target is vecron's own system database (%s on the same server, however it is named); "+
		"jobs may not use it unless an operator sets sql.allow_system_database", e.Database)
}

// database refuses the connections that are in the system database.
func (r *Runner) database(id domain.DatabaseIdentity) error {
	if id == r.system {
		return jobError{&SystemDatabaseError{Database: id.Database}}
	}
	return nil
}

// connect is how the runner's connectors connect.
func (r *Runner) connect() Connect {
	c := Connect{Dial: r.policy.DialContext}
	if !r.cfg.AllowSystemDatabase {
		c.Database = r.database
	}
	return c
}

// dialect returns the dialect of driver, or the error that fails its jobs for good.
func (r *Runner) dialect(driver string) (Dialect, error) {
	d, ok := r.dialects[driver]
	switch {
	case ok:
		return d, nil
	case driver == domain.DriverOracle:
		return Dialect{}, errors.New("sql.driver: this executor was built without the Oracle driver; run the execute-db-oracle build (make build makes bin/execute-db-oracle)")
	}
	return Dialect{}, fmt.Errorf("sql.driver: %q is not one of postgres, mysql, oracle", driver)
}

// Close closes every pool.
func (r *Runner) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, p := range r.pools {
		r.closeLocked(p)
		delete(r.pools, k)
	}
}

// Pools returns how many target pools are open.
func (r *Runner) Pools() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pools)
}

// StatementResult is what one statement did; package sqlresult reads a list of them back.
type StatementResult = sqlresult.Statement

// Run runs d's statements once; ctx carries the attempt's deadline. A failure is a result, never
// an error: Permanent says whether retrying could help.
func (r *Runner) Run(ctx context.Context, d event.Due) domain.RunResult {
	start := r.clock.Now()
	res := domain.RunResult{Status: domain.StatusSucceeded}
	spec := d.SQL
	if spec == nil || len(spec.Statements) == 0 {
		return domain.RunResult{Status: domain.StatusFailed, Permanent: true, Reason: domain.FailOther, Error: "job has no sql statements"}
	}
	dl, err := r.dialect(spec.Driver)
	if err != nil {
		return domain.RunResult{Status: domain.StatusFailed, Permanent: true, Reason: domain.FailOther, Error: err.Error()}
	}
	if err := check(dl, spec); err != nil {
		// The statements themselves are refused, as the database would refuse a bad one.
		return domain.RunResult{Status: domain.StatusFailed, Permanent: true, Reason: domain.FailSQLError, Error: err.Error()}
	}
	db, src, err := r.pool(dl, spec)
	if err != nil {
		// The connection fields do not make a connection string the runner accepts.
		return domain.RunResult{Status: domain.StatusFailed, Permanent: true, Reason: domain.FailOther, Error: err.Error()}
	}
	results, err := r.runAll(ctx, dl, db, spec, r.spanAttributes(ctx, dl, src))
	res.Duration = r.clock.Since(start)
	if b, mErr := json.Marshal(results); mErr == nil {
		res.Excerpt = string(b)
		if len(res.Excerpt) > r.cfg.ExcerptBytes {
			cut := r.cfg.ExcerptBytes
			for cut > 0 && !utf8.RuneStart(res.Excerpt[cut]) {
				cut--
			}
			res.Excerpt = res.Excerpt[:cut]
		}
	}
	if err != nil {
		res.Status, res.Error = domain.StatusFailed, err.Error()
		ours, permanent, timedOut := r.classify(err)
		res.Permanent = permanent || errors.As(err, new(jobError))
		res.Reason = reason(dl, err, ours)
		if errors.Is(err, context.DeadlineExceeded) || timedOut {
			res.Status, res.Permanent, res.Reason = domain.StatusTimedOut, false, domain.FailTimeout
		}
		// A refused destination is the job's fault and stays refused; say only which rule
		// refused it (nothing was dialed, so there is nothing else to say).
		var system *SystemDatabaseError
		if denied, ok := egress.Denied(err); ok {
			res.Status, res.Error, res.Permanent, res.Reason = domain.StatusFailed, "connect: "+denied.Error(), true, domain.FailEgressDenied
		} else if errors.As(err, &system) {
			res.Status, res.Error, res.Permanent, res.Reason = domain.StatusFailed, "connect: "+system.Error(), true, domain.FailEgressDenied
		}
	}
	return res
}

// reason names why running the statements failed, short of a timeout or a refused destination,
// which Run names itself. ours says whether the database's own error is in err.
func reason(dl Dialect, err error, ours bool) domain.FailReason {
	var (
		hostErr   x509.HostnameError
		unknownCA x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		verifyErr *tls.CertificateVerificationError
		recordErr tls.RecordHeaderError
		alert     tls.AlertError
	)
	if dl.Reason != nil {
		if r := dl.Reason(err); r != "" {
			return r
		}
	}
	switch {
	case ours, errors.As(err, new(jobError)):
		return domain.FailSQLError
	case errors.As(err, &hostErr), errors.As(err, &unknownCA), errors.As(err, &invalid), errors.As(err, &verifyErr),
		errors.As(err, &recordErr), errors.As(err, &alert):
		return domain.FailTLS
	case errors.Is(err, context.Canceled):
		// The executor took the attempt back; it counts that as interrupted, not as the target's failure.
		return domain.FailOther
	}
	// A network or driver error: the database could not be reached, or the connection broke.
	return domain.FailConnect
}

// statementError says which statement failed.
type statementError struct {
	n   int
	err error
}

func (e *statementError) Error() string { return fmt.Sprintf("statement %d: %v", e.n, e.err) }
func (e *statementError) Unwrap() error { return e.err }

// jobError is a fault of the job itself, which no retry mends.
type jobError struct{ error }

func (e jobError) Unwrap() error { return e.error }

// check refuses, before anything runs, statements that would escape the job's transaction or
// its read-only promise.
func check(dl Dialect, spec *domain.SQLSpec) error {
	for i, st := range spec.Statements {
		switch {
		case (spec.Transaction || spec.ReadOnly) && controlsTransaction(spec.Driver, st.SQL):
			return &statementError{n: i + 1, err: jobError{errors.New(
				"starts, ends or commits a transaction itself, which would run the statements after it outside the job's transaction")}}
		case spec.ReadOnly && dl.ReadOnlyAllows != nil && !dl.ReadOnlyAllows(st.SQL):
			return &statementError{n: i + 1, err: jobError{fmt.Errorf(
				"read_only %s jobs run only queries: %s commits before DDL, which would end the read-only transaction", spec.Driver, spec.Driver)}}
		}
	}
	return nil
}

func (r *Runner) runAll(ctx context.Context, dl Dialect, db *sql.DB, spec *domain.SQLSpec, attrs []attribute.KeyValue) ([]StatementResult, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	var target execer = conn
	var tx *sql.Tx
	if spec.Transaction || spec.ReadOnly {
		readOnly := spec.ReadOnly && dl.ReadOnlyStatement == ""
		if tx, err = conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: readOnly}); err != nil {
			return nil, fmt.Errorf("begin: %w", err)
		}
		defer tx.Rollback() //nolint:errcheck // after a commit it does nothing
		target = tx
		if spec.ReadOnly && !readOnly {
			if _, err := tx.ExecContext(ctx, dl.ReadOnlyStatement); err != nil {
				return nil, fmt.Errorf("begin read-only: %w", err)
			}
		}
	}
	queries := dl.ReturnsRows
	if queries == nil {
		queries = returnsRows
	}
	maxRows := cmp.Or(spec.MaxRows, MaxRowsDefault)
	var out []StatementResult
	for i, st := range spec.Statements {
		sctx, cancel := ctx, context.CancelFunc(func() {})
		if t := time.Duration(spec.StatementTimeout); t > 0 {
			sctx, cancel = context.WithTimeout(ctx, t)
		}
		t0 := r.clock.Now()
		sr := StatementResult{Statement: i + 1}
		args := st.Params
		if len(st.NamedParams) > 0 {
			if dl.Named == nil {
				cancel()
				return out, &statementError{n: i + 1, err: jobError{fmt.Errorf("%s has no named parameters: use params", spec.Driver)}}
			}
			args = dl.Named(st.NamedParams)
		}
		sctx, span := r.startStatement(sctx, st.SQL, attrs)
		err := runOne(sctx, target, st.SQL, args, queries(st.SQL), maxRows, &sr)
		r.endStatement(span, dl, err)
		cancel()
		sr.DurationMS = float64(r.clock.Since(t0).Microseconds()) / 1000
		out = append(out, sr)
		if err != nil {
			return out, &statementError{n: i + 1, err: err}
		}
	}
	if tx != nil {
		if err := tx.Commit(); err != nil {
			return out, fmt.Errorf("commit: %w", err)
		}
	}
	return out, nil
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func runOne(ctx context.Context, target execer, query string, args []any, rowsBack bool, maxRows int, sr *StatementResult) error {
	if !rowsBack {
		res, err := target.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil {
			sr.RowsAffected = &n
		}
		return nil
	}
	rows, err := target.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	sr.Columns = cols
	for rows.Next() {
		if len(sr.Rows) == maxRows {
			sr.Truncated = true
			break
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = string(b)
			}
		}
		sr.Rows = append(sr.Rows, vals)
	}
	return rows.Err()
}

// pool returns the pool of spec's target, opening it on first use, and what spec resolved to.
func (r *Runner) pool(dl Dialect, spec *domain.SQLSpec) (*sql.DB, resolved, error) {
	src, err := r.resolve(dl, spec)
	if err != nil {
		return nil, src, err
	}
	dsn, key := src.dsn, src.poolKey
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.pools[key]; ok {
		p.lastUsed = r.clock.Now()
		return p.db, src, nil
	}
	if len(r.pools) >= r.cfg.MaxTargets {
		var oldest string
		for k, p := range r.pools {
			if oldest == "" || p.lastUsed.Before(r.pools[oldest].lastUsed) {
				oldest = k
			}
		}
		// Close returns at once; a statement still running on the pool finishes, then its
		// connection closes.
		r.closeLocked(r.pools[oldest])
		delete(r.pools, oldest)
	}
	connector, err := dl.Connector(dsn, r.connect())
	if err != nil {
		return nil, src, err // names the field, never holds the DSN
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(r.cfg.MaxConnsPerTarget)
	db.SetMaxIdleConns(r.cfg.MaxConnsPerTarget)
	db.SetConnMaxIdleTime(r.cfg.IdleTimeout)
	r.pools[key] = &pool{db: db, lastUsed: r.clock.Now(), driver: dl.Driver}
	return db, src, nil
}

// Source returns the database/sql driver name and DSN of spec: its DSN, or one built from its
// fields. Errors never include the DSN, which may hold a password.
func (r *Runner) Source(spec *domain.SQLSpec) (driverName, dsn string, err error) {
	d, err := r.dialect(spec.Driver)
	if err != nil {
		return "", "", err
	}
	if dsn, err = d.Source(spec); err != nil {
		return "", "", err
	}
	return d.DriverName, dsn, nil
}

// Target names the database a job calls, for its circuit breaker: "postgres://host:port".
func (r *Runner) Target(d event.Due) string {
	if d.SQL == nil {
		return ""
	}
	dl, err := r.dialect(d.SQL.Driver)
	if err != nil {
		return ""
	}
	res, err := r.resolve(dl, d.SQL)
	if err != nil {
		return ""
	}
	return res.target
}

// Destinations names every "host:port" d's job may connect to, for the check of the secrets
// bound to hosts; nil when its connection fields do not resolve (the attempt then fails on its
// own).
func (r *Runner) Destinations(d event.Due) []string {
	if d.SQL == nil {
		return nil
	}
	dl, err := r.dialect(d.SQL.Driver)
	if err != nil {
		return nil
	}
	res, err := r.resolve(dl, d.SQL)
	if err != nil {
		return nil
	}
	return res.hosts
}

// Render fills the templates of the connection fields and of the string parameters; the SQL
// text itself is never templated, so a value can never become SQL.
func (r *Runner) Render(d event.Due, c *render.Context) (event.Due, error) {
	if d.SQL == nil {
		return d, nil
	}
	spec := *d.SQL
	var err error
	for _, f := range []struct {
		name string
		v    *string
	}{{"sql.dsn", &spec.DSN}, {"sql.host", &spec.Host}, {"sql.database", &spec.Database}, {"sql.user", &spec.User}, {"sql.password", &spec.Password}} {
		if *f.v, err = render.Render(f.name, *f.v, c); err != nil {
			return d, err
		}
	}
	spec.Statements = make([]domain.SQLStatement, len(d.SQL.Statements))
	for i, st := range d.SQL.Statements {
		params := make([]any, len(st.Params))
		for k, p := range st.Params {
			if s, ok := p.(string); ok {
				if params[k], err = render.Render(fmt.Sprintf("sql.statements[%d].params[%d]", i, k), s, c); err != nil {
					return d, err
				}
				continue
			}
			params[k] = p
		}
		var named map[string]any
		if st.NamedParams != nil {
			named = make(map[string]any, len(st.NamedParams))
		}
		for k, p := range st.NamedParams {
			if s, ok := p.(string); ok {
				if named[k], err = render.Render(fmt.Sprintf("sql.statements[%d].named_params.%s", i, k), s, c); err != nil {
					return d, err
				}
				continue
			}
			named[k] = p
		}
		spec.Statements[i] = domain.SQLStatement{SQL: st.SQL, Params: params, NamedParams: named}
	}
	d.SQL = &spec
	return d, nil
}

// Permanent reports whether a failure will not change on a retry: a syntax error, a missing
// table or permission, a constraint violation, bad data. Connection trouble, deadlocks,
// serialization failures, lock waits and timeouts are worth retrying.
func (r *Runner) Permanent(err error) bool {
	_, permanent, _ := r.classify(err)
	return permanent
}

func (r *Runner) classify(err error) (ours, permanent, timedOut bool) {
	for _, d := range r.dialects {
		if ours, permanent, timedOut = d.Classify(err); ours {
			return
		}
	}
	return false, false, false // network and driver errors: the database may be back soon
}

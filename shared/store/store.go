// Package store is vecron's PostgreSQL adapter: it owns every SQL statement, applies the embedded
// migrations, and translates driver errors into the domain's sentinels.
package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/vecron/vecron/migrations"
	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/tlsconf"
)

// MaxConnsDefault bounds the pool when Config.MaxConns is zero.
const MaxConnsDefault = 10

// Config configures the connection pool.
type Config struct {
	// URL is a PostgreSQL connection string; a search_path parameter selects the schema.
	URL string `koanf:"url" usage:"PostgreSQL connection URL (also DATABASE_URL)"`
	// MaxConns bounds the pool.
	MaxConns int `koanf:"max_conns" usage:"maximum connections in the pool"`

	// Development is set by `vecron dev`, whose database is on this machine or the developer's
	// choice: WarnUnverifiedTLS stays quiet there.
	Development bool `koanf:"-"`
}

func (c Config) validate() error {
	if c.URL == "" {
		return errors.New("database.url: is required (set DATABASE_URL or VECRON_DATABASE__URL)")
	}
	if c.MaxConns < 0 {
		return errors.New("database.max_conns: must not be negative")
	}
	return nil
}

// Store reads and writes vecron's tables.
type Store struct {
	pool   *pgxpool.Pool
	schema string
	// auditKeys seal the audit log; set by UseAudit before any audited change.
	auditKeys *audit.Keys
	// days are the history partitions this process knows exist.
	days historyDays
	// rareBatch is how many (job, hour) outcome counts a listing of rare outcomes reads at a
	// time; 0 is rarePairsBatch.
	rareBatch int
}

// urlTLS names where the TLS of the connection is set: libpq's parameters in database.url, which
// pgx honours (sslmode, sslrootcert, sslcert, sslkey).
var urlTLS = tlsconf.Settings{
	CA:         "database.url (sslrootcert)",
	Cert:       "database.url (sslcert, sslkey)",
	ServerName: "database.url (the host, checked with sslmode=verify-full)",
}

// explainConnect names the part of database.url to look at when the server refused the
// connection for its TLS or its credentials; other errors are returned as they are.
func explainConnect(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "28000" && strings.Contains(pgErr.Message, "certificate"):
			return fmt.Errorf("%s: the server wants a client certificate it trusts: %w", urlTLS.Cert, err)
		case pgErr.Code == "28P01", pgErr.Code == "28000":
			return fmt.Errorf("database.url (user and password, or client certificate's name): the server refused the sign-in: %w", err)
		}
	}
	return tlsconf.Explain(err, urlTLS)
}

// Open connects to PostgreSQL and checks the connection. It does not migrate; call Migrate.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, parseError(err)
	}
	pcfg.MaxConns = int32(cmp.Or(cfg.MaxConns, MaxConnsDefault))
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	s := &Store{pool: pool}
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&s.schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres %s:%d: %w", pcfg.ConnConfig.Host, pcfg.ConnConfig.Port, explainConnect(err))
	}
	return s, nil
}

// parseError says what is wrong with database.url. The parser's own message may quote the URL,
// password included, so it is never passed on. Its TLS causes are: they name a setting or a
// file and what is wrong with it, never what the file holds; those about the key pair are said
// in words of our own, as tlsconf says them, so that no parser's message about a key is logged.
func parseError(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		if cause := errors.Unwrap(pe); cause != nil && strings.HasSuffix(pe.Error(), ": failed to configure TLS ("+cause.Error()+")") {
			why := cause.Error()
			switch {
			case strings.HasPrefix(why, "unable to load cert:"):
				why = "the certificate (sslcert) and the key (sslkey) do not make a pair, or one does not parse"
			case strings.HasPrefix(why, "unable to decrypt key:"):
				why = "the key (sslkey) does not decrypt with sslpassword"
			}
			return fmt.Errorf("database.url (sslmode, sslrootcert, sslcert, sslkey): the TLS settings do not apply: %s", why)
		}
	}
	return errors.New("database.url: not a valid PostgreSQL connection string")
}

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		// The ping may be the first connection after the TLS files were rotated.
		return fmt.Errorf("ping postgres: %w", explainConnect(err))
	}
	return nil
}

// DatabaseIdentity returns what the server reports of the system database: its cluster's system
// identifier and the database's name. The SQL executor compares each job's target with it, so a
// job cannot reach this database by another name or address of the same server.
func (s *Store) DatabaseIdentity(ctx context.Context) (domain.DatabaseIdentity, error) {
	var id domain.DatabaseIdentity
	if err := s.pool.QueryRow(ctx, `SELECT system_identifier::text, current_database() FROM pg_control_system()`).Scan(&id.SystemID, &id.Database); err != nil {
		return domain.DatabaseIdentity{}, fmt.Errorf("identify the system database: %w", err)
	}
	return id, nil
}

// Migrate applies pending migrations. Replicas starting at once serialize on a session advisory
// lock keyed by the schema, so exactly one applies each migration and the others wait.
func (s *Store) Migrate(ctx context.Context, log *slog.Logger) error {
	h := fnv.New64a()
	h.Write([]byte("vecron-migrate:" + s.schema))
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64() >> 1)))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS,
		goose.WithSessionLocker(locker), goose.WithTableName("vecron_schema_migrations"))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, r := range results {
		log.Info("migration applied", "version", r.Source.Version, "path", r.Source.Path, "duration_ms", r.Duration.Milliseconds())
	}
	return nil
}

// translate maps driver errors to domain sentinels; op names the operation for the message.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, domain.ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("%s: %w", op, domain.ErrConflict)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// utcPtr normalizes a nullable timestamp read from the database to UTC.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

// nowParam is the SQL for "now" in a time-sensitive statement: bind parameter n, the caller's
// clock, or the database's clock when the caller passes none. Comparing a time written from one
// clock with another clock is how a retry comes to be refused until two hosts' clocks agree;
// with the caller's now on both sides, every decision reads one clock.
func nowParam(n int) string { return fmt.Sprintf("coalesce($%d::timestamptz, now())", n) }

// nullTime binds t, or NULL (the database's clock, through nowParam) for the zero time.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// nullSlice binds a filter list: NULL for nil (no filter), an array otherwise, empty included.
func nullSlice(list []string) any {
	if list == nil {
		return nil
	}
	return list
}

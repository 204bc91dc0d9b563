package sqljob

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPostgresConfigUsesNothingOfTheExecutorsHomeOrEnvironment gives the executor a home and an
// environment full of what libpq and pgx fall back to — a password file, client certificates,
// a service file, PG* variables — and checks that a job's connection uses none of it. The
// certificate files hold no certificate: had the driver read one, parsing would fail.
func TestPostgresConfigUsesNothingOfTheExecutorsHomeOrEnvironment(t *testing.T) {
	home := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(home, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	pgpass := write(".pgpass", "*:*:*:*:from-the-executors-pgpass\n")
	write(".postgresql/postgresql.crt", "not a certificate")
	write(".postgresql/postgresql.key", "not a key")
	write(".postgresql/root.crt", "not a certificate")
	services := write(".pg_service.conf", "[prod]\nhost=elsewhere\npassword=from-the-service-file\n")
	t.Setenv("HOME", home)
	t.Setenv("PGPASSFILE", pgpass)
	t.Setenv("PGPASSWORD", "")
	t.Setenv("PGSSLCERT", filepath.Join(home, ".postgresql/postgresql.crt"))
	t.Setenv("PGSSLKEY", filepath.Join(home, ".postgresql/postgresql.key"))
	t.Setenv("PGSSLROOTCERT", filepath.Join(home, ".postgresql/root.crt"))
	t.Setenv("PGSERVICEFILE", services)
	t.Setenv("PGOPTIONS", "-c role=admin")
	t.Setenv("PGUSER", "executor")

	for _, dsn := range []string{
		"postgres://etl@db.internal:5432/reports?sslmode=require",
		"postgres://etl:@db.internal/reports",
		"postgresql://etl@db.internal/reports?sslmode=verify-full",
		"host=db.internal user=etl dbname=reports sslmode=prefer",
		"host=db.internal user=etl password='' dbname=reports",
	} {
		cfg, err := postgresConfig(dsn)
		require.NoError(t, err, dsn)
		require.Empty(t, cfg.Password, "%s: no password from ~/.pgpass", dsn)
		require.Equal(t, "etl", cfg.User, dsn)
		require.Equal(t, "db.internal", cfg.Host, dsn)
		require.Equal(t, "disable", cfg.SSLCertMode, "%s: no client certificate", dsn)
		require.NotContains(t, cfg.RuntimeParams, "options", "%s: no PGOPTIONS", dsn)
		if cfg.TLSConfig != nil {
			require.Nil(t, cfg.TLSConfig.RootCAs, "%s: no root certificates from ~/.postgresql", dsn)
		}
	}

	cfg, err := postgresConfig("postgres://etl:own@db.internal/reports")
	require.NoError(t, err)
	require.Equal(t, "own", cfg.Password, "the job's own password stays")

	_, err = postgresConfig("host=db.internal dbname=reports")
	require.EqualError(t, err, "sql.dsn: names no user: a job logs in as a user it names, never as the executor's", "PGUSER is not the job's user")

	t.Setenv("PGPASSWORD", "from-the-environment")
	cfg, err = postgresConfig("postgres://etl@db.internal/reports")
	require.NoError(t, err)
	require.Empty(t, cfg.Password, "no password from PGPASSWORD")

	// A service named by the environment would override the job's host and password: refused.
	t.Setenv("PGSERVICE", "prod")
	_, err = postgresConfig("postgres://etl@db.internal/reports")
	require.ErrorContains(t, err, "the executor's environment sets PGSERVICE")
}

// Package testenv gives tests real PostgreSQL, Redis and NATS JetStream, each test isolated in a
// schema, key prefix and stream names of its own so tests run in parallel and twice in a row.
//
// A service's URL comes from DATABASE_URL, REDIS_URL or NATS_URL (`make test` starts the services
// and sets them). Without it, a container is started through testcontainers-go when a Docker
// engine is reachable; otherwise the test is skipped with the command to run — except under
// CI=true, where a missing service fails the test.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/vecron/vecron/shared/domain"
)

// service describes how to reach one kind of server.
type service struct {
	env     string // variable holding its URL
	image   string
	port    string
	envs    map[string]string
	waitFor func() wait.Strategy
	url     func(host, port string) string
	hint    string
}

var (
	postgresService = service{
		env: "DATABASE_URL", image: "postgres:15-alpine", port: "5432/tcp",
		envs: map[string]string{"POSTGRES_HOST_AUTH_METHOD": "trust", "POSTGRES_DB": "test"},
		waitFor: func() wait.Strategy {
			return wait.ForLog("database system is ready to accept connections").WithOccurrence(2)
		},
		url:  func(h, p string) string { return "postgres://postgres@" + h + ":" + p + "/test?sslmode=disable" },
		hint: "run `make test`, or start PostgreSQL and set DATABASE_URL=postgres://root@127.0.0.1:5432/test?sslmode=disable",
	}
	redisService = service{
		env: "REDIS_URL", image: "redis:7-alpine", port: "6379/tcp",
		waitFor: func() wait.Strategy { return wait.ForLog("Ready to accept connections") },
		url:     func(h, p string) string { return "redis://" + h + ":" + p + "/0" },
		hint:    "run `make test`, or start Redis and set REDIS_URL=redis://127.0.0.1:6379/0",
	}
	mysqlService = service{
		env: "MYSQL_URL", image: "mariadb:10.11", port: "3306/tcp",
		envs:    map[string]string{"MARIADB_ALLOW_EMPTY_ROOT_PASSWORD": "1"},
		waitFor: func() wait.Strategy { return wait.ForLog("ready for connections").WithOccurrence(2) },
		url:     func(h, p string) string { return "root@tcp(" + h + ":" + p + ")/" },
		hint:    "run `make test`, or start MariaDB and set MYSQL_URL='root@tcp(127.0.0.1:3306)/'",
	}
	natsService = service{
		env: "NATS_URL", image: "nats:2.10-alpine", port: "4222/tcp",
		waitFor: func() wait.Strategy { return wait.ForLog("Server is ready") },
		url:     func(h, p string) string { return "nats://" + h + ":" + p },
		hint:    "run `make test`, or start nats-server -js and set NATS_URL=nats://127.0.0.1:4222",
	}
)

// containers caches one container per service for the whole test binary.
var containers sync.Map // service env → func() (string, error)

// serviceURL returns the URL of s, skipping or failing t when none can be had.
func serviceURL(t testing.TB, s service) string {
	t.Helper()
	if u := os.Getenv(s.env); u != "" {
		return u
	}
	if dockerAvailable() {
		start, _ := containers.LoadOrStore(s.env, sync.OnceValues(func() (string, error) { return startContainer(s) }))
		u, err := start.(func() (string, error))()
		if err == nil {
			return u
		}
		t.Logf("start %s container: %v", s.image, err)
	}
	msg := fmt.Sprintf("%s is not set and no Docker engine is available: %s", s.env, s.hint)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func dockerAvailable() bool {
	if os.Getenv("DOCKER_HOST") != "" {
		return true
	}
	_, err := os.Stat("/var/run/docker.sock")
	return err == nil
}

func startContainer(s service) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image: s.image, ExposedPorts: []string{s.port}, Env: s.envs, WaitingFor: s.waitFor(),
			Cmd: natsCmd(s),
		},
		Started: true,
	})
	if err != nil {
		return "", err
	}
	host, err := c.Host(ctx)
	if err != nil {
		return "", err
	}
	port, err := c.MappedPort(ctx, s.port)
	if err != nil {
		return "", err
	}
	// The container lives as long as the test binary; testcontainers' reaper removes it after.
	return s.url(host, port.Port()), nil
}

func natsCmd(s service) []string {
	if s.env == natsService.env {
		return []string{"-js"}
	}
	return nil
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

// Name returns a lowercase identifier unique to this run of t: the test's name, shortened, and
// a random suffix. It suits schema names, stream prefixes and key prefixes.
func Name(t testing.TB) string {
	t.Helper()
	base := strings.Trim(nonWord.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_")
	if len(base) > 24 {
		base = base[len(base)-24:]
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "t_" + strings.Trim(base, "_") + "_" + hex.EncodeToString(b[:])
}

// PostgresURL creates a schema of t's own and returns a connection URL whose search_path selects
// it. The schema is dropped when t ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return postgresSchema(t, serviceURL(t, postgresService))
}

// TargetDatabase is the database of the PostgreSQL test server that the sql jobs of tests
// connect to. vecron refuses jobs whose target is its own system database, and the system
// databases of tests are schemas of the server's main database (PostgresURL): their targets are
// schemas of this one.
const TargetDatabase = "vecron_sqljob_targets"

// PostgresTargetURL creates a schema of t's own in TargetDatabase, creating the database on first
// use, and returns a connection URL whose search_path selects it, for a sql job to connect to.
// The schema is dropped when t ends.
func PostgresTargetURL(t testing.TB) string {
	t.Helper()
	base := serviceURL(t, postgresService)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s: %v", postgresService.env, err)
	}
	defer conn.Close(ctx)
	// Test binaries run in parallel: one creates the database, the others wait for it. CREATE
	// DATABASE takes no IF NOT EXISTS and runs outside a transaction, hence the session lock.
	const lockKey = 0x7665_6372_6f6e // "vecron"
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		t.Fatalf("lock: %v", err)
	}
	var exists bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", TargetDatabase).Scan(&exists)
	if err == nil && !exists {
		_, err = conn.Exec(ctx, "CREATE DATABASE "+TargetDatabase)
	}
	if _, uerr := conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", lockKey); err == nil {
		err = uerr
	}
	if err != nil {
		t.Fatalf("create database %s: %v", TargetDatabase, err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s must be a postgres:// URL", postgresService.env)
	}
	u.Path = "/" + TargetDatabase
	return postgresSchema(t, u.String())
}

// PostgresIdentity returns what the PostgreSQL server at url reports of the database url names:
// its cluster's system identifier and the database's name, as vecron compares them.
func PostgresIdentity(t testing.TB, url string) domain.DatabaseIdentity {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect to postgres: %v", err)
	}
	defer conn.Close(context.Background())
	var id domain.DatabaseIdentity
	if err := conn.QueryRow(t.Context(), "SELECT system_identifier::text, current_database() FROM pg_control_system()").Scan(&id.SystemID, &id.Database); err != nil {
		t.Fatalf("identify the database: %v", err)
	}
	return id
}

// postgresSchema creates a schema of t's own in the database of base and returns base with a
// search_path that selects it. The schema is dropped when t ends.
func postgresSchema(t testing.TB, base string) string {
	t.Helper()
	schema := Name(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s: %v", postgresService.env, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL", postgresService.env)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// RedisURL returns the Redis URL and a key prefix of t's own.
func RedisURL(t testing.TB) (redisURL, keyPrefix string) {
	t.Helper()
	return serviceURL(t, redisService), Name(t) + ":"
}

// NATSURL returns the NATS URL; pair it with Prefix for stream and subject names.
func NATSURL(t testing.TB) string {
	t.Helper()
	return serviceURL(t, natsService)
}

// MySQLDSN returns a go-sql-driver DSN of a MariaDB/MySQL database of t's own, dropped when t
// ends.
func MySQLDSN(t testing.TB) string {
	t.Helper()
	base := serviceURL(t, mysqlService)
	name := Name(t)
	db, err := sql.Open("mysql", base)
	if err != nil {
		t.Fatalf("open %s: %v", mysqlService.env, err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("mysql", base)
		if err != nil {
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE "+name); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		t.Fatalf("%s: %v", mysqlService.env, err)
	}
	cfg.DBName = name
	return cfg.FormatDSN()
}

// DatabaseNow reads the clock of the PostgreSQL server at url, for a test that sets a clock of
// its own ahead of or behind it.
func DatabaseNow(t testing.TB, url string) time.Time {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect to postgres: %v", err)
	}
	defer conn.Close(context.Background())
	var now time.Time
	if err := conn.QueryRow(t.Context(), `SELECT clock_timestamp()`).Scan(&now); err != nil {
		t.Fatalf("read the database's clock: %v", err)
	}
	return now.UTC()
}

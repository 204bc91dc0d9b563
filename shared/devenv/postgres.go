package devenv

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
)

// Postgres defaults.
const (
	PostgresPortDefault     = 15432
	PostgresDatabaseDefault = "vecron"
)

// debianPostgresDirs is where Debian's postgresql-<version> packages put the server binaries.
const debianPostgresDirs = "/usr/lib/postgresql/*/bin"

// socketPathMax is the longest unix socket path PostgreSQL accepts (sun_path less its NUL).
const socketPathMax = 107

// PostgresConfig configures StartPostgres. Zero fields take their defaults.
type PostgresConfig struct {
	// DataDir holds the cluster (DataDir/data) and the server log (DataDir/postgres.log). It is
	// created when missing, and the cluster is initialized on first start. Required.
	DataDir string
	// Port is the TCP port on 127.0.0.1; PostgresPortDefault when zero.
	Port int
	// Database is created when missing; PostgresDatabaseDefault when empty.
	Database string
	// TLS, when set, makes the server take TCP connections with TLS only (hostssl), and with
	// TLS.ClientCAFile only from clients whose certificate it signed and names the user
	// (clientcert=verify-full).
	TLS *ServerTLS
	// Password, when set, is the superuser's, and TCP connections must give it
	// (scram-sha-256); the URL carries it.
	Password string
}

// secured reports whether the configuration changes how clients sign in over TCP.
func (c PostgresConfig) secured() bool { return c.TLS != nil || c.Password != "" }

func (c PostgresConfig) withDefaults() PostgresConfig {
	c.Port = cmp.Or(c.Port, PostgresPortDefault)
	c.Database = cmp.Or(c.Database, PostgresDatabaseDefault)
	return c
}

func (c PostgresConfig) validate() error {
	if c.DataDir == "" {
		return errors.New("PostgresConfig.DataDir: required")
	}
	if err := c.TLS.validate("PostgresConfig.TLS"); err != nil {
		return err
	}
	return validatePort(c.Port, "PostgresConfig.Port")
}

// StartPostgres starts a PostgreSQL server as a child process and waits until it accepts
// connections on 127.0.0.1:cfg.Port, initializing a cluster in cfg.DataDir first when there is
// none (UTF8, locale C, trust authentication, superuser postgres) and creating cfg.Database when
// missing. The URL of the returned Process has the form
// postgres://postgres@127.0.0.1:15432/vecron?sslmode=disable; with cfg.TLS it asks for
// sslmode=require (the caller adds sslrootcert, sslcert and sslkey, and verify-full), with
// cfg.Password it carries the password, which is never logged. With either, the server is set up
// through a unix socket in the data directory, and the cluster's own pg_hba.conf is left alone
// (the server reads one written for this start). ctx bounds the startup only.
//
// As root, the server runs as the "postgres" system user (PostgreSQL refuses to run as root),
// which must be able to enter every directory above cfg.DataDir.
//
// It returns an error wrapping ErrNotInstalled when the server binaries are missing,
// ErrPortInUse when the port is taken, ErrDataDirInUse when a server from another run still uses
// the cluster, and an error quoting the server log when the server does not come up.
func StartPostgres(ctx context.Context, cfg PostgresConfig, log *slog.Logger) (*Process, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	p, err := startPostgres(ctx, cfg, log)
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	return p, nil
}

func startPostgres(ctx context.Context, cfg PostgresConfig, log *slog.Logger) (*Process, error) {
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("resolve data dir: %w", err)
	}
	pgdata := filepath.Join(dataDir, "data")
	logPath := filepath.Join(dataDir, "postgres.log")

	version, err := clusterVersion(pgdata)
	if err != nil {
		return nil, err
	}
	bin, err := findPostgres(version)
	if err != nil {
		return nil, err
	}
	if err := checkPostmasterPID(pgdata); err != nil {
		return nil, err
	}
	if err := checkPort(cfg.Port, "PostgresConfig.Port"); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		if cred, err = postgresUser(); err != nil {
			return nil, err
		}
		if err := checkTraversable(dataDir, cred); err != nil {
			return nil, err
		}
	}
	if version == "" {
		if err := initCluster(ctx, bin, pgdata, cred); err != nil {
			return nil, err
		}
		log.Info("postgres cluster initialized", "data_dir", pgdata)
	}

	logFile, logStart, err := openLog(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child holds its own descriptor
	args := []string{"-D", pgdata, "-p", strconv.Itoa(cfg.Port), "-c", "listen_addresses=127.0.0.1"}
	socketOK := len(filepath.Join(pgdata, ".s.PGSQL."+strconv.Itoa(cfg.Port))) <= socketPathMax
	if socketOK {
		args = append(args, "-c", "unix_socket_directories="+pgdata)
	} else {
		args = append(args, "-c", "unix_socket_directories=") // TCP only: the socket path would be too long
	}
	hostPort := net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port))
	adminURL := "postgres://postgres@" + hostPort + "/postgres?sslmode=disable&connect_timeout=2"
	if cfg.secured() {
		if !socketOK {
			return nil, fmt.Errorf("PostgresConfig.DataDir: %s is too long for the unix socket a server with TLS or a password is set up through", pgdata)
		}
		secure, err := securePostgres(dataDir, cfg, cred)
		if err != nil {
			return nil, err
		}
		args = append(args, secure...)
		adminURL = "postgres://postgres@/postgres?" + url.Values{"host": {pgdata}, "port": {strconv.Itoa(cfg.Port)},
			"sslmode": {"disable"}, "connect_timeout": {"2"}}.Encode()
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.Dir = pgdata
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	c, err := startChild(cmd, syscall.SIGINT) // SIGINT: fast shutdown
	if err != nil {
		return nil, err
	}

	err = waitReady(ctx, c.done, func(ctx context.Context) error {
		conn, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			return err
		}
		return conn.Close(ctx)
	})
	if err == nil {
		err = createDatabase(ctx, adminURL, cfg.Database)
	}
	if err == nil && cfg.Password != "" {
		err = setPassword(ctx, adminURL, cfg.Password)
	}
	if err != nil {
		c.abort(ctx)
		return nil, withLogTail(err, logPath, logStart)
	}

	u := &url.URL{Scheme: "postgres", User: url.User("postgres"), Host: hostPort, Path: "/" + cfg.Database, RawQuery: "sslmode=disable"}
	if cfg.Password != "" {
		u.User = url.UserPassword("postgres", cfg.Password)
	}
	if cfg.TLS != nil {
		u.RawQuery = "sslmode=require"
	}
	connURL := u.String()
	log.Info("postgres ready", "url", u.Redacted(), "pid", cmd.Process.Pid, "log_file", logPath)
	return &Process{URL: connURL, name: "postgres", log: log, done: c.done, stop: c.stop}, nil
}

// clusterVersion returns the major version of the cluster in pgdata, or "" when there is none.
func clusterVersion(pgdata string) (string, error) {
	b, err := os.ReadFile(filepath.Join(pgdata, "PG_VERSION"))
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read cluster version: %w", err)
	}
	entries, err := os.ReadDir(pgdata)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read data dir: %w", err)
	}
	if len(entries) > 0 {
		return "", fmt.Errorf("%s holds files but no PostgreSQL cluster (no PG_VERSION); remove it to start afresh", pgdata)
	}
	return "", nil
}

// findPostgres returns the directory holding initdb and postgres: the one of the cluster's
// version when given and installed, else the one on PATH, else the highest version in
// /usr/lib/postgresql.
func findPostgres(version string) (string, error) {
	hasServer := func(dir string) bool {
		for _, name := range []string{"initdb", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
				return false
			}
		}
		return true
	}
	if version != "" {
		if dir := filepath.Join("/usr/lib/postgresql", version, "bin"); hasServer(dir) {
			return dir, nil
		}
	}
	if path, err := exec.LookPath("initdb"); err == nil && hasServer(filepath.Dir(path)) {
		return filepath.Dir(path), nil
	}
	dirs, _ := filepath.Glob(debianPostgresDirs) // the pattern is valid
	dirs = slices.DeleteFunc(dirs, func(d string) bool { return !hasServer(d) })
	if len(dirs) == 0 {
		return "", fmt.Errorf("%w: postgresql server (initdb, postgres) is neither on PATH nor in %s; install it: apt-get install -y postgresql", ErrNotInstalled, debianPostgresDirs)
	}
	slices.SortFunc(dirs, func(a, b string) int {
		return slices.Compare(versionNumbers(filepath.Base(filepath.Dir(a))), versionNumbers(filepath.Base(filepath.Dir(b))))
	})
	return dirs[len(dirs)-1], nil
}

// versionNumbers parses "9.6" into [9 6]; parts that are not numbers count as 0.
func versionNumbers(v string) []int {
	var n []int
	for part := range strings.SplitSeq(v, ".") {
		i, _ := strconv.Atoi(part)
		n = append(n, i)
	}
	return n
}

// checkPostmasterPID returns an error wrapping ErrDataDirInUse when the pid file of pgdata names a
// live postgres process. A stale pid file is left to postgres, which removes it.
func checkPostmasterPID(pgdata string) error {
	f, err := os.Open(filepath.Join(pgdata, "postmaster.pid"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read postmaster.pid: %w", err)
	}
	defer f.Close()
	var lines []string
	for sc := bufio.NewScanner(f); sc.Scan() && len(lines) < 4; {
		lines = append(lines, sc.Text())
	}
	if len(lines) == 0 {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid <= 0 {
		return nil
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return nil // not running
	}
	if comm, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm")); err == nil && strings.TrimSpace(string(comm)) != "postgres" {
		return nil // the pid was reused by another program
	}
	port := "?"
	if len(lines) == 4 {
		port = strings.TrimSpace(lines[3])
	}
	return fmt.Errorf("%w: %s is used by a running postgres (pid %d, port %s), probably from another `vecron dev`; stop that one, or the server: kill -INT %d",
		ErrDataDirInUse, pgdata, pid, port, pid)
}

// postgresUser returns the credential of the "postgres" system user, which runs the server when
// we are root.
func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("find the postgres system user, needed because PostgreSQL refuses to run as root (apt-get install -y postgresql creates it): %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse uid of postgres user: %w", err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse gid of postgres user: %w", err)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	gids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("list groups of postgres user: %w", err)
	}
	for _, g := range gids {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			cred.Groups = append(cred.Groups, uint32(n))
		}
	}
	return cred, nil
}

// checkTraversable returns an error naming the outermost directory, dir or one of its parents,
// that the user of cred cannot enter.
func checkTraversable(dir string, cred *syscall.Credential) error {
	var chain []string
	for d := dir; ; d = filepath.Dir(d) {
		chain = append(chain, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	for _, d := range slices.Backward(chain) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("check data dir access: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil // not a unix file system; let postgres report problems
		}
		perm := fi.Mode().Perm()
		var can bool
		switch {
		case st.Uid == cred.Uid:
			can = perm&0o100 != 0
		case st.Gid == cred.Gid || slices.Contains(cred.Groups, st.Gid):
			can = perm&0o010 != 0
		default:
			can = perm&0o001 != 0
		}
		if !can {
			return fmt.Errorf("running as root, postgres runs as the postgres user (uid %d), which cannot enter %s "+
				"(mode %04o, owner uid %d); put PostgresConfig.DataDir somewhere it can reach, or run: chmod o+x %s",
				cred.Uid, d, perm, st.Uid, d)
		}
	}
	return nil
}

// initCluster creates a cluster in pgdata, which must be missing or empty.
func initCluster(ctx context.Context, bin, pgdata string, cred *syscall.Credential) error {
	if err := os.Mkdir(pgdata, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create cluster dir: %w", err)
	}
	if cred != nil {
		if err := os.Chown(pgdata, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("hand cluster dir to postgres user: %w", err)
		}
	}
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", pgdata, "-U", "postgres", "-E", "UTF8", "--locale=C", "--auth=trust")
	cmd.Dir = pgdata
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb: %w:\n%s", err, bytes.TrimSpace(out))
	}
	return nil
}

// createDatabase creates the database name unless it exists.
func createDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %q: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %q: %w", name, err)
	}
	return nil
}

// hbaFile is the client authentication file of a start with TLS or a password, beside the
// cluster: the cluster's own pg_hba.conf stays as initdb wrote it, for a later start without.
const hbaFile = "pg_hba_vecron.conf"

// securePostgres writes the authentication file and installs the TLS files for cfg, and returns
// the server arguments that use them.
func securePostgres(dataDir string, cfg PostgresConfig, cred *syscall.Credential) ([]string, error) {
	method := "trust"
	if cfg.Password != "" {
		method = "scram-sha-256"
	}
	// The unix socket stays trusted: it is how this package sets the server up, and only the
	// server's user (or root) can enter the data directory that holds it.
	hba := "local all all trust\n"
	var args []string
	if cfg.TLS == nil {
		hba += "host all all 127.0.0.1/32 " + method + "\n"
	} else {
		files, err := cfg.TLS.install(dataDir, cred)
		if err != nil {
			return nil, err
		}
		args = append(args, "-c", "ssl=on", "-c", "ssl_cert_file="+files.cert, "-c", "ssl_key_file="+files.key)
		line := "hostssl all all 127.0.0.1/32 " + method
		if files.clientCA != "" {
			args = append(args, "-c", "ssl_ca_file="+files.clientCA)
			line += " clientcert=verify-full"
		}
		hba += line + "\n"
	}
	path := filepath.Join(dataDir, hbaFile)
	if err := os.WriteFile(path, []byte(hba), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", hbaFile, err)
	}
	if cred != nil {
		if err := os.Chown(path, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("hand %s to the postgres user: %w", hbaFile, err)
		}
	}
	return append(args, "-c", "hba_file="+path), nil
}

// setPassword gives the superuser password, sent as a SCRAM verifier computed by the server.
func setPassword(ctx context.Context, adminURL, password string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// ALTER ROLE takes no parameters: quote the literal. The statement is not logged
	// (log_statement is none) and its errors do not quote it.
	if _, err := conn.Exec(ctx, "ALTER ROLE postgres PASSWORD '"+strings.ReplaceAll(password, "'", "''")+"'"); err != nil {
		return errors.New("set the postgres password: the server refused it")
	}
	return nil
}

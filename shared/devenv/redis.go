package devenv

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RedisPortDefault is the port StartRedis listens on when RedisConfig.Port is zero.
const RedisPortDefault = 16379

// RedisConfig configures StartRedis. Zero fields take their defaults.
type RedisConfig struct {
	// DataDir is the server's working directory and holds its log (DataDir/redis.log); created
	// when missing. Nothing is persisted: the dev Redis starts empty. Required.
	DataDir string
	// Port is the TCP port on 127.0.0.1; RedisPortDefault when zero.
	Port int
	// TLS, when set, makes Port a TLS port and the only TCP port; the URL is then rediss://.
	TLS *ServerTLS
	// User and Password, when set, make an ACL user with every permission and turn the default
	// user off, so every client must sign in; the URL carries them.
	User, Password string
}

func (c RedisConfig) withDefaults() RedisConfig {
	c.Port = cmp.Or(c.Port, RedisPortDefault)
	return c
}

func (c RedisConfig) validate() error {
	if c.DataDir == "" {
		return errors.New("RedisConfig.DataDir: required")
	}
	if (c.User == "") != (c.Password == "") {
		return errors.New("RedisConfig.User, RedisConfig.Password: set both or neither")
	}
	if strings.ContainsAny(c.User, " \t\r\n") || strings.ContainsAny(c.Password, " \t\r\n") {
		return errors.New("RedisConfig.User, RedisConfig.Password: must not hold white space")
	}
	if err := c.TLS.validate("RedisConfig.TLS"); err != nil {
		return err
	}
	return validatePort(c.Port, "RedisConfig.Port")
}

// StartRedis starts redis-server (found on PATH) as a child process, without persistence, and
// waits until it answers PING on 127.0.0.1:cfg.Port. The URL of the returned Process has the form
// redis://127.0.0.1:16379/0, or rediss://user:password@127.0.0.1:16379/0 with cfg.TLS and a
// user; the password is never logged. With TLS the readiness check goes through a unix socket
// in cfg.DataDir. ctx bounds the startup only.
//
// It returns an error wrapping ErrNotInstalled when redis-server is missing, ErrPortInUse when
// the port is taken, and an error quoting the server log when the server does not come up.
func StartRedis(ctx context.Context, cfg RedisConfig, log *slog.Logger) (*Process, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("start redis: %w", err)
	}
	p, err := startRedis(ctx, cfg, log)
	if err != nil {
		return nil, fmt.Errorf("start redis: %w", err)
	}
	return p, nil
}

func startRedis(ctx context.Context, cfg RedisConfig, log *slog.Logger) (*Process, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("%w: redis-server is not on PATH; install it: apt-get install -y redis-server", ErrNotInstalled)
	}
	if err := checkPort(cfg.Port, "RedisConfig.Port"); err != nil {
		return nil, err
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("resolve data dir: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	logPath := filepath.Join(dataDir, "redis.log")
	logFile, logStart, err := openLog(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child holds its own descriptor

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port))
	args := []string{"--bind", "127.0.0.1", "--dir", dataDir, "--save", "", "--appendonly", "no", "--daemonize", "no"}
	ready := func(ctx context.Context) error { return pingRedis(ctx, "tcp", addr) }
	if cfg.TLS != nil {
		files, err := cfg.TLS.install(dataDir, nil)
		if err != nil {
			return nil, err
		}
		sock := filepath.Join(dataDir, "redis.sock")
		if len(sock) > socketPathMax {
			return nil, fmt.Errorf("RedisConfig.DataDir: %s is too long for the unix socket a TLS server is checked through", sock)
		}
		args = append(args, "--port", "0", "--tls-port", strconv.Itoa(cfg.Port), // no plain TCP port
			"--tls-cert-file", files.cert, "--tls-key-file", files.key,
			"--unixsocket", sock, "--unixsocketperm", "700")
		if files.clientCA != "" {
			args = append(args, "--tls-ca-cert-file", files.clientCA, "--tls-auth-clients", "yes")
		} else {
			args = append(args, "--tls-auth-clients", "no")
		}
		ready = func(ctx context.Context) error { return pingRedis(ctx, "unix", sock) }
	} else {
		args = append(args, "--port", strconv.Itoa(cfg.Port))
	}
	if cfg.User != "" {
		// In a file, not on the command line, where every user of the machine could read it.
		acl := filepath.Join(dataDir, "users.acl")
		rules := "user default off\nuser " + cfg.User + " on >" + cfg.Password + " ~* &* +@all\n"
		if err := os.WriteFile(acl, []byte(rules), 0o600); err != nil {
			return nil, fmt.Errorf("write acl file: %w", err)
		}
		args = append(args, "--aclfile", acl)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dataDir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	c, err := startChild(cmd, syscall.SIGTERM)
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, c.done, ready); err != nil {
		c.abort(ctx)
		return nil, withLogTail(err, logPath, logStart)
	}

	u := &url.URL{Scheme: "redis", Host: addr, Path: "/0"}
	if cfg.TLS != nil {
		u.Scheme = "rediss"
	}
	if cfg.User != "" {
		u.User = url.UserPassword(cfg.User, cfg.Password)
	}
	url := u.String()
	log.Info("redis ready", "url", u.Redacted(), "pid", cmd.Process.Pid, "log_file", logPath)
	return &Process{URL: url, name: "redis", log: log, done: c.done, stop: c.stop}, nil
}

// pingRedis returns nil when the server at addr answers PING with PONG, or asks to sign in
// first (it is up, and no password is sent to check that).
func pingRedis(ctx context.Context, network, addr string) error {
	d := net.Dialer{Timeout: time.Second}
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if reply := strings.TrimSpace(line); reply != "+PONG" && !strings.HasPrefix(reply, "-NOAUTH") {
		return fmt.Errorf("PING answered %q", reply)
	}
	return nil
}

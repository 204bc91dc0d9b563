package devenv

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
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
}

func (c RedisConfig) withDefaults() RedisConfig {
	c.Port = cmp.Or(c.Port, RedisPortDefault)
	return c
}

func (c RedisConfig) validate() error {
	if c.DataDir == "" {
		return errors.New("RedisConfig.DataDir: required")
	}
	return validatePort(c.Port, "RedisConfig.Port")
}

// StartRedis starts redis-server (found on PATH) as a child process, without persistence, and
// waits until it answers PING on 127.0.0.1:cfg.Port. The URL of the returned Process has the form
// redis://127.0.0.1:16379/0. ctx bounds the startup only.
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

	cmd := exec.Command(bin,
		"--bind", "127.0.0.1", "--port", strconv.Itoa(cfg.Port), "--dir", dataDir,
		"--save", "", "--appendonly", "no", "--daemonize", "no")
	cmd.Dir = dataDir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	c, err := startChild(cmd, syscall.SIGTERM)
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port))
	if err := waitReady(ctx, c.done, func(ctx context.Context) error { return pingRedis(ctx, addr) }); err != nil {
		c.abort(ctx)
		return nil, withLogTail(err, logPath, logStart)
	}

	url := "redis://" + addr + "/0"
	log.Info("redis ready", "url", url, "pid", cmd.Process.Pid, "log_file", logPath)
	return &Process{URL: url, name: "redis", log: log, done: c.done, stop: c.stop}, nil
}

// pingRedis returns nil when the server at addr answers PING with PONG.
func pingRedis(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
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
	if reply := strings.TrimSpace(line); reply != "+PONG" {
		return fmt.Errorf("PING answered %q", reply)
	}
	return nil
}

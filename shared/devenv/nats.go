package devenv

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/nats-io/nats-server/v2/server"
)

// NATSPortDefault is the port StartNATS listens on when NATSConfig.Port is zero.
const NATSPortDefault = 14222

// NATSConfig configures StartNATS. Zero fields take their defaults.
type NATSConfig struct {
	// DataDir holds the JetStream store (DataDir/jetstream); created when missing. Required.
	DataDir string
	// Port is the TCP port on 127.0.0.1; NATSPortDefault when zero.
	Port int
}

func (c NATSConfig) withDefaults() NATSConfig {
	c.Port = cmp.Or(c.Port, NATSPortDefault)
	return c
}

func (c NATSConfig) validate() error {
	if c.DataDir == "" {
		return errors.New("NATSConfig.DataDir: required")
	}
	return validatePort(c.Port, "NATSConfig.Port")
}

// StartNATS runs a NATS server with JetStream inside this process and waits until it accepts
// connections on 127.0.0.1:cfg.Port. The URL of the returned Process has the form
// nats://127.0.0.1:14222. The server's warnings and errors go to log. ctx bounds the startup only.
//
// It returns an error wrapping ErrPortInUse when the port is taken, and an error quoting the
// server's last error when it does not come up.
func StartNATS(ctx context.Context, cfg NATSConfig, log *slog.Logger) (*Process, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("start nats: %w", err)
	}
	p, err := startNATS(ctx, cfg, log)
	if err != nil {
		return nil, fmt.Errorf("start nats: %w", err)
	}
	return p, nil
}

func startNATS(ctx context.Context, cfg NATSConfig, log *slog.Logger) (*Process, error) {
	if err := checkPort(cfg.Port, "NATSConfig.Port"); err != nil {
		return nil, err
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("resolve data dir: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	ns, err := server.NewServer(&server.Options{
		ServerName: "vecron-dev",
		Host:       "127.0.0.1",
		Port:       cfg.Port,
		JetStream:  true,
		StoreDir:   dataDir, // the server adds the jetstream/ folder
		NoSigs:     true,    // signals belong to the vecron process
		NoLog:      true,
	})
	if err != nil {
		return nil, fmt.Errorf("configure server: %w", err)
	}
	logger := &natsLogger{log: log}
	ns.SetLoggerV2(logger, false, false, false)
	ns.Start()
	err = waitReady(ctx, nil, func(context.Context) error {
		if !ns.ReadyForConnections(pollInterval) {
			return cmp.Or(logger.lastError(), errors.New("not accepting connections yet"))
		}
		return nil
	})
	if err != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, err
	}

	done := make(chan struct{})
	go func() {
		ns.WaitForShutdown()
		close(done)
	}()
	url := "nats://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port))
	log.Info("nats ready", "url", url, "store_dir", filepath.Join(dataDir, "jetstream"))
	stop := func(context.Context) error {
		ns.Shutdown()
		<-done
		return nil
	}
	return &Process{URL: url, name: "nats", log: log, done: done, stop: stop}, nil
}

// natsLogger routes the embedded server's warnings and errors to slog and remembers the last
// error, to explain a failed start.
type natsLogger struct {
	log *slog.Logger

	mu   sync.Mutex
	last error
}

func (l *natsLogger) lastError() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

func (l *natsLogger) recordError(format string, v ...any) {
	err := fmt.Errorf(format, v...)
	l.mu.Lock()
	l.last = err
	l.mu.Unlock()
	l.log.Error("nats server error", "error", err.Error())
}

// Noticef drops notices: they are the server's chatter.
func (l *natsLogger) Noticef(string, ...any) {}

// Warnf logs a warning.
func (l *natsLogger) Warnf(format string, v ...any) {
	l.log.Warn("nats server warning", "detail", fmt.Sprintf(format, v...))
}

// Fatalf logs the error; unlike the server's own logger it does not exit the process.
func (l *natsLogger) Fatalf(format string, v ...any) { l.recordError(format, v...) }

// Errorf logs an error.
func (l *natsLogger) Errorf(format string, v ...any) { l.recordError(format, v...) }

// Debugf drops debug output.
func (l *natsLogger) Debugf(string, ...any) {}

// Tracef drops trace output.
func (l *natsLogger) Tracef(string, ...any) {}

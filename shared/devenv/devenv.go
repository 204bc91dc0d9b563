// Package devenv runs the infrastructure of `vecron dev` on the developer's machine: PostgreSQL and
// Redis as child processes, NATS JetStream inside the vecron process, each listening on 127.0.0.1
// only and keeping its data in a project-local folder (such as .vecron/). It is for local
// development only; deployments point vecron at real services.
//
// Children run in process groups of their own, so a Ctrl-C in the terminal reaches vecron alone,
// which then stops them in order through Process.Stop.
package devenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Errors to branch on; the returned errors wrap them and say what to do.
var (
	// ErrNotInstalled: a server binary is missing. The error names the package to install.
	ErrNotInstalled = errors.New("not installed")
	// ErrPortInUse: another process listens on the configured port.
	ErrPortInUse = errors.New("port in use")
	// ErrDataDirInUse: a server from another run still uses the data directory.
	ErrDataDirInUse = errors.New("data dir in use")
)

const (
	// readyTimeout bounds the wait for a started server to accept connections.
	readyTimeout = 30 * time.Second
	// stopTimeout bounds the graceful part of Stop; the server is killed after it.
	stopTimeout = 15 * time.Second
	// abortTimeout bounds the graceful stop of a server that failed to start.
	abortTimeout = 5 * time.Second
	// pollInterval is the pause between readiness probes.
	pollInterval = 100 * time.Millisecond
	// logTailBytes is how much of a server log an error quotes.
	logTailBytes = 2048
)

// Process is a started service.
type Process struct {
	// URL is where clients connect, e.g. redis://127.0.0.1:16379/0.
	URL string

	name string
	log  *slog.Logger
	done <-chan struct{}
	stop func(ctx context.Context) error
	once sync.Once
	err  error
}

// Stop stops the service gracefully and waits for it. It waits at most 15 s, or until ctx is
// done, whichever comes first, then kills the service. It is idempotent: later calls return the
// first call's result. It returns an error when the service had to be killed or had already
// exited with a failure.
func (p *Process) Stop(ctx context.Context) error {
	p.once.Do(func() {
		if err := p.stop(ctx); err != nil {
			p.err = fmt.Errorf("stop %s: %w", p.name, err)
			return
		}
		p.log.Info("service stopped", "service", p.name)
	})
	return p.err
}

// Done is closed once the service has exited, through Stop or on its own (a crash).
func (p *Process) Done() <-chan struct{} { return p.done }

// child is a server running as a child process, leader of its own process group.
type child struct {
	cmd        *exec.Cmd
	stopSignal syscall.Signal
	done       chan struct{}
	waitErr    error // written before done is closed
}

// startChild starts cmd in a process group of its own and reaps it when it exits.
func startChild(cmd *exec.Cmd, stopSignal syscall.Signal) (*child, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", cmd.Path, err)
	}
	c := &child{cmd: cmd, stopSignal: stopSignal, done: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// stop sends the stop signal to the server, waits for it to exit, and kills its whole process
// group when it does not in time.
func (c *child) stop(ctx context.Context) error {
	select {
	case <-c.done:
		if c.waitErr != nil {
			return fmt.Errorf("exited before stop: %w", c.waitErr)
		}
		return nil
	default:
	}
	if err := c.cmd.Process.Signal(c.stopSignal); err != nil && !errors.Is(err, os.ErrProcessDone) {
		c.kill()
		return fmt.Errorf("signal pid %d: %w", c.cmd.Process.Pid, err)
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-c.done:
		return c.waitErr
	case <-timer.C:
	case <-ctx.Done():
	}
	c.kill()
	return fmt.Errorf("killed pid %d: it did not exit after %s", c.cmd.Process.Pid, c.stopSignal)
}

// abort stops a server that failed to start, waiting less than stop does.
func (c *child) abort(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	_ = c.stop(ctx)
}

// kill kills the process group and waits for the leader to exit. (PostgreSQL backends run in
// sessions of their own and exit when they see the postmaster gone.)
func (c *child) kill() {
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.done
}

// checkPort returns an error wrapping ErrPortInUse when 127.0.0.1:port is taken. field names the
// configuration to change.
func checkPort(port int, field string) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%w: %s is taken by another process; stop it or set %s to a free port", ErrPortInUse, addr, field)
	}
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return l.Close()
}

// waitReady calls ready until it succeeds, exited is closed, or readyTimeout or ctx ends.
func waitReady(ctx context.Context, exited <-chan struct{}, ready func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		err := ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited during startup")
		case <-ctx.Done():
			return fmt.Errorf("not ready within %s (%w): %w", readyTimeout, ctx.Err(), err)
		case <-ticker.C:
		}
	}
}

// withLogTail adds to err what a server wrote to the log file at path from offset start on.
func withLogTail(err error, path string, start int64) error {
	b, readErr := os.ReadFile(path)
	if readErr != nil || int64(len(b)) <= start {
		return fmt.Errorf("%w (log: %s)", err, path)
	}
	b = b[start:]
	if len(b) > logTailBytes {
		b = b[len(b)-logTailBytes:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return fmt.Errorf("%w; end of %s:\n%s", err, path, bytes.TrimRight(b, "\n"))
}

// openLog opens the log file a child server writes to, for appending, and returns its size.
func openLog(path string) (*os.File, int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, 0, fmt.Errorf("open log: %w", err)
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		_ = f.Close()
		return nil, 0, fmt.Errorf("open log: %w", err)
	}
	return f, size, nil
}

// validatePort returns an error naming field when port is outside 1–65535.
func validatePort(port int, field string) error {
	if port < 1 || port > 65535 {
		return fmt.Errorf("%s: %d is not a TCP port", field, port)
	}
	return nil
}

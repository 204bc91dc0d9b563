package autoscale

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// Defaults of ProcessesConfig.
const (
	// StopTimeoutDefault is a Kubernetes pod's terminationGracePeriodSeconds default (30 s): how
	// long a stopped replica may drain before it is killed.
	StopTimeoutDefault = 30 * time.Second
	// RestartBackoffDefault is the first wait before a replica that exited on its own is
	// replaced; it doubles with each such exit in a row, up to RestartBackoffMax, as a pod's
	// CrashLoopBackOff does (there 10 s to 5 min; shorter here, where a start costs milliseconds).
	RestartBackoffDefault = time.Second
	// RestartBackoffMax bounds that wait.
	RestartBackoffMax = 30 * time.Second
)

// ErrClosed is returned by Scale once Close has begun.
var ErrClosed = errors.New("autoscale processes: closed")

// ProcessesConfig says how to start one kind's replicas as processes.
type ProcessesConfig struct {
	// Name names the replicas in log lines (execute-http).
	Name string
	// Command returns the command of the replica numbered n (1 for the first ever started, then
	// counting every start). Its output is the caller's to wire; Processes sets SysProcAttr.
	Command func(n int) *exec.Cmd
	// StopTimeout is how long a replica may drain after SIGTERM before it is killed; it should
	// exceed the replica's own shutdown grace. Zero is StopTimeoutDefault.
	StopTimeout time.Duration
	// RestartBackoff is the first wait before a replica that exited on its own is replaced;
	// zero is RestartBackoffDefault.
	RestartBackoff time.Duration
}

// Processes runs one kind's replicas as child processes, a local stand-in for a Deployment:
// Scale starts replicas, or stops the newest with SIGTERM so that they drain as a pod does
// (stop taking events, hand buffered ones back, finish those in flight), then kills those that
// outlast StopTimeout. A stopped replica no longer counts at once, as a terminating pod no longer
// counts as a replica; Close waits for every one.
type Processes struct {
	cfg   ProcessesConfig
	clock clockwork.Clock
	log   *slog.Logger

	mu      sync.Mutex
	running []*child
	// live are the replicas not yet exited: running, stopping, or just ended.
	live    map[*child]bool
	started int
	closed  bool
	// restartAt is when a replacement for a replica that exited on its own may start; backoff
	// is the wait after the next such exit.
	restartAt time.Time
	backoff   time.Duration
	// exits are every replica's waiter and stopper goroutines.
	exits sync.WaitGroup
}

var _ Replicas = (*Processes)(nil)

// child is one replica.
type child struct {
	n        int
	cmd      *exec.Cmd
	done     chan struct{}
	stopping bool
}

// NewProcesses returns a stand-in Deployment of cfg's replicas, none running, or an error
// naming a missing or bad field of cfg.
func NewProcesses(cfg ProcessesConfig, clock clockwork.Clock, log *slog.Logger) (*Processes, error) {
	switch {
	case cfg.Command == nil:
		return nil, errors.New("autoscale processes: Command is required")
	case cfg.StopTimeout < 0:
		return nil, errors.New("autoscale processes: StopTimeout must not be negative")
	case cfg.RestartBackoff < 0:
		return nil, errors.New("autoscale processes: RestartBackoff must not be negative")
	}
	cfg.StopTimeout = cmp.Or(cfg.StopTimeout, StopTimeoutDefault)
	cfg.RestartBackoff = cmp.Or(cfg.RestartBackoff, RestartBackoffDefault)
	return &Processes{cfg: cfg, clock: clock, log: log.With("replicas", cfg.Name), backoff: cfg.RestartBackoff,
		live: map[*child]bool{}}, nil
}

// Scale makes n replicas run: it stops the newest beyond n and starts more up to n. A replica that
// exited on its own is replaced once its back-off has passed; until then Scale starts none and
// returns nil, and a later call starts it. It returns ErrClosed after Close, or the error of a
// start.
func (p *Processes) Scale(_ context.Context, n int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	for len(p.running) > max(n, 0) {
		last := p.running[len(p.running)-1]
		p.running = p.running[:len(p.running)-1]
		p.stop(last)
	}
	if len(p.running) < n && p.clock.Now().Before(p.restartAt) {
		return nil
	}
	for len(p.running) < n {
		c, err := p.start()
		if err != nil {
			return err
		}
		p.running = append(p.running, c)
	}
	return nil
}

// Running returns how many replicas run and are not stopping.
func (p *Processes) Running() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.running)
}

// Started returns how many replicas were started in all.
func (p *Processes) Started() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started
}

// Close stops every replica as Scale(0) would and waits until all have exited, killing those
// that outlast StopTimeout. When ctx ends first it kills the rest at once, waits for them, and
// returns ctx's error.
func (p *Processes) Close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	for i := len(p.running) - 1; i >= 0; i-- {
		p.stop(p.running[i])
	}
	p.running = nil
	p.mu.Unlock()
	done := make(chan struct{})
	go func() { p.exits.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	p.mu.Lock()
	for c := range p.live {
		_ = c.cmd.Process.Kill()
	}
	p.mu.Unlock()
	<-done
	return ctx.Err()
}

// start starts the next replica, with p.mu held.
func (p *Processes) start() (*child, error) {
	p.started++
	c := &child{n: p.started, cmd: p.cfg.Command(p.started), done: make(chan struct{})}
	c.cmd.SysProcAttr = sysProcAttr()
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s replica %d: %w", p.cfg.Name, c.n, err)
	}
	startedAt := p.clock.Now()
	p.live[c] = true
	p.log.Info("replica started", "replica", c.n, "pid", c.cmd.Process.Pid)
	p.exits.Add(1)
	go func() {
		defer p.exits.Done()
		err := c.cmd.Wait()
		close(c.done)
		p.exited(c, err, p.clock.Since(startedAt))
	}()
	return c, nil
}

// exited takes note of c's end: a replica that exited on its own leaves the running ones and
// delays its replacement.
func (p *Processes) exited(c *child, err error, lived time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.live, c)
	if c.stopping {
		p.log.Info("replica stopped", "replica", c.n, "exit", exitText(err))
		return
	}
	for i, r := range p.running {
		if r == c {
			p.running = append(p.running[:i:i], p.running[i+1:]...)
			break
		}
	}
	// One that ran a while before it failed starts the back-off anew.
	if lived > RestartBackoffMax {
		p.backoff = p.cfg.RestartBackoff
	}
	p.restartAt = p.clock.Now().Add(p.backoff)
	p.log.Warn("replica exited on its own; replacing it", "replica", c.n, "exit", exitText(err), "restart_in", p.backoff.String())
	p.backoff = min(2*p.backoff, RestartBackoffMax)
}

// stop asks c to drain and exit, and kills it after StopTimeout; with p.mu held.
func (p *Processes) stop(c *child) {
	c.stopping = true
	if err := terminate(c.cmd.Process); err != nil {
		select {
		case <-c.done: // gone already; its waiter tells
		default:
			p.log.Warn("replica refused SIGTERM; killing it", "replica", c.n, "error", err)
			_ = c.cmd.Process.Kill()
		}
		return
	}
	p.log.Info("replica stopping", "replica", c.n)
	p.exits.Add(1)
	go func() {
		defer p.exits.Done()
		select {
		case <-c.done:
		case <-p.clock.After(p.cfg.StopTimeout):
			p.log.Warn("replica did not stop within the stop timeout; killing it", "replica", c.n, "stop_timeout", p.cfg.StopTimeout.String())
			_ = c.cmd.Process.Kill()
		}
	}()
}

// exitText says how a process ended, for a log line.
func exitText(err error) string {
	if err == nil {
		return "0"
	}
	return err.Error()
}

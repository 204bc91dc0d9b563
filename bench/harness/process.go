package harness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// process is a started function binary.
type process struct {
	name string
	cmd  *exec.Cmd
	port int
	// pprofPort serves the process's profiler when the run takes profiles.
	pprofPort int
	started   time.Time
	stopping  atomic.Bool
	mu        sync.Mutex
	out       bytes.Buffer
	done      chan struct{}
}

func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.out.Len() < 1<<20 { // keep the start of the output: that is where failures show
		p.out.Write(b)
	}
	return len(b), nil
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// command is a binary to start from env.BinDir.
type command struct {
	name string
	args []string
	// vars are added to the harness's environment; unset are removed from it first.
	vars  []string
	unset []string
	// pprofInEnv passes the profiler address as VECRON_DEBUG__PPROF_ADDR rather than as a flag:
	// `vecron dev`'s flags configure dev itself, and its functions read their settings from the
	// environment.
	pprofInEnv bool
}

// start runs binary name from env.BinDir with the given environment and flags, serving its
// probes on a free port.
func start(env Env, name string, vars []string, args ...string) (*process, error) {
	return startCommand(env, command{name: name, args: args, vars: vars})
}

// startCommand runs c, serving its probes on a free port given as --port.
func startCommand(env Env, c command) (*process, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p := &process{name: c.name, port: port, done: make(chan struct{})}
	args := append(slices.Clone(c.args), "--port="+strconv.Itoa(port))
	// Every function serves /metrics on admin.addr, :9464 by default: several on one machine
	// would fight over it, so each takes a free port of its own (and logs it).
	vars := append([]string{"VECRON_ADMIN__ADDR=127.0.0.1:0"}, c.vars...)
	if env.ProfileDir != "" {
		if p.pprofPort, err = freePort(); err != nil {
			return nil, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(p.pprofPort)
		if c.pprofInEnv {
			vars = append(vars, "VECRON_DEBUG__PPROF_ADDR="+addr)
		} else {
			args = append(args, "--debug.pprof-addr="+addr)
		}
	}
	p.cmd = exec.Command(filepath.Join(env.BinDir, c.name), args...)
	p.cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(c.unset, k)
	}), vars...)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", c.name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	return p, nil
}

// ready waits until the process answers /readyz with 200 and returns how long after its start.
func (p *process) ready(ctx context.Context, timeout time.Duration) (time.Duration, error) {
	url := fmt.Sprintf("http://127.0.0.1:%d/readyz", p.port)
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return 0, fmt.Errorf("%s exited before it was ready:\n%s", p.name, p.output())
		case <-ctx.Done():
			return 0, ctx.Err()
		default:
		}
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(p.started), nil
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return 0, fmt.Errorf("%s not ready after %s:\n%s", p.name, timeout, p.output())
}

// exited returns an error with the process's output if it ended without being stopped.
func (p *process) exited() error {
	select {
	case <-p.done:
		if !p.stopping.Load() {
			return fmt.Errorf("%s exited during the run (%v):\n%s", p.name, p.cmd.ProcessState, p.output())
		}
	default:
	}
	return nil
}

// stop sends SIGTERM and waits for the exit, killing the process after grace.
func (p *process) stop(grace time.Duration) {
	p.stopping.Store(true)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// cpuProfile records the process's CPU for d into path.
func (p *process) cpuProfile(ctx context.Context, d time.Duration, path string) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", p.pprofPort, int(d.Seconds()))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("profile %s: %w", p.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile %s: %s", p.name, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

package autoscale_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/autoscale"
	"github.com/vecron/vecron/shared/testenv"
)

// replicaEnv makes the test binary a replica of the mode it names (see runReplica).
const replicaEnv = "VECRON_AUTOSCALE_TEST_REPLICA"

// runReplica is a stand-in executor: "drain" says ready, and on SIGTERM says so and exits 0;
// "stubborn" says ready and ignores SIGTERM; "crash" exits 3 at once.
func runReplica(mode string) int {
	switch mode {
	case "crash":
		return 3
	case "drain", "stubborn":
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		fmt.Println("ready")
		for range term {
			if mode == "drain" {
				fmt.Println("drained")
				return 0
			}
		}
	}
	return 2
}

// outputs keeps each replica's output apart.
type outputs struct {
	mu  sync.Mutex
	out map[int]*bytes.Buffer
}

type replicaOut struct {
	o *outputs
	n int
}

func (w replicaOut) Write(p []byte) (int, error) {
	w.o.mu.Lock()
	defer w.o.mu.Unlock()
	return w.o.out[w.n].Write(p)
}

func (o *outputs) of(n int) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if b := o.out[n]; b != nil {
		return b.String()
	}
	return ""
}

// newProcesses returns Processes of replicas of mode, with their outputs, closed when t ends.
func newProcesses(t *testing.T, mode string, clock clockwork.Clock, cfg autoscale.ProcessesConfig) (*autoscale.Processes, *outputs, *testenv.LogBuffer) {
	t.Helper()
	o := &outputs{out: map[int]*bytes.Buffer{}}
	exe, err := os.Executable()
	require.NoError(t, err)
	cfg.Name = "replica-" + mode
	cfg.Command = func(n int) *exec.Cmd {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), replicaEnv+"="+mode)
		o.mu.Lock()
		o.out[n] = &bytes.Buffer{}
		o.mu.Unlock()
		cmd.Stdout = replicaOut{o, n}
		return cmd
	}
	logs := &testenv.LogBuffer{}
	p, err := autoscale.NewProcesses(cfg, clock, slog.New(slog.NewTextHandler(logs, nil)))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close(context.Background())) })
	return p, o, logs
}

// Scaling down stops the newest replicas with SIGTERM and lets them drain; they stop counting at
// once. Close stops the rest the same way and returns once all have exited.
func TestProcessesDrainWhatTheyStop(t *testing.T) {
	t.Parallel()
	p, out, logs := newProcesses(t, "drain", clockwork.NewRealClock(), autoscale.ProcessesConfig{})
	require.NoError(t, p.Scale(t.Context(), 3))
	require.Equal(t, 3, p.Running())
	for n := 1; n <= 3; n++ {
		testenv.Eventually(t, fmt.Sprintf("replica %d ready", n), func() bool { return strings.Contains(out.of(n), "ready") })
	}
	require.NoError(t, p.Scale(t.Context(), 3), "the same count again changes nothing")
	require.Equal(t, 3, p.Started())

	require.NoError(t, p.Scale(t.Context(), 1))
	require.Equal(t, 1, p.Running(), "stopping replicas no longer count")
	for n := 2; n <= 3; n++ {
		testenv.Eventually(t, fmt.Sprintf("replica %d drained", n), func() bool { return strings.Contains(out.of(n), "drained") })
	}
	require.NotContains(t, out.of(1), "drained", "the oldest is kept")
	testenv.Eventually(t, "both stops logged", func() bool { return strings.Count(logs.String(), "replica stopped") == 2 })
	require.Contains(t, logs.String(), "replica=3 exit=0")

	require.NoError(t, p.Close(t.Context()))
	require.Contains(t, out.of(1), "drained")
	require.Equal(t, 0, p.Running())
	require.ErrorIs(t, p.Scale(t.Context(), 1), autoscale.ErrClosed)
	require.NotContains(t, logs.String(), "killing")
}

// A replica that does not stop within StopTimeout of its SIGTERM is killed.
func TestProcessesKillWhatOutlastsTheStopTimeout(t *testing.T) {
	t.Parallel()
	p, out, logs := newProcesses(t, "stubborn", clockwork.NewRealClock(), autoscale.ProcessesConfig{StopTimeout: 100 * time.Millisecond})
	require.NoError(t, p.Scale(t.Context(), 1))
	testenv.Eventually(t, "ready", func() bool { return strings.Contains(out.of(1), "ready") })
	require.NoError(t, p.Close(t.Context()))
	require.Contains(t, logs.String(), "did not stop within the stop timeout; killing it")
	require.Contains(t, logs.String(), "exit=\"signal: killed\"")
}

// A replica that exits on its own stops counting and is replaced by a later Scale, once a
// back-off that doubles with each such exit has passed.
func TestProcessesReplaceWhatExitsAfterABackoff(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClock()
	p, _, logs := newProcesses(t, "crash", clock, autoscale.ProcessesConfig{RestartBackoff: time.Second})
	require.NoError(t, p.Scale(t.Context(), 1))
	testenv.Eventually(t, "the replica gone", func() bool { return p.Running() == 0 })
	require.Contains(t, logs.String(), `replica exited on its own; replacing it" replicas=replica-crash replica=1 exit="exit status 3" restart_in=1s`)

	require.NoError(t, p.Scale(t.Context(), 1))
	require.Equal(t, 1, p.Started(), "not within the back-off")
	clock.Advance(time.Second)
	require.NoError(t, p.Scale(t.Context(), 1))
	require.Equal(t, 2, p.Started())
	testenv.Eventually(t, "the second gone", func() bool { return p.Running() == 0 })
	require.Contains(t, logs.String(), "replica=2 exit=\"exit status 3\" restart_in=2s")
	clock.Advance(time.Second)
	require.NoError(t, p.Scale(t.Context(), 1))
	require.Equal(t, 2, p.Started(), "the back-off doubled")
	clock.Advance(time.Second)
	require.NoError(t, p.Scale(t.Context(), 1))
	require.Equal(t, 3, p.Started())
	testenv.Eventually(t, "the third gone", func() bool { return p.Running() == 0 })
}

func TestNewProcessesRefusesBadConfig(t *testing.T) {
	t.Parallel()
	clock, log := clockwork.NewFakeClock(), testenv.Logger(t)
	cmd := func(int) *exec.Cmd { return exec.Command("true") }
	for name, tc := range map[string]struct {
		cfg  autoscale.ProcessesConfig
		want string
	}{
		"NoCommand":       {autoscale.ProcessesConfig{}, "Command"},
		"NegativeStop":    {autoscale.ProcessesConfig{Command: cmd, StopTimeout: -1}, "StopTimeout"},
		"NegativeBackoff": {autoscale.ProcessesConfig{Command: cmd, RestartBackoff: -1}, "RestartBackoff"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := autoscale.NewProcesses(tc.cfg, clock, log)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

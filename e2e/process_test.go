package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/gocmd"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// binDir is where this test binary builds the functions; TestMain removes it.
func binDir() string { return filepath.Join(os.TempDir(), "vecron-e2e-bin-"+strconv.Itoa(os.Getpid())) }

// binaries builds the function binaries and the CLI once per test run.
var binaries = sync.OnceValues(func() (string, error) {
	dir := binDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Built as make build and the bench build them (static, -trimpath): the build cache then
	// serves the packages they share, in a fresh clone too.
	cmd := exec.Command(gocmd.Path(), "build", "-trimpath", "-ldflags=-s -w", "-o", dir+string(filepath.Separator),
		"./functions/tick", "./functions/execute-http", "./functions/api", "./cmd/vecron")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return dir, nil
})

// proc is a started binary whose output is kept for assertions.
type proc struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	// done is closed once the process has exited and been waited for.
	done chan struct{}
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// startProc starts binary name, in a process group of its own that t's cleanup kills and
// waits for unless the process has exited.
func startProc(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	dir, err := binaries()
	require.NoError(t, err)
	p := &proc{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(dir, name), args...)
	// Every function serves /metrics on admin.addr, :9464 by default: the tests' processes
	// would fight over it, so each takes a free port of its own (env may still say otherwise).
	p.cmd.Env = append(append(os.Environ(), "VECRON_ADMIN__ADDR=127.0.0.1:0"), env...)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	startGroup(t, p.cmd, p.done)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.output())
		}
	})
	return p
}

// startGroup starts cmd as the leader of a new process group, closes done once cmd has exited
// and been waited for, and has t's cleanup kill the whole group and wait, unless done is
// closed by then.
func startGroup(t *testing.T, cmd *exec.Cmd, done chan struct{}) {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		select {
		case <-done:
			return
		default:
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	})
}

// stop sends sig and returns the exit code.
func (p *proc) stop(t *testing.T, sig os.Signal) int {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(sig))
	select {
	case <-p.done:
	case <-time.After(testenv.Timeout(45 * time.Second)):
		t.Fatalf("%s did not exit after %s", p.name, sig)
	}
	return p.cmd.ProcessState.ExitCode()
}

// TestFunctionBinariesDrainOnSIGTERM runs the three function binaries as processes, stops them
// with SIGTERM while an execution is in flight, and checks the execution still completes and
// every process exits 0.
func TestFunctionBinariesDrainOnSIGTERM(t *testing.T) {
	t.Parallel()
	dbURL := testenv.PostgresURL(t)
	_, _, names := testenv.NATS(t)
	env := []string{
		"DATABASE_URL=" + dbURL, "NATS_URL=" + testenv.NATSURL(t), "VECRON_NATS__PREFIX=" + names.Prefix,
		"VECRON_LOG__FORMAT=text", "VECRON_AUTH__SIGNING_KEYS=" + testfactory.SigningKey(t),
		"VECRON_AUDIT__KEYS=" + testfactory.AuditKey(t),
	}
	redisURL, redisPrefix := testenv.RedisURL(t)
	env = append(env, "REDIS_URL="+redisURL, "VECRON_REDIS__PREFIX="+redisPrefix, "VECRON_EGRESS__ALLOW=127.0.0.0/8,::1/128")
	apiPort, workerPort := testenv.FreePort(t), testenv.FreePort(t)
	api := startProc(t, "api", env, fmt.Sprintf("--port=%d", apiPort), "--host=127.0.0.1")
	tick := startProc(t, "tick", env, "--port=0")
	worker := startProc(t, "execute-http", env, fmt.Sprintf("--port=%d", workerPort))
	apiURL := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	waitHTTP(t, apiURL+"/readyz")
	signInAsAdmin(t, dbURL, apiURL)
	waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/readyz", workerPort))

	// A target that takes 2 s to answer: the execution is in flight when SIGTERM arrives.
	arrived := make(chan struct{}, 100)
	slow := newTargetFunc(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		time.Sleep(2 * time.Second)
		io.WriteString(w, "finished")
	})
	var j domain.Job
	require.Equal(t, http.StatusCreated, postJSON(t, apiURL+"/api/v1/jobs", map[string]any{
		"name": "slow", "schedule": map[string]string{"cron": "* * * * * *"}, "http": map[string]any{"url": slow.URL},
	}, &j))
	select {
	case <-arrived:
	case <-time.After(testenv.Timeout(20 * time.Second)):
		t.Fatal("the job never reached the target")
	}

	// Stop the clock first, then the worker mid-request, then the API.
	require.Equal(t, 0, tick.stop(t, syscall.SIGTERM), "tick exit code")
	require.Equal(t, 0, worker.stop(t, syscall.SIGTERM), "execute-http exit code")
	require.Contains(t, worker.output(), "execute-http stopped")

	execs := allExecutions(t, apiURL, j.ID)
	require.NotEmpty(t, execs)
	for _, e := range execs {
		require.Equal(t, domain.StatusSucceeded, e.Status, "execution %s was in flight at SIGTERM and must finish", e.IdempotencyKey)
		require.Equal(t, "finished", e.ResponseExcerpt)
	}
	require.Equal(t, 0, api.stop(t, syscall.SIGTERM), "api exit code")
	require.Contains(t, tick.output(), "tick stopped")
}

// vecronLogin runs `vecron login --print-token` as the README does, with a configuration folder
// of t's own, and returns the access token.
func vecronLogin(t *testing.T, apiURL, username, password string) string {
	t.Helper()
	dir, err := binaries()
	require.NoError(t, err)
	cfg := t.TempDir()
	cmd := exec.Command(filepath.Join(dir, "vecron"), "login", "--server", apiURL, "--username", username, "--password-stdin", "--print-token")
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+cfg, "HOME="+cfg)
	cmd.Stdin = strings.NewReader(password + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	info, err := os.Stat(filepath.Join(cfg, "vecron", "credentials.json"))
	require.NoError(t, err, "login keeps the tokens")
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "readable by the user alone")
	return strings.TrimSpace(string(out))
}

// waitBanner waits until dev has printed its whole banner for apiURL: it ends with the sign-in
// command, so the first lines alone are not enough.
func waitBanner(t *testing.T, dev *proc, apiURL string) {
	t.Helper()
	testenv.EventuallyWithin(t, 60*time.Second, "the banner", func() bool {
		out := dev.output()
		return strings.Contains(out, apiURL+"/api/v1/jobs") && strings.Contains(out, "--print-token")
	})
}

// TestVecronDevRunsEverythingAndStopsOnCtrlC runs `vecron dev` against the test services (with
// its embedded NATS), follows the README tour with one job, and stops it with SIGINT.
func TestVecronDevRunsEverythingAndStopsOnCtrlC(t *testing.T) {
	t.Parallel()
	_, _, names := testenv.NATS(t) // only for a unique prefix; dev embeds its own NATS server
	redisURL, redisPrefix := testenv.RedisURL(t)
	apiPort, natsPort, adminPort := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	dev := startProc(t, "vecron", []string{
		"DATABASE_URL=" + testenv.PostgresURL(t), "REDIS_URL=" + redisURL, "NATS_URL=",
		"VECRON_NATS__PREFIX=" + names.Prefix, "VECRON_REDIS__PREFIX=" + redisPrefix,
	}, "dev", fmt.Sprintf("--port=%d", apiPort), fmt.Sprintf("--nats-port=%d", natsPort), fmt.Sprintf("--admin-port=%d", adminPort),
		"--data-dir="+t.TempDir())
	apiURL := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	waitBanner(t, dev, apiURL)
	require.Contains(t, dev.output(), fmt.Sprintf("nats://127.0.0.1:%d", natsPort))
	require.Contains(t, dev.output(), apiURL+"/api/docs", "the banner names the API reference")
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", adminPort)
	require.Contains(t, dev.output(), "  metrics     "+metricsURL+"  (all four functions, one registry)")

	// Sign in as the README says: the banner shows the admin's password once.
	m := regexp.MustCompile(`PASSWORD='([^']+)'`).FindStringSubmatch(dev.output())
	require.NotNil(t, m, "the banner shows the admin password")
	require.NotContains(t, strings.Replace(dev.output(), m[0], "", 1), m[1], "the password appears once, in the banner only")
	useToken(t, apiURL, vecronLogin(t, apiURL, "admin", m[1]))
	checkConformance(t, apiURL) // every answer of the tour, against the document the api serves
	resp, err := http.Get(apiURL + "/api/v1/jobs")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "anonymous requests are refused")

	// Watch the live stream through the tour, as the README does with curl -N.
	live := watchStream(t, apiURL+"/api/v1/stream")
	tg := newTarget(t)
	var j domain.Job
	require.Equal(t, http.StatusCreated, postJSON(t, apiURL+"/api/v1/jobs", map[string]any{
		"name": "tour", "schedule": map[string]string{"cron": "* * * * * *"}, "http": map[string]any{"url": tg.URL},
	}, &j))
	testenv.EventuallyWithin(t, 20*time.Second, "two recorded executions", func() bool { return len(allExecutions(t, apiURL, j.ID)) >= 2 })

	// Edit it in place, as the tour does: its fires move to the new target, each recorded with
	// the version that ran, and the history stays one job's.
	moved := newTarget(t)
	req, err := http.NewRequest(http.MethodPatch, apiURL+"/api/v1/jobs/"+j.ID, strings.NewReader(`{"http":{"url":"`+moved.URL+`"}}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/merge-patch+json")
	req.Header.Set("If-Match", `"1"`)
	resp, err = apiClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, `"2"`, resp.Header.Get("ETag"))
	testenv.EventuallyWithin(t, 20*time.Second, "fires at the edited target", func() bool { return len(moved.requests()) >= 2 })
	before, after := tg.requests(), moved.requests()
	versions := map[string]int64{} // a fire is recorded before it is sent
	for _, e := range allExecutions(t, apiURL, j.ID) {
		versions[e.IdempotencyKey] = e.JobVersion
	}
	for want, reqs := range map[int64][]request{1: before, 2: after} {
		for _, r := range reqs {
			require.Contains(t, versions, r.key)
			require.Equal(t, want, versions[r.key], "the fire %s reached the target of version %d", r.key, want)
		}
	}

	// Run it now: the API answers at once with the execution, which the tick and the executor
	// then carry out.
	var run struct {
		ExecutionID string `json:"execution_id"`
	}
	require.Equal(t, http.StatusAccepted, postJSON(t, apiURL+"/api/v1/jobs/"+j.ID+"/trigger", map[string]any{"payload": map[string]string{"why": "tour"}}, &run))
	testenv.EventuallyWithin(t, 20*time.Second, "the run started by hand succeeded", func() bool {
		var e domain.Execution
		getJSON(t, apiURL+"/api/v1/executions/"+run.ExecutionID, &e)
		return e.Status == domain.StatusSucceeded && e.Trigger == domain.TriggerManual
	})
	// The stream showed it all: the job's creation and edit, and the run's start and outcome.
	testenv.EventuallyWithin(t, 20*time.Second, "the tour on the live stream", func() bool {
		return live.saw(event.TypeJobCreated, j.ID, "") && live.saw(event.TypeJobUpdated, j.ID, "") &&
			live.saw(event.TypeExecutionStarted, j.ID, run.ExecutionID) && live.saw(event.TypeExecutionSucceeded, j.ID, run.ExecutionID)
	})
	resp, err = http.Get(apiURL + "/readyz")
	require.NoError(t, err)
	var ready map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&ready))
	resp.Body.Close()
	require.Equal(t, map[string]string{"postgres": "ok", "redis": "ok", "nats": "ok"}, ready)

	// One registry for the four functions, served on the banner's address: dev's build info, the
	// tick's fires and leases, the api's watchdog, and the Go collectors once.
	resp, err = http.Get(metricsURL)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	scraped := string(body)
	require.Contains(t, scraped, `vecron_build_info{function="dev"`)
	require.Regexp(t, `(?m)^vecron_fires_published_total\{kind="http",trigger="schedule"\} [1-9]`, scraped, "the tick counts into dev's registry")
	require.Contains(t, scraped, "vecron_tick_shards_owned ")
	require.Contains(t, scraped, "vecron_missed_fires_total{")
	require.Equal(t, 1, strings.Count(scraped, "\ngo_goroutines "), "one Go collector for the process")

	require.Equal(t, 0, dev.stop(t, os.Interrupt), "vecron dev exit code")
	require.Contains(t, dev.output(), "vecron stopped")
}

// stream is a live stream read in the background.
type stream struct {
	mu     sync.Mutex
	events []streamEvent
}

type streamEvent struct {
	Type    string          `json:"type"`
	Subject string          `json:"subject"`
	Data    json.RawMessage `json:"data"`
}

// watchStream opens the live stream at url (once the API can serve it) and collects its events
// until t ends.
func watchStream(t *testing.T, url string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var resp *http.Response
	testenv.EventuallyWithin(t, 30*time.Second, "the live stream opens", func() bool {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		require.NoError(t, err)
		r, err := apiClient.Do(req)
		require.NoError(t, err)
		if r.StatusCode != http.StatusOK {
			r.Body.Close()
			return false
		}
		resp = r
		return true
	})
	s := &stream{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var ev streamEvent
				if json.Unmarshal([]byte(data), &ev) == nil {
					s.mu.Lock()
					s.events = append(s.events, ev)
					s.mu.Unlock()
				}
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

// saw reports whether an event of type typ about job subject arrived; with executionID set,
// about that execution.
func (s *stream) saw(typ, subject, executionID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range s.events {
		var x struct {
			ID string `json:"id"`
		}
		if ev.Type == typ && ev.Subject == subject && (executionID == "" || json.Unmarshal(ev.Data, &x) == nil && x.ID == executionID) {
			return true
		}
	}
	return false
}

// newTargetFunc is an HTTP target with a handler of the test's own.
func newTargetFunc(t *testing.T, h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

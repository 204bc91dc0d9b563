package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/api"
	"github.com/vecron/vecron/shared/feed"
	"github.com/vecron/vecron/shared/jobevents"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/variables"
)

var update = flag.Bool("update", false, "rewrite the golden files of the CLI's tables")

// apiEnv is a real API on a database schema of the test's own, and an admin's token for it.
type apiEnv struct {
	t     *testing.T
	st    *store.Store
	srv   *httptest.Server
	token string
	// vars are the environment variables the commands see, beside VECRON_SERVER and VECRON_TOKEN.
	vars map[string]string
	// now is the clock of the commands (--since).
	now time.Time
	// streams records the Last-Event-ID of each request of the live stream.
	mu      sync.Mutex
	streams []string
}

// newAPIEnv starts the API; with stream it also serves the live stream from a NATS of the
// test's own, with the publisher of job events running.
func newAPIEnv(t *testing.T, stream bool) *apiEnv {
	t.Helper()
	st, _ := testfactory.Store(t)
	key, err := secret.NewKey("test")
	require.NoError(t, err)
	keys, err := secret.ParseKeys(key)
	require.NoError(t, err)
	deps := api.Deps{Jobs: jobs.New(st, time.Now), Vars: variables.New(st, keys, time.Now), Store: st,
		Identity: testfactory.Identity(t, st, testfactory.AuthConfig(t), time.Now)}
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	if stream {
		_, js, names := testenv.NATS(t)
		clock := clockwork.NewRealClock()
		hub := feed.New(js, names, clock, testenv.Logger(t), feed.Config{})
		pub := jobevents.New(st, js, names, clock, testenv.Logger(t), jobevents.Config{})
		_, err := st.AuditCursor(t.Context(), jobevents.CursorName)
		require.NoError(t, err)
		wg.Go(func() { _ = hub.Run(ctx) })
		wg.Go(func() { _ = pub.Run(ctx) })
		deps.Feed, deps.Clock = hub, clock
	}
	a := &apiEnv{t: t, st: st, vars: map[string]string{}, now: time.Now()}
	h := api.New(deps, time.Now, testenv.Logger(t))
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/stream" {
			a.mu.Lock()
			a.streams = append(a.streams, r.Header.Get("Last-Event-ID"))
			a.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { cancel(); a.srv.CloseClientConnections(); a.srv.Close(); wg.Wait() })
	a.token = testfactory.AdminToken(t, st)
	return a
}

// env is the surroundings the commands see: this API and token, a configuration folder of
// their own, UTC as the local zone.
func (a *apiEnv) env() env { return a.envAs(a.token) }

// envAs is env with token as the credential.
func (a *apiEnv) envAs(token string) env {
	dir := a.t.TempDir()
	vars := map[string]string{"VECRON_SERVER": a.srv.URL, "VECRON_TOKEN": token}
	for k, v := range a.vars {
		vars[k] = v
	}
	return env{getenv: func(k string) string { return vars[k] }, configDir: func() (string, error) { return dir, nil },
		local: time.UTC, now: func() time.Time { return a.now }}
}

// run runs `vecron args…` as main does and returns what it wrote and its exit status.
func (a *apiEnv) run(stdin string, args ...string) (stdout, stderr string, code int) {
	a.t.Helper()
	var out, errb bytes.Buffer
	code = execute(a.t.Context(), a.env(), strings.NewReader(stdin), &out, &errb, args...)
	return out.String(), errb.String(), code
}

// runAs is run with token as the credential: as another user.
func (a *apiEnv) runAs(token, stdin string, args ...string) (stdout, stderr string, code int) {
	a.t.Helper()
	var out, errb bytes.Buffer
	code = execute(a.t.Context(), a.envAs(token), strings.NewReader(stdin), &out, &errb, args...)
	return out.String(), errb.String(), code
}

// ok is run for a command that must succeed; it returns its standard output.
func (a *apiEnv) ok(args ...string) string {
	a.t.Helper()
	out, errOut, code := a.run("", args...)
	require.Equal(a.t, 0, code, "vecron %s: %s", strings.Join(args, " "), errOut)
	return out
}

// execute runs `vecron args…` in e as main does and returns its exit status.
func execute(ctx context.Context, e env, stdin io.Reader, stdout, stderr io.Writer, args ...string) int {
	root := rootCommand(e)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetIn(stdin)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "vecron:", err)
		return exitCode(err)
	}
	return 0
}

// golden compares got with testdata/name.golden, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./cmd/vecron -run %s -update to write it", t.Name())
	require.Equal(t, string(want), got)
}

// stable replaces each id by a made-up one of the same length, numbered in order, so that a
// table of fixtures with fresh ids reads the same every run and keeps its alignment.
func stable(s string, ids ...string) string {
	for i, id := range ids {
		s = strings.ReplaceAll(s, id, fmt.Sprintf("00000000-0000-0000-0000-%012d", i+1))
	}
	return s
}

// syncBuffer is a buffer a command writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

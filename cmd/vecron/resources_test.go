package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testfactory"
)

// TestExecutionsListFollowsPagesAndFilters: --limit and --all follow the API's cursors, and
// --since, --status and --trigger narrow the list.
func TestExecutionsListFollowsPagesAndFilters(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, false)
	j := testfactory.Job(t, a.st, testfactory.JobOpts{Name: "hourly"})
	a.now = time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	for i := range 7 {
		status := domain.StatusSucceeded
		if i%3 == 0 {
			status = domain.StatusFailed
		}
		testfactory.Outcome(t, a.st, j, status, a.now.Add(-time.Duration(i+1)*time.Hour), time.Second)
	}
	rows := func(out string) int { return strings.Count(out, "\n") - 1 }

	out, stderr, code := a.run("", "executions", "list", "--limit", "3")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, 3, rows(out))
	require.Equal(t, "showing the first 3; --limit shows more, --all every one\n", stderr)

	var page rawPage
	require.NoError(t, json.Unmarshal([]byte(a.ok("executions", "list", "--limit", "5", "-o", "json")), &page))
	require.Len(t, page.Items, 5)
	require.NotEmpty(t, page.NextCursor, "a list cut short says where to go on")
	var all rawPage
	require.NoError(t, json.Unmarshal([]byte(a.ok("executions", "list", "--all", "-o", "json")), &all))
	require.Len(t, all.Items, 7)
	require.Empty(t, all.NextCursor)

	require.Equal(t, 2, rows(a.ok("executions", "list", "--since", "150m")), "fires 1 h and 2 h before now")
	require.Equal(t, 4, rows(a.ok("executions", "list", "--since", "2026-01-01T18:30:00Z", "--until", "2026-01-01T22:30:00Z")), "19:00 to 22:00")
	require.Equal(t, 7, rows(a.ok("executions", "list", "--since", "2026-01-01", "--job", j.Name)))
	require.Equal(t, 3, rows(a.ok("executions", "list", "--status", "failed", "--trigger", "schedule")))
	require.Equal(t, 0, rows(a.ok("executions", "list", "--trigger", "manual")))
	require.Equal(t, 0, rows(a.ok("executions", "list", "--namespace", "elsewhere")))

	_, stderr, code = a.run("", "executions", "list", "--status", "lost")
	require.Equal(t, exitInvalid, code)
	require.Contains(t, stderr, "\n  status: \"lost\" is not one of queued, running")
}

func TestDeadLettersReplayAndDiscard(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, false)
	j := testfactory.Job(t, a.st, testfactory.JobOpts{Name: "flaky"})
	first := testfactory.DeadLetter(t, a.st, j)
	second := testfactory.Outcome(t, a.st, j, domain.StatusDeadLettered, time.Now().Add(-time.Hour), time.Second)

	out := a.ok("dead-letters", "replay", first.ID)
	require.True(t, strings.HasPrefix(out, "replaying dead letter "+first.ID+": the new run's idempotency key is "+j.ID+":replay:"), out)
	require.Equal(t, "discarded dead letter "+second.ID+"\n", a.ok("dead-letters", "discard", second.ID))
	_, stderr, code := a.run("", "dead-letters", "discard", first.ID)
	require.Equal(t, exitConflict, code)
	require.Contains(t, stderr, "vecron: Conflict (409): this dead letter was already replayed as "+j.ID+":replay:")

	list := a.ok("dead-letters", "list", "--job", "flaky", "--state", "all")
	require.Contains(t, list, "replayed")
	require.Contains(t, list, "discarded")
	require.Equal(t, "ID  JOB  DEAD SINCE  ATTEMPTS  STATE  ERROR\n", a.ok("dead-letters", "list"), "none pending")
}

// TestVariables: global and job variables set, listed and deleted; a secret is read from
// standard input and never printed.
func TestVariables(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, false)
	j := testfactory.Job(t, a.st, testfactory.JobOpts{Name: "reports"})

	require.Equal(t, "created variable REPORT_URL (global)\n", a.ok("variables", "set", "REPORT_URL", "https://reports.example.com"))
	require.Equal(t, "replaced variable REPORT_URL (global)\n", a.ok("variables", "set", "REPORT_URL", "https://r.example.com", "--namespaces", "billing"))
	out, stderr, code := a.run("s3cr3t-value\n", "variables", "set", "DB_PASSWORD", "--secret", "--job", "reports", "--allowed-host", "db.example.com")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "created secret DB_PASSWORD (job)\n", out)

	global := a.ok("variables", "list")
	require.Contains(t, global, "REPORT_URL")
	require.Contains(t, global, "https://r.example.com")
	require.Contains(t, global, "billing")
	own := a.ok("variables", "list", "--job", j.ID)
	require.Contains(t, own, "DB_PASSWORD")
	require.Contains(t, own, "db.example.com")
	for _, f := range []string{"table", "json", "yaml"} {
		require.NotContains(t, a.ok("variables", "list", "--job", "reports", "-o", f), "s3cr3t", "a secret's value is never shown (-o %s)", f)
	}

	require.Equal(t, "deleted variable DB_PASSWORD\n", a.ok("variables", "delete", "DB_PASSWORD", "--job", "reports"))
	_, stderr, code = a.run("", "variables", "delete", "DB_PASSWORD", "--job", "reports")
	require.Equal(t, exitNotFound, code, stderr)
	_, stderr, code = a.run("", "variables", "set", "bad name", "x")
	require.Equal(t, exitInvalid, code)
	require.Contains(t, stderr, "\n  name: must start with a letter")
}

// TestServerAndTokenResolution: --server, then VECRON_SERVER, then the server of vecron login,
// then the local one; VECRON_TOKEN over the token login kept.
func TestServerAndTokenResolution(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vars := map[string]string{}
	e := env{getenv: func(k string) string { return vars[k] }, configDir: func() (string, error) { return dir, nil }}
	require.Equal(t, serverDefault, e.serverURL(""))
	_, err := e.bearerToken(t.Context(), serverDefault)
	require.Equal(t, exitUnauthorized, exitCode(err))

	_, err = e.saveCredentials(credentials{Server: "https://vecron.example.com", AccessToken: "kept", ExpiresAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	info, err := os.Stat(filepath.Join(dir, "vecron", "credentials.json"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	require.Equal(t, "https://vecron.example.com", e.serverURL(""))
	tok, err := e.bearerToken(t.Context(), "https://vecron.example.com")
	require.NoError(t, err)
	require.Equal(t, "kept", tok)
	_, err = e.bearerToken(t.Context(), "https://other.example.com")
	require.ErrorContains(t, err, "signed in to https://vecron.example.com, not https://other.example.com")

	vars["VECRON_SERVER"] = "https://env.example.com"
	require.Equal(t, "https://env.example.com", e.serverURL(""))
	require.Equal(t, "https://flag.example.com", e.serverURL("https://flag.example.com"))
	vars["VECRON_TOKEN"] = "from-env"
	tok, err = e.bearerToken(t.Context(), "https://other.example.com")
	require.NoError(t, err)
	require.Equal(t, "from-env", tok)
}

func TestExitCodeOfEachStatus(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]int{400: 6, 401: 5, 403: 5, 404: 3, 405: 1, 409: 4, 412: 4, 415: 1, 422: 6, 428: 4, 429: 7, 500: 7, 503: 7} {
		require.Equal(t, want, exitCode(problemOf(status, nil)), "status %d", status)
	}
	require.Equal(t, "Service Unavailable (503)", problemOf(503, []byte("<html>bad gateway</html>")).Error())
}

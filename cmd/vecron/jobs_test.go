package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

const jobYAML = `# a job as people write it
name: nightly
namespace: billing
schedule:
  cron: "0 0 2 * * ?"
http:
  method: POST
  url: http://127.0.0.1:9/report
timeout: 30s
`

// TestJobsLifecycle takes a job through every command: created from YAML on standard input,
// read, edited in an editor and from a file, run now, paused, resumed, cloned and deleted.
func TestJobsLifecycle(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, false)

	out, stderr, code := a.run(jobYAML, "jobs", "create", "-f", "-")
	require.Equal(t, 0, code, stderr)
	require.Regexp(t, `^created job billing/nightly \([0-9a-f-]{36}\), next run 20\d\d-\d\d-\d\d 02:00:00 \+07\n$`, out)
	var j domain.Job
	require.NoError(t, json.Unmarshal([]byte(a.ok("jobs", "get", "nightly", "-o", "json")), &j))
	require.Equal(t, "POST", j.HTTP.Method)
	require.Equal(t, int64(1), j.Version)
	get := a.ok("jobs", "get", "nightly")
	require.Contains(t, get, "Target:       POST http://127.0.0.1:9/report\n")
	require.Contains(t, get, "Schedule:     0 0 2 * * ? (Asia/Ho_Chi_Minh)\n")

	// The editor changes the schedule; the job is replaced on the version it showed.
	a.vars["EDITOR"] = `sed -i 's/0 0 2 \* \* ?/0 30 3 * * ?/'`
	out = a.ok("jobs", "edit", "nightly", "-n", "billing")
	require.Contains(t, out, "edited job billing/nightly: version 2, next run ")
	require.NoError(t, json.Unmarshal([]byte(a.ok("jobs", "get", j.ID, "-o", "json")), &j))
	require.Equal(t, "0 30 3 * * ?", j.Schedule.Cron)
	require.Equal(t, "POST", j.HTTP.Method, "what the editor did not touch stays")

	// An editor that changes nothing leaves the job as it is.
	a.vars["EDITOR"] = "true"
	_, stderr, code = a.run("", "jobs", "edit", "nightly")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, "no change")

	// A file read at version 2 cannot overwrite version 3, made since: 412, exit 4.
	file := filepath.Join(t.TempDir(), "nightly.yaml")
	require.NoError(t, os.WriteFile(file, []byte(a.ok("jobs", "get", "nightly", "-o", "yaml")), 0o600))
	a.ok("jobs", "disable", "nightly")
	_, stderr, code = a.run("", "jobs", "edit", "nightly", "-f", file)
	require.Equal(t, exitConflict, code, stderr)
	require.Contains(t, stderr, "vecron: Precondition Failed (412): the job changed since it was read: it is at version 3 now")
	// Read again, it goes through.
	y := strings.Replace(a.ok("jobs", "get", "nightly", "-o", "yaml"), "timeout: 30s", "timeout: 45s", 1)
	_, stderr, code = a.run(y, "jobs", "edit", "nightly", "-f", "-")
	require.Equal(t, 0, code, stderr)
	require.NoError(t, json.Unmarshal([]byte(a.ok("jobs", "get", j.ID, "-o", "json")), &j))
	require.Equal(t, domain.Duration(45*time.Second), j.Timeout)
	require.False(t, j.Enabled, "the edit keeps the pause made before it was read")

	// An editor's mistake is named by field, and the edit is kept to fix and retry.
	a.vars["EDITOR"] = `sed -i 's/timezone: .*/timezone: Mars\/Base/'`
	_, stderr, code = a.run("", "jobs", "edit", "nightly")
	require.Equal(t, exitInvalid, code, stderr)
	require.Contains(t, stderr, "vecron: Invalid input (400):\n  timezone: unknown time zone \"Mars/Base\"")
	kept := regexp.MustCompile(`the edit is kept in (\S+):`).FindStringSubmatch(stderr)
	require.Len(t, kept, 2, stderr)
	t.Cleanup(func() { os.Remove(kept[1]) })
	b, err := os.ReadFile(kept[1])
	require.NoError(t, err)
	require.Contains(t, string(b), "timezone: Mars/Base")

	require.Contains(t, a.ok("jobs", "enable", "nightly"), "resumed job billing/nightly, next run ")

	// Run now with a payload and a key: the same key gives the same run.
	out = a.ok("jobs", "trigger", "nightly", "--payload", `{"reason":"month end"}`, "--idempotency-key", "month-end-2026-12", "-o", "json")
	var run struct {
		ExecutionID    string `json:"execution_id"`
		IdempotencyKey string `json:"idempotency_key"`
		Status         string `json:"status"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &run))
	require.Equal(t, "queued", run.Status)
	require.Equal(t, j.ID+":manual:month-end-2026-12", run.IdempotencyKey)
	again := a.ok("jobs", "trigger", "nightly", "--idempotency-key", "month-end-2026-12")
	require.Equal(t, "already started with this idempotency key: execution "+run.ExecutionID+" (queued); follow it with vecron executions get "+run.ExecutionID+"\n", again)
	require.Contains(t, a.ok("executions", "get", run.ExecutionID), "Trigger:          manual\n")
	require.Contains(t, a.ok("executions", "cancel", run.ExecutionID, "--reason", "not today"), "is cancelled\n")
	var cancelled domain.Execution
	require.NoError(t, json.Unmarshal([]byte(a.ok("executions", "get", run.ExecutionID, "-o", "json")), &cancelled))
	require.Equal(t, domain.StatusCancelled, cancelled.Status)
	require.Contains(t, cancelled.Error, "not today")

	out = a.ok("jobs", "clone", "nightly", "--name", "nightly-copy", "--to-namespace", "team-b")
	require.Regexp(t, `^created job team-b/nightly-copy \([0-9a-f-]{36}\), paused\n$`, out)

	require.Equal(t, "deleted job nightly\n", a.ok("jobs", "delete", "nightly", "-n", "billing"))
	_, stderr, code = a.run("", "jobs", "get", j.ID)
	require.Equal(t, exitNotFound, code)
	require.Equal(t, "vecron: Not Found (404): no such resource\n", stderr)
	_, stderr, code = a.run("", "jobs", "get", "nightly")
	require.Equal(t, exitNotFound, code)
	require.Equal(t, "vecron: Not Found (404): no job named \"nightly\" in any namespace you may read\n", stderr)
}

// TestErrorsAndExitCodes: each kind of failure ends with its status and says what the problem
// says, never a Go error chain.
func TestErrorsAndExitCodes(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, false)
	testfactory.Job(t, a.st, testfactory.JobOpts{Name: "twin", Namespace: "a"})
	testfactory.Job(t, a.st, testfactory.JobOpts{Name: "twin", Namespace: "b"})
	taken := testfactory.Job(t, a.st, testfactory.JobOpts{Name: "taken"})

	t.Run("Invalid", func(t *testing.T) {
		_, stderr, code := a.run(`{"name":"x","schedule":{"cron":"* * *"},"timezone":"Mars/Base","http":{"url":"ftp://x"}}`, "jobs", "create", "-f", "-")
		assert.Equal(t, exitInvalid, code)
		assert.Regexp(t, `^vecron: Invalid input \(400\):\n(  [a-z_.]+: .+\n){3}$`, stderr)
		assert.Contains(t, stderr, "\n  http.url: must be an absolute http:// or https:// URL")
		assert.Contains(t, stderr, "\n  schedule.cron: ")
	})
	t.Run("UnknownField", func(t *testing.T) {
		_, stderr, code := a.run("name: y\nshedule:\n  cron: '@daily'\n", "jobs", "create", "-f", "-")
		assert.Equal(t, exitInvalid, code)
		assert.Equal(t, "vecron: Invalid input (400):\n  shedule: is not a known field\n", stderr)
	})
	t.Run("NotADocument", func(t *testing.T) {
		_, stderr, code := a.run("name: [unclosed\n", "jobs", "create", "-f", "-")
		assert.Equal(t, exitUsage, code)
		assert.Contains(t, stderr, "vecron: the document is neither JSON nor YAML: line ")
	})
	t.Run("NameTaken", func(t *testing.T) {
		_, stderr, code := a.run("", "jobs", "clone", taken.ID, "--name", "taken")
		assert.Equal(t, exitConflict, code)
		assert.Equal(t, "vecron: Conflict (409):\n  name: ", stderr[:len("vecron: Conflict (409):\n  name: ")])
	})
	t.Run("AmbiguousName", func(t *testing.T) {
		_, stderr, code := a.run("", "jobs", "get", "twin")
		assert.Equal(t, exitUsage, code)
		assert.Equal(t, "vecron: jobs named \"twin\" are in namespaces a, b: pass --namespace\n", stderr)
		assert.Contains(t, a.ok("jobs", "get", "twin", "-n", "b"), "Name:         b/twin\n")
	})
	t.Run("BadPayload", func(t *testing.T) {
		_, stderr, code := a.run("", "jobs", "trigger", "taken", "--payload", "{not json")
		assert.Equal(t, exitUsage, code)
		assert.Contains(t, stderr, "--payload: must be JSON")
	})
	t.Run("UsageErrors", func(t *testing.T) {
		for _, args := range [][]string{
			{"jobs", "get"}, {"jobs", "list", "--bogus"}, {"jobs", "list", "-o", "xml"}, {"jobs", "create"},
			{"executions", "list", "--since", "last week"}, {"executions", "list", "--limit", "0"},
			{"executions", "watch", "-o", "yaml"}, {"variables", "set", "PASSWORD", "hunter2", "--secret"},
		} {
			_, stderr, code := a.run("", args...)
			assert.Equal(t, exitUsage, code, "%v: %s", args, stderr)
			assert.True(t, strings.HasPrefix(stderr, "vecron: "), stderr)
		}
	})
	t.Run("Unauthorized", func(t *testing.T) {
		e := a.env()
		e.getenv = func(k string) string {
			return map[string]string{"VECRON_SERVER": a.srv.URL, "VECRON_TOKEN": "vcr_not-a-token"}[k]
		}
		var out, errb strings.Builder
		code := execute(t.Context(), e, strings.NewReader(""), &out, &errb, "jobs", "list")
		assert.Equal(t, exitUnauthorized, code)
		assert.True(t, strings.HasPrefix(errb.String(), "vecron: Unauthorized (401): "), errb.String())
	})
	t.Run("NotSignedIn", func(t *testing.T) {
		e := a.env()
		e.getenv = func(k string) string { return map[string]string{"VECRON_SERVER": a.srv.URL}[k] }
		var out, errb strings.Builder
		code := execute(t.Context(), e, strings.NewReader(""), &out, &errb, "jobs", "list")
		assert.Equal(t, exitUnauthorized, code)
		assert.Equal(t, "vecron: not signed in: run vecron login, or set VECRON_TOKEN\n", errb.String())
	})
	t.Run("Unreachable", func(t *testing.T) {
		_, stderr, code := a.run("", "jobs", "list", "--server", "http://"+testenv.RefusedAddr(t).String())
		assert.Equal(t, exitUnavailable, code)
		assert.Regexp(t, `^vecron: cannot reach http://127\.0\.0\.1:\d+: connection refused\n$`, stderr)
	})
}

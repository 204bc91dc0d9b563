package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

// TestJobsExportAndApply: an export applied back changes nothing; a directory of files edited
// from it is planned (--dry-run changes nothing), then applied in one request, pruning what the
// files no longer name.
func TestJobsExportAndApply(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, false)
	nightly := testfactory.Job(t, a.st, testfactory.JobOpts{Name: "nightly", Namespace: "billing", Cron: "0 0 2 * * ?"})
	testfactory.Job(t, a.st, testfactory.JobOpts{Name: "archive", Namespace: "billing", Cron: "0 0 3 * * ?"})
	ping := testfactory.Job(t, a.st, testfactory.JobOpts{Name: "ping", Namespace: "ops"})

	// YAML by default, as the API writes it for Accept: application/yaml; -o json is its JSON.
	y := a.ok("jobs", "export", "-n", "billing")
	require.True(t, strings.HasPrefix(y, "jobs:\n- namespace: billing\n  name: archive\n"), y)
	require.NotContains(t, y, nightly.ID, "an export holds definitions, not what vecron keeps about a job")
	var got, want any
	require.NoError(t, json.Unmarshal([]byte(a.ok("jobs", "export", "-n", "billing", "-o", "json")), &got))
	require.NoError(t, json.Unmarshal(a.get("/api/v1/jobs/export?namespace=billing"), &want))
	require.Equal(t, want, got)

	dir := t.TempDir()
	billing := filepath.Join(dir, "billing.yaml")
	require.Empty(t, a.ok("jobs", "export", "-n", "billing", "-f", billing))
	b, err := os.ReadFile(billing)
	require.NoError(t, err)
	require.Equal(t, y, string(b), "-f writes what standard output shows")
	require.Empty(t, a.ok("jobs", "export", "-n", "ops", "-o", "json", "-f", filepath.Join(dir, "ops.json")))

	// Applied back as they are, the files change nothing.
	require.Equal(t, "NAMESPACE  NAME     ACTION     CHANGES\n"+
		"billing    archive  unchanged  -\n"+
		"billing    nightly  unchanged  -\n"+
		"ops        ping     unchanged  -\n"+
		"dry run, nothing changed: 0 to create, 0 to update, 0 to delete, 3 unchanged\n",
		a.ok("jobs", "apply", "-f", dir, "--dry-run"))

	// Edited: nightly moves to 03:30 with a longer timeout, archive is gone from the file, a
	// job is added, and ping's file (JSON) retries less.
	edited := strings.Replace(string(b), `cron: 0 0 2 * * ?`, `cron: 0 30 3 * * ?`, 1)
	require.NotEqual(t, string(b), edited)
	start := strings.Index(edited, "- namespace: billing\n  name: archive\n")
	end := strings.Index(edited, "- namespace: billing\n  name: nightly\n")
	require.True(t, start >= 0 && end > start, edited)
	edited = edited[:start] + edited[end:]
	edited = strings.Replace(edited, "timeout: 5s", "timeout: 45s", 1)
	require.NoError(t, os.WriteFile(billing, []byte(edited), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "new.yml"), []byte(`jobs:
  - name: reconcile
    namespace: billing
    schedule: {cron: "0 0 6 * * ?"}
    http: {url: "http://127.0.0.1:9/reconcile"}
`), 0o600))
	opsFile := filepath.Join(dir, "ops.json")
	ops, err := os.ReadFile(opsFile)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(opsFile, []byte(strings.Replace(string(ops), `"max_attempts":10`, `"max_attempts":3`, 1)), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("not a file of jobs"), 0o600))

	plan := a.ok("jobs", "apply", "-f", dir, "--prune", "--dry-run")
	golden(t, "jobs-apply-plan", plan)
	var j domain.Job
	require.NoError(t, json.Unmarshal([]byte(a.ok("jobs", "get", nightly.ID, "-o", "json")), &j))
	require.Equal(t, int64(1), j.Version, "a dry run changes nothing")

	// -o json is the API's answer.
	var answer struct {
		DryRun bool `json:"dry_run"`
		Plan   []struct {
			Name, Action string
			Diff         []domain.FieldChange
			ID           string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(a.ok("jobs", "apply", "-f", dir, "--prune", "--dry-run", "-o", "json")), &answer))
	require.True(t, answer.DryRun)
	require.Len(t, answer.Plan, 4)
	require.Equal(t, "nightly", answer.Plan[1].Name)
	require.Equal(t, []domain.FieldChange{{Path: "schedule.cron", Old: "0 0 2 * * ?", New: "0 30 3 * * ?"},
		{Path: "timeout", Old: "5s", New: "45s"}}, answer.Plan[1].Diff)

	out := a.ok("jobs", "apply", "-f", dir, "--prune")
	require.True(t, strings.HasSuffix(out, "\napplied: 1 created, 2 updated, 1 deleted, 0 unchanged\n"), out)
	require.NoError(t, json.Unmarshal([]byte(a.ok("jobs", "get", nightly.ID, "-o", "json")), &j))
	require.Equal(t, "0 30 3 * * ?", j.Schedule.Cron)
	require.Equal(t, int64(2), j.Version)
	require.NoError(t, json.Unmarshal([]byte(a.ok("jobs", "get", ping.ID, "-o", "json")), &j))
	require.Equal(t, 3, j.Retry.MaxAttempts)
	_, _, code := a.run("", "jobs", "get", "archive", "-n", "billing")
	require.Equal(t, exitNotFound, code, "pruned")

	// Standard input takes the same, and the export of what was applied is unchanged by it.
	exported := a.ok("jobs", "export")
	out, stderr, code := a.run(exported, "jobs", "apply", "-f", "-")
	require.Equal(t, 0, code, stderr)
	require.True(t, strings.HasSuffix(out, "\napplied: 0 created, 0 updated, 0 deleted, 3 unchanged\n"), out)
	require.Equal(t, exported, a.ok("jobs", "export"))
}

// TestJobsApplyErrors: what the API refuses is named by job and field, in the file it came
// from, with the exit status of its kind; what the CLI cannot read is a usage error.
func TestJobsApplyErrors(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, false)
	testfactory.Job(t, a.st, testfactory.JobOpts{Name: "nightly", Namespace: "billing"})
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	good := `{"name":"ok","namespace":"billing","schedule":{"cron":"@daily"},"http":{"url":"http://127.0.0.1:9/"}}`
	bad := `{"name":"bad","namespace":"billing","schedule":{"cron":"* * *"},"http":{"url":"http://127.0.0.1:9/"}}`

	t.Run("InvalidItem", func(t *testing.T) {
		_, stderr, code := a.run(`{"jobs":[`+good+`,`+bad+`]}`, "jobs", "apply", "-f", "-")
		assert.Equal(t, exitInvalid, code)
		assert.Regexp(t, `^vecron: Invalid input \(400\):\n  jobs\[1\]\.schedule\.cron: `, stderr)
	})
	t.Run("InvalidItemOfADirectory", func(t *testing.T) {
		write("d/a.json", `{"jobs":[`+good+`]}`)
		b := write("d/b.yaml", "jobs:\n  - "+good+"\n  - "+bad+"\n")
		_, stderr, code := a.run("", "jobs", "apply", "-f", filepath.Dir(b))
		assert.Equal(t, exitInvalid, code)
		assert.Contains(t, stderr, "\n  "+b+": jobs[1].schedule.cron: ", "the API's jobs[2] is the second of b.yaml")
		assert.Contains(t, stderr, "\n  "+b+": jobs[0].name: ", "ok is named twice: in a.json and as b.yaml's first")
	})
	t.Run("Forbidden", func(t *testing.T) {
		viewer := userToken(t, a, "vera", rbac.RoleViewer, domain.AllNamespaces)
		_, stderr, code := a.runAs(viewer, `{"jobs":[`+good+`]}`, "jobs", "apply", "-f", "-", "--dry-run")
		assert.Equal(t, exitUnauthorized, code)
		assert.Contains(t, stderr, "vecron: Forbidden (403): ")
		_, _, code = a.runAs(viewer, "", "jobs", "export")
		assert.Equal(t, 0, code, "a viewer may export")
	})
	t.Run("ItemOutsideTheNamespaces", func(t *testing.T) {
		_, stderr, code := a.run(`{"jobs":[`+good+`]}`, "jobs", "apply", "-f", "-", "--namespace", "ops", "--prune")
		assert.Equal(t, exitInvalid, code, stderr)
		assert.Contains(t, stderr, "\n  jobs[0].namespace: ")
	})
	t.Run("NotAFileOfJobs", func(t *testing.T) {
		for name, c := range map[string]struct{ in, want string }{
			"Empty":       {"", "standard input: is empty"},
			"OneJob":      {good, `standard input: line 1: "name": a file of jobs holds only jobs`},
			"Flags":       {"jobs: []\nprune: true\n", `standard input: line 2: "prune": a file of jobs holds only jobs (--namespace, --prune and --dry-run are flags)`},
			"NotAList":    {"jobs: {}\n", "standard input: line 1: jobs: must be a list of jobs"},
			"Anchor":      {"jobs:\n  - &x {name: a}\n  - *x\n", "standard input: line 2: a YAML anchor or alias; write the value out"},
			"TwoDocs":     {"jobs: []\n---\njobs: []\n", "standard input: line 2: a second YAML document"},
			"Unreadable":  {"jobs: [unclosed\n", "standard input: is neither JSON nor YAML: "},
			"ScalarAtTop": {"7\n", `standard input: line 1: a file of jobs is an object {"jobs": [...]}`},
		} {
			_, stderr, code := a.run(c.in, "jobs", "apply", "-f", "-")
			assert.Equal(t, exitUsage, code, "%s: %s", name, stderr)
			assert.True(t, strings.HasPrefix(stderr, "vecron: "+c.want), "%s: %s", name, stderr)
		}
	})
	t.Run("UsageErrors", func(t *testing.T) {
		empty := filepath.Join(dir, "empty")
		require.NoError(t, os.MkdirAll(empty, 0o755))
		for _, args := range [][]string{
			{"jobs", "apply"}, {"jobs", "apply", "-f", filepath.Join(dir, "missing.yaml")}, {"jobs", "apply", "-f", empty},
			{"jobs", "export", "-o", "table"}, {"jobs", "apply", "-f", "-", "-o", "xml"},
		} {
			_, stderr, code := a.run("jobs: []\n", args...)
			assert.Equal(t, exitUsage, code, "%v: %s", args, stderr)
		}
	})
	t.Run("ExportOfANamespaceNotSeen", func(t *testing.T) {
		opsOnly := userToken(t, a, "olga", rbac.RoleViewer, "ops")
		_, stderr, code := a.runAs(opsOnly, "", "jobs", "export", "-n", "billing", "-f", filepath.Join(dir, "never.yaml"))
		assert.Equal(t, exitNotFound, code, stderr)
		assert.NoFileExists(t, filepath.Join(dir, "never.yaml"))
	})
}

// TestApplyWaitingForApproval: the plan of an apply whose namespaces require four eyes lists
// the changes it became, with their ids and how to approve them.
func TestApplyWaitingForApproval(t *testing.T) {
	t.Parallel()
	answer := `{"dry_run": false,
	  "plan": [{"namespace": "pay", "name": "nightly", "action": "update",
	            "diff": [{"path": "retry.backoff[0]", "old": "5s", "new": "10s"}, {"path": "retry.backoff[1]", "old": "15s", "new": "30s"}]}],
	  "changes": [{"id": "00000000-0000-0000-0000-000000000007", "namespace": "pay", "action": "update", "job_id": "00000000-0000-0000-0000-000000000001",
	               "definition": {"namespace": "pay", "name": "nightly"}, "diff": [{"path": "retry.backoff[0]", "old": "5s", "new": "10s"}],
	               "requested_by": "token:alice", "requested_at": "2026-01-01T00:00:00Z", "expires_at": "2026-01-04T00:00:00Z", "status": "pending"}]}`
	var a applyAnswer
	require.NoError(t, json.Unmarshal([]byte(answer), &a))
	var b strings.Builder
	env{local: time.UTC}.printApply(t.Context(), &b, a)
	require.Equal(t, `NAMESPACE  NAME     ACTION  CHANGES
pay        nightly  update  retry.backoff
1 change waits for approval by another user with job:approve:
ID                                    NAMESPACE  JOB      ACTION  STATUS   REQUESTED BY  REQUESTED                CHANGES
00000000-0000-0000-0000-000000000007  pay        nightly  update  pending  token:alice   2026-01-01 00:00:00 UTC  retry.backoff
review one with: vecron changes get ID; decide with: vecron changes approve ID (or reject)
`, b.String())
}

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

var changeID = regexp.MustCompile(`change ([0-9a-f-]{36});`)

// pendingID is the id of the change a write that waits for approval printed.
func pendingID(t *testing.T, out string) string {
	t.Helper()
	m := changeID.FindStringSubmatch(out)
	require.Len(t, m, 2, out)
	return m[1]
}

// TestFourEyesThroughTheCLI: an admin makes a namespace require four eyes; an editor's edit,
// delete and create there wait as changes; the editor cannot approve their own; an approver
// approves one (the job changes), rejects another; the editor withdraws the third.
func TestFourEyesThroughTheCLI(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, false)
	nightly := testfactory.Job(t, a.st, testfactory.JobOpts{Name: "nightly", Namespace: "pay", Cron: "0 0 2 * * ?"})
	alice := userToken(t, a, "alice", rbac.RoleEditor, "pay")
	bob := userToken(t, a, "bob", rbac.RoleApprover, "pay")

	require.Contains(t, a.ok("namespaces", "settings", "get", "pay"), "Four eyes:      off: ")
	out := a.ok("namespaces", "settings", "set", "pay", "--four-eyes=true", "--change-expiry", "72h")
	require.Contains(t, out, "Four eyes:      on: creates, edits and deletes of jobs wait for another user's approval\n")
	require.Contains(t, out, "Change expiry:  72h\n")
	// What is not named stays: four eyes stays on when only the expiry changes.
	var st domain.NamespaceSettings
	require.NoError(t, json.Unmarshal([]byte(a.ok("namespaces", "settings", "set", "pay", "--change-expiry", "48h", "-o", "json")), &st))
	require.True(t, st.FourEyes)
	require.Equal(t, domain.Duration(48*time.Hour), st.ChangeExpiry)
	_, stderr, code := a.runAs(alice, "", "namespaces", "settings", "set", "pay", "--four-eyes=false")
	require.Equal(t, exitUnauthorized, code, "an editor may not lift four eyes: %s", stderr)
	_, stderr, code = a.run("", "namespaces", "settings", "set", "pay", "--change-expiry", "1000h")
	require.Equal(t, exitInvalid, code)
	require.Contains(t, stderr, "\n  change_expiry: must be a duration from 1h0m0s to 720h0m0s")
	require.NoError(t, json.Unmarshal([]byte(a.runOK(alice, "namespaces", "settings", "get", "pay", "-o", "json")), &st))
	require.True(t, st.FourEyes, "whoever writes jobs there may read whether they wait")

	// Alice's edit waits.
	file := filepath.Join(t.TempDir(), "nightly.yaml")
	y := strings.Replace(a.runOK(alice, "jobs", "get", "nightly", "-o", "yaml"), "0 0 2 * * ?", "0 30 3 * * ?", 1)
	require.NoError(t, os.WriteFile(file, []byte(y), 0o600))
	out = a.runOK(alice, "jobs", "edit", "nightly", "-f", file)
	require.Regexp(t, `^namespace pay requires four eyes: the update of job pay/nightly waits for another user's approval, until 20\d\d-`, out)
	edit := pendingID(t, out)
	var j domain.Job
	require.NoError(t, json.Unmarshal([]byte(a.ok("jobs", "get", nightly.ID, "-o", "json")), &j))
	require.Equal(t, "0 0 2 * * ?", j.Schedule.Cron, "nothing changes before an approval")

	// She cannot approve her own change, nor may she approve at all.
	_, stderr, code = a.runAs(alice, "", "changes", "approve", edit)
	require.Equal(t, exitUnauthorized, code, stderr)
	require.Contains(t, stderr, "vecron: Forbidden (403): ")
	require.Contains(t, stderr, "job:approve")

	// Her delete and her create wait too.
	deletion := pendingID(t, a.runOK(alice, "jobs", "delete", "nightly"))
	out, stderr, code = a.runAs(alice, "name: refunds\nnamespace: pay\nschedule: {cron: '@hourly'}\nhttp: {url: 'http://127.0.0.1:9/refunds'}\n", "jobs", "create", "-f", "-")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "the create of job pay/refunds waits")
	create := pendingID(t, out)

	list := a.runOK(bob, "changes", "list", "-n", "pay", "--status", "pending")
	golden(t, "changes-list", stable(sameInstants(list), edit, deletion, create))

	// -o json is the API's page.
	var got, want any
	require.NoError(t, json.Unmarshal([]byte(a.runOK(bob, "changes", "list", "-o", "json")), &got))
	require.NoError(t, json.Unmarshal(a.get("/api/v1/changes?limit=50"), &want))
	require.Equal(t, want, got)

	// Bob reads the edit and approves it: the job changes, as Alice wrote it.
	get := a.runOK(bob, "changes", "get", edit)
	require.Contains(t, get, "Job:           nightly ("+nightly.ID+")\n")
	require.Contains(t, get, "Requested:     ")
	require.Contains(t, get, " by token:alice\n")
	require.Contains(t, get, "\nChanges:\n  schedule.cron  \"0 0 2 * * ?\" → \"0 30 3 * * ?\"\n")
	require.Contains(t, get, "\nDefinition:\n  namespace: pay\n  name: nightly\n")
	require.Equal(t, "approved change "+edit+": the update of job pay/nightly is made\n",
		a.runOK(bob, "changes", "approve", edit, "--comment", "matches the ticket"))
	require.NoError(t, json.Unmarshal([]byte(a.ok("jobs", "get", nightly.ID, "-o", "json")), &j))
	require.Equal(t, "0 30 3 * * ?", j.Schedule.Cron)
	require.Equal(t, "token:alice", j.UpdatedBy)
	get = a.runOK(alice, "changes", "get", edit)
	require.Contains(t, get, "Status:        approved\n")
	require.Contains(t, get, " by token:bob\n")
	require.Contains(t, get, "Comment:       matches the ticket\n")

	// The delete was made on version 1: the approval moved the job on, so it cannot apply.
	_, stderr, code = a.runAs(bob, "", "changes", "approve", deletion)
	require.Equal(t, exitConflict, code, stderr)
	require.Contains(t, a.runOK(bob, "changes", "get", deletion), "Status:        failed\n")
	require.Contains(t, a.runOK(bob, "changes", "get", deletion), "\nChanges:\n  the job is deleted\n")

	// Bob may not withdraw Alice's change; she may, and then nobody can decide it.
	_, stderr, code = a.runAs(bob, "", "changes", "withdraw", create)
	require.Equal(t, exitUnauthorized, code, stderr)
	out = a.runOK(alice, "changes", "withdraw", create)
	require.Equal(t, "withdrew change "+create+": the create of job pay/refunds\n", out)
	_, stderr, code = a.runAs(bob, "", "changes", "reject", create)
	require.Equal(t, exitConflict, code, stderr)

	// A rejected change: another edit, rejected with a reason.
	y = strings.Replace(a.runOK(alice, "jobs", "get", "nightly", "-o", "yaml"), "timeout: 5s", "timeout: 50s", 1)
	rejected := pendingID(t, a.runOK(alice, "jobs", "edit", "nightly", "-n", "pay", "-f", writeTemp(t, y)))
	require.Equal(t, "rejected change "+rejected+": the update of job pay/nightly\n", a.runOK(bob, "changes", "reject", rejected, "--comment", "too long"))

	require.Empty(t, strings.TrimPrefix(a.runOK(bob, "changes", "list", "--status", "pending"), "ID  NAMESPACE  JOB  ACTION  STATUS  REQUESTED BY  REQUESTED  CHANGES\n"))
	byJob := a.runOK(bob, "changes", "list", "--job", "nightly", "-n", "pay")
	require.Equal(t, 3, strings.Count(byJob, "\n")-1, byJob)
	require.Contains(t, byJob, "rejected")
	_, stderr, code = a.run("", "changes", "list", "--status", "lost")
	require.Equal(t, exitInvalid, code)
	require.Contains(t, stderr, "\n  status: \"lost\" is not one of pending")
	_, _, code = a.run("", "changes", "get", "00000000-0000-0000-0000-000000000000")
	require.Equal(t, exitNotFound, code)
	_, _, code = a.run("", "namespaces", "settings", "set", "pay")
	require.Equal(t, exitUsage, code, "nothing to set")
	_, _, code = a.run("", "namespaces", "settings", "set", "pay", "--change-expiry", "three days")
	require.Equal(t, exitUsage, code)
}

// runOK is runAs for a command that must succeed; it returns its standard output.
func (a *apiEnv) runOK(token string, args ...string) string {
	a.t.Helper()
	out, stderr, code := a.runAs(token, "", args...)
	require.Equal(a.t, 0, code, "vecron %s: %s", strings.Join(args, " "), stderr)
	return out
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "doc.yaml")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

var instant = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC`)

// sameInstants replaces every instant of a table in UTC by one, for a golden file of rows made
// at the time the test runs.
func sameInstants(s string) string { return instant.ReplaceAllString(s, "2026-01-01 00:00:00 UTC") }

// userToken creates a user holding role in ns and returns an API token of theirs named after
// them, so that the changes they ask for read "token:NAME".
func userToken(t *testing.T, a *apiEnv, name, role, ns string) string {
	t.Helper()
	u := testfactory.User(t, a.st, testfactory.UserOpts{Username: name, Role: role, Namespace: ns})
	token, hash, err := auth.NewOpaqueToken(auth.APITokenPrefix)
	require.NoError(t, err)
	require.NoError(t, a.st.CreateAPIToken(t.Context(), &domain.APIToken{ID: uuid.NewString(), UserID: u.ID, Name: name,
		Scopes: domain.Permissions(), Namespace: domain.AllNamespaces, CreatedAt: time.Now().UTC().Truncate(time.Microsecond), Hash: hash}))
	return token
}

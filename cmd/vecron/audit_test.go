package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// auditLog makes n audited changes in a store of its own and returns its URL and audit key.
func auditLog(t *testing.T, n int) (dbURL, key string) {
	t.Helper()
	dbURL = testenv.PostgresURL(t)
	key = testfactory.AuditKey(t)
	keys, err := audit.Config{Keys: key}.Load()
	require.NoError(t, err)
	st, err := store.Open(t.Context(), store.Config{URL: dbURL})
	require.NoError(t, err)
	t.Cleanup(st.Close)
	st.UseAudit(keys)
	require.NoError(t, st.Migrate(t.Context(), testenv.Logger(t)))
	ctx := domain.WithActor(t.Context(), domain.Actor{ID: "u1", Name: "ann", Kind: "user", Mode: "database", SourceIP: "192.0.2.1", RequestID: "r"})
	for i := range n {
		require.NoError(t, st.Record(ctx, store.Change{Action: "job.create", ObjectKind: "job", ObjectID: fmt.Sprint("job-", i),
			Namespace: "team-a", After: map[string]int{"n": i}}))
	}
	return dbURL, key
}

// runAudit runs `vecron audit args…` against dbURL with key and returns its output and error.
func runAudit(t *testing.T, dbURL, key string, args ...string) (string, error) {
	t.Helper()
	out, _, err := runAuditStreams(t, dbURL, key, args...)
	return out, err
}

// runAuditStreams is runAudit returning what the command wrote to stderr as well.
func runAuditStreams(t *testing.T, dbURL, key string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := &cobra.Command{Use: "vecron", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(auditCommand(processEnv()))
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append(append([]string{"audit"}, args...), "--database.url="+dbURL, "--audit.keys="+key))
	err = root.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

func sql(t *testing.T, dbURL, stmt string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(), stmt, args...)
	require.NoError(t, err)
}

func TestAuditVerifyAndAnchor(t *testing.T) {
	t.Parallel()
	dbURL, key := auditLog(t, 5)
	out, err := runAudit(t, dbURL, key, "verify")
	require.NoError(t, err)
	require.Contains(t, out, "the audit log verifies: 5 rows, head vecron-audit:5:")
	head, err := runAudit(t, dbURL, key, "anchor")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(head, "vecron-audit:5:"), head)
	_, err = runAudit(t, dbURL, key, "verify", "--anchor", head)
	require.NoError(t, err, "an untouched log reaches its anchor")

	_, err = runAudit(t, dbURL, testfactory.AuditKey(t), "verify")
	require.ErrorContains(t, err, "seq 1: altered or forged", "another installation's key proves nothing")
}

// TestAuditVerifyCatchesTamperingBySQL: a database superuser without the key alters, removes,
// forges or re-chains rows, or cuts the tail; verify names the first row affected.
func TestAuditVerifyCatchesTamperingBySQL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		tamper func(t *testing.T, dbURL string)
		anchor bool
		want   string
	}{
		{"Altered", func(t *testing.T, dbURL string) {
			sql(t, dbURL, `UPDATE audit_log SET actor_name = 'mallory' WHERE seq = 3`)
		}, false, "seq 3"},
		{"AlteredState", func(t *testing.T, dbURL string) {
			sql(t, dbURL, `UPDATE audit_log SET after = '{"n": 2}' WHERE seq = 3`)
		}, false, "seq 3"},
		{"Removed", func(t *testing.T, dbURL string) {
			sql(t, dbURL, `DELETE FROM audit_log WHERE seq = 3`)
		}, false, "seq 3"},
		{"RemovedFirst", func(t *testing.T, dbURL string) {
			sql(t, dbURL, `DELETE FROM audit_log WHERE seq = 1`)
		}, false, "seq 1"},
		{"Forged", func(t *testing.T, dbURL string) {
			sql(t, dbURL, `INSERT INTO audit_log SELECT 6, time, actor_id, actor_name, actor_kind, auth_mode, 'job.delete', object_kind,
				object_id, namespace, before, after, source_ip, user_agent, request_id, key_id, mac, mac FROM audit_log WHERE seq = 5`)
		}, false, "seq 6"},
		{"Rechained", func(t *testing.T, dbURL string) {
			// Remove row 3, renumber, and link row 4 to row 2: all a writer without the key can do.
			sql(t, dbURL, `DELETE FROM audit_log WHERE seq = 3`)
			sql(t, dbURL, `UPDATE audit_log SET prev_mac = (SELECT mac FROM audit_log WHERE seq = 2) WHERE seq = 4`)
			sql(t, dbURL, `UPDATE audit_log SET seq = -seq WHERE seq > 3`)
			sql(t, dbURL, `UPDATE audit_log SET seq = -seq - 1 WHERE seq < 0`)
		}, false, "seq 3"},
		{"TailCut", func(t *testing.T, dbURL string) {
			sql(t, dbURL, `DELETE FROM audit_log WHERE seq >= 4`)
		}, true, "cut"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dbURL, key := auditLog(t, 5)
			head, err := runAudit(t, dbURL, key, "anchor")
			require.NoError(t, err)
			c.tamper(t, dbURL)
			args := []string{"verify"}
			if c.anchor {
				args = append(args, "--anchor", strings.TrimSpace(head))
				_, err := runAudit(t, dbURL, key, "verify")
				require.NoError(t, err, "without the anchor a cut tail cannot be seen; that is what the anchor is for")
			}
			_, err = runAudit(t, dbURL, key, args...)
			require.Error(t, err)
			require.Contains(t, err.Error(), c.want)
		})
	}
}

func TestAuditExportWritesNDJSON(t *testing.T) {
	t.Parallel()
	dbURL, key := auditLog(t, 3)
	out, err := runAudit(t, dbURL, key, "export", "--since", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3)
	keys, err := audit.Config{Keys: key}.Load()
	require.NoError(t, err)
	v := keys.Verifier(nil)
	for _, l := range lines {
		var r audit.Record
		require.NoError(t, json.Unmarshal([]byte(l), &r))
		require.NoError(t, v.Next(&r), "an exported row still proves itself")
	}
	_, err = v.Finish()
	require.NoError(t, err)

	out, err = runAudit(t, dbURL, key, "export", "--since", time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	require.NoError(t, err)
	require.Empty(t, out)
	_, err = runAudit(t, dbURL, key, "export", "--since", "yesterday")
	require.ErrorContains(t, err, "--since")
}

// rowTime returns the time sealed into audit row seq, as an RFC 3339 --before.
func rowTime(t *testing.T, dbURL string, seq int64) string {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dbURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var at time.Time
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT time FROM audit_log WHERE seq = $1`, seq).Scan(&at))
	return at.UTC().Format(time.RFC3339Nano)
}

// auditSeqs returns the seqs of the rows left in the log.
func auditSeqs(t *testing.T, dbURL string) []int64 {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dbURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	rows, err := conn.Query(t.Context(), `SELECT seq FROM audit_log ORDER BY seq`)
	require.NoError(t, err)
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	return seqs
}

func TestAuditPruneThenVerifyFromTheAnchor(t *testing.T) {
	t.Parallel()
	dbURL, key := auditLog(t, 5)
	anchor, msg, err := runAuditStreams(t, dbURL, key, "prune", "--before", rowTime(t, dbURL, 4))
	require.NoError(t, err)
	require.Contains(t, msg, "removed 3 audit rows, up to seq 3")
	anchor = strings.TrimSpace(anchor)
	require.True(t, strings.HasPrefix(anchor, "vecron-audit:3:"), anchor)
	require.Equal(t, []int64{4, 5}, auditSeqs(t, dbURL), "rows at and after --before stay")

	out, err := runAudit(t, dbURL, key, "verify", "--from", anchor)
	require.NoError(t, err)
	require.Contains(t, out, "the audit log verifies: 2 rows, head vecron-audit:5:")
	_, err = runAudit(t, dbURL, key, "verify")
	require.ErrorContains(t, err, "seq 1: the first row does not start the chain (its seq is 4)")

	// The next prune starts from the anchor and keeps the newest row, which the next one chains to.
	_, err = runAudit(t, dbURL, key, "prune", "--before", time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	require.ErrorContains(t, err, "pass --from the anchor that prune printed")
	require.Equal(t, 1, exitCode(err))
	next, msg, err := runAuditStreams(t, dbURL, key, "prune", "--before", time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "--from", anchor)
	require.NoError(t, err)
	require.Contains(t, msg, "removed 1 audit row, up to seq 4")
	require.Contains(t, msg, "kept seq 5, the newest row")
	require.True(t, strings.HasPrefix(next, "vecron-audit:4:"), next)
	require.Equal(t, []int64{5}, auditSeqs(t, dbURL))
	out, err = runAudit(t, dbURL, key, "verify", "--from", strings.TrimSpace(next))
	require.NoError(t, err)
	require.Contains(t, out, "the audit log verifies: 1 rows, head vecron-audit:5:")

	out, msg, err = runAuditStreams(t, dbURL, key, "prune", "--before", time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "--from", strings.TrimSpace(next))
	require.NoError(t, err)
	require.Empty(t, out, "nothing removed, no new anchor")
	require.Contains(t, msg, "nothing to prune")
}

// TestAuditPruneRefusesABrokenLog: prune verifies what it removes, and the link to the first
// row it keeps, before it removes anything.
func TestAuditPruneRefusesABrokenLog(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		tamper func(t *testing.T, dbURL string)
		want   string
	}{
		{"Altered", func(t *testing.T, dbURL string) {
			sql(t, dbURL, `UPDATE audit_log SET actor_name = 'mallory' WHERE seq = 2`)
		}, "seq 2: altered or forged"},
		{"FirstRemoved", func(t *testing.T, dbURL string) {
			sql(t, dbURL, `DELETE FROM audit_log WHERE seq = 1`)
		}, "seq 1: the first row does not start the chain (its seq is 2) (if rows were pruned before"},
		{"FirstKeptRemoved", func(t *testing.T, dbURL string) {
			sql(t, dbURL, `DELETE FROM audit_log WHERE seq = 4`)
		}, "seq 4: a row is missing"},
		{"FirstKeptForged", func(t *testing.T, dbURL string) {
			sql(t, dbURL, `UPDATE audit_log SET action = 'job.delete' WHERE seq = 4`)
		}, "seq 4: altered or forged"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dbURL, key := auditLog(t, 5)
			before := rowTime(t, dbURL, 4)
			c.tamper(t, dbURL)
			seqs := auditSeqs(t, dbURL)
			out, err := runAudit(t, dbURL, key, "prune", "--before", before)
			require.ErrorContains(t, err, "refusing to prune, nothing removed: audit chain broken at "+c.want)
			require.Equal(t, 1, exitCode(err))
			require.Empty(t, out)
			require.Equal(t, seqs, auditSeqs(t, dbURL), "nothing removed")
		})
	}
}

func TestAuditPruneKeepsRowsNotYetForwarded(t *testing.T) {
	t.Parallel()
	dbURL, key := auditLog(t, 5)
	sql(t, dbURL, `INSERT INTO audit_forward (last_seq) VALUES (2)`)
	anchor, msg, err := runAuditStreams(t, dbURL, key, "prune", "--before", time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	require.NoError(t, err)
	require.Contains(t, msg, "removed 2 audit rows, up to seq 2")
	require.Contains(t, msg, "stopped at seq 2: older rows after it stay until audit.sink has accepted them")
	require.True(t, strings.HasPrefix(anchor, "vecron-audit:2:"), anchor)
	require.Equal(t, []int64{3, 4, 5}, auditSeqs(t, dbURL))
	_, err = runAudit(t, dbURL, key, "verify", "--from", strings.TrimSpace(anchor))
	require.NoError(t, err)
}

func TestAuditPruneFlags(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"NoBefore", nil, "--before: is required"},
		{"BadBefore", []string{"--before", "last year"}, "--before: must be an RFC 3339 time"},
		{"BadFrom", []string{"--before", "2026-01-01T00:00:00Z", "--from", "vecron-audit:x"}, "--from: audit anchor"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := runAudit(t, "postgres://127.0.0.1:1/none", testfactory.AuditKey(t), append([]string{"prune"}, c.args...)...)
			require.ErrorContains(t, err, c.want)
			require.Equal(t, 2, exitCode(err))
		})
	}
}

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

func runHistory(t *testing.T, dbURL string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := &cobra.Command{Use: "vecron", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(historyCommand())
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append(append([]string{"history"}, args...), "--database.url="+dbURL))
	err = root.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

// TestHistoryExportWritesADayAsNDJSON: an exported day is one execution per line, with its
// attempts, and reads back as what the database held; --before takes every earlier day.
func TestHistoryExportWritesADayAsNDJSON(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	day := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	var ids []string
	for _, at := range []time.Time{day.Add(time.Hour), day.Add(23 * time.Hour), day.AddDate(0, 0, 1), day.AddDate(0, 0, -1)} {
		now := time.Now().UTC()
		e := &domain.Execution{ID: uuid.Must(uuid.NewV7()).String(), JobID: j.ID, JobVersion: j.Version,
			IdempotencyKey: domain.ScheduledKey(j.ID, at), Trigger: domain.TriggerSchedule, ScheduledAt: at,
			StartedAt: &now, Status: domain.StatusRunning, Attempt: 1, WorkerID: "w"}
		_, err := st.StartExecution(t.Context(), e, store.StartParams{StaleAfter: time.Minute})
		require.NoError(t, err)
		e.Status, e.FinishedAt, e.HTTPStatus = domain.StatusSucceeded, &now, 200
		require.NoError(t, st.FinishExecution(t.Context(), e, &domain.Attempt{Attempt: 1, StartedAt: &now, FinishedAt: now,
			Status: domain.StatusSucceeded, HTTPStatus: 200, WorkerID: "w"}))
		ids = append(ids, e.ID)
	}

	file := filepath.Join(t.TempDir(), "2026-01-15.ndjson")
	_, stderr, err := runHistory(t, url, "export", "--partition", "2026-01-15", "--output", file)
	require.NoError(t, err)
	require.Contains(t, stderr, "2026-01-15: 2 executions")
	lines := readNDJSON(t, file)
	require.Len(t, lines, 2)
	require.Equal(t, []string{ids[0], ids[1]}, []string{lines[0].ID, lines[1].ID})
	require.Equal(t, 200, lines[0].HTTPStatus)
	require.Len(t, lines[0].Attempts, 1)
	require.Equal(t, "w", lines[0].Attempts[0].WorkerID)
	info, err := os.Stat(file)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "history may be sensitive: only its owner reads it")

	stdout, stderr, err := runHistory(t, url, "export", "--before", "2026-01-16")
	require.NoError(t, err)
	require.Contains(t, stderr, "2 days, 3 executions")
	require.Equal(t, 3, bytes.Count([]byte(stdout), []byte("\n")))

	stdout, _, err = runHistory(t, url, "list")
	require.NoError(t, err)
	require.Contains(t, stdout, "2026-01-14\t")
	require.Contains(t, stdout, "2026-01-16\t")
}

func TestHistoryExportRefusesBadArguments(t *testing.T) {
	t.Parallel()
	_, url := testfactory.Store(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"export"}, "give one of --partition"},
		{[]string{"export", "--partition", "2026-01-15", "--before", "2026-01-16"}, "give one of --partition"},
		{[]string{"export", "--partition", "15/01/2026"}, "--partition: must be a date such as 2026-01-15"},
		{[]string{"export", "--before", "yesterday"}, "--before: must be a date"},
	} {
		_, _, err := runHistory(t, url, c.args...)
		require.ErrorContains(t, err, c.want)
		require.Equal(t, 2, exitCode(err), "a usage error")
	}
	file := filepath.Join(t.TempDir(), "missing", "out.ndjson")
	_, _, err := runHistory(t, url, "export", "--partition", "2026-01-15", "--output", file)
	require.Error(t, err)
	_, statErr := os.Stat(file)
	require.True(t, os.IsNotExist(statErr))
}

func readNDJSON(t *testing.T, file string) []domain.Execution {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	var out []domain.Execution
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e domain.Execution
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
		out = append(out, e)
	}
	require.NoError(t, sc.Err())
	return out
}

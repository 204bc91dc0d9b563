package main

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testfactory"
)

// TestTablesForPeople: the tables of the list and get commands, on fixtures of fixed instants,
// against golden files (go test ./cmd/vecron -run TestTablesForPeople -update rewrites them).
func TestTablesForPeople(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, false)
	day := time.Date(2026, 1, 15, 2, 0, 0, 0, time.UTC)
	anchor := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	nightly := testfactory.Job(t, a.st, testfactory.JobOpts{Name: "nightly-report", Namespace: "billing", Cron: "0 0 9 * * ?",
		NextRunAt: time.Date(2030, 1, 2, 2, 0, 0, 0, time.UTC)})
	ping := testfactory.Job(t, a.st, testfactory.JobOpts{Name: "ping", NextRunAt: time.Date(2030, 1, 1, 0, 15, 0, 0, time.UTC),
		Schedule: &domain.Schedule{Kind: domain.ScheduleFixedRate, Every: domain.Duration(15 * time.Minute), Anchor: &anchor}})
	paused := testfactory.Job(t, a.st, testfactory.JobOpts{Name: "archive", Namespace: "billing", Disabled: true,
		NextRunAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)})
	ok := testfactory.Outcome(t, a.st, nightly, domain.StatusSucceeded, day, 1500*time.Millisecond)
	failed := testfactory.Outcome(t, a.st, nightly, domain.StatusFailed, day.Add(24*time.Hour), 250*time.Millisecond)
	dead := testfactory.Outcome(t, a.st, ping, domain.StatusDeadLettered, day.Add(time.Hour), 3*time.Minute+4*time.Second)
	ids := []string{nightly.ID, ping.ID, paused.ID, ok.ID, failed.ID, dead.ID}

	golden(t, "jobs-list", stable(a.ok("jobs", "list"), ids...))
	golden(t, "executions-list", stable(a.ok("executions", "list"), ids...))
	golden(t, "executions-list-job", stable(a.ok("executions", "list", "--job", "nightly-report", "--status", "failed"), ids...))
	golden(t, "executions-get", stable(a.ok("executions", "get", failed.ID), ids...))
	golden(t, "dead-letters-list", stable(a.ok("dead-letters", "list"), ids...))

	// -o json is the API's own answer: the same document, field for field.
	for _, c := range []struct{ args, path string }{
		{"jobs list --all", "/api/v1/jobs?include=stats&limit=500"},
		{"executions get " + failed.ID, "/api/v1/executions/" + failed.ID},
		{"jobs get " + nightly.ID, "/api/v1/jobs/" + nightly.ID},
		{"dead-letters list", "/api/v1/dead-letters?limit=50"},
	} {
		out := a.ok(append(strings.Fields(c.args), "-o", "json")...)
		var got, want any
		require.NoError(t, json.Unmarshal([]byte(out), &got), out)
		require.NoError(t, json.Unmarshal(a.get(c.path), &want))
		require.Equal(t, want, got, c.args)
	}
	// -o yaml is the same document again.
	y := a.ok("jobs", "get", "nightly-report", "-o", "yaml")
	require.Contains(t, y, "\nnamespace: billing\nname: nightly-report\n")
	doc, err := parseJobDocument([]byte(y))
	require.NoError(t, err)
	require.Equal(t, nightly.ID, doc.id)
	require.Equal(t, nightly.Version, doc.version)
}

// get reads path from the API as the test's admin.
func (a *apiEnv) get(path string) []byte {
	a.t.Helper()
	c := &client{server: a.srv.URL, token: a.token}
	u, raw, _ := strings.Cut(path, "?")
	q, err := url.ParseQuery(raw)
	require.NoError(a.t, err)
	resp, err := c.do(a.t.Context(), request{method: "GET", path: u, query: q})
	require.NoError(a.t, err)
	return resp.body
}

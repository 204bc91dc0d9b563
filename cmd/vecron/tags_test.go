package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/testfactory"
)

// TestJobsListByTag: --tag keeps the jobs that have the tag, repeated every one; a value that is
// no tag is the API's 400, naming the parameter.
func TestJobsListByTag(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, false)
	testfactory.Job(t, a.st, testfactory.JobOpts{Name: "settle", Tags: []string{"team:payments", "env/prod"}})
	testfactory.Job(t, a.st, testfactory.JobOpts{Name: "refund", Tags: []string{"team:payments"}})
	testfactory.Job(t, a.st, testfactory.JobOpts{Name: "untagged"})

	out := a.ok("jobs", "list", "--tag", "team:payments")
	require.Contains(t, out, "settle")
	require.Contains(t, out, "refund")
	require.NotContains(t, out, "untagged")
	out = a.ok("jobs", "list", "--tag", "team:payments", "--tag", "env/prod")
	require.Contains(t, out, "settle")
	require.NotContains(t, out, "refund")

	_, stderr, code := a.run("", "jobs", "list", "--tag", "Team")
	require.NotZero(t, code)
	require.True(t, strings.HasPrefix(stderr, "vecron: Invalid input (400):\n  tag: "), stderr)
	require.Contains(t, stderr, `write "team"`)
}

package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// chainItem is an http job of ns that chains on_success to next (none when empty).
func chainItem(ns, name string, next ...string) string {
	chains := ""
	if len(next) > 0 {
		chains = `,"on_success":[`
		for i, n := range next {
			if i > 0 {
				chains += ","
			}
			chains += fmt.Sprintf("%q", n)
		}
		chains += "]"
	}
	return fmt.Sprintf(`{"namespace":%q,"name":%q,"schedule":{"cron":"0 0 * * * *"},"http":{"url":"https://example.test/%s"}%s}`, ns, name, name, chains)
}

// TestApplyChainsAmongNewJobs: jobs an apply creates may chain to each other whatever their
// order in the file, in a dry run as in a real one; a cycle among them is refused naming it,
// however it is split between stored jobs and the apply.
func TestApplyChainsAmongNewJobs(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	// A → B → C, A listed first: neither B nor C exists when A is checked.
	items := []string{chainItem("team-a", "a", "b"), chainItem("team-a", "b", "team-a/c"), chainItem("team-a", "c")}
	dry, _ := c.apply(applyBody(false, true, items...))
	require.True(t, dry.DryRun)
	require.Equal(t, []string{"a:create", "b:create", "c:create"}, dry.actions())
	require.Empty(t, c.jobsIn("team-a"), "a dry run stores nothing")

	c.apply(applyBody(false, false, items...))
	stored := c.jobsIn("team-a")
	require.Equal(t, []string{"team-a/b"}, stored["a"].Chains.OnSuccess)
	require.Equal(t, []string{"team-a/c"}, stored["b"].Chains.OnSuccess)

	// A cycle among new jobs, in any order: refused, naming the cycle, in a dry run too.
	for _, dryRun := range []bool{true, false} {
		p := c.problem(http.MethodPost, "/api/v1/jobs/apply", applyBody(false, dryRun,
			chainItem("team-b", "x", "y"), chainItem("team-b", "z", "x"), chainItem("team-b", "y", "z")), http.StatusBadRequest)
		require.Contains(t, p.Errors[0].Reason, "the chains would form a cycle: team-b/", fmt.Sprint(p.Errors))
		require.Contains(t, fmt.Sprint(p.Errors), "team-b/x → team-b/y → team-b/z → team-b/x")
	}
	require.Empty(t, c.jobsIn("team-b"))

	// A cycle closed by an update of a stored job and a new one together.
	p := c.problem(http.MethodPost, "/api/v1/jobs/apply", applyBody(false, false,
		chainItem("team-a", "c", "team-a/d"), chainItem("team-a", "d", "team-a/a"),
		chainItem("team-a", "a", "b"), chainItem("team-a", "b", "team-a/c")), http.StatusBadRequest)
	require.Contains(t, fmt.Sprint(p.Errors), "the chains would form a cycle")
	require.Empty(t, c.jobsIn("team-a")["c"].Chains.OnSuccess, "nothing applied")
}

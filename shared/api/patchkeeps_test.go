package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
)

// A merge patch changes what it names and nothing else: a job's tags, event and webhook
// triggers, chains and missed_after survive an edit of its description.
func TestPatchKeepsTriggersTagsAndChains(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	next, _ := c.createJob(strings.Replace(validJob, "nightly report", "next step", 1))
	j, _ := c.createJob(strings.Replace(validJob, `"timeout"`, `"tags":["finance","nightly"],`+
		`"triggers":[{"event":{"filters":[{"exact":{"type":"com.example.order.paid"}}],"debounce":"30s"}},{"webhook":{}}],`+
		`"on_success":["next step"],"alert":{"after_failures":5},"missed_after":"3m","timeout"`, 1))
	require.Len(t, j.Triggers, 2)
	got, _ := c.edit(http.MethodPatch, j.ID, `{"description":"runs the report"}`, "If-Match", `"1"`, "Content-Type", "application/merge-patch+json")
	require.Equal(t, "runs the report", got.Description)
	require.Equal(t, j.Tags, got.Tags)
	require.Equal(t, j.Triggers, got.Triggers, "a patch that does not name the triggers keeps them")
	require.Equal(t, j.Chains, got.Chains)
	require.Equal(t, domain.Duration(3*time.Minute), got.MissedAfter, "a patch that does not name missed_after keeps it")
	require.Equal(t, []string{domain.DefaultNamespace + "/" + next.Name}, got.OnSuccess)
	require.Equal(t, domain.AlertPolicy{AfterFailures: 5}, got.Alert, "a patch that does not name the alert keeps it")

	got, _ = c.edit(http.MethodPatch, j.ID, `{"alert":{"enabled":false}}`, "If-Match", `"2"`, "Content-Type", "application/merge-patch+json")
	require.False(t, got.Alert.On())
	require.Equal(t, 5, got.Alert.AfterFailures, "a patch of one alert field keeps the other")
}

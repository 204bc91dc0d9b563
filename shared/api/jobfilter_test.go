package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
)

func TestListJobsFilters(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	mk := func(name, ns string, enabled bool) {
		body := `{"name":"` + name + `","namespace":"` + ns + `","enabled":` + map[bool]string{true: "true", false: "false"}[enabled] +
			`,"schedule":{"cron":"@hourly"},"http":{"url":"http://x.test"}}`
		code, _, b := c.do(http.MethodPost, "/api/v1/jobs", body)
		require.Equal(t, http.StatusCreated, code, string(b))
	}
	mk("Settle payments", "pay", true)
	mk("settle wallets", "pay", false)
	mk("nightly report", "reports", true)
	names := func(query string) []string {
		code, _, b := c.do(http.MethodGet, "/api/v1/jobs?"+query, "")
		require.Equal(t, http.StatusOK, code, string(b))
		var p struct{ Items []domain.Job }
		require.NoError(t, json.Unmarshal(b, &p))
		var out []string
		for _, j := range p.Items {
			out = append(out, j.Name)
		}
		return out
	}
	require.ElementsMatch(t, []string{"Settle payments", "settle wallets"}, names("q=SETTLE"))
	require.ElementsMatch(t, []string{"settle wallets"}, names("q=settle&state=paused"))
	require.ElementsMatch(t, []string{"Settle payments", "nightly report"}, names("state=scheduled"))
	require.ElementsMatch(t, []string{"nightly report"}, names("namespace=reports&kind=http"))
	require.Empty(t, names("kind=sql"))
	require.Empty(t, names("state=ended"))

	require.Equal(t, []string{"kind"}, fields(c.problem(http.MethodGet, "/api/v1/jobs?kind=shell", "", http.StatusBadRequest)))
	require.Equal(t, []string{"state"}, fields(c.problem(http.MethodGet, "/api/v1/jobs?state=running", "", http.StatusBadRequest)))
	require.Equal(t, []string{"q"}, fields(c.problem(http.MethodGet, "/api/v1/jobs?q="+strings.Repeat("a", 201), "", http.StatusBadRequest)))
}

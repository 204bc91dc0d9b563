package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
)

type upstreamOut struct {
	Items  []domain.UpstreamJob `json:"items"`
	Hidden int                  `json:"hidden"`
}

func (c *client) upstream(id string) upstreamOut {
	c.t.Helper()
	code, _, b := c.do(http.MethodGet, "/api/v1/jobs/"+id+"/upstream", "")
	require.Equal(c.t, http.StatusOK, code, string(b))
	var out upstreamOut
	require.NoError(c.t, json.Unmarshal(b, &out))
	return out
}

// TestJobUpstream: a job's upstream lists the jobs whose chains start it, with the lists that
// do; a caller sees only those in namespaces they may read, the others counted; a caller who
// may not read the job itself gets 404.
func TestJobUpstream(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	target, _ := c.createJob(`{"namespace":"up-a","name":"settle","schedule":{"cron":"0 0 * * * *"},"http":{"url":"https://example.test/s"}}`)
	none := c.upstream(target.ID)
	require.Empty(t, none.Items)
	require.NotNil(t, none.Items, "an empty list, not null")
	c.createJob(`{"namespace":"up-a","name":"extract","schedule":{"cron":"0 0 * * * *"},"http":{"url":"https://example.test/e"},"on_success":["settle"],"on_completion":["up-a/settle"]}`)
	c.createJob(`{"namespace":"up-b","name":"ledger","schedule":{"cron":"0 0 * * * *"},"http":{"url":"https://example.test/l"},"on_failure":["up-a/settle"]}`)
	c.createJob(`{"namespace":"up-a","name":"settlement","schedule":{"cron":"0 0 * * * *"},"http":{"url":"https://example.test/t"}}`)
	c.createJob(`{"namespace":"up-b","name":"unrelated","schedule":{"cron":"0 0 * * * *"},"http":{"url":"https://example.test/u"},"on_failure":["up-a/settlement"]}`)

	all := c.upstream(target.ID)
	require.Zero(t, all.Hidden)
	require.Len(t, all.Items, 2)
	require.Equal(t, "extract", all.Items[0].Name)
	require.Equal(t, []string{"on_success", "on_completion"}, all.Items[0].Conditions)
	require.Equal(t, "up-b", all.Items[1].Namespace)
	require.Equal(t, []string{"on_failure"}, all.Items[1].Conditions)

	viewer := c.as(rbac.RoleViewer, "up-a")
	seen := viewer.upstream(target.ID)
	require.Len(t, seen.Items, 1)
	require.Equal(t, "extract", seen.Items[0].Name)
	require.Equal(t, 1, seen.Hidden, "the job in up-b is counted, not named")
	code, _, b := viewer.do(http.MethodGet, "/api/v1/jobs/"+target.ID+"/upstream", "")
	require.NotContains(t, string(b), "ledger", code)

	outsider := c.as(rbac.RoleEditor, "up-b")
	outsider.problem(http.MethodGet, "/api/v1/jobs/"+target.ID+"/upstream", "", http.StatusNotFound)
	anon := *c
	anon.token = ""
	anon.problem(http.MethodGet, "/api/v1/jobs/"+target.ID+"/upstream", "", http.StatusUnauthorized)
}

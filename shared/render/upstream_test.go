package render_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/render"
)

// TestTriggerUpstreamReadsTheResult: a chained execution reads the result of the execution
// that started it; any other execution is told it was not started by a chain.
func TestTriggerUpstreamReadsTheResult(t *testing.T) {
	t.Parallel()
	up := `{"job_id":"j-1","execution_id":"e-1","status":"succeeded","http_status":201,"rows":42,"response_excerpt":"{\"ok\":true}","depth":0}`
	c := &render.Context{Trigger: "chain", Payload: []byte(up)}
	for tmpl, want := range map[string]string{
		"{{ trigger.upstream.job_id }}":                  "j-1",
		"{{ trigger.upstream.execution_id }}":            "e-1",
		"{{ trigger.upstream.status | upper }}":          "SUCCEEDED",
		"{{ trigger.upstream.http_status }}":             "201",
		"{{ trigger.upstream.rows }}":                    "42",
		"{{ trigger.upstream.response_excerpt | json }}": `{\"ok\":true}`,
	} {
		got, err := render.Render("http.body", tmpl, c)
		require.NoError(t, err, tmpl)
		require.Equal(t, want, got, tmpl)
	}
	got, err := render.Render("http.body", "[{{ trigger.upstream.rows }}]", &render.Context{Trigger: "chain", Payload: []byte(`{"rows":null}`)})
	require.NoError(t, err)
	require.Equal(t, "[]", got, "an http job's result has no rows")

	_, err = render.Render("http.url", "{{ trigger.upstream.status }}", &render.Context{Trigger: "manual", Payload: []byte(up)})
	require.ErrorContains(t, err, "not started by a chain")

	require.Error(t, render.Check("http.body", "{{ trigger.upstream }}"))
	require.Error(t, render.Check("http.body", "{{ trigger.upstream.depth }}"), "only the documented fields")
	require.Error(t, render.Check("http.body", "{{ trigger.upstream.status.x }}"))
}

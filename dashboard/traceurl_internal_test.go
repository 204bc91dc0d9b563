package dashboard

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTraceURLSetting(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		url, err string
	}{
		"Empty":          {url: ""},
		"GrafanaExplore": {url: `https://grafana.example.com/explore?left={"queries":[{"query":"{trace_id}"}]}`},
		"PlainHTTP":      {url: "http://jaeger:16686/trace/{trace_id}"},
		"NoPlaceholder":  {url: "https://grafana.example.com/explore", err: "dashboard.trace_url: must hold {trace_id}"},
		"JavaScript":     {url: "javascript:alert('{trace_id}')", err: "dashboard.trace_url: must be an http or https URL"},
		"Relative":       {url: "/traces/{trace_id}", err: "dashboard.trace_url: must be an http or https URL"},
		"NoHost":         {url: "https:///{trace_id}", err: "dashboard.trace_url: must be an http or https URL"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := Config{TraceURL: tc.url}.validate()
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}

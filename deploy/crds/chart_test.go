package crds_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// rulesFile is the rule groups charts/vecron/templates/prometheusrule.yaml puts, unchanged, under
// the PrometheusRule's spec. It is plain YAML, so it is checked here without rendering the
// chart; the PodMonitor and ServiceMonitor templates need helm's functions and are checked on
// the rendered chart (deploy/render, deploy/check).
var rulesFile = filepath.Join("..", "..", "charts", "vecron", "files", "prometheus-rules.yaml")

// chartPrometheusRule is the PrometheusRule the chart makes of rules (release "vecron").
func chartPrometheusRule(t *testing.T, rules []byte) map[string]any {
	t.Helper()
	var spec map[string]any
	require.NoError(t, yaml.Unmarshal(rules, &spec))
	return map[string]any{
		"apiVersion": "monitoring.coreos.com/v1",
		"kind":       "PrometheusRule",
		"metadata": map[string]any{
			"name":   "vecron",
			"labels": map[string]any{"app.kubernetes.io/name": "vecron", "app.kubernetes.io/instance": "vecron"},
		},
		"spec": spec,
	}
}

func TestChartPrometheusRuleIsValid(t *testing.T) {
	t.Parallel()
	rules, err := os.ReadFile(rulesFile)
	require.NoError(t, err)
	s := load(t)
	require.NoError(t, s.Validate(chartPrometheusRule(t, rules)))

	// The check bites on the real file: its first rule's "for" misspelt fails at that rule.
	bad := strings.Replace(string(rules), "        for:", "        fore:", 1)
	require.NotEqual(t, string(rules), bad, "the rules file has a rule with for:")
	requireField(t, s.Validate(chartPrometheusRule(t, []byte(bad))), "spec.groups[0].rules[0].fore", "unknown field")
}

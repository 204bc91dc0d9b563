package crds_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Monitors shaped like the chart's (charts/vecron/templates), written out here because rendering
// the templates takes helm (deploy/render); the real renders are checked there.
const podMonitor = `
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata:
  name: vecron
  labels:
    app.kubernetes.io/name: vecron
    app.kubernetes.io/instance: vecron
spec:
  selector:
    matchLabels:
      app.kubernetes.io/instance: vecron
  podMetricsEndpoints:
    - portNumber: 9464
      path: /metrics
      honorLabels: true
`

const serviceMonitor = `
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: vecron
  labels:
    app.kubernetes.io/name: vecron
spec:
  selector:
    matchLabels:
      app.kubernetes.io/instance: vecron
  endpoints:
    - port: metrics
      path: /metrics
      honorLabels: true
      interval: 30s
`

const prometheusRule = `
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: vecron
spec:
  groups:
    - name: vecron
      rules:
        - alert: VecronExecutorsDown
          expr: sum(up{job="vecron"}) == 0
          for: 5m
          labels:
            severity: page
          annotations:
            summary: No executor answers.
        - record: vecron:fires:rate5m
          expr: sum(rate(vecron_fires_total[5m]))
`

func TestMonitoringKinds(t *testing.T) {
	t.Parallel()
	s := load(t)
	for _, tc := range []struct {
		name, doc, old, new, path, reason string
	}{
		{"PodMonitorEndpoint", podMonitor, "honorLabels", "honourLabels", "spec.podMetricsEndpoints[0].honourLabels", "unknown field"},
		{"PodMonitorSpec", podMonitor, "podMetricsEndpoints:", "podMetricEndpoints:", "spec.podMetricEndpoints", "unknown field"},
		{"PodMonitorPortNumberRange", podMonitor, "portNumber: 9464", "portNumber: 0", "spec.podMetricsEndpoints[0].portNumber", "minimum"},
		{"PodMonitorSelector", podMonitor, "matchLabels:", "matchLabel:", "spec.selector.matchLabel", "unknown field"},
		{"ServiceMonitorEndpoint", serviceMonitor, "path: /metrics", "pth: /metrics", "spec.endpoints[0].pth", "unknown field"},
		{"ServiceMonitorInterval", serviceMonitor, "interval: 30s", "interval: half-a-minute", "spec.endpoints[0].interval", "does not match pattern"},
		{"ServiceMonitorRequiredSelector", serviceMonitor, "  selector:\n    matchLabels:\n      app.kubernetes.io/instance: vecron\n", "", "spec.selector", "required"},
		{"PrometheusRuleRule", prometheusRule, "for: 5m", "fro: 5m", "spec.groups[0].rules[0].fro", "unknown field"},
		{"PrometheusRuleGroup", prometheusRule, "      rules:", "      rule:", "spec.groups[0].rule", "unknown field"},
		{"PrometheusRuleLabelValue", prometheusRule, "severity: page", "severity: 1", `spec.groups[0].rules[0].labels.severity`, "want string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.NoError(t, s.Validate(manifest(t, tc.doc)), "the unedited manifest is valid")
			requireField(t, s.Validate(manifest(t, edit(t, tc.doc, tc.old, tc.new))), tc.path, tc.reason)
		})
	}
}

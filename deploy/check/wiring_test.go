package check_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/vecron/vecron/deploy/check"
	"github.com/vecron/vecron/functions/contract"
)

// find returns the typed object of kind named name in r.
func find[T any](t *testing.T, r rendered, kind, name string) T {
	t.Helper()
	for _, o := range r.objects {
		if o.APIVersion+" "+o.Kind == kind && o.Name == name {
			return o.Value.(T)
		}
	}
	t.Fatalf("no %s %q rendered", kind, name)
	var zero T
	return zero
}

// TestCheckWiringRefuses: each wiring rule fails a render mutated to break it.
func TestCheckWiringRefuses(t *testing.T) {
	t.Parallel()
	sets := valueSets(t)
	svc := func(t *testing.T, r rendered, name string) *corev1.Service {
		return find[*corev1.Service](t, r, "v1 Service", name)
	}
	for _, tc := range []struct {
		name, set string
		change    func(t *testing.T, r rendered)
		rule      string
	}{
		{"DeploymentSelectsOtherPods", "deployment-no-keda", func(t *testing.T, r rendered) {
			find[*appsv1.Deployment](t, r, "apps/v1 Deployment", "vecron-api").Spec.Selector.MatchLabels[check.ComponentLabel] = "tick"
		}, "selector"},
		{"ServiceSelectsNothing", "deployment-no-keda", func(t *testing.T, r rendered) {
			svc(t, r, "vecron-tick").Spec.Selector[check.ComponentLabel] = "ticker"
		}, "selector"},
		{"ServiceSelectsEverything", "deployment-no-keda", func(t *testing.T, r rendered) {
			delete(svc(t, r, "vecron-tick").Spec.Selector, check.ComponentLabel)
		}, "selector"},
		{"ServiceTargetsAnUndeclaredPort", "deployment-no-keda", func(t *testing.T, r rendered) {
			svc(t, r, "vecron-execute-http").Spec.Ports[0].TargetPort = intstr.FromString("web")
		}, "service-port"},
		{"NoMetricsPort", "deployment-no-keda", func(t *testing.T, r rendered) {
			s := svc(t, r, "vecron-execute-db")
			s.Spec.Ports = s.Spec.Ports[:1]
		}, "service-port"},
		{"ExecutorBehindALoadBalancer", "deployment-no-keda", func(t *testing.T, r rendered) {
			svc(t, r, "vecron-execute-http").Spec.Type = corev1.ServiceTypeLoadBalancer
		}, "exposure"},
		{"MetricsOnANodePort", "deployment-no-keda", func(t *testing.T, r rendered) {
			svc(t, r, "vecron-api").Spec.Type = corev1.ServiceTypeNodePort
		}, "exposure"},
		{"ExternalIP", "deployment-no-keda", func(t *testing.T, r rendered) {
			svc(t, r, "vecron-tick").Spec.ExternalIPs = []string{"192.0.2.1"}
		}, "exposure"},
		{"PublicExecutor", "knative-default", func(t *testing.T, r rendered) {
			delete(find[*servingv1.Service](t, r, "serving.knative.dev/v1 Service", "vecron-execute-db").Labels, check.VisibilityLabel)
		}, "exposure"},
		{"IngressToTheMetricsPort", "deployment-no-keda", func(t *testing.T, r rendered) {
			ing := find[*networkingv1.Ingress](t, r, "networking.k8s.io/v1 Ingress", "vecron-api")
			ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Name = "metrics"
		}, "exposure"},
		{"IngressToAnExecutor", "deployment-no-keda", func(t *testing.T, r rendered) {
			ing := find[*networkingv1.Ingress](t, r, "networking.k8s.io/v1 Ingress", "vecron-api")
			ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name = "vecron-execute-http"
		}, "exposure"},
		{"IngressDefaultBackend", "deployment-no-keda", func(t *testing.T, r rendered) {
			ing := find[*networkingv1.Ingress](t, r, "networking.k8s.io/v1 Ingress", "vecron-api")
			ing.Spec.DefaultBackend = &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
				Name: "vecron-tick", Port: networkingv1.ServiceBackendPort{Number: 8080}}}
		}, "exposure"},
		{"ServiceMonitorPath", "deployment-no-keda", func(t *testing.T, r rendered) {
			m := find[*check.CRDObject](t, r, "monitoring.coreos.com/v1 ServiceMonitor", "vecron")
			m.Spec["endpoints"].([]any)[0].(map[string]any)["path"] = "/metrics/"
		}, "monitor"},
		{"ServiceMonitorPort", "deployment-no-keda", func(t *testing.T, r rendered) {
			m := find[*check.CRDObject](t, r, "monitoring.coreos.com/v1 ServiceMonitor", "vecron")
			m.Spec["endpoints"].([]any)[0].(map[string]any)["port"] = "http"
		}, "monitor"},
		{"ServiceMonitorMissesAService", "deployment-no-keda", func(t *testing.T, r rendered) {
			delete(svc(t, r, "vecron-api").Labels, "app.kubernetes.io/instance")
		}, "monitor"},
		{"PodMonitorPort", "knative-default", func(t *testing.T, r rendered) {
			m := find[*check.CRDObject](t, r, "monitoring.coreos.com/v1 PodMonitor", "vecron")
			m.Spec["podMetricsEndpoints"].([]any)[0].(map[string]any)["portNumber"] = float64(8080)
		}, "monitor"},
		{"PodMonitorMissesPods", "knative-default", func(t *testing.T, r rendered) {
			m := find[*check.CRDObject](t, r, "monitoring.coreos.com/v1 PodMonitor", "vecron")
			m.Spec["selector"] = map[string]any{"matchLabels": map[string]any{check.ComponentLabel: "api"}}
		}, "monitor"},
		{"PodMonitorSelectsEverything", "knative-default", func(t *testing.T, r rendered) {
			m := find[*check.CRDObject](t, r, "monitoring.coreos.com/v1 PodMonitor", "vecron")
			delete(m.Spec, "selector")
		}, "monitor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := renderSet(t, sets[tc.set])
			fns := contract.Functions("")
			require.NoError(t, check.CheckWiring(r.objects, fns, r.values.Expect()), "the unmutated render passes")
			tc.change(t, r)
			err := check.CheckWiring(r.objects, fns, r.values.Expect())
			require.Error(t, err)
			require.Contains(t, err.Error(), ": "+tc.rule+": ")
		})
	}
}

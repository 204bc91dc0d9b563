package check_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vecron/vecron/deploy/check"
	"github.com/vecron/vecron/functions/contract"
)

// TestCheckPoliciesRefuses: each NetworkPolicy and PodDisruptionBudget rule fails a render
// mutated to break it, and the render unmutated passes.
func TestCheckPoliciesRefuses(t *testing.T) {
	t.Parallel()
	sets := valueSets(t)
	np := func(t *testing.T, r rendered, name string) *networkingv1.NetworkPolicy {
		return find[*networkingv1.NetworkPolicy](t, r, "networking.k8s.io/v1 NetworkPolicy", name)
	}
	pdb := func(t *testing.T, r rendered, name string) *policyv1.PodDisruptionBudget {
		return find[*policyv1.PodDisruptionBudget](t, r, "policy/v1 PodDisruptionBudget", name)
	}
	without := func(r rendered, kind, name string) []check.Object {
		var out []check.Object
		for _, o := range r.objects {
			if o.Kind != kind || o.Name != name {
				out = append(out, o)
			}
		}
		return out
	}
	port := func(n int) networkingv1.NetworkPolicyPort {
		p := intstr.FromInt(n)
		return networkingv1.NetworkPolicyPort{Port: &p}
	}
	two := intstr.FromInt32(2)
	for _, tc := range []struct {
		name, set string
		change    func(t *testing.T, r rendered) []check.Object
		rule      string
	}{
		{"ExecutorWithoutPolicy", "deployment-no-keda", func(t *testing.T, r rendered) []check.Object {
			return without(r, "NetworkPolicy", "vecron-execute-http")
		}, "network"},
		{"TickOpenToAll", "deployment-no-keda", func(t *testing.T, r rendered) []check.Object {
			p := np(t, r, "vecron-tick")
			p.Spec.Ingress = append(p.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{})
			return r.objects
		}, "exposure"},
		{"APIMetricsOpenToAll", "deployment-no-keda", func(t *testing.T, r rendered) []check.Object {
			p := np(t, r, "vecron-api")
			p.Spec.Ingress = append(p.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{Ports: []networkingv1.NetworkPolicyPort{port(9464)}})
			return r.objects
		}, "exposure"},
		{"APIOpenFromEveryNamespace", "deployment-no-keda", func(t *testing.T, r rendered) []check.Object {
			p := np(t, r, "vecron-api")
			p.Spec.Ingress = append(p.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{
				From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}}}, Ports: []networkingv1.NetworkPolicyPort{port(8081)}})
			return r.objects
		}, "exposure"},
		{"KnativeAPIOpenToAll", "knative-default", func(t *testing.T, r rendered) []check.Object {
			p := np(t, r, "vecron-api")
			p.Spec.Ingress = append(p.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{
				From: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0"}}}})
			return r.objects
		}, "exposure"},
		{"KnativeActivatorShutOut", "knative-default", func(t *testing.T, r rendered) []check.Object {
			p := np(t, r, "vecron-execute-http")
			p.Spec.Ingress = p.Spec.Ingress[:1]
			return r.objects
		}, "network"},
		{"KnativeRuleWithoutPorts", "knative-default", func(t *testing.T, r rendered) []check.Object {
			np(t, r, "vecron-api").Spec.Ingress[1].Ports = nil
			return r.objects
		}, "exposure"},
		{"KnativeRuleReachesAdminPort", "knative-default", func(t *testing.T, r rendered) []check.Object {
			p := np(t, r, "vecron-execute-http")
			p.Spec.Ingress[1].Ports = append(p.Spec.Ingress[1].Ports, port(9464))
			return r.objects
		}, "exposure"},
		{"TickAnyPortFromNamedPeer", "deployment-no-keda", func(t *testing.T, r rendered) []check.Object {
			p := np(t, r, "vecron-tick")
			p.Spec.Ingress = append(p.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{
				From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "x"}}}}})
			return r.objects
		}, "exposure"},
		{"ExecutorEgressClosed", "deployment-no-keda", func(t *testing.T, r rendered) []check.Object {
			p := np(t, r, "vecron-execute-db")
			p.Spec.PolicyTypes = append(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
			p.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{port(5432)}}}
			return r.objects
		}, "egress"},
		{"TickWithoutDatabase", "deployment-no-keda", func(t *testing.T, r rendered) []check.Object {
			p := np(t, r, "vecron-tick")
			p.Spec.Egress[1].Ports = p.Spec.Egress[1].Ports[1:]
			return r.objects
		}, "egress"},
		{"APIWithoutDNS", "knative-default", func(t *testing.T, r rendered) []check.Object {
			p := np(t, r, "vecron-api")
			p.Spec.Egress = p.Spec.Egress[1:]
			return r.objects
		}, "egress"},
		{"KEDAShutOutOfNATS", "deployment-keda", func(t *testing.T, r rendered) []check.Object {
			return without(r, "NetworkPolicy", "vecron-keda-nats-monitoring")
		}, "keda"},
		{"KEDAFromAnotherNamespace", "deployment-keda", func(t *testing.T, r rendered) []check.Object {
			np(t, r, "vecron-keda-nats-monitoring").Spec.Ingress[0].From[0].NamespaceSelector.MatchLabels = map[string]string{"kubernetes.io/metadata.name": "default"}
			return r.objects
		}, "keda"},
		{"TickBudgetTooTight", "deployment-no-keda", func(t *testing.T, r rendered) []check.Object {
			pdb(t, r, "vecron-tick").Spec.MaxUnavailable = &two
			return r.objects
		}, "disruption"},
		{"APIWithoutBudget", "deployment-no-keda", func(t *testing.T, r rendered) []check.Object {
			return without(r, "PodDisruptionBudget", "vecron-api")
		}, "disruption"},
		{"BudgetOnAnExecutor", "deployment-no-keda", func(t *testing.T, r rendered) []check.Object {
			pdb(t, r, "vecron-api").Spec.Selector.MatchLabels[check.ComponentLabel] = "execute-http"
			return r.objects
		}, "disruption"},
		{"BudgetOnEverything", "deployment-no-keda", func(t *testing.T, r rendered) []check.Object {
			delete(pdb(t, r, "vecron-tick").Spec.Selector.MatchLabels, check.ComponentLabel)
			return r.objects
		}, "disruption"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := renderSet(t, sets[tc.set])
			fns := contract.Functions(r.values.NATSPrefix())
			require.NoError(t, check.CheckPolicies(r.objects, fns, r.values.Policies()), "the render passes unmutated")
			err := check.CheckPolicies(tc.change(t, r), fns, r.values.Policies())
			require.Error(t, err)
			require.Contains(t, err.Error(), ": "+tc.rule+": ")
		})
	}
}

// TestPoliciesOff: networkPolicies.enabled and podDisruptionBudgets.enabled false render none.
func TestPoliciesOff(t *testing.T) {
	t.Parallel()
	off := writeValues(t, "networkPolicies:\n  enabled: false\npodDisruptionBudgets:\n  enabled: false")
	r := renderSet(t, valueSets(t)["deployment-keda"], off)
	for _, o := range r.objects {
		require.NotContains(t, []string{"NetworkPolicy", "PodDisruptionBudget"}, o.Kind, "%s", o)
	}
	require.NoError(t, check.CheckPolicies(r.objects, contract.Functions(r.values.NATSPrefix()), r.values.Policies()))
}

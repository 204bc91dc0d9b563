package check

import (
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vecron/vecron/functions/contract"
)

// Policies is what a value set says the NetworkPolicies and PodDisruptionBudgets are.
type Policies struct {
	// Network is networkPolicies.enabled; Disruption is podDisruptionBudgets.enabled in
	// deployment mode (Knative owns its pods' disruption).
	Network, Disruption bool
	// Knative is knative mode, where Knative's namespaces route every request.
	Knative bool
	// MetricsPort is the admin port.
	MetricsPort int
	// ServicePorts are the ports of PostgreSQL, Redis and NATS the tick and the api reach.
	ServicePorts []int
	// KnativeNamespaces are the namespaces of the activator, autoscaler and gateways.
	KnativeNamespaces []string
	// TickReplicas and APIReplicas are the Deployments' replicas.
	TickReplicas, APIReplicas int
	// KEDA is KEDA's way to NATS monitoring, nil when the chart renders none.
	KEDA *KEDAAccess
}

// KEDAAccess is the NetworkPolicy that lets KEDA's operator read NATS monitoring.
type KEDAAccess struct {
	NATSPods, OperatorPods map[string]string
	OperatorNamespace      string
	Port                   int
}

// KnativeQueuePorts are the ports of the queue-proxy sidecar Knative's namespaces reach
// (knative.dev/serving pkg/networking: BackendHTTPPort, BackendHTTP2Port, QueueAdminPort,
// AutoscalingQueueMetricsPort, UserQueueMetricsPort, BackendHTTPSPort). The activator and the
// gateways route requests to 8012/8013/8112, the autoscaler scrapes 9090, and 8022 and 9091
// serve queue-proxy's drain and user metrics; the vecron container's own ports stay closed.
var KnativeQueuePorts = []int{8012, 8013, 8022, 9090, 9091, 8112}

// namespaceLabel is the label the API server sets on every namespace to its name.
const namespaceLabel = "kubernetes.io/metadata.name"

// CheckPolicies holds the NetworkPolicies and PodDisruptionBudgets among objs to p and fns:
// with NetworkPolicies on, every function's pods are selected by a policy that restricts
// ingress; a rule open to any source exists only on the api, only for its public port, and
// only in deployment mode (in Knative mode the gateways in Knative's namespaces are the way in,
// and the api alone has a public route); the admin port is open to a named peer only; in
// Knative mode Knative's namespaces reach every pod on queue-proxy's ports and no other; no
// rule leaves its ports open (any port to a named peer reaches admin, pprof and internal events); executors' egress is open (job targets are
// anywhere), the tick's and the api's reach DNS and every service port; KEDA's operator
// reaches NATS monitoring when the chart says NATS is beside it. PodDisruptionBudgets: the
// tick's lets one replica go, the api's keeps one, each selects one workload, and executors
// have none. It returns every rule broken, each error naming the object and the rule.
func CheckPolicies(objs []Object, fns []contract.Function, p Policies) error {
	var errs []error
	fail := func(o Object, rule, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: %s", o, rule, fmt.Sprintf(format, args...)))
	}
	ws := Workloads(objs)
	executor := func(w Workload) bool {
		i := slices.IndexFunc(fns, func(f contract.Function) bool { return f.Name == w.Function })
		return i >= 0 && fns[i].PushPath != ""
	}
	var policies []Object
	var budgets []Object
	for _, o := range objs {
		switch o.Value.(type) {
		case *networkingv1.NetworkPolicy:
			policies = append(policies, o)
		case *policyv1.PodDisruptionBudget:
			budgets = append(budgets, o)
		}
	}
	if !p.Network && len(policies) > 0 {
		fail(policies[0], "network", "rendered with networkPolicies.enabled false")
	}
	if p.Network {
		for _, w := range ws {
			var ingress, egress []networkingv1.NetworkPolicy
			for _, o := range policies {
				np := o.Value.(*networkingv1.NetworkPolicy)
				sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
				if err != nil || !sel.Matches(labels.Set(w.Labels)) {
					continue
				}
				if slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
					ingress = append(ingress, *np)
				}
				if slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
					egress = append(egress, *np)
				}
			}
			checkIngress(w, ingress, p, fail)
			checkEgress(w, egress, executor(w), p, fail)
		}
		if p.KEDA != nil && !slices.ContainsFunc(policies, func(o Object) bool { return lets(o.Value.(*networkingv1.NetworkPolicy), p.KEDA) }) {
			fail(Object{Kind: "NetworkPolicy"}, "keda", "no NetworkPolicy lets KEDA's operator in %s reach NATS pods %v on %d", p.KEDA.OperatorNamespace, p.KEDA.NATSPods, p.KEDA.Port)
		}
	}

	covered := map[string]int{}
	for _, o := range budgets {
		pdb := o.Value.(*policyv1.PodDisruptionBudget)
		if !p.Disruption {
			fail(o, "disruption", "rendered without podDisruptionBudgets.enabled in deployment mode")
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		var target []Workload
		for _, w := range ws {
			if err == nil && !sel.Empty() && sel.Matches(labels.Set(w.Labels)) {
				target = append(target, w)
			}
		}
		if len(target) != 1 {
			fail(o, "disruption", "selects %d workloads, want 1", len(target))
			continue
		}
		w := target[0]
		covered[w.Function]++
		one := intstr.FromInt32(1)
		switch {
		case w.Function == "tick":
			if pdb.Spec.MaxUnavailable == nil || *pdb.Spec.MaxUnavailable != one || pdb.Spec.MinAvailable != nil {
				fail(o, "disruption", "the tick's budget must be maxUnavailable 1: the other replicas keep every shard leased")
			}
		case w.Function == "api":
			if pdb.Spec.MinAvailable == nil || *pdb.Spec.MinAvailable != one || pdb.Spec.MaxUnavailable != nil {
				fail(o, "disruption", "the api's budget must be minAvailable 1")
			}
		default:
			fail(o, "disruption", "%s scales 0..N: a budget would block node drains", w.Function)
		}
	}
	if p.Disruption {
		for fn, n := range map[string]int{"tick": p.TickReplicas, "api": p.APIReplicas} {
			want := 0
			if n > 1 {
				want = 1
			}
			if covered[fn] != want {
				fail(Object{Kind: "PodDisruptionBudget"}, "disruption", "%s with %d replicas has %d budgets, want %d", fn, n, covered[fn], want)
			}
		}
	}
	return errors.Join(errs...)
}

// checkIngress holds a workload's ingress rules to what it serves.
func checkIngress(w Workload, nps []networkingv1.NetworkPolicy, p Policies, fail func(Object, string, string, ...any)) {
	if len(nps) == 0 {
		fail(w.Object, "network", "no NetworkPolicy restricts ingress to its pods")
		return
	}
	knativeIn := map[string]bool{}
	for _, np := range nps {
		for _, r := range np.Spec.Ingress {
			if anySource(r.From) {
				if p.Knative || w.Function != "api" || len(r.Ports) != 1 || !isPort(r.Ports[0], 8080, "http") {
					fail(w.Object, "exposure", "NetworkPolicy %s lets any source reach %s on %v; only the api's public port in deployment mode may be", np.Name, w.Function, r.Ports)
				}
				continue
			}
			for _, pt := range r.Ports {
				if isPort(pt, p.MetricsPort, "metrics") && slices.ContainsFunc(r.From, func(peer networkingv1.NetworkPolicyPeer) bool {
					return peer.PodSelector == nil && peer.IPBlock == nil && peer.NamespaceSelector == nil
				}) {
					fail(w.Object, "network", "NetworkPolicy %s: the admin port is open to an unnamed peer", np.Name)
				}
			}
			if len(r.Ports) == 0 {
				fail(w.Object, "exposure", "NetworkPolicy %s lets %v reach every port of %s (admin, pprof, internal events); name the ports", np.Name, r.From, w.Function)
				continue
			}
			if !p.Knative || !slices.ContainsFunc(r.From, func(peer networkingv1.NetworkPolicyPeer) bool {
				return peer.NamespaceSelector != nil && slices.Contains(p.KnativeNamespaces, peer.NamespaceSelector.MatchLabels[namespaceLabel])
			}) {
				continue
			}
			if extra := slices.DeleteFunc(slices.Clone(r.Ports), func(pt networkingv1.NetworkPolicyPort) bool {
				return slices.ContainsFunc(KnativeQueuePorts, func(n int) bool { return isPort(pt, n, "") })
			}); len(extra) > 0 {
				fail(w.Object, "exposure", "NetworkPolicy %s lets Knative's namespaces reach %v; only queue-proxy's ports %v", np.Name, extra, KnativeQueuePorts)
				continue
			}
			if slices.ContainsFunc(KnativeQueuePorts, func(n int) bool {
				return !slices.ContainsFunc(r.Ports, func(pt networkingv1.NetworkPolicyPort) bool { return isPort(pt, n, "") })
			}) {
				continue
			}
			for _, peer := range r.From {
				if peer.NamespaceSelector != nil && peer.PodSelector == nil {
					knativeIn[peer.NamespaceSelector.MatchLabels[namespaceLabel]] = true
				}
			}
		}
	}
	if p.Knative {
		for _, ns := range p.KnativeNamespaces {
			if !knativeIn[ns] {
				fail(w.Object, "network", "Knative's namespace %s cannot reach its pods: the activator and gateways route every request", ns)
			}
		}
	}
}

// checkEgress requires executors' egress to be open and the tick's and the api's to reach DNS
// and the service ports.
func checkEgress(w Workload, nps []networkingv1.NetworkPolicy, executor bool, p Policies, fail func(Object, string, string, ...any)) {
	if len(nps) == 0 {
		return // egress unrestricted
	}
	allows := func(proto corev1.Protocol, port int) bool {
		for _, np := range nps {
			for _, r := range np.Spec.Egress {
				if len(r.To) > 0 && !anySource(r.To) {
					continue
				}
				if len(r.Ports) == 0 {
					return true
				}
				for _, pt := range r.Ports {
					pr := corev1.ProtocolTCP
					if pt.Protocol != nil {
						pr = *pt.Protocol
					}
					if pr == proto && pt.Port != nil && pt.Port.Type == intstr.Int && int(pt.Port.IntVal) == port {
						return true
					}
				}
			}
		}
		return false
	}
	if executor {
		if !allows(corev1.ProtocolTCP, 443) || !allows(corev1.ProtocolTCP, 1521) {
			fail(w.Object, "egress", "%s's egress is restricted: job targets are anywhere, on any port", w.Function)
		}
		return
	}
	if !allows(corev1.ProtocolUDP, 53) {
		fail(w.Object, "egress", "%s cannot reach DNS (UDP 53)", w.Function)
	}
	for _, port := range p.ServicePorts {
		if !allows(corev1.ProtocolTCP, port) {
			fail(w.Object, "egress", "%s cannot reach service port %d (PostgreSQL, Redis, NATS)", w.Function, port)
		}
	}
}

// anySource reports whether peers admit any address: no peer at all, a peer selecting every
// namespace, or an ipBlock of a whole address family.
func anySource(peers []networkingv1.NetworkPolicyPeer) bool {
	if len(peers) == 0 {
		return true
	}
	for _, peer := range peers {
		if peer.IPBlock != nil && (peer.IPBlock.CIDR == "0.0.0.0/0" || peer.IPBlock.CIDR == "::/0") {
			return true
		}
		if peer.NamespaceSelector != nil && len(peer.NamespaceSelector.MatchLabels) == 0 && len(peer.NamespaceSelector.MatchExpressions) == 0 &&
			(peer.PodSelector == nil || len(peer.PodSelector.MatchLabels) == 0 && len(peer.PodSelector.MatchExpressions) == 0) {
			return true
		}
	}
	return false
}

// isPort reports whether pt is TCP port number or name.
func isPort(pt networkingv1.NetworkPolicyPort, number int, name string) bool {
	if pt.Protocol != nil && *pt.Protocol != corev1.ProtocolTCP || pt.Port == nil {
		return false
	}
	return pt.Port.Type == intstr.Int && int(pt.Port.IntVal) == number || pt.Port.Type == intstr.String && pt.Port.StrVal == name
}

// lets reports whether np lets KEDA's operator reach NATS monitoring as k says.
func lets(np *networkingv1.NetworkPolicy, k *KEDAAccess) bool {
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil || sel.Empty() || !sel.Matches(labels.Set(k.NATSPods)) {
		return false
	}
	for _, r := range np.Spec.Ingress {
		port := slices.ContainsFunc(r.Ports, func(pt networkingv1.NetworkPolicyPort) bool { return isPort(pt, k.Port, "monitor") })
		from := slices.ContainsFunc(r.From, func(peer networkingv1.NetworkPolicyPeer) bool {
			if peer.NamespaceSelector == nil || peer.NamespaceSelector.MatchLabels[namespaceLabel] != k.OperatorNamespace || peer.PodSelector == nil {
				return false
			}
			ps, err := metav1.LabelSelectorAsSelector(peer.PodSelector)
			return err == nil && ps.Matches(labels.Set(k.OperatorPods))
		})
		if port && from {
			return true
		}
	}
	return false
}

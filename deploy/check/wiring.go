package check

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/vecron/vecron/functions/contract"
)

// VisibilityLabel keeps a Knative Service inside the cluster when it is "cluster-local".
const VisibilityLabel = "networking.knative.dev/visibility"

// CheckWiring holds the objects that point at workloads to what they point at: a Deployment's
// or StatefulSet's selector selects its pods; each v1 Service selects the pods of exactly one
// workload, or of one StatefulSet (a bundled trial service, only ever ClusterIP), and targets
// ports its container declares; in deployment mode every workload has a Service with
// a "metrics" port, which the ServiceMonitor scrapes at the contract's metrics path; the
// PodMonitor selects every pod and scrapes the admin port by number at that path; and only the
// api's public port leaves the cluster (a LoadBalancer or NodePort Service, external IPs, or a
// Knative Service that is not cluster-local, and every Ingress backend is the api's Service on
// its http port). It returns every rule broken, each error naming
// the object and the rule.
func CheckWiring(objs []Object, fns []contract.Function, e Expect) error {
	var errs []error
	fail := func(o Object, rule, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: %s", o, rule, fmt.Sprintf(format, args...)))
	}
	ws := Workloads(objs)
	metricsPath := ""
	for _, f := range fns {
		metricsPath = f.Metrics // one path for every function (the contract's test holds it)
	}
	hasMetrics := map[string]bool{} // workload name → a Service exposes its metrics port
	for _, o := range objs {
		switch v := o.Value.(type) {
		case *appsv1.Deployment:
			sel, err := metav1.LabelSelectorAsSelector(v.Spec.Selector)
			if err != nil || sel.Empty() || !sel.Matches(labels.Set(v.Spec.Template.Labels)) {
				fail(o, "selector", "%v does not select the pod template's labels %v", v.Spec.Selector, v.Spec.Template.Labels)
			}
		case *appsv1.StatefulSet:
			sel, err := metav1.LabelSelectorAsSelector(v.Spec.Selector)
			if err != nil || sel.Empty() || !sel.Matches(labels.Set(v.Spec.Template.Labels)) {
				fail(o, "selector", "%v does not select the pod template's labels %v", v.Spec.Selector, v.Spec.Template.Labels)
			}
		case *servingv1.Service:
			fn := v.Spec.Template.Labels[ComponentLabel]
			if fn != "api" && v.Labels[VisibilityLabel] != "cluster-local" {
				fail(o, "exposure", "%s is reachable from outside the cluster; only the api is", fn)
			}
		case *corev1.Service:
			if len(v.Spec.Selector) == 0 {
				fail(o, "selector", "selects no pods")
				continue
			}
			sel := labels.SelectorFromSet(v.Spec.Selector)
			if sts := statefulSetsOf(objs, sel); len(sts) > 0 {
				// A bundled trial service (CheckTrial holds the rest of it): one StatefulSet,
				// declared ports, never outside the cluster.
				if len(sts) != 1 {
					fail(o, "selector", "selects %d StatefulSets, want 1", len(sts))
					continue
				}
				for _, p := range v.Spec.Ports {
					if !declares(sts[0].Spec.Template.Spec.Containers, p.TargetPort) {
						fail(o, "service-port", "port %s targets %s, which %s does not declare", p.Name, p.TargetPort.String(), sts[0].Name)
					}
				}
				if v.Spec.Type != "" && v.Spec.Type != corev1.ServiceTypeClusterIP || len(v.Spec.ExternalIPs) > 0 {
					fail(o, "exposure", "type %s exposes the bundled %s outside the cluster", v.Spec.Type, sts[0].Name)
				}
				continue
			}
			var target, knative []Workload
			for _, w := range ws {
				if sel.Matches(labels.Set(w.Labels)) {
					if w.Knative {
						knative = append(knative, w)
					} else {
						target = append(target, w)
					}
				}
			}
			if len(target) == 0 && len(knative) == 1 {
				// Beside Knative's routing, straight to the pods: only the api's internal events
				// listener, whose NetworkPolicy must see the broker's dispatcher as the caller.
				w := knative[0]
				port := 0
				for _, e := range w.Pod.Containers[0].Env {
					if e.Name == "VECRON_EVENTS__INTERNAL_PORT" {
						port, _ = strconv.Atoi(e.Value)
					}
				}
				for _, p := range v.Spec.Ports {
					if w.Function != "api" || port == 0 || p.TargetPort != intstr.FromInt32(int32(port)) {
						fail(o, "service-port", "port %s goes to %s's pods past Knative's routing on %s; only the api's events-internal port may", p.Name, w.Function, p.TargetPort.String())
					}
				}
				if v.Spec.Type != "" && v.Spec.Type != corev1.ServiceTypeClusterIP || len(v.Spec.ExternalIPs) > 0 {
					fail(o, "exposure", "type %s exposes %s's internal events port outside the cluster", v.Spec.Type, w.Function)
				}
				continue
			}
			if len(target) != 1 {
				fail(o, "selector", "selects %d workloads, want 1", len(target))
				continue
			}
			w := target[0]
			for _, p := range v.Spec.Ports {
				if !declares(w.Pod.Containers, p.TargetPort) {
					fail(o, "service-port", "port %s targets %s, which %s does not declare", p.Name, p.TargetPort.String(), w.Name)
				}
				if p.Name == "metrics" && p.TargetPort.String() == "metrics" {
					hasMetrics[w.Name] = true
				}
			}
			external := v.Spec.Type == corev1.ServiceTypeLoadBalancer || v.Spec.Type == corev1.ServiceTypeNodePort || len(v.Spec.ExternalIPs) > 0
			if external && (w.Function != "api" || slices.ContainsFunc(v.Spec.Ports, func(p corev1.ServicePort) bool { return p.TargetPort.String() != "http" })) {
				fail(o, "exposure", "type %s exposes %s outside the cluster; only the api's http port may be", v.Spec.Type, w.Function)
			}
		case *networkingv1.Ingress:
			var backends []networkingv1.IngressBackend
			if v.Spec.DefaultBackend != nil {
				backends = append(backends, *v.Spec.DefaultBackend)
			}
			for _, r := range v.Spec.Rules {
				if r.HTTP == nil {
					continue
				}
				for _, p := range r.HTTP.Paths {
					backends = append(backends, p.Backend)
				}
			}
			if len(backends) == 0 {
				fail(o, "exposure", "routes nothing")
			}
			for _, b := range backends {
				if !isAPIHTTP(b, objs, ws) {
					fail(o, "exposure", "routes to %v; only the api's http port may be reached from outside", b)
				}
			}
		case *CRDObject:
			checkMonitor(o, v, ws, objs, e, metricsPath, fail)
		}
	}
	for _, w := range ws {
		if !w.Knative && !hasMetrics[w.Name] {
			fail(w.Object, "service-port", "no Service has a metrics port for it; the ServiceMonitor scrapes through one")
		}
	}
	return errors.Join(errs...)
}

func checkMonitor(o Object, v *CRDObject, ws []Workload, objs []Object, e Expect, path string, fail func(Object, string, string, ...any)) {
	if o.Kind != "PodMonitor" && o.Kind != "ServiceMonitor" {
		return
	}
	selector, _ := v.Spec["selector"].(map[string]any)
	match, _ := selector["matchLabels"].(map[string]any)
	set := labels.Set{}
	for k, val := range match {
		s, _ := val.(string)
		set[k] = s
	}
	sel := labels.SelectorFromSet(set)
	if sel.Empty() {
		fail(o, "monitor", "selects everything")
	}
	endpointsKey := "endpoints"
	if o.Kind == "PodMonitor" {
		endpointsKey = "podMetricsEndpoints"
		for _, w := range ws {
			if !sel.Matches(labels.Set(w.Labels)) {
				fail(o, "monitor", "does not select %s's pods", w.Name)
			}
		}
	} else {
		for _, so := range objs {
			if s, ok := so.Value.(*corev1.Service); ok && !sel.Matches(labels.Set(s.Labels)) {
				fail(o, "monitor", "does not select Service %s", s.Name)
			}
		}
	}
	eps, _ := v.Spec[endpointsKey].([]any)
	if len(eps) == 0 {
		fail(o, "monitor", "no %s", endpointsKey)
	}
	for _, ep := range eps {
		m, _ := ep.(map[string]any)
		if m["path"] != path {
			fail(o, "monitor", "path %v, want %q", m["path"], path)
		}
		if o.Kind == "PodMonitor" {
			if n, _ := m["portNumber"].(float64); int(n) != e.MetricsPort {
				fail(o, "monitor", "portNumber %v, want %d", m["portNumber"], e.MetricsPort)
			}
		} else if m["port"] != "metrics" {
			fail(o, "monitor", "port %v, want metrics", m["port"])
		}
	}
}

// isAPIHTTP reports whether b is the api's Service on the port that targets the api's "http"
// container port.
func isAPIHTTP(b networkingv1.IngressBackend, objs []Object, ws []Workload) bool {
	if b.Service == nil {
		return false
	}
	for _, o := range objs {
		s, ok := o.Value.(*corev1.Service)
		if !ok || s.Name != b.Service.Name {
			continue
		}
		sel := labels.SelectorFromSet(s.Spec.Selector)
		api := slices.ContainsFunc(ws, func(w Workload) bool {
			return !w.Knative && w.Function == "api" && len(s.Spec.Selector) > 0 && sel.Matches(labels.Set(w.Labels))
		})
		for _, p := range s.Spec.Ports {
			byName := b.Service.Port.Name != "" && p.Name == b.Service.Port.Name
			byNumber := b.Service.Port.Name == "" && p.Port == b.Service.Port.Number
			if api && (byName || byNumber) && p.TargetPort.String() == "http" {
				return true
			}
		}
	}
	return false
}

// declares reports whether one of cs declares the port p names or numbers.
func declares(cs []corev1.Container, p intstr.IntOrString) bool {
	for _, c := range cs {
		for _, cp := range c.Ports {
			if p.Type == intstr.String && cp.Name == p.StrVal || p.Type == intstr.Int && cp.ContainerPort == p.IntVal {
				return true
			}
		}
	}
	return false
}

// statefulSetsOf returns the StatefulSets among objs whose pods sel selects.
func statefulSetsOf(objs []Object, sel labels.Selector) []*appsv1.StatefulSet {
	var out []*appsv1.StatefulSet
	for _, o := range objs {
		if st, ok := o.Value.(*appsv1.StatefulSet); ok && sel.Matches(labels.Set(st.Spec.Template.Labels)) {
			out = append(out, st)
		}
	}
	return out
}

package check_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	sourcesv1 "knative.dev/eventing/pkg/apis/sources/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/vecron/vecron/deploy/check"
	"github.com/vecron/vecron/deploy/render"
	"github.com/vecron/vecron/functions/contract"
)

// peer is a NetworkPolicy peer of pods labelled pods in namespace ns ("" for the policy's own).
func peer(ns string, pods map[string]string) networkingv1.NetworkPolicyPeer {
	p := networkingv1.NetworkPolicyPeer{}
	if ns != "" {
		p.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}}
	}
	if pods != nil {
		p.PodSelector = &metav1.LabelSelector{MatchLabels: pods}
	}
	return p
}

// tcp is a NetworkPolicy port.
func tcp(n int) networkingv1.NetworkPolicyPort {
	p := intstr.FromInt(n)
	return networkingv1.NetworkPolicyPort{Port: &p}
}

// internalRule returns the api policy's rule admitting port.
func internalRule(t *testing.T, r rendered, port int) *networkingv1.NetworkPolicyIngressRule {
	t.Helper()
	np := find[*networkingv1.NetworkPolicy](t, r, "networking.k8s.io/v1 NetworkPolicy", "vecron-api")
	for i, rule := range np.Spec.Ingress {
		for _, p := range rule.Ports {
			if p.Port != nil && p.Port.IntValue() == port {
				return &np.Spec.Ingress[i]
			}
		}
	}
	t.Fatalf("no rule of vecron-api admits %d", port)
	return nil
}

// TestCheckEventingRefuses: each Eventing rule fails a render mutated to break it, and the render
// unmutated passes. The hostile cases first: a pod other than the tick's and the api's that could
// post to the brokers' ingress (and send a due event's predictable id before the real fire), or
// that could reach the api's internal /dead-letter, fails.
func TestCheckEventingRefuses(t *testing.T) {
	t.Parallel()
	sets := valueSets(t)
	attacker := map[string]string{"app": "attacker"}
	ingress := func(t *testing.T, r rendered) *networkingv1.NetworkPolicy {
		return find[*networkingv1.NetworkPolicy](t, r, "networking.k8s.io/v1 NetworkPolicy", "vecron-broker-ingress")
	}
	trigger := func(t *testing.T, r rendered, name string) *eventingv1.Trigger {
		return find[*eventingv1.Trigger](t, r, "eventing.knative.dev/v1 Trigger", name)
	}
	broker := func(t *testing.T, r rendered) *eventingv1.Broker {
		return find[*eventingv1.Broker](t, r, "eventing.knative.dev/v1 Broker", "vecron-broker")
	}
	binding := func(t *testing.T, r rendered) *sourcesv1.SinkBinding {
		return find[*sourcesv1.SinkBinding](t, r, "sources.knative.dev/v1 SinkBinding", "vecron-sink")
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
	tickEnv := func(t *testing.T, r rendered, name, value string) {
		c := &find[*servingv1.Service](t, r, "serving.knative.dev/v1 Service", "vecron-tick").Spec.Template.Spec.Containers[0]
		for i := range c.Env {
			if c.Env[i].Name == name {
				c.Env[i].Value = value
				return
			}
		}
		t.Fatalf("the tick has no %s", name)
	}
	for _, tc := range []struct {
		name, set string
		change    func(t *testing.T, r rendered) []check.Object
		rule      string
	}{
		// Who may post to the brokers' ingress.
		{"OtherPodPostsToTheIngress", "knative-default", func(t *testing.T, r rendered) []check.Object {
			p := ingress(t, r)
			p.Spec.Ingress[0].From = append(p.Spec.Ingress[0].From, peer("vecron-system", attacker))
			return r.objects
		}, "broker-ingress"},
		{"IngressOpenToAll", "knative-default", func(t *testing.T, r rendered) []check.Object {
			p := ingress(t, r)
			p.Spec.Ingress = append(p.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{Ports: []networkingv1.NetworkPolicyPort{tcp(8080)}})
			return r.objects
		}, "broker-ingress"},
		{"IngressFromTheWholeNamespace", "knative-default", func(t *testing.T, r rendered) []check.Object {
			p := ingress(t, r)
			p.Spec.Ingress[0].From[0].PodSelector = nil
			return r.objects
		}, "broker-ingress"},
		{"IngressFromAnExecutor", "knative-default", func(t *testing.T, r rendered) []check.Object {
			p := ingress(t, r)
			p.Spec.Ingress[0].From[1].PodSelector.MatchLabels[check.ComponentLabel] = "execute-http"
			return r.objects
		}, "broker-ingress"},
		{"IngressFromTheSameLabelsElsewhere", "knative-default", func(t *testing.T, r rendered) []check.Object {
			p := ingress(t, r)
			p.Spec.Ingress[0].From[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] = "tenant-b"
			return r.objects
		}, "broker-ingress"},
		{"IngressAnyPortFromOthers", "knative-default", func(t *testing.T, r rendered) []check.Object {
			p := ingress(t, r)
			p.Spec.Ingress = append(p.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: []networkingv1.NetworkPolicyPeer{peer("default", nil)}})
			return r.objects
		}, "broker-ingress"},
		{"IngressUnguarded", "knative-default", func(t *testing.T, r rendered) []check.Object {
			return without(r, "NetworkPolicy", "vecron-broker-ingress")
		}, "broker-ingress"},
		{"IngressGuardedInTheWrongNamespace", "knative-default", func(t *testing.T, r rendered) []check.Object {
			ingress(t, r).Namespace = ""
			return r.objects
		}, "broker-ingress"},
		// Who may reach the api's internal listener (/dead-letter, /events).
		{"OtherPodReachesDeadLetter", "knative-default", func(t *testing.T, r rendered) []check.Object {
			rule := internalRule(t, r, 8082)
			rule.From = append(rule.From, peer("", attacker))
			return r.objects
		}, "internal-events"},
		{"DeadLetterOpenToAll", "knative-default", func(t *testing.T, r rendered) []check.Object {
			np := find[*networkingv1.NetworkPolicy](t, r, "networking.k8s.io/v1 NetworkPolicy", "vecron-api")
			np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{Ports: []networkingv1.NetworkPolicyPort{tcp(8082)}})
			return r.objects
		}, "internal-events"},
		{"DeadLetterFromEveryDataPlanePod", "knative-default", func(t *testing.T, r rendered) []check.Object {
			internalRule(t, r, 8082).From[0].PodSelector = &metav1.LabelSelector{}
			return r.objects
		}, "internal-events"},
		{"DeadLetterThroughAPortRange", "knative-default", func(t *testing.T, r rendered) []check.Object {
			np := find[*networkingv1.NetworkPolicy](t, r, "networking.k8s.io/v1 NetworkPolicy", "vecron-api")
			end := int32(9000)
			p := tcp(8000)
			p.EndPort = &end
			np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{
				From: []networkingv1.NetworkPolicyPeer{peer("monitoring", nil)}, Ports: []networkingv1.NetworkPolicyPort{p}})
			return r.objects
		}, "internal-events"},
		{"DeadLetterFromTheTickWithAnotherSink", "knative-events-trigger", func(t *testing.T, r rendered) []check.Object {
			rule := internalRule(t, r, 8082)
			rule.From = append(rule.From, peer("", map[string]string{
				"app.kubernetes.io/name": "vecron", "app.kubernetes.io/instance": "vecron", check.ComponentLabel: "tick"}))
			return r.objects
		}, "internal-events"},
		// The executors' Triggers.
		{"ExecutorGetsLifecycleEvents", "knative-default", func(t *testing.T, r rendered) []check.Object {
			tr := trigger(t, r, "vecron-execute-http")
			tr.Spec.Filters = tr.Spec.Filters[:1]
			return r.objects
		}, "filters"},
		{"ExecutorGetsTheOtherKind", "knative-default", func(t *testing.T, r rendered) []check.Object {
			trigger(t, r, "vecron-execute-http").Spec.Filters[0].Exact["jobkind"] = "sql"
			return r.objects
		}, "filters"},
		{"ExecutorGetsEveryVecronType", "knative-default", func(t *testing.T, r rendered) []check.Object {
			tr := trigger(t, r, "vecron-execute-db")
			tr.Spec.Filters[1] = eventingv1.SubscriptionsAPIFilter{Prefix: map[string]string{"type": "io.vecron."}}
			return r.objects
		}, "filters"},
		{"LegacyFilterBeside", "knative-default", func(t *testing.T, r rendered) []check.Object {
			trigger(t, r, "vecron-execute-db").Spec.Filter = &eventingv1.TriggerFilter{Attributes: eventingv1.TriggerFilterAttributes{"source": "x"}}
			return r.objects
		}, "filters"},
		{"SubscriberIsTheAPI", "knative-default", func(t *testing.T, r rendered) []check.Object {
			trigger(t, r, "vecron-execute-http").Spec.Subscriber.Ref.Name = "vecron-api"
			return r.objects
		}, "trigger"},
		{"ExecutorWithoutTrigger", "knative-default", func(t *testing.T, r rendered) []check.Object {
			return without(r, "Trigger", "vecron-execute-db")
		}, "trigger"},
		{"TwoTriggersToOneExecutor", "knative-default", func(t *testing.T, r rendered) []check.Object {
			tr := trigger(t, r, "vecron-execute-http").DeepCopy()
			tr.Name = "vecron-execute-http-2"
			return append(r.objects, check.Object{APIVersion: "eventing.knative.dev/v1", Kind: "Trigger", Name: tr.Name, Value: tr})
		}, "trigger"},
		{"TriggerOnAnotherBroker", "knative-default", func(t *testing.T, r rendered) []check.Object {
			trigger(t, r, "vecron-execute-http").Spec.Broker = "default"
			return r.objects
		}, "trigger"},
		{"DeliveryTimeoutShorterThanTheExecutor", "knative-default", func(t *testing.T, r rendered) []check.Object {
			s := "PT10S"
			trigger(t, r, "vecron-execute-db").Spec.Delivery.Timeout = &s
			return r.objects
		}, "delivery"},
		{"NoRetry", "knative-default", func(t *testing.T, r rendered) []check.Object {
			trigger(t, r, "vecron-execute-db").Spec.Delivery.Retry = nil
			return r.objects
		}, "delivery"},
		{"RetryAfterWithoutTheFlag", "knative-default", func(t *testing.T, r rendered) []check.Object {
			s := "PT5M"
			trigger(t, r, "vecron-execute-db").Spec.Delivery.RetryAfterMax = &s
			return r.objects
		}, "delivery"},
		{"DeadLetterToEvents", "knative-default", func(t *testing.T, r rendered) []check.Object {
			trigger(t, r, "vecron-execute-http").Spec.Delivery.DeadLetterSink.URI = &apis.URL{Path: "/events"}
			return r.objects
		}, "dead-letter"},
		{"DeadLetterToThePublicPort", "knative-default", func(t *testing.T, r rendered) []check.Object {
			trigger(t, r, "vecron-execute-http").Spec.Delivery.DeadLetterSink = &duckv1.Destination{
				Ref: &duckv1.KReference{APIVersion: "serving.knative.dev/v1", Kind: "Service", Name: "vecron-api"}, URI: &apis.URL{Path: "/dead-letter"}}
			return r.objects
		}, "dead-letter"},
		{"DeadLetterServiceToThePublicPort", "knative-default", func(t *testing.T, r rendered) []check.Object {
			find[*corev1.Service](t, r, "v1 Service", "vecron-api-events").Spec.Ports[0].TargetPort = intstr.FromInt32(8080)
			return r.objects
		}, "dead-letter"},
		{"NoDeadLetterSink", "knative-default", func(t *testing.T, r rendered) []check.Object {
			trigger(t, r, "vecron-execute-db").Spec.Delivery.DeadLetterSink = nil
			return r.objects
		}, "dead-letter"},
		// The Broker.
		{"FetchBatchTooLarge", "knative-default", func(t *testing.T, r rendered) []check.Object {
			broker(t, r).Annotations["natsjetstream.eventing.knative.dev/config"] = `{"filter":{"env":[{"name":"CONSUMER_FETCH_BATCH_SIZE","value":"50"},{"name":"CONSUMER_FETCH_TIMEOUT","value":"100ms"}]}}`
			return r.objects
		}, "broker"},
		{"FetchTimeoutTooLong", "knative-default", func(t *testing.T, r rendered) []check.Object {
			broker(t, r).Annotations["natsjetstream.eventing.knative.dev/config"] = `{"filter":{"env":[{"name":"CONSUMER_FETCH_BATCH_SIZE","value":"5"},{"name":"CONSUMER_FETCH_TIMEOUT","value":"1s"}]}}`
			return r.objects
		}, "broker"},
		{"FetchConfigMisspelt", "knative-default", func(t *testing.T, r rendered) []check.Object {
			broker(t, r).Annotations["natsjetstream.eventing.knative.dev/config"] = `{"filtr":{"env":[]}}`
			return r.objects
		}, "broker"},
		{"FetchLeftAtItsDefaults", "knative-default", func(t *testing.T, r rendered) []check.Object {
			delete(broker(t, r).Annotations, "natsjetstream.eventing.knative.dev/config")
			return r.objects
		}, "broker"},
		{"AnotherClass", "knative-default", func(t *testing.T, r rendered) []check.Object {
			broker(t, r).Annotations["eventing.knative.dev/broker.class"] = "Kafka"
			return r.objects
		}, "broker"},
		{"NoBroker", "knative-default", func(t *testing.T, r rendered) []check.Object {
			return without(r, "Broker", "vecron-broker")
		}, "broker"},
		{"ChannelTemplateOfAnotherKind", "knative-channel-broker", func(t *testing.T, r rendered) []check.Object {
			find[*corev1.ConfigMap](t, r, "v1 ConfigMap", "vecron-broker-channel").Data["channel-template-spec"] = "apiVersion: messaging.knative.dev/v1\nkind: InMemoryChannel\n"
			return r.objects
		}, "broker"},
		{"ChannelTemplateMisspelt", "knative-channel-broker", func(t *testing.T, r rendered) []check.Object {
			find[*corev1.ConfigMap](t, r, "v1 ConfigMap", "vecron-broker-channel").Data["channel-template-spec"] = "apiVersion: messaging.knative.dev/v1alpha1\nkind: NatsJetStreamChannel\nspec:\n  stream:\n    config:\n      retension: Limits\n"
			return r.objects
		}, "broker"},
		{"ChannelTemplateNotNamed", "knative-channel-broker", func(t *testing.T, r rendered) []check.Object {
			broker(t, r).Spec.Config.Name = "elsewhere"
			return r.objects
		}, "broker"},
		// The SinkBinding and the tick's forwarder.
		{"SinkToExecutorsToo", "knative-default", func(t *testing.T, r rendered) []check.Object {
			delete(binding(t, r).Spec.Subject.Selector.MatchLabels, "vecron.io/sink")
			return r.objects
		}, "sinkbinding"},
		{"SinkNotTheBroker", "knative-default", func(t *testing.T, r rendered) []check.Object {
			binding(t, r).Spec.Sink.Ref.Name = "default"
			return r.objects
		}, "sinkbinding"},
		{"NoSinkBinding", "knative-default", func(t *testing.T, r rendered) []check.Object {
			return without(r, "SinkBinding", "vecron-sink")
		}, "sinkbinding"},
		{"TickDoesNotForward", "knative-default", func(t *testing.T, r rendered) []check.Object {
			tickEnv(t, r, "VECRON_FORWARD__ENABLED", "false")
			return r.objects
		}, "forward"},
		{"TickDeadLettersElsewhere", "knative-default", func(t *testing.T, r rendered) []check.Object {
			tickEnv(t, r, "VECRON_FORWARD__DEAD_LETTER_SINK", "http://vecron-api-events.vecron-system.svc.cluster.local/events")
			return r.objects
		}, "forward"},
		// Weakened selectors and ports (each passed before the check failed closed).
		{"IngressTickPeerByComponentOnly", "knative-default", func(t *testing.T, r rendered) []check.Object {
			ingress(t, r).Spec.Ingress[0].From[0].PodSelector = &metav1.LabelSelector{MatchLabels: map[string]string{check.ComponentLabel: "tick"}}
			return r.objects
		}, "broker-ingress"},
		{"IngressTickPeerByExpression", "knative-default", func(t *testing.T, r rendered) []check.Object {
			ingress(t, r).Spec.Ingress[0].From[0].PodSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: check.ComponentLabel, Operator: metav1.LabelSelectorOpIn, Values: []string{"tick", "attacker"}}}}
			return r.objects
		}, "broker-ingress"},
		{"IngressOpenOnANamedPort", "knative-default", func(t *testing.T, r rendered) []check.Object {
			p := ingress(t, r)
			named := intstr.FromString("http")
			p.Spec.Ingress = append(p.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{Ports: []networkingv1.NetworkPolicyPort{{Port: &named}}})
			return r.objects
		}, "broker-ingress"},
		{"AnotherPolicyOpensTheIngress", "knative-default", func(t *testing.T, r rendered) []check.Object {
			np := ingress(t, r).DeepCopy()
			np.Name = "open"
			np.Spec.PodSelector = metav1.LabelSelector{MatchLabels: map[string]string{"app": "natsjetstream-broker-ingress"}}
			np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{}}
			return append(r.objects, check.Object{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Name: np.Name, Value: np})
		}, "broker-ingress"},
		{"InternalTickPeerByComponentOnly", "knative-default", func(t *testing.T, r rendered) []check.Object {
			np := find[*networkingv1.NetworkPolicy](t, r, "networking.k8s.io/v1 NetworkPolicy", "vecron-api")
			found := false
			for i := range np.Spec.Ingress {
				for j, p := range np.Spec.Ingress[i].From {
					if p.NamespaceSelector == nil && p.PodSelector != nil && p.PodSelector.MatchLabels[check.ComponentLabel] == "tick" {
						np.Spec.Ingress[i].From[j].PodSelector = &metav1.LabelSelector{MatchLabels: map[string]string{check.ComponentLabel: "tick"}}
						found = true
					}
				}
			}
			require.True(t, found, "the api's policy admits the tick")
			return r.objects
		}, "internal-events"},
		{"APIPolicySelectsNothing", "knative-default", func(t *testing.T, r rendered) []check.Object {
			find[*networkingv1.NetworkPolicy](t, r, "networking.k8s.io/v1 NetworkPolicy", "vecron-api").Spec.PodSelector.MatchLabels["x"] = "y"
			return r.objects
		}, "internal-events"},
		{"APIPolicyMissing", "knative-default", func(t *testing.T, r rendered) []check.Object {
			return without(r, "NetworkPolicy", "vecron-api")
		}, "internal-events"},
		{"APIPolicyEgressOnly", "knative-default", func(t *testing.T, r rendered) []check.Object {
			find[*networkingv1.NetworkPolicy](t, r, "networking.k8s.io/v1 NetworkPolicy", "vecron-api").Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
			return r.objects
		}, "internal-events"},
		// Delivery nonsense.
		{"DeliveryRetriesForever", "knative-default", func(t *testing.T, r rendered) []check.Object {
			n := int32(1000)
			trigger(t, r, "vecron-execute-http").Spec.Delivery.Retry = &n
			return r.objects
		}, "delivery"},
		{"DeliveryWithoutBackOff", "knative-default", func(t *testing.T, r rendered) []check.Object {
			d := "PT0S"
			trigger(t, r, "vecron-execute-http").Spec.Delivery.BackoffDelay = &d
			return r.objects
		}, "delivery"},
		// Events of other systems.
		{"EventsTriggerLetsVecronTypesLoop", "knative-events-trigger", func(t *testing.T, r rendered) []check.Object {
			tr := trigger(t, r, "vecron-api-events")
			tr.Spec.Filters = tr.Spec.Filters[:len(tr.Spec.Filters)-1]
			return r.objects
		}, "events-trigger"},
		{"EventsTriggerLosesAFilter", "knative-events-trigger", func(t *testing.T, r rendered) []check.Object {
			tr := trigger(t, r, "vecron-api-events")
			tr.Spec.Filters = tr.Spec.Filters[1:]
			return r.objects
		}, "events-trigger"},
		{"EventsTriggerMissing", "knative-events-trigger", func(t *testing.T, r rendered) []check.Object {
			return without(r, "Trigger", "vecron-api-events")
		}, "events-trigger"},
		{"EventsTriggerWhenOff", "knative-default", func(t *testing.T, r rendered) []check.Object {
			tr := trigger(t, r, "vecron-execute-http").DeepCopy()
			tr.Name = "vecron-api-events"
			tr.Spec.Subscriber = duckv1.Destination{Ref: &duckv1.KReference{APIVersion: "v1", Kind: "Service", Name: "vecron-api-events"}, URI: &apis.URL{Path: "/events"}}
			return append(r.objects, check.Object{APIVersion: "eventing.knative.dev/v1", Kind: "Trigger", Name: tr.Name, Value: tr})
		}, "trigger"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := renderSet(t, sets[tc.set])
			fns := contract.Functions(r.values.NATSPrefix())
			require.NoError(t, check.CheckEventing(r.objects, fns, r.values.KnativeEventing(), schemas), "the render passes unmutated")
			err := check.CheckEventing(tc.change(t, r), fns, r.values.KnativeEventing(), schemas)
			require.Error(t, err)
			require.Contains(t, err.Error(), ": "+tc.rule+": ")
		})
	}
}

// TestCheckEventingRefusesValues: values the chart refuses also fail the check, so a render by
// other means cannot slip them through: the channel-based broker with NetworkPolicies (nothing
// guards its channel dispatcher or the filter's /triggers/ path), the data plane in the
// release's namespace, and a forward dead-letter sink that is not a dead-letter path.
func TestCheckEventingRefusesValues(t *testing.T) {
	t.Parallel()
	sets := valueSets(t)
	for _, tc := range []struct {
		name, set string
		change    func(t *testing.T, r rendered, ev *check.Eventing)
		rule      string
		want      string
	}{
		{"ChannelBrokerWithPolicies", "knative-channel-broker", func(t *testing.T, r rendered, ev *check.Eventing) { ev.Network = true },
			"broker-ingress", "class MTChannelBasedBroker"},
		{"DataPlaneIsTheRelease", "knative-default", func(t *testing.T, r rendered, ev *check.Eventing) { ev.DataPlane = ev.Namespace },
			"data-plane", "release's namespace"},
		{"ForwardDeadLetterToEvents", "knative-default", func(t *testing.T, r rendered, ev *check.Eventing) {
			ev.ForwardDeadLetter = "http://vecron-api-events." + ev.Namespace + ".svc.cluster.local/events"
			c := &find[*servingv1.Service](t, r, "serving.knative.dev/v1 Service", "vecron-tick").Spec.Template.Spec.Containers[0]
			i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "VECRON_FORWARD__DEAD_LETTER_SINK" })
			require.GreaterOrEqual(t, i, 0, "the tick has a dead-letter sink")
			c.Env[i].Value = ev.ForwardDeadLetter
		}, "forward", "does not end in the dead-letter path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := renderSet(t, sets[tc.set])
			fns := contract.Functions(r.values.NATSPrefix())
			require.NoError(t, check.CheckEventing(r.objects, fns, r.values.KnativeEventing(), schemas), "the render passes unmutated")
			ev := r.values.KnativeEventing()
			tc.change(t, r, ev)
			err := check.CheckEventing(r.objects, fns, ev, schemas)
			require.Error(t, err)
			require.Contains(t, err.Error(), ": "+tc.rule+": ")
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestNoEventingOutsideKnative: deployment mode renders no Eventing object, and one there fails.
func TestNoEventingOutsideKnative(t *testing.T) {
	t.Parallel()
	sets := valueSets(t)
	r := renderSet(t, sets["deployment-keda"])
	fns := contract.Functions(r.values.NATSPrefix())
	require.NoError(t, check.CheckEventing(r.objects, fns, r.values.KnativeEventing(), schemas))
	kn := renderSet(t, sets["knative-default"])
	b := find[*eventingv1.Broker](t, kn, "eventing.knative.dev/v1 Broker", "vecron-broker")
	err := check.CheckEventing(append(r.objects, check.Object{APIVersion: "eventing.knative.dev/v1", Kind: "Broker", Name: b.Name, Value: b}), fns, r.values.KnativeEventing(), schemas)
	require.ErrorContains(t, err, ": eventing: ")
}

// TestDecodeRefusesEventing: Broker, Trigger and SinkBinding are decoded strictly and validated
// as Eventing's webhook does, with the flags the value set claims.
func TestDecodeRefusesEventing(t *testing.T) {
	t.Parallel()
	sets := valueSets(t)
	kn := renderSet(t, sets["knative-default"])
	ra := renderSet(t, sets["knative-events-trigger"])
	for _, tc := range []struct {
		name    string
		r       rendered
		m       render.Manifest
		cluster func(check.Cluster) check.Cluster
		change  func(map[string]any)
		want    string
	}{
		{name: "UnknownFieldInTrigger", r: kn, m: manifest(t, kn, "eventing.knative.dev/v1 Trigger", "vecron-execute-http"),
			change: func(d map[string]any) { at(d, "spec")["filter"+"s_"] = []any{} }, want: "unknown field"},
		{name: "UnknownFieldInADelivery", r: kn, m: manifest(t, kn, "eventing.knative.dev/v1 Trigger", "vecron-execute-http"),
			change: func(d map[string]any) { at(d, "spec", "delivery")["retries"] = 3 }, want: "unknown field"},
		{name: "UnknownFieldInAFilter", r: kn, m: manifest(t, kn, "eventing.knative.dev/v1 Trigger", "vecron-execute-http"),
			change: func(d map[string]any) { at(d, "spec", "filters", "0")["exactly"] = map[string]any{"type": "x"} }, want: "unknown field"},
		{name: "UnknownFieldInBroker", r: kn, m: manifest(t, kn, "eventing.knative.dev/v1 Broker", "vecron-broker"),
			change: func(d map[string]any) { d["spec"] = map[string]any{"delivry": map[string]any{}} }, want: "unknown field"},
		{name: "UnknownFieldInSinkBinding", r: kn, m: manifest(t, kn, "sources.knative.dev/v1 SinkBinding", "vecron-sink"),
			change: func(d map[string]any) { at(d, "spec", "subject")["selecter"] = map[string]any{} }, want: "unknown field"},
		{name: "BadBackoffPolicy", r: kn, m: manifest(t, kn, "eventing.knative.dev/v1 Trigger", "vecron-execute-db"),
			change: func(d map[string]any) { at(d, "spec", "delivery")["backoffPolicy"] = "fibonacci" }, want: "backoffPolicy"},
		{name: "TwoKindsInOneFilter", r: kn, m: manifest(t, kn, "eventing.knative.dev/v1 Trigger", "vecron-execute-db"),
			change: func(d map[string]any) {
				at(d, "spec", "filters", "0")["prefix"] = map[string]any{"type": "io."}
			}, want: "filters"},
		{name: "BadAttributeName", r: kn, m: manifest(t, kn, "eventing.knative.dev/v1 Trigger", "vecron-execute-db"),
			change: func(d map[string]any) { at(d, "spec", "filters", "0")["exact"] = map[string]any{"Job-Kind": "sql"} }, want: "exact"},
		{name: "NoSubscriber", r: kn, m: manifest(t, kn, "eventing.knative.dev/v1 Trigger", "vecron-execute-db"),
			change: func(d map[string]any) { delete(at(d, "spec"), "subscriber") }, want: "subscriber"},
		{name: "AbsoluteURIBesideARef", r: kn, m: manifest(t, kn, "eventing.knative.dev/v1 Trigger", "vecron-execute-db"),
			change: func(d map[string]any) {
				at(d, "spec", "delivery", "deadLetterSink")["uri"] = "http://elsewhere/dead-letter"
			}, want: "Absolute URI"},
		{name: "RetryAfterMaxWithoutTheFlag", r: ra, m: manifest(t, ra, "eventing.knative.dev/v1 Trigger", "vecron-execute-db"),
			cluster: func(c check.Cluster) check.Cluster { c.DeliveryRetryAfter = false; return c }, want: "retryAfterMax"},
		{name: "SinkBindingWithoutSubject", r: kn, m: manifest(t, kn, "sources.knative.dev/v1 SinkBinding", "vecron-sink"),
			change: func(d map[string]any) { delete(at(d, "spec"), "subject") }, want: "subject"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := clusterOf(tc.r.values)
			_, err := check.Decode(tc.m, c)
			require.NoError(t, err, "the manifest passes unmutated")
			m := tc.m
			if tc.change != nil {
				m = mutate(t, tc.m, tc.change)
			}
			if tc.cluster != nil {
				c = tc.cluster(c)
			}
			_, err = check.Decode(m, c)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

package check

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	sourcesv1 "knative.dev/eventing/pkg/apis/sources/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"sigs.k8s.io/yaml"

	"github.com/vecron/vecron/deploy/crds"
	"github.com/vecron/vecron/functions/contract"
	"github.com/vecron/vecron/shared/event"
)

// Eventing is what a value set says the Knative Eventing objects are (knative mode).
type Eventing struct {
	// Release and Namespace are the release's name and namespace.
	Release, Namespace string
	// Broker is the broker's name; Create says the chart renders it, of Class.
	Broker string
	Create bool
	Class  string
	// RetryAfter is the cluster's delivery-retryafter flag.
	RetryAfter bool
	// InternalPort is the api's events.internal_port.
	InternalPort int
	// DataPlane is the namespace of the brokers' ingress and dispatchers; IngressPods and
	// IngressPort the ingress's pods and port; Dispatchers the label sets of the pods that post
	// to subscribers and dead-letter sinks.
	DataPlane   string
	IngressPods map[string]string
	IngressPort int
	Dispatchers []map[string]string
	// ForwardDeadLetter is tick.forward.deadLetterSink: "" for the api's internal /dead-letter.
	ForwardDeadLetter string
	// Network is networkPolicies.enabled.
	Network bool
	// EventsTrigger is events.trigger, nil when off.
	EventsTrigger *EventsTrigger
}

// EventsTrigger is the Trigger that brings events of other systems to the api.
type EventsTrigger struct {
	Broker  string
	Filters []eventingv1.SubscriptionsAPIFilter
}

// Fetch bounds of the NatsJetStreamBroker's filter (docs/deploy.md §4): a due event forwarded
// within the tick's 0.5 s stage_ahead must not wait behind a large batch or a long fetch.
const (
	MaxFetchBatch   = 5
	MaxFetchTimeout = 100 * time.Millisecond
)

// Bounds of an executor Trigger's delivery (values.schema.json holds the values to them): a
// retry may run the job again, and a back-off under a second is none.
const (
	MaxDeliveryRetry = 20
	MinBackoffDelay  = time.Second
)

// brokerConfigAnnotation is eventing-natss's per-broker configuration of a NatsJetStreamBroker.
const brokerConfigAnnotation = "natsjetstream.eventing.knative.dev/config"

// sinkLabel marks the Knative Services the SinkBinding gives K_SINK.
const sinkLabel = "vecron.io/sink"

// CheckEventing holds the Knative Eventing objects among objs to ev and fns. Outside knative
// mode (ev nil) none is rendered. In knative mode: the Broker of the class, with the
// NatsJetStreamBroker's fetch small and short or the channel-based broker's template a valid
// NatsJetStreamChannel (schemas); one Trigger per executor, on the Broker, whose filters are
// exactly "jobkind is the executor's kind, and the type is a due event or a wake" (so no
// executor gets lifecycle events), whose subscriber is that executor's Knative Service, whose
// delivery retries with a back-off, waits at least the executor's timeoutSeconds and
// dead-letters to the api's internal /dead-letter (a Service on the api's events-internal
// port); no other Trigger reaches an executor; the SinkBinding gives the Broker to the tick and
// the api and to no executor; the tick forwards (forward.enabled) and dead-letters to the same
// /dead-letter; with events.trigger the Trigger to the api's internal /events carries the
// operator's filters and refuses vecron's own types. With NetworkPolicies on, only the tick
// and the api may post to the Broker's ingress, and only the dispatchers (and the tick, for
// its dead letters) reach the api's internal port. It returns every rule broken, each error
// naming the object and the rule.
func CheckEventing(objs []Object, fns []contract.Function, ev *Eventing, schemas *crds.Set) error {
	var errs []error
	fail := func(o Object, rule, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: %s", o, rule, fmt.Sprintf(format, args...)))
	}
	var brokers, triggers, bindings []Object
	for _, o := range objs {
		switch o.Value.(type) {
		case *eventingv1.Broker:
			brokers = append(brokers, o)
		case *eventingv1.Trigger:
			triggers = append(triggers, o)
		case *sourcesv1.SinkBinding:
			bindings = append(bindings, o)
		}
	}
	if ev == nil {
		for _, o := range slices.Concat(brokers, triggers, bindings) {
			fail(o, "eventing", "rendered outside knative mode")
		}
		return errors.Join(errs...)
	}
	fn := func(name string) (contract.Function, bool) {
		i := slices.IndexFunc(fns, func(f contract.Function) bool { return f.Name == name })
		if i < 0 {
			return contract.Function{}, false
		}
		return fns[i], true
	}
	api, _ := fn("api")
	ws := Workloads(objs)

	checkBroker(objs, brokers, ev, schemas, fail)
	if ev.DataPlane == ev.Namespace {
		fail(Object{Kind: "NetworkPolicy"}, "data-plane", "eventing.dataPlane.namespace is the release's namespace %q: the brokers' data plane is Knative's, and the ingress policy would select vecron's own pods", ev.Namespace)
	}

	// The api's internal listener behind a plain Service: the dead-letter sink and /events.
	internal := internalService(objs, ws, ev.InternalPort)
	deadLetter := func(o Object, d *eventingduckv1.DeliverySpec) {
		if d == nil || d.DeadLetterSink == nil {
			fail(o, "dead-letter", "no deadLetterSink: a fire the broker gives up on would be lost unrecorded")
			return
		}
		if !internalDestination(d.DeadLetterSink.Ref, d.DeadLetterSink.URI, internal, ev, api.DeadLetterPath) {
			fail(o, "dead-letter", "deadLetterSink %v is not the api's internal %s (a Service to its events-internal port %d)", destination(d.DeadLetterSink.Ref, d.DeadLetterSink.URI), api.DeadLetterPath, ev.InternalPort)
		}
	}

	// One Trigger per executor, exactly filtered; nothing else reaches an executor.
	byExecutor := map[string]int{}
	for _, o := range triggers {
		t := o.Value.(*eventingv1.Trigger)
		target := subscriberWorkload(t.Spec.Subscriber.Ref, ws)
		if t.Spec.Subscriber.Ref != nil && t.Spec.Subscriber.Ref.Kind == "Service" && t.Spec.Subscriber.Ref.APIVersion == "v1" &&
			ev.EventsTrigger != nil && internalDestination(t.Spec.Subscriber.Ref, t.Spec.Subscriber.URI, internal, ev, api.EventsPath) {
			checkEventsTrigger(o, t, ev.EventsTrigger, fail)
			continue
		}
		f, ok := fn(target.Function)
		if target.Object.Value == nil || !ok || f.PushPath == "" || len(f.Consumers) == 0 {
			fail(o, "trigger", "subscriber %v is not an executor's Knative Service rendered here", destination(t.Spec.Subscriber.Ref, t.Spec.Subscriber.URI))
			continue
		}
		byExecutor[target.Function]++
		if t.Spec.Broker != ev.Broker || t.Spec.BrokerRef != nil {
			fail(o, "trigger", "on broker %q, want %q", t.Spec.Broker, ev.Broker)
		}
		if t.Spec.Subscriber.URI != nil && t.Spec.Subscriber.URI.Path != "" && t.Spec.Subscriber.URI.Path != f.PushPath {
			fail(o, "trigger", "subscriber path %q, want the executor's push path %q", t.Spec.Subscriber.URI.Path, f.PushPath)
		}
		if want := dueFilters(string(f.Consumers[0].Kind)); t.Spec.Filter != nil || !reflect.DeepEqual(t.Spec.Filters, want) {
			fail(o, "filters", "%s gets %s; want exactly %s (lifecycle events carry jobkind too)", target.Function, filterString(t.Spec.Filters, t.Spec.Filter), filterString(want, nil))
		}
		checkDelivery(o, t.Spec.Delivery, target, ev, fail)
		deadLetter(o, t.Spec.Delivery)
	}
	for _, w := range ws {
		f, ok := fn(w.Function)
		if !ok || f.PushPath == "" {
			continue
		}
		if n := byExecutor[w.Function]; n != 1 {
			fail(w.Object, "trigger", "%d Triggers deliver to it, want 1", n)
		}
	}
	if ev.EventsTrigger != nil && !slices.ContainsFunc(triggers, func(o Object) bool {
		t := o.Value.(*eventingv1.Trigger)
		return internalDestination(t.Spec.Subscriber.Ref, t.Spec.Subscriber.URI, internal, ev, api.EventsPath)
	}) {
		fail(Object{Kind: "Trigger"}, "events-trigger", "events.trigger is on and no Trigger delivers to the api's internal %s", api.EventsPath)
	}

	checkSinkBinding(bindings, ws, ev, fail)
	checkForwarder(ws, internal, ev, api.DeadLetterPath, fail)
	if ev.Network {
		checkEventingPolicies(objs, ws, ev, fail)
	}
	return errors.Join(errs...)
}

// dueFilters are the filters of kind's executor Trigger: its jobkind, and a due event or a
// wake-up.
func dueFilters(kind string) []eventingv1.SubscriptionsAPIFilter {
	return []eventingv1.SubscriptionsAPIFilter{
		{Exact: map[string]string{event.ExtJobKind: kind}},
		{Any: []eventingv1.SubscriptionsAPIFilter{
			{Exact: map[string]string{"type": event.TypeJobDue}},
			{Exact: map[string]string{"type": event.TypeWake}},
		}},
	}
}

// notVecron is the filter the events Trigger ends with: none of vecron's own types.
func notVecron() eventingv1.SubscriptionsAPIFilter {
	return eventingv1.SubscriptionsAPIFilter{Not: &eventingv1.SubscriptionsAPIFilter{Prefix: map[string]string{"type": "io.vecron."}}}
}

func filterString(fs []eventingv1.SubscriptionsAPIFilter, legacy *eventingv1.TriggerFilter) string {
	b, _ := json.Marshal(struct {
		Filters []eventingv1.SubscriptionsAPIFilter `json:"filters,omitempty"`
		Filter  *eventingv1.TriggerFilter           `json:"filter,omitempty"`
	}{fs, legacy})
	return string(b)
}

func destination(ref *duckv1.KReference, uri *apis.URL) string {
	s := ""
	if ref != nil {
		s = fmt.Sprintf("%s %s %s", ref.APIVersion, ref.Kind, ref.Name)
	}
	if uri != nil {
		s += " " + uri.String()
	}
	return strings.TrimSpace(s)
}

// checkBroker holds the rendered Broker to ev: one of its class when the chart creates it,
// none otherwise.
func checkBroker(objs, brokers []Object, ev *Eventing, schemas *crds.Set, fail func(Object, string, string, ...any)) {
	if !ev.Create {
		for _, o := range brokers {
			fail(o, "broker", "rendered with eventing.broker.create false")
		}
		return
	}
	if len(brokers) != 1 {
		fail(Object{Kind: "Broker"}, "broker", "%d Brokers rendered, want 1", len(brokers))
		return
	}
	o := brokers[0]
	b := o.Value.(*eventingv1.Broker)
	if b.Name != ev.Broker {
		fail(o, "broker", "named %q, want %q (the Triggers and the SinkBinding name it)", b.Name, ev.Broker)
	}
	class := b.Annotations[eventingv1.BrokerClassAnnotationKey]
	if class != ev.Class {
		fail(o, "broker", "class %q, want %q", class, ev.Class)
	}
	switch class {
	case "NatsJetStreamBroker":
		if b.Spec.Config != nil {
			fail(o, "broker", "a NatsJetStreamBroker takes its configuration from %s, not spec.config", brokerConfigAnnotation)
		}
		if err := checkFetch(b.Annotations[brokerConfigAnnotation]); err != nil {
			fail(o, "broker", "%s: %v", brokerConfigAnnotation, err)
		}
	case "MTChannelBasedBroker":
		c := b.Spec.Config
		if c == nil || c.APIVersion != "v1" || c.Kind != "ConfigMap" {
			fail(o, "broker", "spec.config must name the ConfigMap of the channel template")
			return
		}
		i := slices.IndexFunc(objs, func(x Object) bool { _, ok := x.Value.(*corev1.ConfigMap); return ok && x.Name == c.Name })
		if i < 0 {
			fail(o, "broker", "spec.config names ConfigMap %q, which is not rendered", c.Name)
			return
		}
		if err := checkChannelTemplate(objs[i].Value.(*corev1.ConfigMap), schemas); err != nil {
			fail(objs[i], "broker", "%v", err)
		}
	}
}

// checkFetch parses a NatsJetStreamBroker's configuration annotation strictly and holds the
// filter's fetch to MaxFetchBatch and MaxFetchTimeout.
func checkFetch(annotation string) error {
	if annotation == "" {
		return fmt.Errorf("missing: the filter would fetch 10 events and wait 500ms, past the tick's stage_ahead")
	}
	var cfg struct {
		Filter struct {
			Env []struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			} `json:"env"`
		} `json:"filter"`
	}
	if err := yaml.UnmarshalStrict([]byte(annotation), &cfg); err != nil {
		return fmt.Errorf("not the broker's configuration: %w", err)
	}
	env := map[string]string{}
	for _, e := range cfg.Filter.Env {
		env[e.Name] = e.Value
	}
	batch, err := strconv.Atoi(env["CONSUMER_FETCH_BATCH_SIZE"])
	if err != nil || batch < 1 || batch > MaxFetchBatch {
		return fmt.Errorf("CONSUMER_FETCH_BATCH_SIZE %q, want 1–%d", env["CONSUMER_FETCH_BATCH_SIZE"], MaxFetchBatch)
	}
	d, err := time.ParseDuration(env["CONSUMER_FETCH_TIMEOUT"])
	if err != nil || d <= 0 || d > MaxFetchTimeout {
		return fmt.Errorf("CONSUMER_FETCH_TIMEOUT %q, want at most %s", env["CONSUMER_FETCH_TIMEOUT"], MaxFetchTimeout)
	}
	return nil
}

// checkChannelTemplate holds a channel-based broker's ConfigMap to a NatsJetStreamChannel
// template valid against the channel's schema.
func checkChannelTemplate(cm *corev1.ConfigMap, schemas *crds.Set) error {
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(cm.Data["channel-template-spec"]), &doc); err != nil || doc == nil {
		return fmt.Errorf("channel-template-spec is not a channel template: %v", err)
	}
	if doc["apiVersion"] != "messaging.knative.dev/v1alpha1" || doc["kind"] != "NatsJetStreamChannel" {
		return fmt.Errorf("channel-template-spec is a %v %v, want messaging.knative.dev/v1alpha1 NatsJetStreamChannel", doc["apiVersion"], doc["kind"])
	}
	if schemas == nil {
		return fmt.Errorf("no CRD schemas to check the channel template with")
	}
	obj := maps.Clone(doc)
	obj["metadata"] = map[string]any{"name": "template"}
	if err := schemas.Validate(obj); err != nil {
		return fmt.Errorf("channel-template-spec: %w", err)
	}
	return nil
}

// checkDelivery holds an executor Trigger's delivery to retries with a back-off and a timeout
// no shorter than the executor's (Knative would cut a running job and deliver it again).
func checkDelivery(o Object, d *eventingduckv1.DeliverySpec, w Workload, ev *Eventing, fail func(Object, string, string, ...any)) {
	if d == nil {
		fail(o, "delivery", "no delivery: Knative's defaults retry nothing")
		return
	}
	if d.Retry == nil || *d.Retry < 1 {
		fail(o, "delivery", "no retry")
	} else if *d.Retry > MaxDeliveryRetry {
		fail(o, "delivery", "retry %d, want at most %d: each retry may run the job again", *d.Retry, MaxDeliveryRetry)
	}
	if d.BackoffPolicy == nil || d.BackoffDelay == nil {
		fail(o, "delivery", "no back-off: retries would hammer a failing target")
	} else if b, err := isoDuration(*d.BackoffDelay); err != nil || b < MinBackoffDelay {
		fail(o, "delivery", "backoffDelay %s, want at least %s: retries would hammer a failing target", *d.BackoffDelay, MinBackoffDelay)
	}
	svc, ok := w.Value.(*servingv1.Service)
	if !ok || svc.Spec.Template.Spec.TimeoutSeconds == nil {
		fail(o, "delivery", "%s has no timeoutSeconds to hold the delivery timeout to", w.Name)
		return
	}
	want := time.Duration(*svc.Spec.Template.Spec.TimeoutSeconds) * time.Second
	if d.Timeout == nil {
		fail(o, "delivery", "no timeout; want at least the executor's %s", want)
	} else if got, err := isoDuration(*d.Timeout); err != nil || got < want {
		fail(o, "delivery", "timeout %s is shorter than the executor's timeoutSeconds %s", *d.Timeout, want)
	}
	if d.RetryAfterMax != nil && !ev.RetryAfter {
		fail(o, "delivery", "retryAfterMax without the cluster's delivery-retryafter")
	}
}

// isoDuration parses the ISO 8601 durations the chart writes (PT<n>S, PT<n>M, PT<n>H, P<n>D and
// their sums).
func isoDuration(s string) (time.Duration, error) {
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" {
		return 0, fmt.Errorf("%q is not an ISO 8601 duration", s)
	}
	var total time.Duration
	inTime := false
	num := ""
	for _, r := range rest {
		switch {
		case r == 'T':
			inTime = true
		case r >= '0' && r <= '9' || r == '.':
			num += string(r)
		default:
			n, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("%q is not an ISO 8601 duration", s)
			}
			unit := map[string]time.Duration{"D": 24 * time.Hour, "TH": time.Hour, "TM": time.Minute, "TS": time.Second}[map[bool]string{true: "T"}[inTime]+string(r)]
			if unit == 0 {
				return 0, fmt.Errorf("%q: unit %c not supported", s, r)
			}
			total += time.Duration(n * float64(unit))
			num = ""
		}
	}
	if num != "" {
		return 0, fmt.Errorf("%q is not an ISO 8601 duration", s)
	}
	return total, nil
}

// subscriberWorkload returns the Knative workload a subscriber reference names, or a zero
// Workload.
func subscriberWorkload(ref *duckv1.KReference, ws []Workload) Workload {
	if ref == nil || ref.APIVersion != "serving.knative.dev/v1" || ref.Kind != "Service" || ref.Namespace != "" {
		return Workload{}
	}
	for _, w := range ws {
		if w.Knative && w.Name == ref.Name {
			return w
		}
	}
	return Workload{}
}

// internalService returns the rendered v1 Service that selects the api's pods only and whose
// every port targets the api's events-internal port, nil when there is none.
func internalService(objs []Object, ws []Workload, port int) *corev1.Service {
	for _, o := range objs {
		s, ok := o.Value.(*corev1.Service)
		if !ok || len(s.Spec.Selector) == 0 || len(s.Spec.Ports) == 0 {
			continue
		}
		sel := labels.SelectorFromSet(s.Spec.Selector)
		var target []string
		for _, w := range ws {
			if sel.Matches(labels.Set(w.Labels)) {
				target = append(target, w.Function)
			}
		}
		if !slices.Equal(target, []string{"api"}) {
			continue
		}
		if !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool {
			return p.TargetPort != intstr.FromInt32(int32(port))
		}) && port > 0 {
			return s
		}
	}
	return nil
}

// internalDestination reports whether ref and uri name path on the api's internal listener:
// the Service in front of it, port 80 (what Knative resolves a Service reference to), or its
// cluster host name with that port.
func internalDestination(ref *duckv1.KReference, uri *apis.URL, svc *corev1.Service, ev *Eventing, path string) bool {
	if svc == nil || uri == nil || path == "" || !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == 80 }) {
		return false
	}
	if ref != nil {
		return ref.APIVersion == "v1" && ref.Kind == "Service" && ref.Name == svc.Name && (ref.Namespace == "" || ref.Namespace == ev.Namespace) &&
			!uri.URL().IsAbs() && uri.Path == path && uri.RawQuery == ""
	}
	return urlIsInternal(uri.String(), svc, ev, path)
}

// urlIsInternal reports whether u is http://<svc>.<namespace>.svc.cluster.local<path>.
func urlIsInternal(u string, svc *corev1.Service, ev *Eventing, path string) bool {
	p, err := url.Parse(u)
	return err == nil && p.Scheme == "http" && p.User == nil && p.Host == svc.Name+"."+ev.Namespace+".svc.cluster.local" &&
		p.Path == path && p.RawQuery == "" && p.Fragment == ""
}

// checkEventsTrigger holds the Trigger of events.trigger to the operator's broker and filters,
// with vecron's own types refused last.
func checkEventsTrigger(o Object, t *eventingv1.Trigger, want *EventsTrigger, fail func(Object, string, string, ...any)) {
	if t.Spec.Broker != want.Broker || t.Spec.BrokerRef != nil {
		fail(o, "events-trigger", "on broker %q, want %q", t.Spec.Broker, want.Broker)
	}
	wantFilters := append(slices.Clone(want.Filters), notVecron())
	if t.Spec.Filter != nil || !reflect.DeepEqual(t.Spec.Filters, wantFilters) {
		fail(o, "events-trigger", "filters %s; want the operator's and then %s, so vecron's own events never loop into /events",
			filterString(t.Spec.Filters, t.Spec.Filter), filterString([]eventingv1.SubscriptionsAPIFilter{notVecron()}, nil))
	}
}

// checkSinkBinding holds the SinkBinding to the Broker as sink and the tick and the api, and no
// executor, as subjects.
func checkSinkBinding(bindings []Object, ws []Workload, ev *Eventing, fail func(Object, string, string, ...any)) {
	if len(bindings) != 1 {
		fail(Object{Kind: "SinkBinding"}, "sinkbinding", "%d SinkBindings rendered, want 1", len(bindings))
		return
	}
	o := bindings[0]
	b := o.Value.(*sourcesv1.SinkBinding)
	if r := b.Spec.Sink.Ref; r == nil || r.APIVersion != "eventing.knative.dev/v1" || r.Kind != "Broker" || r.Name != ev.Broker || b.Spec.Sink.URI != nil {
		fail(o, "sinkbinding", "sink %v, want the Broker %q", destination(b.Spec.Sink.Ref, b.Spec.Sink.URI), ev.Broker)
	}
	s := b.Spec.Subject
	if s.APIVersion != "serving.knative.dev/v1" || s.Kind != "Service" || s.Selector == nil || s.Name != "" {
		fail(o, "sinkbinding", "subject must select Knative Services by label")
		return
	}
	sel, err := metav1.LabelSelectorAsSelector(s.Selector)
	if err != nil || sel.Empty() {
		fail(o, "sinkbinding", "subject selects every Knative Service")
		return
	}
	var got []string
	for _, w := range ws {
		svc, ok := w.Value.(*servingv1.Service)
		if ok && sel.Matches(labels.Set(svc.Labels)) {
			got = append(got, w.Function)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"api", "tick"}) {
		fail(o, "sinkbinding", "subject selects %v; want the api and the tick only (executors read no K_SINK)", got)
	}
}

// checkForwarder holds the tick to forwarding its due events (forward.enabled) with the api's
// internal /dead-letter as its dead-letter sink, unless the values name another.
func checkForwarder(ws []Workload, internal *corev1.Service, ev *Eventing, path string, fail func(Object, string, string, ...any)) {
	for _, w := range ws {
		if w.Function != "tick" {
			continue
		}
		env := map[string]string{}
		for _, e := range w.Pod.Containers[0].Env {
			env[e.Name] = e.Value
		}
		if env["VECRON_FORWARD__ENABLED"] != "true" {
			fail(w.Object, "forward", "VECRON_FORWARD__ENABLED is %q: executors take pushed events, so no job would fire", env["VECRON_FORWARD__ENABLED"])
		}
		dls := env["VECRON_FORWARD__DEAD_LETTER_SINK"]
		switch {
		case ev.ForwardDeadLetter != "":
			if u, err := url.Parse(ev.ForwardDeadLetter); err != nil || !strings.HasSuffix(u.Path, path) {
				fail(w.Object, "forward", "tick.forward.deadLetterSink %q does not end in the dead-letter path %s: a fire given up on would not be recorded dead_lettered", ev.ForwardDeadLetter, path)
			}
			if dls != ev.ForwardDeadLetter {
				fail(w.Object, "forward", "VECRON_FORWARD__DEAD_LETTER_SINK %q, want tick.forward.deadLetterSink", dls)
			}
		case internal == nil || !urlIsInternal(dls, internal, ev, path):
			fail(w.Object, "forward", "VECRON_FORWARD__DEAD_LETTER_SINK %q is not the api's internal %s", dls, path)
		}
	}
}

// checkEventingPolicies holds the NetworkPolicies to: the brokers' ingress admits posts from
// the tick's and the api's pods only (a due event's id is predictable, so whoever posts there
// first can have a real fire dropped as a duplicate); the api's internal port admits the
// dispatchers and, for its dead letters, the tick only; the tick reaches the ingress. It fails
// closed: an allowed peer must name the function's full selector labels (matchLabels only), a
// named port counts as any port, and every policy whose selector could match the ingress's or
// the api's pods is held, not only the chart's own. The channel-based broker is refused: no
// policy here guards its channel dispatcher, or the filter's /triggers/ path, which both
// deliver to an executor without passing the ingress.
func checkEventingPolicies(objs []Object, ws []Workload, ev *Eventing, fail func(Object, string, string, ...any)) {
	if ev.Class == "MTChannelBasedBroker" {
		fail(Object{Kind: "NetworkPolicy"}, "broker-ingress", "class MTChannelBasedBroker with NetworkPolicies: nothing guards the channel dispatcher %v or the filter's /triggers/ path, so any pod could deliver a due event past the ingress's policy", map[string]string{"messaging.knative.dev/channel": "jetstream-channel", "messaging.knative.dev/role": "dispatcher"})
	}
	workloadOf := func(peer networkingv1.NetworkPolicyPeer, policyNS string) string {
		if peer.IPBlock != nil || peer.PodSelector == nil || len(peer.PodSelector.MatchExpressions) > 0 {
			return ""
		}
		ns := policyNS
		if peer.NamespaceSelector != nil {
			ns = exactNamespace(peer.NamespaceSelector)
		}
		if ns != ev.Namespace {
			return ""
		}
		for _, w := range ws {
			if sel := selectorLabels(w); len(sel) == 3 && maps.Equal(sel, peer.PodSelector.MatchLabels) {
				return w.Function
			}
		}
		return ""
	}
	dispatcher := func(peer networkingv1.NetworkPolicyPeer) bool {
		if peer.IPBlock != nil || peer.PodSelector == nil || peer.NamespaceSelector == nil || exactNamespace(peer.NamespaceSelector) != ev.DataPlane {
			return false
		}
		return len(peer.PodSelector.MatchExpressions) == 0 && slices.ContainsFunc(ev.Dispatchers, func(l map[string]string) bool {
			return len(l) > 0 && maps.Equal(l, peer.PodSelector.MatchLabels)
		})
	}
	admits := func(r networkingv1.NetworkPolicyIngressRule, port int) bool {
		return len(r.Ports) == 0 || slices.ContainsFunc(r.Ports, func(pt networkingv1.NetworkPolicyPort) bool { return portMayCover(pt, port) })
	}
	var apiLabels map[string]string
	if i := slices.IndexFunc(ws, func(w Workload) bool { return w.Function == "api" }); i >= 0 {
		apiLabels = ws[i].Labels
	}

	ingressGuarded, tickIn, apiGuarded := false, false, false
	for _, o := range objs {
		np, ok := o.Value.(*networkingv1.NetworkPolicy)
		if !ok {
			continue
		}
		ns := np.Namespace
		if ns == "" {
			ns = ev.Namespace
		}
		guards := slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
		// The brokers' ingress: every policy whose selector could match its pods, since a
		// policy's allows add up.
		if ns == ev.DataPlane && mayMatch(np.Spec.PodSelector, ev.IngressPods) {
			sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
			if guards && err == nil && sel.Matches(labels.Set(ev.IngressPods)) {
				ingressGuarded = true
			}
			for _, r := range np.Spec.Ingress {
				if !admits(r, ev.IngressPort) {
					continue
				}
				if len(r.From) == 0 {
					fail(o, "broker-ingress", "any source may post to the brokers' ingress; only the tick and the api may")
				}
				for _, peer := range r.From {
					switch workloadOf(peer, ns) {
					case "tick":
						tickIn = true
					case "api":
					default:
						fail(o, "broker-ingress", "%s may post to the brokers' ingress; only the tick's and the api's pods, by their full selector labels, may (a due event's id is predictable)", peerString(peer))
					}
				}
			}
		}
		if ns != ev.Namespace || apiLabels == nil || !mayMatch(np.Spec.PodSelector, apiLabels) {
			continue
		}
		// The api's internal listener.
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if guards && err == nil && sel.Matches(labels.Set(apiLabels)) {
			apiGuarded = true
		}
		for _, r := range np.Spec.Ingress {
			if !admits(r, ev.InternalPort) {
				continue
			}
			if len(r.From) == 0 {
				fail(o, "internal-events", "any source may reach the api's internal port %d (/dead-letter, /events)", ev.InternalPort)
			}
			for _, peer := range r.From {
				if dispatcher(peer) || ev.ForwardDeadLetter == "" && workloadOf(peer, ns) == "tick" {
					continue
				}
				fail(o, "internal-events", "%s may reach the api's internal port %d (/dead-letter, /events); only the brokers' dispatchers and the tick, by their full selector labels, may", peerString(peer), ev.InternalPort)
			}
		}
	}
	if !ingressGuarded {
		fail(Object{Kind: "NetworkPolicy"}, "broker-ingress", "no NetworkPolicy in %s restricts the brokers' ingress %v: any pod could post a due event's predictable id first", ev.DataPlane, ev.IngressPods)
	} else if !tickIn {
		fail(Object{Kind: "NetworkPolicy"}, "broker-ingress", "the tick cannot post to the brokers' ingress: no job would fire")
	}
	if !apiGuarded {
		fail(Object{Kind: "NetworkPolicy"}, "internal-events", "no NetworkPolicy of type Ingress selects the api's pods: any pod could reach its internal port %d (/dead-letter, /events)", ev.InternalPort)
	}
}

// selectorLabels returns the labels the chart selects w's pods by (vecron.selectorLabels).
func selectorLabels(w Workload) map[string]string {
	out := map[string]string{}
	for _, k := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", ComponentLabel} {
		if v, ok := w.Labels[k]; ok {
			out[k] = v
		}
	}
	return out
}

// mayMatch reports whether s could select a pod that carries known, and perhaps labels not
// known: only a requirement on a known label that known breaks rules it out.
func mayMatch(s metav1.LabelSelector, known map[string]string) bool {
	for k, v := range s.MatchLabels {
		if got, ok := known[k]; ok && got != v {
			return false
		}
	}
	for _, e := range s.MatchExpressions {
		got, ok := known[e.Key]
		switch e.Operator {
		case metav1.LabelSelectorOpIn:
			if ok && !slices.Contains(e.Values, got) {
				return false
			}
		case metav1.LabelSelectorOpNotIn:
			if ok && slices.Contains(e.Values, got) {
				return false
			}
		case metav1.LabelSelectorOpDoesNotExist:
			if ok {
				return false
			}
		}
	}
	return true
}

// portMayCover is portCovers failing closed: a named port may be any port.
func portMayCover(pt networkingv1.NetworkPolicyPort, port int) bool {
	if pt.Port != nil && pt.Port.Type == intstr.String && (pt.Protocol == nil || *pt.Protocol == corev1.ProtocolTCP) {
		return true
	}
	return portCovers(pt, port)
}

// exactNamespace returns the one namespace a namespace selector names by its name label, ""
// when it selects otherwise.
func exactNamespace(s *metav1.LabelSelector) string {
	if len(s.MatchExpressions) > 0 || len(s.MatchLabels) != 1 {
		return ""
	}
	return s.MatchLabels[namespaceLabel]
}

// portCovers reports whether pt admits TCP port.
func portCovers(pt networkingv1.NetworkPolicyPort, port int) bool {
	if pt.Protocol != nil && *pt.Protocol != corev1.ProtocolTCP {
		return false
	}
	if pt.Port == nil {
		return true
	}
	if pt.Port.Type == intstr.String {
		return false
	}
	lo := int(pt.Port.IntVal)
	hi := lo
	if pt.EndPort != nil {
		hi = int(*pt.EndPort)
	}
	return port >= lo && port <= hi
}

func peerString(p networkingv1.NetworkPolicyPeer) string {
	b, _ := json.Marshal(p)
	return string(b)
}

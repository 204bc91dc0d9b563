package check

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/vecron/vecron/deploy/crds"
	"github.com/vecron/vecron/deploy/crds/provenance"
	"github.com/vecron/vecron/functions/contract"
	"github.com/vecron/vecron/shared/autoscale"
)

// Scaling is what a value set says KEDA's objects hold (docs/deploy.md §5).
type Scaling struct {
	// PollingInterval and CooldownPeriod are in seconds.
	PollingInterval, CooldownPeriod int
	// Lag is keda.lagThreshold by job kind.
	Lag map[string]int
	// Activation is keda.activationLagThreshold.
	Activation int
	// Max is maxReplicaCount by executor function.
	Max map[string]int
}

// natsJetStream is the KEDA trigger type that reads a JetStream consumer's lag.
const natsJetStream = "nats-jetstream"

// CheckScaling holds KEDA's objects among objs to the contract and to s (nil: none may be
// rendered): each executor Deployment has exactly one ScaledObject, leaves replicas to it, and
// scales 0..max on a nats-jetstream trigger whose stream and consumer are the executor's
// durable consumer in fns, with the values' lag thresholds, polling and cooldown; the HPA
// behaviour is the HPA's defaults (autoscale.DefaultRules, what vecron dev --autoscale
// simulates); a ScaledObject targets nothing else; an authenticationRef names a rendered
// TriggerAuthentication that gives only parameters the scaler reads from authParams (from set's
// provenance), and the monitoring endpoint is given one way or the other. It returns every
// rule broken, each error naming the object and the rule.
func CheckScaling(objs []Object, fns []contract.Function, s *Scaling, set *crds.Set) error {
	var errs []error
	fail := func(o Object, rule, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: %s", o, rule, fmt.Sprintf(format, args...)))
	}
	deployments := map[string]Workload{}
	for _, w := range Workloads(objs) {
		if !w.Knative {
			deployments[w.Name] = w
		}
	}
	auths := map[string]*CRDObject{}
	var scaled []Object
	for _, o := range objs {
		if o.APIVersion != "keda.sh/v1alpha1" {
			continue
		}
		if s == nil {
			fail(o, "keda", "rendered outside KEDA mode")
			continue
		}
		switch o.Kind {
		case "TriggerAuthentication":
			auths[o.Name] = o.Value.(*CRDObject)
		case "ScaledObject":
			scaled = append(scaled, o)
		}
	}
	authParams := map[string]bool{}
	if set != nil {
		for _, sc := range set.Sources().Scalers {
			if sc.Type != natsJetStream {
				continue
			}
			for _, p := range sc.Params {
				if slices.Contains(p.Order, provenance.OrderAuthParams) {
					for _, n := range p.Names {
						authParams[n] = true
					}
				}
			}
		}
	}
	targeted := map[string]int{}
	for _, o := range scaled {
		spec := o.Value.(*CRDObject).Spec
		ref, _ := spec["scaleTargetRef"].(map[string]any)
		name, _ := ref["name"].(string)
		if k, _ := ref["kind"].(string); k != "" && k != "Deployment" {
			fail(o, "target", "scaleTargetRef.kind %q, want Deployment", k)
		}
		if av, _ := ref["apiVersion"].(string); av != "" && av != "apps/v1" {
			fail(o, "target", "scaleTargetRef.apiVersion %q, want apps/v1", av)
		}
		w, ok := deployments[name]
		if !ok {
			fail(o, "target", "scaleTargetRef.name %q is no rendered Deployment", name)
			continue
		}
		targeted[name]++
		i := slices.IndexFunc(fns, func(f contract.Function) bool { return f.Name == w.Function })
		if i < 0 || fns[i].PushPath == "" || len(fns[i].Consumers) != 1 {
			fail(o, "target", "scales %s, which is no executor", w.Function)
			continue
		}
		c := fns[i].Consumers[0]
		num := func(key string, want int) {
			if got, ok := spec[key].(float64); !ok || int(got) != want {
				fail(o, "replicas", "%s %v, want %d", key, spec[key], want)
			}
		}
		num("minReplicaCount", 0)
		num("maxReplicaCount", s.Max[w.Function])
		num("pollingInterval", s.PollingInterval)
		num("cooldownPeriod", s.CooldownPeriod)
		checkBehavior(o, spec, fail)

		triggers, _ := spec["triggers"].([]any)
		if len(triggers) != 1 {
			fail(o, "trigger", "%d triggers, want one %s", len(triggers), natsJetStream)
			continue
		}
		tr, _ := triggers[0].(map[string]any)
		if tr["type"] != natsJetStream {
			fail(o, "trigger", "type %v, want %s", tr["type"], natsJetStream)
		}
		md, _ := tr["metadata"].(map[string]any)
		str := func(key string) string { v, _ := md[key].(string); return v }
		if str("stream") != c.Stream || str("consumer") != c.Durable {
			fail(o, "consumer", "stream %q consumer %q, want %s's durable consumer %q on %q", str("stream"), str("consumer"), w.Function, c.Durable, c.Stream)
		}
		if str("lagThreshold") != strconv.Itoa(s.Lag[string(c.Kind)]) {
			fail(o, "lag", "lagThreshold %q, want %d (keda.lagThreshold.%s)", str("lagThreshold"), s.Lag[string(c.Kind)], c.Kind)
		}
		if str("activationLagThreshold") != strconv.Itoa(s.Activation) {
			fail(o, "lag", "activationLagThreshold %q, want %d", str("activationLagThreshold"), s.Activation)
		}
		given := map[string]bool{}
		for k, v := range md {
			if v != "" {
				given[k] = true
			}
		}
		if ar, ok := tr["authenticationRef"].(map[string]any); ok {
			an, _ := ar["name"].(string)
			ta, ok := auths[an]
			if !ok {
				fail(o, "auth", "authenticationRef %q names no rendered TriggerAuthentication", an)
			} else {
				refs, _ := ta.Spec["secretTargetRef"].([]any)
				for _, r := range refs {
					p, _ := r.(map[string]any)["parameter"].(string)
					if !authParams[p] {
						fail(o, "auth", "TriggerAuthentication %s gives %q, which %s does not read from authParams", an, p, natsJetStream)
					}
					given[p] = true
				}
			}
		}
		if !given["natsServerMonitoringEndpoint"] {
			fail(o, "auth", "no natsServerMonitoringEndpoint in the trigger or its TriggerAuthentication")
		}
		if !given["account"] && !given["accountID"] {
			fail(o, "auth", "no account nor accountID: the scaler refuses it")
		}
	}
	if s == nil {
		return errors.Join(errs...)
	}
	for _, name := range slices.Sorted(maps.Keys(deployments)) {
		w := deployments[name]
		i := slices.IndexFunc(fns, func(f contract.Function) bool { return f.Name == w.Function })
		executor := i >= 0 && fns[i].PushPath != ""
		switch {
		case executor && targeted[name] != 1:
			fail(w.Object, "keda", "%d ScaledObjects scale it, want 1", targeted[name])
		case executor && w.Value.(*appsv1.Deployment).Spec.Replicas != nil:
			fail(w.Object, "keda", "sets replicas, which KEDA's HPA owns: every upgrade would reset them")
		}
	}
	return errors.Join(errs...)
}

// checkBehavior requires the HPA behaviour to be the HPA's defaults, as autoscale.DefaultRules
// holds them, so that the local autoscaler and the cluster scale alike.
func checkBehavior(o Object, spec map[string]any, fail func(Object, string, string, ...any)) {
	r := autoscale.DefaultRules()
	sec := func(d time.Duration) float64 { return d.Seconds() }
	want := map[string]any{
		"scaleUp": map[string]any{
			"stabilizationWindowSeconds": sec(r.ScaleUpStabilization),
			"selectPolicy":               "Max",
			"policies": []any{
				map[string]any{"type": "Pods", "value": float64(r.ScaleUpPods), "periodSeconds": sec(r.ScaleUpPeriod)},
				map[string]any{"type": "Percent", "value": float64(r.ScaleUpPercent), "periodSeconds": sec(r.ScaleUpPeriod)},
			},
		},
		"scaleDown": map[string]any{
			"stabilizationWindowSeconds": sec(r.ScaleDownStabilization),
			"selectPolicy":               "Max",
			// The HPA's default scale-down policy, which limits nothing (autoscale has no field).
			"policies": []any{
				map[string]any{"type": "Percent", "value": float64(100), "periodSeconds": float64(15)},
			},
		},
	}
	adv, _ := spec["advanced"].(map[string]any)
	hpa, _ := adv["horizontalPodAutoscalerConfig"].(map[string]any)
	if got := hpa["behavior"]; !reflect.DeepEqual(got, want) {
		fail(o, "behavior", "advanced.horizontalPodAutoscalerConfig.behavior %v, want the HPA's defaults %v", got, want)
	}
}

package check_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/vecron/vecron/deploy/check"
	"github.com/vecron/vecron/functions/contract"
)

// TestCheckScalingRefuses: each KEDA rule fails a render mutated to break it, and the render
// unmutated passes.
func TestCheckScalingRefuses(t *testing.T) {
	t.Parallel()
	sets := valueSets(t)
	so := func(t *testing.T, r rendered, name string) map[string]any {
		return find[*check.CRDObject](t, r, "keda.sh/v1alpha1 ScaledObject", name).Spec
	}
	trigger := func(t *testing.T, r rendered, name string) map[string]any {
		return so(t, r, name)["triggers"].([]any)[0].(map[string]any)
	}
	md := func(t *testing.T, r rendered, name string) map[string]any {
		return trigger(t, r, name)["metadata"].(map[string]any)
	}
	for _, tc := range []struct {
		name, set string
		change    func(t *testing.T, r rendered) []check.Object
		rule      string
	}{
		{"BrokerConsumer", "deployment-keda", func(t *testing.T, r rendered) []check.Object {
			md(t, r, "vecron-execute-http")["consumer"] = "broker-trigger-http"
			return r.objects
		}, "consumer"},
		{"OtherKindsConsumer", "deployment-keda", func(t *testing.T, r rendered) []check.Object {
			md(t, r, "vecron-execute-db")["consumer"] = "execute-http"
			return r.objects
		}, "consumer"},
		{"StreamWithoutThePrefix", "deployment-keda", func(t *testing.T, r rendered) []check.Object {
			md(t, r, "vecron-execute-http")["stream"] = "VECRON_DUE"
			return r.objects
		}, "consumer"},
		{"LagNotTheValues", "deployment-keda", func(t *testing.T, r rendered) []check.Object {
			md(t, r, "vecron-execute-db")["lagThreshold"] = "256"
			return r.objects
		}, "lag"},
		{"Activation", "deployment-keda", func(t *testing.T, r rendered) []check.Object {
			md(t, r, "vecron-execute-db")["activationLagThreshold"] = "0"
			return r.objects
		}, "lag"},
		{"NoEndpoint", "deployment-keda", func(t *testing.T, r rendered) []check.Object {
			delete(md(t, r, "vecron-execute-http"), "natsServerMonitoringEndpoint")
			return r.objects
		}, "auth"},
		{"NoAccount", "deployment-keda", func(t *testing.T, r rendered) []check.Object {
			delete(md(t, r, "vecron-execute-http"), "account")
			return r.objects
		}, "auth"},
		{"MissingTriggerAuthentication", "deployment-keda", func(t *testing.T, r rendered) []check.Object {
			trigger(t, r, "vecron-execute-http")["authenticationRef"] = map[string]any{"name": "nats-auth"}
			return r.objects
		}, "auth"},
		{"CPUTrigger", "deployment-keda", func(t *testing.T, r rendered) []check.Object {
			trigger(t, r, "vecron-execute-http")["type"] = "cpu"
			return r.objects
		}, "trigger"},
		{"MinOne", "deployment-keda", func(t *testing.T, r rendered) []check.Object {
			so(t, r, "vecron-execute-http")["minReplicaCount"] = float64(1)
			return r.objects
		}, "replicas"},
		{"MaxNotTheValues", "deployment-keda", func(t *testing.T, r rendered) []check.Object {
			so(t, r, "vecron-execute-http")["maxReplicaCount"] = float64(10)
			return r.objects
		}, "replicas"},
		{"Cooldown", "deployment-keda", func(t *testing.T, r rendered) []check.Object {
			so(t, r, "vecron-execute-db")["cooldownPeriod"] = float64(30)
			return r.objects
		}, "replicas"},
		{"ScaleDownWindow", "deployment-keda", func(t *testing.T, r rendered) []check.Object {
			b := so(t, r, "vecron-execute-db")["advanced"].(map[string]any)["horizontalPodAutoscalerConfig"].(map[string]any)["behavior"].(map[string]any)
			b["scaleDown"].(map[string]any)["stabilizationWindowSeconds"] = float64(0)
			return r.objects
		}, "behavior"},
		{"TargetsTheTick", "deployment-keda", func(t *testing.T, r rendered) []check.Object {
			so(t, r, "vecron-execute-db")["scaleTargetRef"].(map[string]any)["name"] = "vecron-tick"
			return r.objects
		}, "target"},
		{"TargetsNothing", "deployment-keda", func(t *testing.T, r rendered) []check.Object {
			so(t, r, "vecron-execute-db")["scaleTargetRef"].(map[string]any)["name"] = "vecron-execute-sql"
			return r.objects
		}, "target"},
		{"ExecutorWithoutScaledObject", "deployment-keda", func(t *testing.T, r rendered) []check.Object {
			var out []check.Object
			for _, o := range r.objects {
				if o.Kind != "ScaledObject" || o.Name != "vecron-execute-db" {
					out = append(out, o)
				}
			}
			return out
		}, "keda"},
		{"ReplicasBesideKEDA", "deployment-keda", func(t *testing.T, r rendered) []check.Object {
			n := int32(2)
			find[*appsv1.Deployment](t, r, "apps/v1 Deployment", "vecron-execute-http").Spec.Replicas = &n
			return r.objects
		}, "keda"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := renderSet(t, sets[tc.set])
			fns := contract.Functions(r.values.NATSPrefix())
			require.NoError(t, check.CheckScaling(r.objects, fns, r.values.Scaling(), schemas), "the render passes unmutated")
			objs := tc.change(t, r)
			err := check.CheckScaling(objs, fns, r.values.Scaling(), schemas)
			require.Error(t, err)
			require.Contains(t, err.Error(), ": "+tc.rule+": ")
		})
	}
}

// TestCheckScalingRefusesKEDAOutsideItsMode: a ScaledObject rendered where executors do not
// pull (Knative) or run fixed replicas fails.
func TestCheckScalingRefusesKEDAOutsideItsMode(t *testing.T) {
	t.Parallel()
	r := renderSet(t, valueSets(t)["deployment-keda"])
	fns := contract.Functions(r.values.NATSPrefix())
	err := check.CheckScaling(r.objects, fns, nil, schemas)
	require.ErrorContains(t, err, "rendered outside KEDA mode")
}

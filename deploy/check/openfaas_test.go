package check_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/vecron/vecron/deploy/check"
	"github.com/vecron/vecron/functions/contract"
)

const (
	stackFile      = "../../eventing/openfaas/stack.yml"
	callbackFile   = "../../eventing/openfaas/callback-service.yaml"
	deadLetterFile = "../../eventing/openfaas/dead-letter-service.yaml"
)

// loadService decodes the one Service of file strictly.
func loadService(t *testing.T, file string) *corev1.Service {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	var svc corev1.Service
	require.NoError(t, yaml.UnmarshalStrict(b, &svc), file)
	require.Equal(t, "Service", svc.Kind, file)
	return &svc
}

// stackExpect returns what the stack's images and replicas must be: the chart's registry, the
// chart's appVersion as the tag, the chart's tick and api replicas, and the callback Service
// shipped beside the stack.
func stackExpect(t *testing.T) check.StackExpect {
	t.Helper()
	v, err := check.LoadValues(chart)
	require.NoError(t, err)
	return check.StackExpect{Registry: v.Image.Registry, Tag: v.Expect().Tag, TickReplicas: v.Tick.Replicas, APIReplicas: v.API.Replicas,
		Callback: loadService(t, callbackFile), DeadLetter: loadService(t, deadLetterFile), Namespace: "openfaas-fn"}
}

// TestOpenFaaSStack decodes eventing/openfaas/stack.yml strictly and holds it to the contract.
func TestOpenFaaSStack(t *testing.T) {
	t.Parallel()
	s, err := check.LoadStack(stackFile)
	require.NoError(t, err)
	require.NoError(t, check.CheckStack(s, contract.Functions(""), stackExpect(t)))
}

// TestOpenFaaSStackRefusals mutates the stack and requires each mutation to fail its rule, and
// the stack to pass unmutated.
func TestOpenFaaSStackRefusals(t *testing.T) {
	t.Parallel()
	fns := contract.Functions("")
	e := stackExpect(t)
	good, err := check.LoadStack(stackFile)
	require.NoError(t, err)
	// Names the binaries read, taken from the contract, so the cases stay valid as settings move.
	envOf := func(fn, key string) string {
		for _, f := range fns {
			if f.Image != fn {
				continue
			}
			for _, s := range f.Settings {
				if s.Key == key {
					return s.Env[0]
				}
			}
		}
		t.Fatalf("%s has no setting %s", fn, key)
		return ""
	}
	fnEdit := func(name string, edit func(f *check.StackFunction)) func(*check.Stack) {
		return func(s *check.Stack) {
			f := s.Functions[name]
			edit(&f)
			s.Functions[name] = f
		}
	}
	setEnv := func(name, env, value string) func(*check.Stack) {
		return fnEdit(name, func(f *check.StackFunction) { f.Environment[env] = value })
	}
	sinks := envOf("vecron-tick", "forward.sinks")
	// A mutation must break its rule anew: an error the unmutated stack already has (a name the
	// contract does not know yet) proves nothing.
	base := map[string]bool{}
	if err := check.CheckStack(cloneStack(t, good), fns, e); err != nil {
		for _, l := range strings.Split(err.Error(), "\n") {
			base[l] = true
		}
	}
	requireNew := func(t *testing.T, err error, rule string) {
		t.Helper()
		require.Error(t, err)
		for _, l := range strings.Split(err.Error(), "\n") {
			if !base[l] && strings.Contains(l, ": "+rule+": ") {
				return
			}
		}
		t.Fatalf("no new %s error in:\n%v", rule, err)
	}
	for _, c := range []struct {
		name, rule string
		mutate     func(*check.Stack)
	}{
		{"provider", "provider", func(s *check.Stack) { s.Provider.Name = "faas" }},
		{"a function missing", "function", func(s *check.Stack) { delete(s.Functions, "vecron-execute-db") }},
		{"a function the contract lacks", "function", func(s *check.Stack) { s.Functions["vecron-execute-ftp"] = s.Functions["vecron-execute-http"] }},
		{"image of another function", "image", fnEdit("vecron-execute-db", func(f *check.StackFunction) { f.Image = "ghcr.io/vecron/vecron-execute-http:0.1.0" })},
		{"image tag", "image", fnEdit("vecron-api", func(f *check.StackFunction) { f.Image = "ghcr.io/vecron/vecron-api:latest" })},
		{"built by faas-cli", "image", fnEdit("vecron-api", func(f *check.StackFunction) { f.Lang = "dockerfile"; f.Handler = "./api" })},
		{"writable root", "security", fnEdit("vecron-tick", func(f *check.StackFunction) { f.ReadOnlyRootFilesystem = false })},
		{"health path", "probes", fnEdit("vecron-execute-http", func(f *check.StackFunction) { f.Annotations[check.OpenFaaSHealthPath] = "/health" })},
		{"ready path missing", "probes", fnEdit("vecron-api", func(f *check.StackFunction) { delete(f.Annotations, check.OpenFaaSReadyPath) })},
		{"an env name no binary reads", "env", setEnv("vecron-api", "VECRON_AUTH__BOOTSTRAP_ADMN", "admin")},
		{"a tick setting on an executor", "env", setEnv("vecron-execute-http", envOf("vecron-tick", "forward.enabled"), "true")},
		{"a setting twice by two names", "env", setEnv("vecron-api", envOf("vecron-api", "database.url"), "postgres://vecron@db/vecron")},
		{"a misspelt name in the environment file", "env", func(s *check.Stack) { s.EnvFiles["connections.yml"]["DATABASE_URI"] = "postgres://x" }},
		{"a connection missing", "required", func(s *check.Stack) { delete(s.EnvFiles["connections.yml"], "REDIS_URL") }},
		{"the public port moved", "ports", setEnv("vecron-execute-db", envOf("vecron-execute-db", "port"), "9000")},
		{"a key file outside the secrets", "secrets", setEnv("vecron-api", envOf("vecron-api", "audit.keys_file"), "/etc/vecron/keys/audit-keys")},
		{"a key file of a secret not mounted", "secrets", fnEdit("vecron-api", func(f *check.StackFunction) {
			f.Secrets = []string{"vecron-secrets-keys", "vecron-signing-keys", "vecron-admin-password"}
		})},
		{"a secret nothing reads", "secrets", fnEdit("vecron-tick", func(f *check.StackFunction) { f.Secrets = []string{"vecron-signing-keys"} })},
		{"the tick scales", "scale", fnEdit("vecron-tick", func(f *check.StackFunction) { f.Labels[check.OpenFaaSScaleMax] = "10" })},
		{"the tick at one", "scale", fnEdit("vecron-tick", func(f *check.StackFunction) { f.Labels[check.OpenFaaSScaleMin] = "1" })},
		{"the api at zero", "scale", fnEdit("vecron-api", func(f *check.StackFunction) { f.Labels[check.OpenFaaSScaleMin] = "0" })},
		{"an executor pulling", "transport", setEnv("vecron-execute-db-oracle", envOf("vecron-execute-db-oracle", "transport"), "pull")},
		{"forwarding off", "forward", setEnv("vecron-tick", envOf("vecron-tick", "forward.enabled"), "false")},
		{"a kind without a sink", "forward", setEnv("vecron-tick", sinks, "http=http://gateway.openfaas:8080/async-function/vecron-execute-http")},
		{"the synchronous route", "forward", setEnv("vecron-tick", sinks,
			"http=http://gateway.openfaas:8080/function/vecron-execute-http,sql=http://gateway.openfaas:8080/async-function/vecron-execute-db")},
		{"sql fires to the http executor", "forward", setEnv("vecron-tick", sinks,
			"http=http://gateway.openfaas:8080/async-function/vecron-execute-http,sql=http://gateway.openfaas:8080/async-function/vecron-execute-http")},
		{"a sink to the api", "forward", setEnv("vecron-tick", sinks,
			"http=http://gateway.openfaas:8080/async-function/vecron-api,sql=http://gateway.openfaas:8080/async-function/vecron-execute-db")},
		{"a path the executor does not serve", "forward", setEnv("vecron-tick", sinks,
			"http=http://gateway.openfaas:8080/async-function/vecron-execute-http/run,sql=http://gateway.openfaas:8080/async-function/vecron-execute-db")},
		{"a kind the tick does not forward", "forward", setEnv("vecron-tick", sinks,
			"http=http://gateway.openfaas:8080/async-function/vecron-execute-http,sql=http://gateway.openfaas:8080/async-function/vecron-execute-db,ftp=http://gateway.openfaas:8080/async-function/vecron-execute-http")},
		{"a callback path the tick does not serve", "callback", setEnv("vecron-tick", envOf("vecron-tick", "forward.callback_url"),
			"http://vecron-tick-callback.openfaas-fn:8081/not-the-callback-path")},
		{"a callback Service in another namespace", "callback", setEnv("vecron-tick", envOf("vecron-tick", "forward.callback_url"),
			"http://vecron-tick-callback.elsewhere:8081/forward/callback")},
		{"no dead-letter sink", "dead-letter", func(s *check.Stack) {
			delete(s.Functions["vecron-tick"].Environment, envOf("vecron-tick", "forward.dead_letter_sink"))
		}},
		{"a dead-letter sink on the api's public route", "dead-letter", setEnv("vecron-tick", envOf("vecron-tick", "forward.dead_letter_sink"),
			"http://gateway.openfaas:8080/function/vecron-api/dead-letter")},
		{"a dead-letter sink at another path", "dead-letter", setEnv("vecron-tick", envOf("vecron-tick", "forward.dead_letter_sink"),
			"http://vecron-api-events.openfaas-fn:8082/events")},
		{"the api's internal listener off", "dead-letter", func(s *check.Stack) {
			delete(s.Functions["vecron-api"].Environment, envOf("vecron-api", "events.internal_port"))
			delete(s.Functions["vecron-api"].Environment, envOf("vecron-api", "events.internal_namespaces"))
		}},
		{"the api's internal listener elsewhere", "dead-letter", setEnv("vecron-api", envOf("vecron-api", "events.internal_port"), "8083")},
		{"a sink to a function not in the stack", "forward", func(s *check.Stack) {
			delete(s.Functions, "vecron-execute-db-oracle")
			s.Functions["vecron-tick"].Environment[sinks] = "http=http://gateway.openfaas:8080/async-function/vecron-execute-http,sql=http://gateway.openfaas:8080/async-function/vecron-execute-db-oracle"
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := cloneStack(t, good)
			c.mutate(&s)
			requireNew(t, check.CheckStack(s, fns, e), c.rule)
		})
	}

	// The callback's Service: it must select the tick's pods and reach the callback port that
	// the callback URL names.
	for _, c := range []struct {
		name   string
		mutate func(*corev1.Service)
	}{
		{"selects another function", func(svc *corev1.Service) { svc.Spec.Selector = map[string]string{check.OpenFaaSPodLabel: "vecron-api"} }},
		{"targets the public port", func(svc *corev1.Service) { svc.Spec.Ports[0].TargetPort.IntVal = 8080 }},
		{"not the URL's port", func(svc *corev1.Service) { svc.Spec.Ports[0].Port = 80 }},
		{"not the URL's Service", func(svc *corev1.Service) { svc.Name = "vecron-callback" }},
	} {
		t.Run("callback "+c.name, func(t *testing.T) {
			t.Parallel()
			e := e
			svc := e.Callback.DeepCopy()
			c.mutate(svc)
			e.Callback = svc
			requireNew(t, check.CheckStack(cloneStack(t, good), fns, e), "callback")
		})
	}
	for _, c := range []struct {
		name   string
		mutate func(*corev1.Service)
	}{
		{"selects another function", func(svc *corev1.Service) {
			svc.Spec.Selector = map[string]string{check.OpenFaaSPodLabel: "vecron-tick"}
		}},
		{"targets the public port", func(svc *corev1.Service) { svc.Spec.Ports[0].TargetPort.IntVal = 8080 }},
		{"not the URL's port", func(svc *corev1.Service) { svc.Spec.Ports[0].Port = 80 }},
		{"not the URL's Service", func(svc *corev1.Service) { svc.Name = "vecron-dead-letters" }},
	} {
		t.Run("dead-letter "+c.name, func(t *testing.T) {
			t.Parallel()
			e := e
			svc := e.DeadLetter.DeepCopy()
			c.mutate(svc)
			e.DeadLetter = svc
			requireNew(t, check.CheckStack(cloneStack(t, good), fns, e), "dead-letter")
		})
	}
	t.Run("dead-letter without its Service", func(t *testing.T) {
		t.Parallel()
		e := e
		e.DeadLetter = nil
		requireNew(t, check.CheckStack(cloneStack(t, good), fns, e), "dead-letter")
	})
	t.Run("callback without its Service", func(t *testing.T) {
		t.Parallel()
		e := e
		e.Callback = nil
		requireNew(t, check.CheckStack(cloneStack(t, good), fns, e), "callback")
	})
	t.Run("unmutated", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, check.CheckStack(cloneStack(t, good), fns, e))
	})
}

// cloneStack returns a deep copy of s, so that a case's mutation stays its own.
func cloneStack(t *testing.T, s check.Stack) check.Stack {
	t.Helper()
	b, err := yaml.Marshal(s)
	require.NoError(t, err)
	out, err := check.DecodeStack(b)
	require.NoError(t, err)
	out.EnvFiles = map[string]map[string]string{}
	for name, env := range s.EnvFiles {
		out.EnvFiles[name] = map[string]string{}
		for k, v := range env {
			out.EnvFiles[name][k] = v
		}
	}
	return out
}

// TestOpenFaaSStackDecodesStrictly requires a misspelt or unknown field of the stack, and a key
// given twice, to fail the decoding.
func TestOpenFaaSStackDecodesStrictly(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(stackFile)
	require.NoError(t, err)
	good := string(b)
	_, err = check.DecodeStack(b)
	require.NoError(t, err)
	for name, bad := range map[string]string{
		"misspelt environment":     strings.Replace(good, "    environment:\n      VECRON_TRANSPORT", "    enviroment:\n      VECRON_TRANSPORT", 1),
		"misspelt read-only root":  strings.Replace(good, "readonly_root_filesystem", "read_only_root_filesystem", 1),
		"unknown top-level field":  good + "\nservices: {}\n",
		"unknown resource field":   strings.Replace(good, "      memory: 64Mi\n", "      memory: 64Mi\n      gpu: 1\n", 1),
		"environment as a list":    strings.Replace(good, "      VECRON_TRANSPORT: push\n", "      - VECRON_TRANSPORT=push\n", 1),
		"duplicate key":            strings.Replace(good, "    skip_build: true\n", "    skip_build: true\n    skip_build: false\n", 1),
		"misspelt provider field":  strings.Replace(good, "  gateway: ", "  gateway_url: ", 1),
		"misspelt secrets of a fn": strings.Replace(good, "    secrets:\n", "    secret:\n", 1),
	} {
		require.NotEqual(t, good, bad, name)
		_, err := check.DecodeStack([]byte(bad))
		require.Error(t, err, name)
	}
}

// TestOpenFaaSNetworkPolicies: the two listeners that take posts without a user's credential are
// reachable only by their one caller — the tick's callback port by the queue-worker, the api's
// internal listener by the tick — on the ports the Services target, every other port as before.
func TestOpenFaaSNetworkPolicies(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../eventing/openfaas/networkpolicy.yaml")
	require.NoError(t, err)
	e := stackExpect(t)
	want := map[string]struct {
		svc  *corev1.Service
		from string
	}{
		"vecron-tick": {e.Callback, "queue-worker"},
		"vecron-api":  {e.DeadLetter, "vecron-tick"},
	}
	seen := map[string]bool{}
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var np networkingv1.NetworkPolicy
		require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &np))
		fn := np.Spec.PodSelector.MatchLabels[check.OpenFaaSPodLabel]
		w, ok := want[fn]
		require.True(t, ok, "%s selects %v", np.Name, np.Spec.PodSelector.MatchLabels)
		seen[fn] = true
		port := w.svc.Spec.Ports[0].TargetPort.IntVal
		require.Equal(t, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}, np.Spec.PolicyTypes, np.Name)
		require.Len(t, np.Spec.Ingress, 2, np.Name)
		guarded, rest := np.Spec.Ingress[0], np.Spec.Ingress[1]
		require.Len(t, guarded.Ports, 1, np.Name)
		require.Equal(t, port, guarded.Ports[0].Port.IntVal, "%s guards the port its Service targets", np.Name)
		require.Len(t, guarded.From, 1, np.Name)
		from := guarded.From[0].PodSelector.MatchLabels
		require.True(t, from["app"] == w.from || from[check.OpenFaaSPodLabel] == w.from, "%s: from %v, want %s", np.Name, from, w.from)
		require.Empty(t, rest.From, "%s: every other port as before", np.Name)
		require.Len(t, rest.Ports, 2, np.Name)
		require.Equal(t, port-1, *rest.Ports[0].EndPort, "%s: the ports below", np.Name)
		require.Equal(t, port+1, rest.Ports[1].Port.IntVal, "%s: the ports above", np.Name)
	}
	require.Len(t, seen, 2)
}

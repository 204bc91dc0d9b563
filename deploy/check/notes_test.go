package check_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/vecron/vecron/deploy/check"
)

// apiEnv returns the api's env in r by name.
func apiEnv(t *testing.T, r rendered) map[string]corev1.EnvVar {
	t.Helper()
	for _, w := range check.Workloads(r.objects) {
		if w.Function == "api" {
			out := map[string]corev1.EnvVar{}
			for _, e := range w.Pod.Containers[0].Env {
				out[e.Name] = e
			}
			return out
		}
	}
	t.Fatal("no api rendered")
	return nil
}

// TestAdminSecret: without admin.existingSecret and with database sign-in, the chart makes the
// first admin's password and hands it to the api as a file; with oidc alone it makes none.
func TestAdminSecret(t *testing.T) {
	t.Parallel()
	sets := valueSets(t)
	t.Run("Generated", func(t *testing.T) {
		t.Parallel()
		r := renderSet(t, sets["knative-default"])
		s := find[*corev1.Secret](t, r, "v1 Secret", "vecron-admin")
		require.Len(t, s.Data["password"], 32, "a random password of 32 characters")
		require.Equal(t, "keep", s.Annotations["helm.sh/resource-policy"],
			"uninstall keeps the Secret: the admin made with it survives in the database")
		env := apiEnv(t, r)
		require.Equal(t, "admin", env["VECRON_AUTH__BOOTSTRAP_ADMIN"].Value)
		require.Equal(t, "/etc/vecron/admin/password", env["VECRON_AUTH__BOOTSTRAP_PASSWORD_FILE"].Value)
		again := renderSet(t, sets["knative-default"])
		require.NotEqual(t, s.Data["password"], find[*corev1.Secret](t, again, "v1 Secret", "vecron-admin").Data["password"],
			"without a cluster to look up, each render makes a new one")
	})
	t.Run("Existing", func(t *testing.T) {
		t.Parallel()
		r := renderSet(t, sets["knative-affinity"])
		for _, o := range r.objects {
			require.NotEqual(t, "v1 Secret", o.APIVersion+" "+o.Kind, "admin.existingSecret is given")
		}
		require.Equal(t, "admin", apiEnv(t, r)["VECRON_AUTH__BOOTSTRAP_ADMIN"].Value)
	})
	t.Run("OIDCOnly", func(t *testing.T) {
		t.Parallel()
		r := renderSet(t, sets["knative-default"], writeValues(t, "settings:\n  api:\n    auth.modes: oidc"))
		for _, o := range r.objects {
			require.NotEqual(t, "v1 Secret", o.APIVersion+" "+o.Kind, "no password sign-in, no password")
		}
		require.NotContains(t, apiEnv(t, r), "VECRON_AUTH__BOOTSTRAP_ADMIN")
	})
}

// TestNotes: NOTES.txt says how to reach the api and how to sign in, per auth mode.
func TestNotes(t *testing.T) {
	t.Parallel()
	sets := valueSets(t)
	for _, tc := range []struct {
		name          string
		files         []string
		want, notWant []string
	}{
		{"GeneratedAdmin", []string{sets["knative-default"]},
			[]string{"kubectl get ksvc vecron-api", "kubectl get secret -n vecron-system vecron-admin -o jsonpath='{.data.password}' | base64 -d", `"admin"`},
			[]string{"Single sign-on", "scaledobject"}},
		{"ExistingAdmin", []string{sets["knative-affinity"]},
			[]string{"https://cron.example.com", "Secret\n  vecron-admin (key password)"},
			[]string{"kubectl get secret"}},
		{"PortForwardAndKEDA", []string{sets["deployment-keda"]},
			[]string{"kubectl port-forward -n vecron-system svc/vecron-api 8080", "kubectl get scaledobject"}, nil},
		{"OIDCOnly", []string{sets["deployment-no-keda"], writeValues(t, "settings:\n  all:\n    auth.modes: oidc")},
			[]string{"Single sign-on", "https://cron.example.com"},
			[]string{"first admin", "kubectl get secret"}},
		{"Both", []string{sets["deployment-no-keda"], writeValues(t, "settings:\n  api:\n    auth.modes: database,oidc")},
			[]string{"Single sign-on", "kubectl get secret"}, nil},
		{"Trial", []string{sets["trial"]},
			[]string{"NOT FOR PRODUCTION", "Secret\nvecron-trial"}, nil},
		{"KnativeEventing", []string{sets["knative-default"]},
			[]string{"forwards them to the Broker vecron-broker (NatsJetStreamBroker, made by this release)",
				"SinkBinding vecron-sink", "jobkind: http  ->  vecron-execute-http", "jobkind: sql  ->  vecron-execute-db",
				"internal /dead-letter (Service\nvecron-api-events)", "kubectl get broker,trigger,sinkbinding -n vecron-system -l app.kubernetes.io/instance=vecron",
				"vecron-broker-ingress in knative-eventing"},
			[]string{"does not yet render", "by hand", "Events of other systems"}},
		{"KnativeEventsTrigger", []string{sets["knative-events-trigger"]},
			[]string{"Broker vecron (yours: eventing.broker.create is false)", "Trigger vecron-api-events on your broker shop"}, nil},
		{"DeploymentNoEventing", []string{sets["deployment-keda"]}, nil, []string{"SinkBinding", "Broker"}},
		{"NoTrial", []string{sets["deployment-keda"]}, nil, []string{"NOT FOR PRODUCTION"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			notes, err := helm.Notes(t.Context(), chart, "vecron", "vecron-system", tc.files...)
			require.NoError(t, err)
			for _, w := range tc.want {
				require.Contains(t, notes, w)
			}
			for _, w := range tc.notWant {
				require.NotContains(t, notes, w)
			}
		})
	}
}

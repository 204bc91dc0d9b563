package check_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vecron/vecron/deploy/check"
)

// TestTrial: the bundled services take the place of every connection and key Secret not
// given, the functions' URLs and keys come from the generated Secret, and a connection given
// keeps its own.
func TestTrial(t *testing.T) {
	t.Parallel()
	sets := valueSets(t)
	t.Run("Bundled", func(t *testing.T) {
		t.Parallel()
		r := renderSet(t, sets["trial"])
		s := find[*corev1.Secret](t, r, "v1 Secret", "vecron-trial")
		require.Equal(t, "keep", s.Annotations["helm.sh/resource-policy"],
			"uninstall keeps the Secret: the PVCs survive it, and new passwords would not match their data")
		for _, k := range []string{"postgres-password", "redis-password", "nats-token"} {
			require.Len(t, s.Data[k], 32, "a random %s of 32 characters", k)
		}
		require.Contains(t, string(s.Data["redis.conf"]), "requirepass "+string(s.Data["redis-password"]))
		require.Contains(t, string(s.Data["nats.conf"]), `token: "`+string(s.Data["nats-token"])+`"`)
		require.Contains(t, string(s.Data["nats.conf"]), "jetstream")
		env := apiEnv(t, r)
		for name, key := range map[string]string{"DATABASE_URL": "database-url", "NATS_URL": "nats-url", "REDIS_URL": "redis-url"} {
			require.Equal(t, &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "vecron-trial"}, Key: key},
				env[name].ValueFrom.SecretKeyRef, name)
		}
		require.NoError(t, check.CheckTrial(r.objects, r.values.TrialServices()))
		again := renderSet(t, sets["trial"])
		require.NotEqual(t, s.Data["postgres-password"], find[*corev1.Secret](t, again, "v1 Secret", "vecron-trial").Data["postgres-password"],
			"without a cluster to look up, each render makes new ones")
	})
	t.Run("EmptyDirAndOwnDatabase", func(t *testing.T) {
		t.Parallel()
		r := renderSet(t, sets["trial"], writeValues(t, "trial:\n  persistence: false\ndatabase:\n  existingSecret: vecron-database\nsecrets:\n  existingSecret: vecron-keys"))
		trial := r.values.TrialServices()
		require.Equal(t, []string{"NATS_URL", "REDIS_URL"}, trial.Bundled)
		require.NoError(t, check.CheckTrial(r.objects, trial))
		require.Equal(t, "vecron-database", apiEnv(t, r)["DATABASE_URL"].ValueFrom.SecretKeyRef.Name)
		st := find[*appsv1.StatefulSet](t, r, "apps/v1 StatefulSet", "vecron-postgres")
		require.Empty(t, st.Spec.VolumeClaimTemplates)
		api := find[*appsv1.Deployment](t, r, "apps/v1 Deployment", "vecron-api")
		for _, v := range api.Spec.Template.Spec.Volumes {
			if v.Name == "keys" {
				require.Equal(t, "vecron-keys", v.Secret.SecretName)
			}
		}
	})
	t.Run("KnativeMode", func(t *testing.T) {
		t.Parallel()
		r := renderSet(t, sets["trial"], writeValues(t, "mode: knative\nevents:\n  internalPort: 8082\n  internalNamespaces: [default]"))
		require.NoError(t, check.CheckTrial(r.objects, r.values.TrialServices()))
	})
	t.Run("Off", func(t *testing.T) {
		t.Parallel()
		r := renderSet(t, sets["deployment-keda"])
		for _, o := range r.objects {
			require.NotEqual(t, "apps/v1 StatefulSet", o.APIVersion+" "+o.Kind)
			require.NotEqual(t, "vecron-trial", o.Name)
		}
	})
}

// TestCheckTrialRefuses: each rule of CheckTrial fails a trial render mutated to break it, and
// the render unmutated passes.
func TestCheckTrialRefuses(t *testing.T) {
	t.Parallel()
	set := valueSets(t)["trial"]
	sts := func(t *testing.T, r rendered, name string) *appsv1.StatefulSet {
		return find[*appsv1.StatefulSet](t, r, "apps/v1 StatefulSet", name)
	}
	np := func(t *testing.T, r rendered, name string) *networkingv1.NetworkPolicy {
		return find[*networkingv1.NetworkPolicy](t, r, "networking.k8s.io/v1 NetworkPolicy", name)
	}
	secretURL := func(t *testing.T, r rendered, key string, edit func(string) string) {
		s := find[*corev1.Secret](t, r, "v1 Secret", "vecron-trial")
		s.Data[key] = []byte(edit(string(s.Data[key])))
	}
	container := func(t *testing.T, r rendered, name string) *corev1.Container {
		return &sts(t, r, name).Spec.Template.Spec.Containers[0]
	}
	yes, no := true, false
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, r rendered) *check.Trial
		rule   string
	}{
		{"Latest", func(t *testing.T, r rendered) *check.Trial {
			container(t, r, "vecron-redis").Image = "docker.io/library/redis:latest"
			return r.values.TrialServices()
		}, "image"},
		{"NoTag", func(t *testing.T, r rendered) *check.Trial {
			container(t, r, "vecron-postgres").Image = "docker.io/library/postgres"
			return r.values.TrialServices()
		}, "image"},
		{"BareMajor", func(t *testing.T, r rendered) *check.Trial {
			container(t, r, "vecron-postgres").Image = "docker.io/library/postgres:17"
			return r.values.TrialServices()
		}, "image"},
		{"NotOfficial", func(t *testing.T, r rendered) *check.Trial {
			container(t, r, "vecron-nats").Image = "docker.io/someone/nats:2.12.1"
			return r.values.TrialServices()
		}, "image"},
		{"PrivilegeEscalation", func(t *testing.T, r rendered) *check.Trial {
			container(t, r, "vecron-nats").SecurityContext.AllowPrivilegeEscalation = &yes
			return r.values.TrialServices()
		}, "security"},
		{"Root", func(t *testing.T, r rendered) *check.Trial {
			container(t, r, "vecron-postgres").SecurityContext.RunAsNonRoot = &no
			return r.values.TrialServices()
		}, "security"},
		{"WritableRoot", func(t *testing.T, r rendered) *check.Trial {
			container(t, r, "vecron-redis").SecurityContext.ReadOnlyRootFilesystem = nil
			return r.values.TrialServices()
		}, "security"},
		{"Capabilities", func(t *testing.T, r rendered) *check.Trial {
			container(t, r, "vecron-redis").SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN"}
			return r.values.TrialServices()
		}, "security"},
		{"TokenMounted", func(t *testing.T, r rendered) *check.Trial {
			sts(t, r, "vecron-redis").Spec.Template.Spec.AutomountServiceAccountToken = nil
			return r.values.TrialServices()
		}, "security"},
		{"TwoReplicas", func(t *testing.T, r rendered) *check.Trial {
			two := int32(2)
			sts(t, r, "vecron-postgres").Spec.Replicas = &two
			return r.values.TrialServices()
		}, "replicas"},
		{"NoNotice", func(t *testing.T, r rendered) *check.Trial {
			delete(sts(t, r, "vecron-nats").Annotations, check.TrialAnnotation)
			return r.values.TrialServices()
		}, "notice"},
		{"EmptyDirAskedForClaim", func(t *testing.T, r rendered) *check.Trial {
			tr := r.values.TrialServices()
			tr.Persistence = false
			return tr
		}, "persistence"},
		{"PasswordInArgs", func(t *testing.T, r rendered) *check.Trial {
			s := find[*corev1.Secret](t, r, "v1 Secret", "vecron-trial")
			c := container(t, r, "vecron-redis")
			c.Args = append(c.Args, "--requirepass", string(s.Data["redis-password"]))
			return r.values.TrialServices()
		}, "secret"},
		{"PasswordAsEnv", func(t *testing.T, r rendered) *check.Trial {
			s := find[*corev1.Secret](t, r, "v1 Secret", "vecron-trial")
			c := container(t, r, "vecron-postgres")
			c.Env = append(c.Env, corev1.EnvVar{Name: "PGPASSWORD", Value: string(s.Data["postgres-password"])})
			return r.values.TrialServices()
		}, "secret"},
		{"URLToAnotherHost", func(t *testing.T, r rendered) *check.Trial {
			secretURL(t, r, "database-url", func(u string) string {
				return strings.Replace(u, "vecron-postgres.vecron-system.svc", "db.example.com", 1)
			})
			return r.values.TrialServices()
		}, "url"},
		{"URLToAnotherNamespace", func(t *testing.T, r rendered) *check.Trial {
			secretURL(t, r, "nats-url", func(u string) string { return strings.Replace(u, "vecron-system", "other", 1) })
			return r.values.TrialServices()
		}, "url"},
		{"URLToTheWrongService", func(t *testing.T, r rendered) *check.Trial {
			secretURL(t, r, "redis-url", func(u string) string { return strings.Replace(u, "vecron-redis", "vecron-nats", 1) })
			return r.values.TrialServices()
		}, "url"},
		{"URLToTheWrongPort", func(t *testing.T, r rendered) *check.Trial {
			secretURL(t, r, "redis-url", func(u string) string { return strings.Replace(u, ":6379", ":6380", 1) })
			return r.values.TrialServices()
		}, "url"},
		{"URLMissing", func(t *testing.T, r rendered) *check.Trial {
			delete(find[*corev1.Secret](t, r, "v1 Secret", "vecron-trial").Data, "nats-url")
			return r.values.TrialServices()
		}, "url"},
		{"URLLiteral", func(t *testing.T, r rendered) *check.Trial {
			c := &find[*appsv1.Deployment](t, r, "apps/v1 Deployment", "vecron-tick").Spec.Template.Spec.Containers[0]
			for i := range c.Env {
				if c.Env[i].Name == "REDIS_URL" {
					c.Env[i] = corev1.EnvVar{Name: "REDIS_URL", Value: "redis://vecron-redis:6379"}
				}
			}
			return r.values.TrialServices()
		}, "url"},
		{"ShortKey", func(t *testing.T, r rendered) *check.Trial {
			s := find[*corev1.Secret](t, r, "v1 Secret", "vecron-trial")
			s.Data["audit-keys"] = []byte("trial-1:" + base64.StdEncoding.EncodeToString(make([]byte, 16)) + "\n")
			return r.values.TrialServices()
		}, "keys"},
		{"OpenToEveryNamespace", func(t *testing.T, r rendered) *check.Trial {
			p := np(t, r, "vecron-postgres")
			p.Spec.Ingress[0].From = append(p.Spec.Ingress[0].From, networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{}})
			return r.values.TrialServices()
		}, "exposure"},
		{"OpenToAll", func(t *testing.T, r rendered) *check.Trial {
			p := np(t, r, "vecron-redis")
			p.Spec.Ingress = append(p.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{})
			return r.values.TrialServices()
		}, "exposure"},
		{"OpenToEveryPod", func(t *testing.T, r rendered) *check.Trial {
			p := np(t, r, "vecron-nats")
			p.Spec.Ingress[0].From[0].PodSelector = &metav1.LabelSelector{}
			return r.values.TrialServices()
		}, "exposure"},
		{"ReachesOut", func(t *testing.T, r rendered) *check.Trial {
			p := np(t, r, "vecron-nats")
			p.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{}}
			return r.values.TrialServices()
		}, "egress"},
		{"NoPolicy", func(t *testing.T, r rendered) *check.Trial {
			np(t, r, "vecron-redis").Spec.PodSelector = metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "none"}}
			return r.values.TrialServices()
		}, "network"},
		{"Off", func(t *testing.T, r rendered) *check.Trial {
			return nil
		}, "trial"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := renderSet(t, set)
			require.NoError(t, check.CheckTrial(r.objects, r.values.TrialServices()), "unmutated")
			err := check.CheckTrial(r.objects, tc.change(t, r))
			require.Error(t, err)
			require.Contains(t, err.Error(), ": "+tc.rule+": ")
			for _, s := range []string{"postgres-password", "redis-password", "nats-token"} {
				pw := find[*corev1.Secret](t, r, "v1 Secret", "vecron-trial").Data[s]
				require.NotContains(t, err.Error(), string(pw), "an error never holds a password")
			}
		})
	}
}

// TestTrialSchemaRefuses: the schema refuses an unpinned image and misspelt trial values.
func TestTrialSchemaRefuses(t *testing.T) {
	t.Parallel()
	base := valueSets(t)["trial"]
	for _, tc := range []struct{ name, values, want string }{
		{"Latest", "trial:\n  redis:\n    image: docker.io/library/redis:latest", "image"},
		{"BareMajor", "trial:\n  postgres:\n    image: postgres:17", "image"},
		{"NoTag", "trial:\n  nats:\n    image: docker.io/library/nats", "image"},
		{"Digest", "trial:\n  nats:\n    image: docker.io/library/nats@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "image"},
		{"Misspelt", "trial:\n  persistance: false", "persistance"},
		{"UnknownService", "trial:\n  mysql:\n    image: docker.io/library/mysql:8.4", "mysql"},
		{"NoConnectionsWithoutTrial", "trial:\n  enabled: false\nkeda:\n  enabled: false", "or trial.enabled for a first look"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bad := filepath.Join(t.TempDir(), "bad.yaml")
			require.NoError(t, os.WriteFile(bad, []byte(tc.values+"\n"), 0o600))
			_, err := helm.Template(t.Context(), chart, "vecron", "vecron-system", base, bad)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

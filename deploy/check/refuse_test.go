package check_test

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/vecron/vecron/deploy/check"
	"github.com/vecron/vecron/deploy/render"
	"github.com/vecron/vecron/functions/contract"
)

// manifest returns the rendered manifest of kind named name.
func manifest(t *testing.T, r rendered, kind, name string) render.Manifest {
	t.Helper()
	for i, o := range r.objects {
		if o.APIVersion+" "+o.Kind == kind && o.Name == name {
			return r.manifests[i]
		}
	}
	t.Fatalf("no %s %q rendered", kind, name)
	return render.Manifest{}
}

// mutate returns m with change applied to its decoded form.
func mutate(t *testing.T, m render.Manifest, change func(map[string]any)) render.Manifest {
	t.Helper()
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(m.Body, &doc))
	change(doc)
	b, err := yaml.Marshal(doc)
	require.NoError(t, err)
	return render.Manifest{Source: m.Source, Body: b}
}

// at returns the map at path in doc; a number in path indexes a list.
func at(doc map[string]any, path ...string) map[string]any {
	var cur any = doc
	for _, p := range path {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			i := 0
			for _, r := range p {
				i = i*10 + int(r-'0')
			}
			cur = c[i]
		}
	}
	return cur.(map[string]any)
}

// TestDecodeRefuses: each rule of Decode fails a manifest mutated to break it, and the same
// manifest unmutated passes — so the positive runs of TestValueSets prove something.
func TestDecodeRefuses(t *testing.T) {
	t.Parallel()
	sets := valueSets(t)
	kn := renderSet(t, sets["knative-default"])
	aff := renderSet(t, sets["knative-affinity"])
	dep := renderSet(t, sets["deployment-no-keda"])
	keda := renderSet(t, sets["deployment-keda"])
	podSpec := []string{"spec", "template", "spec"}
	container := append(podSpec, "containers", "0")
	for _, tc := range []struct {
		name    string
		m       render.Manifest
		cluster check.Cluster
		change  func(map[string]any)
		want    string
	}{
		{name: "UnknownFieldInDeployment", m: manifest(t, dep, "apps/v1 Deployment", "vecron-tick"),
			change: func(d map[string]any) { at(d, container...)["imagePullPolicyy"] = "Always" }, want: "unknown field"},
		{name: "UnknownFieldInService", m: manifest(t, dep, "v1 Service", "vecron-api"),
			change: func(d map[string]any) { at(d, "spec")["portss"] = []any{} }, want: "unknown field"},
		{name: "UnknownFieldInKnativeService", m: manifest(t, kn, "serving.knative.dev/v1 Service", "vecron-execute-http"),
			change: func(d map[string]any) { at(d, podSpec...)["containerConcurency"] = 10 }, want: "unknown field"},
		{name: "UnknownFieldInCustomResource", m: manifest(t, kn, "monitoring.coreos.com/v1 PodMonitor", "vecron"),
			change: func(d map[string]any) { d["specs"] = map[string]any{} }, want: "unknown field"},
		{name: "PodMonitorSpecAgainstItsCRD", m: manifest(t, kn, "monitoring.coreos.com/v1 PodMonitor", "vecron"),
			change: func(d map[string]any) { at(d, "spec", "podMetricsEndpoints", "0")["portNumbr"] = 9464 }, want: "spec.podMetricsEndpoints[0].portNumbr"},
		{name: "PodMonitorTypeAgainstItsCRD", m: manifest(t, kn, "monitoring.coreos.com/v1 PodMonitor", "vecron"),
			change: func(d map[string]any) { at(d, "spec", "podMetricsEndpoints", "0")["honorLabels"] = "yes" }, want: "honorLabels"},
		{name: "ServiceMonitorSpecAgainstItsCRD", m: manifest(t, dep, "monitoring.coreos.com/v1 ServiceMonitor", "vecron"),
			change: func(d map[string]any) { at(d, "spec")["endpoint"] = []any{} }, want: "spec.endpoint"},
		{name: "PrometheusRuleSpecAgainstItsCRD", m: manifest(t, kn, "monitoring.coreos.com/v1 PrometheusRule", "vecron"),
			change: func(d map[string]any) { at(d, "spec", "groups", "0", "rules", "0")["fore"] = "5m" }, want: "spec.groups[0].rules[0].fore"},
		{name: "PrometheusRuleWithoutGroupName", m: manifest(t, kn, "monitoring.coreos.com/v1 PrometheusRule", "vecron"),
			change: func(d map[string]any) { delete(at(d, "spec", "groups", "0"), "name") }, want: "spec.groups[0].name"},
		{name: "ScaledObjectAgainstItsCRD", m: manifest(t, keda, "keda.sh/v1alpha1 ScaledObject", "vecron-execute-http"),
			change: func(d map[string]any) { at(d, "spec")["minReplicaCount"] = "0" }, want: "spec.minReplicaCount"},
		{name: "ScaledObjectHPAPolicy", m: manifest(t, keda, "keda.sh/v1alpha1 ScaledObject", "vecron-execute-http"),
			change: func(d map[string]any) {
				at(d, "spec", "advanced", "horizontalPodAutoscalerConfig", "behavior", "scaleUp", "policies", "0")["periodSecond"] = 15
			}, want: "periodSecond"},
		{name: "ScaledObjectTriggerKey", m: manifest(t, keda, "keda.sh/v1alpha1 ScaledObject", "vecron-execute-db"),
			change: func(d map[string]any) { at(d, "spec", "triggers", "0", "metadata")["lagthreshold"] = "32" }, want: "spec.triggers[0].metadata.lagthreshold"},
		{name: "NetworkPolicyUnknownField", m: manifest(t, keda, "networking.k8s.io/v1 NetworkPolicy", "vecron-keda-nats-monitoring"),
			change: func(d map[string]any) { at(d, "spec")["ingres"] = []any{} }, want: "unknown field"},
		{name: "UnknownFieldInConfigMap", m: manifest(t, kn, "v1 ConfigMap", "vecron-grafana-dashboard"),
			change: func(d map[string]any) { at(d, "metadata")["label"] = map[string]any{} }, want: "unknown field"},
		{name: "UnknownKind", m: manifest(t, dep, "apps/v1 Deployment", "vecron-tick"),
			change: func(d map[string]any) { d["kind"] = "DaemonSet" }, want: "unknown kind"},
		{name: "UnknownVersion", m: manifest(t, kn, "serving.knative.dev/v1 Service", "vecron-api"),
			change: func(d map[string]any) { d["apiVersion"] = "serving.knative.dev/v1beta1" }, want: "unknown kind"},
		{name: "NoName", m: manifest(t, dep, "v1 Service", "vecron-api"),
			change: func(d map[string]any) { delete(at(d, "metadata"), "name") }, want: "metadata.name"},
		{name: "NameNotADNSLabel", m: manifest(t, dep, "v1 Service", "vecron-api"),
			change: func(d map[string]any) { at(d, "metadata")["name"] = "vecron.api" }, want: "metadata.name"},
		{name: "NameNotADNSSubdomain", m: manifest(t, dep, "apps/v1 Deployment", "vecron-api"),
			change: func(d map[string]any) { at(d, "metadata")["name"] = "Vecron_API" }, want: "metadata.name"},
		{name: "LabelValue", m: manifest(t, kn, "v1 ConfigMap", "vecron-grafana-dashboard"),
			change: func(d map[string]any) { at(d, "metadata", "labels")["app.kubernetes.io/version"] = "1.0 beta" }, want: "metadata.labels"},
		{name: "PodTemplateLabel", m: manifest(t, kn, "serving.knative.dev/v1 Service", "vecron-tick"),
			change: func(d map[string]any) {
				at(d, "spec", "template", "metadata", "labels")[check.ComponentLabel] = strings.Repeat("x", 64)
			}, want: "spec.template.metadata.labels"},
		{name: "NamespaceSet", m: manifest(t, kn, "v1 ConfigMap", "vecron-grafana-dashboard"),
			change: func(d map[string]any) { at(d, "metadata")["namespace"] = "kube-system" }, want: "metadata.namespace"},
		{name: "AffinityWithoutTheFlag", m: manifest(t, aff, "serving.knative.dev/v1 Service", "vecron-tick"),
			cluster: check.Cluster{AllowZeroInitialScale: true}, want: "affinity"},
		{name: "TopologySpreadWithoutTheFlag", m: manifest(t, aff, "serving.knative.dev/v1 Service", "vecron-tick"),
			cluster: check.Cluster{PodSpecAffinity: true, AllowZeroInitialScale: true}, want: "topologySpreadConstraints"},
		{name: "PodDisruptionBudgetUnknownField", m: manifest(t, dep, "policy/v1 PodDisruptionBudget", "vecron-tick"),
			change: func(d map[string]any) { at(d, "spec")["maxUnavailabe"] = 1 }, want: "unknown field"},
		{name: "ZeroInitialScaleWithoutTheFlag", m: manifest(t, aff, "serving.knative.dev/v1 Service", "vecron-execute-http"),
			cluster: check.Cluster{PodSpecAffinity: true}, want: "initial-scale"},
		{name: "ConcurrencyOverServingsLimit", m: manifest(t, kn, "serving.knative.dev/v1 Service", "vecron-execute-http"),
			change: func(d map[string]any) { at(d, podSpec...)["containerConcurrency"] = 5000 }, want: "containerConcurrency"},
		{name: "PodSecurityContextWithoutTheFlag", m: manifest(t, kn, "serving.knative.dev/v1 Service", "vecron-api"),
			change: func(d map[string]any) { at(d, podSpec...)["securityContext"] = map[string]any{"fsGroup": 65532} }, want: "securityContext"},
		{name: "TwoPortsOnAKnativeService", m: manifest(t, kn, "serving.knative.dev/v1 Service", "vecron-api"),
			change: func(d map[string]any) {
				c := at(d, container...)
				c["ports"] = append(c["ports"].([]any), map[string]any{"name": "metrics", "containerPort": 9464})
			}, want: "ports"},
		{name: "ScaleBoundsCrossed", m: manifest(t, kn, "serving.knative.dev/v1 Service", "vecron-api"),
			change: func(d map[string]any) {
				at(d, "spec", "template", "metadata", "annotations")["autoscaling.knative.dev/min-scale"] = "20"
			}, want: "min-scale"},
		{name: "ReservedEnv", m: manifest(t, kn, "serving.knative.dev/v1 Service", "vecron-tick"),
			change: func(d map[string]any) {
				c := at(d, container...)
				c["env"] = append(c["env"].([]any), map[string]any{"name": "PORT", "value": "9000"})
			}, want: "PORT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cluster := tc.cluster
			cluster.CRDs = schemas
			if tc.change == nil {
				_, err := check.Decode(tc.m, check.Cluster{PodSpecAffinity: true, PodSpecTopologySpread: true, AllowZeroInitialScale: true, CRDs: schemas})
				require.NoError(t, err, "the manifest passes on the cluster it was rendered for")
			} else {
				_, err := check.Decode(tc.m, cluster)
				require.NoError(t, err, "the unmutated manifest passes")
				tc.m = mutate(t, tc.m, tc.change)
			}
			_, err := check.Decode(tc.m, cluster)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestDecodeRefusesDuplicateKeys: a key written twice (the second silently winning in a
// lenient decoder) fails.
func TestDecodeRefusesDuplicateKeys(t *testing.T) {
	t.Parallel()
	m := render.Manifest{Source: "test", Body: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: \"1\"\n  x: \"2\"\n")}
	_, err := check.Decode(m, check.Cluster{})
	require.ErrorContains(t, err, "already set")
}

// TestDecodeNeedsTheCRDs: a custom resource is never passed unvalidated for want of its schemas.
func TestDecodeNeedsTheCRDs(t *testing.T) {
	t.Parallel()
	kn := renderSet(t, valueSets(t)["knative-default"])
	_, err := check.Decode(manifest(t, kn, "monitoring.coreos.com/v1 PodMonitor", "vecron"), check.Cluster{})
	require.ErrorContains(t, err, "no CRD schemas")
}

// TestCheckWorkloadRefuses: each contract rule fails a workload mutated to break it.
func TestCheckWorkloadRefuses(t *testing.T) {
	t.Parallel()
	sets := valueSets(t)
	fns := contract.Functions("")
	type mutation struct {
		name   string
		fn     string
		change func(w *check.Workload)
		rule   string
	}
	c0 := func(w *check.Workload) *corev1.Container { return &w.Pod.Containers[0] }
	setEnv := func(w *check.Workload, name, value string) {
		c := c0(w)
		for i := range c.Env {
			if c.Env[i].Name == name {
				c.Env[i].Value = value
				return
			}
		}
		c.Env = append(c.Env, corev1.EnvVar{Name: name, Value: value})
	}
	dropEnv := func(w *check.Workload, name string) {
		c := c0(w)
		for i := range c.Env {
			if c.Env[i].Name == name {
				c.Env = append(c.Env[:i], c.Env[i+1:]...)
				return
			}
		}
	}
	dropMount := func(w *check.Workload, name string) {
		c := c0(w)
		c.VolumeMounts = slices.DeleteFunc(slices.Clone(c.VolumeMounts), func(m corev1.VolumeMount) bool { return m.Name == name })
	}
	common := []mutation{
		{"Registry", "api", func(w *check.Workload) {
			c0(w).Image = strings.Replace(c0(w).Image, "ghcr.io/vecron", "docker.io/vecron", 1)
		}, "image"},
		{"ImageName", "execute-http", func(w *check.Workload) {
			c0(w).Image = strings.Replace(c0(w).Image, "vecron-execute-http", "vecron-executor", 1)
		}, "image"},
		{"ImageOfAnotherFunction", "tick", func(w *check.Workload) { c0(w).Image = strings.Replace(c0(w).Image, "vecron-tick", "vecron-api", 1) }, "image"},
		{"ReadinessPath", "tick", func(w *check.Workload) { c0(w).ReadinessProbe.HTTPGet.Path = "/healthz" }, "probes"},
		{"LivenessPath", "api", func(w *check.Workload) { c0(w).LivenessProbe.HTTPGet.Path = "/live" }, "probes"},
		{"NoReadiness", "execute-db", func(w *check.Workload) { c0(w).ReadinessProbe = nil }, "probes"},
		{"UnknownSetting", "tick", func(w *check.Workload) { setEnv(w, "VECRON_TICK__BATCHSIZE", "10") }, "env"},
		{"AnotherFunctionsSetting", "tick", func(w *check.Workload) { setEnv(w, "VECRON_PULL__CONCURRENCY", "10") }, "env"},
		{"EnvTwice", "api", func(w *check.Workload) { c0(w).Env = append(c0(w).Env, c0(w).Env[0]) }, "env"},
		{"RequiredMissing", "execute-db", func(w *check.Workload) { dropEnv(w, "DATABASE_URL") }, "required"},
		{"RequiredEmpty", "tick", func(w *check.Workload) {
			dropEnv(w, "REDIS_URL")
			setEnv(w, "REDIS_URL", "")
		}, "required"},
		{"NoTransport", "execute-http", func(w *check.Workload) { dropEnv(w, "VECRON_TRANSPORT") }, "transport"},
		{"Writable", "tick", func(w *check.Workload) { *c0(w).SecurityContext.ReadOnlyRootFilesystem = false }, "security"},
		{"Root", "api", func(w *check.Workload) { *c0(w).SecurityContext.RunAsUser = 0 }, "security"},
		{"Capabilities", "execute-db", func(w *check.Workload) { c0(w).SecurityContext.Capabilities.Drop = nil }, "security"},
		{"Escalation", "execute-http", func(w *check.Workload) { c0(w).SecurityContext.AllowPrivilegeEscalation = nil }, "security"},
		{"NoSecurityContext", "tick", func(w *check.Workload) { c0(w).SecurityContext = nil }, "security"},
		{"ServiceAccountToken", "api", func(w *check.Workload) { w.Pod.AutomountServiceAccountToken = nil }, "security"},
		{"ContainerName", "api", func(w *check.Workload) { c0(w).Name = "server" }, "function"},
		{"UnknownFunction", "api", func(w *check.Workload) { w.Function = "scheduler" }, "function"},
		{"Sidecar", "tick", func(w *check.Workload) { w.Pod.Containers = append(w.Pod.Containers, *c0(w)) }, "function"},
	}
	for _, set := range []struct {
		name      string
		mutations []mutation
	}{
		{"knative-default", append(common,
			mutation{"TransportPull", "execute-db", func(w *check.Workload) { setEnv(w, "VECRON_TRANSPORT", "pull") }, "transport"},
			mutation{"PlatformsPort", "tick", func(w *check.Workload) { setEnv(w, "PORT", "8080") }, "env"},
			mutation{"ServingPort", "api", func(w *check.Workload) { c0(w).Ports[0].ContainerPort = 8000 }, "ports"},
			mutation{"ProbeNamesAPort", "tick", func(w *check.Workload) { c0(w).ReadinessProbe.HTTPGet.Port = intstr.FromInt32(9464) }, "probes"},
		)},
		{"deployment-no-keda", append(common,
			mutation{"TransportPush", "execute-http", func(w *check.Workload) { setEnv(w, "VECRON_TRANSPORT", "push") }, "transport"},
			mutation{"HTTPPort", "tick", func(w *check.Workload) { c0(w).Ports[0].ContainerPort = 8000 }, "ports"},
			mutation{"MetricsPort", "api", func(w *check.Workload) { c0(w).Ports[1].ContainerPort = 9090 }, "ports"},
			mutation{"UnknownPort", "execute-db", func(w *check.Workload) {
				c0(w).Ports = append(c0(w).Ports, corev1.ContainerPort{Name: "grpc", ContainerPort: 9000})
			}, "ports"},
			mutation{"ProbeByNumber", "api", func(w *check.Workload) { c0(w).LivenessProbe.HTTPGet.Port = intstr.FromInt32(8080) }, "probes"},
			mutation{"MetricsMovedWithoutTheSetting", "tick", func(w *check.Workload) {}, "ports"},
			mutation{"DatabaseCertificateNotMounted", "api", func(w *check.Workload) { dropMount(w, "postgres-tls") }, "files"},
		)},
		{"external-tls", []mutation{
			mutation{"FileNotInTheItems", "execute-http", func(w *check.Workload) {
				setEnv(w, "VECRON_NATS__TLS__CA_FILE", "/etc/vecron/tls/nats/ca.pem")
			}, "files"},
			mutation{"MountDropped", "tick", func(w *check.Workload) { dropMount(w, "redis-tls") }, "files"},
			mutation{"RelativePath", "api", func(w *check.Workload) { setEnv(w, "VECRON_NATS__CREDS_FILE", "user.creds") }, "files"},
			mutation{"OutsideTheMount", "execute-db", func(w *check.Workload) {
				setEnv(w, "VECRON_NATS__CREDS_FILE", "/etc/vecron/nats/../keys/secrets-keys/user.creds")
			}, "files"},
			mutation{"NotASecret", "api", func(w *check.Workload) {
				for i := range w.Pod.Volumes {
					if w.Pod.Volumes[i].Name == "nats-credentials" {
						w.Pod.Volumes[i].VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
					}
				}
			}, "files"},
			mutation{"AdminPasswordElsewhere", "api", func(w *check.Workload) {
				setEnv(w, "VECRON_AUTH__BOOTSTRAP_PASSWORD_FILE", "/etc/vecron/admin/first-admin")
			}, "files"},
		}},
	} {
		r := renderSet(t, sets[set.name])
		ws := map[string]check.Workload{}
		for _, w := range check.Workloads(r.objects) {
			ws[w.Function] = w
		}
		for _, m := range set.mutations {
			t.Run(set.name+"/"+m.name, func(t *testing.T) {
				t.Parallel()
				w, ok := ws[m.fn]
				require.True(t, ok, "%s rendered", m.fn)
				e := r.values.Expect()
				require.NoError(t, check.CheckWorkload(w, fns, e), "the unmutated workload passes")
				w.Pod = *w.Pod.DeepCopy()
				w.Annotations = nil
				m.change(&w)
				if m.name == "MetricsMovedWithoutTheSetting" {
					e.MetricsPort = 9090
					c0(&w).Ports[1].ContainerPort = 9090
				}
				err := check.CheckWorkload(w, fns, e)
				require.Error(t, err)
				require.Contains(t, err.Error(), ": "+m.rule+": ")
			})
		}
	}
}

// TestSchemaRefuses: values.schema.json refuses a misspelt or misplaced value, a secret passed
// as a setting and an impossible combination, and the templates refuse a value set without
// what every function needs; each error names the value.
func TestSchemaRefuses(t *testing.T) {
	t.Parallel()
	base := valueSets(t)["knative-default"]
	for _, tc := range []struct{ name, values, want string }{
		{"UnknownTopLevel", "replicas: 3", "replicas"},
		{"Misspelt", "tick:\n  replica: 3", "replica"},
		{"OracleOnHTTP", "executors:\n  http:\n    oracle: true", "oracle"},
		{"Mode", "mode: serverless", "mode"},
		{"ConnectionAsSetting", "settings:\n  all:\n    database.url: postgres://u:p@db/vecron", "database.url"},
		{"SecretAsSetting", "settings:\n  api:\n    auth.oidc_login.client_secret: s3cret", "client_secret"},
		{"OTelHeadersAsSetting", "settings:\n  all:\n    otel.headers: x-api-key=s3cret", "otel.headers"},
		{"ForwardSinkAsSetting", "settings:\n  tick:\n    forward.sink: https://u:p@broker", "forward.sink"},
		{"ForwardSinksAsSetting", "settings:\n  tick:\n    forward.sinks: https://broker", "forward.sinks"},
		{"DeadLetterSinkAsSetting", "settings:\n  tick:\n    forward.dead_letter_sink: https://dl", "forward.dead_letter_sink"},
		{"EventsSinkAsSetting", "settings:\n  api:\n    events.sink: https://broker", "events.sink"},
		{"AuditSinkAsSetting", "settings:\n  all:\n    audit.sink: https://audit", "audit.sink"},
		{"DatabasePasswordInURL", "database:\n  existingSecret: \"\"\n  url: postgres://vecron:s3cret@db:5432/vecron", "/database/url"},
		{"DatabasePasswordInQuery", "database:\n  existingSecret: \"\"\n  url: postgres://vecron@db:5432/vecron?sslmode=require&password=s3cret", "/database/url"},
		{"RedisPasswordInURL", "redis:\n  existingSecret: \"\"\n  url: redis://:s3cret@redis:6379/0", "/redis/url"},
		{"NATSUserPasswordInURL", "nats:\n  existingSecret: \"\"\n  url: nats://vecron:s3cret@nats:4222", "/nats/url"},
		{"NATSTokenInURL", "nats:\n  existingSecret: \"\"\n  url: nats://s3cret@nats:4222", "/nats/url"},
		{"ChartsSettingAsSetting", "settings:\n  executor:\n    transport: pull", "transport"},
		{"InternalEventsOnAnAPIAtZero", "events:\n  internalPort: 8081\napi:\n  minScale: 0", "minScale"},
		{"InternalEventsOnThePublicPort", "events:\n  internalPort: 8080", "internalPort"},
		{"IngressWithoutHost", "ingress:\n  enabled: true", "host"},
		{"Digest", "image:\n  digests:\n    api: latest", "digests"},
		{"DigestOfNoFunction", "image:\n  digests:\n    worker: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "worker"},
		{"NoKeys", "secrets:\n  existingSecret: \"\"", "secrets.existingSecret"},
		{"NoDatabase", "database:\n  existingSecret: \"\"", "database.url or database.existingSecret"},
		{"NegativeReplicas", "tick:\n  replicas: 0", "replicas"},
		{"ConcurrencyOverServingsLimit", "executors:\n  sql:\n    containerConcurrency: 5000", "containerConcurrency"},
		{"KEDAWithoutMonitoring", "mode: deployment", "keda.natsMonitoringEndpoint"},
		{"KEDAEndpointWithScheme", "keda:\n  natsMonitoringEndpoint: http://nats:8222", "natsMonitoringEndpoint"},
		{"KEDALagZero", "keda:\n  lagThreshold:\n    sql: 0", "lagThreshold"},
		{"CredsAndNKey", "nats:\n  credsSecret: a\n  nkeySecret: b", "nats"},
		{"ClientCertWithoutKey", "redis:\n  tls:\n    existingSecret: r\n    certKey: tls.crt", "keyKey"},
		{"TLSFileAsSetting", "settings:\n  all:\n    nats.tls.ca_file: /etc/ssl/ca.crt", "nats.tls.ca_file"},
		{"CredsFileAsSetting", "settings:\n  executor:\n    nats.creds_file: /tmp/user.creds", "nats.creds_file"},
		{"UnknownTLSKey", "nats:\n  tls:\n    caFile: ca.crt", "caFile"},
		{"OperatorModeWithoutAccount", "mode: deployment\nkeda:\n  natsMonitoringEndpoint: nats:8222\nnats:\n  credsSecret: u", "keda.natsAccountID"},
		{"KEDALagOfNoKind", "keda:\n  lagThreshold:\n    grpc: 10", "grpc"},
		{"KnativeWithoutTheInternalListener", "events:\n  internalPort: 0", "events.internalPort is required in knative mode"},
		{"RetryAfterWithoutTheFlag", "eventing:\n  delivery:\n    retryAfterMax: PT1M", "deliveryRetryAfter"},
		{"BrokerClass", "eventing:\n  broker:\n    class: Kafka", "class"},
		{"FetchBatchTooLarge", "eventing:\n  broker:\n    fetch:\n      batchSize: 50", "batchSize"},
		{"BackoffDelayNotISO", "eventing:\n  delivery:\n    backoffDelay: 5s", "backoffDelay"},
		{"ChannelFieldMisspelt", "eventing:\n  broker:\n    class: MTChannelBasedBroker\n    channel:\n      stream:\n        config:\n          retension: Limits", "retension"},
		{"ExistingBrokerWithoutName", "eventing:\n  broker:\n    create: false", "eventing.broker.name is required"},
		{"EventsTriggerWithoutFilters", "events:\n  trigger:\n    enabled: true", "filters"},
		{"EventsTriggerFilterMisspelt", "events:\n  trigger:\n    enabled: true\n    filters:\n      - exactly: {type: a}", "exactly"},
		{"EventsTriggerOutsideKnative", "mode: deployment\nkeda:\n  natsMonitoringEndpoint: nats:8222\nevents:\n  trigger:\n    enabled: true\n    filters:\n      - exact: {type: a}", "events.trigger.enabled needs knative mode"},
		{"ForwardAsSetting", "settings:\n  tick:\n    forward.enabled: false", "forward.enabled"},
		{"ChannelBrokerWithPolicies", "eventing:\n  broker:\n    class: MTChannelBasedBroker", "MTChannelBasedBroker with networkPolicies.enabled"},
		{"DataPlaneInTheRelease", "eventing:\n  dataPlane:\n    namespace: vecron-system", "eventing.dataPlane.namespace is the release's namespace"},
		{"DeliveryRetryZero", "eventing:\n  delivery:\n    retry: 0", "retry"},
		{"DeliveryRetryHuge", "eventing:\n  delivery:\n    retry: 1000", "retry"},
		{"BackoffDelayZero", "eventing:\n  delivery:\n    backoffDelay: PT0S", "eventing.delivery.backoffDelay PT0S is under PT1S"},
		{"BackoffDelayHalfASecond", "eventing:\n  delivery:\n    backoffDelay: PT0.5S", "eventing.delivery.backoffDelay PT0.5S is under PT1S"},
		{"DeliveryTimeoutShorterThanTheExecutor", "eventing:\n  delivery:\n    timeout: PT1M", "eventing.delivery.timeout PT1M is shorter than execute-"},
		{"ForwardDeadLetterToEvents", "tick:\n  forward:\n    deadLetterSink: http://vecron-api-events.vecron-system.svc.cluster.local/events", "deadLetterSink"},
		{"ForwardDeadLetterWithUserInfo", "tick:\n  forward:\n    deadLetterSink: https://u:p@dl.example.com/x", "deadLetterSink"},
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

// openObjects returns where in schema (a JSON Schema document) an object schema leaves
// properties open: without additionalProperties, or with it true. The subschemas of if, then,
// else and not only narrow what the closed schema beside them admits, so they are not walked.
func openObjects(schema any, path string) []string {
	var out []string
	switch s := schema.(type) {
	case map[string]any:
		_, hasProps := s["properties"]
		_, hasPattern := s["patternProperties"]
		if s["type"] == "object" || hasProps || hasPattern {
			if ap, ok := s["additionalProperties"]; !ok || ap == true {
				out = append(out, path)
			}
		}
		for k, v := range s {
			if k == "if" || k == "then" || k == "else" || k == "not" {
				continue
			}
			out = append(out, openObjects(v, path+"/"+k)...)
		}
	case []any:
		for i, v := range s {
			out = append(out, openObjects(v, path+"/"+strconv.Itoa(i))...)
		}
	}
	return out
}

// TestSchemaIsClosed: every object of values.schema.json says what it admits, so a misspelt
// value fails helm install instead of being ignored.
func TestSchemaIsClosed(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(chart, "values.schema.json"))
	require.NoError(t, err)
	var schema any
	require.NoError(t, json.Unmarshal(b, &schema))
	require.Empty(t, openObjects(schema, "#"))

	// The walk finds an open object.
	require.NoError(t, json.Unmarshal([]byte(`{"type":"object","additionalProperties":false,"properties":{"a":{"type":"object","properties":{"b":{"type":"string"}}}}}`), &schema))
	require.Equal(t, []string{"#/properties/a"}, openObjects(schema, "#"))
}

// TestPackageLeavesTheTestsOut: the packaged chart holds the templates, values and schema, and
// none of the Go tests that sit beside them.
func TestPackageLeavesTheTestsOut(t *testing.T) {
	t.Parallel()
	archive, err := helm.Package(t.Context(), chart, t.TempDir())
	require.NoError(t, err)
	f, err := os.Open(archive)
	require.NoError(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	require.NoError(t, err)
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		names = append(names, h.Name)
	}
	require.Contains(t, names, "vecron/values.schema.json")
	require.Contains(t, names, "vecron/templates/knative-service.yaml")
	for _, n := range names {
		require.False(t, strings.HasSuffix(n, ".go"), "%s is packaged", n)
	}
	matches, err := filepath.Glob(filepath.Join(chart, "*_test.go"))
	require.NoError(t, err)
	require.NotEmpty(t, matches, "the chart no longer has a Go test beside it: this test proves nothing")
}

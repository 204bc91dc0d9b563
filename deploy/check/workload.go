package check

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/vecron/vecron/functions/contract"
)

// ComponentLabel names the function a workload runs.
const ComponentLabel = "app.kubernetes.io/component"

// Workload is the pod of one function as rendered: a Deployment's or a Knative Service's.
type Workload struct {
	Object
	// Function is the function's name, from the component label.
	Function string
	// Knative is true for a Knative Service, whose platform sets PORT and routes to one port.
	Knative bool
	// Labels and Annotations are the pod template's (Knative's scale bounds are annotations).
	Labels, Annotations map[string]string
	Pod                 corev1.PodSpec
}

// Workloads returns the workloads among objs, in their order.
func Workloads(objs []Object) []Workload {
	var out []Workload
	for _, o := range objs {
		switch v := o.Value.(type) {
		case *appsv1.Deployment:
			out = append(out, Workload{Object: o, Function: v.Spec.Template.Labels[ComponentLabel],
				Labels: v.Spec.Template.Labels, Annotations: v.Spec.Template.Annotations, Pod: v.Spec.Template.Spec})
		case *servingv1.Service:
			out = append(out, Workload{Object: o, Function: v.Spec.Template.Labels[ComponentLabel], Knative: true,
				Labels: v.Spec.Template.Labels, Annotations: v.Spec.Template.Annotations, Pod: v.Spec.Template.Spec.PodSpec})
		}
	}
	return out
}

// Expect is what a value set says the workloads' images and admin port are.
type Expect struct {
	// Registry is image.registry; Tag the tag every image without a digest carries.
	Registry, Tag string
	// Digests are image.digests by function.
	Digests map[string]string
	// MetricsPort is observability.metricsPort.
	MetricsPort int
}

// restricted is the container security context every vecron container runs with: Pod
// Security Standards "restricted", with the images' numeric user.
func restricted() corev1.SecurityContext {
	yes, no, uid := true, false, int64(65532)
	return corev1.SecurityContext{
		RunAsNonRoot: &yes, RunAsUser: &uid, RunAsGroup: &uid,
		AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
		Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// CheckWorkload compares w with the contract of its function among fns: its image, ports,
// probe paths, env names (each one a setting of the function; the ones the platform sets left
// to it), required settings, transport, the files settings name (each one a mounted Secret's)
// and security context. It returns every rule broken,
// each error naming the workload and the rule.
func CheckWorkload(w Workload, fns []contract.Function, e Expect) error {
	i := slices.IndexFunc(fns, func(f contract.Function) bool { return f.Name == w.Function })
	if i < 0 {
		return fmt.Errorf("%s: function: label %s=%q names no function of the contract", w.Object, ComponentLabel, w.Function)
	}
	f := fns[i]
	if len(w.Pod.Containers) != 1 || len(w.Pod.InitContainers) != 0 {
		return fmt.Errorf("%s: function: %d containers and %d init containers, want the function's one", w.Object, len(w.Pod.Containers), len(w.Pod.InitContainers))
	}
	c := w.Pod.Containers[0]
	var errs []error
	fail := func(rule, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: %s", w.Object, rule, fmt.Sprintf(format, args...)))
	}
	if c.Name != f.Name {
		fail("function", "container %q, want %q", c.Name, f.Name)
	}

	// Image: <registry>/<contract image>, by the value set's digest or tag.
	want := e.Registry + "/" + f.Image + ":" + e.Tag
	if d := e.Digests[f.Name]; d != "" {
		want = e.Registry + "/" + f.Image + "@" + d
	}
	if c.Image != want {
		fail("image", "%q, want %q", c.Image, want)
	}

	env := map[string]corev1.EnvVar{}
	for _, v := range c.Env {
		if _, dup := env[v.Name]; dup {
			fail("env", "%s set twice", v.Name)
		}
		env[v.Name] = v
	}
	names := map[string]string{} // env name → setting key
	for _, s := range f.Settings {
		for _, n := range s.Env {
			names[n] = s.Key
		}
	}
	for _, n := range slices.Sorted(maps.Keys(env)) {
		switch {
		case slices.Contains(f.Platform, n) && w.Knative:
			fail("env", "%s is the platform's to set", n)
		case names[n] == "":
			fail("env", "%s is no setting of %s", n, f.Name)
		}
	}
	set := func(key string) (corev1.EnvVar, bool) {
		for _, s := range f.Settings {
			if s.Key != key {
				continue
			}
			for _, n := range s.Env {
				if v, ok := env[n]; ok {
					return v, true
				}
			}
		}
		return corev1.EnvVar{}, false
	}
	for _, key := range f.Required {
		if v, ok := set(key); !ok || (v.Value == "" && v.ValueFrom == nil) {
			fail("required", "%s is not set", key)
		}
	}
	if len(f.Consumers) > 0 && f.PushPath != "" {
		want := "pull"
		if w.Knative {
			want = "push"
		}
		if v, _ := set("transport"); v.Value != want {
			fail("transport", "%q, want %q", v.Value, want)
		}
	}

	// Ports and probes. Knative routes to the one declared port and passes its number as PORT.
	port := func(name string) int {
		for _, p := range f.Ports {
			if p.Name == name {
				return p.Default
			}
		}
		return 0
	}
	byName := map[string]int32{}
	for _, p := range c.Ports {
		byName[p.Name] = p.ContainerPort
	}
	if w.Knative {
		if len(c.Ports) != 1 || c.Ports[0].ContainerPort != int32(port("http")) || !slices.Contains([]string{"", "http1", "h2c"}, c.Ports[0].Name) {
			fail("ports", "%v, want one http1 port %d", c.Ports, port("http"))
		}
	} else {
		if byName["http"] != int32(port("http")) {
			fail("ports", "http is %d, want %d", byName["http"], port("http"))
		}
		if byName["metrics"] != int32(e.MetricsPort) {
			fail("ports", "metrics is %d, want %d", byName["metrics"], e.MetricsPort)
		}
		if p, ok := byName["events-internal"]; ok {
			if v, _ := set("events.internal_port"); v.Value != strconv.Itoa(int(p)) {
				fail("ports", "events-internal is %d, events.internal_port %q", p, v.Value)
			}
		}
		for _, name := range slices.Sorted(maps.Keys(byName)) {
			if !slices.ContainsFunc(f.Ports, func(p contract.Port) bool { return p.Name == name }) {
				fail("ports", "%s is no port of %s", name, f.Name)
			}
		}
	}
	if e.MetricsPort != port("metrics") {
		if v, _ := set("admin.addr"); v.Value != ":"+strconv.Itoa(e.MetricsPort) {
			fail("ports", "metrics on %d but admin.addr is %q", e.MetricsPort, v.Value)
		}
	}
	probe := func(which string, p *corev1.Probe, path string) {
		switch {
		case p == nil || p.HTTPGet == nil:
			fail("probes", "no %s httpGet probe", which)
		case p.HTTPGet.Path != path:
			fail("probes", "%s path %q, want %q", which, p.HTTPGet.Path, path)
		case w.Knative && p.HTTPGet.Port.String() != "0":
			fail("probes", "%s probe names port %s: Knative probes the serving port", which, p.HTTPGet.Port.String())
		case !w.Knative && p.HTTPGet.Port.String() != "http":
			fail("probes", "%s probe on port %s, want http", which, p.HTTPGet.Port.String())
		}
	}
	probe("readiness", c.ReadinessProbe, f.Probes.Ready)
	probe("liveness", c.LivenessProbe, f.Probes.Live)

	// Files: every file a setting names is a mounted Secret's, so the binary finds it.
	files := fileSettings(c, f)
	for _, key := range slices.Sorted(maps.Keys(files)) {
		if !mountedFile(files[key], c, w.Pod) {
			fail("files", "%s is %s, which no mounted Secret provides", key, files[key])
		}
	}

	if got := c.SecurityContext; got == nil || !equality.Semantic.DeepEqual(*got, restricted()) {
		fail("security", "container securityContext %v, want the restricted set %v", got, restricted())
	}
	if w.Pod.AutomountServiceAccountToken == nil || *w.Pod.AutomountServiceAccountToken {
		fail("security", "the service account token is mounted; no function talks to the Kubernetes API")
	}
	return errors.Join(errs...)
}

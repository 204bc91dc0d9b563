package check

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TrialAnnotation marks the trial's Secret and StatefulSets as not for production.
const TrialAnnotation = "vecron.io/trial"

// Trial is what a value set says the bundled services of trial.enabled are.
type Trial struct {
	// Release and Namespace are the release's: the Services the URLs name are in Namespace,
	// and only Release's vecron pods may reach them.
	Release, Namespace string
	// Persistence is trial.persistence: a claim per service, else an emptyDir.
	Persistence bool
	// Network is networkPolicies.enabled.
	Network bool
	// Bundled are the env names (DATABASE_URL, NATS_URL, REDIS_URL) the chart takes from the
	// trial Secret because the values give no connection for them.
	Bundled []string
}

// trialKind returns the official image of the bundled service a URL of scheme reaches and the
// port the URL defaults to; false for a scheme of none.
func trialKind(scheme string) (image, port string, ok bool) {
	switch scheme {
	case "postgres", "postgresql":
		return "docker.io/library/postgres", "5432", true
	case "redis":
		return "docker.io/library/redis", "6379", true
	case "nats":
		return "docker.io/library/nats", "4222", true
	}
	return "", "", false
}

// trialImages are the official images the bundled services may run.
func trialImages() []string {
	return []string{"docker.io/library/postgres", "docker.io/library/redis", "docker.io/library/nats"}
}

// pinnedTag is a version tag with at least major.minor: never latest, never a bare major that
// moves with every release.
var pinnedTag = regexp.MustCompile(`^[0-9]+\.[0-9]+[A-Za-z0-9._-]*$`)

// SelectorLabels returns the labels of the bundled service svc's pods.
func (t *Trial) SelectorLabels(svc string) map[string]string {
	return map[string]string{"app.kubernetes.io/name": svc, "app.kubernetes.io/instance": t.Release, ComponentLabel: "trial"}
}

// Host returns the name the chart gives the bundled service svc in URLs.
func (t *Trial) Host(svc string) string {
	return fmt.Sprintf("%s-%s.%s.svc", t.Release, svc, t.Namespace)
}

// CheckTrial holds the bundled services among objs to t (nil: trial is off, and no
// StatefulSet may be rendered): each is one replica of an official image pinned by a version
// tag, annotated as not for production, runs with the restricted security context, keeps its
// data on a claim or an emptyDir as the values say; with NetworkPolicies on, only the
// release's vecron pods reach it (and KEDA's operator NATS's monitoring port) and it reaches
// nothing; every URL the functions take from the trial Secret resolves to the Service of a
// bundled service of the URL's kind, on a port it declares; the key files come from a Secret
// holding well-formed keys; and no value of the trial Secret appears in any other object. It
// returns every rule broken, each error naming the object and the rule.
func CheckTrial(objs []Object, t *Trial) error {
	var errs []error
	fail := func(o Object, rule, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: %s", o, rule, fmt.Sprintf(format, args...)))
	}
	var sets []Object
	for _, o := range objs {
		if _, ok := o.Value.(*appsv1.StatefulSet); ok {
			sets = append(sets, o)
		}
	}
	if t == nil {
		for _, o := range sets {
			fail(o, "trial", "rendered without trial.enabled")
		}
		return errors.Join(errs...)
	}
	if len(sets) != 3 {
		fail(Object{Kind: "StatefulSet"}, "trial", "%d StatefulSets, want PostgreSQL, Redis and NATS", len(sets))
	}
	var policies []*networkingv1.NetworkPolicy
	for _, o := range objs {
		if np, ok := o.Value.(*networkingv1.NetworkPolicy); ok {
			policies = append(policies, np)
		}
	}
	for _, o := range sets {
		st := o.Value.(*appsv1.StatefulSet)
		checkTrialSet(o, st, t, fail)
		if t.Network {
			checkTrialPolicies(o, st, policies, t, fail)
		}
	}
	secrets := map[string]*corev1.Secret{}
	for _, o := range objs {
		if s, ok := o.Value.(*corev1.Secret); ok {
			secrets[o.Name] = s
		}
	}
	for _, w := range Workloads(objs) {
		for _, c := range w.Pod.Containers {
			for _, name := range t.Bundled {
				i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name })
				if i < 0 {
					fail(w.Object, "url", "%s is not set", name)
					continue
				}
				checkTrialURL(w.Object, c.Env[i], secrets, objs, t, fail)
			}
		}
		checkTrialKeys(w, secrets, fail)
	}
	checkTrialLeaks(objs, fail)
	return errors.Join(errs...)
}

// checkTrialSet holds one bundled service's StatefulSet to its rules.
func checkTrialSet(o Object, st *appsv1.StatefulSet, t *Trial, fail func(Object, string, string, ...any)) {
	if st.Spec.Replicas == nil || *st.Spec.Replicas != 1 {
		fail(o, "replicas", "a bundled service runs one replica: it has no replication to keep a second one in step")
	}
	if st.Annotations[TrialAnnotation] == "" {
		fail(o, "notice", "no %s annotation saying it is not for production", TrialAnnotation)
	}
	pod := st.Spec.Template.Spec
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		fail(o, "security", "mounts a service-account token it never uses")
	}
	psc := pod.SecurityContext
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		fail(o, "security", "the pod's seccomp profile is not RuntimeDefault")
	}
	for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
		repo, tag, ok := strings.Cut(c.Image, ":")
		if strings.Contains(c.Image, "@") || !ok || !pinnedTag.MatchString(tag) {
			fail(o, "image", "%s is not pinned by a version tag", c.Image)
		}
		if !slices.ContainsFunc(trialImages(), func(s string) bool { return s == repo }) {
			fail(o, "image", "%s is not an official image of PostgreSQL, Redis or NATS", c.Image)
		}
		sc := c.SecurityContext
		nonRoot := sc != nil && sc.RunAsNonRoot != nil && *sc.RunAsNonRoot ||
			(sc == nil || sc.RunAsNonRoot == nil) && psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
		switch {
		case sc == nil:
			fail(o, "security", "container %s has no security context", c.Name)
		case !nonRoot:
			fail(o, "security", "container %s may run as root", c.Name)
		case sc.Privileged != nil && *sc.Privileged,
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			fail(o, "security", "container %s may gain privileges", c.Name)
		case sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0:
			fail(o, "security", "container %s keeps capabilities", c.Name)
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
			fail(o, "security", "container %s writes to its root filesystem", c.Name)
		}
		if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "data" }) {
			fail(o, "persistence", "container %s does not mount its data volume", c.Name)
		}
	}
	claim := slices.ContainsFunc(st.Spec.VolumeClaimTemplates, func(p corev1.PersistentVolumeClaim) bool { return p.Name == "data" })
	i := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == "data" })
	switch {
	case t.Persistence && (!claim || i >= 0):
		fail(o, "persistence", "trial.persistence asks for a claim named data, and no pod volume of that name")
	case !t.Persistence && (claim || i < 0 || pod.Volumes[i].EmptyDir == nil):
		fail(o, "persistence", "without trial.persistence the data volume is an emptyDir")
	}
}

// checkTrialPolicies holds the NetworkPolicies that select a bundled service's pods: at least
// one restricts ingress and one egress; every ingress rule names its peers, and they are the
// release's vecron pods — or, on NATS's monitoring port only, KEDA's operator; egress allows
// nothing; some rule lets the release's vecron pods reach the service's ports.
func checkTrialPolicies(o Object, st *appsv1.StatefulSet, nps []*networkingv1.NetworkPolicy, t *Trial, fail func(Object, string, string, ...any)) {
	pods := labels.Set(st.Spec.Template.Labels)
	vecronPods := labels.Set{"app.kubernetes.io/name": "vecron", "app.kubernetes.io/instance": t.Release, ComponentLabel: "api"}
	var ingress, egress, reached bool
	for _, np := range nps {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil || !sel.Matches(pods) {
			continue
		}
		if slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
			ingress = true
		}
		if slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
			egress = true
			if len(np.Spec.Egress) > 0 {
				fail(o, "egress", "NetworkPolicy %s lets it reach out; a bundled service reaches nothing", np.Name)
			}
		}
		for _, r := range np.Spec.Ingress {
			if len(r.From) == 0 {
				fail(o, "exposure", "NetworkPolicy %s lets any source in", np.Name)
				continue
			}
			for _, p := range r.From {
				switch {
				case p.IPBlock != nil:
					fail(o, "exposure", "NetworkPolicy %s lets addresses %s in", np.Name, p.IPBlock.CIDR)
				case p.NamespaceSelector != nil:
					if !monitoringOnly(r.Ports) || st.Spec.Template.Labels["app.kubernetes.io/name"] != "nats" {
						fail(o, "exposure", "NetworkPolicy %s lets other namespaces in beyond NATS's monitoring port", np.Name)
					}
				case p.PodSelector == nil:
					fail(o, "exposure", "NetworkPolicy %s has a peer without a selector", np.Name)
				default:
					ps, err := metav1.LabelSelectorAsSelector(p.PodSelector)
					if err != nil || ps.Empty() || ps.Matches(labels.Set{}) ||
						p.PodSelector.MatchLabels["app.kubernetes.io/name"] != "vecron" || p.PodSelector.MatchLabels["app.kubernetes.io/instance"] != t.Release {
						fail(o, "exposure", "NetworkPolicy %s lets pods other than the release's vecron pods in: %v", np.Name, p.PodSelector)
						continue
					}
					if ps.Matches(vecronPods) {
						reached = true
					}
				}
			}
		}
	}
	if !ingress {
		fail(o, "network", "no NetworkPolicy restricts who reaches it")
	}
	if !egress {
		fail(o, "egress", "no NetworkPolicy restricts what it reaches")
	}
	if ingress && !reached {
		fail(o, "reach", "no NetworkPolicy lets the release's vecron pods reach it")
	}
}

// monitoringOnly reports whether ports name NATS's monitoring port alone.
func monitoringOnly(ports []networkingv1.NetworkPolicyPort) bool {
	return len(ports) > 0 && !slices.ContainsFunc(ports, func(p networkingv1.NetworkPolicyPort) bool {
		return p.Port == nil || p.Port.String() != "8222" && p.Port.String() != "monitor"
	})
}

// checkTrialURL resolves the URL env e hands a function: a key of a rendered Secret, naming a
// rendered Service of t's namespace that selects the bundled service of the URL's kind and
// targets a port its container declares.
func checkTrialURL(o Object, e corev1.EnvVar, secrets map[string]*corev1.Secret, objs []Object, t *Trial, fail func(Object, string, string, ...any)) {
	if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
		fail(o, "url", "%s is not taken from the trial Secret", e.Name)
		return
	}
	ref := e.ValueFrom.SecretKeyRef
	s, ok := secrets[ref.Name]
	if !ok {
		fail(o, "url", "%s is taken from Secret %s, which the chart does not render", e.Name, ref.Name)
		return
	}
	raw, ok := s.Data[ref.Key]
	if !ok {
		raw, ok = []byte(s.StringData[ref.Key]), s.StringData[ref.Key] != ""
	}
	if !ok {
		fail(o, "url", "%s is taken from key %s, which Secret %s does not hold", e.Name, ref.Key, ref.Name)
		return
	}
	// Errors name the Service and port, never the URL: it holds a password.
	u, err := url.Parse(string(raw))
	if err != nil {
		fail(o, "url", "%s in Secret %s is not a URL", e.Name, ref.Name)
		return
	}
	image, defaultPort, ok := trialKind(u.Scheme)
	if !ok {
		fail(o, "url", "%s has scheme %q, none of a bundled service", e.Name, u.Scheme)
		return
	}
	name, ok := strings.CutSuffix(strings.TrimSuffix(u.Hostname(), ".cluster.local"), "."+t.Namespace+".svc")
	if !ok {
		name, ok = strings.CutSuffix(u.Hostname(), "."+t.Namespace)
	}
	if !ok && !strings.Contains(u.Hostname(), ".") && net.ParseIP(u.Hostname()) == nil {
		name, ok = u.Hostname(), true
	}
	if !ok {
		fail(o, "url", "%s names host %s, not a Service of namespace %s", e.Name, u.Hostname(), t.Namespace)
		return
	}
	port := cmp.Or(u.Port(), defaultPort)
	i := slices.IndexFunc(objs, func(x Object) bool { _, ok := x.Value.(*corev1.Service); return ok && x.Name == name })
	if i < 0 {
		fail(o, "url", "%s names Service %s, which the chart does not render", e.Name, name)
		return
	}
	svc := objs[i].Value.(*corev1.Service)
	sts := statefulSetsOf(objs, labels.SelectorFromSet(svc.Spec.Selector))
	if len(svc.Spec.Selector) == 0 || len(sts) != 1 {
		fail(o, "url", "%s names Service %s, which selects no bundled service", e.Name, name)
		return
	}
	cs := sts[0].Spec.Template.Spec.Containers
	if !slices.ContainsFunc(cs, func(c corev1.Container) bool { return strings.HasPrefix(c.Image, image+":") }) {
		fail(o, "url", "%s is a %s URL, and Service %s selects %s, which does not run %s", e.Name, u.Scheme, name, sts[0].Name, image)
	}
	j := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return fmt.Sprint(p.Port) == port })
	if j < 0 {
		fail(o, "url", "%s names port %s, which Service %s does not serve", e.Name, port, name)
		return
	}
	target := svc.Spec.Ports[j].TargetPort
	if target == (intstr.IntOrString{}) {
		target = intstr.FromInt32(svc.Spec.Ports[j].Port)
	}
	if !declares(cs, target) {
		fail(o, "url", "%s reaches port %s of Service %s, whose target %s the pods do not declare", e.Name, port, name, target.String())
	}
}

// checkTrialKeys holds the key files a function reads from the trial Secret to their format:
// one id:base64 line per key, each of 32 bytes (secrets, signing seeds and audit keys alike).
func checkTrialKeys(w Workload, secrets map[string]*corev1.Secret, fail func(Object, string, string, ...any)) {
	for _, v := range w.Pod.Volumes {
		if v.Secret == nil || v.Name != "keys" {
			continue
		}
		s, ok := secrets[v.Secret.SecretName]
		if !ok {
			continue // an existing Secret, not the chart's
		}
		for _, key := range []string{"secrets-keys", "signing-keys", "audit-keys"} {
			id, enc, ok := strings.Cut(strings.TrimSpace(string(s.Data[key])), ":")
			b, err := base64.StdEncoding.DecodeString(enc)
			if !ok || id == "" || err != nil || len(b) != 32 {
				fail(w.Object, "keys", "key %s of Secret %s is not one id:base64 key of 32 bytes", key, s.Name)
			}
		}
	}
}

// checkTrialLeaks fails each object other than a Secret that holds a value of a trial Secret
// (a password in a StatefulSet's args or env, in an annotation): passwords live in the Secret
// and are read from it.
func checkTrialLeaks(objs []Object, fail func(Object, string, string, ...any)) {
	var values [][]byte
	for _, o := range objs {
		if s, ok := o.Value.(*corev1.Secret); ok && s.Annotations[TrialAnnotation] != "" {
			for k, v := range s.Data {
				if strings.HasSuffix(k, "-password") || strings.HasSuffix(k, "-token") {
					values = append(values, v)
				}
			}
		}
	}
	for _, o := range objs {
		if _, ok := o.Value.(*corev1.Secret); ok {
			continue
		}
		b, err := json.Marshal(o.Value)
		if err != nil {
			continue
		}
		for _, v := range values {
			if len(v) > 0 && strings.Contains(string(b), string(v)) {
				fail(o, "secret", "holds a password of the trial Secret; read it from the Secret")
			}
		}
	}
}

package check

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/vecron/vecron/functions/contract"
	"github.com/vecron/vecron/shared/domain"
)

// The OpenFaaS stack file, as faas-cli reads it (docs.openfaas.com/reference/yaml, and
// faas-cli's stack/schema.go). The OpenFaaS Go modules (faas-cli, faas-provider, go-sdk) are not
// served by the module proxy this project uses, so these structs are written here from the
// documented fields, only those a deploy-only stack can use; decoding is strict, so a field
// faas-cli does not know (or this check does not) fails rather than being ignored.

// Stack is a stack.yml.
type Stack struct {
	Version       string                   `json:"version"`
	Provider      StackProvider            `json:"provider"`
	Functions     map[string]StackFunction `json:"functions"`
	Configuration *struct {
		Templates []struct {
			Name   string `json:"name"`
			Source string `json:"source,omitempty"`
		} `json:"templates,omitempty"`
		Copy []string `json:"copy,omitempty"`
	} `json:"configuration,omitempty"`

	// EnvFiles are the environment files the functions name, read beside the stack file by
	// LoadStack: file name → variables.
	EnvFiles map[string]map[string]string `json:"-"`
}

// StackProvider is the stack's provider: name "openfaas" and the gateway faas-cli talks to.
type StackProvider struct {
	Name    string `json:"name"`
	Gateway string `json:"gateway"`
}

// StackFunction is one function of a stack.
type StackFunction struct {
	Lang                   string            `json:"lang,omitempty"`
	Handler                string            `json:"handler,omitempty"`
	Image                  string            `json:"image"`
	SkipBuild              bool              `json:"skip_build,omitempty"`
	FProcess               string            `json:"fprocess,omitempty"`
	Namespace              string            `json:"namespace,omitempty"`
	Environment            map[string]string `json:"environment,omitempty"`
	EnvironmentFile        []string          `json:"environment_file,omitempty"`
	Secrets                []string          `json:"secrets,omitempty"`
	Labels                 map[string]string `json:"labels,omitempty"`
	Annotations            map[string]string `json:"annotations,omitempty"`
	Constraints            []string          `json:"constraints,omitempty"`
	Limits                 *StackResources   `json:"limits,omitempty"`
	Requests               *StackResources   `json:"requests,omitempty"`
	ReadOnlyRootFilesystem bool              `json:"readonly_root_filesystem,omitempty"`
	BuildOptions           []string          `json:"build_options,omitempty"`
	BuildArgs              map[string]string `json:"build_args,omitempty"`
	RegistryAuth           string            `json:"registry_auth,omitempty"`
}

// StackResources are a function's requests or limits.
type StackResources struct {
	Memory string `json:"memory,omitempty"`
	CPU    string `json:"cpu,omitempty"`
}

// StackEnvFile is an environment file a function names.
type StackEnvFile struct {
	Environment map[string]string `json:"environment"`
}

// OpenFaaS's names: where secrets are mounted, the annotations faas-netes turns into probes, the
// labels of the scaling bounds, the gateway's asynchronous route and the label faas-netes puts
// on a function's pods.
const (
	OpenFaaSSecretsDir   = "/var/openfaas/secrets"
	OpenFaaSHealthPath   = "com.openfaas.health.http.path"
	OpenFaaSReadyPath    = "com.openfaas.ready.http.path"
	OpenFaaSScaleMin     = "com.openfaas.scale.min"
	OpenFaaSScaleMax     = "com.openfaas.scale.max"
	OpenFaaSAsyncRoute   = "/async-function/"
	OpenFaaSFunctionPort = 8080
	OpenFaaSPodLabel     = "faas_function"
)

// DecodeStack decodes a stack file strictly: unknown and duplicate fields fail.
func DecodeStack(b []byte) (Stack, error) {
	var s Stack
	if err := yaml.UnmarshalStrict(b, &s); err != nil {
		return Stack{}, fmt.Errorf("stack: %w", err)
	}
	return s, nil
}

// LoadStack reads and decodes the stack file at file and the environment files its functions
// name, relative to its directory as faas-cli reads them.
func LoadStack(file string) (Stack, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return Stack{}, err
	}
	s, err := DecodeStack(b)
	if err != nil {
		return Stack{}, fmt.Errorf("%s: %w", file, err)
	}
	s.EnvFiles = map[string]map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(s.Functions)) {
		for _, ef := range s.Functions[name].EnvironmentFile {
			if _, done := s.EnvFiles[ef]; done {
				continue
			}
			b, err := os.ReadFile(filepath.Join(filepath.Dir(file), ef))
			if err != nil {
				return Stack{}, fmt.Errorf("%s: environment_file of %s: %w", file, name, err)
			}
			var e StackEnvFile
			if err := yaml.UnmarshalStrict(b, &e); err != nil {
				return Stack{}, fmt.Errorf("%s: %w", ef, err)
			}
			s.EnvFiles[ef] = e.Environment
		}
	}
	return s, nil
}

// StackExpect is what the stack's images and replicas must be.
type StackExpect struct {
	// Registry and Tag of every image: <registry>/<contract image>:<tag>.
	Registry, Tag string
	// TickReplicas is the tick's fixed count (scale.min = scale.max), APIReplicas the api's
	// minimum: the chart's defaults.
	TickReplicas, APIReplicas int
	// Callback is the Service that takes the gateway's callbacks to the tick, nil when the stack
	// needs none.
	Callback *corev1.Service
	// DeadLetter is the Service that takes the tick's dead letters to the api's internal
	// listener, nil when the stack needs none.
	DeadLetter *corev1.Service
	// Namespace is the functions' namespace, where both Services are applied: the URLs name
	// each Service as <name>.<namespace>.
	Namespace string
}

// CheckStack compares every function of s with the contract of the function its image names:
// one function per contract function, named and imaged after it; every environment name (its
// own and its environment files') a setting of that function, no setting given twice; the
// connections set; every …_file setting a mounted secret of the function and every secret
// read; probes on the contract's paths; the public port OpenFaaS routes to; executors pushed
// to, and the tick forwarding each kind to the gateway's asynchronous route of an executor of
// that kind at its push path, with the callback's Service reaching the callback port; the
// scaling bounds. It returns every rule broken, each error naming the function and the rule.
func CheckStack(s Stack, fns []contract.Function, e StackExpect) error {
	var errs []error
	fail := func(fn, rule, format string, args ...any) {
		errs = append(errs, fmt.Errorf("stack.yml: %s: %s: %s", fn, rule, fmt.Sprintf(format, args...)))
	}
	if s.Provider.Name != "openfaas" {
		fail("provider", "provider", "name %q, want openfaas", s.Provider.Name)
	}
	byName := map[string]contract.Function{}
	for _, f := range fns {
		byName[f.Image] = f
	}
	for _, f := range fns {
		if _, ok := s.Functions[f.Image]; !ok {
			fail(f.Image, "function", "missing: every function of the contract has one")
		}
	}
	envs := map[string]map[string]string{} // function → its whole environment
	for _, name := range slices.Sorted(maps.Keys(s.Functions)) {
		sf := s.Functions[name]
		f, ok := byName[name]
		if !ok {
			fail(name, "function", "no function of the contract is named so (its image's name)")
			continue
		}
		env, keyOf := checkStackEnv(name, sf, s.EnvFiles, f, fail)
		envs[name] = env
		want := e.Registry + "/" + f.Image + ":" + e.Tag
		if sf.Image != want {
			fail(name, "image", "%q, want %q", sf.Image, want)
		}
		if sf.Lang != "" || sf.Handler != "" || !sf.SkipBuild || sf.FProcess != "" {
			fail(name, "image", "built by faas-cli (lang, handler, fprocess or no skip_build): the images are vecron's own")
		}
		if !sf.ReadOnlyRootFilesystem {
			fail(name, "security", "readonly_root_filesystem is off; no function writes to disk")
		}
		if got := sf.Annotations[OpenFaaSHealthPath]; got != f.Probes.Live {
			fail(name, "probes", "%s %q, want %q", OpenFaaSHealthPath, got, f.Probes.Live)
		}
		if got := sf.Annotations[OpenFaaSReadyPath]; got != f.Probes.Ready {
			fail(name, "probes", "%s %q, want %q", OpenFaaSReadyPath, got, f.Probes.Ready)
		}

		// OpenFaaS routes to, and probes, 8080 only.
		public := f.Ports[0]
		if got := settingValue(env, keyOf, public.Setting, strconv.Itoa(public.Default)); got != strconv.Itoa(OpenFaaSFunctionPort) {
			fail(name, "ports", "%s is %s, but OpenFaaS routes to %d", public.Setting, got, OpenFaaSFunctionPort)
		}

		// Files: each one a secret of the function, each secret read.
		read := map[string]bool{}
		for _, n := range slices.Sorted(maps.Keys(env)) {
			if !strings.HasSuffix(keyOf[n], "_file") {
				continue
			}
			rel, ok := strings.CutPrefix(path.Clean(env[n]), OpenFaaSSecretsDir+"/")
			switch {
			case !path.IsAbs(env[n]) || !ok || strings.Contains(rel, "/"):
				fail(name, "secrets", "%s is %s, not a file of %s/", keyOf[n], env[n], OpenFaaSSecretsDir)
			case !slices.Contains(sf.Secrets, rel):
				fail(name, "secrets", "%s names secret %s, which the function does not mount", keyOf[n], rel)
			default:
				read[rel] = true
			}
		}
		for _, sec := range sf.Secrets {
			if !read[sec] {
				fail(name, "secrets", "secret %s is mounted but no …_file setting reads it", sec)
			}
		}

		// Scaling: the clock never scales; the api never goes to zero.
		minS, maxS := sf.Labels[OpenFaaSScaleMin], sf.Labels[OpenFaaSScaleMax]
		switch {
		case f.Name == "tick":
			if want := strconv.Itoa(e.TickReplicas); minS != want || maxS != want {
				fail(name, "scale", "min %q max %q, want both %s", minS, maxS, want)
			}
		case f.Name == "api":
			if minS != strconv.Itoa(e.APIReplicas) {
				fail(name, "scale", "min %q, want %d", minS, e.APIReplicas)
			}
		}

		// Transport: executors take pushed events.
		if f.PushPath != "" && len(f.Consumers) > 0 {
			if got := settingValue(env, keyOf, "transport", ""); got != "push" {
				fail(name, "transport", "%q, want push: nothing would invoke an executor that pulls", got)
			}
		}
	}
	if t, ok := byName["vecron-tick"]; ok {
		if sf, ok := s.Functions["vecron-tick"]; ok {
			checkStackForward(s, sf, t, fns, envs, e, fail)
		}
	}
	return errors.Join(errs...)
}

// checkStackEnv checks the names of a function's environment — its environment files' first,
// then its own, as faas-cli merges them — and returns it with each name's setting key.
func checkStackEnv(name string, sf StackFunction, files map[string]map[string]string, f contract.Function,
	fail func(fn, rule, format string, args ...any)) (env, keyOf map[string]string) {
	settings := map[string]string{} // env name → key
	for _, st := range f.Settings {
		for _, n := range st.Env {
			settings[n] = st.Key
		}
	}
	env, keyOf = map[string]string{}, map[string]string{}
	add := func(from string, vars map[string]string) {
		for _, n := range slices.Sorted(maps.Keys(vars)) {
			if settings[n] == "" {
				fail(name, "env", "%s (%s) is no setting of %s", n, from, f.Name)
				continue
			}
			env[n], keyOf[n] = vars[n], settings[n]
		}
	}
	for _, ef := range sf.EnvironmentFile {
		add(ef, files[ef])
	}
	add("environment", sf.Environment)
	byKey := map[string][]string{}
	for n, k := range keyOf {
		byKey[k] = append(byKey[k], n)
	}
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		if ns := byKey[k]; len(ns) > 1 {
			slices.Sort(ns)
			fail(name, "env", "%s is set twice, as %s", k, strings.Join(ns, " and "))
		}
	}
	for _, k := range f.Required {
		if settingValue(env, keyOf, k, "") == "" {
			fail(name, "required", "%s is not set", k)
		}
	}
	return env, keyOf
}

// settingValue returns the value env gives the setting key, or def.
func settingValue(env, keyOf map[string]string, key, def string) string {
	for n, k := range keyOf {
		if k == key {
			return env[n]
		}
	}
	return def
}

// checkStackForward checks the tick's forwarding: on, every kind the tick forwards posted to the
// gateway's asynchronous route of an executor of that kind (at its push path), and the callback
// port reachable by the Service the gateway calls back through.
func checkStackForward(s Stack, sf StackFunction, tick contract.Function, fns []contract.Function, envs map[string]map[string]string,
	e StackExpect, fail func(fn, rule, format string, args ...any)) {
	env, keyOf := envs["vecron-tick"], keysOf(tick, envs["vecron-tick"])
	callback := e.Callback
	checkStackDeadLetter(fns, envs, settingValue(env, keyOf, "forward.dead_letter_sink", ""), e, fail)
	if v := settingValue(env, keyOf, "forward.enabled", ""); v != "true" {
		fail("vecron-tick", "forward", "forward.enabled is %q: without it no fire reaches an executor", v)
	}
	sinks := map[domain.JobKind]string{}
	for _, part := range strings.Split(settingValue(env, keyOf, "forward.sinks", ""), ",") {
		kind, u, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			sinks[domain.JobKind(kind)] = u
		}
	}
	for _, c := range tick.Consumers {
		u, ok := sinks[c.Kind]
		if !ok {
			fail("vecron-tick", "forward", "forward.sinks has no %s sink: its fires would wait forever", c.Kind)
			continue
		}
		delete(sinks, c.Kind)
		p, err := url.Parse(u)
		if err != nil || p.Host == "" {
			fail("vecron-tick", "forward", "forward.sinks (%s) is no URL", c.Kind)
			continue
		}
		target, ok := strings.CutPrefix(p.Path, OpenFaaSAsyncRoute)
		if !ok {
			fail("vecron-tick", "forward", "forward.sinks (%s) is not the gateway's %s route: the synchronous route bounds every job by its timeouts", c.Kind, OpenFaaSAsyncRoute)
			continue
		}
		fn, rest, _ := strings.Cut(target, "/")
		i := slices.IndexFunc(fns, func(f contract.Function) bool { return f.Image == fn })
		switch {
		case i < 0 || s.Functions[fn].Image == "":
			fail("vecron-tick", "forward", "forward.sinks (%s) invokes %s, no function of the stack", c.Kind, fn)
		case !slices.ContainsFunc(fns[i].Consumers, func(x contract.Consumer) bool { return x.Kind == c.Kind }) || fns[i].PushPath == "":
			fail("vecron-tick", "forward", "forward.sinks (%s) invokes %s, which runs no %s job", c.Kind, fn, c.Kind)
		case "/"+rest != fns[i].PushPath:
			fail("vecron-tick", "forward", "forward.sinks (%s) posts to %s's path /%s, want %s", c.Kind, fn, rest, fns[i].PushPath)
		}
	}
	for _, kind := range slices.Sorted(maps.Keys(sinks)) {
		fail("vecron-tick", "forward", "forward.sinks names kind %q, which the tick does not forward", kind)
	}

	// The callback: its port beside the others, reached by a Service selecting the tick's pods.
	port := settingValue(env, keyOf, "forward.callback_port", "")
	if port == "" || port == "0" {
		if callback != nil {
			fail("vecron-tick", "callback", "a callback Service but no forward.callback_port")
		}
		return
	}
	for _, p := range tick.Ports {
		if strconv.Itoa(p.Default) == port || (p.Name == "http" && port == strconv.Itoa(OpenFaaSFunctionPort)) {
			fail("vecron-tick", "callback", "forward.callback_port %s is the %s port", port, p.Name)
		}
	}
	if callback == nil {
		fail("vecron-tick", "callback", "forward.callback_port is %s but no Service reaches it: faas-netes exposes %d only", port, OpenFaaSFunctionPort)
		return
	}
	if callback.Spec.Selector[OpenFaaSPodLabel] != "vecron-tick" || len(callback.Spec.Selector) != 1 {
		fail("vecron-tick", "callback", "Service %s selects %v, want %s: vecron-tick", callback.Name, callback.Spec.Selector, OpenFaaSPodLabel)
	}
	if len(callback.Spec.Ports) != 1 || callback.Spec.Ports[0].TargetPort.String() != port {
		fail("vecron-tick", "callback", "Service %s targets %v, want the one port %s", callback.Name, callback.Spec.Ports, port)
	} else if cu, err := url.Parse(settingValue(env, keyOf, "forward.callback_url", "")); err != nil ||
		!serviceHost(cu.Hostname(), callback.Name, e.Namespace) || cu.Port() != strconv.Itoa(int(callback.Spec.Ports[0].Port)) {
		fail("vecron-tick", "callback", "forward.callback_url does not name Service %s in %s on port %d", callback.Name, e.Namespace, callback.Spec.Ports[0].Port)
	} else if cu.Path != tick.CallbackPath {
		fail("vecron-tick", "callback", "forward.callback_url's path is %q, want %s: the tick takes callbacks there only", cu.Path, tick.CallbackPath)
	}
}

// checkStackDeadLetter checks where the tick's dead letters go: forward.dead_letter_sink is the
// api's DeadLetterPath on the Service reaching its internal listener, which the api opens.
// Without it a 4xx callback would give the fire up, unrecorded.
func checkStackDeadLetter(fns []contract.Function, envs map[string]map[string]string, sink string, e StackExpect,
	fail func(fn, rule, format string, args ...any)) {
	i := slices.IndexFunc(fns, func(f contract.Function) bool { return f.Image == "vecron-api" })
	if i < 0 {
		return
	}
	api := fns[i]
	var internal contract.Port
	for _, p := range api.Ports {
		if p.Name == "events-internal" {
			internal = p
		}
	}
	env := envs["vecron-api"]
	port := settingValue(env, keysOf(api, env), internal.Setting, "")
	svc := e.DeadLetter
	switch {
	case sink == "":
		fail("vecron-tick", "dead-letter", "forward.dead_letter_sink is not set: a fire an executor refuses would be given up, not recorded dead-lettered")
		return
	case port == "" || port == "0":
		fail("vecron-api", "dead-letter", "%s is not set: nothing takes the tick's dead letters", internal.Setting)
		return
	case svc == nil:
		fail("vecron-api", "dead-letter", "%s is %s but no Service reaches it: faas-netes exposes %d only", internal.Setting, port, OpenFaaSFunctionPort)
		return
	}
	if svc.Spec.Selector[OpenFaaSPodLabel] != "vecron-api" || len(svc.Spec.Selector) != 1 {
		fail("vecron-api", "dead-letter", "Service %s selects %v, want %s: vecron-api", svc.Name, svc.Spec.Selector, OpenFaaSPodLabel)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != port {
		fail("vecron-api", "dead-letter", "Service %s targets %v, want the one port %s", svc.Name, svc.Spec.Ports, port)
		return
	}
	u, err := url.Parse(sink)
	switch {
	case err != nil || !serviceHost(u.Hostname(), svc.Name, e.Namespace) || u.Port() != strconv.Itoa(int(svc.Spec.Ports[0].Port)):
		fail("vecron-tick", "dead-letter", "forward.dead_letter_sink does not name Service %s in %s on port %d", svc.Name, e.Namespace, svc.Spec.Ports[0].Port)
	case u.Path != api.DeadLetterPath:
		fail("vecron-tick", "dead-letter", "forward.dead_letter_sink's path is %q, want %s", u.Path, api.DeadLetterPath)
	}
}

// keysOf returns the setting key of each name of env that f reads.
func keysOf(f contract.Function, env map[string]string) map[string]string {
	keyOf := map[string]string{}
	for _, st := range f.Settings {
		for _, n := range st.Env {
			if _, ok := env[n]; ok {
				keyOf[n] = st.Key
			}
		}
	}
	return keyOf
}

// serviceHost reports whether host names Service name in namespace: name.namespace, with or
// without .svc and the cluster domain.
func serviceHost(host, name, namespace string) bool {
	rest, ok := strings.CutPrefix(host, name+"."+namespace)
	return ok && (rest == "" || rest == ".svc" || strings.HasPrefix(rest, ".svc."))
}

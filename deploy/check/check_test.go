package check_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/vecron/vecron/deploy/check"
	"github.com/vecron/vecron/deploy/render"
	"github.com/vecron/vecron/functions/contract"
	"github.com/vecron/vecron/shared/autoscale"
)

// valueSets returns the value sets of testdata/values by name.
func valueSets(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("testdata/values/*.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 3, "the value sets are missing")
	out := map[string]string{}
	for _, f := range files {
		out[strings.TrimSuffix(filepath.Base(f), ".yaml")] = f
	}
	return out
}

// clusterOf returns the cluster v claims, with the vendored CRDs installed.
func clusterOf(v check.Values) check.Cluster {
	c := v.Cluster()
	c.CRDs = schemas
	return c
}

// writeValues writes a values file of yaml for one test and returns its path.
func writeValues(t *testing.T, yaml string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "values.yaml")
	require.NoError(t, os.WriteFile(f, []byte(yaml+"\n"), 0o600))
	return f
}

// rendered is one value set rendered and decoded.
type rendered struct {
	values    check.Values
	manifests []render.Manifest
	objects   []check.Object
}

// renderSet renders the value set in file and decodes every manifest, failing the test on the
// first manifest that does not decode.
func renderSet(t *testing.T, files ...string) rendered {
	t.Helper()
	v, err := check.LoadValues(chart, files...)
	require.NoError(t, err)
	v.Release, v.Namespace = "vecron", "vecron-system"
	out, err := helm.Template(t.Context(), chart, "vecron", "vecron-system", files...)
	require.NoError(t, err)
	r := rendered{values: v, manifests: render.Split(out)}
	require.NotEmpty(t, r.manifests)
	var errs []error
	for _, m := range r.manifests {
		o, err := check.Decode(m, clusterOf(v))
		errs = append(errs, err)
		r.objects = append(r.objects, o)
	}
	require.NoError(t, errors.Join(errs...))
	return r
}

// TestValueSets lints and renders every value set, decodes every manifest strictly into its
// type (Knative Services validated for the cluster the set claims), and holds every workload to
// the contract of its function.
func TestValueSets(t *testing.T) {
	t.Parallel()
	for name, file := range valueSets(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.NoError(t, checkValueSet(t.Context(), file))
		})
	}
}

// checkValueSet lints the values files with --strict, renders them, decodes every manifest and
// runs every manifest check on the render: what a value set of testdata must pass, and what a
// values file in the deploy guides must pass (TestDeployDocs).
func checkValueSet(ctx context.Context, files ...string) error {
	for _, f := range files {
		if err := helm.Lint(ctx, chart, f); err != nil {
			return err
		}
	}
	v, err := check.LoadValues(chart, files...)
	if err != nil {
		return err
	}
	v.Release, v.Namespace = "vecron", "vecron-system"
	out, err := helm.Template(ctx, chart, "vecron", "vecron-system", files...)
	if err != nil {
		return err
	}
	var objs []check.Object
	var errs []error
	for _, m := range render.Split(out) {
		o, err := check.Decode(m, clusterOf(v))
		errs = append(errs, err)
		objs = append(objs, o)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fns := contract.Functions(v.NATSPrefix())
	var got []string
	for _, w := range check.Workloads(objs) {
		got = append(got, w.Function)
		if (v.Mode == "knative") != w.Knative {
			errs = append(errs, fmt.Errorf("%s: rendered as Knative %t in %s mode", w.Object, w.Knative, v.Mode))
		}
		errs = append(errs, check.CheckWorkload(w, fns, v.Expect()))
	}
	slices.Sort(got)
	if want := slices.Sorted(slices.Values(v.Functions())); !slices.Equal(got, want) {
		errs = append(errs, fmt.Errorf("the functions rendered are %v, want %v", got, want))
	}
	errs = append(errs,
		check.CheckWiring(objs, fns, v.Expect()),
		check.CheckScaling(objs, fns, v.Scaling(), schemas),
		check.CheckPolicies(objs, fns, v.Policies()),
		check.CheckTrial(objs, v.TrialServices()),
		check.CheckEventing(objs, fns, v.KnativeEventing(), schemas))
	return errors.Join(errs...)
}

// TestKnativeScale holds the Knative Services to the chart's scaling rules: the tick never
// scales, executors scale to zero within their bound, the api within its bounds; executors'
// concurrency and timeout are the values'.
func TestKnativeScale(t *testing.T) {
	t.Parallel()
	for name, file := range valueSets(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := renderSet(t, file)
			if r.values.Mode != "knative" {
				return
			}
			for _, w := range check.Workloads(r.objects) {
				svc := w.Value.(*servingv1.Service)
				a := w.Annotations
				scale := func(which string) string { return a["autoscaling.knative.dev/"+which] }
				spec := svc.Spec.Template.Spec
				switch w.Function {
				case "tick":
					n := strconv.Itoa(r.values.Tick.Replicas)
					require.Equal(t, []string{n, n, n}, []string{scale("min-scale"), scale("max-scale"), scale("initial-scale")}, "tick bounds")
					require.Equal(t, "cluster-local", svc.Labels["networking.knative.dev/visibility"])
					require.Equal(t, r.values.Knative.Features.PodspecAffinity, spec.Affinity != nil, "tick affinity follows the cluster's podspec-affinity flag")
					require.Equal(t, r.values.Tick.SpreadZones && r.values.Knative.Features.PodspecTopologySpreadConstraints,
						len(spec.TopologySpreadConstraints) == 1, "tick spread follows the value and the cluster's flag")
				case "api":
					require.Equal(t, strconv.Itoa(r.values.API.MinScale), scale("min-scale"))
					require.Equal(t, strconv.Itoa(r.values.API.MaxScale), scale("max-scale"))
					require.Empty(t, svc.Labels["networking.knative.dev/visibility"], "the api is the one public Service")
					require.EqualValues(t, 0, *spec.ContainerConcurrency)
					require.EqualValues(t, r.values.API.TimeoutSeconds, *spec.TimeoutSeconds)
					if r.values.Events.InternalPort != 0 {
						require.NotEqual(t, "0", scale("min-scale"), "the internal events listener bypasses the activator")
					}
				default:
					ev := r.values.Executors.HTTP
					if w.Function != "execute-http" {
						ev = r.values.Executors.SQL
					}
					require.Equal(t, "0", scale("min-scale"), "%s scales to zero", w.Function)
					require.Equal(t, strconv.Itoa(ev.MaxScale), scale("max-scale"))
					if r.values.Knative.AllowZeroInitialScale {
						require.Equal(t, "0", scale("initial-scale"))
					} else {
						require.Empty(t, scale("initial-scale"), "initial-scale 0 needs allow-zero-initial-scale")
					}
					require.EqualValues(t, ev.ContainerConcurrency, *spec.ContainerConcurrency)
					require.EqualValues(t, ev.TimeoutSeconds, *spec.TimeoutSeconds)
					require.Equal(t, "cluster-local", svc.Labels["networking.knative.dev/visibility"])
				}
			}
		})
	}
}

// TestDefaultsFollowTheContract: the chart's defaults that mirror a function's defaults are the
// function's — an executor's containerConcurrency is its pull.concurrency, its slots.
func TestDefaultsFollowTheContract(t *testing.T) {
	t.Parallel()
	v, err := check.LoadValues(chart)
	require.NoError(t, err)
	fns := contract.Functions("")
	setting := func(name, key string) string {
		i := slices.IndexFunc(fns, func(f contract.Function) bool { return f.Name == name })
		require.GreaterOrEqual(t, i, 0, name)
		for _, s := range fns[i].Settings {
			if s.Key == key {
				return s.Default
			}
		}
		t.Fatalf("%s has no %s", name, key)
		return ""
	}
	concurrency := func(name string) int {
		n, err := strconv.Atoi(setting(name, "pull.concurrency"))
		require.NoError(t, err)
		return n
	}
	duration := func(name, key string) time.Duration {
		d, err := time.ParseDuration(setting(name, key))
		require.NoError(t, err)
		return d
	}
	// A staged fire holds its request from stage_ahead before its instant to the job's end.
	for _, ev := range []check.ExecutorValues{v.Executors.HTTP, v.Executors.SQL} {
		hold := duration("execute-http", "executor.default_timeout") + duration("tick", "tick.stage_ahead")
		require.GreaterOrEqual(t, time.Duration(ev.TimeoutSeconds)*time.Second, hold, "an executor's Knative timeout cuts a job of the default timeout")
		require.LessOrEqual(t, ev.TimeoutSeconds, 600, "over Serving's default max-revision-timeout-seconds")
	}
	require.Equal(t, concurrency("execute-http"), v.Executors.HTTP.ContainerConcurrency)
	require.Equal(t, concurrency("execute-db"), v.Executors.SQL.ContainerConcurrency)
	require.Equal(t, concurrency("execute-db-oracle"), v.Executors.SQL.ContainerConcurrency)
	// KEDA: one replica per full set of slots; what the chart does not tune is KEDA's default,
	// which the local autoscaler simulates.
	require.Equal(t, concurrency("execute-http"), v.Keda.LagThreshold["http"])
	require.Equal(t, concurrency("execute-db"), v.Keda.LagThreshold["sql"])
	rules := autoscale.DefaultRules()
	require.EqualValues(t, rules.CooldownPeriod.Seconds(), v.Keda.CooldownPeriod)
	require.EqualValues(t, rules.ActivationLagThreshold, v.Keda.ActivationLagThreshold)
	require.Equal(t, 3, v.Tick.Replicas, "the seed's HA shape")
	require.Equal(t, 2, v.API.Replicas, "the seed's HA shape")
	require.Equal(t, "knative", v.Mode)
}

// TestSettingsBecomeEnv: settings.all reaches every function, a role's settings its functions
// only and over all's, and a number is written as the setting reads it (YAML's numbers reach
// templates as floats).
func TestSettingsBecomeEnv(t *testing.T) {
	t.Parallel()
	r := renderSet(t, valueSets(t)["knative-affinity"])
	env := map[string]map[string]string{}
	for _, w := range check.Workloads(r.objects) {
		env[w.Function] = map[string]string{}
		for _, v := range w.Pod.Containers[0].Env {
			env[w.Function][v.Name] = v.Value
		}
	}
	require.Equal(t, "2000000", env["tick"]["VECRON_TICK__BATCH_SIZE"])
	require.NotContains(t, env["api"], "VECRON_TICK__BATCH_SIZE")
	require.Equal(t, "debug", env["tick"]["VECRON_LOG__LEVEL"])
	require.Equal(t, "debug", env["execute-db-oracle"]["VECRON_LOG__LEVEL"])
	require.Equal(t, "info", env["api"]["VECRON_LOG__LEVEL"])
	require.Equal(t, "true", env["api"]["VECRON_DASHBOARD__SECURE_COOKIE"])
	require.Equal(t, "2m", env["execute-http"]["VECRON_EXECUTOR__DEFAULT_TIMEOUT"])
	require.NotContains(t, env["tick"], "VECRON_EXECUTOR__DEFAULT_TIMEOUT")
}

// TestLongReleaseName: a release name at Helm's limit still gives every function an object name
// of its own that Kubernetes and Knative accept.
func TestLongReleaseName(t *testing.T) {
	t.Parallel()
	for _, set := range []string{"knative-affinity", "deployment-no-keda"} {
		t.Run(set, func(t *testing.T) {
			t.Parallel()
			file := valueSets(t)[set]
			v, err := check.LoadValues(chart, file)
			require.NoError(t, err)
			v.Release, v.Namespace = strings.Repeat("r", 53), "vecron-system"
			out, err := helm.Template(t.Context(), chart, v.Release, v.Namespace, file)
			require.NoError(t, err)
			names := map[string]bool{}
			for _, m := range render.Split(out) {
				o, err := check.Decode(m, clusterOf(v))
				require.NoError(t, err)
				key := o.APIVersion + " " + o.Kind + " " + o.Name
				require.False(t, names[key], "%s twice", key)
				names[key] = true
				if o.Kind == "Service" || o.Kind == "Deployment" {
					require.LessOrEqual(t, len(o.Name), 52, "%s: Knative appends -00001 for a revision", o.Name)
				}
			}
		})
	}
}

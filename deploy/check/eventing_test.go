package check_test

import (
	"bytes"
	"flag"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/deploy/render"
)

var update = flag.Bool("update", false, "rewrite eventing/ from the chart's render of its value sets")

// eventing is the directory of plain manifests for kubectl apply, beside the chart.
const eventing = "../../eventing"

// regenerate is the command that rewrites eventing/ from the chart.
const regenerate = "cd deploy && go test ./check -run TestRenderedManifestsAreCurrent -update"

// eventingSets returns the directories of eventing/ and the value set each is rendered from.
// Each template the chart renders becomes one file of its directory, named as the template
// (the Broker, Triggers and SinkBinding are eventing/knative/eventing.yaml).
func eventingSets() map[string]string {
	return map[string]string{"knative": "eventing-knative", "keda": "eventing-keda"}
}

// renderEventing renders the value set set for directory dir of eventing/ and returns its
// files by name.
func renderEventing(t *testing.T, dir, set string) map[string][]byte {
	t.Helper()
	file := filepath.Join("testdata/values", set+".yaml")
	out, err := helm.Template(t.Context(), chart, "vecron", "vecron-system", file)
	require.NoError(t, err)
	files := map[string]*bytes.Buffer{}
	for _, m := range render.Split(out) {
		name := path.Base(m.Source)
		require.NotEmpty(t, m.Source, "a manifest without its template's name")
		b, ok := files[name]
		if !ok {
			b = new(bytes.Buffer)
			b.WriteString("# Generated from charts/vecron (" + strings.TrimPrefix(m.Source, "vecron/") + ") with\n")
			b.WriteString("# deploy/check/testdata/values/" + set + ".yaml, release vecron, namespace vecron-system.\n")
			b.WriteString("# Do not edit: change the chart or the value set, then run\n#   " + regenerate + "\n")
			b.WriteString("# Apply: kubectl apply -n vecron-system -f eventing/" + dir + "/\n")
			files[name] = b
		}
		b.WriteString("---\n")
		b.Write(m.Body)
	}
	got := map[string][]byte{}
	for name, b := range files {
		got[name] = b.Bytes()
	}
	return got
}

// TestRenderedManifestsAreCurrent: eventing/<dir>/*.yaml are exactly what the chart renders
// from their value sets (which TestValueSets checks like every other), so the manifests people
// apply with kubectl never drift from the chart. With -update it rewrites them.
func TestRenderedManifestsAreCurrent(t *testing.T) {
	t.Parallel()
	for dir, set := range eventingSets() {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			want := renderEventing(t, dir, set)
			require.NotEmpty(t, want)
			base := filepath.Join(eventing, dir)
			on, err := filepath.Glob(filepath.Join(base, "*.yaml"))
			require.NoError(t, err)
			if *update {
				require.NoError(t, os.MkdirAll(base, 0o755))
				for _, f := range on {
					if _, ok := want[filepath.Base(f)]; !ok {
						require.NoError(t, os.Remove(f))
					}
				}
				for name, b := range want {
					require.NoError(t, os.WriteFile(filepath.Join(base, name), b, 0o644))
				}
				return
			}
			for _, p := range staleEventing(t, base, want) {
				t.Errorf("eventing/%s/%s; run `%s`", dir, p, regenerate)
			}
		})
	}
}

// staleEventing returns how the files of base differ from want: each file missing, differing
// or no longer rendered.
func staleEventing(t *testing.T, base string, want map[string][]byte) []string {
	t.Helper()
	on, err := filepath.Glob(filepath.Join(base, "*.yaml"))
	require.NoError(t, err)
	var out, names []string
	for _, f := range on {
		names = append(names, filepath.Base(f))
		if _, ok := want[filepath.Base(f)]; !ok {
			out = append(out, filepath.Base(f)+" is no longer rendered by the chart")
		}
	}
	for name, b := range want {
		if !slices.Contains(names, name) {
			out = append(out, name+" is missing")
			continue
		}
		have, err := os.ReadFile(filepath.Join(base, name))
		require.NoError(t, err)
		if !bytes.Equal(have, b) {
			out = append(out, name+" differs from the chart's render")
		}
	}
	slices.Sort(out)
	return out
}

// TestStaleEventingIsFound: a hand edit, a file deleted and a file the chart no longer renders
// are each found, and a fresh render finds nothing.
func TestStaleEventingIsFound(t *testing.T) {
	t.Parallel()
	want := renderEventing(t, "keda", eventingSets()["keda"])
	dir := t.TempDir()
	for name, b := range want {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o600))
	}
	require.Empty(t, staleEventing(t, dir, want))
	edited := bytes.Replace(want["keda.yaml"], []byte("minReplicaCount: 0"), []byte("minReplicaCount: 1"), 1)
	require.NotEqual(t, want["keda.yaml"], edited)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "keda.yaml"), edited, 0o600))
	require.NoError(t, os.Remove(filepath.Join(dir, "deployment.yaml")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broker.yaml"), []byte("kind: Broker\n"), 0o600))
	require.Equal(t, []string{
		"broker.yaml is no longer rendered by the chart",
		"deployment.yaml is missing",
		"keda.yaml differs from the chart's render",
	}, staleEventing(t, dir, want))
}

package crds_test

import (
	"io/fs"
	"os"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/deploy/crds"
	"github.com/vecron/vecron/deploy/crds/provenance"
)

// dirFS is this package's directory, where go generate writes the files that are embedded.
func dirFS(t *testing.T) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	names, err := fs.Glob(os.DirFS("."), "*.yaml")
	require.NoError(t, err)
	for _, n := range append(names, provenance.FileName) {
		data, err := os.ReadFile(n)
		require.NoError(t, err)
		out[n] = &fstest.MapFile{Data: data}
	}
	return out
}

func TestFilesMatchSources(t *testing.T) {
	t.Parallel()
	fsys := dirFS(t)
	src, err := provenance.Parse(fsys[provenance.FileName].Data)
	require.NoError(t, err)
	require.NoError(t, crds.Verify(fsys, src), "every file matches its sha256 and is listed")

	modules := map[string]string{}
	for _, m := range src.Modules {
		modules[m.Path] = m.Version
		require.Regexp(t, `^h1:[A-Za-z0-9+/]{43}=$`, m.Sum, "module %s", m.Path)
	}
	for _, f := range src.Files {
		if f.IsHandWritten() {
			continue
		}
		require.Equal(t, modules[f.Module], f.Version, "%s: its module is listed at the same version", f.Name)
		require.NotEmpty(t, f.Path, f.Name)
	}
	for _, sc := range src.Scalers {
		require.Equal(t, modules[sc.Module], sc.Version, "scaler %s", sc.Type)
		require.NotEmpty(t, sc.Params, "scaler %s", sc.Type)
	}
	require.Equal(t, src, load(t).Sources(), "Load reads the same SOURCES as the directory holds")
}

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(fstest.MapFS)
		want   string
	}{
		{"EditedFile", func(m fstest.MapFS) {
			f := m["keda.sh_scaledobjects.yaml"]
			f.Data = append(append([]byte{}, f.Data...), "\n# local edit\n"...)
		}, "keda.sh_scaledobjects.yaml: sha256"},
		{"UnlistedFile", func(m fstest.MapFS) {
			m["extra.yaml"] = &fstest.MapFile{Data: []byte("{}")}
		}, "extra.yaml: not listed in SOURCES"},
		{"MissingFile", func(m fstest.MapFS) {
			delete(m, "monitoring.coreos.com_podmonitors.yaml")
		}, "monitoring.coreos.com_podmonitors.yaml: listed in SOURCES but not readable"},
		{"NoSources", func(m fstest.MapFS) {
			delete(m, provenance.FileName)
		}, "SOURCES"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fsys := dirFS(t)
			tc.change(fsys)
			_, err := crds.LoadFS(fsys)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestValidateUnknownKind(t *testing.T) {
	t.Parallel()
	s := load(t)
	for _, tc := range []struct {
		name, apiVersion, kind, want string
	}{
		{"Kind", "keda.sh/v1alpha1", "ScaledJob", "no schema"},
		{"Version", "keda.sh/v1beta1", "ScaledObject", "served: keda.sh/v1alpha1"},
		{"Group", "monitoring.example.com/v1", "PodMonitor", "served: monitoring.coreos.com/v1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := s.Validate(map[string]any{"apiVersion": tc.apiVersion, "kind": tc.kind, "metadata": map[string]any{"name": "x"}})
			require.ErrorIs(t, err, crds.ErrUnknownKind)
			require.ErrorContains(t, err, tc.want)
		})
	}
	t.Run("NoKind", func(t *testing.T) {
		t.Parallel()
		require.ErrorContains(t, s.Validate(map[string]any{"apiVersion": "keda.sh/v1alpha1"}), "apiVersion and kind")
	})
	require.True(t, s.Has("keda.sh/v1alpha1", "ScaledObject"))
	require.Equal(t, []string{
		"keda.sh/v1alpha1 ScaledObject",
		"keda.sh/v1alpha1 TriggerAuthentication",
		"messaging.knative.dev/v1alpha1 NatsJetStreamChannel",
		"monitoring.coreos.com/v1 PodMonitor",
		"monitoring.coreos.com/v1 PrometheusRule",
		"monitoring.coreos.com/v1 ServiceMonitor",
	}, s.Kinds())
}

func TestValidateAcceptsAnyDecoder(t *testing.T) {
	t.Parallel()
	// Go values as a hand-built manifest or another YAML library gives them (int, not float64).
	m := map[string]any{
		"apiVersion": "monitoring.coreos.com/v1",
		"kind":       "PodMonitor",
		"metadata":   map[string]any{"name": "vecron"},
		"spec": map[string]any{
			"selector":            map[string]any{},
			"podMetricsEndpoints": []any{map[string]any{"portNumber": 9464}},
		},
	}
	require.NoError(t, load(t).Validate(m))
}

package dashboard

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// FuzzImportDocument: any document is read without a panic, and the jobs of one that reads are
// sent as a body holding as many jobs, and the flags the page chose.
func FuzzImportDocument(f *testing.F) {
	for _, seed := range []string{
		`{"jobs": [{"name": "a", "namespace": "ops"}, {"name": "b"}]}`,
		"jobs:\n  - name: a\n    description:\n  - name: b\n",
		"jobs: &a [1]\nx: *a",
		"jobs: []\n---\njobs: []",
		"[1, 2]",
		`{"jobs": {"name": "a"}}`,
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		items, err := importItems([]byte(doc))
		if err != nil {
			return
		}
		_ = itemNamespaces(items)
		body, err := applyBody(items, false, true)
		require.NoError(t, err)
		var sent struct {
			Jobs   []yaml.Node `yaml:"jobs"`
			Prune  bool        `yaml:"prune"`
			DryRun bool        `yaml:"dry_run"`
		}
		require.NoError(t, yaml.Unmarshal(body, &sent))
		require.Len(t, sent.Jobs, len(items))
		require.True(t, sent.DryRun)
		require.False(t, sent.Prune)
	})
}

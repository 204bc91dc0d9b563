package render_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/deploy/render"
)

func TestSplit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		in      string
		sources []string
		bodies  []string
	}{
		{name: "Empty", in: ""},
		{name: "OnlySeparatorsAndComments", in: "---\n# Source: vecron/templates/off.yaml\n---\n\n---\n"},
		{
			name:    "HelmTemplate",
			in:      "---\n# Source: vecron/templates/a.yaml\nkind: A\n---\n# Source: vecron/templates/b.yaml\n\nkind: B\nlist:\n  - x\n",
			sources: []string{"vecron/templates/a.yaml", "vecron/templates/b.yaml"},
			bodies:  []string{"# Source: vecron/templates/a.yaml\nkind: A\n", "# Source: vecron/templates/b.yaml\n\nkind: B\nlist:\n  - x\n\n"},
		},
		{
			name:    "NoLeadingSeparator",
			in:      "kind: A\n--- # a comment after the separator\nkind: B",
			sources: []string{"", ""},
			bodies:  []string{"kind: A\n", "kind: B\n"},
		},
		{
			// A "---" inside a block scalar is indented, so it is no separator.
			name:    "IndentedDashes",
			in:      "kind: ConfigMap\ndata:\n  x: |\n    ---\n    y\n",
			sources: []string{""},
			bodies:  []string{"kind: ConfigMap\ndata:\n  x: |\n    ---\n    y\n\n"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := render.Split([]byte(tc.in))
			require.Len(t, got, len(tc.sources))
			for i, m := range got {
				require.Equal(t, tc.sources[i], m.Source)
				require.Equal(t, tc.bodies[i], string(m.Body))
			}
		})
	}
}

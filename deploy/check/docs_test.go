package check_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/deploy/check"
	"github.com/vecron/vecron/functions/contract"
)

// checkDoc runs every check of a deploy guide: each of its values files linted, rendered and
// held to the manifest checks as a value set of testdata is, and its names to the values schema
// and the binaries' settings.
func checkDoc(ctx context.Context, t *testing.T, d check.Doc) error {
	t.Helper()
	schema, err := os.ReadFile(filepath.Join(chart, "values.schema.json"))
	require.NoError(t, err)
	errs := []error{check.CheckDocNames(d, contract.Functions(""), schema)}
	for _, v := range d.Values {
		f := filepath.Join(t.TempDir(), v.Name+".yaml")
		require.NoError(t, os.WriteFile(f, []byte(v.YAML), 0o600))
		if err := checkValueSet(ctx, f); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: values %s: %w", d.Name, v.Line, v.Name, err))
		}
	}
	return errors.Join(errs...)
}

// deployDocs returns the deploy guides, by file name.
func deployDocs(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("../../docs/deploy-*.md")
	require.NoError(t, err)
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		out[filepath.Base(f)] = string(b)
	}
	require.Contains(t, out, "deploy-keda.md")
	require.Contains(t, out, "deploy-openfaas.md")
	return out
}

// TestDeployDocs holds every deploy guide to the chart and the binaries: each "# values:" block
// is a complete values file the chart accepts and whose render passes the manifest checks, each
// helm --set names a value, each VECRON_* variable and setting is one a binary reads.
func TestDeployDocs(t *testing.T) {
	t.Parallel()
	for name, md := range deployDocs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d := check.ParseDoc(name, md)
			require.NoError(t, checkDoc(t.Context(), t, d))
		})
	}
	// The KEDA guide installs with values files: a parse that found none would check nothing.
	d := check.ParseDoc("deploy-keda.md", deployDocs(t)["deploy-keda.md"])
	require.NotEmpty(t, d.Values)
	require.NotEmpty(t, d.Sets)
	require.NotEmpty(t, d.Env)
	require.NotEmpty(t, d.Keys)
}

// TestDeployDocsRefusals breaks the KEDA guide one way at a time and requires the check to find
// each.
func TestDeployDocsRefusals(t *testing.T) {
	t.Parallel()
	good := deployDocs(t)["deploy-keda.md"]
	require.NoError(t, checkDoc(t.Context(), t, check.ParseDoc("deploy-keda.md", good)))
	for _, c := range []struct {
		name, old, new, want string
	}{
		{"a misspelt value in a values file", "\nkeda:\n  enabled: true\n", "\nkeda:\n  enable: true\n", "enable"},
		{"a values file whose render fails a manifest check", "\nsettings:\n  all:\n", "\nsettings:\n  all:\n    job.colour: blue\n", "VECRON_JOB__COLOUR is no setting"},
		{"an unknown --set", "--set keda.cooldownPeriod=", "--set keda.cooldownPerod=", "--set keda.cooldownPerod"},
		{"an unknown setting under --set settings", `--set settings.all.log\.level=`, `--set settings.all.log\.levl=`, `settings.all.log\.levl`},
		{"a VECRON_ name no binary reads", "VECRON_TICK__PREWARM__LEAD", "VECRON_TICK__PREWARM__LEED", "VECRON_TICK__PREWARM__LEED: no function reads it"},
		{"a misspelt setting", "`tick.prewarm.lead`", "`tick.prewarm.leed`", "tick.prewarm.leed: neither"},
		{"a misspelt value named inline", "`keda.cooldownPeriod`", "`keda.coolDownPeriod`", "keda.coolDownPeriod: neither"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			require.Contains(t, good, c.old, "the guide changed: pick another line to break")
			bad := strings.Replace(good, c.old, c.new, 1)
			err := checkDoc(t.Context(), t, check.ParseDoc("deploy-keda.md", bad))
			require.Error(t, err)
			require.Contains(t, err.Error(), c.want)
		})
	}
}

// TestParseDoc reads values files, helm --set keys (continued lines, several per flag, the
// --set=k=v form), VECRON_* names and inline dotted names, with their lines.
func TestParseDoc(t *testing.T) {
	t.Parallel()
	md := strings.Join([]string{
		"# Guide", // 1
		"Set `forward.enabled` and `keda.enabled: true`, not `stack.yml` (VECRON_PORT).", // 2
		"```yaml",             // 3
		"# values: keda",      // 4
		"mode: deployment",    // 5
		"```",                 // 6
		"```yaml",             // 7
		"# not a values file", // 8
		"```",                 // 9
		"```sh",               // 10
		"helm upgrade --install vecron ./charts/vecron \\", // 11
		"  --set keda.enabled=true,tick.replicas=3 \\",     // 12
		`  --set-string=settings.all.log\.level=debug`,     // 13
		"kubectl get pods --set not.helm=1",                // 14
		"VECRON_TRANSPORT=push ./execute-http",             // 15
		"```",                                              // 16
	}, "\n")
	d := check.ParseDoc("g.md", md)
	require.Equal(t, []check.DocValues{{Line: 4, Name: "keda", YAML: "# values: keda\nmode: deployment\n"}}, d.Values)
	require.Equal(t, []check.DocName{{11, "keda.enabled"}, {11, "tick.replicas"}, {11, `settings.all.log\.level`}}, d.Sets)
	require.Equal(t, []check.DocName{{2, "VECRON_PORT"}, {15, "VECRON_TRANSPORT"}}, d.Env)
	require.Equal(t, []check.DocName{{2, "forward.enabled"}, {2, "keda.enabled"}, {2, "stack.yml"}}, d.Keys)
}

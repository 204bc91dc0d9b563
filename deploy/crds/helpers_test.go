package crds_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/vecron/vecron/deploy/crds"
)

// load returns the embedded set; Load is cheap enough (≈0.1 s) to run per test.
func load(t *testing.T) *crds.Set {
	t.Helper()
	s, err := crds.Load()
	require.NoError(t, err)
	return s
}

// manifest decodes one YAML document as kubectl would read it.
func manifest(t *testing.T, doc string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(doc), &m))
	return m
}

// edit returns a copy of doc with old replaced by new exactly once, so a misspelling lands where
// the test says.
func edit(t *testing.T, doc, old, new string) string {
	t.Helper()
	require.Equal(t, 1, strings.Count(doc, old), "%q must occur once", old)
	return strings.Replace(doc, old, new, 1)
}

// fieldErrors returns the FieldErrors of err, which must be an *InvalidError.
func fieldErrors(t *testing.T, err error) []crds.FieldError {
	t.Helper()
	var inv *crds.InvalidError
	require.True(t, errors.As(err, &inv), "want *crds.InvalidError, got %v", err)
	return inv.Fields
}

// requireField requires err to name path, with a reason containing reason.
func requireField(t *testing.T, err error, path, reason string) {
	t.Helper()
	require.Error(t, err)
	for _, f := range fieldErrors(t, err) {
		if f.Path == path && strings.Contains(f.Reason, reason) {
			return
		}
	}
	t.Fatalf("want %s: …%s…, got:\n%v", path, reason, err)
}

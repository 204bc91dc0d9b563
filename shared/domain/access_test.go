package domain_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
)

// TestPermissionsListsEveryConstant keeps Permissions in step with the Perm constants, so
// the built-in admin role and the access matrix cannot miss a new one.
func TestPermissionsListsEveryConstant(t *testing.T) {
	t.Parallel()
	f, err := parser.ParseFile(token.NewFileSet(), "access.go", nil, 0)
	require.NoError(t, err)
	var declared []string
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok {
			for _, name := range vs.Names {
				if len(name.Name) > 4 && name.Name[:4] == "Perm" {
					declared = append(declared, name.Name)
				}
			}
		}
		return true
	})
	require.Len(t, domain.Permissions(), len(declared))
	seen := map[domain.Permission]bool{}
	for _, p := range domain.Permissions() {
		require.False(t, seen[p], "%s listed twice", p)
		seen[p] = true
	}
}

func TestValidNamespace(t *testing.T) {
	t.Parallel()
	for ns, want := range map[string]bool{
		"default": true, "team-a": true, "Billing.v2": true, "a": true,
		"": false, "*": false, " team": false, "-x": false, "a/b": false, "ä": false,
		"x123456789012345678901234567890123456789012345678901234567890123": false,
	} {
		require.Equal(t, want, domain.ValidNamespace(ns), ns)
	}
}

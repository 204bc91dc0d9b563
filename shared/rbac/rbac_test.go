package rbac_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
)

func TestBuiltinRolesGrowByStep(t *testing.T) {
	t.Parallel()
	roles := rbac.Builtin()
	require.Equal(t, []string{rbac.RoleViewer, rbac.RoleOperator, rbac.RoleEditor, rbac.RoleAdmin, rbac.RoleApprover},
		[]string{roles[0].Name, roles[1].Name, roles[2].Name, roles[3].Name, roles[4].Name})
	for i := 1; i < 4; i++ {
		for _, p := range roles[i-1].Permissions {
			require.Contains(t, roles[i].Permissions, p, "%s holds what %s holds", roles[i].Name, roles[i-1].Name)
		}
	}
	require.ElementsMatch(t, domain.Permissions(), roles[3].Permissions)
	op, _ := rbac.BuiltinRole(rbac.RoleOperator)
	require.Contains(t, op.Permissions, domain.PermJobEnable, "operators pause and resume")
	require.NotContains(t, op.Permissions, domain.PermJobWrite, "operators do not edit")
	for _, r := range roles[:3] {
		require.NotContains(t, r.Permissions, domain.PermJobApprove, "%s approves no change: four eyes need a second person", r.Name)
	}
	approver, _ := rbac.BuiltinRole(rbac.RoleApprover)
	require.ElementsMatch(t, append(slices.Clone(roles[0].Permissions), domain.PermJobApprove), approver.Permissions,
		"an approver reads and approves, and writes nothing")
	viewer, _ := rbac.BuiltinRole(rbac.RoleViewer)
	for _, p := range viewer.Permissions {
		require.Contains(t, []string{"job:read", "execution:read", "variable:read"}, string(p), "viewers only read")
	}
}

// Two callers that append to a built-in role's permissions each get a list of their own: one's
// addition never lands in the other's, nor in the role.
func TestBuiltinRolesCannotBeChangedByAppending(t *testing.T) {
	t.Parallel()
	for _, r := range rbac.Builtin() {
		before := slices.Clone(r.Permissions)
		a, _ := rbac.BuiltinRole(r.Name)
		b, _ := rbac.BuiltinRole(r.Name)
		grownA := append(a.Permissions, domain.PermUserAdmin)
		grownB := append(b.Permissions, domain.PermAuditRead)
		require.Equal(t, domain.PermUserAdmin, grownA[len(grownA)-1], "%s: the other caller's append landed in this one's list", r.Name)
		require.Equal(t, domain.PermAuditRead, grownB[len(grownB)-1])
		again, _ := rbac.BuiltinRole(r.Name)
		require.Equal(t, before, again.Permissions, "%s unchanged", r.Name)
	}
}

func TestIdentityByNamespace(t *testing.T) {
	t.Parallel()
	id := rbac.NewIdentity("u1", "ann", rbac.KindUser, "database", "u1", []domain.Grant{
		{Namespace: "team-a", Permissions: []domain.Permission{domain.PermJobWrite, domain.PermJobRead}},
		{Namespace: domain.AllNamespaces, Permissions: []domain.Permission{domain.PermExecutionRead}},
	})
	require.True(t, id.Can(domain.PermJobWrite, "team-a"))
	require.True(t, id.Can(domain.PermJobEnable, "team-a"), "job:write implies job:enable")
	require.False(t, id.Can(domain.PermJobWrite, "team-b"))
	require.True(t, id.Can(domain.PermExecutionRead, "team-b"), "a grant for all namespaces holds in each")
	require.False(t, id.Can(domain.PermJobWrite, domain.AllNamespaces), "a namespace grant is not global")
	require.True(t, id.CanAnywhere(domain.PermJobWrite))
	require.False(t, id.CanAnywhere(domain.PermUserAdmin))
	require.True(t, id.Sees("team-b"))
	all, list := id.Namespaces(domain.PermJobRead)
	require.False(t, all)
	require.Equal(t, []string{"team-a"}, list)
	all, _ = id.Namespaces(domain.PermExecutionRead)
	require.True(t, all)

	var none *rbac.Identity
	require.False(t, none.Can(domain.PermJobRead, "team-a"), "no identity holds nothing")
	require.False(t, none.Sees("team-a"))
}

func TestTokenNeverExceedsItsCreator(t *testing.T) {
	t.Parallel()
	namespaces := []string{"a", "b", domain.AllNamespaces}
	perm := rapid.SampledFrom(domain.Permissions())
	rapid.Check(t, func(t *rapid.T) {
		grants := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) domain.Grant {
			return domain.Grant{
				Namespace:   rapid.SampledFrom(namespaces).Draw(t, "ns"),
				Permissions: rapid.SliceOfN(perm, 0, 5).Draw(t, "perms"),
			}
		}), 0, 4).Draw(t, "grants")
		creator := rbac.NewIdentity("u", "u", rbac.KindUser, "database", "u", grants)
		tokenNS := rapid.SampledFrom(namespaces).Draw(t, "token_ns")
		scopes := rapid.SliceOfN(perm, 0, 5).Draw(t, "scopes")
		tok := creator.Restrict("t", "t", tokenNS, scopes)
		for _, ns := range []string{"a", "b", "c"} {
			for _, p := range domain.Permissions() {
				if !tok.Can(p, ns) {
					continue
				}
				if !creator.Can(p, ns) {
					t.Fatalf("token holds %s in %s that its creator does not", p, ns)
				}
				if !slices.Contains(rbac.Implied(scopes), p) {
					t.Fatalf("token holds %s outside its scopes %v", p, scopes)
				}
				if tokenNS != domain.AllNamespaces && ns != tokenNS {
					t.Fatalf("token for %s holds %s in %s", tokenNS, p, ns)
				}
			}
		}
		// And a token holds every scope its creator held where it applies.
		if tokenNS != domain.AllNamespaces && len(creator.Exceeds(tokenNS, scopes)) == 0 {
			for _, p := range scopes {
				if !tok.Can(p, tokenNS) {
					t.Fatalf("token lost %s in %s though its creator holds it", p, tokenNS)
				}
			}
		}
	})
}

// Package rbac decides who may do what where: the built-in roles, and an Identity's grants of
// permissions per namespace. It is pure logic; who the caller is comes from the identity
// service, and which permission a route needs from the API's route table.
package rbac

import (
	"maps"
	"slices"

	"github.com/vecron/vecron/shared/domain"
)

// Built-in role names.
const (
	RoleViewer   = "viewer"
	RoleOperator = "operator"
	RoleEditor   = "editor"
	RoleAdmin    = "admin"
	// RoleApprover approves or rejects the changes of namespaces that require four eyes, and
	// changes nothing itself: who writes and who approves are different people.
	RoleApprover = "approver"
)

var (
	viewer   = []domain.Permission{domain.PermJobRead, domain.PermExecutionRead, domain.PermVariableRead}
	operator = append(slices.Clone(viewer), domain.PermJobExecute, domain.PermJobEnable)
	editor   = append(slices.Clone(operator), domain.PermJobWrite, domain.PermJobDelete, domain.PermVariableWrite, domain.PermEventPublish)
	approver = append(slices.Clone(viewer), domain.PermJobApprove)
)

// Builtin returns the built-in roles, which cannot be changed or deleted. Their permission
// lists are shared, so each is capped at its length: an append by any caller copies it rather
// than writing into the spare room of a list other goroutines read.
func Builtin() []domain.Role {
	return []domain.Role{
		{Name: RoleViewer, Description: "reads jobs, executions and variables (secret values stay masked)", Permissions: slices.Clip(viewer), Builtin: true},
		{Name: RoleOperator, Description: "a viewer who also runs jobs now, backfills, replays dead letters and pauses or resumes jobs", Permissions: slices.Clip(operator), Builtin: true},
		{Name: RoleEditor, Description: "an operator who also creates, edits and deletes jobs and variables and publishes events", Permissions: slices.Clip(editor), Builtin: true},
		{Name: RoleAdmin, Description: "everything, including users, roles, other users' tokens and the audit log", Permissions: domain.Permissions(), Builtin: true},
		{Name: RoleApprover, Description: "a viewer who also approves or rejects other users' changes where four eyes are required", Permissions: slices.Clip(approver), Builtin: true},
	}
}

// BuiltinRole returns the built-in role called name.
func BuiltinRole(name string) (domain.Role, bool) {
	for _, r := range Builtin() {
		if r.Name == name {
			return r, true
		}
	}
	return domain.Role{}, false
}

// Implied adds to ps what they imply: whoever may edit a job may also pause it.
func Implied(ps []domain.Permission) []domain.Permission {
	if slices.Contains(ps, domain.PermJobWrite) && !slices.Contains(ps, domain.PermJobEnable) {
		ps = append(slices.Clone(ps), domain.PermJobEnable)
	}
	return ps
}

// Known reports whether p is a permission.
func Known(p domain.Permission) bool { return slices.Contains(domain.Permissions(), p) }

// Kind says what an identity is.
type Kind string

// Kinds of identity.
const (
	KindUser   Kind = "user"
	KindToken  Kind = "token"
	KindSystem Kind = "system"
)

// Identity is who made a request and what they may do where.
type Identity struct {
	// Subject is the user id (a database user, or the shadow row of an OIDC user) or the API
	// token id.
	Subject string
	// Name is shown in the audit log: the username, or the token's name.
	Name string
	Kind Kind
	// Mode is how the identity signed in: "database", "oidc" or "token".
	Mode string
	// UserID is the user an API token acts for (the Subject for a user).
	UserID string
	// Groups are the OIDC groups or roles the identity came with.
	Groups []string

	grants map[string]map[domain.Permission]bool
}

// NewIdentity returns an identity holding grants.
func NewIdentity(subject, name string, kind Kind, mode, userID string, grants []domain.Grant) *Identity {
	id := &Identity{Subject: subject, Name: name, Kind: kind, Mode: mode, UserID: userID, grants: map[string]map[domain.Permission]bool{}}
	for _, g := range grants {
		set := id.grants[g.Namespace]
		if set == nil {
			set = map[domain.Permission]bool{}
			id.grants[g.Namespace] = set
		}
		for _, p := range Implied(g.Permissions) {
			set[p] = true
		}
	}
	return id
}

// Can reports whether the identity holds p in namespace ns. Pass domain.AllNamespaces for
// what is global (global variables, users): only a grant for all namespaces holds there.
func (id *Identity) Can(p domain.Permission, ns string) bool {
	if id == nil {
		return false
	}
	return id.grants[domain.AllNamespaces][p] || id.grants[ns][p]
}

// CanAnywhere reports whether the identity holds p in at least one namespace: the API's first
// check, before it knows the object's namespace.
func (id *Identity) CanAnywhere(p domain.Permission) bool {
	if id == nil {
		return false
	}
	for _, set := range id.grants {
		if set[p] {
			return true
		}
	}
	return false
}

// Sees reports whether the identity holds any permission in ns: objects elsewhere answer 404,
// so their existence does not leak.
func (id *Identity) Sees(ns string) bool {
	if id == nil {
		return false
	}
	return len(id.grants[domain.AllNamespaces]) > 0 || len(id.grants[ns]) > 0
}

// Namespaces returns where the identity holds p: all is true for every namespace, else list
// names them (sorted; empty when nowhere).
func (id *Identity) Namespaces(p domain.Permission) (all bool, list []string) {
	if id == nil {
		return false, nil
	}
	if id.grants[domain.AllNamespaces][p] {
		return true, nil
	}
	for ns, set := range id.grants {
		if set[p] {
			list = append(list, ns)
		}
	}
	slices.Sort(list)
	return false, list
}

// Grants returns the identity's permissions per namespace, sorted, for GET /auth/me.
func (id *Identity) Grants() map[string][]domain.Permission {
	out := map[string][]domain.Permission{}
	for ns, set := range id.grants {
		ps := slices.Collect(maps.Keys(set))
		slices.Sort(ps)
		out[ns] = ps
	}
	return out
}

// Restrict returns the identity an API token acts as: the creator's grants cut down to scopes
// in namespace ns (or in every namespace the creator holds them, for AllNamespaces). It is
// evaluated on every use, so a token loses what its creator loses.
func (id *Identity) Restrict(subject, name string, ns string, scopes []domain.Permission) *Identity {
	out := &Identity{Subject: subject, Name: name, Kind: KindToken, Mode: "token", UserID: id.UserID, grants: map[string]map[domain.Permission]bool{}}
	scoped := map[domain.Permission]bool{}
	for _, p := range Implied(scopes) {
		scoped[p] = true
	}
	for gns, set := range id.grants {
		target := gns
		switch {
		case ns == domain.AllNamespaces:
		case gns == domain.AllNamespaces || gns == ns:
			target = ns
		default:
			continue
		}
		for p := range set {
			if !scoped[p] {
				continue
			}
			if out.grants[target] == nil {
				out.grants[target] = map[domain.Permission]bool{}
			}
			out.grants[target][p] = true
		}
	}
	return out
}

// Exceeds returns the scopes that id does not hold in ns: a token may never carry more than its
// creator.
func (id *Identity) Exceeds(ns string, scopes []domain.Permission) []domain.Permission {
	var missing []domain.Permission
	for _, p := range scopes {
		if !id.Can(p, ns) {
			missing = append(missing, p)
		}
	}
	return missing
}

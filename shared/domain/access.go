package domain

import (
	"context"
	"regexp"
	"time"
)

// Permission is the right to do one kind of thing in a namespace.
type Permission string

// Permissions.
const (
	PermJobRead       Permission = "job:read"
	PermJobWrite      Permission = "job:write"
	PermJobEnable     Permission = "job:enable"
	PermJobExecute    Permission = "job:execute"
	PermJobDelete     Permission = "job:delete"
	PermJobApprove    Permission = "job:approve"
	PermExecutionRead Permission = "execution:read"
	PermVariableRead  Permission = "variable:read"
	PermVariableWrite Permission = "variable:write"
	PermEventPublish  Permission = "event:publish"
	PermAuditRead     Permission = "audit:read"
	PermUserAdmin     Permission = "user:admin"
)

// Permissions returns every permission; a test keeps it in step with the constants.
func Permissions() []Permission {
	return []Permission{
		PermJobRead, PermJobWrite, PermJobEnable, PermJobExecute, PermJobDelete, PermJobApprove,
		PermExecutionRead, PermVariableRead, PermVariableWrite, PermEventPublish, PermAuditRead, PermUserAdmin,
	}
}

// AllNamespaces is the namespace of a grant that holds in every namespace, and of global
// variables' permissions.
const AllNamespaces = "*"

// namespacePattern is what a namespace may be named: short, printable in a URL and a log line,
// and never AllNamespaces.
var namespacePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// ValidNamespace reports whether ns may name a namespace.
func ValidNamespace(ns string) bool { return namespacePattern.MatchString(ns) }

var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// UsernameRule says what ValidUsername accepts, for an error message.
const UsernameRule = "must be 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"

// ValidUsername reports whether name may name a database user (UsernameRule).
func ValidUsername(name string) bool { return usernamePattern.MatchString(name) }

// Sources of a user.
const (
	UserSourceDatabase = "database"
	UserSourceOIDC     = "oidc"
)

// User is a person (or a break-glass account) who signs in.
type User struct {
	ID          string    `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	Disabled    bool      `json:"disabled"`
	Source      string    `json:"source"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// PasswordHash is never serialised.
	PasswordHash string `json:"-"`
}

// Role is a named set of permissions.
type Role struct {
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Permissions []Permission `json:"permissions"`
	Builtin     bool         `json:"builtin"`
}

// RoleBinding grants a role to a user or a group (an OIDC claim value) in one namespace or in
// all of them (AllNamespaces).
type RoleBinding struct {
	ID        string    `json:"id"`
	Role      string    `json:"role"`
	UserID    string    `json:"user_id,omitempty"`
	Group     string    `json:"group,omitempty"`
	Namespace string    `json:"namespace"`
	CreatedAt time.Time `json:"created_at"`
}

// Grant is what a binding gives once its role is resolved: permissions in a namespace.
type Grant struct {
	Namespace   string
	Permissions []Permission
}

// APIToken is a long-lived credential for a machine, acting for the user who created it with
// at most that user's permissions.
type APIToken struct {
	ID         string       `json:"id"`
	UserID     string       `json:"user_id"`
	Name       string       `json:"name"`
	Scopes     []Permission `json:"scopes"`
	Namespace  string       `json:"namespace"`
	ExpiresAt  *time.Time   `json:"expires_at"`
	LastUsedAt *time.Time   `json:"last_used_at"`
	RevokedAt  *time.Time   `json:"revoked_at,omitempty"`
	CreatedAt  time.Time    `json:"created_at"`
	// Hash is the token's SHA-256; never serialised.
	Hash []byte `json:"-"`
}

// RefreshToken is one link of a rotating chain of refresh tokens (its family): using it
// retires it and issues the next; presenting a retired one again revokes the whole family.
type RefreshToken struct {
	ID        string
	Family    string
	UserID    string
	Hash      []byte
	ExpiresAt time.Time
	UsedAt    *time.Time
	RevokedAt *time.Time
}

// Actor is who makes a change, as the audit log records it.
type Actor struct {
	ID   string
	Name string
	// Kind is "user", "token" or "system".
	Kind string
	// Mode is how the actor signed in: "database", "oidc", "token", or "" for the system.
	Mode      string
	SourceIP  string
	UserAgent string
	RequestID string
}

// Label names the actor on the objects it changes: a username, or "token:" and the token's
// name.
func (a Actor) Label() string {
	if a.Kind == "token" {
		return "token:" + a.Name
	}
	if a.Name != "" {
		return a.Name
	}
	return a.ID
}

// ActorLabel returns the label of the actor ctx carries ("" without one).
func ActorLabel(ctx context.Context) string {
	if a, ok := ActorFrom(ctx); ok {
		return a.Label()
	}
	return ""
}

type actorKey struct{}

// WithActor returns ctx carrying a: the store records every change made under it in the audit
// log, in the transaction of the change.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor ctx carries.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

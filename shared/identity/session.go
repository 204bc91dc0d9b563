package identity

import (
	"context"

	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/rbac"
)

// UserIdentity returns the identity of the database user with userID as a password sign-in
// makes it, for a session the caller keeps itself (the dashboard's cookie). It returns
// ErrUnauthenticated for a user that is deleted or disabled; roles are read as for a bearer
// token, so a change takes effect within CacheTTL (at once for a change made in this process).
func (s *Service) UserIdentity(ctx context.Context, userID string) (*rbac.Identity, error) {
	return s.userIdentity(ctx, userID, ModeDatabase)
}

// OIDCUser is what a session keeps of a user who signed in through the identity provider: the
// claims an access token would carry, so the identity can be made again on every request.
type OIDCUser struct {
	Subject  string   `json:"subject"`
	Username string   `json:"username"`
	Groups   []string `json:"groups,omitempty"`
}

// OIDCUserIdentity returns the identity of u as an OIDC access token carrying its claims would
// make it: the configured role mappings of its groups and the role bindings of those groups,
// read again on every call so that a changed binding takes effect.
func (s *Service) OIDCUserIdentity(ctx context.Context, u OIDCUser) (*rbac.Identity, error) {
	return s.oidcIdentity(ctx, &auth.OIDCIdentity{Subject: u.Subject, Username: u.Username, Roles: u.Groups})
}

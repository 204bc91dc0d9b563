package identity

import (
	"context"

	"github.com/vecron/vecron/shared/rbac"
)

// UserIdentity returns the identity of the database user with userID as a password sign-in
// makes it, for a session the caller keeps itself (the dashboard's cookie). It returns
// ErrUnauthenticated for a user that is deleted or disabled; roles are read as for a bearer
// token, so a change takes effect within CacheTTL (at once for a change made in this process).
func (s *Service) UserIdentity(ctx context.Context, userID string) (*rbac.Identity, error) {
	return s.userIdentity(ctx, userID, ModeDatabase)
}

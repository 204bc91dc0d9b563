package testfactory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
)

// SessionOpts say whose dashboard session to make: a database user's (User) or an identity
// provider's user's (Subject, with Username and Groups).
type SessionOpts struct {
	User     *domain.User
	Subject  string
	Username string
	Groups   []string
}

// DashboardSession stores a dashboard session valid from now for 12 hours, as a sign-in makes
// one (a database user's with the refresh-token family of a login of theirs), and returns it with
// the session token its cookie would hold.
func DashboardSession(t testing.TB, st *store.Store, o SessionOpts) (*domain.DashboardSession, []byte) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	token, csrf := make([]byte, 32), make([]byte, 32)
	_, _ = rand.Read(token)
	_, _ = rand.Read(csrf)
	hash := sha256.Sum256(token)
	ds := &domain.DashboardSession{ID: uuid.NewString(), TokenHash: hash[:], CSRFSecret: csrf, CreatedAt: now,
		IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(12 * time.Hour)}
	if o.User != nil {
		refresh := make([]byte, 32)
		_, _ = rand.Read(refresh)
		rh := sha256.Sum256(refresh)
		rt := &domain.RefreshToken{ID: uuid.NewString(), Family: uuid.NewString(), UserID: o.User.ID, Hash: rh[:], ExpiresAt: now.Add(12 * time.Hour)}
		if err := st.CreateRefreshToken(ctx, rt, now); err != nil {
			t.Fatalf("create refresh token: %v", err)
		}
		ds.Mode, ds.UserID, ds.RefreshHash = "database", o.User.ID, rt.Hash
	} else {
		ds.Mode, ds.OIDCSubject, ds.OIDCUsername, ds.OIDCGroups = "oidc", o.Subject, o.Username, o.Groups
		ds.IdentityExpiresAt = now.Add(time.Hour)
	}
	if err := st.CreateDashboardSession(ctx, ds); err != nil {
		t.Fatalf("create dashboard session: %v", err)
	}
	return ds, token
}

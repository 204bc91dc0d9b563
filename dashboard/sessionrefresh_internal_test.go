package dashboard

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/auth/oidclogin"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// failingRefresher fails every renewal with an error of ours, not the provider's.
type failingRefresher struct{}

func (failingRefresher) Refresh(context.Context, string, oidclogin.Sealed) (*oidclogin.Grant, error) {
	return nil, errors.New("oidc sign-in: seal the refresh token: no key")
}

// TestRefreshFailingHereEndsTheSession: a renewal that fails on our side (sealing the new
// refresh token) ends the session, audited with the reason, instead of leaving its claim to
// lapse while later requests act on the stale groups.
func TestRefreshFailingHereEndsTheSession(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	token := uuid.NewString()
	hash := sha256.Sum256([]byte(token))
	ds := &domain.DashboardSession{TokenHash: hash[:], ID: uuid.NewString(), Mode: "oidc", OIDCSubject: "sub-1", OIDCUsername: "jane",
		OIDCGroups: []string{"engineering"}, CSRFSecret: []byte("csrf"), CreatedAt: now.Add(-time.Hour), IdleExpiresAt: now.Add(time.Hour),
		ExpiresAt: now.Add(8 * time.Hour), IdentityExpiresAt: now.Add(-time.Minute), RefreshKeyID: "test", RefreshSealed: []byte("sealed")}
	require.NoError(t, st.CreateDashboardSession(t.Context(), ds))
	s := &Sessions{store: st, ident: testfactory.Identity(t, st, testfactory.AuthConfig(t), time.Now), now: func() time.Time { return now },
		refresher: failingRefresher{}, log: testenv.Logger(t)}
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/jobs", nil)
	_, err := s.refresh(r, ds, now)
	require.ErrorIs(t, err, errNoSession)
	_, err = st.DashboardSession(t.Context(), hash[:], now)
	require.ErrorIs(t, err, domain.ErrNotFound, "the session ended")
	rows, err := st.ListAudit(t.Context(), store.AuditFilter{Limit: 10, Action: "auth.session_expired"})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.Contains(t, string(rows[0].After), "failed here")
}

package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testfactory"
)

// TestIdleExpiredSessionsForgetTheirRefreshToken: a session found idle-expired, and one swept
// by a later sign-in, drops its sealed refresh token at once, not a day later with the row.
func TestIdleExpiredSessionsForgetTheirRefreshToken(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	sealed := func(ds *domain.DashboardSession) bool {
		var n int
		require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM dashboard_sessions WHERE token_hash = $1 AND refresh_sealed IS NOT NULL`,
			ds.TokenHash).Scan(&n))
		return n == 1
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	looked, swept := oidcSession(t, now), oidcSession(t, now)
	for _, ds := range []*domain.DashboardSession{looked, swept} {
		ds.IdentityExpiresAt, ds.RefreshKeyID, ds.RefreshSealed = now.Add(5*time.Minute), "k1", []byte("sealed")
		require.NoError(t, st.CreateDashboardSession(ctx, ds))
		require.True(t, sealed(ds))
	}
	idle := now.Add(2 * time.Hour) // past the idle expiry of an hour
	_, err = st.DashboardSession(ctx, looked.TokenHash, now)
	require.NoError(t, err)
	require.True(t, sealed(looked), "a valid session keeps it")
	_, err = st.DashboardSession(ctx, looked.TokenHash, idle)
	require.ErrorIs(t, err, domain.ErrNotFound)
	require.False(t, sealed(looked), "found idle-expired: dropped")

	require.True(t, sealed(swept))
	require.NoError(t, st.CreateDashboardSession(ctx, oidcSession(t, idle)))
	require.False(t, sealed(swept), "swept by a later sign-in: dropped")
}

package store_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testfactory"
)

// oidcSession returns a new dashboard session of an identity provider's user made at now.
func oidcSession(t *testing.T, now time.Time) *domain.DashboardSession {
	t.Helper()
	token := make([]byte, 32)
	_, _ = rand.Read(token)
	h := sha256.Sum256(token)
	return &domain.DashboardSession{ID: uuid.NewString(), TokenHash: h[:], Mode: "oidc", OIDCSubject: "s-" + uuid.NewString()[:8],
		OIDCUsername: "alice", OIDCGroups: []string{"ops"}, CSRFSecret: token, CreatedAt: now,
		IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(12 * time.Hour)}
}

func TestDashboardSessionLifecycle(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	ds := oidcSession(t, now)
	require.NoError(t, st.CreateDashboardSession(ctx, ds))

	got, err := st.DashboardSession(ctx, ds.TokenHash, now.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, ds.ID, got.ID)
	require.Equal(t, []string{"ops"}, got.OIDCGroups)
	require.Equal(t, ds.CSRFSecret, got.CSRFSecret)

	// Idle past its idle expiry, it is gone; a touch moves the idle expiry.
	_, err = st.DashboardSession(ctx, ds.TokenHash, now.Add(time.Hour))
	require.ErrorIs(t, err, domain.ErrNotFound)
	require.NoError(t, st.TouchDashboardSession(ctx, ds.TokenHash, now.Add(50*time.Minute), now.Add(110*time.Minute)))
	_, err = st.DashboardSession(ctx, ds.TokenHash, now.Add(100*time.Minute))
	require.NoError(t, err)
	_, err = st.DashboardSession(ctx, ds.TokenHash, now.Add(12*time.Hour))
	require.ErrorIs(t, err, domain.ErrNotFound, "past its absolute expiry")

	require.NoError(t, st.RevokeDashboardSession(ctx, ds.TokenHash, now.Add(time.Minute)))
	_, err = st.DashboardSession(ctx, ds.TokenHash, now.Add(2*time.Minute))
	require.ErrorIs(t, err, domain.ErrNotFound)
	require.NoError(t, st.RevokeDashboardSession(ctx, ds.TokenHash, now.Add(3*time.Minute)), "twice is not an error")
	require.NoError(t, st.RevokeDashboardSession(ctx, []byte("unknown"), now))
}

func TestDashboardSessionsExpiredLongAgoAreDeleted(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	old := oidcSession(t, now.Add(-72*time.Hour))
	recent := oidcSession(t, now.Add(-13*time.Hour))
	require.NoError(t, st.CreateDashboardSession(ctx, old))
	require.NoError(t, st.CreateDashboardSession(ctx, recent))
	require.NoError(t, st.CreateDashboardSession(ctx, oidcSession(t, now)))
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	count := func(id string) (n int) {
		require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM dashboard_sessions WHERE id = $1`, id).Scan(&n))
		return n
	}
	require.Equal(t, 0, count(old.ID), "a day past its expiry, a session is deleted")
	require.Equal(t, 1, count(recent.ID), "an hour past its expiry, it is kept")
}

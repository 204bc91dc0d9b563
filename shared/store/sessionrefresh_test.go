package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

// TestSessionRefreshIsClaimedOnce: of requests racing to refresh a stale session, one claims
// it; until its claim lapses or its refresh lands, no other does; a fresh identity needs none.
func TestSessionRefreshIsClaimedOnce(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	ds := oidcSession(t, now)
	ds.IdentityExpiresAt, ds.RefreshKeyID, ds.RefreshSealed = now.Add(5*time.Minute), "k1", []byte("sealed")
	require.NoError(t, st.CreateDashboardSession(ctx, ds))

	_, _, ok, err := st.ClaimSessionRefresh(ctx, ds.TokenHash, now.Add(time.Minute), now.Add(2*time.Minute))
	require.NoError(t, err)
	require.False(t, ok, "the identity is fresh")

	stale := now.Add(6 * time.Minute)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		claims int
	)
	for range 8 {
		wg.Go(func() {
			keyID, sealed, ok, err := st.ClaimSessionRefresh(ctx, ds.TokenHash, stale, stale.Add(30*time.Second))
			require.NoError(t, err)
			if ok {
				require.Equal(t, "k1", keyID)
				require.Equal(t, []byte("sealed"), sealed)
				mu.Lock()
				claims++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, claims)

	// A claim whose holder died lapses.
	_, _, ok, err = st.ClaimSessionRefresh(ctx, ds.TokenHash, stale.Add(31*time.Second), stale.Add(61*time.Second))
	require.NoError(t, err)
	require.True(t, ok)

	require.NoError(t, st.RefreshSession(ctx, ds.TokenHash, domain.SessionRefresh{Username: "alice.n", Groups: []string{"payments"},
		IdentityExpiresAt: stale.Add(10 * time.Minute), RefreshKeyID: "k2", RefreshSealed: []byte("sealed again")}))
	got, err := st.DashboardSession(ctx, ds.TokenHash, stale.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, "alice.n", got.OIDCUsername)
	require.Equal(t, []string{"payments"}, got.OIDCGroups)
	require.Equal(t, stale.Add(10*time.Minute), got.IdentityExpiresAt)
	require.Equal(t, "k2", got.RefreshKeyID)
	_, _, ok, err = st.ClaimSessionRefresh(ctx, ds.TokenHash, stale.Add(time.Minute), stale.Add(2*time.Minute))
	require.NoError(t, err)
	require.False(t, ok, "refreshed, the identity is fresh again and the claim released")

	// A session ended while it was refreshed stays ended.
	require.NoError(t, st.RevokeDashboardSession(ctx, ds.TokenHash, stale.Add(time.Minute)))
	err = st.RefreshSession(ctx, ds.TokenHash, domain.SessionRefresh{Username: "x", IdentityExpiresAt: stale.Add(time.Hour)})
	require.ErrorIs(t, err, domain.ErrNotFound)
}

// TestEndedSessionsForgetTheirRefreshToken: however a session ends — a sign-out, an admin, a
// refresh refused — its sealed refresh token is not kept; an expiry is audited as its user's.
func TestEndedSessionsForgetTheirRefreshToken(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	admin := testfactory.User(t, st, testfactory.UserOpts{})
	ctx := testfactory.ActorOf(t.Context(), admin)
	kept := func(ds *domain.DashboardSession) (n int) {
		require.NoError(t, conn.QueryRow(t.Context(), `SELECT count(*) FROM dashboard_sessions WHERE id = $1 AND refresh_sealed IS NOT NULL`, ds.ID).Scan(&n))
		return n
	}
	for name, end := range map[string]func(ds *domain.DashboardSession) error{
		"SignOut": func(ds *domain.DashboardSession) error { return st.RevokeDashboardSession(ctx, ds.TokenHash, now) },
		"Admin": func(ds *domain.DashboardSession) error {
			_, err := st.EndDashboardSession(ctx, ds.ID, store.SessionOwner{}, now)
			return err
		},
		"AdminAll": func(ds *domain.DashboardSession) error {
			_, err := st.EndDashboardSessions(ctx, store.SessionOwner{Subject: ds.OIDCSubject}, now)
			return err
		},
		"Expired": func(ds *domain.DashboardSession) error {
			return st.ExpireDashboardSession(ctx, ds.TokenHash, now, "the identity provider refused to renew the sign-in")
		},
	} {
		ds := oidcSession(t, now.Add(-time.Minute))
		ds.IdentityExpiresAt, ds.RefreshKeyID, ds.RefreshSealed = now, "k1", []byte("sealed")
		require.NoError(t, st.CreateDashboardSession(ctx, ds))
		require.Equal(t, 1, kept(ds), name)
		require.NoError(t, end(ds), name)
		require.Equal(t, 0, kept(ds), name)
		_, err := st.DashboardSession(t.Context(), ds.TokenHash, now)
		require.ErrorIs(t, err, domain.ErrNotFound, name)
		if name == "Expired" {
			rows, err := st.ListAudit(t.Context(), store.AuditFilter{Action: "auth.session_expired", ObjectID: "oidc:" + ds.OIDCSubject, Limit: 5})
			require.NoError(t, err)
			require.Len(t, rows, 1)
			require.Contains(t, string(rows[0].After), "refused to renew")
		}
	}
	// Only identity providers' sessions keep a refresh token.
	db, _ := testfactory.DashboardSession(t, st, testfactory.SessionOpts{User: admin})
	_, err = conn.Exec(t.Context(), `UPDATE dashboard_sessions SET refresh_key_id = 'k', refresh_sealed = 'x' WHERE id = $1`, db.ID)
	require.Error(t, err)
}

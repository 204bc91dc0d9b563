package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// sessionSweep bounds how many expired sessions one new session deletes, so that a sign-in
// never waits on a long delete.
const sessionSweep = 100

// sessionKeep is how long a session stays in the table after it expired.
const sessionKeep = 24 * time.Hour

// CreateDashboardSession stores ds (the hash of its token, never the token) and deletes a few
// sessions that expired long ago. The sign-in of an identity provider's user is recorded as
// their login here; a database user's login is recorded with the refresh-token family it opens.
func (s *Store) CreateDashboardSession(ctx context.Context, ds *domain.DashboardSession) error {
	var change Change
	if ds.Mode == "oidc" {
		change = Change{Action: "auth.login", ObjectKind: "user", ObjectID: "oidc:" + ds.OIDCSubject, Namespace: domain.AllNamespaces,
			After: map[string]any{"session": ds.ID, "expires_at": ds.ExpiresAt, "identity_expires_at": ds.IdentityExpiresAt,
				"refreshable": ds.RefreshSealed != nil}}
	}
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO dashboard_sessions (token_hash, id, mode, user_id, refresh_hash, oidc_subject, oidc_username,
				oidc_groups, csrf_secret, created_at, last_seen_at, idle_expires_at, expires_at, identity_expires_at, refresh_key_id, refresh_sealed)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13, $14, $15)`,
			ds.TokenHash, ds.ID, ds.Mode, nullString(ds.UserID), ds.RefreshHash, nullString(ds.OIDCSubject), nullString(ds.OIDCUsername),
			ds.OIDCGroups, ds.CSRFSecret, ds.CreatedAt, ds.IdleExpiresAt, ds.ExpiresAt, nullTime(ds.IdentityExpiresAt),
			nullString(ds.RefreshKeyID), ds.RefreshSealed)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM dashboard_sessions WHERE token_hash IN (
			SELECT token_hash FROM dashboard_sessions WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)`,
			ds.CreatedAt.Add(-sessionKeep), sessionSweep)
		if err != nil {
			return err
		}
		// A session past its idle or absolute expiry stays a day for the session list, but
		// its sealed refresh token serves nothing any more: it goes now.
		_, err = tx.Exec(ctx, `UPDATE dashboard_sessions SET `+forgetRefresh+` WHERE token_hash IN (
			SELECT token_hash FROM dashboard_sessions WHERE refresh_sealed IS NOT NULL AND (idle_expires_at <= $1 OR expires_at <= $1)
			LIMIT $2)`, ds.CreatedAt, sessionSweep)
		return err
	})
	return translate("create dashboard session", err)
}

// activeSession is the condition of a valid session d at the instant of parameter now: not
// revoked, within its idle and absolute expiry, and, for a database user, its refresh-token
// family neither revoked nor expired.
func activeSession(now string) string {
	return `d.revoked_at IS NULL AND d.idle_expires_at > ` + now + ` AND d.expires_at > ` + now + `
		AND (d.refresh_hash IS NULL OR EXISTS (SELECT 1 FROM refresh_tokens r
		     WHERE r.hash = d.refresh_hash AND r.revoked_at IS NULL AND r.expires_at > ` + now + `))`
}

// DashboardSession returns the session whose token hashes to hash when it is valid at now (see
// activeSession). It returns an error wrapping domain.ErrNotFound otherwise. An identity
// provider's session is returned however stale its identity: refreshing it is the caller's.
func (s *Store) DashboardSession(ctx context.Context, hash []byte, now time.Time) (*domain.DashboardSession, error) {
	var (
		ds                            domain.DashboardSession
		userID, subject, uname, keyID *string
		identityExpires               *time.Time
	)
	err := s.pool.QueryRow(ctx, `SELECT d.id::text, d.mode, d.user_id::text, d.refresh_hash, d.oidc_subject, d.oidc_username, d.oidc_groups,
			d.csrf_secret, d.created_at, d.last_seen_at, d.idle_expires_at, d.expires_at, d.identity_expires_at, d.refresh_key_id, d.refresh_sealed
		FROM dashboard_sessions d
		WHERE d.token_hash = $1 AND `+activeSession("$2"), hash, now).
		Scan(&ds.ID, &ds.Mode, &userID, &ds.RefreshHash, &subject, &uname, &ds.OIDCGroups,
			&ds.CSRFSecret, &ds.CreatedAt, &ds.LastSeenAt, &ds.IdleExpiresAt, &ds.ExpiresAt, &identityExpires, &keyID, &ds.RefreshSealed)
	if errors.Is(err, pgx.ErrNoRows) {
		// Expired (idle, most often) or ended: a sealed refresh token it still holds is
		// dropped now, not at the sweep.
		if _, ferr := s.pool.Exec(ctx, `UPDATE dashboard_sessions d SET `+forgetRefresh+`
			WHERE d.token_hash = $1 AND d.refresh_sealed IS NOT NULL AND NOT (`+activeSession("$2")+`)`, hash, now); ferr != nil {
			return nil, translate("dashboard session", ferr)
		}
	}
	if err != nil {
		return nil, translate("dashboard session", err)
	}
	ds.TokenHash = hash
	ds.UserID, ds.OIDCSubject, ds.OIDCUsername, ds.RefreshKeyID = deref(userID), deref(subject), deref(uname), deref(keyID)
	if identityExpires != nil {
		ds.IdentityExpiresAt = *identityExpires
	}
	for _, t := range []*time.Time{&ds.CreatedAt, &ds.LastSeenAt, &ds.IdleExpiresAt, &ds.ExpiresAt, &ds.IdentityExpiresAt} {
		*t = t.UTC()
	}
	return &ds, nil
}

// TouchDashboardSession records that the session whose token hashes to hash was used at now,
// which moves its idle expiry to idleExpires.
func (s *Store) TouchDashboardSession(ctx context.Context, hash []byte, now, idleExpires time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE dashboard_sessions SET last_seen_at = $2, idle_expires_at = $3
		WHERE token_hash = $1 AND revoked_at IS NULL AND last_seen_at < $2`, hash, now, idleExpires)
	return translate("touch dashboard session", err)
}

// RevokeDashboardSession ends the session whose token hashes to hash, recorded as its user's
// logout, and for a database user the refresh-token family its login opened. An unknown or
// already revoked session is not an error.
func (s *Store) RevokeDashboardSession(ctx context.Context, hash []byte, now time.Time) error {
	var (
		refresh []byte
		subject *string
	)
	change := Change{Action: "auth.logout", ObjectKind: "user", Namespace: domain.AllNamespaces}
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		var id string
		err := tx.QueryRow(ctx, `UPDATE dashboard_sessions SET revoked_at = $2, `+forgetRefresh+`
			WHERE token_hash = $1 AND revoked_at IS NULL
			RETURNING id::text, refresh_hash, oidc_subject`, hash, now).Scan(&id, &refresh, &subject)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			change.Action = ""
			return nil
		case err != nil:
			return err
		}
		if subject == nil {
			change.Action = "" // recorded with the refresh-token family below
			return nil
		}
		change.ObjectID, change.After = "oidc:"+*subject, map[string]string{"session": id}
		return nil
	})
	if err != nil || refresh == nil {
		return translate("revoke dashboard session", err)
	}
	return s.RevokeRefreshFamily(ctx, refresh, now)
}

// forgetRefresh is the assignment that drops an ended session's sealed refresh token: a
// credential is kept no longer than the session it serves.
const forgetRefresh = `refresh_key_id = NULL, refresh_sealed = NULL, refresh_claimed_until = NULL`

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

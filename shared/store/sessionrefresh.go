package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// ClaimSessionRefresh claims, until until, the refresh of the identity provider's session whose
// token hashes to hash, when at now it is valid, its identity is stale and no other claim holds.
// It returns the session's sealed refresh token (both empty when it has none) and whether the
// claim is the caller's: false means another request, on any replica, refreshes it, or has.
func (s *Store) ClaimSessionRefresh(ctx context.Context, hash []byte, now, until time.Time) (keyID string, sealed []byte, ok bool, err error) {
	var id *string
	err = s.pool.QueryRow(ctx, `UPDATE dashboard_sessions d SET refresh_claimed_until = $3
		WHERE d.token_hash = $1 AND d.mode = 'oidc' AND `+activeSession("$2")+`
		  AND (d.identity_expires_at IS NULL OR d.identity_expires_at <= $2)
		  AND (d.refresh_claimed_until IS NULL OR d.refresh_claimed_until <= $2)
		RETURNING d.refresh_key_id, d.refresh_sealed`, hash, now, until).Scan(&id, &sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, false, nil
	}
	if err != nil {
		return "", nil, false, translate("claim dashboard session refresh", err)
	}
	return deref(id), sealed, true, nil
}

// RefreshSession stores what a refresh of the session whose token hashes to hash learnt, and
// releases its claim. A session ended meanwhile stays ended: it returns an error wrapping
// domain.ErrNotFound then. A refresh is no change of anyone's making and is not audited; a
// change of the user's groups shows in the audit records of what they do next.
func (s *Store) RefreshSession(ctx context.Context, hash []byte, ri domain.SessionRefresh) error {
	tag, err := s.pool.Exec(ctx, `UPDATE dashboard_sessions SET oidc_username = $2, oidc_groups = $3, identity_expires_at = $4,
			refresh_key_id = $5, refresh_sealed = $6, refresh_claimed_until = NULL
		WHERE token_hash = $1 AND revoked_at IS NULL AND mode = 'oidc'`,
		hash, ri.Username, ri.Groups, ri.IdentityExpiresAt, nullString(ri.RefreshKeyID), ri.RefreshSealed)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return translate("refresh dashboard session", err)
}

// ExpireDashboardSession ends the session whose token hashes to hash because its identity could
// not be renewed, recorded as auth.session_expired of its user with reason (which must not
// quote a token). An unknown or already ended session is not an error.
func (s *Store) ExpireDashboardSession(ctx context.Context, hash []byte, now time.Time, reason string) error {
	change := Change{Action: "auth.session_expired", ObjectKind: "user", Namespace: domain.AllNamespaces}
	return translate("expire dashboard session", s.inTx(ctx, &change, func(tx pgx.Tx) error {
		var id string
		var subject *string
		err := tx.QueryRow(ctx, `UPDATE dashboard_sessions SET revoked_at = $2, `+forgetRefresh+`
			WHERE token_hash = $1 AND revoked_at IS NULL RETURNING id::text, oidc_subject`, hash, now).Scan(&id, &subject)
		if errors.Is(err, pgx.ErrNoRows) {
			change.Action = ""
			return nil
		}
		change.ObjectID, change.After = "oidc:"+deref(subject), map[string]string{"session": id, "reason": reason}
		return err
	}))
}

package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// ErrRefreshReused is returned when a refresh token that was already exchanged is presented
// again: someone holds a copy, so its whole family is revoked.
var ErrRefreshReused = errors.New("refresh token reused")

const apiTokenColumns = `id, user_id, name, scopes, namespace, expires_at, last_used_at, revoked_at, created_at`

func scanAPIToken(row pgx.Row) (*domain.APIToken, error) {
	var t domain.APIToken
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.Scopes, &t.Namespace, &t.ExpiresAt, &t.LastUsedAt, &t.RevokedAt, &t.CreatedAt); err != nil {
		return nil, err
	}
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt, t.CreatedAt = utcPtr(t.ExpiresAt), utcPtr(t.LastUsedAt), utcPtr(t.RevokedAt), t.CreatedAt.UTC()
	return &t, nil
}

// CreateAPIToken stores t (its hash, never the token); it returns an error wrapping
// domain.ErrNotFound when its user does not exist.
func (s *Store) CreateAPIToken(ctx context.Context, t *domain.APIToken) error {
	change := Change{Action: "token.create", ObjectKind: "api_token", ObjectID: t.ID, Namespace: t.Namespace, After: t}
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO api_tokens (id, user_id, name, hash, scopes, namespace, expires_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, t.ID, t.UserID, t.Name, t.Hash, t.Scopes, t.Namespace, t.ExpiresAt, t.CreatedAt)
		return err
	})
	if isForeignKey(err) {
		return fmt.Errorf("user %s: %w", t.UserID, domain.ErrNotFound)
	}
	return translate("create api token", err)
}

// APITokenByHash returns the token whose hash is hash, revoked and expired ones included (the
// caller decides), or an error wrapping domain.ErrNotFound.
func (s *Store) APITokenByHash(ctx context.Context, hash []byte) (*domain.APIToken, error) {
	t, err := scanAPIToken(s.pool.QueryRow(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE hash = $1`, hash))
	return t, translate("get api token", err)
}

// GetAPIToken returns the token with id, or an error wrapping domain.ErrNotFound.
func (s *Store) GetAPIToken(ctx context.Context, id string) (*domain.APIToken, error) {
	t, err := scanAPIToken(s.pool.QueryRow(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE id = $1`, id))
	return t, translate("get api token", err)
}

// ListAPITokens returns the tokens of the user with userID, or everyone's when userID is
// empty, newest first.
func (s *Store) ListAPITokens(ctx context.Context, userID string) ([]*domain.APIToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens
		WHERE $1::uuid IS NULL OR user_id = $1::uuid ORDER BY created_at DESC, id DESC`, nullable(userID))
	if err != nil {
		return nil, translate("list api tokens", err)
	}
	defer rows.Close()
	var out []*domain.APIToken
	for rows.Next() {
		t, err := scanAPIToken(rows)
		if err != nil {
			return nil, translate("list api tokens", err)
		}
		out = append(out, t)
	}
	return out, translate("list api tokens", rows.Err())
}

// RevokeAPIToken revokes the token with id as of now and returns it; revoking a revoked token
// keeps its first revocation time. It returns an error wrapping domain.ErrNotFound.
func (s *Store) RevokeAPIToken(ctx context.Context, id string, now time.Time) (*domain.APIToken, error) {
	var t *domain.APIToken
	change := Change{Action: "token.revoke", ObjectKind: "api_token", ObjectID: id}
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		var err error
		t, err = scanAPIToken(tx.QueryRow(ctx, `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $2)
			WHERE id = $1 RETURNING `+apiTokenColumns, id, now))
		if err == nil {
			change.After, change.Namespace = t, t.Namespace
		}
		return err
	})
	return t, translate("revoke api token", err)
}

// TouchAPIToken records that the token with id was used at now.
func (s *Store) TouchAPIToken(ctx context.Context, id string, now time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)`, id, now)
	return translate("touch api token", err)
}

// CreateRefreshToken stores rt (its hash, never the token).
func (s *Store) CreateRefreshToken(ctx context.Context, rt *domain.RefreshToken, now time.Time) error {
	// A new family is a sign-in: recorded as the login of the user.
	change := Change{Action: "auth.login", ObjectKind: "user", ObjectID: rt.UserID, Namespace: domain.AllNamespaces,
		After: map[string]any{"session": rt.Family, "expires_at": rt.ExpiresAt}}
	return translate("create refresh token", s.inTx(ctx, &change, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (id, family, user_id, hash, expires_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, rt.ID, rt.Family, rt.UserID, rt.Hash, rt.ExpiresAt, now)
		return err
	}))
}

// RotateRefreshToken exchanges the refresh token whose hash is hash for next (stored in the same
// family) and returns the user it belongs to. It returns an error wrapping domain.ErrNotFound
// for an unknown, expired or revoked token, and ErrRefreshReused (after revoking the family)
// for one already exchanged.
func (s *Store) RotateRefreshToken(ctx context.Context, hash []byte, next *domain.RefreshToken, now time.Time) (string, error) {
	var (
		userID string
		reused bool
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var rt domain.RefreshToken
		err := tx.QueryRow(ctx, `SELECT id, family, user_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE hash = $1 FOR UPDATE`, hash).
			Scan(&rt.ID, &rt.Family, &rt.UserID, &rt.ExpiresAt, &rt.UsedAt, &rt.RevokedAt)
		switch {
		case err != nil:
			return err
		case rt.RevokedAt != nil || !rt.ExpiresAt.After(now):
			return domain.ErrNotFound
		case rt.UsedAt != nil:
			// Commit the revocation, and its record: returning an error would roll them back. A
			// replayed refresh token is the clearest sign that one was stolen.
			reused = true
			_, err := tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = $2 WHERE family = $1 AND revoked_at IS NULL`, rt.Family, now)
			if err != nil {
				return err
			}
			return s.record(ctx, tx, Change{Action: "auth.refresh_reused", ObjectKind: "user", ObjectID: rt.UserID,
				Namespace: domain.AllNamespaces, After: map[string]string{"session": rt.Family, "revoked": "session"}})
		}
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET used_at = $2 WHERE id = $1`, rt.ID, now); err != nil {
			return err
		}
		next.Family, next.UserID, userID = rt.Family, rt.UserID, rt.UserID
		_, err = tx.Exec(ctx, `INSERT INTO refresh_tokens (id, family, user_id, hash, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			next.ID, next.Family, next.UserID, next.Hash, next.ExpiresAt, now)
		return err
	})
	if err == nil && reused {
		return "", ErrRefreshReused
	}
	return userID, translate("rotate refresh token", err)
}

// RevokeRefreshFamily revokes the refresh token whose hash is hash and every token of its
// family (a logout ends the session on every device that shares it). Unknown tokens are
// ignored: a logout cannot tell an attacker which tokens exist.
func (s *Store) RevokeRefreshFamily(ctx context.Context, hash []byte, now time.Time) error {
	change := Change{Action: "auth.logout", ObjectKind: "user", Namespace: domain.AllNamespaces}
	return translate("revoke refresh tokens", s.inTx(ctx, &change, func(tx pgx.Tx) error {
		var userID, family string
		err := tx.QueryRow(ctx, `UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, $2)
			WHERE family = (SELECT family FROM refresh_tokens WHERE hash = $1) RETURNING user_id::text, family::text`, hash, now).Scan(&userID, &family)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			change.Action = "" // an unknown token: nothing happened
			return nil
		case err != nil:
			return err
		}
		change.ObjectID, change.After = userID, map[string]string{"session": family}
		return nil
	}))
}

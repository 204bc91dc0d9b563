package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// sessionInfoColumns are the columns of a domain.SessionInfo of dashboard_sessions d, the
// username of a database user's session read from users. Nothing that signs anyone in is among
// them.
const sessionInfoColumns = `d.id::text, d.mode, coalesce(d.user_id::text, ''), coalesce(d.oidc_subject, ''),
	coalesce((SELECT u.username FROM users u WHERE u.id = d.user_id), d.oidc_username, ''), d.oidc_groups, d.created_at, d.last_seen_at, d.idle_expires_at, d.expires_at,
	d.identity_expires_at, d.revoked_at`

// scanSessionInfo reads sessionInfoColumns, then extra.
func scanSessionInfo(row pgx.Row, extra ...any) (*domain.SessionInfo, error) {
	var si domain.SessionInfo
	if err := row.Scan(append([]any{&si.ID, &si.Mode, &si.UserID, &si.Subject, &si.Username, &si.Groups, &si.CreatedAt, &si.LastSeenAt,
		&si.IdleExpiresAt, &si.ExpiresAt, &si.IdentityExpiresAt, &si.EndedAt}, extra...)...); err != nil {
		return nil, err
	}
	for _, t := range []*time.Time{&si.CreatedAt, &si.LastSeenAt, &si.IdleExpiresAt, &si.ExpiresAt} {
		*t = t.UTC()
	}
	for _, t := range []**time.Time{&si.IdentityExpiresAt, &si.EndedAt} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	return &si, nil
}

// ListDashboardSessions returns the sessions valid at now that f selects, newest first.
func (s *Store) ListDashboardSessions(ctx context.Context, f domain.SessionFilter, now time.Time) ([]*domain.SessionInfo, error) {
	var after *time.Time
	if !f.AfterCreated.IsZero() {
		after = &f.AfterCreated
	}
	rows, err := s.pool.Query(ctx, `SELECT `+sessionInfoColumns+`
		FROM dashboard_sessions d
		WHERE `+activeSession("$1")+`
		  AND ($2::uuid IS NULL OR d.user_id = $2) AND ($3::text IS NULL OR d.oidc_subject = $3) AND ($4::text IS NULL OR d.mode = $4)
		  AND ($5::timestamptz IS NULL OR (d.created_at, d.id) < ($5, $6::uuid))
		ORDER BY d.created_at DESC, d.id DESC LIMIT $7`,
		now, nullString(f.UserID), nullString(f.Subject), nullString(f.Mode), after, nullString(f.AfterID), f.Limit)
	if err != nil {
		return nil, translate("list dashboard sessions", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*domain.SessionInfo, error) { return scanSessionInfo(row) })
	return list, translate("list dashboard sessions", err)
}

// SessionOwner names whose sessions an end may touch: a database user (UserID), an identity
// provider's subject (Subject), or, both empty, anyone's.
type SessionOwner struct {
	UserID, Subject string
}

// EndDashboardSession ends the session with id, valid at now and of owner, with the
// refresh-token family of a database user's login; the audit log records it as session.end of
// the session's user. It returns an error wrapping domain.ErrNotFound when no such session is
// valid: one of another owner is not told apart from one that does not exist.
func (s *Store) EndDashboardSession(ctx context.Context, id string, owner SessionOwner, now time.Time) (*domain.SessionInfo, error) {
	var out *domain.SessionInfo
	change := Change{Action: "session.end", ObjectKind: "user", Namespace: domain.AllNamespaces}
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		ended, err := s.endSessions(ctx, tx, `d.id = $2::uuid AND ($3::uuid IS NULL OR d.user_id = $3) AND ($4::text IS NULL OR d.oidc_subject = $4)`,
			now, id, nullString(owner.UserID), nullString(owner.Subject))
		if err != nil {
			return err
		}
		if len(ended) == 0 {
			return domain.ErrNotFound
		}
		out = ended[0]
		change.ObjectID, change.After = sessionUser(out), map[string]any{"sessions": []string{out.ID}}
		return nil
	})
	return out, translate("end dashboard session", err)
}

// EndDashboardSessions ends every session of owner (a user or a subject, not both, not
// neither) valid at now, with the refresh-token families of a database user's logins, and
// returns them. The audit log records it as session.end of that user, naming the sessions, even
// when there were none: the admin asked.
func (s *Store) EndDashboardSessions(ctx context.Context, owner SessionOwner, now time.Time) ([]*domain.SessionInfo, error) {
	if (owner.UserID == "") == (owner.Subject == "") {
		return nil, errors.New("end dashboard sessions: name a user or a subject")
	}
	var out []*domain.SessionInfo
	object := "oidc:" + owner.Subject
	if owner.UserID != "" {
		object = owner.UserID
	}
	change := Change{Action: "session.end", ObjectKind: "user", ObjectID: object, Namespace: domain.AllNamespaces}
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		var err error
		out, err = s.endSessions(ctx, tx, `($2::uuid IS NULL OR d.user_id = $2) AND ($3::text IS NULL OR d.oidc_subject = $3)`,
			now, nullString(owner.UserID), nullString(owner.Subject))
		ids := make([]string, 0, len(out))
		for _, si := range out {
			ids = append(ids, si.ID)
		}
		change.After = map[string]any{"sessions": ids}
		return err
	})
	return out, translate("end dashboard sessions", err)
}

// endSessions revokes, in tx, the sessions valid at now ($1, also the time of their end) that
// where selects with args (from $2 on), and the refresh-token families of the database users'
// logins among them.
func (s *Store) endSessions(ctx context.Context, tx pgx.Tx, where string, now time.Time, args ...any) ([]*domain.SessionInfo, error) {
	rows, err := tx.Query(ctx, `UPDATE dashboard_sessions d SET revoked_at = $1, `+forgetRefresh+`
		WHERE `+activeSession("$1")+` AND `+where+`
		RETURNING `+sessionInfoColumns+`, d.refresh_hash`, append([]any{now}, args...)...)
	if err != nil {
		return nil, err
	}
	var families [][]byte
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*domain.SessionInfo, error) {
		var family []byte
		si, err := scanSessionInfo(row, &family)
		if family != nil {
			families = append(families, family)
		}
		return si, err
	})
	if err != nil || len(families) == 0 {
		return out, err
	}
	_, err = tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, $2)
		WHERE family IN (SELECT family FROM refresh_tokens WHERE hash = ANY($1))`, families, now)
	return out, err
}

// sessionUser is the audit log's object of a session: its user's id, or "oidc:" and the
// identity provider's subject.
func sessionUser(si *domain.SessionInfo) string {
	if si.UserID != "" {
		return si.UserID
	}
	return "oidc:" + si.Subject
}

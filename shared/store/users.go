package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

const userColumns = `id, username, display_name, coalesce(password_hash, ''), disabled, source, created_at, updated_at`

func scanUser(row pgx.Row) (*domain.User, error) {
	var u domain.User
	if err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.PasswordHash, &u.Disabled, &u.Source, &u.CreatedAt, &u.UpdatedAt); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return &u, nil
}

// CreateUser stores u. It returns an error wrapping domain.ErrConflict when the username is
// taken (usernames compare without case).
func (s *Store) CreateUser(ctx context.Context, u *domain.User) error {
	change := Change{Action: "user.create", ObjectKind: "user", ObjectID: u.ID, Namespace: domain.AllNamespaces, After: u}
	return translate("create user", s.inTx(ctx, &change, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO users (id, username, display_name, password_hash, disabled, source, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, u.ID, u.Username, u.DisplayName, nullable(u.PasswordHash), u.Disabled, u.Source, u.CreatedAt)
		return err
	}))
}

// GetUser returns the user with id, or an error wrapping domain.ErrNotFound.
func (s *Store) GetUser(ctx context.Context, id string) (*domain.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	return u, translate("get user", err)
}

// UserByName returns the user called username (any case), or an error wrapping
// domain.ErrNotFound.
func (s *Store) UserByName(ctx context.Context, username string) (*domain.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE lower(username) = lower($1)`, username))
	return u, translate("get user by name", err)
}

// ListUsers returns up to limit users ordered by username, after the username after.
func (s *Store) ListUsers(ctx context.Context, after string, limit int) ([]*domain.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users WHERE lower(username) > lower($1)
		ORDER BY lower(username) LIMIT $2`, after, limit)
	if err != nil {
		return nil, translate("list users", err)
	}
	defer rows.Close()
	var out []*domain.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, translate("list users", err)
		}
		out = append(out, u)
	}
	return out, translate("list users", rows.Err())
}

// UpdateUser writes u's display name, password hash and disabled flag. Disabling a user or
// changing their password also revokes their refresh tokens, so no session outlives it. It
// returns the stored user, or an error wrapping domain.ErrNotFound.
func (s *Store) UpdateUser(ctx context.Context, u *domain.User, now time.Time) (*domain.User, error) {
	var out *domain.User
	change := Change{Action: "user.update", ObjectKind: "user", ObjectID: u.ID, Namespace: domain.AllNamespaces}
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		before, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1 FOR UPDATE`, u.ID))
		if err != nil {
			return err
		}
		out, err = scanUser(tx.QueryRow(ctx, `UPDATE users SET display_name = $2, password_hash = $3, disabled = $4, updated_at = $5
			WHERE id = $1 RETURNING `+userColumns, u.ID, u.DisplayName, nullable(u.PasswordHash), u.Disabled, now))
		if err != nil {
			return err
		}
		change.Before, change.After = before, userChange{out, out.PasswordHash != before.PasswordHash}
		if (out.Disabled && !before.Disabled) || out.PasswordHash != before.PasswordHash {
			_, err = tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL`, u.ID, now)
		}
		return err
	})
	return out, translate("update user", err)
}

// DeleteUser deletes the user with id with their bindings and tokens; it returns an error
// wrapping domain.ErrNotFound when there is none.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	change := Change{Action: "user.delete", ObjectKind: "user", ObjectID: id, Namespace: domain.AllNamespaces}
	return translate("delete user", s.inTx(ctx, &change, func(tx pgx.Tx) error {
		u, err := scanUser(tx.QueryRow(ctx, `DELETE FROM users WHERE id = $1 RETURNING `+userColumns, id))
		change.Before = u
		return err
	}))
}

// BoundRole is a role binding that applies to someone, with the role's permissions when it is a
// custom role (nil for a built-in one, which the caller resolves).
type BoundRole struct {
	Role        string
	Namespace   string
	Permissions []domain.Permission
	Custom      bool
}

// BindingsFor returns the bindings of the user with userID ("" for none) and of groups.
func (s *Store) BindingsFor(ctx context.Context, userID string, groups []string) ([]BoundRole, error) {
	rows, err := s.pool.Query(ctx, `SELECT b.role, b.namespace, r.permissions, r.name IS NOT NULL
		FROM role_bindings b LEFT JOIN roles r ON r.name = b.role
		WHERE b.user_id = $1::uuid OR b.group_name = ANY($2)`, nullable(userID), groups)
	if err != nil {
		return nil, translate("bindings of user", err)
	}
	defer rows.Close()
	var out []BoundRole
	for rows.Next() {
		var (
			b     BoundRole
			perms []string
		)
		if err := rows.Scan(&b.Role, &b.Namespace, &perms, &b.Custom); err != nil {
			return nil, translate("bindings of user", err)
		}
		for _, p := range perms {
			b.Permissions = append(b.Permissions, domain.Permission(p))
		}
		out = append(out, b)
	}
	return out, translate("bindings of user", rows.Err())
}

// CreateBinding stores b; it returns an error wrapping domain.ErrConflict when the same binding
// exists, or domain.ErrNotFound when its user does not.
func (s *Store) CreateBinding(ctx context.Context, b *domain.RoleBinding) error {
	change := Change{Action: "role_binding.create", ObjectKind: "role_binding", ObjectID: b.ID, Namespace: b.Namespace, After: b}
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO role_bindings (id, role, user_id, group_name, namespace, created_at)
			VALUES ($1, $2, $3::uuid, $4, $5, $6)`, b.ID, b.Role, nullable(b.UserID), nullable(b.Group), b.Namespace, b.CreatedAt)
		return err
	})
	if isForeignKey(err) {
		return fmt.Errorf("user %s: %w", b.UserID, domain.ErrNotFound)
	}
	return translate("create role binding", err)
}

// ListBindings returns the bindings, of one user when userID is set.
func (s *Store) ListBindings(ctx context.Context, userID string) ([]*domain.RoleBinding, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, role, coalesce(user_id::text, ''), coalesce(group_name, ''), namespace, created_at
		FROM role_bindings WHERE $1::uuid IS NULL OR user_id = $1::uuid ORDER BY created_at, id`, nullable(userID))
	if err != nil {
		return nil, translate("list role bindings", err)
	}
	return collectBindings(rows)
}

func collectBindings(rows pgx.Rows) ([]*domain.RoleBinding, error) {
	defer rows.Close()
	var out []*domain.RoleBinding
	for rows.Next() {
		var b domain.RoleBinding
		if err := rows.Scan(&b.ID, &b.Role, &b.UserID, &b.Group, &b.Namespace, &b.CreatedAt); err != nil {
			return nil, translate("list role bindings", err)
		}
		b.CreatedAt = b.CreatedAt.UTC()
		out = append(out, &b)
	}
	return out, translate("list role bindings", rows.Err())
}

// DeleteBinding deletes the binding with id and returns it; it returns an error wrapping
// domain.ErrNotFound when there is none.
func (s *Store) DeleteBinding(ctx context.Context, id string) (*domain.RoleBinding, error) {
	change := Change{Action: "role_binding.delete", ObjectKind: "role_binding", ObjectID: id}
	var deleted *domain.RoleBinding
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM role_bindings WHERE id = $1
			RETURNING id, role, coalesce(user_id::text, ''), coalesce(group_name, ''), namespace, created_at`, id)
		if err != nil {
			return err
		}
		list, err := collectBindings(rows)
		if err == nil && len(list) == 0 {
			return fmt.Errorf("delete role binding: %w", domain.ErrNotFound)
		}
		if err == nil {
			deleted = list[0]
			change.Before, change.Namespace = list[0], list[0].Namespace
		}
		return err
	})
	return deleted, translate("delete role binding", err)
}

// PutRole creates or replaces the custom role r; created says which.
func (s *Store) PutRole(ctx context.Context, r *domain.Role, now time.Time) (created bool, err error) {
	change := Change{Action: "role.put", ObjectKind: "role", ObjectID: r.Name, Namespace: domain.AllNamespaces, After: r}
	err = s.inTx(ctx, &change, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO roles (name, description, permissions, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
			ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, permissions = EXCLUDED.permissions, updated_at = $4
			RETURNING (xmax = 0)`, r.Name, r.Description, r.Permissions, now).Scan(&created)
	})
	return created, translate("put role", err)
}

// ListRoles returns the custom roles by name.
func (s *Store) ListRoles(ctx context.Context) ([]*domain.Role, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, description, permissions FROM roles ORDER BY name`)
	if err != nil {
		return nil, translate("list roles", err)
	}
	defer rows.Close()
	var out []*domain.Role
	for rows.Next() {
		var r domain.Role
		if err := rows.Scan(&r.Name, &r.Description, &r.Permissions); err != nil {
			return nil, translate("list roles", err)
		}
		out = append(out, &r)
	}
	return out, translate("list roles", rows.Err())
}

// DeleteRole deletes the custom role name. It returns an error wrapping domain.ErrNotFound when
// there is none, and domain.ErrConflict while a binding still grants it.
func (s *Store) DeleteRole(ctx context.Context, name string) error {
	change := Change{Action: "role.delete", ObjectKind: "role", ObjectID: name, Namespace: domain.AllNamespaces}
	return translate("delete role", s.inTx(ctx, &change, func(tx pgx.Tx) error {
		var bound bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM role_bindings WHERE role = $1)`, name).Scan(&bound); err != nil {
			return err
		}
		if bound {
			return fmt.Errorf("role %s is bound: %w", name, domain.ErrConflict)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM roles WHERE name = $1`, name)
		if err == nil && tag.RowsAffected() == 0 {
			return domain.ErrNotFound
		}
		return err
	}))
}

// userChange is a user as the audit log shows it after a change: the hash never, but whether
// the password changed.
type userChange struct {
	*domain.User
	PasswordChanged bool `json:"password_changed"`
}

// HasUsers reports whether any user exists.
func (s *Store) HasUsers(ctx context.Context) (bool, error) {
	var found bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users)`).Scan(&found)
	return found, translate("look for users", err)
}

// CreateFirstUser stores u and the role binding b, audited as user.create and
// role_binding.create, in one transaction, when no user exists at all. It returns false and
// stores nothing when one does. Replicas starting together may all call it: one creates the
// user, the others find it.
func (s *Store) CreateFirstUser(ctx context.Context, u *domain.User, b *domain.RoleBinding) (bool, error) {
	created := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// SHARE ROW EXCLUSIVE conflicts with itself and with every insert into users: between
		// looking and inserting, neither another replica's start nor any other path adds a user.
		// It is held until commit, taken only by a start that found no user.
		if _, err := tx.Exec(ctx, `LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		var found bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users)`).Scan(&found); err != nil || found {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO users (id, username, display_name, password_hash, disabled, source, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, u.ID, u.Username, u.DisplayName, nullable(u.PasswordHash), u.Disabled, u.Source, u.CreatedAt); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO role_bindings (id, role, user_id, group_name, namespace, created_at)
			VALUES ($1, $2, $3::uuid, $4, $5, $6)`, b.ID, b.Role, nullable(b.UserID), nullable(b.Group), b.Namespace, b.CreatedAt); err != nil {
			return err
		}
		if err := s.record(ctx, tx, Change{Action: "user.create", ObjectKind: "user", ObjectID: u.ID, Namespace: domain.AllNamespaces, After: u}); err != nil {
			return err
		}
		if err := s.record(ctx, tx, Change{Action: "role_binding.create", ObjectKind: "role_binding", ObjectID: b.ID, Namespace: b.Namespace, After: b}); err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return false, translate("create first user", err)
	}
	return created, nil
}

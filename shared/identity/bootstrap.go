package identity

import (
	"context"
	"crypto/rand"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
)

// BootstrapStore is what Bootstrap needs of the database.
type BootstrapStore interface {
	UserByName(ctx context.Context, username string) (*domain.User, error)
	CreateUser(ctx context.Context, u *domain.User) error
	UpdateUser(ctx context.Context, u *domain.User, now time.Time) (*domain.User, error)
	CreateBinding(ctx context.Context, b *domain.RoleBinding) error
}

// Bootstrap makes sure the user username exists with the admin role for all namespaces, so a
// fresh installation can be signed into. A new user gets password, or a random one when it is
// empty; an existing user keeps theirs unless password is given. It returns the password to
// show when it set one ("" when nothing changed). Only the hash is stored.
func Bootstrap(ctx context.Context, st BootstrapStore, username, password string, now time.Time) (string, error) {
	now = now.UTC().Truncate(time.Microsecond)
	u, err := st.UserByName(ctx, username)
	switch {
	case errors.Is(err, domain.ErrNotFound):
	case err != nil:
		return "", err
	case password == "":
		return "", nil
	default:
		if err := auth.ValidatePassword(password); err != nil {
			return "", errors.New("admin password: " + err.Error())
		}
		if u.PasswordHash, err = auth.HashPassword(password); err != nil {
			return "", err
		}
		u.Disabled = false
		_, err = st.UpdateUser(ctx, u, now)
		return password, err
	}
	if password == "" {
		password = RandomPassword()
	} else if err := auth.ValidatePassword(password); err != nil {
		return "", errors.New("admin password: " + err.Error())
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return "", err
	}
	u = &domain.User{ID: uuid.NewString(), Username: username, DisplayName: "Administrator", PasswordHash: hash,
		Source: domain.UserSourceDatabase, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateUser(ctx, u); err != nil {
		return "", err
	}
	b := &domain.RoleBinding{ID: uuid.NewString(), Role: rbac.RoleAdmin, UserID: u.ID, Namespace: domain.AllNamespaces, CreatedAt: now}
	return password, st.CreateBinding(ctx, b)
}

// RandomPassword returns a password of 128 random bits (26 base32 characters).
func RandomPassword() string { return rand.Text() }

package identity

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/store"
)

// FirstAdmin is the user auth.bootstrap_admin asks for, with the password read from
// auth.bootstrap_password_file. Printing it shows the username only.
type FirstAdmin struct {
	Username string
	password string
}

// String returns the username: the password never reaches a log line through it.
func (f FirstAdmin) String() string { return f.Username }

// GoString is String, for %#v.
func (f FirstAdmin) GoString() string { return f.Username }

// FirstAdmin returns the user auth.bootstrap_admin names, with its password read from
// auth.bootstrap_password_file, or nil when auth.bootstrap_admin is empty. It is checked on
// every start, whether or not the user will be created, so a wrong setting shows at once. It
// fails with an error naming the setting, never quoting the password, when the name is not a
// valid username, the file cannot be read, or the password is empty or too weak.
func (c Config) FirstAdmin() (*FirstAdmin, error) {
	switch {
	case c.BootstrapAdmin == "" && c.BootstrapPasswordFile == "":
		return nil, nil
	case c.BootstrapAdmin == "":
		return nil, errors.New("auth.bootstrap_admin: required with auth.bootstrap_password_file: name the user to create")
	case c.BootstrapPasswordFile == "":
		return nil, errors.New("auth.bootstrap_password_file: required with auth.bootstrap_admin: the file holding its password")
	case !domain.ValidUsername(c.BootstrapAdmin):
		return nil, fmt.Errorf("auth.bootstrap_admin: %q is not a username: %s", c.BootstrapAdmin, domain.UsernameRule)
	case !c.Has(ModeDatabase):
		return nil, fmt.Errorf("auth.bootstrap_admin: the user signs in with a password, which needs %s among auth.modes", ModeDatabase)
	}
	b, err := os.ReadFile(c.BootstrapPasswordFile)
	if err != nil {
		// The path is configuration, not the secret: the error says which file.
		return nil, fmt.Errorf("auth.bootstrap_password_file: %w", err)
	}
	// `echo password > file` adds a line break no one means as part of the password.
	password := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if password == "" {
		return nil, errors.New("auth.bootstrap_password_file: the file is empty")
	}
	if err := auth.ValidatePassword(password); err != nil {
		return nil, fmt.Errorf("auth.bootstrap_password_file: the password %w", err)
	}
	return &FirstAdmin{Username: c.BootstrapAdmin, password: password}, nil
}

// FirstAdminStore is what CreateFirstAdmin needs of the database.
type FirstAdminStore interface {
	HasUsers(ctx context.Context) (bool, error)
	CreateFirstUser(ctx context.Context, u *domain.User, b *domain.RoleBinding) (bool, error)
}

var _ FirstAdminStore = (*store.Store)(nil)

// CreateFirstAdmin creates the user f with the admin role for all namespaces when no user
// exists at all, and reports whether it did. Once any user exists it changes nothing, whatever
// the password: it is the first sign-in of an installation, not a reset (vecron dev's
// Bootstrap is one). The user, its binding and their audit records are one transaction, so
// replicas starting together create the user once. Only the password's hash is stored.
func CreateFirstAdmin(ctx context.Context, st FirstAdminStore, f *FirstAdmin, now time.Time) (bool, error) {
	// Every later start of every replica stops here, without hashing or locking anything.
	found, err := st.HasUsers(ctx)
	if err != nil || found {
		return false, err
	}
	hash, err := auth.HashPassword(f.password)
	if err != nil {
		return false, err
	}
	now = now.UTC().Truncate(time.Microsecond)
	u := &domain.User{ID: uuid.NewString(), Username: f.Username, DisplayName: "Administrator", PasswordHash: hash,
		Source: domain.UserSourceDatabase, CreatedAt: now, UpdatedAt: now}
	b := &domain.RoleBinding{ID: uuid.NewString(), Role: rbac.RoleAdmin, UserID: u.ID, Namespace: domain.AllNamespaces, CreatedAt: now}
	// The audit log records the api itself, by its configuration, as the creator.
	ctx = domain.WithActor(ctx, domain.Actor{ID: "vecron-api", Name: "auth.bootstrap_admin", Kind: string(rbac.KindSystem)})
	return st.CreateFirstUser(ctx, u, b)
}

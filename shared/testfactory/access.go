package testfactory

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/identity"
	"github.com/vecron/vecron/shared/redisconn"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
)

// Password is the password of the users this package creates.
const Password = "correct horse battery staple"

// SigningKey returns a fresh signing key for the API's access tokens, as auth.signing_keys
// takes it.
func SigningKey(t testing.TB) string {
	t.Helper()
	k, err := secret.NewKeyOfSize("test", 32)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// AuthConfig returns a database-mode sign-in configuration with a fresh signing key.
func AuthConfig(t testing.TB) identity.Config {
	t.Helper()
	c := identity.DefaultConfig()
	c.SigningKeys = SigningKey(t)
	return c
}

// Identity returns the sign-in service over st for cfg, its failed-login counters in Redis
// under a key prefix of t's own.
func Identity(t testing.TB, st *store.Store, cfg identity.Config, now func() time.Time) *identity.Service {
	t.Helper()
	url, prefix := testenv.RedisURL(t)
	rdb, err := redisconn.Open(redisconn.Config{URL: url}, "login", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	lim := auth.NewLoginLimiter(rdb, auth.LoginLimitConfig{MaxFailures: cfg.LoginFailures, Window: cfg.LoginWindow, Prefix: prefix})
	s, err := identity.New(st, cfg, identity.Deps{Limiter: lim}, now)
	if err != nil {
		t.Fatalf("identity service: %v", err)
	}
	return s
}

// passwordHash is Password's hash, made once: argon2id is slow by design.
var passwordHash = sync.OnceValues(func() (string, error) { return auth.HashPassword(Password) })

// UserOpts say which role a new user holds where; a zero Role grants nothing.
type UserOpts struct {
	Username  string
	Role      string
	Namespace string
	Disabled  bool
}

// User creates a database user whose password is Password.
func User(t testing.TB, st *store.Store, o UserOpts) *domain.User {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	if o.Username == "" {
		o.Username = "user-" + uuid.NewString()[:8]
	}
	hash, err := passwordHash()
	if err != nil {
		t.Fatal(err)
	}
	u := &domain.User{ID: uuid.NewString(), Username: o.Username, PasswordHash: hash, Disabled: o.Disabled,
		Source: domain.UserSourceDatabase, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatalf("create user: %v", err)
	}
	if o.Role != "" {
		if o.Namespace == "" {
			o.Namespace = domain.AllNamespaces
		}
		b := &domain.RoleBinding{ID: uuid.NewString(), Role: o.Role, UserID: u.ID, Namespace: o.Namespace, CreatedAt: now}
		if err := st.CreateBinding(ctx, b); err != nil {
			t.Fatalf("bind role: %v", err)
		}
	}
	return u
}

// APIToken creates an API token of the user with userID carrying scopes in ns (every
// permission in every namespace when scopes is nil) and returns it.
func APIToken(t testing.TB, st *store.Store, userID string, ns string, scopes []domain.Permission) string {
	t.Helper()
	token, hash, err := auth.NewOpaqueToken(auth.APITokenPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if scopes == nil {
		scopes = domain.Permissions()
	}
	if ns == "" {
		ns = domain.AllNamespaces
	}
	tok := &domain.APIToken{ID: uuid.NewString(), UserID: userID, Name: "test", Scopes: scopes, Namespace: ns,
		CreatedAt: time.Now().UTC().Truncate(time.Microsecond), Hash: hash}
	if err := st.CreateAPIToken(context.Background(), tok); err != nil {
		t.Fatalf("create api token: %v", err)
	}
	return token
}

// AdminToken creates an admin for all namespaces and returns an API token that may do
// everything: for tests of other features than access control.
func AdminToken(t testing.TB, st *store.Store) string {
	t.Helper()
	u := User(t, st, UserOpts{Role: "admin"})
	return APIToken(t, st, u.ID, domain.AllNamespaces, nil)
}

// AuditKeys returns fresh keys for the audit chain.
func AuditKeys(t testing.TB) *audit.Keys {
	t.Helper()
	k, err := audit.Config{Keys: AuditKey(t)}.Load()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// AuditKey returns a fresh audit key as audit.keys takes it.
func AuditKey(t testing.TB) string {
	t.Helper()
	k, err := secret.NewKeyOfSize("test", audit.KeySize)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Package identity is the use case of signing in: it checks passwords, issues and refreshes the
// API's access tokens, and turns any bearer credential the API receives (an access token of its
// own, an OIDC access token, an API token) into an rbac.Identity.
package identity

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/auth/oidclogin"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/store"
)

// Errors the API maps to answers.
var (
	// ErrUnauthenticated: no credential, or one that is not (or no longer) valid.
	ErrUnauthenticated = errors.New("not signed in")
	// ErrBadCredentials: a login whose username or password is wrong; which one is never said.
	ErrBadCredentials = errors.New("wrong username or password")
	// ErrModeOff: a database-mode operation while only OIDC is on.
	ErrModeOff = errors.New("sign-in with a password is not enabled")
	// ErrOIDCLoginOff: a sign-in through the identity provider while it is not configured.
	ErrOIDCLoginOff = errors.New("sign-in through the identity provider is not enabled")
)

// RateLimitedError refuses a login after too many failures.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("too many failed logins; try again in %s", e.RetryAfter.Round(time.Second))
}

// Store is what the service needs of the database.
type Store interface {
	GetUser(ctx context.Context, id string) (*domain.User, error)
	UserByName(ctx context.Context, username string) (*domain.User, error)
	UpdateUser(ctx context.Context, u *domain.User, now time.Time) (*domain.User, error)
	BindingsFor(ctx context.Context, userID string, groups []string) ([]store.BoundRole, error)
	CreateRefreshToken(ctx context.Context, rt *domain.RefreshToken, now time.Time) error
	RotateRefreshToken(ctx context.Context, hash []byte, next *domain.RefreshToken, now time.Time) (string, error)
	RevokeRefreshFamily(ctx context.Context, hash []byte, now time.Time) error
	APITokenByHash(ctx context.Context, hash []byte) (*domain.APIToken, error)
	TouchAPIToken(ctx context.Context, id string, now time.Time) error
	Record(ctx context.Context, c store.Change) error
}

var _ Store = (*store.Store)(nil)

// Tokens answer a login or a refresh.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

// touchEvery spaces the writes of an API token's last-used time: a busy pipeline must not
// write a row per request.
const touchEvery = time.Minute

// Service signs users in and authenticates requests.
type Service struct {
	st      Store
	cfg     Config
	signer  *auth.Signer
	oidc    *auth.OIDC
	login   *oidclogin.Login
	limiter *auth.LoginLimiter
	now     func() time.Time
	grants  []oidcGrant
	proxies []netip.Prefix

	mu      sync.Mutex
	users   map[string]cachedUser
	touched map[string]time.Time
}

type cachedUser struct {
	user   *domain.User
	grants []domain.Grant
	err    error
	at     time.Time
}

// Deps are the service's collaborators besides the store; nil ones switch their feature off.
type Deps struct {
	// Limiter limits failed logins; required in database mode.
	Limiter *auth.LoginLimiter
	// OIDC verifies identity-provider tokens; required in oidc mode.
	OIDC *auth.OIDC
	// OIDCLogin is the dashboard's sign-in through the identity provider; required when
	// auth.oidc_login.client_id is set.
	OIDCLogin *oidclogin.Login
}

// New returns the service for cfg, reading the signing keys it names. It fails with an error
// naming the setting when the configuration is not usable.
func New(st Store, cfg Config, deps Deps, now func() time.Time) (*Service, error) {
	grants, proxies, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	s := &Service{st: st, cfg: cfg, oidc: deps.OIDC, login: deps.OIDCLogin, limiter: deps.Limiter, now: now, grants: grants, proxies: proxies,
		users: map[string]cachedUser{}, touched: map[string]time.Time{}}
	if s.cfg.CacheTTL == 0 {
		s.cfg.CacheTTL = CacheTTLDefault
	}
	if s.cfg.RefreshTTL == 0 {
		s.cfg.RefreshTTL = RefreshTTLDefault
	}
	if cfg.Has(ModeDatabase) {
		keys, err := secret.ReadKeyList("auth.signing_keys", cfg.SigningKeys, cfg.SigningKeysFile, ed25519.SeedSize)
		if err != nil {
			return nil, err
		}
		if s.signer, err = auth.NewSigner(keys, cfg.signerConfig(), now); err != nil {
			return nil, err
		}
		if deps.Limiter == nil {
			return nil, errors.New("auth: the login limit needs Redis (redis.url) in database mode")
		}
	}
	if cfg.Has(ModeOIDC) && deps.OIDC == nil {
		return nil, errors.New("auth.oidc.issuer: required in oidc mode")
	}
	switch {
	case cfg.OIDCLogin.Enabled() && deps.OIDCLogin == nil:
		return nil, errors.New("auth.oidc_login.client_id: set, but the sign-in through the identity provider was not built")
	case !cfg.OIDCLogin.Enabled() && deps.OIDCLogin != nil:
		return nil, errors.New("auth.oidc_login.client_id: required by the sign-in through the identity provider")
	}
	return s, nil
}

// Signer returns the signer of the API's access tokens (nil without database mode).
func (s *Service) Signer() *auth.Signer { return s.signer }

// Login checks a username and password and issues tokens. It returns ErrBadCredentials for a
// wrong username or password or a disabled user alike, after the same work, or a
// *RateLimitedError. The user is returned when it exists, for the audit log.
func (s *Service) Login(ctx context.Context, username, password, ip string) (*Tokens, *domain.User, error) {
	if s.signer == nil {
		return nil, nil, ErrModeOff
	}
	wait, err := s.limiter.Reserve(ctx, ip, username)
	if err != nil {
		return nil, nil, fmt.Errorf("login limit: %w", err)
	}
	if wait > 0 {
		return nil, nil, &RateLimitedError{RetryAfter: wait}
	}
	u, err := s.st.UserByName(ctx, username)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		u = nil
	case err != nil:
		return nil, nil, err
	}
	ok := false
	if u == nil || u.PasswordHash == "" {
		// An unknown user costs one password hash like a known one, so timing tells nothing.
		auth.DummyVerify(password)
	} else if ok, err = auth.VerifyPassword(u.PasswordHash, password); err != nil {
		return nil, u, fmt.Errorf("user %s: stored password hash: %w", u.ID, err)
	}
	if !ok || u.Disabled {
		// Reserve counted the failure already.
		// The name tried is kept only when it is a user's: an unknown one is too often a
		// password typed into the wrong field, and the audit log keeps what it is given forever.
		failed := store.Change{Action: "auth.login_failed", ObjectKind: "user", Namespace: domain.AllNamespaces,
			After: map[string]string{"username": "(unknown)"}}
		if u != nil {
			failed.ObjectID, failed.After = u.ID, map[string]string{"username": u.Username}
		}
		if err := s.st.Record(ctx, failed); err != nil {
			return nil, u, err
		}
		return nil, u, ErrBadCredentials
	}
	// From here the caller is known: the login is recorded as theirs.
	if a, ok := domain.ActorFrom(ctx); ok {
		a.ID, a.Name, a.Kind, a.Mode = u.ID, u.Username, string(rbac.KindUser), ModeDatabase
		ctx = domain.WithActor(ctx, a)
	}
	if err := s.limiter.Release(ctx, ip, username); err != nil {
		return nil, u, fmt.Errorf("login limit: %w", err)
	}
	if auth.NeedsRehash(u.PasswordHash) {
		if h, err := auth.HashPassword(password); err == nil {
			u.PasswordHash = h
			// Not fatal: the old hash still works, and the next login tries again.
			if nu, err := s.st.UpdateUser(ctx, u, s.now().UTC()); err == nil {
				u = nu
			}
		}
	}
	t, err := s.issue(ctx, u.ID, "")
	return t, u, err
}

// issue returns a new access token for the user with userID with refresh, the refresh token
// already stored for it, or, when refresh is empty, the first of a new family.
func (s *Service) issue(ctx context.Context, userID, refresh string) (*Tokens, error) {
	access, exp, err := s.signer.Issue(userID)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if refresh == "" {
		var hash []byte
		if refresh, hash, err = auth.NewOpaqueToken(auth.RefreshTokenPrefix); err != nil {
			return nil, err
		}
		rt := &domain.RefreshToken{ID: uuid.NewString(), Family: uuid.NewString(), UserID: userID, Hash: hash, ExpiresAt: now.Add(s.cfg.RefreshTTL)}
		if err := s.st.CreateRefreshToken(ctx, rt, now); err != nil {
			return nil, err
		}
	}
	return &Tokens{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(exp.Sub(now).Round(time.Second).Seconds()), RefreshToken: refresh}, nil
}

// Refresh exchanges a refresh token for new tokens. It returns ErrUnauthenticated for a token
// that is unknown, expired, revoked, already used (which also revokes its family), or whose
// user is disabled or deleted.
func (s *Service) Refresh(ctx context.Context, refresh string) (*Tokens, error) {
	if s.signer == nil {
		return nil, ErrModeOff
	}
	hash, ok := auth.ParseOpaqueToken(auth.RefreshTokenPrefix, refresh)
	if !ok {
		return nil, ErrUnauthenticated
	}
	next, nextHash, err := auth.NewOpaqueToken(auth.RefreshTokenPrefix)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	rt := &domain.RefreshToken{ID: uuid.NewString(), Hash: nextHash, ExpiresAt: now.Add(s.cfg.RefreshTTL)}
	userID, err := s.st.RotateRefreshToken(ctx, hash, rt, now)
	switch {
	case errors.Is(err, domain.ErrNotFound), errors.Is(err, store.ErrRefreshReused):
		return nil, ErrUnauthenticated
	case err != nil:
		return nil, err
	}
	if _, err := s.user(ctx, userID); err != nil {
		return nil, err
	}
	return s.issue(ctx, userID, next)
}

// Logout revokes the refresh token's session. An unknown token is not an error.
func (s *Service) Logout(ctx context.Context, refresh string) error {
	hash, ok := auth.ParseOpaqueToken(auth.RefreshTokenPrefix, refresh)
	if !ok {
		return nil
	}
	return s.st.RevokeRefreshFamily(ctx, hash, s.now().UTC())
}

// Authenticate returns who presents the bearer credential. It returns ErrUnauthenticated for
// anything not valid now.
func (s *Service) Authenticate(ctx context.Context, bearer string) (*rbac.Identity, error) {
	switch {
	case bearer == "":
		return nil, ErrUnauthenticated
	case strings.HasPrefix(bearer, auth.APITokenPrefix):
		return s.apiToken(ctx, bearer)
	}
	if s.signer != nil {
		claims, err := s.signer.Verify(bearer)
		if err == nil {
			return s.userIdentity(ctx, claims.Subject, "database")
		}
	}
	if s.oidc != nil && auth.LooksLikeJWT(bearer) {
		oi, err := s.oidc.Verify(ctx, bearer)
		if err == nil {
			return s.OIDCIdentity(ctx, oi)
		}
	}
	return nil, ErrUnauthenticated
}

func (s *Service) apiToken(ctx context.Context, raw string) (*rbac.Identity, error) {
	hash, ok := auth.ParseOpaqueToken(auth.APITokenPrefix, raw)
	if !ok {
		return nil, ErrUnauthenticated
	}
	t, err := s.st.APITokenByHash(ctx, hash)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return nil, ErrUnauthenticated
	case err != nil:
		return nil, err
	}
	now := s.now().UTC()
	if t.RevokedAt != nil || (t.ExpiresAt != nil && !t.ExpiresAt.After(now)) {
		return nil, ErrUnauthenticated
	}
	creator, err := s.userIdentity(ctx, t.UserID, "token")
	if err != nil {
		return nil, err
	}
	s.touch(ctx, t.ID, now)
	return creator.Restrict(t.ID, t.Name, t.Namespace, t.Scopes), nil
}

// touch records a token's use at most every touchEvery. A failed write is not the request's
// failure: last-used is information, not access control.
func (s *Service) touch(ctx context.Context, id string, now time.Time) {
	s.mu.Lock()
	due := now.Sub(s.touched[id]) >= touchEvery
	if due {
		s.touched[id] = now
	}
	s.mu.Unlock()
	if due {
		_ = s.st.TouchAPIToken(ctx, id, now)
	}
}

// user returns the user with id if it may act: it returns ErrUnauthenticated for a deleted or
// disabled one. Answers are cached for CacheTTL.
func (s *Service) user(ctx context.Context, id string) (cachedUser, error) {
	now := s.now()
	s.mu.Lock()
	c, ok := s.users[id]
	s.mu.Unlock()
	if !ok || now.Sub(c.at) >= s.cfg.CacheTTL || now.Before(c.at) {
		c = cachedUser{at: now}
		c.user, c.err = s.st.GetUser(ctx, id)
		switch {
		case errors.Is(c.err, domain.ErrNotFound):
			c.err = ErrUnauthenticated
		case c.err != nil:
			return c, c.err // not cached: the database may be back next time
		case c.user.Disabled:
			c.err = ErrUnauthenticated
		default:
			bound, err := s.st.BindingsFor(ctx, id, nil)
			if err != nil {
				return c, err
			}
			c.grants = resolve(bound)
		}
		s.mu.Lock()
		s.users[id] = c
		s.mu.Unlock()
	}
	return c, c.err
}

func (s *Service) userIdentity(ctx context.Context, id, mode string) (*rbac.Identity, error) {
	c, err := s.user(ctx, id)
	if err != nil {
		return nil, err
	}
	return rbac.NewIdentity(id, c.user.Username, rbac.KindUser, mode, id, c.grants), nil
}

// OIDCLogin returns the dashboard's sign-in through the identity provider, or nil when it is
// off (auth.oidc_login.client_id not set). The dashboard shows a "Sign in with " +
// DisplayName() button when it is not nil, serves Start at /auth/oidc/start and
// FinishOIDCLogin at the callback (oidclogin.CallbackPath unless auth.oidc_login.redirect_url
// says otherwise).
func (s *Service) OIDCLogin() *oidclogin.Login { return s.login }

// FinishOIDCLogin completes a sign-in at the callback (see oidclogin.Login.Finish) and returns
// who signed in, as OIDCIdentity gives it, with the local path to send them to. The caller
// then starts its session for the identity (and records the sign-in in the audit log, as the
// store does for a password sign-in). Its grants are those of the moment; a caller that keeps
// a session asks the provider again when the ID token expires (the dashboard does, with
// oidclogin.Login.FinishGrant and Refresh). It returns an *oidclogin.Error for a sign-in that
// did not complete, ErrOIDCLoginOff when the sign-in is off, or the store's error.
func (s *Service) FinishOIDCLogin(w http.ResponseWriter, r *http.Request) (*rbac.Identity, string, error) {
	if s.login == nil {
		return nil, "", ErrOIDCLoginOff
	}
	oi, returnTo, err := s.login.Finish(w, r)
	if err != nil {
		return nil, "", err
	}
	id, err := s.OIDCIdentity(r.Context(), oi)
	if err != nil {
		return nil, "", err
	}
	return id, returnTo, nil
}

// OIDCIdentity returns who a verified OIDC identity (of a bearer token or of a sign-in's ID
// token) is to vecron: the user "oidc:<subject>", with the grants auth.oidc_roles gives its
// roles claim and the role bindings of its groups. A dashboard session that keeps the
// subject, username and roles may call it again for each request, so that bindings changed in
// vecron apply at once. It fails only when the store does.
func (s *Service) OIDCIdentity(ctx context.Context, oi *auth.OIDCIdentity) (*rbac.Identity, error) {
	var grants []domain.Grant
	for _, g := range s.grants {
		for _, r := range oi.Roles {
			if r == g.value {
				grants = append(grants, resolve([]store.BoundRole{{Role: g.role, Namespace: g.namespace}})...)
			}
		}
	}
	bound, err := s.st.BindingsFor(ctx, "", oi.Roles)
	if err != nil {
		return nil, err
	}
	grants = append(grants, resolve(bound)...)
	id := rbac.NewIdentity("oidc:"+oi.Subject, oi.Username, rbac.KindUser, "oidc", "", grants)
	id.Groups = oi.Roles
	return id, nil
}

// resolve turns bindings into grants, looking up the built-in roles; a binding of a role that
// no longer exists grants nothing.
func resolve(bound []store.BoundRole) []domain.Grant {
	var out []domain.Grant
	for _, b := range bound {
		perms := b.Permissions
		if !b.Custom {
			r, ok := rbac.BuiltinRole(b.Role)
			if !ok {
				continue
			}
			perms = r.Permissions
		}
		out = append(out, domain.Grant{Namespace: b.Namespace, Permissions: perms})
	}
	return out
}

// Forget drops what is cached of the user with id, so a change made through this process takes
// effect at once here (other processes follow within CacheTTL).
func (s *Service) Forget(id string) {
	s.mu.Lock()
	delete(s.users, id)
	s.mu.Unlock()
}

// ClientAddr returns the address of the client of r: the remote address, or, when that is a
// trusted proxy, the last address of X-Forwarded-For that is not one.
func (s *Service) ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(addr) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return host
		}
		if !s.trusted(a) {
			return a.String()
		}
	}
	return host
}

func (s *Service) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ErrWrongPassword is returned by ChangePassword for a wrong current password.
var ErrWrongPassword = errors.New("the current password is wrong")

// ChangePassword sets the password of the database user with userID, given their current one.
// Wrong current passwords count against the login limit, so a stolen access token cannot be
// used to guess the password behind it. It returns ErrWrongPassword, a *RateLimitedError, or a
// *domain.ValidationError for a weak new password; the user's sessions end.
func (s *Service) ChangePassword(ctx context.Context, userID, current, next, ip string) error {
	u, err := s.st.GetUser(ctx, userID)
	if err != nil {
		return err
	}
	if s.limiter == nil {
		return ErrModeOff
	}
	wait, err := s.limiter.Reserve(ctx, ip, u.Username)
	if err != nil {
		return fmt.Errorf("login limit: %w", err)
	}
	if wait > 0 {
		return &RateLimitedError{RetryAfter: wait}
	}
	if ok, err := auth.VerifyPassword(u.PasswordHash, current); err != nil || !ok {
		return ErrWrongPassword // Reserve counted the failure already
	}
	if err := s.limiter.Release(ctx, ip, u.Username); err != nil {
		return fmt.Errorf("login limit: %w", err)
	}
	if err := auth.ValidatePassword(next); err != nil {
		return &domain.ValidationError{Fields: []domain.FieldError{{Field: "new_password", Reason: err.Error()}}}
	}
	if u.PasswordHash, err = auth.HashPassword(next); err != nil {
		return err
	}
	_, err = s.st.UpdateUser(ctx, u, s.now().UTC())
	return err
}

package identity_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/identity"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/redisconn"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

type env struct {
	st    *store.Store
	clock *clockwork.FakeClock
	svc   *identity.Service
	cfg   identity.Config
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, _ := testfactory.Store(t)
	clock := clockwork.NewFakeClockAt(time.Now())
	cfg := testfactory.AuthConfig(t)
	return &env{st: st, clock: clock, cfg: cfg, svc: testfactory.Identity(t, st, cfg, clock.Now)}
}

func (e *env) login(t *testing.T, username string) *identity.Tokens {
	t.Helper()
	tok, _, err := e.svc.Login(t.Context(), username, testfactory.Password, "192.0.2.7")
	require.NoError(t, err)
	return tok
}

func TestLoginIssuesTokensThatAuthenticate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := testfactory.User(t, e.st, testfactory.UserOpts{Role: rbac.RoleEditor, Namespace: "team-a"})
	tok := e.login(t, u.Username)
	require.Equal(t, "Bearer", tok.TokenType)
	require.InDelta(t, 900, tok.ExpiresIn, 1, "15 minutes by default")

	id, err := e.svc.Authenticate(t.Context(), tok.AccessToken)
	require.NoError(t, err)
	require.Equal(t, u.ID, id.Subject)
	require.True(t, id.Can(domain.PermJobWrite, "team-a"))
	require.False(t, id.Can(domain.PermJobWrite, "team-b"))

	// Usernames compare without case.
	_, _, err = e.svc.Login(t.Context(), "  "+u.Username, testfactory.Password, "192.0.2.7")
	require.ErrorIs(t, err, identity.ErrBadCredentials, "but are not trimmed")
}

// TestTamperedTokensAreRefused: each forged or stale credential is refused as not signed in.
func TestTamperedTokensAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := testfactory.User(t, e.st, testfactory.UserOpts{Role: rbac.RoleAdmin})
	good := e.login(t, u.Username).AccessToken
	keys, err := secret.ParseKeyList("k", e.cfg.SigningKeys, ed25519.SeedSize)
	require.NoError(t, err)
	priv := ed25519.NewKeyFromSeed(keys[0].Raw)
	pub := priv.Public().(ed25519.PublicKey)
	now := e.clock.Now()
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": auth.IssuerDefault, "aud": auth.AudienceDefault, "sub": u.ID, "jti": "x",
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Minute).Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	sign := func(method jwt.SigningMethod, key any, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(method, c)
		tok.Header["kid"] = keys[0].ID
		s, err := tok.SignedString(key)
		require.NoError(t, err)
		return s
	}
	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)

	require.NotEmpty(t, sign(jwt.SigningMethodEdDSA, priv, claims(nil)), "the forger's tools work")
	_, err = e.svc.Authenticate(t.Context(), sign(jwt.SigningMethodEdDSA, priv, claims(nil)))
	require.NoError(t, err, "a token signed right is accepted, so each refusal below is the tampering's")

	for name, token := range map[string]string{
		"AlgNone":            none,
		"HS256WithPublicKey": sign(jwt.SigningMethodHS256, []byte(pub), claims(nil)),
		"HS256WithB64Key":    sign(jwt.SigningMethodHS256, []byte(base64.StdEncoding.EncodeToString(pub)), claims(nil)),
		"WrongKey":           sign(jwt.SigningMethodEdDSA, otherKey, claims(nil)),
		"Expired":            sign(jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() })),
		"NotYetValid":        sign(jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Minute).Unix() })),
		"WrongIssuer":        sign(jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { c["iss"] = "someone-else" })),
		"WrongAudience":      sign(jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { c["aud"] = "other-api" })),
		"UnknownUser":        sign(jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { c["sub"] = "01900000-0000-7000-8000-000000000000" })),
		"Truncated":          good[:len(good)-3],
		"Garbage":            "not a token",
		"APITokenShaped":     "vcr_" + good[:40],
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := e.svc.Authenticate(t.Context(), token)
			require.ErrorIs(t, err, identity.ErrUnauthenticated)
		})
	}
}

// TestDisabledOrDeletedUserLocksOutWithinTheCache: a disabled or deleted user's access and API
// tokens stop working once the cache expires, and at once in the process that made the change.
func TestDisabledOrDeletedUserLocksOutWithinTheCache(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	u := testfactory.User(t, e.st, testfactory.UserOpts{Role: rbac.RoleAdmin})
	access := e.login(t, u.Username).AccessToken
	apiToken := testfactory.APIToken(t, e.st, u.ID, "", nil)
	for _, tok := range []string{access, apiToken} {
		_, err := e.svc.Authenticate(ctx, tok)
		require.NoError(t, err)
	}

	u.Disabled = true
	_, err := e.st.UpdateUser(ctx, u, time.Now())
	require.NoError(t, err)
	_, err = e.svc.Authenticate(ctx, access)
	require.NoError(t, err, "another process's change is seen when the cache expires, not before")
	e.clock.Advance(identity.CacheTTLDefault)
	for _, tok := range []string{access, apiToken} {
		_, err = e.svc.Authenticate(ctx, tok)
		require.ErrorIs(t, err, identity.ErrUnauthenticated)
	}

	v := testfactory.User(t, e.st, testfactory.UserOpts{Role: rbac.RoleAdmin})
	access = e.login(t, v.Username).AccessToken
	_, err = e.svc.Authenticate(ctx, access)
	require.NoError(t, err)
	require.NoError(t, e.st.DeleteUser(ctx, v.ID))
	e.svc.Forget(v.ID)
	_, err = e.svc.Authenticate(ctx, access)
	require.ErrorIs(t, err, identity.ErrUnauthenticated, "Forget applies a change at once")
	require.Less(t, identity.CacheTTLDefault, identity.CacheTTLMax+time.Nanosecond)
}

func TestRefreshRotatesAndAReplayRevokesTheSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	u := testfactory.User(t, e.st, testfactory.UserOpts{Role: rbac.RoleViewer})
	first := e.login(t, u.Username)

	second, err := e.svc.Refresh(ctx, first.RefreshToken)
	require.NoError(t, err)
	require.NotEqual(t, first.RefreshToken, second.RefreshToken)
	_, err = e.svc.Authenticate(ctx, second.AccessToken)
	require.NoError(t, err)

	// The first token again: a copy is in other hands, so the whole session ends.
	_, err = e.svc.Refresh(ctx, first.RefreshToken)
	require.ErrorIs(t, err, identity.ErrUnauthenticated)
	_, err = e.svc.Refresh(ctx, second.RefreshToken)
	require.ErrorIs(t, err, identity.ErrUnauthenticated, "the replay revoked the newer token too")

	// Logout revokes; refresh tokens expire.
	third := e.login(t, u.Username)
	require.NoError(t, e.svc.Logout(ctx, third.RefreshToken))
	_, err = e.svc.Refresh(ctx, third.RefreshToken)
	require.ErrorIs(t, err, identity.ErrUnauthenticated)
	fourth := e.login(t, u.Username)
	e.clock.Advance(identity.RefreshTTLDefault)
	_, err = e.svc.Refresh(ctx, fourth.RefreshToken)
	require.ErrorIs(t, err, identity.ErrUnauthenticated)

	// A disabled user cannot refresh.
	fifth := e.login(t, u.Username)
	u.Disabled = true
	_, err = e.st.UpdateUser(ctx, u, e.clock.Now())
	require.NoError(t, err)
	_, err = e.svc.Refresh(ctx, fifth.RefreshToken)
	require.ErrorIs(t, err, identity.ErrUnauthenticated)
}

// TestLoginAnswersAlikeAndIsLimited: an unknown user and a wrong password get the same answer,
// the unknown user's attempt runs the dummy hash, and five failures lock the name out with a
// Retry-After, whatever the password.
func TestLoginAnswersAlikeAndIsLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	u := testfactory.User(t, e.st, testfactory.UserOpts{Role: rbac.RoleViewer})

	before := auth.DummyVerifications()
	_, _, errUnknown := e.svc.Login(ctx, "nobody-"+u.Username, "whatever password", "192.0.2.10")
	require.Greater(t, auth.DummyVerifications(), before, "an unknown user costs one password hash")
	_, _, errWrong := e.svc.Login(ctx, u.Username, "wrong password!", "192.0.2.11")
	require.ErrorIs(t, errUnknown, identity.ErrBadCredentials)
	require.ErrorIs(t, errWrong, identity.ErrBadCredentials)
	require.Equal(t, errUnknown.Error(), errWrong.Error())

	for range auth.LoginMaxFailuresDefault - 1 {
		_, _, err := e.svc.Login(ctx, u.Username, "wrong password!", "192.0.2.11")
		require.ErrorIs(t, err, identity.ErrBadCredentials)
	}
	_, _, err := e.svc.Login(ctx, u.Username, testfactory.Password, "192.0.2.12")
	var limited *identity.RateLimitedError
	require.ErrorAs(t, err, &limited, "the right password from another address is refused too")
	require.Greater(t, limited.RetryAfter, time.Duration(0))
	require.LessOrEqual(t, limited.RetryAfter, auth.LoginWindowDefault)

	// The failures were recorded in the audit log, under the address they came from.
	rows, err := e.st.ListAudit(ctx, store.AuditFilter{Action: "auth.login_failed", Limit: 10})
	require.NoError(t, err)
	require.Empty(t, rows, "without an actor in the context (no API request), nothing is recorded")
}

func TestClientAddrBelievesOnlyTrustedProxies(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	cfg := testfactory.AuthConfig(t)
	cfg.TrustedProxies = []string{"10.0.0.0/8"}
	svc := testfactory.Identity(t, st, cfg, time.Now)
	for _, c := range []struct{ remote, xff, want string }{
		{"192.0.2.1:1234", "203.0.113.9", "192.0.2.1"},            // not a proxy: the header is anyone's
		{"10.1.2.3:1234", "203.0.113.9", "203.0.113.9"},           // a trusted proxy: its client
		{"10.1.2.3:1234", "203.0.113.9, 10.4.4.4", "203.0.113.9"}, // through two proxies
		{"10.1.2.3:1234", "1.1.1.1, 203.0.113.9", "203.0.113.9"},  // the client may prepend lies
		{"10.1.2.3:1234", "", "10.1.2.3"},                         // no header
		{"10.1.2.3:1234", "not-an-ip", "10.1.2.3"},                // a garbled header
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		require.Equal(t, c.want, svc.ClientAddr(r), "%+v", c)
	}
}

func TestConfigErrorsNameTheSetting(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	for _, c := range []struct {
		mod  func(*identity.Config)
		want string
	}{
		{func(c *identity.Config) { c.SigningKeys = "" }, "auth.signing_keys"},
		{func(c *identity.Config) { c.Modes = []string{"ldap"} }, "auth.modes"},
		{func(c *identity.Config) { c.CacheTTL = time.Minute }, "auth.cache_ttl"},
		{func(c *identity.Config) { c.OIDCRoles = []string{"admins=admin"} }, "auth.oidc_roles"},
		{func(c *identity.Config) { c.TrustedProxies = []string{"proxy.local"} }, "auth.trusted_proxies"},
		{func(c *identity.Config) { c.Modes = []string{identity.ModeOIDC} }, "auth.oidc.issuer"},
	} {
		cfg := testfactory.AuthConfig(t)
		c.mod(&cfg)
		_, err := identity.New(st, cfg, identity.Deps{Limiter: &auth.LoginLimiter{}}, time.Now)
		require.Error(t, err)
		require.Contains(t, err.Error(), c.want)
	}
	_, err := identity.New(st, testfactory.AuthConfig(t), identity.Deps{}, time.Now)
	require.ErrorContains(t, err, "redis", "database mode needs the login limit")
}

func TestBootstrapCreatesAnAdminOnce(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := context.Background()
	pw, err := identity.Bootstrap(ctx, st, "admin", "", time.Now())
	require.NoError(t, err)
	require.Len(t, pw, 26, "a random password")
	u, err := st.UserByName(ctx, "admin")
	require.NoError(t, err)
	require.NotContains(t, u.PasswordHash, pw, "only the hash is stored")
	ok, err := auth.VerifyPassword(u.PasswordHash, pw)
	require.NoError(t, err)
	require.True(t, ok)
	bound, err := st.BindingsFor(ctx, u.ID, nil)
	require.NoError(t, err)
	require.Equal(t, []store.BoundRole{{Role: rbac.RoleAdmin, Namespace: domain.AllNamespaces}}, bound)

	again, err := identity.Bootstrap(ctx, st, "admin", "", time.Now())
	require.NoError(t, err)
	require.Empty(t, again, "a second start keeps the password and shows none")

	reset, err := identity.Bootstrap(ctx, st, "admin", "a chosen password", time.Now())
	require.NoError(t, err)
	require.Equal(t, "a chosen password", reset)
	_, err = identity.Bootstrap(ctx, st, "admin", "short", time.Now())
	require.Error(t, err, "a weak chosen password is refused")
	require.False(t, errors.Is(err, domain.ErrConflict))
}

// issuer is an OIDC identity provider started in the test: discovery and a key set over HTTP,
// and an RSA key that signs its access tokens.
type issuer struct {
	url string
	key *rsa.PrivateKey
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	is := &issuer{key: key}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	is.url = srv.URL
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": is.url, "jwks_uri": is.url + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	return is
}

// token signs an access token for subject with roles in Keycloak's realm_access claim.
func (is *issuer) token(t *testing.T, subject string, roles ...string) string {
	t.Helper()
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": is.url, "aud": "vecron", "sub": subject, "preferred_username": "kc-" + subject,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"realm_access": map[string]any{"roles": roles},
	})
	tok.Header["kid"] = "k1"
	s, err := tok.SignedString(is.key)
	require.NoError(t, err)
	return s
}

// TestOIDCRolesMapToNamespaces: with both modes on, identity-provider tokens are accepted with
// roles from a nested claim, mapped by configuration and by group bindings, while database
// sign-in stays available as the break-glass way in.
func TestOIDCRolesMapToNamespaces(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	st, _ := testfactory.Store(t)
	ctx := t.Context()
	cfg := testfactory.AuthConfig(t)
	cfg.Modes = []string{identity.ModeDatabase, identity.ModeOIDC}
	cfg.OIDC = auth.OIDCConfig{Issuer: is.url, Audience: "vecron", RolesClaim: "realm_access.roles"}
	cfg.OIDCRoles = []string{"vecron-admins=admin@*", "team-a-dev=editor@team-a"}
	oidc, err := auth.NewOIDC(ctx, cfg.OIDC, nil, time.Now)
	require.NoError(t, err)
	url, prefix := testenv.RedisURL(t)
	rdb, err := redisconn.Open(redisconn.Config{URL: url}, "login", nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	svc, err := identity.New(st, cfg, identity.Deps{OIDC: oidc, Limiter: auth.NewLoginLimiter(rdb, auth.LoginLimitConfig{Prefix: prefix})}, time.Now)
	require.NoError(t, err)
	// A group bound through the API, as an admin would.
	require.NoError(t, st.CreateBinding(ctx, &domain.RoleBinding{ID: uuid.NewString(), Role: rbac.RoleOperator, Group: "ops",
		Namespace: "team-b", CreatedAt: time.Now().UTC()}))

	dev, err := svc.Authenticate(ctx, is.token(t, "ann", "team-a-dev", "ops", "offline_access"))
	require.NoError(t, err)
	require.Equal(t, "oidc", dev.Mode)
	require.Equal(t, "kc-ann", dev.Name)
	require.True(t, dev.Can(domain.PermJobWrite, "team-a"), "team-a-dev → editor in team-a, by configuration")
	require.True(t, dev.Can(domain.PermJobExecute, "team-b"), "ops → operator in team-b, by a group binding")
	require.False(t, dev.Can(domain.PermJobWrite, "team-b"))
	require.False(t, dev.Can(domain.PermUserAdmin, domain.AllNamespaces))

	admin, err := svc.Authenticate(ctx, is.token(t, "bob", "vecron-admins"))
	require.NoError(t, err)
	require.True(t, admin.Can(domain.PermUserAdmin, domain.AllNamespaces))

	nobody, err := svc.Authenticate(ctx, is.token(t, "eve"))
	require.NoError(t, err, "a valid token with no mapped role signs in and may do nothing")
	require.False(t, nobody.CanAnywhere(domain.PermJobRead))

	forged := is.token(t, "ann", "vecron-admins")
	_, err = svc.Authenticate(ctx, forged[:len(forged)-4]+"AAAA")
	require.ErrorIs(t, err, identity.ErrUnauthenticated)

	// Break glass: a database admin still signs in.
	u := testfactory.User(t, st, testfactory.UserOpts{Role: rbac.RoleAdmin})
	tok, _, err := svc.Login(ctx, u.Username, testfactory.Password, "192.0.2.1")
	require.NoError(t, err)
	_, err = svc.Authenticate(ctx, tok.AccessToken)
	require.NoError(t, err)
}

// TestLoginLimitHoldsAgainstABurst: guesses sent at the same moment get no more tries than
// guesses sent one by one.
func TestLoginLimitHoldsAgainstABurst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := testfactory.User(t, e.st, testfactory.UserOpts{Role: rbac.RoleViewer})
	const n = 30
	var (
		wg              sync.WaitGroup
		checked, barred atomic.Int64
	)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			_, _, err := e.svc.Login(t.Context(), u.Username, "a wrong guess!", "192.0.2.50")
			var limited *identity.RateLimitedError
			switch {
			case errors.Is(err, identity.ErrBadCredentials):
				checked.Add(1)
			case errors.As(err, &limited):
				barred.Add(1)
			default:
				t.Errorf("unexpected answer: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	require.Equal(t, int64(auth.LoginMaxFailuresDefault), checked.Load(), "only the allowed guesses had their password checked")
	require.Equal(t, int64(n-auth.LoginMaxFailuresDefault), barred.Load())
	_, _, err := e.svc.Login(t.Context(), u.Username, testfactory.Password, "192.0.2.51")
	var limited *identity.RateLimitedError
	require.ErrorAs(t, err, &limited, "the right password after the burst waits out the window too")
}

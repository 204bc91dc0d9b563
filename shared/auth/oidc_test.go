package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/testenv"
)

// testNow is far from the wall clock, so a test passing shows that exp and nbf are judged by
// the injected clock.
var testNow = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

func fixedNow() time.Time { return testNow }

const testAudience = "vecron"

// testSigner is one of the issuer's signing keys.
type testSigner struct {
	kid    string
	method jwt.SigningMethod
	key    crypto.Signer
}

func newRSASigner(t testing.TB, kid string, method jwt.SigningMethod) *testSigner {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return &testSigner{kid: kid, method: method, key: key}
}

func newECSigner(t testing.TB, kid string) *testSigner {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return &testSigner{kid: kid, method: jwt.SigningMethodES256, key: key}
}

func newEdSigner(t testing.TB, kid string) *testSigner {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return &testSigner{kid: kid, method: jwt.SigningMethodEdDSA, key: key}
}

func (s *testSigner) sign(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(s.method, claims)
	tok.Header["kid"] = s.kid
	raw, err := tok.SignedString(s.key)
	require.NoError(t, err)
	return raw
}

// jwksMode is how the test issuer answers for its key set.
type jwksMode int32

const (
	jwksServe jwksMode = iota
	jwksFail
	jwksHang
)

// testIssuer is a real OIDC issuer as far as discovery and keys go: it serves
// /.well-known/openid-configuration and a key set that the test changes at will.
type testIssuer struct {
	srv     *httptest.Server
	fetches atomic.Int64
	mode    atomic.Int32
	// hanging receives once for each key-set request held by jwksHang.
	hanging chan struct{}

	mu        sync.Mutex
	published []*testSigner
}

func newTestIssuer(t testing.TB, published ...*testSigner) *testIssuer {
	t.Helper()
	iss := &testIssuer{published: published, hanging: make(chan struct{}, 8)}
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /realms/vecron/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                           iss.url(),
			"jwks_uri":                         iss.url() + "/protocol/openid-connect/certs",
			"authorization_endpoint":           iss.url() + "/protocol/openid-connect/auth",
			"token_endpoint":                   iss.url() + "/protocol/openid-connect/token",
			"code_challenge_methods_supported": []string{"plain", "S256"},
		})
	})
	mux.HandleFunc("GET /realms/vecron/protocol/openid-connect/certs", func(w http.ResponseWriter, r *http.Request) {
		iss.fetches.Add(1)
		switch jwksMode(iss.mode.Load()) {
		case jwksFail:
			http.Error(w, "down for maintenance", http.StatusInternalServerError)
			return
		case jwksHang:
			iss.hanging <- struct{}{}
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(iss.jwks(t))
	})
	iss.srv = httptest.NewServer(mux)
	t.Cleanup(iss.srv.Close)
	// Registered after Close so that it runs first and lets held requests end.
	t.Cleanup(func() { close(release) })
	return iss
}

func (iss *testIssuer) url() string { return iss.srv.URL + "/realms/vecron" }

func (iss *testIssuer) publish(signers ...*testSigner) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.published = signers
}

func (iss *testIssuer) jwks(t testing.TB) jwkset.JWKSMarshal {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	var set jwkset.JWKSMarshal
	for _, s := range iss.published {
		jwk, err := jwkset.NewJWKFromKey(s.key.Public(), jwkset.JWKOptions{
			Metadata: jwkset.JWKMetadataOptions{ALG: jwkset.ALG(s.method.Alg()), KID: s.kid, USE: jwkset.UseSig},
		})
		require.NoError(t, err)
		set.Keys = append(set.Keys, jwk.Marshal())
	}
	return set
}

// claims are those of a valid Keycloak access token at testNow.
func (iss *testIssuer) claims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss":                iss.url(),
		"aud":                []string{"account", testAudience},
		"sub":                "f3c1a2b4-0000-4000-8000-000000000001",
		"typ":                "Bearer",
		"azp":                testAudience,
		"preferred_username": "ada",
		"iat":                testNow.Add(-time.Minute).Unix(),
		"exp":                testNow.Add(5 * time.Minute).Unix(),
		"realm_access":       map[string]any{"roles": []string{"vecron-admin", "offline_access"}},
		"groups":             []string{"/ops", "/dev"},
	}
}

func (iss *testIssuer) config() OIDCConfig {
	return OIDCConfig{Issuer: iss.url(), Audience: testAudience, RolesClaim: "realm_access.roles"}
}

func newTestOIDC(t testing.TB, iss *testIssuer, cfg OIDCConfig) *OIDC {
	t.Helper()
	o, err := NewOIDC(t.Context(), cfg, iss.srv.Client(), fixedNow)
	require.NoError(t, err)
	return o
}

func TestOIDCVerifyAccepts(t *testing.T) {
	t.Parallel()
	rs256 := newRSASigner(t, "rs256", jwt.SigningMethodRS256)
	ps384 := newRSASigner(t, "ps384", jwt.SigningMethodPS384)
	es256 := newECSigner(t, "es256")
	eddsa := newEdSigner(t, "eddsa")
	iss := newTestIssuer(t, rs256, ps384, es256, eddsa)
	keycloak := newTestOIDC(t, iss, iss.config())

	t.Run("KeycloakRealmRoles", func(t *testing.T) {
		t.Parallel()
		id, err := keycloak.Verify(t.Context(), rs256.sign(t, iss.claims()))
		require.NoError(t, err)
		require.Equal(t, &OIDCIdentity{
			Subject:   "f3c1a2b4-0000-4000-8000-000000000001",
			Username:  "ada",
			Issuer:    iss.url(),
			Roles:     []string{"vecron-admin", "offline_access"},
			ExpiresAt: testNow.Add(5 * time.Minute),
		}, id)
	})

	t.Run("FlatGroupsByDefault", func(t *testing.T) {
		t.Parallel()
		cfg := iss.config()
		cfg.RolesClaim = ""
		o := newTestOIDC(t, iss, cfg)
		id, err := o.Verify(t.Context(), rs256.sign(t, iss.claims()))
		require.NoError(t, err)
		require.Equal(t, []string{"/ops", "/dev"}, id.Roles)
		require.Equal(t, "ada", id.Username)
	})

	t.Run("SingleAudienceAndSingleRole", func(t *testing.T) {
		t.Parallel()
		claims := iss.claims()
		claims["aud"] = testAudience
		claims["realm_access"] = map[string]any{"roles": "vecron-viewer"}
		id, err := keycloak.Verify(t.Context(), rs256.sign(t, claims))
		require.NoError(t, err)
		require.Equal(t, []string{"vecron-viewer"}, id.Roles)
	})

	t.Run("NoRolesNoUsername", func(t *testing.T) {
		t.Parallel()
		claims := iss.claims()
		delete(claims, "realm_access")
		delete(claims, "preferred_username")
		id, err := keycloak.Verify(t.Context(), rs256.sign(t, claims))
		require.NoError(t, err)
		require.Nil(t, id.Roles)
		require.Equal(t, id.Subject, id.Username)
	})

	t.Run("NotBeforeReached", func(t *testing.T) {
		t.Parallel()
		claims := iss.claims()
		claims["nbf"] = testNow.Unix()
		_, err := keycloak.Verify(t.Context(), rs256.sign(t, claims))
		require.NoError(t, err)
	})

	for _, s := range []*testSigner{ps384, es256, eddsa} {
		t.Run("Algorithm"+s.method.Alg(), func(t *testing.T) {
			t.Parallel()
			_, err := keycloak.Verify(t.Context(), s.sign(t, iss.claims()))
			require.NoError(t, err)
		})
	}

	t.Cleanup(func() {
		require.EqualValues(t, 2, iss.fetches.Load(), "one key-set fetch per NewOIDC, none while verifying")
	})
}

func TestOIDCVerifyRejects(t *testing.T) {
	t.Parallel()
	signer := newRSASigner(t, "k1", jwt.SigningMethodRS256)
	es := newECSigner(t, "ec1")
	iss := newTestIssuer(t, signer, es)
	o := newTestOIDC(t, iss, iss.config())

	with := func(change func(jwt.MapClaims)) jwt.MapClaims {
		claims := iss.claims()
		change(claims)
		return claims
	}
	pubDER, err := x509.MarshalPKIXPublicKey(signer.key.Public())
	require.NoError(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hmacWith := func(secret []byte) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, iss.claims())
		tok.Header["kid"] = signer.kid
		raw, err := tok.SignedString(secret)
		require.NoError(t, err)
		return raw
	}
	unsigned := jwt.NewWithClaims(jwt.SigningMethodNone, iss.claims())
	unsigned.Header["kid"] = signer.kid
	none, err := unsigned.SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)
	impostor := newRSASigner(t, signer.kid, jwt.SigningMethodRS256)
	// An EC key's id on an RS256 token: the key set says the key is for ES256.
	crossAlg := &testSigner{kid: es.kid, method: jwt.SigningMethodRS256, key: signer.key}

	const badSignature = "signature or algorithm not accepted"
	tests := []struct {
		name, raw, reason string
	}{
		{"WrongAudience", signer.sign(t, with(func(c jwt.MapClaims) { c["aud"] = "someone-else" })), "meant for another audience"},
		{"NoAudience", signer.sign(t, with(func(c jwt.MapClaims) { delete(c, "aud") })), "a required claim is missing"},
		{"WrongIssuer", signer.sign(t, with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example/realms/vecron" })), "issued by another issuer"},
		{"Expired", signer.sign(t, with(func(c jwt.MapClaims) { c["exp"] = testNow.Add(-time.Second).Unix() })), "expired"},
		{"NoExpiry", signer.sign(t, with(func(c jwt.MapClaims) { delete(c, "exp") })), "a required claim is missing"},
		{"NotValidYet", signer.sign(t, with(func(c jwt.MapClaims) { c["nbf"] = testNow.Add(time.Minute).Unix() })), "not valid yet"},
		{"NoSubject", signer.sign(t, with(func(c jwt.MapClaims) { delete(c, "sub") })), "no subject"},
		{"RolesNotStrings", signer.sign(t, with(func(c jwt.MapClaims) { c["realm_access"] = map[string]any{"roles": []any{"a", 1}} })), "roles claim realm_access.roles holds a number among its values"},
		{"RolesObject", signer.sign(t, with(func(c jwt.MapClaims) { c["realm_access"] = map[string]any{"roles": map[string]any{}} })), "roles claim realm_access.roles holds an object"},
		{"AlgNone", none, badSignature},
		{"HS256WithPublicKeyPEM", hmacWith(pubPEM), badSignature},
		{"HS256WithPublicKeyDER", hmacWith(pubDER), badSignature},
		{"UnknownKeyKnownKid", impostor.sign(t, iss.claims()), badSignature},
		{"KeyOfAnotherAlgorithm", crossAlg.sign(t, iss.claims()), "no key of the issuer matches"},
		{"Garbage", "not a token at all", "malformed"},
		{"GarbageJWTShape", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", badSignature},
		{"Empty", "", "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id, err := o.Verify(t.Context(), tt.raw)
			require.ErrorIs(t, err, ErrInvalidToken)
			require.ErrorContains(t, err, tt.reason)
			require.Nil(t, id)
			if tt.raw != "" {
				require.NotContains(t, err.Error(), tt.raw)
			}
		})
	}
	t.Cleanup(func() {
		// A key id the set already has is never a reason to fetch it again, whatever the token.
		require.EqualValues(t, 1, iss.fetches.Load())
	})
}

func TestOIDCKeyRotation(t *testing.T) {
	t.Parallel()
	old := newRSASigner(t, "2001-01", jwt.SigningMethodRS256)
	rotated := newECSigner(t, "2001-02")
	iss := newTestIssuer(t, old)
	cfg := iss.config()
	cfg.RefreshLimit = time.Hour
	o := newTestOIDC(t, iss, cfg)
	ctx := t.Context()

	_, err := o.Verify(ctx, old.sign(t, iss.claims()))
	require.NoError(t, err)
	require.EqualValues(t, 1, iss.fetches.Load())

	iss.publish(old, rotated)
	_, err = o.Verify(ctx, rotated.sign(t, iss.claims()))
	require.NoError(t, err, "a new key id is fetched once")
	require.EqualValues(t, 2, iss.fetches.Load())

	_, err = o.Verify(ctx, old.sign(t, iss.claims()))
	require.NoError(t, err, "keys still published stay usable")
	_, err = o.Verify(ctx, rotated.sign(t, iss.claims()))
	require.NoError(t, err)

	stranger := newECSigner(t, "2001-03")
	_, err = o.Verify(ctx, stranger.sign(t, iss.claims()))
	require.ErrorIs(t, err, ErrInvalidToken)
	require.EqualValues(t, 2, iss.fetches.Load(), "a second unknown key id within the refresh limit fetches nothing")
}

func TestOIDCRefreshLimitConfigured(t *testing.T) {
	t.Parallel()
	known := newECSigner(t, "known")
	iss := newTestIssuer(t, known)
	cfg := iss.config()
	// A limit this short allows a fetch for each unknown key id.
	cfg.RefreshLimit = time.Nanosecond
	o := newTestOIDC(t, iss, cfg)

	for i, kid := range []string{"first", "second", "third"} {
		_, err := o.Verify(t.Context(), newECSigner(t, kid).sign(t, iss.claims()))
		require.ErrorIs(t, err, ErrInvalidToken)
		require.EqualValues(t, i+2, iss.fetches.Load())
	}
}

func TestOIDCIssuerOutage(t *testing.T) {
	t.Parallel()

	// start gives an OIDC that has fetched the key set once, and a token it accepts.
	start := func(t *testing.T) (*testIssuer, *OIDC, string) {
		t.Helper()
		cached := newECSigner(t, "cached")
		iss := newTestIssuer(t, cached)
		o := newTestOIDC(t, iss, iss.config())
		raw := cached.sign(t, iss.claims())
		_, err := o.Verify(t.Context(), raw)
		require.NoError(t, err)
		return iss, o, raw
	}

	t.Run("ServerError", func(t *testing.T) {
		t.Parallel()
		iss, o, raw := start(t)
		iss.mode.Store(int32(jwksFail))

		_, err := o.Verify(t.Context(), newECSigner(t, "new").sign(t, iss.claims()))
		require.ErrorIs(t, err, ErrInvalidToken)
		require.EqualValues(t, 2, iss.fetches.Load())

		_, err = o.Verify(t.Context(), raw)
		require.NoError(t, err, "a failed fetch keeps the cached keys")
	})

	t.Run("Down", func(t *testing.T) {
		t.Parallel()
		iss, o, raw := start(t)
		iss.srv.Close()

		_, err := o.Verify(t.Context(), raw)
		require.NoError(t, err)
		_, err = o.Verify(t.Context(), newECSigner(t, "new").sign(t, iss.claims()))
		require.ErrorIs(t, err, ErrInvalidToken)
		_, err = o.Verify(t.Context(), raw)
		require.NoError(t, err)
	})

	t.Run("Hanging", func(t *testing.T) {
		t.Parallel()
		iss, o, raw := start(t)
		iss.mode.Store(int32(jwksHang))

		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() {
			select {
			case <-iss.hanging:
				cancel()
			case <-ctx.Done():
			}
		}()
		_, err := o.Verify(ctx, newECSigner(t, "new").sign(t, iss.claims()))
		require.ErrorIs(t, err, ErrInvalidToken, "the request's context ends the fetch")

		_, err = o.Verify(t.Context(), raw)
		require.NoError(t, err)
	})
}

func TestNewOIDCFails(t *testing.T) {
	t.Parallel()
	signer := newECSigner(t, "k1")

	// An issuer nobody answers for, whose port no parallel test's server can take meanwhile.
	closed := "http://" + testenv.RefusedAddr(t).String()

	healthy := newTestIssuer(t, signer)
	failing := newTestIssuer(t, signer)
	failing.mode.Store(int32(jwksFail))
	empty := newTestIssuer(t)

	tests := []struct {
		name  string
		cfg   OIDCConfig
		field string
	}{
		{"Unreachable", OIDCConfig{Issuer: closed + "/realms/vecron", Audience: testAudience}, "auth.oidc.issuer"},
		{"NoDiscoveryDocument", OIDCConfig{Issuer: healthy.srv.URL + "/nowhere", Audience: testAudience}, "auth.oidc.issuer"},
		{"IssuerMismatch", OIDCConfig{Issuer: healthy.url() + "/", Audience: testAudience}, "auth.oidc.issuer"},
		{"KeySetFails", failing.config(), "auth.oidc.issuer"},
		{"KeySetEmpty", empty.config(), "auth.oidc.issuer"},
		{"NoIssuer", OIDCConfig{Audience: testAudience}, "auth.oidc.issuer"},
		{"IssuerNotURL", OIDCConfig{Issuer: "keycloak", Audience: testAudience}, "auth.oidc.issuer"},
		{"NoAudience", OIDCConfig{Issuer: healthy.url()}, "auth.oidc.audience"},
		{"NegativeRefreshLimit", OIDCConfig{Issuer: healthy.url(), Audience: testAudience, RefreshLimit: -time.Second}, "auth.oidc.refresh_limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, err := NewOIDC(t.Context(), tt.cfg, nil, fixedNow)
			require.ErrorContains(t, err, tt.field)
			require.Nil(t, o)
		})
	}
}

func TestRolesClaim(t *testing.T) {
	t.Parallel()
	claims := map[string]any{
		"groups":       []any{"/ops", "/dev"},
		"role":         "admin",
		"empty":        []any{},
		"null":         nil,
		"number":       42.0,
		"mixed":        []any{"a", true},
		"realm_access": map[string]any{"roles": []any{"vecron-admin"}},
		"resource_access": map[string]any{
			"vecron": map[string]any{"roles": []any{"operator"}},
		},
		"https://vecron.example/roles": []any{"namespaced"},
		"a.b":                          map[string]any{"c": "dotted-parent"},
	}
	tests := []struct {
		name    string
		path    string
		want    []string
		wantErr string
	}{
		{"FlatArray", "groups", []string{"/ops", "/dev"}, ""},
		{"SingleString", "role", []string{"admin"}, ""},
		{"Nested", "realm_access.roles", []string{"vecron-admin"}, ""},
		{"DeeplyNested", "resource_access.vecron.roles", []string{"operator"}, ""},
		{"NameWithDots", "https://vecron.example/roles", []string{"namespaced"}, ""},
		{"ParentNameWithDots", "a.b.c", []string{"dotted-parent"}, ""},
		{"EmptyArray", "empty", []string{}, ""},
		{"Missing", "roles", nil, ""},
		{"MissingNested", "realm_access.groups", nil, ""},
		{"ThroughNonObject", "role.name", nil, ""},
		{"Null", "null", nil, ""},
		{"EmptyPath", "", nil, ""},
		{"Number", "number", nil, "roles claim number holds a number"},
		{"Object", "realm_access", nil, "roles claim realm_access holds an object"},
		{"ArrayOfMixed", "mixed", nil, "roles claim mixed holds a boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := rolesClaim(claims, tt.path)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func FuzzRolesClaim(f *testing.F) {
	f.Add(`{"realm_access":{"roles":["a","b"]}}`, "realm_access.roles")
	f.Add(`{"groups":"ops"}`, "groups")
	f.Add(`{"a.b":{"c":["x"]},"a":{"b":{"c":1}}}`, "a.b.c")
	f.Add(`{"x":{"y":null}}`, "x.y.z")
	f.Add(`{"":{"":[""]}}`, ".")
	f.Add(`null`, "..")
	f.Fuzz(func(t *testing.T, doc, path string) {
		var claims map[string]any
		if json.Unmarshal([]byte(doc), &claims) != nil {
			return // not a claim set: nothing to look into
		}
		roles, err := rolesClaim(claims, path)
		if err != nil {
			require.Nil(t, roles)
			return
		}
		if v, ok := claimAt(claims, path); ok && v != nil {
			require.NotNil(t, roles, "a claim that is found gives a list, empty or not")
		}
	})
}

func FuzzVerify(f *testing.F) {
	signer := newECSigner(f, "k1")
	iss := newTestIssuer(f, signer)
	cfg := iss.config()
	cfg.RefreshLimit = time.Hour
	o, err := NewOIDC(f.Context(), cfg, iss.srv.Client(), fixedNow)
	require.NoError(f, err)
	valid := signer.sign(f, iss.claims())
	f.Add(valid)
	f.Add(valid[:len(valid)-4])
	f.Add(newECSigner(f, "k2").sign(f, iss.claims()))
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Add("vcr_3q2Xk9ZpL0aB7cD8eF1gH2iJ4kL6mN")
	f.Fuzz(func(t *testing.T, raw string) {
		id, err := o.Verify(t.Context(), raw)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidToken)
			require.Nil(t, id)
			return
		}
		require.True(t, LooksLikeJWT(raw), "a token that verifies has the JWT shape")
		require.NotEmpty(t, id.Subject)
	})
}

func TestLooksLikeJWT(t *testing.T) {
	t.Parallel()
	signer := newECSigner(t, "k1")
	signed := signer.sign(t, jwt.MapClaims{"sub": "x"})
	tests := []struct {
		name string
		raw  string
		want bool
	}{
		{"Signed", signed, true},
		{"Unsigned", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", true},
		{"Opaque", "vcr_3q2Xk9ZpL0aB7cD8eF1gH2iJ4kL6mN", false},
		{"TwoParts", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0", false},
		{"FourParts", signed + ".x", false},
		{"EmptyHeader", ".eyJzdWIiOiJ4In0.c2ln", false},
		{"EmptyPayload", "eyJhbGciOiJub25lIn0..c2ln", false},
		{"Padding", "eyJhbGciOiJub25lIn0=.eyJzdWIiOiJ4In0.c2ln", false},
		{"StandardBase64", "eyJh+GciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln", false},
		{"Spaces", "a b.c.d", false},
		{"Empty", "", false},
		{"Dots", "..", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, LooksLikeJWT(tt.raw))
		})
	}
}

func TestOIDCEndpointsFromOneDiscovery(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t, newRSASigner(t, "k1", jwt.SigningMethodRS256))
	o := newTestOIDC(t, iss, iss.config())
	require.Equal(t, OIDCEndpoints{
		Authorization:        iss.url() + "/protocol/openid-connect/auth",
		Token:                iss.url() + "/protocol/openid-connect/token",
		JWKS:                 iss.url() + "/protocol/openid-connect/certs",
		CodeChallengeMethods: []string{"plain", "S256"},
	}, o.Endpoints())
	require.Equal(t, iss.url(), o.Issuer())
	require.Same(t, iss.srv.Client(), o.Client())
}

// TestOIDCVerifyIDToken: an ID token is checked against the client it was issued to and the
// nonce its sign-in sent, with the keys and claim rules of access tokens.
func TestOIDCVerifyIDToken(t *testing.T) {
	t.Parallel()
	signer := newRSASigner(t, "k1", jwt.SigningMethodRS256)
	iss := newTestIssuer(t, signer)
	o := newTestOIDC(t, iss, iss.config())
	const client, nonce = "vecron-dashboard", "n-0S6_WzA2Mj"
	idToken := func(change func(jwt.MapClaims)) string {
		c := iss.claims()
		c["aud"] = client
		c["nonce"] = nonce
		if change != nil {
			change(c)
		}
		return signer.sign(t, c)
	}

	id, err := o.VerifyIDToken(t.Context(), idToken(nil), client, nonce)
	require.NoError(t, err)
	access, err := o.Verify(t.Context(), signer.sign(t, iss.claims()))
	require.NoError(t, err)
	require.Equal(t, access, id, "the same claims give the same identity by either path")

	_, err = o.VerifyIDToken(t.Context(), idToken(func(c jwt.MapClaims) {
		c["aud"] = []string{client, "other"}
		c["azp"] = client
	}), client, nonce)
	require.NoError(t, err, "several audiences with this client as the authorized party")

	for _, c := range []struct {
		name          string
		raw           string
		client, nonce string
		want          string
	}{
		{"AccessTokenAudience", idToken(func(c jwt.MapClaims) { c["aud"] = testAudience }), client, nonce, "another audience"},
		{"SeveralAudiencesOtherAzp", idToken(func(c jwt.MapClaims) {
			c["aud"] = []string{client, "other"}
			c["azp"] = "other"
		}), client, nonce, "several audiences"},
		{"OtherNonce", idToken(nil), client, "another", "nonce"},
		{"NoNonceClaim", idToken(func(c jwt.MapClaims) { delete(c, "nonce") }), client, nonce, "nonce"},
		{"NoExpectedNonce", idToken(func(c jwt.MapClaims) { delete(c, "nonce") }), client, "", "no client id or nonce"},
		{"NoExpectedClient", idToken(nil), "", nonce, "no client id or nonce"},
		{"Expired", idToken(func(c jwt.MapClaims) { c["exp"] = testNow.Add(-time.Second).Unix() }), client, nonce, "expired"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := o.VerifyIDToken(t.Context(), c.raw, c.client, c.nonce)
			require.ErrorIs(t, err, ErrInvalidToken)
			require.ErrorContains(t, err, c.want)
		})
	}
}

package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/secret"
)

// t0 is the instant the tests' clocks start at.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// signingKeys returns fresh keys with ids, read as the configuration reads them.
func signingKeys(t testing.TB, ids ...string) []secret.RawKey {
	t.Helper()
	specs := make([]string, 0, len(ids))
	for _, id := range ids {
		k, err := secret.NewKeyOfSize(id, ed25519.SeedSize)
		require.NoError(t, err)
		specs = append(specs, k)
	}
	keys, err := secret.ParseKeyList("auth.signing_keys", strings.Join(specs, ","), ed25519.SeedSize)
	require.NoError(t, err)
	return keys
}

func newSigner(t testing.TB, keys []secret.RawKey, clock clockwork.Clock) *Signer {
	t.Helper()
	s, err := NewSigner(keys, SignerConfig{}, clock.Now)
	require.NoError(t, err)
	return s
}

// validClaims are claims Verify accepts at now.
func validClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": IssuerDefault,
		"aud": AudienceDefault,
		"sub": "user-1",
		"iat": jwt.NewNumericDate(now),
		"nbf": jwt.NewNumericDate(now),
		"exp": jwt.NewNumericDate(now.Add(time.Minute)),
		"jti": "0190f3c4-0000-7000-8000-000000000000",
	}
}

// forge signs claims with method and key under a kid header (none when kid is empty).
func forge(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

// header returns the kid of token, read without verification.
func header(t testing.TB, token string) (kid string) {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	require.NoError(t, err)
	kid, _ = tok.Header["kid"].(string)
	return kid
}

func TestIssueVerify(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(t0)
	s := newSigner(t, signingKeys(t, "k2", "k1"), clock)

	token, expires, err := s.Issue("user-42")
	require.NoError(t, err)
	require.Equal(t, t0.Add(AccessTTLDefault), expires)
	require.Equal(t, "k2", header(t, token), "the first key signs")

	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(payload, &raw))
	require.Equal(t, "vecron-api", raw["aud"], "the audience is a single string")
	require.Equal(t, "vecron", raw["iss"])

	claims, err := s.Verify(token)
	require.NoError(t, err)
	require.Equal(t, "user-42", claims.Subject)
	require.Equal(t, t0, claims.IssuedAt)
	require.Equal(t, t0, claims.NotBefore)
	require.Equal(t, expires, claims.ExpiresAt)
	id, err := uuid.Parse(claims.ID)
	require.NoError(t, err)
	require.Equal(t, uuid.Version(7), id.Version())

	other, _, err := s.Issue("user-42")
	require.NoError(t, err)
	otherClaims, err := s.Verify(other)
	require.NoError(t, err)
	require.NotEqual(t, claims.ID, otherClaims.ID)

	_, _, err = s.Issue("")
	require.Error(t, err)
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	keys := signingKeys(t, "k1")
	clock := clockwork.NewFakeClockAt(t0)
	s := newSigner(t, keys, clock)
	private := ed25519.NewKeyFromSeed(keys[0].Raw)
	public := private.Public().(ed25519.PublicKey)
	_, stranger, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	valid, _, err := s.Issue("user-1")
	require.NoError(t, err)
	parts := strings.Split(valid, ".")

	with := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := validClaims(t0)
		change(c)
		return c
	}
	signed := func(c jwt.MapClaims) string { return forge(t, jwt.SigningMethodEdDSA, private, "k1", c) }
	adminPayload := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"vecron","aud":"vecron-api","sub":"admin","exp":9999999999,"jti":"x"}`))

	for _, tc := range []struct {
		name, token, reason string
	}{
		{"AlgNone", forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "k1", validClaims(t0)), "algorithm not allowed"},
		// Algorithm confusion: the public key is public, so an HMAC keyed with it is a forgery
		// anyone can make.
		{"HS256WithPublicKey", forge(t, jwt.SigningMethodHS256, []byte(public), "k1", validClaims(t0)), "algorithm not allowed"},
		{"HS256WithSeed", forge(t, jwt.SigningMethodHS256, keys[0].Raw, "k1", validClaims(t0)), "algorithm not allowed"},
		{"UnknownAlgorithm", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"XX","kid":"k1"}`)) + "." + parts[1] + "." + parts[2], "algorithm not allowed"},
		{"OtherKeySameKid", forge(t, jwt.SigningMethodEdDSA, stranger, "k1", validClaims(t0)), "signature"},
		{"UnknownKid", forge(t, jwt.SigningMethodEdDSA, private, "k9", validClaims(t0)), "unknown key id"},
		{"NoKid", forge(t, jwt.SigningMethodEdDSA, private, "", validClaims(t0)), "unknown key id"},
		{"PayloadSwapped", parts[0] + "." + adminPayload + "." + parts[2], "signature"},
		{"SignatureMissing", parts[0] + "." + parts[1] + ".", "signature"},
		{"Expired", signed(with(func(c jwt.MapClaims) { c["exp"] = jwt.NewNumericDate(t0.Add(-LeewayDefault - time.Second)) })), "expired"},
		{"NotYetValid", signed(with(func(c jwt.MapClaims) { c["nbf"] = jwt.NewNumericDate(t0.Add(time.Minute)) })), "not yet valid"},
		{"IssuedInTheFuture", signed(with(func(c jwt.MapClaims) { c["iat"] = jwt.NewNumericDate(t0.Add(time.Minute)) })), "issued in the future"},
		{"WrongIssuer", signed(with(func(c jwt.MapClaims) { c["iss"] = "someone-else" })), "wrong issuer"},
		{"MissingIssuer", signed(with(func(c jwt.MapClaims) { delete(c, "iss") })), "missing issuer"},
		{"WrongAudience", signed(with(func(c jwt.MapClaims) { c["aud"] = "vecron-dashboard" })), "wrong audience"},
		{"EmptyAudience", signed(with(func(c jwt.MapClaims) { c["aud"] = []string{} })), "missing audience"},
		{"MissingAudience", signed(with(func(c jwt.MapClaims) { delete(c, "aud") })), "missing audience"},
		{"MissingExpiry", signed(with(func(c jwt.MapClaims) { delete(c, "exp") })), "missing expiry"},
		{"MissingSubject", signed(with(func(c jwt.MapClaims) { delete(c, "sub") })), "missing subject"},
		{"EmptySubject", signed(with(func(c jwt.MapClaims) { c["sub"] = "" })), "missing subject"},
		{"MissingID", signed(with(func(c jwt.MapClaims) { delete(c, "jti") })), "missing token id"},
		{"SubjectNotAString", signed(with(func(c jwt.MapClaims) { c["sub"] = 42 })), "malformed"},
		{"Garbage", "this is not a token", "malformed"},
		{"GarbageSegments", "a.b.c", "malformed"},
		{"TwoSegments", parts[0] + "." + parts[1], "malformed"},
		{"Empty", "", "malformed"},
		{"LineBreak", valid[:20] + "\n" + valid[20:], "malformed"},
		{"Padded", valid + "==", "malformed"},
		{"TooLong", valid + strings.Repeat("A", maxAccessTokenLen), "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			claims, err := s.Verify(tc.token)
			require.Nil(t, claims)
			require.ErrorIs(t, err, ErrInvalidToken)
			require.EqualError(t, err, "invalid token: "+tc.reason)
		})
	}
}

func TestVerifyAcceptsAnAudienceList(t *testing.T) {
	t.Parallel()
	keys := signingKeys(t, "k1")
	s := newSigner(t, keys, clockwork.NewFakeClockAt(t0))
	c := validClaims(t0)
	c["aud"] = []string{"vecron-dashboard", AudienceDefault}
	claims, err := s.Verify(forge(t, jwt.SigningMethodEdDSA, ed25519.NewKeyFromSeed(keys[0].Raw), "k1", c))
	require.NoError(t, err, "RFC 7519 lets aud be a list holding ours")
	require.Equal(t, "user-1", claims.Subject)
}

func TestVerifyHonoursTheLeeway(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(t0)
	s := newSigner(t, signingKeys(t, "k1"), clock)
	token, expires, err := s.Issue("user-1")
	require.NoError(t, err)

	clock.Advance(expires.Sub(t0) + LeewayDefault - time.Second)
	_, err = s.Verify(token)
	require.NoError(t, err, "a token just past exp but within the leeway is still valid")

	clock.Advance(2 * time.Second)
	_, err = s.Verify(token)
	require.ErrorIs(t, err, ErrInvalidToken)
	require.ErrorContains(t, err, "expired")
}

func TestVerifyAfterRotation(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(t0)
	old := signingKeys(t, "k1")
	before := newSigner(t, old, clock)
	oldToken, _, err := before.Issue("user-1")
	require.NoError(t, err)

	// Rotation: a new key goes first; the old one stays to verify what it signed.
	rotated := append(signingKeys(t, "k2"), old...)
	after := newSigner(t, rotated, clock)
	claims, err := after.Verify(oldToken)
	require.NoError(t, err)
	require.Equal(t, "user-1", claims.Subject)
	newToken, _, err := after.Issue("user-2")
	require.NoError(t, err)
	require.Equal(t, "k2", header(t, newToken))
	_, err = before.Verify(newToken)
	require.ErrorIs(t, err, ErrInvalidToken, "a signer that does not know k2 refuses its tokens")

	// Once the old tokens expired, the old key is removed and verifies nothing more.
	retired := newSigner(t, rotated[:1], clock)
	_, err = retired.Verify(oldToken)
	require.ErrorIs(t, err, ErrInvalidToken)
	require.ErrorContains(t, err, "unknown key id")
	_, err = retired.Verify(newToken)
	require.NoError(t, err)
}

func TestNewSignerRefusesBadKeysAndSettings(t *testing.T) {
	t.Parallel()
	good := signingKeys(t, "k1")
	for _, tc := range []struct {
		name string
		keys []secret.RawKey
		cfg  SignerConfig
		want string
	}{
		{"NoKey", nil, SignerConfig{}, "auth.signing_keys: no key configured"},
		{"ShortKey", []secret.RawKey{{ID: "k1", Raw: make([]byte, 31)}}, SignerConfig{}, `auth.signing_keys: key "k1" is not a 32-byte Ed25519 seed`},
		{"PrivateKeyNotSeed", []secret.RawKey{{ID: "k1", Raw: make([]byte, ed25519.PrivateKeySize)}}, SignerConfig{}, `auth.signing_keys: key "k1" is not a 32-byte Ed25519 seed`},
		{"NoID", []secret.RawKey{{Raw: good[0].Raw}}, SignerConfig{}, "auth.signing_keys: key 1 has no id"},
		{"DuplicateID", []secret.RawKey{good[0], good[0]}, SignerConfig{}, `auth.signing_keys: key id "k1" appears twice`},
		{"NegativeTTL", good, SignerConfig{TTL: -time.Minute}, "auth.access_ttl: must be at least 1s"},
		{"SubSecondTTL", good, SignerConfig{TTL: time.Millisecond}, "auth.access_ttl: must be at least 1s"},
		{"NegativeLeeway", good, SignerConfig{Leeway: -time.Second}, "auth.leeway: must not be negative"},
		{"LeewayBeyondTTL", good, SignerConfig{TTL: time.Minute, Leeway: time.Hour}, "auth.leeway: must be shorter than auth.access_ttl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := NewSigner(tc.keys, tc.cfg, nil)
			require.Nil(t, s)
			require.EqualError(t, err, tc.want)
		})
	}
}

func TestSignerConfigApplies(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(t0)
	keys := signingKeys(t, "k1")
	s, err := NewSigner(keys, SignerConfig{Issuer: "https://vecron.example", Audience: "jobs", TTL: time.Hour}, clock.Now)
	require.NoError(t, err)
	token, expires, err := s.Issue("user-1")
	require.NoError(t, err)
	require.Equal(t, t0.Add(time.Hour), expires)
	_, err = s.Verify(token)
	require.NoError(t, err)

	defaults := newSigner(t, keys, clock)
	_, err = defaults.Verify(token)
	require.ErrorIs(t, err, ErrInvalidToken, "a signer of another issuer and audience refuses it")
}

func TestPublicJWKS(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(t0)
	keys := signingKeys(t, "k2", "k1")
	s := newSigner(t, keys, clock)
	b, err := s.PublicJWKS()
	require.NoError(t, err)

	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(b, &set))
	require.Len(t, set.Keys, 2)
	for i, k := range set.Keys {
		require.Equal(t, keys[i].ID, k["kid"])
		require.Equal(t, map[string]string{
			"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": keys[i].ID,
			"x": base64.RawURLEncoding.EncodeToString(ed25519.NewKeyFromSeed(keys[i].Raw).Public().(ed25519.PublicKey)),
		}, k, "a public key and nothing more")
	}
	require.NotContains(t, string(b), base64.RawURLEncoding.EncodeToString(keys[0].Raw))

	// Another service verifies with the published key alone.
	token, _, err := s.Issue("user-1")
	require.NoError(t, err)
	x, err := base64.RawURLEncoding.DecodeString(set.Keys[0]["x"])
	require.NoError(t, err)
	parsed, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return ed25519.PublicKey(x), nil },
		jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithTimeFunc(clock.Now))
	require.NoError(t, err)
	require.True(t, parsed.Valid)
}

func FuzzVerifyToken(f *testing.F) {
	keys := signingKeys(f, "k2", "k1")
	clock := clockwork.NewFakeClockAt(t0)
	s := newSigner(f, keys, clock)
	old := newSigner(f, keys[1:], clock)
	issued := map[string]bool{}
	for _, signer := range []*Signer{s, old} {
		token, _, err := signer.Issue("user-1")
		require.NoError(f, err)
		issued[token] = true
		f.Add(token)
	}
	private := ed25519.NewKeyFromSeed(keys[0].Raw)
	f.Add(forge(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "k2", validClaims(t0)))
	f.Add(forge(f, jwt.SigningMethodHS256, []byte(private.Public().(ed25519.PublicKey)), "k2", validClaims(t0)))
	f.Add(forge(f, jwt.SigningMethodEdDSA, private, "k9", validClaims(t0)))
	f.Add("")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, token string) {
		claims, err := s.Verify(token)
		if err != nil {
			require.Nil(t, claims)
			require.ErrorIs(t, err, ErrInvalidToken)
			if len(token) > 40 {
				require.NotContains(t, err.Error(), token)
			}
			return
		}
		require.Contains(t, []string{"k1", "k2"}, header(t, token))
		require.True(t, issued[token], "accepted a token Issue did not produce")
		require.NotEmpty(t, claims.Subject)
	})
}

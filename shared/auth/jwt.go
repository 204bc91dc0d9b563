package auth

import (
	"cmp"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/secret"
)

// Defaults of SignerConfig.
const (
	IssuerDefault    = "vecron"
	AudienceDefault  = "vecron-api"
	AccessTTLDefault = 15 * time.Minute
	LeewayDefault    = 5 * time.Second
)

// maxAccessTokenLen bounds what Verify parses. An access token is about 400 bytes; anything
// much longer was not issued here, and parsing it would only cost.
const maxAccessTokenLen = 4096

// ErrInvalidToken is wrapped by every error Verify returns. The wrapping message gives the
// reason in a few words ("expired", "wrong audience"), never the token.
var ErrInvalidToken = errors.New("invalid token")

// errUnknownKeyID is what the key lookup fails with, so Verify can name the reason.
var errUnknownKeyID = errors.New("unknown key id")

// SignerConfig sets the claims of the access tokens. Zero fields take the …Default constants.
type SignerConfig struct {
	// Issuer is the iss claim written and required.
	Issuer string
	// Audience is the aud claim written and required.
	Audience string
	// TTL is how long a token is valid after it is issued.
	TTL time.Duration
	// Leeway is the clock difference between servers tolerated on exp, nbf and iat.
	Leeway time.Duration
}

func (c SignerConfig) withDefaults() SignerConfig {
	c.Issuer = cmp.Or(c.Issuer, IssuerDefault)
	c.Audience = cmp.Or(c.Audience, AudienceDefault)
	c.TTL = cmp.Or(c.TTL, AccessTTLDefault)
	c.Leeway = cmp.Or(c.Leeway, LeewayDefault)
	return c
}

// validate checks a configuration after withDefaults.
func (c SignerConfig) validate() error {
	switch {
	case c.TTL < time.Second:
		// Token times are whole seconds: a shorter TTL could expire a token as it is issued.
		return errors.New("auth.access_ttl: must be at least 1s")
	case c.Leeway < 0:
		return errors.New("auth.leeway: must not be negative")
	case c.Leeway >= c.TTL:
		return errors.New("auth.leeway: must be shorter than auth.access_ttl")
	}
	return nil
}

// Claims are what a verified access token says.
type Claims struct {
	// Subject is the sub claim: who the token was issued to.
	Subject string
	// ID is the jti claim, unique per token.
	ID        string
	IssuedAt  time.Time
	NotBefore time.Time
	ExpiresAt time.Time
}

// Signer issues and verifies the API's access tokens: JWTs signed with Ed25519 (alg EdDSA).
// Keys rotate by key id: the first key signs, and every configured key verifies the tokens
// that name it in their kid header, so a token signed before a rotation stays valid until it
// expires. A Signer is safe for concurrent use.
type Signer struct {
	cfg     SignerConfig
	now     func() time.Time
	kid     string
	private ed25519.PrivateKey
	public  map[string]ed25519.PublicKey
	ids     []string // in configured order, for the JWKS
}

// NewSigner returns a Signer of keys, each a 32-byte Ed25519 seed as secret.ReadKeyList reads
// it; the first signs. now is the clock (time.Now when nil). It returns an error naming the
// setting when no key is configured, a key is not a seed, or cfg is invalid.
func NewSigner(keys []secret.RawKey, cfg SignerConfig, now func() time.Time) (*Signer, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errors.New("auth.signing_keys: no key configured")
	}
	if now == nil {
		now = time.Now
	}
	s := &Signer{cfg: cfg, now: now, public: make(map[string]ed25519.PublicKey, len(keys))}
	for i, k := range keys {
		switch {
		case k.ID == "":
			return nil, fmt.Errorf("auth.signing_keys: key %d has no id", i+1)
		case len(k.Raw) != ed25519.SeedSize:
			return nil, fmt.Errorf("auth.signing_keys: key %q is not a %d-byte Ed25519 seed", k.ID, ed25519.SeedSize)
		case s.public[k.ID] != nil:
			return nil, fmt.Errorf("auth.signing_keys: key id %q appears twice", k.ID)
		}
		private := ed25519.NewKeyFromSeed(k.Raw)
		if i == 0 {
			s.kid, s.private = k.ID, private
		}
		s.public[k.ID] = private.Public().(ed25519.PublicKey)
		s.ids = append(s.ids, k.ID)
	}
	return s, nil
}

// Issue returns a token for subject, valid from now for the configured TTL, and the instant it
// expires (whole seconds, as in the token). It returns an error for an empty subject.
func (s *Signer) Issue(subject string) (token string, expiresAt time.Time, err error) {
	if subject == "" {
		return "", time.Time{}, errors.New("issue access token: empty subject")
	}
	id, err := uuid.NewV7()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issue access token: %w", err)
	}
	now := s.now().UTC()
	issued := jwt.NewNumericDate(now)
	expires := jwt.NewNumericDate(now.Add(s.cfg.TTL))
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
		"iss": s.cfg.Issuer,
		// A string, not jwt's one-element array: what most verifiers expect of one audience.
		"aud": s.cfg.Audience,
		"sub": subject,
		"iat": issued,
		"nbf": issued,
		"exp": expires,
		"jti": id.String(),
	})
	t.Header["kid"] = s.kid
	token, err = t.SignedString(s.private)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issue access token: %w", err)
	}
	return token, expires.Time, nil
}

// Verify checks token's signature, by the key its kid header names, and its claims: issuer,
// audience, expiry (required), not-before and issued-at, within the leeway; subject and id are
// required. It returns the claims, or an error wrapping ErrInvalidToken.
func (s *Signer) Verify(token string) (*Claims, error) {
	// Only the compact form's characters: base64 decoders skip line breaks, which would let
	// one token be spelled many ways.
	if token == "" || len(token) > maxAccessTokenLen || !compactJWS(token) {
		return nil, invalidToken("malformed")
	}
	var claims jwt.RegisteredClaims
	keyFound := false
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(s.cfg.Issuer),
		jwt.WithAudience(s.cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(s.cfg.Leeway),
		jwt.WithTimeFunc(s.now),
		jwt.WithStrictDecoding(),
	)
	_, err := parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		key, ok := s.public[kid]
		if !ok {
			return nil, errUnknownKeyID
		}
		keyFound = true
		return key, nil
	})
	switch {
	case err != nil:
		return nil, invalidToken(failureReason(err, keyFound, &claims))
	case claims.Subject == "":
		return nil, invalidToken("missing subject")
	case claims.ID == "":
		return nil, invalidToken("missing token id")
	}
	return &Claims{
		Subject:   claims.Subject,
		ID:        claims.ID,
		IssuedAt:  numericTime(claims.IssuedAt),
		NotBefore: numericTime(claims.NotBefore),
		ExpiresAt: numericTime(claims.ExpiresAt),
	}, nil
}

// failureReason names why jwt refused a token; keyFound tells whether the key lookup ran,
// which jwt does only once the algorithm is allowed, and claims are what it decoded.
func failureReason(err error, keyFound bool, claims *jwt.RegisteredClaims) string {
	switch {
	case errors.Is(err, errUnknownKeyID):
		return "unknown key id"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenUnverifiable), errors.Is(err, jwt.ErrTokenSignatureInvalid) && !keyFound:
		return "algorithm not allowed"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "signature"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && claims.ExpiresAt == nil:
		return "missing expiry"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && claims.Issuer == "":
		return "missing issuer"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "missing audience"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "not yet valid"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "issued in the future"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	}
	return "invalid claims"
}

func invalidToken(reason string) error { return fmt.Errorf("%w: %s", ErrInvalidToken, reason) }

// compactJWS reports whether s holds only base64url characters and dots.
func compactJWS(s string) bool {
	for _, c := range []byte(s) {
		if !(c == '.' || c == '-' || c == '_' || ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9')) {
			return false
		}
	}
	return true
}

func numericTime(d *jwt.NumericDate) time.Time {
	if d == nil {
		return time.Time{}
	}
	return d.UTC()
}

// publicJWK is an Ed25519 public key as RFC 8037 writes it in a JWK.
type publicJWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// PublicJWKS returns the public halves of the keys, signing key first, as a JWK Set (RFC 7517)
// for other services to verify the tokens with. It holds no private material. It returns an
// error only if the set cannot be encoded.
func (s *Signer) PublicJWKS() ([]byte, error) {
	set := struct {
		Keys []publicJWK `json:"keys"`
	}{Keys: make([]publicJWK, 0, len(s.ids))}
	for _, id := range s.ids {
		set.Keys = append(set.Keys, publicJWK{
			Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(s.public[id]),
			Kid: id, Alg: jwt.SigningMethodEdDSA.Alg(), Use: "sig",
		})
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("encode jwks: %w", err)
	}
	return b, nil
}

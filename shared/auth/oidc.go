package auth

// Tokens are checked by golang-jwt against keys kept by keyfunc (over jwkset) rather than by
// go-oidc. go-oidc's RemoteKeySet fetches the key set again for every token it cannot verify,
// an unknown key id or merely a bad signature, with no rate limit: each forged token would cost
// a request to the issuer, and limiting that would mean replacing RemoteKeySet with a key cache
// of our own. keyfunc looks a known key id up without fetching, refetches on an
// unknown one through a rate limiter, and keeps the keys it has when a fetch fails. The one thing
// go-oidc would add, discovery, is a single GET of a JSON document, done here in discover.
//
// The browser sign-in (package oidclogin) verifies its ID tokens through the same OIDC value:
// one discovery document, one key cache and one HTTP client serve both paths, and an ID token's
// claims become an OIDCIdentity by the same code as an access token's.

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// Defaults of OIDCConfig.
const (
	RolesClaimDefault       = "groups"
	UsernameClaimDefault    = "preferred_username"
	OIDCRefreshLimitDefault = 30 * time.Second
)

const (
	// keyFetchTimeout bounds a key-set fetch, and how long a token with an unknown key id waits
	// for the refresh limit to allow one: a request is refused rather than held for longer.
	keyFetchTimeout = 5 * time.Second
	// oidcHTTPTimeout bounds every request of the client NewOIDC makes when given none;
	// http.DefaultClient would wait forever on an issuer that accepts and never answers.
	oidcHTTPTimeout = 10 * time.Second
	// maxDiscoveryBytes bounds the discovery document, which is a few kilobytes.
	maxDiscoveryBytes = 1 << 20
)

// OIDCConfig configures OIDC sign-in (settings under auth.oidc). Zero fields other than Issuer
// and Audience take their defaults.
type OIDCConfig struct {
	// Issuer is matched exactly against the discovery document's issuer and each token's iss.
	Issuer string `koanf:"issuer" usage:"OIDC issuer URL; its /.well-known/openid-configuration is read at start"`
	// Audience is required: without it a token issued to any client of the issuer would do.
	Audience string `koanf:"audience" usage:"expected aud of access tokens (the client id vecron is registered as)"`
	// RolesClaim is a dotted path through nested objects; a claim whose own name holds dots
	// (https://example.com/roles) is matched whole first.
	RolesClaim    string `koanf:"roles_claim" usage:"dotted path of the claim holding the user's roles or groups (realm_access.roles for Keycloak)"`
	UsernameClaim string `koanf:"username_claim" usage:"claim shown as the user's name (preferred_username)"`
	// RefreshLimit spaces out the fetches that tokens with unknown key ids cause, so that
	// made-up key ids cannot turn vecron into a flood against the issuer.
	RefreshLimit time.Duration `koanf:"refresh_limit" usage:"least time between two key-set fetches triggered by an unknown key id"`
}

func (c OIDCConfig) withDefaults() OIDCConfig {
	c.RolesClaim = cmp.Or(c.RolesClaim, RolesClaimDefault)
	c.UsernameClaim = cmp.Or(c.UsernameClaim, UsernameClaimDefault)
	c.RefreshLimit = cmp.Or(c.RefreshLimit, OIDCRefreshLimitDefault)
	return c
}

// validate checks a configuration after withDefaults.
func (c OIDCConfig) validate() error {
	if c.Issuer == "" {
		return errors.New("auth.oidc.issuer: is required in auth.mode=oidc")
	}
	if !isHTTPURL(c.Issuer) {
		return errors.New("auth.oidc.issuer: must be an http or https URL")
	}
	if c.Audience == "" {
		return errors.New("auth.oidc.audience: is required (the client id vecron is registered as at the issuer)")
	}
	if c.RefreshLimit < 0 {
		return errors.New("auth.oidc.refresh_limit: must not be negative")
	}
	return nil
}

// OIDCIdentity is who a verified access token or ID token speaks for.
type OIDCIdentity struct {
	Subject string
	// Username is the configured username claim, or Subject when the token has none.
	Username string
	Issuer   string
	// Roles are the raw values of the roles claim, for the caller to map to vecron roles; nil
	// when the token has no such claim.
	Roles     []string
	ExpiresAt time.Time
}

// OIDCEndpoints are the URLs of the issuer's discovery document, read once by NewOIDC.
type OIDCEndpoints struct {
	// Authorization and Token are empty when the document names none: an issuer used only to
	// verify bearer tokens need not offer the Authorization Code flow.
	Authorization string
	Token         string
	JWKS          string
	// CodeChallengeMethods is code_challenge_methods_supported; nil when not advertised.
	CodeChallengeMethods []string
}

// OIDC verifies access tokens and ID tokens issued by one OIDC issuer. It is safe for
// concurrent use.
type OIDC struct {
	issuer        string
	rolesClaim    string
	usernameClaim string
	endpoints     OIDCEndpoints
	client        *http.Client
	now           func() time.Time
	keys          keyfunc.Keyfunc
	parser        *jwt.Parser
}

// validMethods are the signature algorithms accepted from the issuer: asymmetric ones only, so
// a public key from the key set can never be taken as an HMAC secret (algorithm confusion), and
// "none" is refused.
var validMethods = []string{
	"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512", "EdDSA",
}

// NewOIDC reads the issuer's discovery document and key set (with ctx), failing with an error
// naming auth.oidc.issuer when unreachable or invalid, or naming the faulty field of cfg. A nil
// client is replaced by one with a timeout; now, the clock tokens' exp and nbf are judged by,
// defaults to time.Now (RefreshLimit alone runs on the wall clock, inside the rate limiter).
// No goroutine outlives the call.
func NewOIDC(ctx context.Context, cfg OIDCConfig, client *http.Client, now func() time.Time) (*OIDC, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{Timeout: oidcHTTPTimeout}
	}
	if now == nil {
		now = time.Now
	}
	endpoints, err := discover(ctx, client, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("auth.oidc.issuer: %w", err)
	}
	jwksURL := endpoints.JWKS
	// No RefreshInterval: a periodic refresh would need a goroutine that outlives NewOIDC. Keys
	// are refetched when a token names an unknown one, which is how issuers rotate, and each
	// refetch replaces the whole set, dropping keys the issuer no longer publishes.
	remote, err := jwkset.NewStorageFromHTTP(jwksURL, jwkset.HTTPClientStorageOptions{
		Client:      client,
		Ctx:         ctx,
		HTTPTimeout: keyFetchTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("auth.oidc.issuer: read key set %s: %w", jwksURL, err)
	}
	if keys, err := remote.KeyReadAll(ctx); err != nil || len(keys) == 0 {
		return nil, fmt.Errorf("auth.oidc.issuer: key set %s holds no usable key", jwksURL)
	}
	storage, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs: map[string]jwkset.Storage{jwksURL: remote},
		// The limiter's Wait gives up at once when the next fetch is further away than this,
		// so a second unknown key id within RefreshLimit is refused without a fetch.
		RateLimitWaitMax:  keyFetchTimeout,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(cfg.RefreshLimit), 1),
	})
	if err != nil {
		return nil, fmt.Errorf("auth.oidc.issuer: key set %s: %w", jwksURL, err)
	}
	// "" admits keys published without a use, which many issuers omit; an encryption key
	// ("enc") never verifies a signature.
	keys, err := keyfunc.New(keyfunc.Options{Storage: storage, UseWhitelist: []jwkset.USE{jwkset.UseSig, ""}})
	if err != nil {
		return nil, fmt.Errorf("auth.oidc.issuer: key set %s: %w", jwksURL, err)
	}
	return &OIDC{
		issuer:        cfg.Issuer,
		rolesClaim:    cfg.RolesClaim,
		usernameClaim: cfg.UsernameClaim,
		endpoints:     endpoints,
		client:        client,
		now:           now,
		keys:          keys,
		parser: jwt.NewParser(
			jwt.WithValidMethods(validMethods),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithTimeFunc(now),
		),
	}, nil
}

// discover reads the issuer's discovery document and returns the endpoints it names. An
// authorization or token endpoint that is not an http or https URL is left empty rather than
// refused, since only the browser sign-in needs them and it says so when it starts.
func discover(ctx context.Context, client *http.Client, issuer string) (OIDCEndpoints, error) {
	docURL := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, docURL, nil)
	if err != nil {
		return OIDCEndpoints{}, fmt.Errorf("read discovery document: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return OIDCEndpoints{}, fmt.Errorf("read discovery document: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return OIDCEndpoints{}, fmt.Errorf("read discovery document %s: status %s", docURL, resp.Status)
	}
	var doc struct {
		Issuer                string   `json:"issuer"`
		JWKSURI               string   `json:"jwks_uri"`
		AuthorizationEndpoint string   `json:"authorization_endpoint"`
		TokenEndpoint         string   `json:"token_endpoint"`
		CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxDiscoveryBytes)).Decode(&doc); err != nil {
		return OIDCEndpoints{}, fmt.Errorf("read discovery document %s: %w", docURL, err)
	}
	// OpenID Connect Discovery requires the document to name the issuer it was fetched for;
	// otherwise one issuer's keys could vouch for tokens claimed to come from another.
	if doc.Issuer != issuer {
		return OIDCEndpoints{}, fmt.Errorf("discovery document %s names issuer %q, not the configured one", docURL, doc.Issuer)
	}
	if !isHTTPURL(doc.JWKSURI) {
		return OIDCEndpoints{}, fmt.Errorf("discovery document %s has no http or https jwks_uri", docURL)
	}
	e := OIDCEndpoints{JWKS: doc.JWKSURI, CodeChallengeMethods: doc.CodeChallengeMethods}
	if isHTTPURL(doc.AuthorizationEndpoint) {
		e.Authorization = doc.AuthorizationEndpoint
	}
	if isHTTPURL(doc.TokenEndpoint) {
		e.Token = doc.TokenEndpoint
	}
	return e, nil
}

// Issuer returns the configured issuer, which is also every verified token's iss.
func (o *OIDC) Issuer() string { return o.issuer }

// Endpoints returns the endpoints the discovery document named when NewOIDC read it.
func (o *OIDC) Endpoints() OIDCEndpoints {
	e := o.endpoints
	e.CodeChallengeMethods = slices.Clone(e.CodeChallengeMethods)
	return e
}

// Client returns the HTTP client the issuer is reached through (discovery, key set), for
// the other requests made to the same issuer, such as the token endpoint's.
func (o *OIDC) Client() *http.Client { return o.client }

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// Verify checks a raw bearer token: its signature by a key of the issuer's key set with an
// asymmetric algorithm, its iss, aud, exp and nbf, and that it names a subject. Every failure
// wraps ErrInvalidToken; the error says why without quoting the token or anything taken from it.
func (o *OIDC) Verify(ctx context.Context, raw string) (*OIDCIdentity, error) {
	claims := jwt.MapClaims{}
	if _, err := o.parser.ParseWithClaims(raw, claims, o.keys.KeyfuncCtx(ctx)); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidToken, refusal(err))
	}
	return o.identity(claims)
}

// VerifyIDToken checks an ID token the token endpoint returned to the client clientID, as
// OpenID Connect Core 3.1.3.7 asks: its signature by a key of the issuer's key set (the cache
// Verify uses), its iss, that its aud holds clientID (and that azp is clientID when it names
// several audiences), exp and nbf, and that its nonce is the one sent in the authorization
// request. The identity is derived from its claims as Verify derives it from an access token's.
// Every failure wraps ErrInvalidToken and quotes nothing of the token.
func (o *OIDC) VerifyIDToken(ctx context.Context, raw, clientID, nonce string) (*OIDCIdentity, error) {
	if clientID == "" || nonce == "" {
		// An empty expected value would match an ID token that lacks the claim.
		return nil, fmt.Errorf("%w: no client id or nonce to check against", ErrInvalidToken)
	}
	claims, err := o.verifyIDToken(ctx, raw, clientID)
	if err != nil {
		return nil, err
	}
	got, _ := claims["nonce"].(string)
	if subtle.ConstantTimeCompare([]byte(got), []byte(nonce)) != 1 {
		return nil, fmt.Errorf("%w: its nonce is not the one this sign-in sent", ErrInvalidToken)
	}
	return o.identity(claims)
}

// VerifyRefreshedIDToken checks an ID token the token endpoint returned to the client clientID
// for a refresh token, as OpenID Connect Core 12.2 asks: everything VerifyIDToken checks but the
// nonce (a refresh has none of its own; the token came straight from the token endpoint to this
// client), and that it speaks of subject, the user of the sign-in refreshed. Every failure wraps
// ErrInvalidToken and quotes nothing of the token.
func (o *OIDC) VerifyRefreshedIDToken(ctx context.Context, raw, clientID, subject string) (*OIDCIdentity, error) {
	if clientID == "" || subject == "" {
		return nil, fmt.Errorf("%w: no client id or subject to check against", ErrInvalidToken)
	}
	claims, err := o.verifyIDToken(ctx, raw, clientID)
	if err != nil {
		return nil, err
	}
	id, err := o.identity(claims)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(id.Subject), []byte(subject)) != 1 {
		return nil, fmt.Errorf("%w: it speaks of another subject than the sign-in refreshed", ErrInvalidToken)
	}
	return id, nil
}

// verifyIDToken checks what every ID token of clientID must hold and returns its claims.
func (o *OIDC) verifyIDToken(ctx context.Context, raw, clientID string) (jwt.MapClaims, error) {
	parser := jwt.NewParser(
		jwt.WithValidMethods(validMethods),
		jwt.WithIssuer(o.issuer),
		jwt.WithAudience(clientID),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(o.now),
	)
	claims := jwt.MapClaims{}
	if _, err := parser.ParseWithClaims(raw, claims, o.keys.KeyfuncCtx(ctx)); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidToken, refusal(err))
	}
	if aud, err := claims.GetAudience(); err != nil || len(aud) > 1 {
		if azp, _ := claims["azp"].(string); azp != clientID {
			return nil, fmt.Errorf("%w: meant for several audiences without this client as its authorized party", ErrInvalidToken)
		}
	}
	return claims, nil
}

// identity derives who verified claims speak for; access tokens and ID tokens alike.
func (o *OIDC) identity(claims jwt.MapClaims) (*OIDCIdentity, error) {
	sub, err := claims.GetSubject()
	if err != nil || sub == "" {
		return nil, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		// The parser requires exp; this only keeps a nil from being dereferenced.
		return nil, fmt.Errorf("%w: no expiry", ErrInvalidToken)
	}
	roles, err := rolesClaim(claims, o.rolesClaim)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	username, _ := claimAt(claims, o.usernameClaim)
	name, ok := username.(string)
	if !ok || name == "" {
		name = sub
	}
	return &OIDCIdentity{
		Subject:   sub,
		Username:  name,
		Issuer:    o.issuer,
		Roles:     roles,
		ExpiresAt: exp.UTC(),
	}, nil
}

// refusal says why the parser refused a token in words of our own: its messages quote the
// token's alg and kid, which are the sender's text.
func refusal(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "signature or algorithm not accepted"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "no key of the issuer matches its key id and algorithm"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "not valid yet"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "issued by another issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "meant for another audience"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "a required claim is missing"
	default:
		return "claims not valid"
	}
}

// rolesClaim returns the strings at path: none when the claim is absent or null, one for a
// string, each element of an array of strings. Any other value is an error, so that a path
// pointing at the wrong claim shows up rather than silently granting no roles.
func rolesClaim(claims map[string]any, path string) ([]string, error) {
	v, _ := claimAt(claims, path)
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	case []any:
		roles := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("roles claim %s holds %s among its values, not only strings", path, jsonKind(e))
			}
			roles = append(roles, s)
		}
		return roles, nil
	default:
		return nil, fmt.Errorf("roles claim %s holds %s, not a string or an array of strings", path, jsonKind(v))
	}
}

// claimAt returns the value at a dotted path through nested objects. At each level the rest of
// the path is first tried as one name, so claims named like URLs (dots included) are found.
func claimAt(obj map[string]any, path string) (any, bool) {
	if v, ok := obj[path]; ok {
		return v, true
	}
	for i := strings.IndexByte(path, '.'); i >= 0; {
		if inner, ok := obj[path[:i]].(map[string]any); ok {
			if v, ok := claimAt(inner, path[i+1:]); ok {
				return v, true
			}
		}
		next := strings.IndexByte(path[i+1:], '.')
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return nil, false
}

// jsonKind names a decoded JSON value's type as an operator reading the token would.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64, json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("a %T", v)
	}
}

// LooksLikeJWT reports whether raw has the three-part JWS compact shape: two dots, a non-empty
// header and payload, and only base64url characters. It decodes nothing, so it is cheap enough
// to tell a JWT from an opaque vcr_ token before choosing how to verify it.
func LooksLikeJWT(raw string) bool {
	header, rest, ok := strings.Cut(raw, ".")
	if !ok {
		return false
	}
	payload, signature, ok := strings.Cut(rest, ".")
	if !ok || header == "" || payload == "" {
		return false
	}
	return isBase64URL(header) && isBase64URL(payload) && isBase64URL(signature)
}

// isBase64URL reports whether s holds only the unpadded base64url alphabet, which excludes a
// third dot as well.
func isBase64URL(s string) bool {
	for i := range len(s) {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

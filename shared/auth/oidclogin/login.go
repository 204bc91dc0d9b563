// Package oidclogin signs a person in to the dashboard through the identity provider: the
// OpenID Connect Authorization Code flow with PKCE (S256), for a browser.
//
// It is a package of its own, beside auth rather than inside it, because it is a flow over
// HTTP responses: it sets cookies, redirects and speaks OAuth 2.0 to the token endpoint
// (golang.org/x/oauth2), none of which the API's bearer tokens or the CLI need. What it shares
// with them it takes from auth and does not repeat: the issuer's discovery document, its key
// cache and HTTP client, and the derivation of an identity from verified claims, all through
// *auth.OIDC.
//
// The seam with the dashboard is two handlers it writes around Start and Finish:
//
//	GET /auth/oidc/start?return=/jobs   login.Start(w, r, r.URL.Query().Get("return"))
//	GET /auth/oidc/callback             id, returnTo, err := login.Finish(w, r)
//	                                    then a dashboard session for id, and a redirect to returnTo
//
// What one sign-in needs between the two (state, nonce, PKCE verifier, return path) travels in
// a cookie sealed with AES-256-GCM, so that any replica can finish what another started and
// nothing is stored server-side before the user is known.
package oidclogin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"golang.org/x/oauth2"

	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/secret"
)

const (
	// StateTTL is how long a started sign-in may take, the user's time at the identity
	// provider included.
	StateTTL = 10 * time.Minute
	// exchangeTimeout bounds the token request; the client's own timeout bounds each attempt.
	exchangeTimeout = 10 * time.Second
	// statePurpose labels the keys derived from secrets.keys for the state cookie.
	statePurpose = "oidc-login state cookie"
)

// Login runs the sign-in for one client of the issuer. It is safe for concurrent use.
type Login struct {
	oidc         *auth.OIDC
	oauth        *oauth2.Config
	clientID     string
	clientSecret string
	displayName  string
	keys         *secret.Keyring
	// refreshKeys seal the identity provider's refresh tokens a session keeps (refresh.go).
	refreshKeys *secret.Keyring
	now         func() time.Time

	cookieName string
	cookiePath string
	secure     bool

	spent spent
}

// New returns the sign-in for cfg, verifying ID tokens with o. The state cookie is sealed with
// cfg.StateKeys, or, when none are set, with keys derived (HKDF-SHA256) from secrets, the keys
// of the secret variables; so a deployment that has those needs no new key, and the cookie
// keys still never equal them. now defaults to time.Now. New fails with an error naming the
// setting when cfg is not usable, or naming auth.oidc.issuer when the identity provider's
// discovery document offers no Authorization Code flow with PKCE S256.
func New(o *auth.OIDC, cfg Config, secrets secret.Config, now func() time.Time) (*Login, error) {
	if o == nil {
		return nil, errors.New("auth.oidc_login: needs oidc among auth.modes and auth.oidc.issuer set")
	}
	s, err := cfg.resolve(o.Issuer())
	if err != nil {
		return nil, err
	}
	e := o.Endpoints()
	if e.Authorization == "" || e.Token == "" {
		return nil, errors.New("auth.oidc.issuer: its discovery document names no authorization_endpoint or token_endpoint, which the sign-in needs")
	}
	// An issuer that says nothing may still support S256, and then it is used; one that lists
	// its methods without S256 would ignore or refuse the challenge.
	if e.CodeChallengeMethods != nil && !slices.Contains(e.CodeChallengeMethods, "S256") {
		return nil, errors.New("auth.oidc.issuer: the identity provider does not offer PKCE with S256 (code_challenge_methods_supported)")
	}
	keys, base, err := stateKeys(cfg, secrets)
	if err != nil {
		return nil, err
	}
	refreshKeys, err := derivedKeyring("auth.oidc_login.state_keys", base, refreshPurpose)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	// A public client sends its id in the body (it has no secret for a Basic header); a
	// confidential one lets x/oauth2 try the Basic header first and then the body, and keep
	// whichever the provider took, since discovery's token_endpoint_auth_methods_supported is
	// not always truthful.
	style := oauth2.AuthStyleAutoDetect
	if s.clientSecret == "" {
		style = oauth2.AuthStyleInParams
	}
	l := &Login{
		oidc: o,
		oauth: &oauth2.Config{
			ClientID:     s.clientID,
			ClientSecret: s.clientSecret,
			Endpoint:     oauth2.Endpoint{AuthURL: e.Authorization, TokenURL: e.Token, AuthStyle: style},
			RedirectURL:  s.redirect.String(),
			Scopes:       s.scopes,
		},
		clientID:     s.clientID,
		clientSecret: s.clientSecret,
		displayName:  s.displayName,
		keys:         keys,
		refreshKeys:  refreshKeys,
		now:          now,
		cookiePath:   s.redirect.EscapedPath(),
		// The callback's scheme, not the request's, decides: behind a proxy that ends TLS the
		// request is plain HTTP while the browser speaks HTTPS.
		secure: s.redirect.Scheme == "https",
	}
	if l.cookiePath == "" {
		l.cookiePath = "/"
	}
	// A __Secure- cookie can only be set over HTTPS, so a page on a plain-HTTP origin of the
	// same domain cannot plant a state of its own choosing in the browser.
	l.cookieName = "vecron_oidc_state"
	if l.secure {
		l.cookieName = "__Secure-" + l.cookieName
	}
	return l, nil
}

// stateKeys returns the keyring of the state cookie, the configured keys or keys derived from
// secrets, with the key list it came from (which other keys of the sign-in derive from).
func stateKeys(cfg Config, secrets secret.Config) (*secret.Keyring, []secret.RawKey, error) {
	raw, err := secret.ReadKeyList("auth.oidc_login.state_keys", cfg.StateKeys, cfg.StateKeysFile, secret.KeySize)
	if err != nil {
		return nil, nil, err
	}
	if len(raw) > 0 {
		keys, err := secret.NewKeyring(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("auth.oidc_login.state_keys: %w", err)
		}
		return keys, raw, nil
	}
	base, err := secret.ReadKeyList("secrets.keys", secrets.Keys, secrets.KeysFile, secret.KeySize)
	if err != nil {
		return nil, nil, err
	}
	if len(base) == 0 {
		return nil, nil, errors.New("auth.oidc_login.state_keys: is required when secrets.keys is not set (id:key, the key made with `head -c 32 /dev/urandom | base64`)")
	}
	keys, err := derivedKeyring("auth.oidc_login.state_keys", base, statePurpose)
	return keys, base, err
}

// derivedKeyring returns a keyring of keys derived from base for purpose; setting names the
// keys in an error.
func derivedKeyring(setting string, base []secret.RawKey, purpose string) (*secret.Keyring, error) {
	raw, err := secret.DeriveKeys(base, purpose, secret.KeySize)
	if err != nil {
		return nil, err
	}
	keys, err := secret.NewKeyring(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setting, err)
	}
	return keys, nil
}

// DisplayName returns the name for the button: "Sign in with " + DisplayName().
func (l *Login) DisplayName() string { return l.displayName }

// RedirectURL returns the callback URL the identity provider sends the browser back to.
func (l *Login) RedirectURL() string { return l.oauth.RedirectURL }

// Start begins a sign-in: it sets the state cookie on w and redirects the browser to the
// identity provider's authorization endpoint. returnTo is where Finish will send the user
// afterwards; anything but a LocalPath becomes "/". Start writes the whole response; it fails
// only when the state cannot be sealed, and then writes nothing.
func (l *Login) Start(w http.ResponseWriter, r *http.Request, returnTo string) error {
	st := state{
		State:    rand.Text(),
		Nonce:    rand.Text(),
		Verifier: oauth2.GenerateVerifier(),
		Return:   returnPath(returnTo),
		Expires:  l.now().Add(StateTTL).Unix(),
	}
	value, err := sealState(l.keys, l.cookieName, st)
	if err != nil {
		return fmt.Errorf("oidc sign-in: seal state: %w", err)
	}
	http.SetCookie(w, l.cookie(value, int(StateTTL/time.Second)))
	w.Header().Set("Cache-Control", "no-store")
	target := l.oauth.AuthCodeURL(st.State,
		oauth2.S256ChallengeOption(st.Verifier),
		oauth2.SetAuthURLParam("nonce", st.Nonce))
	http.Redirect(w, r, target, http.StatusFound)
	return nil
}

// cookie returns the state cookie holding value; maxAge < 0 deletes it.
func (l *Login) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:  l.cookieName,
		Value: value,
		// Only the callback ever reads it, so no other page of the site is sent it.
		Path:     l.cookiePath,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   l.secure,
		// Lax, not Strict: the browser comes back from the identity provider by a top-level
		// navigation from another site, which Strict would send without the cookie.
		SameSite: http.SameSiteLaxMode,
	}
}

// Finish is FinishGrant for a caller that keeps no refresh token: it returns the identity
// alone.
func (l *Login) Finish(w http.ResponseWriter, r *http.Request) (*auth.OIDCIdentity, string, error) {
	g, returnTo, err := l.FinishGrant(w, r)
	if err != nil {
		return nil, "", err
	}
	return g.Identity, returnTo, nil
}

// FinishGrant completes a sign-in at the callback. It checks the state parameter against the
// state cookie this browser got from Start (in constant time), that the cookie is fresh and
// not used before, and the identity provider's error parameter; it then exchanges the code,
// with the PKCE verifier, at the token endpoint and verifies the ID token (signature, iss,
// aud = the client id, exp, nonce). It returns who signed in, until when the ID token vouches
// for it, and the provider's refresh token sealed (see Grant), with the local path to send them
// to. FinishGrant deletes the state cookie on w whatever the outcome and writes nothing else:
// the caller then writes its session cookie and the redirect, or an error page. Every failure
// is an *Error; show its Message(), log its Error().
func (l *Login) FinishGrant(w http.ResponseWriter, r *http.Request) (*Grant, string, error) {
	// Deleted first: a failed sign-in starts over at Start, and a finished one must leave
	// nothing to replay.
	http.SetCookie(w, l.cookie("", -1))
	w.Header().Set("Cache-Control", "no-store")
	c, err := r.Cookie(l.cookieName)
	if err != nil {
		return nil, "", &Error{Reason: ReasonExpired, err: errors.New("no state cookie")}
	}
	st, err := openState(l.keys, l.cookieName, c.Value)
	if err != nil {
		return nil, "", &Error{Reason: ReasonMismatch, err: err}
	}
	now := l.now()
	expires := time.Unix(st.Expires, 0)
	if !now.Before(expires) {
		return nil, "", &Error{Reason: ReasonExpired, err: errors.New("state cookie expired")}
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 {
		return nil, "", &Error{Reason: ReasonMismatch, err: errors.New("state parameter differs from the state cookie's")}
	}
	if !l.spent.spend(st.State, expires, now) {
		return nil, "", &Error{Reason: ReasonExpired, err: errors.New("state already used")}
	}
	// RFC 9207: a response naming another issuer comes from a mix-up with another provider.
	if q.Has("iss") && q.Get("iss") != l.oidc.Issuer() {
		return nil, "", &Error{Reason: ReasonMismatch, err: errors.New("the authorization response names another issuer")}
	}
	// Read only once the state matched, so no one can put words of their own on the error
	// page with a crafted link.
	if e := q.Get("error"); e != "" {
		return nil, "", &Error{Reason: ReasonRefused, Code: providerText(e), Description: providerText(q.Get("error_description"))}
	}
	code := q.Get("code")
	if code == "" {
		return nil, "", &Error{Reason: ReasonInvalidToken, err: errors.New("the callback holds no code")}
	}
	ctx, cancel := context.WithTimeout(r.Context(), exchangeTimeout)
	defer cancel()
	// x/oauth2 takes its HTTP client from the context: that is its API for it.
	ctx = context.WithValue(ctx, oauth2.HTTPClient, l.oidc.Client())
	tok, err := l.oauth.Exchange(ctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return nil, "", l.exchangeError(err, code, st.Verifier)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, "", &Error{Reason: ReasonInvalidToken, err: errors.New("the token response holds no id_token (is openid among auth.oidc_login.scopes?)")}
	}
	id, err := l.oidc.VerifyIDToken(ctx, raw, l.clientID, st.Nonce)
	if err != nil {
		return nil, "", &Error{Reason: ReasonInvalidToken, err: err}
	}
	g, err := l.grant(id, tok.RefreshToken)
	if err != nil {
		return nil, "", err
	}
	return g, returnPath(st.Return), nil
}

// exchangeError classifies a failed token request. The provider's answer is kept as its error
// code and a cleaned description only: x/oauth2's own message quotes the response body,
// which some providers fill with the code they refuse.
func (l *Login) exchangeError(err error, code, verifier string) *Error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		// No answer, a timeout, or an answer that is not a token response.
		return &Error{Reason: ReasonUnavailable, err: err}
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	cause := fmt.Errorf("token endpoint answered status %d", status)
	if re.ErrorCode == "" || status >= http.StatusInternalServerError {
		return &Error{Reason: ReasonUnavailable, err: cause}
	}
	return &Error{
		Reason:      ReasonRefused,
		Code:        providerText(re.ErrorCode, code, verifier, l.clientSecret),
		Description: providerText(re.ErrorDescription, code, verifier, l.clientSecret),
		err:         cause,
	}
}

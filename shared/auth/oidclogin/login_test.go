package oidclogin_test

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/vecron/vecron/shared/auth/oidclogin"
	"github.com/vecron/vecron/shared/secret"
)

// TestRoundTrip: a browser that follows redirects and keeps cookies goes from Start through
// the identity provider's authorization endpoint back to the callback, where Finish returns
// the identity with its groups and the path to return to.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	var verifierSent atomic.Value
	p := newIdP(t, idpOpts{s256Only: true, token: func(r *http.Request) { verifierSent.Store(r.PostForm.Get("code_verifier")) }})
	a := newApp(t, p, appOpts{})
	b := newBrowser(t, true)

	res := b.result(a.startURL("/jobs?namespace=team-a"))
	require.Zero(t, res.Reason, "error: %s", res.Error)
	require.Equal(t, "1234567890", res.Subject)
	require.Equal(t, "jane.doe", res.Username)
	require.Equal(t, []string{"engineering", "design"}, res.Roles, "groups come from the roles claim, as for bearer tokens")
	require.Equal(t, "/jobs?namespace=team-a", res.Return)
	require.NotEmpty(t, verifierSent.Load(), "the token request carries the PKCE verifier")

	// The state cookie is gone from the browser once the callback answered.
	cb, err := url.Parse(b.callbackURL)
	require.NoError(t, err)
	require.Empty(t, b.jar.Cookies(cb))
	require.NotEmpty(t, b.callbackCookies, "the state cookie did reach the callback")

	require.Equal(t, "Mock", a.login.DisplayName())
	require.Equal(t, a.srv.URL+oidclogin.CallbackPath, a.login.RedirectURL())
}

// TestStartSetsAGuardedCookieAndAsksForPKCE: the authorization request carries state, nonce
// and an S256 challenge; the state cookie is HttpOnly, Lax, limited to the callback's path,
// ten minutes long, sealed (none of the request's values readable in it).
func TestStartSetsAGuardedCookieAndAsksForPKCE(t *testing.T) {
	t.Parallel()
	p := newIdP(t, idpOpts{})
	a := newApp(t, p, appOpts{})
	b := newBrowser(t, false)

	resp := b.get(a.startURL("/jobs"))
	require.Equal(t, http.StatusFound, resp.StatusCode)
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	loc, err := resp.Location()
	require.NoError(t, err)
	require.Equal(t, p.AuthorizationEndpoint(), loc.Scheme+"://"+loc.Host+loc.Path)
	q := loc.Query()
	require.Equal(t, "code", q.Get("response_type"))
	require.Equal(t, p.ClientID, q.Get("client_id"))
	require.Equal(t, a.srv.URL+oidclogin.CallbackPath, q.Get("redirect_uri"))
	require.Equal(t, "openid profile email groups", q.Get("scope"))
	require.Equal(t, "S256", q.Get("code_challenge_method"))
	require.Len(t, q.Get("code_challenge"), 43, "base64url of a SHA-256")
	require.NotEmpty(t, q.Get("state"))
	require.NotEmpty(t, q.Get("nonce"))
	require.NotEqual(t, q.Get("state"), q.Get("nonce"))

	c := stateCookie(t, resp)
	require.Equal(t, "vecron_oidc_state", c.Name, "no __Secure- prefix over plain http")
	require.True(t, c.HttpOnly)
	require.False(t, c.Secure)
	require.Equal(t, http.SameSiteLaxMode, c.SameSite)
	require.Equal(t, oidclogin.CallbackPath, c.Path)
	require.Equal(t, int(oidclogin.StateTTL/time.Second), c.MaxAge)
	for _, v := range []string{q.Get("state"), q.Get("nonce"), "/jobs"} {
		require.NotContains(t, c.Value, v, "the cookie is encrypted")
	}

	// Two sign-ins never share a state.
	again := b.get(a.startURL("/jobs"))
	loc2, err := again.Location()
	require.NoError(t, err)
	require.NotEqual(t, q.Get("state"), loc2.Query().Get("state"))
	require.NotEqual(t, q.Get("code_challenge"), loc2.Query().Get("code_challenge"))
}

// TestSecureCallbackMakesASecureCookie: an https callback (TLS ended at a proxy, so the
// request itself is plain) gives a Secure cookie with the __Secure- prefix.
func TestSecureCallbackMakesASecureCookie(t *testing.T) {
	t.Parallel()
	p := newIdP(t, idpOpts{})
	o := verifier(t, p)
	login, err := oidclogin.New(o, oidclogin.Config{
		ClientID: p.ClientID, PublicURL: "https://vecron.example.com/ui/", StateKeys: testStateKey(t),
	}, secret.Config{}, nil)
	require.NoError(t, err)
	require.Equal(t, "https://vecron.example.com/ui"+oidclogin.CallbackPath, login.RedirectURL())
	w := newRecorder()
	require.NoError(t, login.Start(w, newRequest(t, "http://10.0.0.5:8080/ui/auth/oidc/start"), "/"))
	c := w.cookie(t)
	require.Equal(t, "__Secure-vecron_oidc_state", c.Name)
	require.True(t, c.Secure)
	require.Equal(t, "/ui"+oidclogin.CallbackPath, c.Path)
}

// flow takes the steps of a sign-in by hand up to the callback URL the provider redirects
// to, letting a test change the authorization request on its way.
func flow(t *testing.T, a *app, b *browser, authorize func(string) string) string {
	t.Helper()
	authz := b.redirect(a.startURL("/jobs"))
	if authorize != nil {
		authz = authorize(authz)
	}
	return b.redirect(authz)
}

// TestCallbackRefusals: every way a callback can fail to match the sign-in this browser
// started fails with its own reason, before any code reaches the token endpoint.
func TestCallbackRefusals(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		// callback changes the callback URL and the cookies sent with it.
		callback func(t *testing.T, a *app, b *browser, cb string) (string, []*http.Cookie)
		want     oidclogin.Reason
	}{
		{"StateMismatch", func(t *testing.T, _ *app, _ *browser, cb string) (string, []*http.Cookie) {
			return withParam(t, cb, "state", rand.Text()), nil
		}, oidclogin.ReasonMismatch},
		{"StateMissing", func(t *testing.T, _ *app, _ *browser, cb string) (string, []*http.Cookie) {
			return withParam(t, cb, "state", ""), nil
		}, oidclogin.ReasonMismatch},
		{"CookieMissing", func(t *testing.T, _ *app, b *browser, cb string) (string, []*http.Cookie) {
			b.clear(t, cb)
			return cb, nil
		}, oidclogin.ReasonExpired},
		{"CookieTampered", func(t *testing.T, _ *app, b *browser, cb string) (string, []*http.Cookie) {
			c := b.clear(t, cb)
			v := []byte(c.Value)
			i := len(v) - 5
			v[i] ^= 'A' ^ 'B'
			if v[i] == c.Value[i] {
				v[i] = 'x'
			}
			c.Value = string(v)
			return cb, []*http.Cookie{c}
		}, oidclogin.ReasonMismatch},
		{"CookieOfAnotherKey", func(t *testing.T, _ *app, b *browser, cb string) (string, []*http.Cookie) {
			c := b.clear(t, cb)
			_, rest, _ := strings.Cut(c.Value, ".")
			c.Value = "other." + rest
			return cb, []*http.Cookie{c}
		}, oidclogin.ReasonMismatch},
		{"CookieExpired", func(_ *testing.T, a *app, _ *browser, cb string) (string, []*http.Cookie) {
			a.clock.Advance(oidclogin.StateTTL)
			return cb, nil
		}, oidclogin.ReasonExpired},
		{"IssuerMixUp", func(t *testing.T, _ *app, _ *browser, cb string) (string, []*http.Cookie) {
			return withParam(t, cb, "iss", "https://other-idp.example"), nil
		}, oidclogin.ReasonMismatch},
		{"NoCode", func(t *testing.T, _ *app, _ *browser, cb string) (string, []*http.Cookie) {
			return withParam(t, cb, "code", ""), nil
		}, oidclogin.ReasonInvalidToken},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var exchanges atomic.Int32
			p := newIdP(t, idpOpts{token: func(*http.Request) { exchanges.Add(1) }})
			a := newApp(t, p, appOpts{})
			b := newBrowser(t, false)
			cb := flow(t, a, b, nil)
			code := param(t, cb, "code")
			require.NotEmpty(t, code)
			cb, extra := c.callback(t, a, b, cb)
			res := b.result(cb, extra...)
			require.Equal(t, c.want, res.reason(), "error: %s", res.Error)
			require.Zero(t, exchanges.Load(), "no code is exchanged for a callback that does not match")
			require.NotContains(t, res.Error, code)
		})
	}
}

// clear removes the state cookie from the browser and returns it.
func (b *browser) clear(t *testing.T, cb string) *http.Cookie {
	t.Helper()
	u, err := url.Parse(cb)
	require.NoError(t, err)
	cs := b.jar.Cookies(u)
	require.Len(t, cs, 1)
	c := *cs[0]
	b.jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Path: oidclogin.CallbackPath, MaxAge: -1}})
	require.Empty(t, b.jar.Cookies(u))
	return &c
}

// TestReplayedCallbackFails: a callback URL used once fails again, from the same browser
// (its cookie is gone), with a copy of the cookie (the state is spent), and on another replica
// that never saw it (the provider's code is spent).
func TestReplayedCallbackFails(t *testing.T) {
	t.Parallel()
	p := newIdP(t, idpOpts{})
	key := testStateKey(t)
	a := newApp(t, p, appOpts{cfg: func(c *oidclogin.Config) { c.StateKeys = key }})
	b := newBrowser(t, true)
	res := b.result(a.startURL("/jobs"))
	require.Zero(t, res.Reason, "error: %s", res.Error)
	cb, stolen := b.callbackURL, b.callbackCookies
	require.NotEmpty(t, stolen)

	again := b.result(cb)
	require.Equal(t, oidclogin.ReasonExpired, again.reason(), "the same browser: %s", again.Error)

	copied := newBrowser(t, false).result(cb, stolen...)
	require.Equal(t, oidclogin.ReasonExpired, copied.reason(), "a copy of the cookie: %s", copied.Error)
	require.Contains(t, copied.Error, "already used")

	// Another replica with the same keys opens the cookie but does not know it was used; the
	// provider refuses the code a second time.
	other := newApp(t, p, appOpts{cfg: func(c *oidclogin.Config) {
		c.StateKeys = key
		c.RedirectURL = a.srv.URL + oidclogin.CallbackPath
	}})
	replica := strings.Replace(cb, a.srv.URL, other.srv.URL, 1)
	elsewhere := newBrowser(t, false).result(replica, stolen...)
	require.Equal(t, oidclogin.ReasonRefused, elsewhere.reason(), "another replica: %s", elsewhere.Error)
	require.Equal(t, "invalid_grant", elsewhere.Code)
	require.NotContains(t, elsewhere.Error, param(t, cb, "code"), "the provider's message quoting the code is cleaned")
}

// TestProviderError: the provider's error parameter becomes a readable refusal, but only for
// a callback that matches this browser's sign-in; a crafted link cannot put words on the page.
func TestProviderError(t *testing.T) {
	t.Parallel()
	p := newIdP(t, idpOpts{})
	a := newApp(t, p, appOpts{})
	b := newBrowser(t, false)
	authz := b.redirect(a.startURL("/jobs"))
	state := param(t, authz, "state")
	// The user declined at the provider, which sends the browser back with error=.
	cb := a.srv.URL + oidclogin.CallbackPath + "?" + url.Values{
		"error": {"access_denied"}, "error_description": {"User declined\nthe consent"}, "state": {state},
	}.Encode()

	forged := b.result(withParam(t, cb, "state", rand.Text()))
	require.Equal(t, oidclogin.ReasonMismatch, forged.reason())
	require.NotContains(t, forged.Message, "declined")

	b2 := newBrowser(t, false)
	authz = b2.redirect(a.startURL("/jobs"))
	res := b2.result(withParam(t, cb, "state", param(t, authz, "state")))
	require.Equal(t, oidclogin.ReasonRefused, res.reason(), "error: %s", res.Error)
	require.Equal(t, "access_denied", res.Code)
	require.Equal(t, "The identity provider refused the sign-in: access_denied (User declined the consent).", res.Message)
}

// TestIDTokenChecks: an ID token that is not valid for this sign-in is refused, each check
// shown by a real provider's token with one claim changed (and signed again by its key).
func TestIDTokenChecks(t *testing.T) {
	t.Parallel()
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	for _, c := range []struct {
		name   string
		change func(jwt.MapClaims)
		signer *rsa.PrivateKey
		want   string
	}{
		{"WrongAudience", func(c jwt.MapClaims) { c["aud"] = []string{"another-client"} }, nil, "another audience"},
		{"SeveralAudiencesNoAzp", func(c jwt.MapClaims) { c["aud"] = []string{c["aud"].([]any)[0].(string), "another-client"} }, nil, "several audiences"},
		{"NonceMismatch", func(c jwt.MapClaims) { c["nonce"] = rand.Text() }, nil, "nonce"},
		{"NonceMissing", func(c jwt.MapClaims) { delete(c, "nonce") }, nil, "nonce"},
		{"Expired", func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }, nil, "expired"},
		{"WrongIssuer", func(c jwt.MapClaims) { c["iss"] = "https://other-idp.example" }, nil, "another issuer"},
		{"NoSubject", func(c jwt.MapClaims) { delete(c, "sub") }, nil, "no subject"},
		{"OtherKey", func(jwt.MapClaims) {}, otherKey, "signature"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := newIdP(t, idpOpts{idToken: c.change, signer: c.signer})
			a := newApp(t, p, appOpts{})
			res := newBrowser(t, true).result(a.startURL("/jobs"))
			require.Equal(t, oidclogin.ReasonInvalidToken, res.reason(), "error: %s", res.Error)
			require.Contains(t, res.Error, c.want)
			require.Empty(t, res.Subject)
		})
	}
	t.Run("SeveralAudiencesWithAzp", func(t *testing.T) {
		t.Parallel()
		p := newIdP(t, idpOpts{idToken: func(c jwt.MapClaims) {
			c["aud"] = []string{c["aud"].([]any)[0].(string), "another-client"}
			c["azp"] = c["aud"].([]string)[0]
		}})
		a := newApp(t, p, appOpts{})
		res := newBrowser(t, true).result(a.startURL("/jobs"))
		require.Zero(t, res.Reason, "error: %s", res.Error)
	})
}

// TestNonceSentIsTheNonceChecked: a provider that is sent another nonce (here changed on the
// way) puts that one in the ID token, which the sign-in refuses.
func TestNonceSentIsTheNonceChecked(t *testing.T) {
	t.Parallel()
	p := newIdP(t, idpOpts{})
	a := newApp(t, p, appOpts{})
	b := newBrowser(t, false)
	cb := flow(t, a, b, func(authz string) string { return withParam(t, authz, "nonce", rand.Text()) })
	res := b.result(cb)
	require.Equal(t, oidclogin.ReasonInvalidToken, res.reason(), "error: %s", res.Error)
	require.Contains(t, res.Error, "nonce")
}

// TestPKCEIsCheckedByTheProvider: the provider holds the challenge it was sent; a challenge
// changed on the way no longer matches the verifier the callback sends, and the provider
// refuses the code. So the verifier is sent, and a stolen code alone is worth nothing.
func TestPKCEIsCheckedByTheProvider(t *testing.T) {
	t.Parallel()
	p := newIdP(t, idpOpts{})
	a := newApp(t, p, appOpts{})
	b := newBrowser(t, false)
	cb := flow(t, a, b, func(authz string) string {
		return withParam(t, authz, "code_challenge", oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier()))
	})
	res := b.result(cb)
	require.Equal(t, oidclogin.ReasonRefused, res.reason(), "error: %s", res.Error)
	require.Equal(t, "invalid_grant", res.Code)
}

// TestPublicClientSendsNoSecret: without a client secret the token request carries the
// client id in its body and no Authorization header; PKCE is its proof.
func TestPublicClientSendsNoSecret(t *testing.T) {
	t.Parallel()
	var sawHeader, sawSecret atomic.Bool
	var secretOf atomic.Value
	p := newIdP(t, idpOpts{token: func(r *http.Request) {
		sawHeader.Store(r.Header.Get("Authorization") != "")
		sawSecret.Store(r.PostForm.Has("client_secret"))
		// mockoidc knows only confidential clients: stand in for a provider that takes a
		// public one by adding the secret it wants.
		r.Form.Set("client_secret", secretOf.Load().(string))
	}})
	secretOf.Store(p.ClientSecret)
	a := newApp(t, p, appOpts{cfg: func(c *oidclogin.Config) { c.ClientSecret = "" }})
	res := newBrowser(t, true).result(a.startURL("/"))
	require.Zero(t, res.Reason, "error: %s", res.Error)
	require.False(t, sawHeader.Load())
	require.False(t, sawSecret.Load())
}

// TestOpenRedirectsBecomeHome: a return path that would leave the site is replaced by "/"
// through the whole round trip.
func TestOpenRedirectsBecomeHome(t *testing.T) {
	t.Parallel()
	p := newIdP(t, idpOpts{})
	a := newApp(t, p, appOpts{})
	for _, returnTo := range []string{
		"//evil.example", "https://evil.example/", "/\\evil.example", "\\\\evil.example",
		"/\t/evil.example", "javascript:alert(1)", "evil.example", "", "/..//evil.example",
	} {
		res := newBrowser(t, true).result(a.startURL(returnTo))
		require.Zero(t, res.Reason, "error: %s", res.Error)
		require.Equal(t, "/", res.Return, "return %q", returnTo)
	}
	res := newBrowser(t, true).result(a.startURL("/jobs/42/executions?status=failed#latest"))
	require.Equal(t, "/jobs/42/executions?status=failed#latest", res.Return)
}

// TestStateKeysDerivedFromSecrets: with no state keys, replicas that share secrets.keys
// share the derived keys, and one finishes what another started.
func TestStateKeysDerivedFromSecrets(t *testing.T) {
	t.Parallel()
	p := newIdP(t, idpOpts{})
	k, err := secret.NewKey("v1")
	require.NoError(t, err)
	secrets := secret.Config{Keys: k}
	start := newApp(t, p, appOpts{secrets: secrets, cfg: func(c *oidclogin.Config) { c.StateKeys = "" }})
	finish := newApp(t, p, appOpts{secrets: secrets, cfg: func(c *oidclogin.Config) {
		c.StateKeys = ""
		c.RedirectURL = start.srv.URL + oidclogin.CallbackPath
	}})
	b := newBrowser(t, false)
	cb := flow(t, start, b, nil)
	u, err := url.Parse(cb)
	require.NoError(t, err)
	cookies := b.jar.Cookies(u)
	res := newBrowser(t, false).result(strings.Replace(cb, start.srv.URL, finish.srv.URL, 1), cookies...)
	require.Zero(t, res.Reason, "error: %s", res.Error)
	require.Equal(t, "jane.doe", res.Username)

	// The derived key is not the secrets' key: a cookie sealed with that one does not open.
	direct := newApp(t, p, appOpts{cfg: func(c *oidclogin.Config) { c.StateKeys = k }})
	b = newBrowser(t, false)
	cb = flow(t, direct, b, nil)
	u, err = url.Parse(cb)
	require.NoError(t, err)
	res = newBrowser(t, false).result(strings.Replace(cb, direct.srv.URL, start.srv.URL, 1), b.jar.Cookies(u)...)
	require.Equal(t, oidclogin.ReasonMismatch, res.reason())
}

// TestProviderUnavailable: a token endpoint that fails on its side or cannot be reached is
// told apart from a refusal.
func TestProviderUnavailable(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		breakIt func(p *idp)
	}{
		{"ServerError", func(p *idp) {
			// Two: x/oauth2 tries a confidential client's Basic header, then the form.
			for range 2 {
				p.QueueError(&mockoidc.ServerError{Code: http.StatusServiceUnavailable, Error: "temporarily_unavailable"})
			}
		}},
		{"Down", func(p *idp) { require.NoError(t, p.Shutdown()) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := newIdP(t, idpOpts{})
			a := newApp(t, p, appOpts{})
			b := newBrowser(t, false)
			cb := flow(t, a, b, nil)
			c.breakIt(p)
			res := b.result(cb)
			require.Equal(t, oidclogin.ReasonUnavailable, res.reason(), "error: %s", res.Error)
			require.NotContains(t, res.Error, param(t, cb, "code"))
		})
	}
}

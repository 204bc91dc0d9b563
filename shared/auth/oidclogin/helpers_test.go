package oidclogin_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jonboulle/clockwork"
	"github.com/oauth2-proxy/mockoidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/auth/oidclogin"
	"github.com/vecron/vecron/shared/secret"
)

// signingKey is the identity provider's RSA key, made once: a 2048-bit key per test would
// cost more than the tests themselves.
var signingKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// loginNow is the sign-in's clock, far from the wall clock, so a passing test shows that the
// state cookie's expiry is judged by the injected clock. ID tokens are judged by the identity
// provider's own clock, the one that stamps them.
var loginNow = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

// idpOpts shape the identity provider.
type idpOpts struct {
	// idToken rewrites the claims of every ID token the token endpoint returns, then signs
	// them again with signer (the provider's key when nil).
	idToken func(jwt.MapClaims)
	signer  *rsa.PrivateKey
	// token sees every token request's form before the provider does.
	token func(r *http.Request)
	// s256Only advertises S256 as the only PKCE method.
	s256Only bool
}

// idp is a real OIDC provider (mockoidc) in the test process.
type idp struct {
	*mockoidc.MockOIDC
}

func newIdP(t *testing.T, o idpOpts) *idp {
	t.Helper()
	key, err := signingKey()
	require.NoError(t, err)
	m, err := mockoidc.NewServer(key)
	require.NoError(t, err)
	if o.s256Only {
		m.CodeChallengeMethodsSupported = []string{"S256"}
	}
	require.NoError(t, m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != mockoidc.TokenEndpoint {
				next.ServeHTTP(w, r)
				return
			}
			if o.token != nil {
				// Parsed here, the form is still there for the provider: ParseForm runs once.
				assert.NoError(t, r.ParseForm())
				o.token(r)
			}
			if o.idToken == nil {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			if rec.Code == http.StatusOK {
				body = rewriteIDToken(t, m, body, o.idToken, o.signer)
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
		})
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, m.Start(ln, nil))
	t.Cleanup(func() { _ = m.Shutdown() })
	return &idp{MockOIDC: m}
}

// rewriteIDToken changes the claims of the ID token in a token response and signs it again.
// It runs in the provider's goroutine, so it reports with assert, not require.
func rewriteIDToken(t *testing.T, m *mockoidc.MockOIDC, body []byte, change func(jwt.MapClaims), signer *rsa.PrivateKey) []byte {
	var resp map[string]any
	if !assert.NoError(t, json.Unmarshal(body, &resp)) {
		return body
	}
	raw, _ := resp["id_token"].(string)
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); !assert.NoError(t, err) {
		return body
	}
	change(claims)
	var err error
	if signer == nil {
		resp["id_token"], err = m.Keypair.SignJWT(claims)
	} else {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
		// The provider's key id over another key's signature.
		tok.Header["kid"], err = m.Keypair.KeyID()
		if err == nil {
			resp["id_token"], err = tok.SignedString(signer)
		}
	}
	out, merr := json.Marshal(resp)
	if !assert.NoError(t, errors.Join(err, merr)) {
		return body
	}
	return out
}

// transport returns a transport of the test's own, closed at its end, so that no connection
// outlives it.
func transport(t *testing.T) *http.Transport {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// verifier returns the API's OIDC verifier for the provider, as the api builds it.
func verifier(t *testing.T, p *idp) *auth.OIDC {
	t.Helper()
	client := &http.Client{Transport: transport(t), Timeout: 10 * time.Second}
	o, err := auth.NewOIDC(t.Context(), auth.OIDCConfig{Issuer: p.Issuer(), Audience: p.ClientID}, client, p.Now)
	require.NoError(t, err)
	return o
}

// testStateKey is an explicit state cookie key.
func testStateKey(t *testing.T) string {
	t.Helper()
	k, err := secret.NewKey("s1")
	require.NoError(t, err)
	return k
}

// app is the dashboard's side: the two routes around a Login, and what its callback got.
type app struct {
	srv   *httptest.Server
	login *oidclogin.Login
	clock *clockwork.FakeClock
	// grant is what the last callback that succeeded got.
	grant atomic.Pointer[oidclogin.Grant]
}

// result is what the test app's callback answers.
type result struct {
	Subject  string   `json:"subject"`
	Username string   `json:"username"`
	Roles    []string `json:"roles"`
	Return   string   `json:"return"`
	Reason   int      `json:"reason"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
	Error    string   `json:"error"`
}

func (r result) reason() oidclogin.Reason { return oidclogin.Reason(r.Reason) }

type appOpts struct {
	cfg     func(*oidclogin.Config)
	secrets secret.Config
}

// newApp serves a Login for the provider; its callback URL is on the app's own server.
func newApp(t *testing.T, p *idp, o appOpts) *app {
	t.Helper()
	a := &app{clock: clockwork.NewFakeClockAt(loginNow)}
	mux := http.NewServeMux()
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	cfg := oidclogin.Config{
		ClientID: p.ClientID, ClientSecret: p.ClientSecret,
		RedirectURL: a.srv.URL + oidclogin.CallbackPath,
		Scopes:      []string{"openid", "profile", "email", "groups"},
		DisplayName: "Mock",
		StateKeys:   testStateKey(t),
	}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	login, err := oidclogin.New(verifier(t, p), cfg, o.secrets, a.clock.Now)
	require.NoError(t, err)
	a.login = login
	mux.HandleFunc("GET /auth/oidc/start", func(w http.ResponseWriter, r *http.Request) {
		if err := login.Start(w, r, r.URL.Query().Get("return")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET "+oidclogin.CallbackPath, func(w http.ResponseWriter, r *http.Request) {
		a.finish(t, w, r)
	})
	return a
}

// finish runs in the server's goroutine, so it reports with assert, not require.
func (a *app) finish(t *testing.T, w http.ResponseWriter, r *http.Request) {
	g, ret, err := a.login.FinishGrant(w, r)
	var res result
	var e *oidclogin.Error
	switch {
	case err == nil:
		a.grant.Store(g)
		id := g.Identity
		res = result{Subject: id.Subject, Username: id.Username, Roles: id.Roles, Return: ret}
	case assert.ErrorAs(t, err, &e, "every failure is an *oidclogin.Error"):
		res = result{Reason: int(e.Reason), Code: e.Code, Message: e.Message(), Error: err.Error()}
	}
	w.Header().Set("Content-Type", "application/json")
	assert.NoError(t, json.NewEncoder(w).Encode(res))
}

func (a *app) startURL(returnTo string) string {
	return a.srv.URL + "/auth/oidc/start?return=" + url.QueryEscape(returnTo)
}

// browser is an HTTP client with a cookie jar. follow makes it follow redirects as a browser
// does; otherwise each step is taken by hand, to tamper with it.
type browser struct {
	t   *testing.T
	c   *http.Client
	jar *cookiejar.Jar
	// callbackCookies are the cookies the browser held for the callback just before it
	// followed the redirect there.
	callbackURL     string
	callbackCookies []*http.Cookie
}

func newBrowser(t *testing.T, follow bool) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	b := &browser{t: t, jar: jar}
	b.c = &http.Client{Jar: jar, Transport: transport(t), Timeout: 30 * time.Second}
	b.c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !follow {
			return http.ErrUseLastResponse
		}
		if req.URL.Path == oidclogin.CallbackPath {
			b.callbackURL = req.URL.String()
			b.callbackCookies = jar.Cookies(req.URL)
		}
		if len(via) >= 10 {
			return errors.New("too many redirects")
		}
		return nil
	}
	return b
}

// get sends a GET with the browser's cookies plus extra ones.
func (b *browser) get(u string, extra ...*http.Cookie) *http.Response {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodGet, u, nil)
	require.NoError(b.t, err)
	for _, c := range extra {
		req.AddCookie(c)
	}
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	b.t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// redirect takes one step by hand and returns where it redirects to.
func (b *browser) redirect(u string, extra ...*http.Cookie) string {
	b.t.Helper()
	resp := b.get(u, extra...)
	body, _ := io.ReadAll(resp.Body)
	require.Equal(b.t, http.StatusFound, resp.StatusCode, "body: %s", body)
	loc, err := resp.Location()
	require.NoError(b.t, err)
	return loc.String()
}

// result reads the test app's callback answer.
func (b *browser) result(u string, extra ...*http.Cookie) result {
	b.t.Helper()
	resp := b.get(u, extra...)
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	require.Equal(b.t, http.StatusOK, resp.StatusCode, "body: %s", body)
	var res result
	require.NoError(b.t, json.NewDecoder(bytes.NewReader(body)).Decode(&res), "body: %s", body)
	return res
}

// withParam returns u with its query parameter name set to value ("" deletes it).
func withParam(t *testing.T, u, name, value string) string {
	t.Helper()
	p, err := url.Parse(u)
	require.NoError(t, err)
	q := p.Query()
	if value == "" {
		q.Del(name)
	} else {
		q.Set(name, value)
	}
	p.RawQuery = q.Encode()
	return p.String()
}

func param(t *testing.T, u, name string) string {
	t.Helper()
	p, err := url.Parse(u)
	require.NoError(t, err)
	return p.Query().Get(name)
}

// stateCookie returns the Set-Cookie of the state cookie in resp.
func stateCookie(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if strings.HasSuffix(c.Name, "vecron_oidc_state") {
			return c
		}
	}
	require.FailNow(t, "no state cookie set")
	return nil
}

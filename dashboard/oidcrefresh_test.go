package dashboard_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jonboulle/clockwork"
	"github.com/oauth2-proxy/mockoidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/functions/api/apifn"
	"github.com/vecron/vecron/shared/auth/oidclogin"
	"github.com/vecron/vecron/shared/identity"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testenv"
)

// provider is a real OIDC provider (mockoidc) whose ID tokens are stamped by the test's clock,
// so that the dashboard's fake clock can carry a sign-in past its expiry, and whose answers to
// refresh requests the test steers.
type provider struct {
	*mockoidc.MockOIDC
	clock clockwork.Clock
	ttl   time.Duration
	// groups, when set, are the groups of the ID tokens of refreshes.
	groups atomic.Pointer[[]string]
	// refuse makes the token endpoint refuse refresh tokens, as after a logout at the provider.
	refuse    atomic.Bool
	refreshes atomic.Int32
	// refreshToken is the last refresh token the provider issued.
	refreshToken atomic.Pointer[string]
}

func newProvider(t *testing.T, clock clockwork.Clock, ttl time.Duration) *provider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	m, err := mockoidc.NewServer(key)
	require.NoError(t, err)
	p := &provider{MockOIDC: m, clock: clock, ttl: ttl}
	require.NoError(t, m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != mockoidc.TokenEndpoint {
				next.ServeHTTP(w, r)
				return
			}
			// Parsed here, the form is still there for the provider: ParseForm runs once.
			assert.NoError(t, r.ParseForm())
			refresh := r.PostForm.Get("grant_type") == "refresh_token"
			if refresh {
				p.refreshes.Add(1)
				if p.refuse.Load() {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusBadRequest)
					_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"Session not active"}`))
					return
				}
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			if rec.Code == http.StatusOK {
				body = p.restamp(t, body, refresh)
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
	return p
}

// restamp dates the ID token of a token response by the test's clock, with the groups set for
// a refresh, and signs it again. It runs in the provider's goroutine, so it reports with assert.
func (p *provider) restamp(t *testing.T, body []byte, refresh bool) []byte {
	var resp map[string]any
	if !assert.NoError(t, json.Unmarshal(body, &resp)) {
		return body
	}
	if rt, _ := resp["refresh_token"].(string); rt != "" {
		p.refreshToken.Store(&rt)
	}
	raw, _ := resp["id_token"].(string)
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); !assert.NoError(t, err) {
		return body
	}
	now := p.clock.Now()
	claims["iat"], claims["nbf"], claims["exp"] = now.Unix(), now.Add(-time.Second).Unix(), now.Add(p.ttl).Unix()
	if g := p.groups.Load(); refresh && g != nil {
		claims["groups"] = *g
	}
	signed, err := p.Keypair.SignJWT(claims)
	if !assert.NoError(t, err) {
		return body
	}
	resp["id_token"] = signed
	out, err := json.Marshal(resp)
	if !assert.NoError(t, err) {
		return body
	}
	return out
}

// signInThroughProvider follows the sign-in's redirects, to the provider and back, as a
// browser does; the provider signs its default user (jane.doe, groups engineering and product)
// in at once.
func signInThroughProvider(t *testing.T, c *client, base string) {
	t.Helper()
	next := "/auth/oidc/start?next=%2Fjobs"
	for range 5 {
		u, err := url.Parse(next)
		require.NoError(t, err)
		if u.Host == "" || "http://"+u.Host == base {
			r := c.get(u.RequestURI())
			next = r.Header.Get("Location")
			if u.Path == oidclogin.CallbackPath {
				require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
				require.Equal(t, "/jobs", next)
				return
			}
			continue
		}
		resp, err := c.c.Get(next)
		require.NoError(t, err)
		_ = resp.Body.Close()
		next = resp.Header.Get("Location")
	}
	t.Fatal("the sign-in did not come back to the callback")
}

// TestProviderSessionIsRefreshed runs the dashboard's sign-in against a real provider and
// carries the session past its ID token's expiry: the sealed refresh token (never stored in
// clear) brings a new ID token, once however many requests arrive together, and the groups it
// names now, so a user the provider removed from a group loses what the group gave at once.
// When the provider refuses the refresh (the user logged out or was disabled there), the
// session ends at its next request, recorded with the reason.
func TestProviderSessionIsRefreshed(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(time.Now())
	const ttl = 10 * time.Minute
	idp := newProvider(t, clock, ttl)
	port := testenv.FreePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	srv := dashboardtest.Start(t, dashboardtest.Options{Clock: clock, Settings: func(s *apifn.Settings) {
		s.Port = port
		s.Auth.Modes = []string{identity.ModeDatabase, identity.ModeOIDC}
		s.Auth.OIDC.Issuer, s.Auth.OIDC.Audience, s.Auth.OIDC.RolesClaim = idp.Issuer(), idp.ClientID, "groups"
		s.Auth.OIDCLogin = oidclogin.Config{ClientID: idp.ClientID, ClientSecret: idp.ClientSecret,
			Scopes: []string{"openid", "profile", "email", "groups"}, DisplayName: "Mock"}
		s.PublicURL = base
	}})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	createJob(t, srv, token, "nightly", "default")
	code, body := srv.API(t, token, http.MethodPost, "/api/v1/role-bindings", `{"role":"operator","group":"engineering","namespace":"default"}`)
	require.Equal(t, http.StatusCreated, code, body)

	c := newClient(t, srv)
	signInThroughProvider(t, c, base)
	require.Contains(t, c.get("/jobs").body, "Run now", "engineering is an operator in default")

	// The refresh token is kept sealed, never in clear; the identity until the ID token's exp.
	raw, err := base64.RawURLEncoding.DecodeString(c.sessionCookie())
	require.NoError(t, err)
	hash := sha256.Sum256(raw)
	ds, err := srv.Store.DashboardSession(t.Context(), hash[:], clock.Now())
	require.NoError(t, err)
	issued := idp.refreshToken.Load()
	require.NotNil(t, issued)
	require.NotEmpty(t, ds.RefreshSealed)
	require.False(t, bytes.Contains(ds.RefreshSealed, []byte(*issued)), "the refresh token is not stored in clear")
	require.Equal(t, "test", ds.RefreshKeyID, "sealed under a key derived from secrets.keys")
	require.WithinDuration(t, clock.Now().Add(ttl), ds.IdentityExpiresAt, time.Second)

	// Removed from engineering at the provider: the next request past the expiry learns it.
	idp.groups.Store(&[]string{"product"})
	clock.Advance(ttl + time.Second)
	var wg sync.WaitGroup
	codes := make([]int, 6)
	for i := range codes {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/jobs", nil)
			if !assert.NoError(t, err) {
				return
			}
			resp, err := c.c.Do(req)
			if assert.NoError(t, err) {
				codes[i] = resp.StatusCode
				_ = resp.Body.Close()
			}
		})
	}
	wg.Wait()
	for _, code := range codes {
		// With the groups of before (200) or of now (403: product may not list jobs), never
		// sent to the login page.
		require.Contains(t, []int{http.StatusOK, http.StatusForbidden}, code, "every request of the page is served meanwhile: %v", codes)
	}
	require.Equal(t, int32(1), idp.refreshes.Load(), "one refresh for requests that came together")
	page := c.get("/jobs")
	require.Equal(t, http.StatusForbidden, page.StatusCode, "product has no binding: the API refuses the list")
	require.Contains(t, page.body, "<strong>jane.doe</strong>", "still signed in")
	require.Equal(t, int32(1), idp.refreshes.Load(), "a fresh identity asks nothing")

	// The provider ends the sign-in on its side: so does the dashboard, at the next expiry.
	idp.refuse.Store(true)
	clock.Advance(ttl + time.Second)
	r := c.get("/jobs")
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	require.Equal(t, "/login?expired=1", r.Header.Get("Location"))
	require.Contains(t, c.get("/login?expired=1").body, "Your session has ended.")
	code, body = srv.API(t, token, http.MethodGet, "/api/v1/audit?action=auth.session_expired", "")
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, "the identity provider refused to renew the sign-in")
	require.NotContains(t, body, *issued)
}

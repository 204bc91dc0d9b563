package dashboard_test

import (
	"crypto/rand"
	"crypto/rsa"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/oauth2-proxy/mockoidc"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/functions/api/apifn"
	"github.com/vecron/vecron/shared/auth/oidclogin"
	"github.com/vecron/vecron/shared/identity"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testenv"
)

// TestSignInThroughTheIdentityProvider runs the dashboard's own OIDC flow against a real
// provider (mockoidc) in the test process: the login page's button, the provider's redirect
// back, the session, and the rights of the user's groups.
func TestSignInThroughTheIdentityProvider(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	idp, err := mockoidc.NewServer(key)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, idp.Start(ln, nil))
	t.Cleanup(func() { _ = idp.Shutdown() })

	port := testenv.FreePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	srv := dashboardtest.Start(t, dashboardtest.Options{Settings: func(s *apifn.Settings) {
		s.Port = port
		s.Auth.Modes = []string{identity.ModeDatabase, identity.ModeOIDC}
		s.Auth.OIDC.Issuer, s.Auth.OIDC.Audience, s.Auth.OIDC.RolesClaim = idp.Issuer(), idp.ClientID, "groups"
		s.Auth.OIDCLogin = oidclogin.Config{ClientID: idp.ClientID, ClientSecret: idp.ClientSecret,
			RedirectURL: base + oidclogin.CallbackPath, Scopes: []string{"openid", "profile", "email", "groups"}, DisplayName: "Mock"}
	}})
	require.Equal(t, base, srv.URL)
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	createJob(t, srv, token, "nightly", "default")
	code, body := srv.API(t, token, http.MethodPost, "/api/v1/role-bindings", `{"role":"operator","group":"engineering","namespace":"default"}`)
	require.Equal(t, http.StatusCreated, code, body)

	c := newClient(t, srv)
	login := c.get("/login?next=%2Fjobs%3Fq%3Dnight")
	require.Contains(t, login.body, `href="/auth/oidc/start?next=%2Fjobs%3Fq%3Dnight">Sign in with Mock</a>`)
	// The browser follows the redirects to the provider, which signs the default user in at
	// once, and back to the callback.
	next := "/auth/oidc/start?next=%2Fjobs%3Fq%3Dnight"
	for range 5 {
		u, err := url.Parse(next)
		require.NoError(t, err)
		if u.Host == "" || u.Host == "127.0.0.1:"+strconv.Itoa(port) {
			r := c.get(u.RequestURI())
			next = r.Header.Get("Location")
			if u.Path == oidclogin.CallbackPath {
				require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
				break
			}
			continue
		}
		resp, err := c.c.Get(next)
		require.NoError(t, err)
		resp.Body.Close()
		next = resp.Header.Get("Location")
	}
	require.Equal(t, "/jobs?q=night", next)
	page := c.get(next)
	require.Equal(t, http.StatusOK, page.StatusCode, page.body)
	require.Contains(t, page.body, "<strong>jane.doe</strong>")
	require.Contains(t, page.body, "Run now", "the group engineering is an operator in default")

	// A callback without its sign-in is refused with a sentence, not a session.
	r := newClient(t, srv).get(oidclogin.CallbackPath + "?state=forged&code=x")
	require.Equal(t, http.StatusBadRequest, r.StatusCode)
	require.Contains(t, r.body, "The sign-in through the identity provider did not complete:")
}

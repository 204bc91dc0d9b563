package oidclogin_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/auth/oidclogin"
	"github.com/vecron/vecron/shared/config"
	"github.com/vecron/vecron/shared/secret"
)

type recorder struct{ *httptest.ResponseRecorder }

func newRecorder() recorder { return recorder{httptest.NewRecorder()} }

func (w recorder) cookie(t *testing.T) *http.Cookie {
	t.Helper()
	return stateCookie(t, w.Result())
}

func newRequest(t *testing.T, u string) *http.Request {
	t.Helper()
	return httptest.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
}

// TestConfigErrorsNameTheSetting: every unusable setting is refused at start by its key, and
// no error quotes a secret.
func TestConfigErrorsNameTheSetting(t *testing.T) {
	t.Parallel()
	p := newIdP(t, idpOpts{})
	o := verifier(t, p)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, []byte("\n"), 0o600))
	valid := func() oidclogin.Config {
		return oidclogin.Config{ClientID: "vecron-dashboard", ClientSecret: "s3cr3t-value",
			RedirectURL: "https://vecron.example.com/auth/oidc/callback", StateKeys: testStateKey(t)}
	}
	for _, c := range []struct {
		name string
		mod  func(*oidclogin.Config)
		want string
	}{
		{"NoClientID", func(c *oidclogin.Config) { c.ClientID = "" }, "auth.oidc_login.client_id"},
		{"NoRedirect", func(c *oidclogin.Config) { c.RedirectURL = "" }, "auth.oidc_login.redirect_url"},
		{"RelativeRedirect", func(c *oidclogin.Config) { c.RedirectURL = "/auth/oidc/callback" }, "auth.oidc_login.redirect_url"},
		{"PlainHTTPRedirect", func(c *oidclogin.Config) { c.RedirectURL = "http://vecron.example.com/cb" }, "must be https"},
		{"RedirectWithFragment", func(c *oidclogin.Config) { c.RedirectURL = "https://vecron.example.com/cb#x" }, "auth.oidc_login.redirect_url"},
		{"BadPublicURL", func(c *oidclogin.Config) { c.RedirectURL, c.PublicURL = "", "vecron.example.com" }, "auth.oidc_login.public_url"},
		{"PublicURLWithQuery", func(c *oidclogin.Config) { c.RedirectURL, c.PublicURL = "", "https://vecron.example.com/?a=b" }, "auth.oidc_login.public_url"},
		{"NoOpenID", func(c *oidclogin.Config) { c.Scopes = []string{"profile"} }, "auth.oidc_login.scopes"},
		{"BadScope", func(c *oidclogin.Config) { c.Scopes = []string{"openid", "a b"} }, "auth.oidc_login.scopes"},
		{"LongDisplayName", func(c *oidclogin.Config) { c.DisplayName = string(make([]byte, 65)) }, "auth.oidc_login.display_name"},
		{"BadStateKey", func(c *oidclogin.Config) { c.StateKeys = "k1:c2hvcnQ=" }, "auth.oidc_login.state_keys"},
		{"NoStateKey", func(c *oidclogin.Config) { c.StateKeys = "" }, "auth.oidc_login.state_keys"},
		{"SecretTwice", func(c *oidclogin.Config) { c.ClientSecretFile = empty }, "auth.oidc_login.client_secret_file"},
		{"EmptySecretFile", func(c *oidclogin.Config) { c.ClientSecret, c.ClientSecretFile = "", empty }, "auth.oidc_login.client_secret_file"},
		{"MissingSecretFile", func(c *oidclogin.Config) { c.ClientSecret, c.ClientSecretFile = "", filepath.Join(dir, "none") }, "auth.oidc_login.client_secret_file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid()
			c.mod(&cfg)
			_, err := oidclogin.New(o, cfg, secret.Config{}, nil)
			require.ErrorContains(t, err, c.want)
			require.NotContains(t, err.Error(), "s3cr3t-value")
		})
	}
	t.Run("Valid", func(t *testing.T) {
		t.Parallel()
		login, err := oidclogin.New(o, valid(), secret.Config{}, nil)
		require.NoError(t, err)
		u, err := url.Parse(p.Issuer())
		require.NoError(t, err)
		require.Equal(t, u.Hostname(), login.DisplayName(), "the issuer's host when no name is set")
	})
	t.Run("SecretFromFile", func(t *testing.T) {
		t.Parallel()
		f := filepath.Join(t.TempDir(), "secret")
		require.NoError(t, os.WriteFile(f, []byte(p.ClientSecret+"\n"), 0o600))
		a := newApp(t, p, appOpts{cfg: func(c *oidclogin.Config) { c.ClientSecret, c.ClientSecretFile = "", f }})
		res := newBrowser(t, true).result(a.startURL("/"))
		require.Zero(t, res.Reason, "error: %s", res.Error)
	})
	t.Run("NoVerifier", func(t *testing.T) {
		t.Parallel()
		_, err := oidclogin.New(nil, valid(), secret.Config{}, nil)
		require.ErrorContains(t, err, "auth.oidc")
	})
}

// TestProviderWithoutTheFlowIsRefused: an issuer whose discovery document offers no
// authorization endpoint, or PKCE without S256, is refused at start by auth.oidc.issuer.
func TestProviderWithoutTheFlowIsRefused(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		doc  map[string]any
		want string
	}{
		{"NoAuthorizationEndpoint", map[string]any{"token_endpoint": "/token"}, "authorization_endpoint"},
		{"PlainPKCEOnly", map[string]any{"authorization_endpoint": "/authorize", "token_endpoint": "/token",
			"code_challenge_methods_supported": []string{"plain"}}, "S256"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := newIdP(t, idpOpts{})
			// Discovery from a server of its own that names the real provider's keys.
			mux := http.NewServeMux()
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
				doc := map[string]any{"issuer": srv.URL, "jwks_uri": p.JWKSEndpoint()}
				for k, v := range c.doc {
					if s, ok := v.(string); ok {
						v = srv.URL + s
					}
					doc[k] = v
				}
				_ = json.NewEncoder(w).Encode(doc)
			})
			o, err := auth.NewOIDC(t.Context(), auth.OIDCConfig{Issuer: srv.URL, Audience: "vecron"},
				&http.Client{Transport: transport(t)}, nil)
			require.NoError(t, err, "the bearer-token path needs no authorization endpoint")
			_, err = oidclogin.New(o, oidclogin.Config{ClientID: "vecron", RedirectURL: "http://localhost:8080/cb",
				StateKeys: testStateKey(t)}, secret.Config{}, nil)
			require.ErrorContains(t, err, "auth.oidc.issuer")
			require.ErrorContains(t, err, c.want)
		})
	}
}

// TestSecretsHiddenWhenSettingsArePrinted: --help and the README print the settings' values;
// the client secret and the state keys are never among them.
func TestSecretsHiddenWhenSettingsArePrinted(t *testing.T) {
	t.Parallel()
	settings := struct {
		Login oidclogin.Config `koanf:"oidc_login"`
	}{oidclogin.Config{ClientID: "vecron-dashboard", ClientSecret: "s3cr3t-value", StateKeys: testStateKey(t)}}
	shown := map[string]string{}
	for _, s := range config.Describe(&settings, config.Options{}) {
		shown[s.Key] = s.Default
	}
	require.Equal(t, "vecron-dashboard", shown["oidc_login.client_id"])
	require.Equal(t, "(value hidden)", shown["oidc_login.client_secret"])
	require.Equal(t, "(value hidden)", shown["oidc_login.state_keys"])
}

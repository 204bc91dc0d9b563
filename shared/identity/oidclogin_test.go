package identity_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/oauth2-proxy/mockoidc"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/auth/oidclogin"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/identity"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/testfactory"
)

// TestOIDCSignInGivesTheBearerTokensIdentity: the dashboard's seam, driven as the dashboard
// will drive it. A browser signs in through a real identity provider, and the identity the
// callback gets holds the grants its groups give, by configuration and by a group binding,
// exactly as Authenticate gives them for the same user's bearer token.
func TestOIDCSignInGivesTheBearerTokensIdentity(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := t.Context()

	idp, err := mockoidc.NewServer(nil)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, idp.Start(ln, nil))
	t.Cleanup(func() { _ = idp.Shutdown() })
	idp.QueueUser(&mockoidc.MockUser{Subject: "ann-1", PreferredUsername: "ann", Groups: []string{"team-a-dev", "ops"}})

	mux := http.NewServeMux()
	dash := httptest.NewServer(mux)
	t.Cleanup(dash.Close)

	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	cfg := identity.DefaultConfig()
	cfg.Modes = []string{identity.ModeOIDC}
	cfg.OIDC = auth.OIDCConfig{Issuer: idp.Issuer(), Audience: idp.ClientID}
	cfg.OIDCRoles = []string{"team-a-dev=editor@team-a"}
	cfg.OIDCLogin.ClientID, cfg.OIDCLogin.ClientSecret = idp.ClientID, idp.ClientSecret
	cfg.OIDCLogin.RedirectURL = dash.URL + oidclogin.CallbackPath
	cfg.OIDCLogin.Scopes = append(cfg.OIDCLogin.Scopes, "groups")
	cfg.OIDCLogin.DisplayName = "Keycloak"
	key, err := secret.NewKey("v1")
	require.NoError(t, err)
	secrets := secret.Config{Keys: key}

	oidc, err := auth.NewOIDC(ctx, cfg.OIDC, &http.Client{Transport: tr, Timeout: 10 * time.Second}, idp.Now)
	require.NoError(t, err)
	login, err := oidclogin.New(oidc, cfg.OIDCLogin, secrets, nil)
	require.NoError(t, err)
	svc, err := identity.New(st, cfg, identity.Deps{OIDC: oidc, OIDCLogin: login}, time.Now)
	require.NoError(t, err)
	require.NoError(t, st.CreateBinding(ctx, &domain.RoleBinding{ID: uuid.NewString(), Role: rbac.RoleOperator, Group: "ops",
		Namespace: "team-b", CreatedAt: time.Now().UTC()}))

	// The dashboard's two routes.
	got := make(chan *rbac.Identity, 1)
	mux.HandleFunc("GET /auth/oidc/start", func(w http.ResponseWriter, r *http.Request) {
		if err := svc.OIDCLogin().Start(w, r, r.URL.Query().Get("return")); err != nil {
			http.Error(w, "", http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET "+oidclogin.CallbackPath, func(w http.ResponseWriter, r *http.Request) {
		id, returnTo, err := svc.FinishOIDCLogin(w, r)
		var e *oidclogin.Error
		switch {
		case errors.As(err, &e):
			http.Error(w, e.Message(), http.StatusBadRequest)
		case err != nil:
			http.Error(w, "", http.StatusInternalServerError)
		default:
			got <- id
			http.Redirect(w, r, returnTo, http.StatusSeeOther)
		}
	})
	mux.HandleFunc("GET /jobs", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })

	require.NotNil(t, svc.OIDCLogin())
	require.Equal(t, "Keycloak", svc.OIDCLogin().DisplayName())
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	browser := &http.Client{Jar: jar, Transport: tr}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, dash.URL+"/auth/oidc/start?return="+url.QueryEscape("/jobs"), nil)
	require.NoError(t, err)
	resp, err := browser.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusNoContent, resp.StatusCode, "the browser lands on the page it asked for")
	require.Equal(t, "/jobs", resp.Request.URL.Path)

	id := <-got
	require.Equal(t, "oidc:ann-1", id.Subject)
	require.Equal(t, "ann", id.Name)
	require.Equal(t, "oidc", id.Mode)
	require.Equal(t, []string{"team-a-dev", "ops"}, id.Groups)
	require.True(t, id.Can(domain.PermJobWrite, "team-a"), "team-a-dev → editor in team-a, by configuration")
	require.True(t, id.Can(domain.PermJobExecute, "team-b"), "ops → operator in team-b, by a group binding")
	require.False(t, id.Can(domain.PermJobWrite, "team-b"))
	require.False(t, id.Can(domain.PermUserAdmin, domain.AllNamespaces))
}

func TestOIDCLoginConfigNeedsOIDCMode(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	cfg := testfactory.AuthConfig(t)
	cfg.OIDCLogin.ClientID = "vecron-dashboard"
	_, err := identity.New(st, cfg, identity.Deps{Limiter: &auth.LoginLimiter{}}, time.Now)
	require.ErrorContains(t, err, "auth.oidc_login.client_id")
	require.ErrorContains(t, err, "auth.modes")

	svc := testfactory.Identity(t, st, testfactory.AuthConfig(t), time.Now)
	require.Nil(t, svc.OIDCLogin(), "off unless configured")
	_, _, err = svc.FinishOIDCLogin(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, oidclogin.CallbackPath, nil))
	require.ErrorIs(t, err, identity.ErrOIDCLoginOff)
}

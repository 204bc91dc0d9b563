package oidclogin_test

import (
	"bytes"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/auth/oidclogin"
)

// TestRefresh: a sign-in's grant holds the provider's refresh token sealed, never in clear,
// and opening only for its subject; Refresh trades it for a new ID token whose groups are the
// provider's of now. A provider that refuses, an answer about another subject, and a sealed
// token altered or of another subject each fail with their reason, quoting no token.
func TestRefresh(t *testing.T) {
	t.Parallel()
	var (
		rewrite atomic.Pointer[func(jwt.MapClaims)]
		sent    atomic.Pointer[string]
	)
	p := newIdP(t, idpOpts{
		idToken: func(c jwt.MapClaims) {
			if f := rewrite.Load(); f != nil {
				(*f)(c)
			}
		},
		token: func(r *http.Request) {
			if rt := r.PostForm.Get("refresh_token"); rt != "" {
				sent.Store(&rt)
			}
		},
	})
	a := newApp(t, p, appOpts{})
	res := newBrowser(t, true).result(a.startURL("/jobs"))
	require.Zero(t, res.Reason, "error: %s", res.Error)
	g := a.grant.Load()
	require.NotNil(t, g)
	require.NotNil(t, g.Refresh, "mockoidc gives a refresh token")
	require.False(t, g.Identity.ExpiresAt.IsZero(), "the ID token's expiry comes with the grant")

	removed := func(c jwt.MapClaims) { c["groups"] = []string{"design"} }
	rewrite.Store(&removed)
	again, err := a.login.Refresh(t.Context(), g.Identity.Subject, *g.Refresh)
	require.NoError(t, err)
	require.Equal(t, g.Identity.Subject, again.Identity.Subject)
	require.Equal(t, []string{"design"}, again.Identity.Roles, "the groups of now")
	require.NotNil(t, again.Refresh, "the refresh token is kept when the provider sends no new one")
	token := sent.Load()
	require.NotNil(t, token)
	for _, s := range []*oidclogin.Sealed{g.Refresh, again.Refresh} {
		require.False(t, bytes.Contains(s.Data, []byte(*token)), "sealed, not in clear")
	}
	_, err = a.login.Refresh(t.Context(), g.Identity.Subject, *again.Refresh)
	require.NoError(t, err, "sealed again, it opens again")

	reason := func(err error) oidclogin.Reason {
		t.Helper()
		var e *oidclogin.Error
		require.ErrorAs(t, err, &e)
		require.NotContains(t, err.Error(), *token)
		return e.Reason
	}
	_, err = a.login.Refresh(t.Context(), "someone-else", *g.Refresh)
	require.Equal(t, oidclogin.ReasonMismatch, reason(err), "a sealed token opens for its subject only")
	altered := *g.Refresh
	altered.Data = append([]byte(nil), altered.Data...)
	altered.Data[len(altered.Data)-1] ^= 1
	_, err = a.login.Refresh(t.Context(), g.Identity.Subject, altered)
	require.Equal(t, oidclogin.ReasonMismatch, reason(err))
	other := newApp(t, p, appOpts{})
	_, err = other.login.Refresh(t.Context(), g.Identity.Subject, *g.Refresh)
	require.Equal(t, oidclogin.ReasonMismatch, reason(err), "keys not configured here do not open it")

	impostor := func(c jwt.MapClaims) { c["sub"] = "someone-else" }
	rewrite.Store(&impostor)
	_, err = a.login.Refresh(t.Context(), g.Identity.Subject, *g.Refresh)
	require.Equal(t, oidclogin.ReasonInvalidToken, reason(err), "an ID token of another subject")

	p.QueueError(&mockoidc.ServerError{Code: http.StatusBadRequest, Error: "invalid_grant", Description: "Session not active"})
	_, err = a.login.Refresh(t.Context(), g.Identity.Subject, *g.Refresh)
	require.Equal(t, oidclogin.ReasonRefused, reason(err))
	p.QueueError(&mockoidc.ServerError{Code: http.StatusServiceUnavailable, Error: "temporarily_unavailable"})
	_, err = a.login.Refresh(t.Context(), g.Identity.Subject, *g.Refresh)
	require.Equal(t, oidclogin.ReasonUnavailable, reason(err))
}

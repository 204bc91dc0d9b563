package apifn

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPublicURL(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		own, login, redirect string
		want, err            string
	}{
		"None":             {},
		"Own":              {own: "https://vecron.example.com", want: "https://vecron.example.com"},
		"TheOlderSetting":  {login: "https://vecron.example.com", want: "https://vecron.example.com"},
		"BothTheSame":      {own: "https://vecron.example.com/", login: "https://vecron.example.com", want: "https://vecron.example.com/"},
		"BothDiffer":       {own: "https://a.example.com", login: "https://b.example.com", err: "auth.oidc_login.public_url: differs from public_url"},
		"RedirectsOrigin":  {redirect: "https://vecron.example.com/auth/oidc/callback", want: "https://vecron.example.com"},
		"OwnOverRedirect":  {own: "https://vecron.example.com", redirect: "https://login.example.com/cb", want: "https://vecron.example.com"},
		"RedirectUnusable": {redirect: "::not a url", want: ""},
		"RedirectWithPort": {redirect: "http://127.0.0.1:8080/auth/oidc/callback", want: "http://127.0.0.1:8080"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := DefaultSettings()
			s.PublicURL, s.Auth.OIDCLogin.PublicURL, s.Auth.OIDCLogin.RedirectURL = tc.own, tc.login, tc.redirect
			got, err := publicURL(s)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

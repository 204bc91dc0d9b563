package dashboard

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTransport(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		cfg    Config
		secure bool
		cookie string
		warn   string
		err    string
	}{
		"Nothing":         {cookie: "vecron_session", warn: "no public_url"},
		"HTTPS":           {cfg: Config{PublicURL: "https://vecron.example.com"}, secure: true, cookie: "__Host-vecron_session"},
		"HTTPSWithPath":   {cfg: Config{PublicURL: "https://example.com/vecron/"}, secure: true, cookie: "__Host-vecron_session"},
		"PlainHTTP":       {cfg: Config{PublicURL: "http://vecron.internal:8080"}, cookie: "vecron_session", warn: "public_url is plain http"},
		"Development":     {cfg: Config{PublicURL: "http://127.0.0.1:8080", Development: true}, cookie: "vecron_session"},
		"DevelopmentNone": {cfg: Config{Development: true}, cookie: "vecron_session"},
		"SecureCookie":    {cfg: Config{SecureCookie: true}, secure: true, cookie: "__Host-vecron_session"},
		"SecureCookieHTTPS": {cfg: Config{SecureCookie: true, PublicURL: "https://vecron.example.com"}, secure: true,
			cookie: "__Host-vecron_session"},
		"SecureCookieHTTP": {cfg: Config{SecureCookie: true, PublicURL: "http://vecron.example.com"}, err: "dashboard.secure_cookie"},
		"Relative":         {cfg: Config{PublicURL: "/vecron"}, err: "public_url: must be an absolute"},
		"OtherScheme":      {cfg: Config{PublicURL: "ftp://vecron.example.com"}, err: "public_url: must be an absolute"},
		"User":             {cfg: Config{PublicURL: "https://admin:pw@vecron.example.com"}, err: "public_url: must hold no user"},
		"Query":            {cfg: Config{PublicURL: "https://vecron.example.com/?a=b"}, err: "public_url: must hold no user"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tr, err := newTransport(tc.cfg)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.NotContains(t, err.Error(), "pw", "the URL is not quoted")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.secure, tr.secure)
			require.Equal(t, tc.cookie, tr.cookieName(httptest.NewRequest("GET", "/", nil)))
			k := tr.cookie(httptest.NewRequest("GET", "/", nil), "v", 60)
			require.Equal(t, tc.secure, k.Secure)
			require.Equal(t, "/", k.Path)
			require.Empty(t, k.Domain)
			require.True(t, k.HttpOnly)
			// Over TLS ended by vecron itself, with no public_url to say otherwise, the cookie
			// is Secure and host-only by name too; a public_url decides for every request.
			tlsReq := httptest.NewRequest("GET", "https://vecron.test/", nil)
			k = tr.cookie(tlsReq, "v", 60)
			require.True(t, k.Secure)
			wantTLS := tc.cookie
			if tc.cfg.PublicURL == "" {
				wantTLS = hostSessionCookie
			}
			require.Equal(t, wantTLS, k.Name)
			require.Equal(t, wantTLS, tr.cookieName(tlsReq))
			tlsReq.AddCookie(&http.Cookie{Name: sessionCookie, Value: "planted"})
			_, legacy := tr.legacyCookie(tlsReq)
			require.Equal(t, wantTLS == hostSessionCookie, legacy, "a plain-named cookie is not a session where the name is __Host-")
			var logged bytes.Buffer
			tr.warn(slog.New(slog.NewTextHandler(&logged, nil)))
			if tc.warn == "" {
				require.Empty(t, logged.String())
			} else {
				require.Contains(t, logged.String(), tc.warn)
			}
		})
	}
}

package apifn

import (
	"errors"
	"net/url"
	"strings"
)

// publicURL returns the URL browsers reach the api and its dashboard at: public_url, else the
// setting it generalises, auth.oidc_login.public_url, else the origin of
// auth.oidc_login.redirect_url (the callback is a page of the dashboard, so its origin is the
// dashboard's). "" when none is set. It fails when public_url and auth.oidc_login.public_url
// are both set and differ: which one the browser uses would be a guess.
func publicURL(s Settings) (string, error) {
	own, login := strings.TrimRight(s.PublicURL, "/"), strings.TrimRight(s.Auth.OIDCLogin.PublicURL, "/")
	switch {
	case own != "" && login != "" && own != login:
		return "", errors.New("auth.oidc_login.public_url: differs from public_url; set public_url alone")
	case own != "":
		return s.PublicURL, nil
	case login != "":
		return s.Auth.OIDCLogin.PublicURL, nil
	case s.Auth.OIDCLogin.RedirectURL != "":
		u, err := url.Parse(s.Auth.OIDCLogin.RedirectURL)
		if err != nil || u.Host == "" {
			// oidclogin names the setting in its own error.
			return "", nil
		}
		return (&url.URL{Scheme: u.Scheme, Host: u.Host}).String(), nil
	}
	return "", nil
}

package oidclogin

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CallbackPath is the path of the callback under PublicURL when no RedirectURL is set; the
// dashboard serves Finish there.
const CallbackPath = "/auth/oidc/callback"

// ScopesDefault are the scopes asked for when none are configured: openid for the ID token,
// profile for the username claim, email for the address.
var ScopesDefault = []string{"openid", "profile", "email"}

// displayNameMax bounds the button's label.
const displayNameMax = 64

// Config configures the dashboard's sign-in through the identity provider (settings under
// auth.oidc_login). The issuer, the username claim and the roles claim are those of auth.oidc:
// the sign-in and the API's bearer tokens speak of one identity provider.
type Config struct {
	ClientID string `koanf:"client_id" usage:"client id the dashboard signs in as at the identity provider; empty turns the dashboard's sign-in through it off"`
	// ClientSecret is optional: a public client proves itself by PKCE alone.
	ClientSecret     string `koanf:"client_secret" usage:"secret of a confidential client; empty for a public client, which relies on PKCE alone"`
	ClientSecretFile string `koanf:"client_secret_file" usage:"file holding the client secret (a mounted Kubernetes Secret)"`
	// RedirectURL wins over PublicURL. The request's Host header is never used: it is the
	// client's text, and the identity provider would then be the only check on where codes go.
	RedirectURL string `koanf:"redirect_url" usage:"callback URL registered at the identity provider, e.g. https://vecron.example.com/auth/oidc/callback"`
	// PublicURL is the older name of the api's public_url, which the api fills it from.
	PublicURL   string   `koanf:"public_url" usage:"older name of public_url, which is preferred: the dashboard's public base URL; without redirect_url the callback is <public_url>/auth/oidc/callback"`
	Scopes      []string `koanf:"scopes" usage:"scopes asked for; must hold openid; add the one your provider puts the roles claim behind (groups for many)"`
	DisplayName string   `koanf:"display_name" usage:"name on the dashboard's button, Sign in with <display_name>; default the issuer's host"`
	// StateKeys seal the short-lived cookie that carries state, nonce and PKCE verifier from
	// Start to Finish. Every replica must hold the same keys, since the callback may reach
	// another replica than the start.
	StateKeys     string `koanf:"state_keys" usage:"AES-256 keys sealing the sign-in's state cookie, as id:base64key, newest first; empty derives them from secrets.keys"`
	StateKeysFile string `koanf:"state_keys_file" usage:"file holding the state cookie keys, one id:base64key per line, newest first"`
}

// Enabled reports whether the sign-in is configured at all.
func (c Config) Enabled() bool { return c.ClientID != "" }

// settings are a validated Config with its files read and defaults applied.
type settings struct {
	clientID, clientSecret string
	redirect               *url.URL
	scopes                 []string
	displayName            string
}

// resolve validates c, reads its secret file and applies defaults; issuer names the default
// display name. Errors name the setting and never quote a secret.
func (c Config) resolve(issuer string) (settings, error) {
	var s settings
	if c.ClientID == "" {
		return s, errors.New("auth.oidc_login.client_id: is required for the sign-in through the identity provider")
	}
	if strings.ContainsFunc(c.ClientID, unicode.IsControl) {
		return s, errors.New("auth.oidc_login.client_id: holds a control character")
	}
	s.clientID = c.ClientID
	s.clientSecret = c.ClientSecret
	if c.ClientSecretFile != "" {
		if c.ClientSecret != "" {
			return s, errors.New("auth.oidc_login.client_secret_file: set it or auth.oidc_login.client_secret, not both")
		}
		b, err := os.ReadFile(c.ClientSecretFile)
		if err != nil {
			// The path is configuration, not the secret; the error says which file.
			return s, fmt.Errorf("auth.oidc_login.client_secret_file: %w", err)
		}
		s.clientSecret = strings.TrimSpace(string(b))
		if s.clientSecret == "" {
			return s, errors.New("auth.oidc_login.client_secret_file: the file is empty")
		}
	}
	var err error
	switch {
	case c.RedirectURL != "":
		if s.redirect, err = callbackURL("auth.oidc_login.redirect_url", c.RedirectURL); err != nil {
			return s, err
		}
	case c.PublicURL != "":
		base, err := callbackURL("auth.oidc_login.public_url", c.PublicURL)
		if err != nil {
			return s, err
		}
		if base.RawQuery != "" {
			return s, errors.New("auth.oidc_login.public_url: must not hold a query")
		}
		s.redirect = base.JoinPath(CallbackPath)
	default:
		return s, errors.New("auth.oidc_login.redirect_url: is required (or auth.oidc_login.public_url, the callback then being <public_url>" + CallbackPath + ")")
	}
	s.scopes = slices.Clone(c.Scopes)
	if len(s.scopes) == 0 {
		s.scopes = slices.Clone(ScopesDefault)
	}
	for _, sc := range s.scopes {
		if !validScope(sc) {
			return s, fmt.Errorf("auth.oidc_login.scopes: %q is not a scope (printable ASCII, no space, quote or backslash)", sc)
		}
	}
	if !slices.Contains(s.scopes, "openid") {
		return s, errors.New("auth.oidc_login.scopes: must hold openid, without which no ID token is issued")
	}
	s.displayName = strings.TrimSpace(c.DisplayName)
	if s.displayName == "" {
		if u, err := url.Parse(issuer); err == nil {
			s.displayName = u.Hostname()
		}
	}
	if utf8.RuneCountInString(s.displayName) > displayNameMax || strings.ContainsFunc(s.displayName, unicode.IsControl) {
		return s, fmt.Errorf("auth.oidc_login.display_name: at most %d characters, none of them control characters", displayNameMax)
	}
	return s, nil
}

// callbackURL parses a configured URL the browser is sent back to: absolute, without a
// fragment, and https unless it names this machine (a development setup), since the code and
// the state cookie travel on it.
func callbackURL(setting, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("%s: must be an absolute http or https URL", setting)
	}
	if u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("%s: must hold no fragment and no user", setting)
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return nil, fmt.Errorf("%s: must be https (http only for localhost), since the sign-in's code travels on it", setting)
	}
	return u, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validScope reports whether s is a scope-token of RFC 6749 3.3.
func validScope(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

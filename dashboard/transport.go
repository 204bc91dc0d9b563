package dashboard

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
)

const (
	// sessionCookie holds the session token where browsers may reach the dashboard over plain
	// HTTP.
	sessionCookie = "vecron_session"
	// hostSessionCookie holds it where they reach it over HTTPS. A browser accepts a __Host-
	// cookie only with Secure, Path=/ and no Domain, from an HTTPS page: no page of another
	// subdomain, nor a plain-HTTP answer a network attacker forges, can plant one (a session of
	// the attacker's own, say) or widen it.
	hostSessionCookie = "__Host-" + sessionCookie
)

// transport is how browsers reach the dashboard, as configured: it decides the session
// cookie's name and Secure flag, and whether pages send HSTS.
type transport struct {
	// public is the configured public URL; nil when none is.
	public *url.URL
	// secure: browsers reach the dashboard over HTTPS, whatever the request a proxy that ends
	// TLS passes on.
	secure bool
	// development: plain HTTP is expected (vecron dev).
	development bool
}

// newTransport reads cfg's PublicURL and SecureCookie. It fails, naming the setting, for a
// public URL that is not an absolute http or https URL without user, query or fragment, and for
// secure_cookie with an http public URL: browsers drop a Secure cookie set over plain HTTP, so
// nobody could sign in.
func newTransport(cfg Config) (transport, error) {
	t := transport{development: cfg.Development}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return t, errors.New("public_url: must be an absolute http or https URL, e.g. https://vecron.example.com")
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return t, errors.New("public_url: must hold no user, query or fragment")
		}
		t.public = u
	}
	switch {
	case t.public != nil && t.public.Scheme == "https":
		t.secure = true
	case t.public != nil && cfg.SecureCookie:
		return t, errors.New("dashboard.secure_cookie: contradicts public_url, which is http: browsers drop a Secure cookie set over plain HTTP")
	case cfg.SecureCookie:
		t.secure = true
	}
	return t, nil
}

// warn logs, once at start, what leaves the session cookie exposed: nothing is configured that
// says browsers use HTTPS, or the public URL says they do not. vecron dev, on this machine,
// is spared.
func (t transport) warn(log *slog.Logger) {
	switch {
	case t.development || t.secure:
	case t.public == nil:
		log.Warn("no public_url: the dashboard's session cookie is marked Secure only on requests that reach vecron over TLS itself; " +
			"behind a proxy or ingress that ends TLS, set public_url to the https URL browsers use")
	default:
		log.Warn("public_url is plain http: dashboard passwords and session cookies cross the network unencrypted; use https",
			"public_url", t.public.Redacted())
	}
}

// hostOnly reports whether the session cookie of r has the __Host- name: when browsers reach
// the dashboard over HTTPS as configured, or, with no public_url, when r reached vecron over
// TLS itself. The name then varies only with the listener a request came through, which a
// browser's sign-in never crosses: every request of an https origin is TLS. A public_url
// decides for every request, so a proxy's plain hop changes nothing.
func (t transport) hostOnly(r *http.Request) bool {
	return t.secure || (t.public == nil && r.TLS != nil)
}

// cookieName is the name of the session cookie of r.
func (t transport) cookieName(r *http.Request) string {
	if t.hostOnly(r) {
		return hostSessionCookie
	}
	return sessionCookie
}

// cookie returns the session cookie holding value for the browser of r; maxAge -1 deletes it.
func (t transport) cookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: t.cookieName(r), Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: t.secure || r.TLS != nil}
}

// legacyCookie returns, when the session cookie has the __Host- name, whether r still carries
// one of the plain name a version before it set, and the cookie that deletes it. Such a cookie
// is not taken as a session: it may have been planted where a __Host- one cannot be, and its
// session ends at its expiry anyway; its holder signs in once more.
func (t transport) legacyCookie(r *http.Request) (*http.Cookie, bool) {
	if !t.hostOnly(r) {
		return nil, false
	}
	if _, err := r.Cookie(sessionCookie); err != nil {
		return nil, false
	}
	return &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode}, true
}

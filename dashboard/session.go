package dashboard

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/auth/oidclogin"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/identity"
	"github.com/vecron/vecron/shared/rbac"
)

const (
	// csrfField and csrfHeader carry the CSRF token of a form and of an HTMX request.
	csrfField  = "csrf"
	csrfHeader = "X-CSRF-Token"
	// touchEvery spaces the writes of a session's last use: a page of HTMX requests must not
	// write a row each.
	touchEvery = time.Minute
	// maxForm bounds the body of a dashboard form.
	maxForm = 64 << 10
)

// SessionStore keeps the sessions; *store.Store is one.
type SessionStore interface {
	CreateDashboardSession(ctx context.Context, ds *domain.DashboardSession) error
	DashboardSession(ctx context.Context, hash []byte, now time.Time) (*domain.DashboardSession, error)
	TouchDashboardSession(ctx context.Context, hash []byte, now, idleExpires time.Time) error
	RevokeDashboardSession(ctx context.Context, hash []byte, now time.Time) error
	// The refresh of an identity provider's session (sessionrefresh.go).
	ClaimSessionRefresh(ctx context.Context, hash []byte, now, until time.Time) (keyID string, sealed []byte, ok bool, err error)
	RefreshSession(ctx context.Context, hash []byte, ri domain.SessionRefresh) error
	ExpireDashboardSession(ctx context.Context, hash []byte, now time.Time, reason string) error
}

// OIDCFlow is the sign-in through an identity provider (Authorization Code with PKCE). The
// dashboard routes every request under /auth/oidc/ to ServeOIDC and links
// /auth/oidc/start?next=… as "Sign in with <Label>" on the login page. Once the flow has
// verified the provider's answer, it calls start.StartOIDCSession with what the provider
// vouches for, which sets the session cookie, and redirects the browser (to the next path,
// after SafeNext). The dashboard's own flow runs shared/auth/oidclogin
// (identity.Service.OIDCLogin); tests plug in another.
type OIDCFlow interface {
	Label() string
	ServeOIDC(w http.ResponseWriter, r *http.Request, start SessionStarter)
}

// SessionStarter signs a browser in; *Sessions is one.
type SessionStarter interface {
	StartOIDCSession(w http.ResponseWriter, r *http.Request, g *oidclogin.Grant) error
}

// OIDCRefresher asks the identity provider again about the user of a session whose identity
// expired, with the refresh token the session keeps sealed; *oidclogin.Login is one.
type OIDCRefresher interface {
	Refresh(ctx context.Context, subject string, sealed oidclogin.Sealed) (*oidclogin.Grant, error)
}

// Sessions signs browsers in and out and finds the session of a request.
type Sessions struct {
	store     SessionStore
	ident     *identity.Service
	cfg       Config
	now       func() time.Time
	transport transport
	// refresher renews identity providers' sessions; nil ends them when their identity expires.
	refresher OIDCRefresher
	log       *slog.Logger
}

var _ SessionStarter = (*Sessions)(nil)

// session is a request's valid session with the identity it acts as.
type session struct {
	ds   *domain.DashboardSession
	id   *rbac.Identity
	csrf string
}

// StartOIDCSession stores a new session of the identity provider's user g.Identity, recorded
// in the audit log as their login, and sets its cookie on w. It keeps the user's claims
// (subject, username, roles claim), not vecron's roles: the identity, with the role bindings of
// the user's groups, is made again on every request. The claims hold until the ID token's
// expiry (at least dashboard.oidc_identity_min): then the provider is asked again with the
// refresh token, which the session keeps sealed, or, without one, the session ends. It fails
// when the session cannot be stored or the bindings cannot be read.
func (s *Sessions) StartOIDCSession(w http.ResponseWriter, r *http.Request, g *oidclogin.Grant) error {
	if g == nil || g.Identity == nil || g.Identity.Subject == "" {
		return errors.New("dashboard: an OIDC session needs the subject")
	}
	oi := g.Identity
	ds := &domain.DashboardSession{Mode: identity.ModeOIDC, OIDCSubject: oi.Subject, OIDCUsername: oi.Username, OIDCGroups: oi.Roles,
		IdentityExpiresAt: s.identityExpiry(oi.ExpiresAt)}
	if g.Refresh != nil {
		ds.RefreshKeyID, ds.RefreshSealed = g.Refresh.KeyID, g.Refresh.Data
	}
	id, err := s.ident.OIDCIdentity(r.Context(), oi)
	if err != nil {
		return err
	}
	// The sign-in is recorded as the user's own.
	return s.start(w, r.WithContext(withActor(r, s.ident, id)), ds)
}

// startDatabase stores a new session of the database user with userID, whose login opened the
// refresh-token family of refreshHash, and sets its cookie on w.
func (s *Sessions) startDatabase(w http.ResponseWriter, r *http.Request, userID string, refreshHash []byte) error {
	return s.start(w, r, &domain.DashboardSession{Mode: identity.ModeDatabase, UserID: userID, RefreshHash: refreshHash})
}

func (s *Sessions) start(w http.ResponseWriter, r *http.Request, ds *domain.DashboardSession) error {
	// A session the browser still held ends, however the new one signs in: one browser, one
	// session. Its end is recorded as the anonymous caller's: who holds the cookie is not known.
	if old, _ := s.tokenHash(r); old != nil {
		_ = s.store.RevokeDashboardSession(withActor(r, s.ident, nil), old, s.now().UTC())
	}
	token := make([]byte, 32)
	ds.CSRFSecret = make([]byte, 32)
	_, _ = rand.Read(token) // crypto/rand.Read never fails
	_, _ = rand.Read(ds.CSRFSecret)
	hash := sha256.Sum256(token)
	now := s.now().UTC().Truncate(time.Microsecond)
	ds.ID, ds.TokenHash, ds.CreatedAt = uuid.NewString(), hash[:], now
	ds.IdleExpiresAt, ds.ExpiresAt = now.Add(s.cfg.IdleTimeout), now.Add(s.cfg.MaxAge)
	if err := s.store.CreateDashboardSession(r.Context(), ds); err != nil {
		return err
	}
	s.dropLegacyCookie(w, r)
	http.SetCookie(w, s.transport.cookie(r, base64.RawURLEncoding.EncodeToString(token), int(s.cfg.MaxAge.Seconds())))
	return nil
}

// deleteCookie deletes the session cookie, and one of a name an earlier version used.
func (s *Sessions) deleteCookie(w http.ResponseWriter, r *http.Request) {
	s.dropLegacyCookie(w, r)
	http.SetCookie(w, s.transport.cookie(r, "", -1))
}

func (s *Sessions) dropLegacyCookie(w http.ResponseWriter, r *http.Request) {
	if c, ok := s.transport.legacyCookie(r); ok {
		http.SetCookie(w, c)
	}
}

// tokenHash returns the hash of r's session token, and whether r carries a session cookie at
// all (one of the name an earlier version used included: its session has ended).
func (s *Sessions) tokenHash(r *http.Request) ([]byte, bool) {
	c, err := r.Cookie(s.transport.cookieName(r))
	if err != nil || c.Value == "" {
		_, legacy := s.transport.legacyCookie(r)
		return nil, legacy
	}
	token, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(token) != 32 {
		return nil, true
	}
	h := sha256.Sum256(token)
	return h[:], true
}

// errNoSession: the request carries no valid session.
var errNoSession = errors.New("no valid session")

// find returns r's valid session with its identity made anew. It returns errNoSession (and
// whether r carried a session cookie at all) when there is none, or when its user may no longer
// sign in.
func (s *Sessions) find(r *http.Request) (*session, bool, error) {
	return s.lookup(r, true)
}

// check is find for a request that outlives a page (the live stream): it does not count as the
// user's activity, so an open tab does not keep a session past its idle timeout.
func (s *Sessions) check(r *http.Request) (*session, error) {
	sess, _, err := s.lookup(r, false)
	return sess, err
}

func (s *Sessions) lookup(r *http.Request, touch bool) (*session, bool, error) {
	hash, had := s.tokenHash(r)
	if hash == nil {
		return nil, had, errNoSession
	}
	now := s.now().UTC()
	ds, err := s.store.DashboardSession(r.Context(), hash, now)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return nil, true, errNoSession
	case err != nil:
		return nil, true, err
	}
	if ds.Mode == identity.ModeOIDC && !now.Before(ds.IdentityExpiresAt) {
		if ds, err = s.refresh(r, ds, now); err != nil {
			return nil, true, err
		}
	}
	var id *rbac.Identity
	if ds.Mode == identity.ModeOIDC {
		id, err = s.ident.OIDCIdentity(r.Context(), &auth.OIDCIdentity{Subject: ds.OIDCSubject, Username: ds.OIDCUsername, Roles: ds.OIDCGroups})
	} else {
		id, err = s.ident.UserIdentity(r.Context(), ds.UserID)
	}
	switch {
	case errors.Is(err, identity.ErrUnauthenticated):
		return nil, true, errNoSession
	case err != nil:
		return nil, true, err
	}
	if touch && now.Sub(ds.LastSeenAt) >= touchEvery {
		// Not the request's failure: a missed touch only shortens the idle time left.
		_ = s.store.TouchDashboardSession(r.Context(), hash, now, now.Add(s.cfg.IdleTimeout))
	}
	return &session{ds: ds, id: id, csrf: base64.RawURLEncoding.EncodeToString(ds.CSRFSecret)}, true, nil
}

// end revokes r's session, if any, and deletes its cookie; the audit log records the logout as
// sess's.
func (s *Sessions) end(w http.ResponseWriter, r *http.Request, sess *session) error {
	s.deleteCookie(w, r)
	hash, _ := s.tokenHash(r)
	if hash == nil {
		return nil
	}
	return s.store.RevokeDashboardSession(withActor(r, s.ident, sess.id), hash, s.now().UTC())
}

// withActor returns r's context naming who makes r for the audit log, as the API names its
// callers: id, or an anonymous caller when id is nil.
func withActor(r *http.Request, ident *identity.Service, id *rbac.Identity) context.Context {
	a := domain.Actor{Kind: "anonymous", SourceIP: ident.ClientAddr(r), UserAgent: printable(r.UserAgent(), 512),
		RequestID: printable(r.Header.Get("X-Request-Id"), 128)}
	if id != nil {
		a.ID, a.Name, a.Kind, a.Mode = id.Subject, id.Name, string(id.Kind), id.Mode
	}
	return domain.WithActor(r.Context(), a)
}

// refreshHash returns the stored hash of a refresh token a login issued.
func refreshHash(token string) ([]byte, bool) {
	return auth.ParseOpaqueToken(auth.RefreshTokenPrefix, token)
}

// validCSRF reports whether r carries sess's CSRF token, in the form or the header.
func validCSRF(r *http.Request, sess *session) bool {
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sess.csrf)) == 1
}

// signedIn lets r reach next only with a valid session: without one, the browser goes to the
// login page (an HTMX request through HX-Redirect), with a message when a session had been
// there. Every unsafe request must also carry the session's CSRF token: 403 otherwise.
func (ui *UI) signedIn(next func(http.ResponseWriter, *http.Request, *session)) http.Handler {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, had, err := ui.sessions.find(r)
		switch {
		case errors.Is(err, errNoSession):
			ui.toLogin(w, r, had)
			return
		case err != nil:
			ui.log.Error("dashboard session", "error", err)
			ui.errorPage(w, r, nil, http.StatusInternalServerError, "error.internal")
			return
		}
		if !safeMethod(r.Method) {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if !validCSRF(r, sess) {
				ui.errorPage(w, r, sess, http.StatusForbidden, "error.csrf")
				return
			}
		}
		next(w, r, sess)
	})
	if ui.timing {
		return withTiming(h)
	}
	return h
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// toLogin sends the browser to the login page, which comes back to where it was; expired says
// a session had been there and ended.
func (ui *UI) toLogin(w http.ResponseWriter, r *http.Request, expired bool) {
	q := url.Values{}
	next := r.URL.RequestURI()
	if r.Header.Get("HX-Request") == "true" {
		// Back to the page the request came from, not to the fragment it asked for.
		if u, err := url.Parse(r.Header.Get("HX-Current-URL")); err == nil && u.Path != "" {
			next = u.RequestURI()
		}
	}
	if !safeMethod(r.Method) {
		next = "/jobs"
	}
	if n := SafeNext(next); n != "/jobs" {
		q.Set("next", n)
	}
	if expired {
		ui.sessions.deleteCookie(w, r)
		q.Set("expired", "1")
	}
	target := "/login"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// SafeNext returns next when it is a page of this site to go to after signing in, and /jobs
// otherwise: never another host ("//evil.test", "/\\evil.test", "https://…") nor the login page.
func SafeNext(next string) string {
	p, ok := localPath(next)
	if !ok || strings.HasPrefix(p, "/login") {
		return "/jobs"
	}
	return p
}

// localPath returns s when it is a path (and query) of this site, and whether it is.
func localPath(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") ||
		strings.ContainsAny(s, "\\\r\n\t") || u.Host != "" || u.Scheme != "" || u.User != nil {
		return "", false
	}
	return u.RequestURI(), true
}

package dashboard

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vecron/vecron/shared/humanize"
	"github.com/vecron/vecron/shared/identity"
)

// maxCredential bounds a username or password, as the API does.
const maxCredential = 256

// loginView is what the login page shows.
type loginView struct {
	Next     string
	Username string
	// Notice is a message about the session (ended, signed out); Error about the sign-in tried.
	Notice, Error string
	// FieldErrors name the empty or too long fields.
	FieldErrors map[string]string
	Password    bool
	OIDCLabel   string
	OIDCURL     string
}

func (ui *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	if sess, _, err := ui.sessions.find(r); err == nil && sess != nil {
		http.Redirect(w, r, SafeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	lang, q := langOf(r), r.URL.Query()
	lv := ui.loginView(r, q.Get("next"))
	switch {
	case q.Get("expired") == "1":
		lv.Notice = ui.cat.tr(lang, "login.expired")
	case q.Get("signed_out") == "1":
		lv.Notice = ui.cat.tr(lang, "login.signed_out")
	}
	ui.renderLogin(w, r, http.StatusOK, lv)
}

// renderLogin writes the login page of lv with status.
func (ui *UI) renderLogin(w http.ResponseWriter, r *http.Request, status int, lv *loginView) {
	v := ui.newView(r, nil, "login.title", "", lv)
	ui.renderPage(w, status, v, loginContent(v, lv))
}

func (ui *UI) loginView(r *http.Request, next string) *loginView {
	lv := &loginView{Next: SafeNext(next), Password: ui.ident.Signer() != nil, FieldErrors: map[string]string{}}
	if ui.oidc != nil {
		lv.OIDCLabel = ui.oidc.Label()
		lv.OIDCURL = "/auth/oidc/start?" + url.Values{"next": {lv.Next}}.Encode()
	}
	return lv
}

// loginFailed shows the login page with the message of a sign-in through the identity provider
// that did not complete.
func (ui *UI) loginFailed(w http.ResponseWriter, r *http.Request, status int, detail string) {
	lv := ui.loginView(r, "")
	lv.Error = ui.cat.tr(langOf(r), "login.oidc_failed") + " " + detail
	ui.renderLogin(w, r, status, lv)
}

// login signs a database user in with the form's username and password, through the same
// service (rate limit, audit record) as POST /api/v1/auth/login. The form has no session to
// hold a CSRF token yet: crossOrigin refuses a post another site's page makes.
func (ui *UI) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	lang := langOf(r)
	username, password := r.PostFormValue("username"), r.PostFormValue("password")
	lv := ui.loginView(r, r.PostFormValue("next"))
	lv.Username = username
	for field, v := range map[string]string{"username": username, "password": password} {
		if v == "" || len(v) > maxCredential || !utf8.ValidString(v) {
			lv.FieldErrors[field] = ui.cat.tr(lang, "login.required")
		}
	}
	if len(lv.FieldErrors) > 0 {
		ui.renderLogin(w, r, http.StatusUnprocessableEntity, lv)
		return
	}
	ip := ui.ident.ClientAddr(r)
	tokens, user, err := ui.ident.Login(withActor(r, ui.ident, nil), username, password, ip)
	var limited *identity.RateLimitedError
	status := http.StatusUnauthorized
	switch {
	case err == nil:
	case errors.Is(err, identity.ErrBadCredentials):
		lv.Error = ui.cat.tr(lang, "login.bad_credentials")
	case errors.As(err, &limited):
		secs := int64(math.Ceil(limited.RetryAfter.Seconds()))
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		lv.Error, status = ui.cat.tr(lang, "login.rate_limited", humanize.Int(secs, lang)), http.StatusTooManyRequests
	case errors.Is(err, identity.ErrModeOff):
		lv.Error, status = ui.cat.tr(lang, "login.password_off"), http.StatusNotFound
	default:
		ui.log.Error("dashboard login", "error", err)
		ui.errorPage(w, r, nil, http.StatusInternalServerError, "error.internal")
		return
	}
	if lv.Error != "" {
		ui.renderLogin(w, r, status, lv)
		return
	}
	hash, ok := refreshHash(tokens.RefreshToken)
	if !ok {
		ui.log.Error("dashboard login: the refresh token has an unknown form")
		ui.errorPage(w, r, nil, http.StatusInternalServerError, "error.internal")
		return
	}
	if err := ui.sessions.startDatabase(w, r, user.ID, hash); err != nil {
		ui.log.Error("dashboard login: store the session", "error", err)
		ui.errorPage(w, r, nil, http.StatusInternalServerError, "error.internal")
		return
	}
	http.Redirect(w, r, lv.Next, http.StatusSeeOther)
}

// logout ends the session (and the refresh-token family of its login).
func (ui *UI) logout(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := ui.sessions.end(w, r, sess); err != nil {
		ui.log.Error("dashboard logout", "error", err)
	}
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", "/login?signed_out=1")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, "/login?signed_out=1", http.StatusSeeOther)
}

// printable returns s as valid UTF-8 of at most max bytes, for the audit log.
func printable(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	for len(s) > max {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/a-h/templ"

	"github.com/vecron/vecron/shared/domain"
)

// htmxConfig keeps htmx within the CSP and off the browser's storage: no eval, no inline
// indicator styles, no script tags run from a response, no page snapshots in localStorage
// (they would hold job data after sign-out), requests to this origin only. A 4xx answer is
// swapped where it says (HX-Retarget: the flash region), so a refusal is read, not lost.
const htmxConfig = `{"allowEval":false,"allowScriptTags":false,"includeIndicatorStyles":false,` +
	`"historyCacheSize":0,"refreshOnHistoryMiss":true,"selfRequestsOnly":true,` +
	`"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},` +
	`{"code":"4..","swap":true,"error":true},{"code":"...","swap":false,"error":true}]}`

// view is what the layout shows around a page.
type view struct {
	L     string // language code
	Title string
	// CSRF is the session's token (empty before sign-in); HXHeaders sends it on every HTMX
	// request.
	CSRF, HXHeaders string
	HTMXConfig      string
	User            string
	Admin           bool
	Nav             string
	Langs           []langLink
	Page            any

	cat    catalogs
	assets *assets
}

// T returns the text of key in the view's language (catalogs.tr).
func (v *view) T(key string, args ...any) string { return v.cat.tr(v.L, key, args...) }

// words returns the view's language, for the components it holds.
func (v *view) words() words { return words{cat: v.cat, lang: v.L} }

// words is one language of the catalogs: the translator of a component that is also rendered
// without a page around it (a job's row, the timeline).
type words struct {
	cat  catalogs
	lang string
}

// T returns the text of key in w's language (catalogs.tr).
func (w words) T(key string, args ...any) string { return w.cat.tr(w.lang, key, args...) }

// Asset returns the versioned address of the static file name.
func (v *view) Asset(name string) string { return v.assets.url(name) }

// langLink switches the language, coming back to the same page.
type langLink struct {
	Code, Label, URL string
	Current          bool
}

// newView returns the layout's view of r for sess (nil before sign-in).
func (ui *UI) newView(r *http.Request, sess *session, titleKey, nav string, page any) *view {
	lang := langOf(r)
	v := &view{L: lang, Title: ui.cat.tr(lang, titleKey), HTMXConfig: htmxConfig, Nav: nav, Page: page,
		cat: ui.cat, assets: ui.assets}
	here := r.URL.RequestURI()
	if r.Method != http.MethodGet {
		here = "/jobs"
	}
	for _, l := range []langLink{{Code: "en", Label: "English"}, {Code: "vi", Label: "Tiếng Việt"}} {
		l.Current = l.Code == lang
		l.URL = "/lang?" + url.Values{"set": {l.Code}, "next": {here}}.Encode()
		v.Langs = append(v.Langs, l)
	}
	if sess != nil {
		v.CSRF, v.User = sess.csrf, sess.id.Name
		v.Admin = sess.id.CanAnywhere(domain.PermUserAdmin)
		b, _ := json.Marshal(map[string]string{csrfHeader: sess.csrf})
		v.HXHeaders = string(b)
	}
	return v
}

// renderPage writes content in the layout with status.
func (ui *UI) renderPage(w http.ResponseWriter, status int, v *view, content templ.Component) {
	ui.renderComponent(w, status, layout(v, content))
}

// renderComponent writes c with status; an error is logged and answered with 500. Rendering
// reads only what it is given, so it takes no request context.
func (ui *UI) renderComponent(w http.ResponseWriter, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		ui.log.Error("dashboard component", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// errorView is what the error page and the flash message show.
type errorView struct {
	L       string
	Status  int
	Message string
	Detail  string
}

// errorPage answers status with the message of key (and the API's detail, when given): a
// page, or for an HTMX request a message swapped into the flash region.
func (ui *UI) errorPage(w http.ResponseWriter, r *http.Request, sess *session, status int, key string, detail ...string) {
	lang := langOf(r)
	ev := errorView{L: lang, Status: status, Message: ui.cat.tr(lang, key)}
	if len(detail) > 0 {
		ev.Detail = detail[0]
	}
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Retarget", "#flash")
		w.Header().Set("HX-Reswap", "innerHTML")
		ui.renderComponent(w, status, flash(ev))
		return
	}
	v := ui.newView(r, sess, "error.title", "", ev)
	ui.renderPage(w, status, v, errorContent(v, ev))
}

func (ui *UI) notFound(w http.ResponseWriter, r *http.Request) {
	sess, _, _ := ui.sessions.find(r)
	ui.errorPage(w, r, sess, http.StatusNotFound, "error.not_found")
}

// setLang remembers the language chosen and goes back to the page it was chosen on.
func (ui *UI) setLang(w http.ResponseWriter, r *http.Request) {
	if code, ok := known(r.URL.Query().Get("set")); ok {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: code, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil || ui.sessions.cfg.SecureCookie})
	}
	next, ok := localPath(r.URL.Query().Get("next"))
	if !ok {
		next = "/jobs"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (ui *UI) oidcRoute(w http.ResponseWriter, r *http.Request) {
	if ui.oidc == nil {
		ui.notFound(w, r)
		return
	}
	ui.oidc.ServeOIDC(w, r, ui.sessions)
}

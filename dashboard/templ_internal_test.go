package dashboard

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/a-h/templ"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

// The pages moved from html/template to templ serve the same document: the same elements,
// attributes (ids, classes, CSRF fields, HTMX and ARIA attributes) and text, in the same
// order. testdata/before holds the html/template files as they were; each case renders both.
func TestTemplComponentsServeWhatTheTemplatesServed(t *testing.T) {
	t.Parallel()
	cat, err := loadCatalogs(files)
	require.NoError(t, err)
	static, err := fs.Sub(files, "static")
	require.NoError(t, err)
	a, err := loadAssets(static)
	require.NoError(t, err)
	funcs := template.FuncMap{"t": cat.tr, "asset": a.url}
	before := func(page string) *template.Template {
		tpl, err := template.New(page).Funcs(funcs).ParseFS(os.DirFS("testdata/before"), "layout.html", page)
		require.NoError(t, err)
		return tpl
	}
	newView := func(lang, user string, admin bool, nav string, page any) *view {
		v := &view{L: lang, Title: cat.tr(lang, "login.title"), HTMXConfig: htmxConfig, Nav: nav, Page: page, cat: cat, assets: a}
		for _, l := range []langLink{{Code: "en", Label: "English"}, {Code: "vi", Label: "Tiếng Việt"}} {
			l.Current = l.Code == lang
			l.URL = "/lang?next=%2Fjobs%3Fq%3D%22a%22%26b&set=" + l.Code
			v.Langs = append(v.Langs, l)
		}
		if user != "" {
			v.User, v.Admin, v.CSRF = user, admin, `tok"en<&>`
			v.HXHeaders = `{"X-CSRF-Token":"tok\"en\u003c\u0026\u003e"}`
		}
		return v
	}
	login := func(mod func(*loginView)) *loginView {
		lv := &loginView{Next: "/jobs?q=<x>", Password: true, FieldErrors: map[string]string{}}
		mod(lv)
		return lv
	}
	type tcase struct {
		name          string
		page, define  string
		data          any
		component     templ.Component
		layoutWrapped bool
	}
	var cases []tcase
	for _, lang := range []string{"en", "vi"} {
		for _, lv := range []*loginView{
			login(func(*loginView) {}),
			login(func(lv *loginView) {
				lv.Username, lv.Notice, lv.Error = `bob "<b>"`, "Session ended", "Wrong password & <more>"
				lv.FieldErrors["username"], lv.FieldErrors["password"] = "Required", "Too long"
				lv.OIDCLabel, lv.OIDCURL = "Corp SSO", "/auth/oidc/start?next=%2Fjobs"
			}),
			login(func(lv *loginView) { lv.Password, lv.OIDCLabel, lv.OIDCURL = false, "Keycloak", "/auth/oidc/start" }),
			login(func(lv *loginView) { lv.FieldErrors["password"] = "Required" }),
		} {
			v := newView(lang, "", false, "", lv)
			cases = append(cases, tcase{name: "Login/" + lang, page: "login.html", define: "layout", data: v, component: loginContent(v, lv), layoutWrapped: true})
		}
		for _, nav := range []string{"jobs", "history", "dead-letters", "variables", "audit", "admin", ""} {
			for _, admin := range []bool{false, true} {
				for _, ev := range []errorView{{L: lang, Status: 404, Message: "Not found"}, {L: lang, Status: 502, Message: "Bad <gateway>", Detail: `upstream said "no" & left`}} {
					v := newView(lang, `ana "<admin>"`, admin, nav, ev)
					cases = append(cases, tcase{name: fmt.Sprintf("Error/%s/%s/%v", lang, nav, admin), page: "error.html", define: "layout", data: v,
						component: errorContent(v, ev), layoutWrapped: true})
					cases = append(cases, tcase{name: "Flash/" + lang, page: "error.html", define: "flash", data: ev, component: flash(ev)})
				}
			}
		}
	}
	for _, c := range cases {
		var want bytes.Buffer
		require.NoError(t, before(c.page).ExecuteTemplate(&want, c.define, c.data), c.name)
		comp := c.component
		if c.layoutWrapped {
			comp = layout(c.data.(*view), c.component)
		}
		var got bytes.Buffer
		require.NoError(t, comp.Render(t.Context(), &got), c.name)
		require.Equal(t, tokens(t, want.String()), tokens(t, got.String()), "%s\nbefore:\n%s\nafter:\n%s", c.name, want.String(), got.String())
	}
}

// The facts component writes the definition list the confirmation page writes.
func TestFactsComponentIsTheConfirmList(t *testing.T) {
	t.Parallel()
	fs := []fact{{Label: "Job", Value: `ops/<settle>`}, {Label: "Runs", Value: "3 & more"}}
	tpl := template.Must(template.New("x").Parse(`<dl class="def">
    {{- range .}}
    <dt>{{.Label}}</dt><dd>{{.Value}}</dd>
    {{- end}}
  </dl>`))
	var want, got bytes.Buffer
	require.NoError(t, tpl.Execute(&want, fs))
	require.NoError(t, facts(fs).Render(t.Context(), &got))
	require.Equal(t, tokens(t, want.String()), tokens(t, got.String()))
	got.Reset()
	require.NoError(t, facts(nil).Render(t.Context(), &got))
	require.Empty(t, got.String())
}

// tokens returns the document's tokens as the browser reads them: attributes decoded and in
// order of name, text with its runs of white space as one space, and white space between
// elements dropped (the templates indent, templ does not). A void element is the same
// written <x> or <x/>.
func tokens(t *testing.T, doc string) []string {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(doc))
	var out []string
	text := ""
	flush := func() {
		if s := strings.Join(strings.Fields(text), " "); s != "" {
			lead, trail := "", ""
			if strings.TrimLeft(text, " \t\n") != text {
				lead = " "
			}
			if strings.TrimRight(text, " \t\n") != text {
				trail = " "
			}
			out = append(out, "text:"+lead+s+trail)
		}
		text = ""
	}
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			require.ErrorIs(t, z.Err(), io.EOF)
			flush()
			return out
		}
		tok := z.Token()
		if tt == html.TextToken {
			text += tok.Data
			continue
		}
		flush()
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			attrs := make([]string, 0, len(tok.Attr))
			for _, a := range tok.Attr {
				attrs = append(attrs, a.Key+"="+a.Val)
			}
			slices.Sort(attrs)
			out = append(out, "<"+tok.Data+" "+strings.Join(attrs, " ")+">")
		case html.EndTagToken:
			out = append(out, "</"+tok.Data+">")
		case html.DoctypeToken:
			out = append(out, "doctype:"+strings.ToLower(tok.Data))
		}
	}
}

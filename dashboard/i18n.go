package dashboard

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"golang.org/x/text/language"
)

// langCookie remembers the language a user picked.
const langCookie = "lang"

// languages returns the languages the dashboard speaks; the first is the default.
func languages() []language.Tag { return []language.Tag{language.English, language.Vietnamese} }

// catalog is the text of every key in one language.
type catalog map[string]string

// catalogs holds one catalog per language code ("en", "vi").
type catalogs map[string]catalog

// loadCatalogs reads i18n/<code>.json for every language.
func loadCatalogs(fsys fs.FS) (catalogs, error) {
	out := catalogs{}
	for _, tag := range languages() {
		code := tag.String()
		b, err := fs.ReadFile(fsys, "i18n/"+code+".json")
		if err != nil {
			return nil, fmt.Errorf("dashboard: catalog %s: %w", code, err)
		}
		var c catalog
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("dashboard: catalog %s: %w", code, err)
		}
		out[code] = c
	}
	return out, nil
}

// tr returns the text of key in lang, formatted with args (fmt verbs); a key missing from the
// catalog shows as itself, which a test forbids.
func (c catalogs) tr(lang, key string, args ...any) string {
	s, ok := c[lang][key]
	if !ok {
		if s, ok = c["en"][key]; !ok {
			return key
		}
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// langOf picks the language of r: the remembered choice, else the best match of
// Accept-Language, else English.
func langOf(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil {
		if code, ok := known(c.Value); ok {
			return code
		}
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return "en"
	}
	_, i, conf := language.NewMatcher(languages()).Match(tags...)
	if conf == language.No {
		return "en"
	}
	return languages()[i].String()
}

// known returns code when it names a language the dashboard speaks.
func known(code string) (string, bool) {
	code = strings.ToLower(strings.TrimSpace(code))
	for _, t := range languages() {
		if t.String() == code {
			return code, true
		}
	}
	return "", false
}

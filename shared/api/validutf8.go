package api

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/vecron/vecron/shared/domain"
)

// validUTF8 refuses, with 400 naming the parameter, a request whose path or query is not
// UTF-8 or holds a NUL byte: PostgreSQL's text refuses such bytes, and a query built from them would fail as a 500
// instead of telling the caller what was wrong.
func validUTF8(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v domain.ValidationError
		if !text(r.URL.Path) {
			v.Add("path", "is not UTF-8 without NUL bytes")
		}
		for k, vs := range r.URL.Query() {
			for _, val := range vs {
				if !text(k) || !text(val) {
					v.Add(strings.ToValidUTF8(strings.ReplaceAll(k, "\x00", ""), "\uFFFD"), "is not UTF-8 without NUL bytes")
					break
				}
			}
		}
		if err := v.Err(); err != nil {
			writeError(w, r, nil, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// text reports whether s can be stored as PostgreSQL text.
func text(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

package api

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/vecron/vecron/shared/domain"
)

// validUTF8 refuses, with 400 naming the parameter, a request whose path or query is not
// UTF-8: PostgreSQL's text refuses such bytes, and a query built from them would fail as a 500
// instead of telling the caller what was wrong.
func validUTF8(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v domain.ValidationError
		if !utf8.ValidString(r.URL.Path) {
			v.Add("path", "is not UTF-8")
		}
		for k, vs := range r.URL.Query() {
			for _, val := range vs {
				if !utf8.ValidString(k) || !utf8.ValidString(val) {
					v.Add(strings.ToValidUTF8(k, "\uFFFD"), "is not UTF-8")
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

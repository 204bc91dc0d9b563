package api

import "net/http"

// securityHeaders sets the headers that keep a browser from misusing an API response: no
// content sniffing (a JSON body never runs as a script or page), a Content-Security-Policy that
// lets nothing a response could hold load or run (the reference page sets its own), no framing,
// no Referer leaking ids to other sites, no caching of job data by a shared cache or the
// browser, and, over TLS, HTTPS only from then on.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

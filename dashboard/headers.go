package dashboard

import "net/http"

// contentSecurityPolicy lets a page load scripts, styles and images from this origin only and
// run no inline script or style: a name a user gave a job, rendered into a page, can never run
// as code even if an escaping bug let markup through. htmx is configured (the htmx-config meta
// tag) to need neither eval nor inline styles.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders sets what every dashboard response needs: the CSP, no sniffing, no framing,
// no Referer beyond this origin, no caching of pages (assets set their own), and, over TLS,
// HTTPS from then on.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

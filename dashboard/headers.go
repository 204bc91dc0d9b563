package dashboard

import "net/http"

// contentSecurityPolicy lets a page load scripts, styles and images from this origin only and
// run no inline script or style: a name a user gave a job, rendered into a page, can never run
// as code even if an escaping bug let markup through. htmx is configured (the htmx-config meta
// tag) to need neither eval nor inline styles.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// hstsMaxAge is a year: browsers that saw the dashboard over HTTPS keep to it that long.
const hstsMaxAge = "max-age=31536000"

// securityHeaders sets what every dashboard response needs: the CSP, no sniffing, no framing,
// no Referer beyond this origin, no caching of pages (assets set their own), and, when browsers
// reach the dashboard over HTTPS (secure: the public URL says so, whatever the request that a
// proxy which ends TLS passes on) or the request came over TLS, HTTPS from then on.
func securityHeaders(secure bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if secure || r.TLS != nil {
			h.Set("Strict-Transport-Security", hstsMaxAge)
		}
		next.ServeHTTP(w, r)
	})
}

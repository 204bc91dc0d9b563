package api

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"path"
	"strings"
)

// docsPath is where the API reference page is served; its assets are below it.
const docsPath = "/api/docs"

// docsUI holds the reference page, its script and swagger-ui-dist's renderer (see
// docsui/VERSION): the page works without reaching any other site.
//
//go:embed docsui/index.html docsui/init.js docsui/swagger-ui-bundle.js docsui/swagger-ui.css
var docsUI embed.FS

// docsCSP is the reference page's Content-Security-Policy: scripts and styles from this origin
// only, never inline. The renderer sets the styles of the elements it builds through the DOM,
// which the policy allows, so it needs no 'unsafe-inline' for either. img-src allows data: for
// the icons the style sheet embeds; connect-src 'self' lets it fetch the document and try out
// calls against this API, and nothing else.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// serveDocs serves the reference page (GET /api/docs) and its assets, by path.
func (s *Server) serveDocs(w http.ResponseWriter, r *http.Request) {
	name := "index.html"
	if r.URL.Path != docsPath {
		name = path.Base(r.URL.Path)
	}
	body, err := docsUI.ReadFile("docsui/" + name)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	contentType := "text/html; charset=utf-8"
	switch {
	case strings.HasSuffix(name, ".js"):
		contentType = "text/javascript; charset=utf-8"
	case strings.HasSuffix(name, ".css"):
		contentType = "text/css; charset=utf-8"
	}
	w.Header().Set("Content-Security-Policy", docsCSP)
	serveBytes(w, r, contentType, s.docsTags()[name], body)
}

// docsETags are the entity tags of the embedded files by name, hashed once: the renderer is
// 1.7 MB.
func docsETags() map[string]string {
	tags := map[string]string{}
	entries, _ := docsUI.ReadDir("docsui")
	for _, e := range entries {
		body, _ := docsUI.ReadFile("docsui/" + e.Name())
		sum := sha256.Sum256(body)
		tags[e.Name()] = `"` + hex.EncodeToString(sum[:16]) + `"`
	}
	return tags
}

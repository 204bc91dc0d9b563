package api

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The reference page runs under a Content-Security-Policy that allows no inline script (nor
// inline style), loads only what this API serves, and finds the document where it is served.
func TestDocsPageIsServedUnderCSP(t *testing.T) {
	t.Parallel()
	e := newAccessEnv(t)
	rec := e.call(t, http.MethodGet, docsPath, "", "")
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	requireStrictCSP(t, rec.Header().Get("Content-Security-Policy"))
	page := rec.Body.String()

	scripts := regexp.MustCompile(`(?s)<script([^>]*)>(.*?)</script>`).FindAllStringSubmatch(page, -1)
	require.NotEmpty(t, scripts)
	var assets []string
	for _, s := range scripts {
		require.Empty(t, strings.TrimSpace(s[2]), "an inline script: %s", s[0])
		src := regexp.MustCompile(`src="([^"]+)"`).FindStringSubmatch(s[1])
		require.NotNil(t, src, "a script without src: %s", s[0])
		assets = append(assets, src[1])
	}
	require.NotContains(t, page, "<style", "an inline style sheet")
	require.NotRegexp(t, `\son[a-z]+=`, page, "an inline event handler")
	for _, m := range regexp.MustCompile(`<link[^>]+href="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		assets = append(assets, m[1])
	}

	base, err := url.Parse("http://vecron.test" + docsPath)
	require.NoError(t, err)
	for _, a := range assets {
		ref, err := url.Parse(a)
		require.NoError(t, err)
		u := base.ResolveReference(ref)
		require.Equal(t, base.Host, u.Host, "%s is loaded from another site", a)
		rec := e.call(t, http.MethodGet, u.Path, "", "")
		require.Equal(t, http.StatusOK, rec.Code, u.Path)
		require.Regexp(t, `^text/(javascript|css); charset=utf-8$`, rec.Header().Get("Content-Type"), u.Path)
		requireStrictCSP(t, rec.Header().Get("Content-Security-Policy"))
		require.NotEmpty(t, rec.Header().Get("ETag"), u.Path)
		if strings.HasSuffix(u.Path, "/init.js") {
			spec, err := url.Parse(regexp.MustCompile(`new URL\("([^"]+)"`).FindStringSubmatch(rec.Body.String())[1])
			require.NoError(t, err)
			require.Equal(t, openAPIPath, base.ResolveReference(spec).Path, "the page loads the document from where it is served")
		}
	}
	require.Len(t, assets, 3)
}

// requireStrictCSP checks that policy allows scripts and styles from this origin only.
func requireStrictCSP(t *testing.T, policy string) {
	t.Helper()
	directives := map[string]string{}
	for d := range strings.SplitSeq(policy, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	require.Equal(t, "'none'", directives["default-src"], policy)
	require.Equal(t, "'self'", directives["script-src"], policy)
	require.Equal(t, "'self'", directives["style-src"], policy)
	require.Equal(t, "'none'", directives["frame-ancestors"], policy)
}

// docsui/VERSION names the renderer's release and the hashes of its files as the package
// ships them; the files embedded are those.
func TestDocsAssetsAreTheReleaseNamed(t *testing.T) {
	t.Parallel()
	note, err := os.ReadFile("docsui/VERSION")
	require.NoError(t, err)
	for _, name := range []string{"swagger-ui-bundle.js", "swagger-ui.css"} {
		body, err := docsUI.ReadFile("docsui/" + name)
		require.NoError(t, err)
		sum := sha256.Sum256(body)
		require.Contains(t, string(note), hex.EncodeToString(sum[:])+"  "+name)
	}
}

// The API's other answers let nothing they hold load or run in a browser.
func TestAPIAnswersForbidEverythingToABrowser(t *testing.T) {
	t.Parallel()
	e := newAccessEnv(t)
	for _, path := range []string{openAPIPath, "/healthz", "/api/v1/jobs", "/api/v1/nope"} {
		rec := e.call(t, http.MethodGet, path, "", "")
		require.Equal(t, "default-src 'none'; frame-ancestors 'none'", rec.Header().Get("Content-Security-Policy"), path)
	}
}

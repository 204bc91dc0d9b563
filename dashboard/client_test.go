package dashboard_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// client is a browser without JavaScript: a cookie jar, and redirects not followed, so that a
// test sees each answer.
type client struct {
	t   *testing.T
	srv *dashboardtest.Server
	c   *http.Client
}

func newClient(t *testing.T, srv *dashboardtest.Server) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &client{t: t, srv: srv, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// response is an answer with its body read.
type response struct {
	*http.Response
	body string
}

// do sends a request; header holds pairs of names and values.
func (c *client) do(method, path string, form url.Values, header ...string) response {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.srv.URL+path, body)
	require.NoError(c.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.c.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return response{resp, string(b)}
}

func (c *client) get(path string, header ...string) response {
	c.t.Helper()
	return c.do(http.MethodGet, path, nil, header...)
}

func (c *client) post(path string, form url.Values, header ...string) response {
	c.t.Helper()
	return c.do(http.MethodPost, path, form, header...)
}

// login signs in with the form and requires it to work.
func (c *client) login(username string) {
	c.t.Helper()
	r := c.post("/login", url.Values{"username": {username}, "password": {testfactory.Password}})
	require.Equal(c.t, http.StatusSeeOther, r.StatusCode, r.body)
	require.Equal(c.t, "/jobs", r.Header.Get("Location"))
}

var (
	csrfInput  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	regexpNext = regexp.MustCompile(`href="([^"]+)" rel="next"`)
)

// csrf returns the CSRF token of the page at path.
func (c *client) csrf(path string) string {
	c.t.Helper()
	r := c.get(path)
	require.Equal(c.t, http.StatusOK, r.StatusCode, r.body)
	m := csrfInput.FindStringSubmatch(r.body)
	require.NotNil(c.t, m, "no CSRF token on %s", path)
	return m[1]
}

// sessionCookie returns the session cookie the jar holds ("" for none), of either name.
func (c *client) sessionCookie() string {
	u, err := url.Parse(c.srv.URL)
	require.NoError(c.t, err)
	for _, k := range c.c.Jar.Cookies(u) {
		if k.Name == "vecron_session" || k.Name == "__Host-vecron_session" {
			return k.Value
		}
	}
	return ""
}

// behindTLS is the cookie jar of a browser that reaches the server over HTTPS through a proxy
// that ends TLS: the server sees plain HTTP, the browser keeps and sends Secure cookies.
type behindTLS struct{ http.CookieJar }

func asHTTPS(u *url.URL) *url.URL {
	v := *u
	v.Scheme = "https"
	return &v
}

func (j behindTLS) SetCookies(u *url.URL, cs []*http.Cookie) { j.CookieJar.SetCookies(asHTTPS(u), cs) }
func (j behindTLS) Cookies(u *url.URL) []*http.Cookie        { return j.CookieJar.Cookies(asHTTPS(u)) }

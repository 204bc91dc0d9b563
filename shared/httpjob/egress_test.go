package httpjob

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
)

// listenerOn serves handler on addr ("127.0.0.2:0", …) and counts the connections it accepts.
func listenerOn(t *testing.T, addr string, handler http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(handler)
	srv.Listener = countingListener{Listener: ln, n: &conns}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

func runnerWith(t *testing.T, cfg egress.Config) *Runner {
	t.Helper()
	p, err := egress.New(cfg)
	require.NoError(t, err)
	r := New(clockwork.NewRealClock(), Config{}, p)
	t.Cleanup(r.Close)
	return r
}

// TestARedirectToAnotherLocalAddressIsNotFollowed: a local page that answers 302 to another
// local address no longer leads the job there: the redirect is the answer, and it is final.
func TestARedirectToAnotherLocalAddressIsNotFollowed(t *testing.T) {
	t.Parallel()
	inner, innerConns := listenerOn(t, "127.0.0.1:0", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("internal secret page")) })
	outer := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, inner.URL+"/admin", http.StatusFound)
	})
	res := newRunner(t, Config{}).Run(t.Context(), dueFor(&domain.HTTPSpec{URL: outer.URL}))
	require.Equal(t, domain.StatusFailed, res.Status)
	require.True(t, res.Permanent, "asking again gets the same redirect")
	require.Equal(t, http.StatusFound, res.HTTPStatus)
	require.Contains(t, res.Error, "follow_redirects")
	require.NotContains(t, res.Excerpt, "internal secret page")
	require.Zero(t, innerConns.Load())
}

// TestARedirectChainLeavingTheAllowedSetIsRefusedAtTheHop: with redirects followed, each hop
// passes the policy; the one that leaves it is never connected to.
func TestARedirectChainLeavingTheAllowedSetIsRefusedAtTheHop(t *testing.T) {
	t.Parallel()
	denied, deniedConns := listenerOn(t, "127.0.0.2:0", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("secret")) })
	second, _ := listenerOn(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, denied.URL, http.StatusFound) })
	first, _ := listenerOn(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, second.URL, http.StatusFound) })
	r := runnerWith(t, egress.Config{Allow: []string{"127.0.0.1/32"}})
	res := r.Run(t.Context(), dueFor(&domain.HTTPSpec{URL: first.URL, FollowRedirects: 5}))
	require.Equal(t, domain.StatusFailed, res.Status)
	require.True(t, res.Permanent)
	require.Contains(t, res.Error, "egress policy refuses 127.0.0.2 (default rule: loopback")
	require.Zero(t, deniedConns.Load(), "the refused hop was never dialled")

	// Within the allowed set, a chain is followed up to the job's count.
	ok := newTarget(t, nil)
	hop := newTarget(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, ok.URL+"/done", http.StatusSeeOther) })
	res = r.Run(t.Context(), dueFor(&domain.HTTPSpec{URL: hop.URL, FollowRedirects: 1}))
	require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
	require.Equal(t, "/done", ok.only(t).path)
	res = r.Run(t.Context(), dueFor(&domain.HTTPSpec{URL: first.URL, FollowRedirects: 1}))
	require.Equal(t, http.StatusFound, res.HTTPStatus, "two hops are more than the one allowed")
}

// TestCredentialsStayBehindOnAChangeOfHost: a redirect to another host gets no credential
// header of the job's; other headers follow.
func TestCredentialsStayBehindOnAChangeOfHost(t *testing.T) {
	t.Parallel()
	other := newTarget(t, nil)
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	from := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherURL, http.StatusTemporaryRedirect)
	})
	res := newRunner(t, Config{}).Run(t.Context(), dueFor(&domain.HTTPSpec{URL: from.URL, FollowRedirects: 1,
		Headers: map[string]string{"Authorization": "Bearer s3cret", "X-Api-Key": "k3y", "Cookie": "sid=1", "X-Team": "finance"}}))
	require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
	got := other.only(t).header
	require.Empty(t, got.Get("Authorization"))
	require.Empty(t, got.Get("X-Api-Key"))
	require.Empty(t, got.Get("Cookie"))
	require.Equal(t, "finance", got.Get("X-Team"))
	require.Equal(t, "Bearer s3cret", from.only(t).header.Get("Authorization"), "the job's own host got them")
}

// TestADeniedTargetIsNotAPortScanner: a denied address fails permanently, naming the rule,
// with the same answer whether something listens there or not, and without a connection.
func TestADeniedTargetIsNotAPortScanner(t *testing.T) {
	t.Parallel()
	open, conns := listenerOn(t, "127.0.0.1:0", nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedPort := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	require.NoError(t, ln.Close()) // nothing listens here now, or something else does: either way it must not matter
	r := runnerWith(t, egress.Config{})
	var answers []string
	for _, url := range []string{open.URL, "http://127.0.0.1:" + closedPort, "http://169.254.169.254/latest/meta-data/"} {
		res := r.Run(t.Context(), dueFor(&domain.HTTPSpec{URL: url}))
		require.Equal(t, domain.StatusFailed, res.Status)
		require.True(t, res.Permanent, url)
		require.Contains(t, res.Error, "egress policy refuses")
		answers = append(answers, strings.SplitN(res.Error, "(", 2)[1])
	}
	require.Equal(t, answers[0], answers[1], "an open and a closed port answer alike")
	require.Contains(t, answers[2], "link-local")
	require.Zero(t, conns.Load())
}

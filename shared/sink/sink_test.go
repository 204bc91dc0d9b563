package sink_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/sink"
)

func testEvent(t *testing.T) cloudevents.Event {
	t.Helper()
	ev := cloudevents.NewEvent()
	ev.SetID("1")
	ev.SetType("io.vecron.test")
	ev.SetSource("/test")
	require.NoError(t, ev.SetData(cloudevents.ApplicationJSON, map[string]int{"n": 1}))
	return ev
}

// A redirect is not an acceptance, and an error never quotes the URL (it may hold a token).
func TestPostAcceptsOnly2xxAndFollowsNoRedirect(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/busy":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
		case "/ok":
			require.Equal(t, "1", r.Header.Get("ce-id"), "binary mode")
			w.WriteHeader(http.StatusAccepted)
		}
	}))
	defer srv.Close()
	post := func(path string) error {
		c, err := sink.New(sink.Config{URL: srv.URL + path + "?token=t0ken", Setting: "events.sink", Policy: egress.LoopbackPolicy()})
		require.NoError(t, err)
		defer c.CloseIdleConnections()
		return c.Post(t.Context(), testEvent(t))
	}
	require.NoError(t, post("/ok"))
	var se *sink.Error
	require.True(t, errors.As(post("/moved"), &se))
	require.Equal(t, http.StatusFound, se.Status)
	require.True(t, errors.As(post("/busy"), &se))
	require.Equal(t, 7*time.Second, se.RetryAfter, "a sink's Retry-After is passed on")

	c, err := sink.New(sink.Config{URL: srv.URL + "/ok?token=t0ken", Setting: "events.sink", Policy: &egress.Policy{}})
	require.NoError(t, err)
	err = c.Post(t.Context(), testEvent(t))
	_, refused := egress.Denied(err)
	require.True(t, refused, "the policy applies at the dial: %v", err)
	require.NotContains(t, err.Error(), "t0ken")
}

// Refused judges an address at once and leaves a name to the dial, where it resolves.
func TestRefusedJudgesAddressesOnly(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		url     string
		refused bool
	}{
		{"http://127.0.0.1:8080/in", true},
		{"http://[::1]/in", true},
		{"http://169.254.169.254/in", true},
		{"https://10.1.2.3/in", false},
		{"http://localhost:8080/in", false},
		{"https://sink.example.com/in", false},
	} {
		s, err := sink.New(sink.Config{URL: c.url, Setting: "events.sink"})
		require.NoError(t, err)
		require.Equal(t, c.refused, s.Refused() != nil, c.url)
	}
}

// A receiver cannot make the client hold megabytes of response headers per post: past 64 KiB
// the answer is no answer.
func TestPostBoundsTheResponseHeaders(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/huge" {
			w.Header().Set("X-Filler", strings.Repeat("a", 128<<10))
		} else {
			w.Header().Set("X-Filler", strings.Repeat("a", 32<<10))
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	post := func(path string) error {
		c, err := sink.New(sink.Config{URL: srv.URL + path, Setting: "events.sink", Policy: egress.LoopbackPolicy()})
		require.NoError(t, err)
		defer c.CloseIdleConnections()
		return c.Post(t.Context(), testEvent(t))
	}
	require.NoError(t, post("/fits"))
	var se *sink.Error
	require.True(t, errors.As(post("/huge"), &se))
	require.Zero(t, se.Status, "not an answer")
}

// A Retry-After too large for a time.Duration in nanoseconds is the longest wait, never an
// overflow into a short or negative one.
func TestRetryAfterHugeValuesAreTheLongest(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		value string
		want  time.Duration
	}{
		{"1", time.Second},
		{"86399", sink.MaxRetryAfter - time.Second},
		{"86400", sink.MaxRetryAfter},
		{"86401", sink.MaxRetryAfter},
		{"9223372037", sink.MaxRetryAfter},
		{"18446744074", sink.MaxRetryAfter},
		{"99999999999999999999", 0}, // not an integer Go can hold: ignored, as any unreadable value
		{"-5", 0},
		{"Wed, 21 Oct 2026 07:28:00 GMT", 0},
	} {
		require.Equal(t, c.want, sink.RetryAfter(http.StatusServiceUnavailable, http.Header{"Retry-After": {c.value}}), c.value)
	}
}

package forward

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/sink"
)

// Which answers settle a post how: the one table of the forwarder's delivery rule.
func TestDecide(t *testing.T) {
	t.Parallel()
	const lo, hi = time.Second, 30 * time.Second
	for _, c := range []struct {
		name     string
		err      error
		attempts int
		want     outcome
	}{
		{"Accepted", nil, 1, outcome{action: ack}},
		{"BadRequest", &sink.Error{Status: http.StatusBadRequest}, 1, outcome{action: drop}},
		{"TooLarge", &sink.Error{Status: http.StatusRequestEntityTooLarge}, 1, outcome{action: drop}},
		{"Unprocessable", &sink.Error{Status: http.StatusUnprocessableEntity}, 1, outcome{action: drop}},
		{"BrokerNotReady", &sink.Error{Status: http.StatusNotFound}, 1, outcome{action: retry, delay: lo}},
		{"Unauthorized", &sink.Error{Status: http.StatusUnauthorized}, 2, outcome{action: retry, delay: 2 * lo}},
		{"Forbidden", &sink.Error{Status: http.StatusForbidden}, 1, outcome{action: retry, delay: lo}},
		{"Timeout408", &sink.Error{Status: http.StatusRequestTimeout}, 1, outcome{action: retry, delay: lo}},
		{"Conflict", &sink.Error{Status: http.StatusConflict}, 1, outcome{action: retry, delay: lo}},
		{"MethodNotAllowed", &sink.Error{Status: http.StatusMethodNotAllowed}, 1, outcome{action: retry, delay: lo}},
		{"MisdirectedRequest", &sink.Error{Status: http.StatusMisdirectedRequest}, 1, outcome{action: retry, delay: lo}},
		{"TooEarly", &sink.Error{Status: http.StatusTooEarly}, 1, outcome{action: retry, delay: lo}},
		{"TooManyAsksLonger", &sink.Error{Status: http.StatusTooManyRequests, RetryAfter: 7 * time.Second}, 1, outcome{action: retry, delay: 7 * time.Second}},
		{"RetryAfterCapped", &sink.Error{Status: http.StatusServiceUnavailable, RetryAfter: time.Hour}, 1, outcome{action: retry, delay: hi}},
		{"ServerError", &sink.Error{Status: http.StatusInternalServerError}, 3, outcome{action: retry, delay: 4 * lo}},
		{"Redirect", &sink.Error{Status: http.StatusTemporaryRedirect}, 1, outcome{action: retry, delay: lo}},
		{"NoAnswer", &sink.Error{Err: context.DeadlineExceeded}, 10, outcome{action: retry, delay: hi}},
		{"EgressRefused", &sink.Error{Err: fmt.Errorf("dial: %w", &egress.DeniedError{})}, 1, outcome{action: retry, delay: lo}},
		{"Other", errors.New("encode the event"), 0, outcome{action: retry, delay: lo}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, c.want, decide(c.err, c.attempts, lo, hi, hi))
		})
	}
	// A function's answer in a callback: its Retry-After is the executor's retry delay for the
	// job, kept up to a day, as a pull executor's nak would.
	t.Run("CallbackRetryAfter", func(t *testing.T) {
		t.Parallel()
		err := &sink.Error{Status: http.StatusServiceUnavailable, RetryAfter: 30 * time.Minute}
		require.Equal(t, outcome{action: retry, delay: 30 * time.Minute}, decide(err, 1, lo, hi, sink.MaxRetryAfter))
	})
}

// retryable4xx are the 4xx a post is made again after: the event did not cause them.
var retryable4xx = []int{
	http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed,
	http.StatusRequestTimeout, http.StatusConflict, http.StatusMisdirectedRequest, http.StatusTooEarly,
	http.StatusTooManyRequests,
}

// Only an answer in 2xx acknowledges, only a 4xx drops — never one a sink setting or the sink's
// state causes, which a fix or time ends — and a retry waits within the back-off's bounds
// whatever the sink asks.
func TestDecideProperties(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		lo := time.Duration(rapid.Int64Range(int64(time.Millisecond), int64(10*time.Second)).Draw(t, "min"))
		hi := time.Duration(rapid.Int64Range(int64(lo), int64(time.Hour)).Draw(t, "max"))
		status := rapid.IntRange(0, 599).Draw(t, "status")
		after := time.Duration(rapid.Int64Range(0, int64(48*time.Hour)).Draw(t, "retry_after"))
		attempts := rapid.IntRange(0, 1000).Draw(t, "attempts")
		var err error = &sink.Error{Status: status, RetryAfter: after}
		if status == 0 {
			err = &sink.Error{Err: errors.New("connection refused")}
		}
		o := decide(err, attempts, lo, hi, hi)
		switch {
		case o.action == ack:
			t.Fatalf("status %d acknowledged", status)
		case o.action == drop && (status < 400 || status > 499):
			t.Fatalf("status %d dropped", status)
		case o.action == drop && slices.Contains(retryable4xx, status):
			t.Fatalf("status %d dropped, though the event did not cause it", status)
		case o.action == retry && (o.delay < lo || o.delay > hi):
			t.Fatalf("retry in %s outside [%s, %s]", o.delay, lo, hi)
		}
	})
}

// A dead letter says where the event was refused and no more: the path, like the query and the
// user info, may hold the receiver's token.
func TestDestOfKeepsOnlySchemeHostAndPort(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"https://broker.example/ns/default":                     "https://broker.example",
		"http://u:p4ss@10.0.0.1:8080/hooks/t0ken?token=t0ken#f": "http://10.0.0.1:8080",
		"https://[::1]:8443/t0ken":                              "https://[::1]:8443",
		"http://gateway.openfaas:8080":                          "http://gateway.openfaas:8080",
		"::not a url":                                           "",
	} {
		require.Equal(t, want, destOf(raw), raw)
	}
}

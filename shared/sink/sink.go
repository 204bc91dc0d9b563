// Package sink posts CloudEvents to an HTTP receiver in binary content mode, the one way every
// configured event sink (audit.sink, events.sink) is reached: through the egress policy, with
// redirects not followed, and with the URL (which may hold the receiver's token) kept out of
// every error.
package sink

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/vecron/vecron/shared/egress"
)

// TimeoutDefault bounds one delivery, the receiver's answer included.
const TimeoutDefault = 10 * time.Second

// Config configures a Client.
type Config struct {
	// URL is the receiver's http or https URL.
	URL string
	// Setting names the setting URL comes from, for error messages ("audit.sink").
	Setting string
	// Timeout bounds one delivery; zero means TimeoutDefault.
	Timeout time.Duration
	// Policy is the egress policy the receiver is reached through; nil applies the default.
	Policy *egress.Policy
}

// maxResponseHeaderBytes bounds a receiver's response headers; a longer answer is no answer.
const maxResponseHeaderBytes = 64 << 10

// Client posts events to one receiver. It is safe for concurrent use.
type Client struct {
	url     string
	host    string
	timeout time.Duration
	policy  *egress.Policy
	client  *http.Client
}

// New returns a client of cfg.URL, or an error naming cfg.Setting when the URL is not an http or
// https URL with a host; the error never quotes the URL.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, fmt.Errorf("%s: must be an http or https URL with a host, such as https://siem.example.com/events", cfg.Setting)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("%s: the timeout must not be negative", cfg.Setting)
	}
	policy := cfg.Policy
	if policy == nil {
		policy = &egress.Policy{}
	}
	timeout := cmp.Or(cfg.Timeout, TimeoutDefault)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = policy.Dialer(timeout).DialContext
	transport.Proxy = nil // the policy would see only the proxy
	// A receiver's headers are read whole before its status: the default (10 MB) would let a
	// hostile one hold that much per post in flight.
	transport.MaxResponseHeaderBytes = maxResponseHeaderBytes
	return &Client{
		url: cfg.URL, host: u.Host, timeout: timeout, policy: policy,
		client: &http.Client{
			Transport: transport,
			// A redirect is not an acceptance: followed, a 302 would turn the POST into a GET
			// of, say, a login page whose 200 would count the event as delivered.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// Host returns the receiver's host and port, which may be logged (the URL may not).
func (c *Client) Host() string { return c.host }

// Refused returns the policy's *egress.DeniedError when the URL's host is an address the egress
// policy refuses, so that a setting that can never work fails at startup; nil otherwise. A host
// name is judged only when dialled, on the address it resolves to then.
func (c *Client) Refused() error {
	u, _ := url.Parse(c.url) // New parsed it
	if a, err := netip.ParseAddr(u.Hostname()); err == nil {
		return c.policy.Check(a)
	}
	return nil
}

// Error says why the receiver did not accept an event.
type Error struct {
	// Status is the receiver's HTTP status; 0 when it did not answer.
	Status int
	// Err is why there was no answer or no request; nil when the receiver answered.
	Err error
	// RetryAfter is how long the receiver asked to be left alone (Retry-After in seconds, with
	// a 429 or a 503); 0 when it did not say.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return fmt.Sprintf("the sink answered %d", e.Status)
}

func (e *Error) Unwrap() error { return e.Err }

// Post posts ev in binary content mode and returns nil when the receiver accepts it with a 2xx;
// otherwise an *Error.
func (c *Client) Post(ctx context.Context, ev cloudevents.Event) error {
	_, err := c.Send(ctx, ev, nil)
	return err
}

// Answer is a receiver's acceptance of an event: its status and headers, for a receiver whose
// acceptance is a promise (an OpenFaaS gateway's 202 with the X-Call-Id it will call back with).
type Answer struct {
	Status int
	Header http.Header
}

// Send is Post with header added to the request (an OpenFaaS X-Callback-Url), returning the
// receiver's answer when it accepts the event with a 2xx; otherwise an *Error.
func (c *Client) Send(ctx context.Context, ev cloudevents.Event, header http.Header) (Answer, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, nil)
	if err != nil {
		return Answer{}, &Error{Err: errors.New("build the request")}
	}
	if err := cehttp.WriteRequest(binding.WithForceBinary(ctx), binding.ToMessage(&ev), req); err != nil {
		return Answer{}, &Error{Err: fmt.Errorf("encode the event: %w", err)}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.client.Do(req)
	if err != nil {
		// A *url.Error quotes the URL, whose path or query may hold the receiver's token.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return Answer{}, &Error{Err: err}
	}
	defer resp.Body.Close()
	// Read a little of the body so the connection can serve the next event.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Answer{}, &Error{Status: resp.StatusCode, RetryAfter: RetryAfter(resp.StatusCode, resp.Header)}
	}
	return Answer{Status: resp.StatusCode, Header: resp.Header}, nil
}

// MaxRetryAfter is the longest Retry-After taken from an answer.
const MaxRetryAfter = 24 * time.Hour

// RetryAfter returns how long an answer with status and header asks to be left alone: its
// Retry-After in whole seconds, at most a day, with a 429 or a 503; 0 otherwise.
func RetryAfter(status int, header http.Header) time.Duration {
	if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
		return 0
	}
	// Compared before it is multiplied: a huge value would overflow into a short or negative wait.
	if n, err := strconv.ParseInt(header.Get("Retry-After"), 10, 64); err == nil && n > 0 {
		if n >= int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		return time.Duration(n) * time.Second
	}
	return 0
}

// CloseIdleConnections closes the connections kept for the next event.
func (c *Client) CloseIdleConnections() { c.client.CloseIdleConnections() }

// Backoff returns the wait after the n-th failure in a row (n ≥ 1): first, doubled for each
// failure after the first, at most limit.
func Backoff(n int, first, limit time.Duration) time.Duration {
	d := first
	for i := 1; i < n && d > 0 && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

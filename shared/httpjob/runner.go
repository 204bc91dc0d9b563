// Package httpjob runs the HTTP request of an http job and reports the outcome: status code,
// duration and a bounded, printable excerpt of the response body.
package httpjob

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jonboulle/clockwork"
	"go.opentelemetry.io/otel/trace"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/render"
	"github.com/vecron/vecron/shared/secret"
)

// Defaults of Config.
const (
	ExcerptBytesDefault = 4096
	UserAgentDefault    = "vecron/1"
	// drainBytes is how much of an unread body is consumed so the connection can be reused.
	drainBytes = 64 << 10
)

// Config tunes the runner.
type Config struct {
	ExcerptBytes int    `koanf:"excerpt_bytes" usage:"bytes of the response body kept with an execution"`
	UserAgent    string `koanf:"user_agent" usage:"User-Agent header of job requests"`
	// MaxIdleConnsPerHost sizes the keep-alive pool per target host.
	MaxIdleConnsPerHost int `koanf:"max_idle_conns_per_host" usage:"keep-alive connections kept per target host"`
	// TracerProvider makes the client span of each request; nil makes none and sends no trace
	// context. The function sets it from its tracing, not from settings.
	TracerProvider trace.TracerProvider `koanf:"-"`
	// Propagate sends the client span's traceparent and tracestate to the target
	// (otel.propagate_to_targets).
	Propagate bool `koanf:"-"`
}

// Runner sends job requests.
type Runner struct {
	client *http.Client
	clock  clockwork.Clock
	cfg    Config
	tracer trace.Tracer // nil: no spans
}

// DefaultConfig returns the configuration zero fields fall back to.
func DefaultConfig() Config { return Config{}.withDefaults() }

func (c Config) withDefaults() Config {
	c.ExcerptBytes = cmp.Or(c.ExcerptBytes, ExcerptBytesDefault)
	c.UserAgent = cmp.Or(c.UserAgent, UserAgentDefault)
	// As many as the executor runs at once (pull.concurrency), so a burst to one target reuses
	// connections instead of opening and closing them.
	c.MaxIdleConnsPerHost = cmp.Or(c.MaxIdleConnsPerHost, 256)
	return c
}

// New returns a runner with its own connection pool, timing requests by clock, connecting only
// where policy allows.
func New(clock clockwork.Clock, cfg Config, policy *egress.Policy) *Runner {
	cfg = cfg.withDefaults()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = cfg.MaxIdleConnsPerHost
	tr.MaxIdleConns = 4 * tr.MaxIdleConnsPerHost
	tr.DialContext = policy.Dialer(30 * time.Second).DialContext
	// A proxy from the environment would receive every request, and the policy would only see
	// the proxy's address: jobs connect directly.
	tr.Proxy = nil
	r := &Runner{client: &http.Client{Transport: tr, CheckRedirect: checkRedirect}, clock: clock, cfg: cfg}
	if cfg.TracerProvider != nil {
		r.tracer = cfg.TracerProvider.Tracer(tracerName)
	}
	return r
}

type redirectsKey struct{}

// checkRedirect follows a redirect only as far as the job allows (its count travels in the
// request's context), and leaves credentials behind when the host changes. Each hop dials
// through the egress policy like the first request, and goes only where every bound secret the
// request carries may go.
func checkRedirect(req *http.Request, via []*http.Request) error {
	max, _ := req.Context().Value(redirectsKey{}).(int)
	if len(via) > max {
		return http.ErrUseLastResponse
	}
	if err := secret.CheckDestination(req.Context(), hostPort(req.URL)); err != nil {
		return err
	}
	if !strings.EqualFold(req.URL.Host, via[0].URL.Host) {
		for k := range req.Header {
			if domain.SensitiveHeader(k) {
				req.Header.Del(k)
			}
		}
	}
	return nil
}

// Close releases idle connections.
func (r *Runner) Close() { r.client.CloseIdleConnections() }

// Run sends d's request once; ctx carries the attempt's deadline. It never returns an error: a
// failure is a result.
func (r *Runner) Run(ctx context.Context, d event.Due) domain.RunResult {
	spec := d.HTTP
	if spec == nil {
		return domain.RunResult{Status: domain.StatusFailed, Permanent: true, Reason: domain.FailOther, Error: "job has no http spec"}
	}
	method := cmp.Or(strings.ToUpper(spec.Method), http.MethodGet)
	var body io.Reader
	if spec.Body != "" {
		body = strings.NewReader(spec.Body)
	}
	req, err := http.NewRequestWithContext(context.WithValue(ctx, redirectsKey{}, spec.FollowRedirects), method, spec.URL, body)
	if err != nil {
		return domain.RunResult{Status: domain.StatusFailed, Permanent: true, Reason: domain.FailOther, Error: "build request: " + describe(err)}
	}
	for k, v := range spec.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Idempotency-Key", d.IdempotencyKey)
	req.Header.Set("User-Agent", r.cfg.UserAgent)
	req.Header.Set("X-Vecron-Job-Id", d.JobID)
	req.Header.Set("X-Vecron-Scheduled-At", d.ScheduledAt.UTC().Format(time.RFC3339Nano))

	span := r.startSpan(ctx, req)
	res := r.send(req, method, spec.FollowRedirects)
	endSpan(ctx, span, res)
	return res
}

// send sends req and reads its answer.
func (r *Runner) send(req *http.Request, method string, followRedirects int) domain.RunResult {
	start := r.clock.Now()
	resp, err := r.client.Do(req)
	if err != nil {
		res := domain.RunResult{Status: domain.StatusFailed, Duration: r.clock.Since(start), Error: method + " request: " + describe(err),
			Reason: transportReason(err)}
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			res.Status = domain.StatusTimedOut
		case permanentTransportError(err):
			res.Permanent = true
		}
		if d, ok := egress.Denied(err); ok {
			// Said plainly, and nothing else: whether something listens there stays unknown.
			res.Status, res.Permanent, res.Error = domain.StatusFailed, true, method+" request: "+d.Error()
			res.Reason = domain.FailEgressDenied
		}
		if b := (*secret.BindingError)(nil); errors.As(err, &b) {
			res.Status, res.Permanent, res.Error = domain.StatusFailed, true, method+" request: redirect not followed: "+b.Error()
			res.Reason = domain.FailEgressDenied
		}
		return res
	}
	excerpt, readErr := io.ReadAll(io.LimitReader(resp.Body, int64(r.cfg.ExcerptBytes)))
	_, _ = io.CopyN(io.Discard, resp.Body, drainBytes)
	resp.Body.Close()
	res := domain.RunResult{
		HTTPStatus: resp.StatusCode,
		Excerpt:    printable(excerpt),
		Duration:   r.clock.Since(start),
		Status:     domain.StatusSucceeded,
	}
	switch {
	case readErr != nil && errors.Is(readErr, context.DeadlineExceeded):
		res.Status, res.Error, res.Reason = domain.StatusTimedOut, "read response: "+describe(readErr), domain.FailTimeout
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		res.Status, res.Error = domain.StatusFailed, fmt.Sprintf("target answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		res.Reason = domain.FailHTTPStatus
		res.Permanent = PermanentStatus(resp.StatusCode)
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			// Asking again gets the same redirect.
			res.Permanent = true
			res.Error += fmt.Sprintf("; the job follows %d redirects (http.follow_redirects)", followRedirects)
		}
		res.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), r.clock.Now())
	}
	return res
}

// Target names the host d's request goes to, as "host:port", for its circuit breaker; "" when
// the URL does not parse (the attempt then fails on its own).
func (r *Runner) Target(d event.Due) string {
	if d.HTTP == nil {
		return ""
	}
	u, err := url.Parse(d.HTTP.URL)
	if err != nil {
		return ""
	}
	return hostPort(u)
}

// hostPort names u's destination as "host:port"; "" when u has no host.
func hostPort(u *url.URL) string {
	if u.Host == "" {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// PermanentStatus reports whether an answer with HTTP status code will not change on a retry:
// a 4xx says the request is wrong, except 408 (the target timed out) and 429 (it is busy).
func PermanentStatus(code int) bool {
	return code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests
}

// permanentTransportError reports whether a request failed in a way a retry cannot fix: the URL
// is unusable or the target's certificate does not verify.
func permanentTransportError(err error) bool {
	if tlsError(err) {
		return true // includes an http:// server behind an https:// URL
	}
	msg := err.Error()
	return strings.Contains(msg, "unsupported protocol scheme") || strings.Contains(msg, "no Host in request URL") ||
		strings.Contains(msg, "invalid URL")
}

// transportReason names why a request got no answer. The egress and secret-binding refusals are
// named by Run itself, which checks them last.
func transportReason(err error) domain.FailReason {
	var (
		nerr      net.Error
		alert     tls.AlertError
		echReject *tls.ECHRejectionError
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &nerr) && nerr.Timeout():
		return domain.FailTimeout
	case errors.Is(err, context.Canceled):
		// The executor took the attempt back; it counts that as interrupted, not as the target's failure.
		return domain.FailOther
	case tlsError(err), errors.As(err, &alert), errors.As(err, &echReject),
		// net/http replaces the RecordHeaderError of a plain server with an error of its own.
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return domain.FailTLS
	case permanentTransportError(err):
		return domain.FailOther // the URL itself is unusable
	}
	// Refused, reset, unreachable, a name that does not resolve, a connection closed before the
	// answer: the target could not be reached or kept.
	return domain.FailConnect
}

// tlsError reports whether err is the target's certificate not verifying, or TLS spoken to a
// server that does not speak it.
func tlsError(err error) bool {
	var (
		hostErr   x509.HostnameError
		unknownCA x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		verifyErr *tls.CertificateVerificationError
		recordErr tls.RecordHeaderError
	)
	return errors.As(err, &hostErr) || errors.As(err, &unknownCA) || errors.As(err, &invalid) ||
		errors.As(err, &verifyErr) || errors.As(err, &recordErr)
}

// retryAfter reads a Retry-After header: seconds or an HTTP date. It returns 0 when absent or
// unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// describe renders err without the request URL, which may carry credentials or tokens.
func describe(err error) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	return err.Error()
}

// printable makes b storable as text: valid UTF-8 without NUL bytes. A multi-byte rune the
// length limit cut at the end is dropped; any other invalid byte becomes U+FFFD.
func printable(b []byte) string {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if b[i] >= utf8.RuneSelf && !utf8.FullRune(b[i:]) {
				b = b[:i]
			}
			break
		}
	}
	return strings.ReplaceAll(strings.ToValidUTF8(string(b), "\uFFFD"), "\x00", "")
}

// Render fills the templates of d's request — URL, header values, body — from c, and returns the
// event with the filled request; errors name the field.
func (r *Runner) Render(d event.Due, c *render.Context) (event.Due, error) {
	if d.HTTP == nil {
		return d, nil
	}
	spec := *d.HTTP
	var err error
	if spec.URL, err = render.Render("http.url", spec.URL, c); err != nil {
		return d, err
	}
	if len(spec.Headers) > 0 {
		headers := make(map[string]string, len(spec.Headers))
		for k, v := range spec.Headers {
			if headers[k], err = render.Render("http.headers."+k, v, c); err != nil {
				return d, err
			}
		}
		spec.Headers = headers
	}
	if spec.Body, err = render.Render("http.body", spec.Body, c); err != nil {
		return d, err
	}
	d.HTTP = &spec
	return d, nil
}

// Package otlp sends spans to an OpenTelemetry collector over OTLP/HTTP in the protobuf
// encoding. It is vecron's own exporter, written on protowire rather than on the generated
// OTLP types: those bring the protobuf reflection runtime and, with otlptracehttp, gRPC — some
// 5 MiB a binary for what is here a few hundred lines (docs/observability.md §3, §5).
//
// The collector is reached through the egress policy, like every other configured endpoint,
// and the headers it is given (an API key) appear in no log line and no error.
package otlp

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/metric"
)

// TimeoutDefault bounds one export, its retries included.
const TimeoutDefault = 10 * time.Second

// Setting names the endpoint's setting in errors.
const Setting = "otel.endpoint"

// The waits between attempts when the collector does not say how long to wait.
const (
	backoffFirst = 250 * time.Millisecond
	backoffLimit = 4 * time.Second
	// retryAfterLimit caps what a collector may ask: more than a timeout's worth is the same
	// as giving up, which the deadline decides anyway.
	retryAfterLimit = time.Minute
)

// Config configures an Exporter.
type Config struct {
	// Endpoint is the collector's OTLP/HTTP base URL (http://otel-collector:4318); spans go to
	// its path /v1/traces.
	Endpoint string
	// Headers are added to every request (an API key). They are never logged nor quoted.
	Headers map[string]string
	// Timeout bounds one export, retries included; zero means TimeoutDefault.
	Timeout time.Duration
	// Policy is the egress policy the collector is reached through; nil applies the default.
	Policy *egress.Policy
	// Registry counts exported spans and failed exports; nil counts nothing.
	Registry *metric.Registry
	// Clock times the waits between retries; nil is the real clock.
	Clock clockwork.Clock
}

// Exporter is an sdktrace.SpanExporter posting to one collector. It is safe for concurrent use.
type Exporter struct {
	url      string
	headers  http.Header
	timeout  time.Duration
	client   *http.Client
	clock    clockwork.Clock
	exported *metric.Counter
	failures *metric.Counter
	// writers holds idle *gzip.Writer.
	writers sync.Pool

	mu     sync.Mutex
	closed bool
}

var _ sdktrace.SpanExporter = (*Exporter)(nil)

// New returns an exporter to cfg.Endpoint, or an error naming otel.endpoint when it is not an
// http or https URL with a host, or when its host is an address the egress policy refuses (a
// collector that can never be reached fails the start, not every export; a host name is judged
// on the address it resolves to, at each connection). Errors never quote the URL or a header.
func New(cfg Config) (*Exporter, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, fmt.Errorf("%s: must be an http or https URL with a host, such as http://otel-collector:4318", Setting)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s: must not hold a user or password; put credentials in otel.headers", Setting)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("otel.timeout: must not be negative")
	}
	policy := cfg.Policy
	if policy == nil {
		policy = &egress.Policy{}
	}
	if a, err := netip.ParseAddr(u.Hostname()); err == nil {
		if err := policy.Check(a); err != nil {
			return nil, fmt.Errorf("%s: %w; allow the collector's address with egress.allow", Setting, err)
		}
	}
	headers := http.Header{}
	for k, v := range cfg.Headers {
		if !validHeaderName(k) {
			// Never quote it: an entry written "Authorization: Basic …=" puts its credential
			// in what looks like the key.
			return nil, errors.New("otel.headers: an entry's name is not a header name; write each as name=value")
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, fmt.Errorf("otel.headers: the value of %s holds a line break", k)
		}
		headers.Set(k, v)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	timeout := cmp.Or(cfg.Timeout, TimeoutDefault)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = policy.Dialer(timeout).DialContext
	transport.Proxy = nil // the policy would see only the proxy
	e := &Exporter{
		url: u.String(), headers: headers, timeout: timeout,
		clock: cmp.Or[clockwork.Clock](cfg.Clock, clockwork.NewRealClock()),
		client: &http.Client{
			Transport: transport,
			// A redirect could carry the headers' API key somewhere else.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	if e.exported, err = cfg.Registry.Counter(metric.OtelSpansExported); err != nil {
		return nil, err
	}
	if e.failures, err = cfg.Registry.Counter(metric.OtelExportFailures); err != nil {
		return nil, err
	}
	return e, nil
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range k {
		if c > 0x7e || c <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c) {
			return false
		}
	}
	return textproto.CanonicalMIMEHeaderKey(k) != ""
}

// StatusError says the collector refused an export.
type StatusError struct {
	// Status is the collector's HTTP status.
	Status int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("otlp export: the collector answered %d", e.Status)
}

// ErrShutdown is returned by ExportSpans after Shutdown.
var ErrShutdown = errors.New("otlp export: the exporter is shut down")

// ExportSpans sends spans in one request, retrying while the collector answers 429, 502, 503 or
// 504 (waiting what its Retry-After says) or cannot be reached, until otel.timeout or ctx ends.
// Any other answer than 2xx is final: the error is a *StatusError.
func (e *Exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return ErrShutdown
	}
	body, err := e.gzipped(Encode(spans))
	if err != nil {
		e.failures.Inc()
		return err
	}
	if err := e.send(ctx, body); err != nil {
		e.failures.Inc()
		return err
	}
	e.exported.Add(float64(len(spans)))
	return nil
}

// gzipped compresses b at gzip.BestSpeed: spans are repetitive enough that the fastest level
// keeps most of the gain, for a fraction of the default level's CPU. The writers are reused: a
// new one allocates its compressor's tables, some 800 KB an export.
func (e *Exporter) gzipped(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(b) / 4)
	zw, _ := e.writers.Get().(*gzip.Writer)
	if zw == nil {
		// A valid level: no error.
		zw, _ = gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	}
	defer e.writers.Put(zw)
	zw.Reset(&buf)
	if _, err := zw.Write(b); err != nil {
		return nil, fmt.Errorf("otlp export: compress: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("otlp export: compress: %w", err)
	}
	return buf.Bytes(), nil
}

func (e *Exporter) send(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	for n := 1; ; n++ {
		wait, err := e.post(ctx, body)
		if err == nil {
			return nil
		}
		if wait < 0 {
			return err
		}
		if wait == 0 {
			wait = backoff(n)
		}
		if dl, ok := ctx.Deadline(); ok && e.clock.Until(dl) < wait {
			return fmt.Errorf("%w; no time left within otel.timeout to retry after %s", err, wait)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; gave up: %w", err, context.Cause(ctx))
		case <-e.clock.After(wait):
		}
	}
}

// post makes one attempt. It returns the wait before the next one: -1 for none (final),
// 0 when the collector did not say.
func (e *Exporter) post(ctx context.Context, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return -1, errors.New("otlp export: build the request")
	}
	for k, v := range e.headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := e.client.Do(req)
	if err != nil {
		// A *url.Error quotes the URL; the cause alone is enough and quotes nothing.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		if _, refused := egress.Denied(err); refused {
			return -1, fmt.Errorf("otlp export: %s: %w", Setting, err)
		}
		if ctx.Err() != nil {
			return -1, fmt.Errorf("otlp export: %w", err)
		}
		return 0, fmt.Errorf("otlp export: %w", err)
	}
	defer resp.Body.Close()
	// Drain a little so the connection serves the next export.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		return 0, nil
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusBadGateway,
		resp.StatusCode == http.StatusServiceUnavailable, resp.StatusCode == http.StatusGatewayTimeout:
		return retryAfter(resp.Header.Get("Retry-After"), e.clock.Now()), &StatusError{Status: resp.StatusCode}
	}
	return -1, &StatusError{Status: resp.StatusCode}
}

// retryAfter reads Retry-After in seconds or as an HTTP date; 0 when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		if n <= 0 {
			return 0
		}
		return min(time.Duration(n)*time.Second, retryAfterLimit)
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), retryAfterLimit)
	}
	return 0
}

// backoff returns the wait after the n-th failed attempt (n ≥ 1).
func backoff(n int) time.Duration {
	d := backoffFirst
	for i := 1; i < n && d < backoffLimit; i++ {
		d *= 2
	}
	return min(d, backoffLimit)
}

// Shutdown makes later exports fail and closes idle connections. The batch processor calls it
// after its last export.
func (e *Exporter) Shutdown(context.Context) error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.client.CloseIdleConnections()
	return nil
}

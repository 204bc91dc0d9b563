package otlp_test

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/telemetry/otlp"
	"github.com/vecron/vecron/shared/testenv"
)

// receiver is an OTLP/HTTP collector: it decodes every request with the official generated
// types, and answers with the statuses it is told to, then 200.
type receiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	answers  []answer
	requests []*http.Request
	bodies   []*coltracepb.ExportTraceServiceRequest
	errs     []error
}

type answer struct {
	status     int
	retryAfter string
}

func newReceiver(t *testing.T, answers ...answer) *receiver {
	t.Helper()
	r := &receiver{answers: answers}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	decoded, err := decode(req)
	r.mu.Lock()
	r.requests = append(r.requests, req)
	r.bodies = append(r.bodies, decoded)
	if err != nil {
		r.errs = append(r.errs, err)
	}
	a := answer{status: http.StatusOK}
	if len(r.answers) > 0 {
		a, r.answers = r.answers[0], r.answers[1:]
	}
	r.mu.Unlock()
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(a.status)
}

func decode(req *http.Request) (*coltracepb.ExportTraceServiceRequest, error) {
	if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" {
		return nil, errors.New("not POST /v1/traces: " + req.Method + " " + req.URL.Path)
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		return nil, errors.New("content type " + ct)
	}
	if req.Header.Get("Content-Encoding") != "gzip" {
		return nil, errors.New("not gzipped")
	}
	zr, err := gzip.NewReader(req.Body)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	var out coltracepb.ExportTraceServiceRequest
	return &out, proto.Unmarshal(b, &out)
}

func (r *receiver) seen() (int, []*http.Request, []*coltracepb.ExportTraceServiceRequest, []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.requests), r.requests, r.bodies, r.errs
}

func someSpans(t *testing.T) []sdktrace.ReadOnlySpan {
	t.Helper()
	return record(t, resource.NewSchemaless(attribute.String("service.name", "execute-http")), func(tp trace.TracerProvider) {
		ctx, s := tp.Tracer("t").Start(context.Background(), "process vecron.due.http", trace.WithAttributes(everyType()...))
		_, c := tp.Tracer("t").Start(ctx, "GET")
		c.End()
		s.End()
	})
}

func newExporter(t *testing.T, url string, mod func(*otlp.Config)) *otlp.Exporter {
	t.Helper()
	cfg := otlp.Config{Endpoint: url, Policy: egress.LoopbackPolicy(), Timeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	e, err := otlp.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Shutdown(context.Background()) })
	return e
}

func TestExportPostsWhatTheCollectorDecodes(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	reg, err := metric.New(metric.Config{Function: "execute-http"})
	require.NoError(t, err)
	e := newExporter(t, rcv.srv.URL+"/", func(c *otlp.Config) {
		c.Headers = map[string]string{"Authorization": "Bearer s3cret-key", "x-tenant": "bank"}
		c.Registry = reg
	})
	spans := someSpans(t)
	require.NoError(t, e.ExportSpans(t.Context(), spans))

	n, reqs, bodies, errs := rcv.seen()
	require.Equal(t, 1, n)
	require.Empty(t, errs)
	require.Equal(t, "Bearer s3cret-key", reqs[0].Header.Get("Authorization"))
	require.Equal(t, "bank", reqs[0].Header.Get("X-Tenant"))
	requireSameSpans(t, spans, bodies[0])

	exported, err := reg.Counter(metric.OtelSpansExported)
	require.NoError(t, err)
	require.InDelta(t, 2, testutil.ToFloat64(exported), 0)
	failures, err := reg.Counter(metric.OtelExportFailures)
	require.NoError(t, err)
	require.InDelta(t, 0, testutil.ToFloat64(failures), 0)
}

func TestExportRetriesWhenTheCollectorAsksTo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		answers []answer
	}{
		{"ServiceUnavailableWithRetryAfter", []answer{{status: 503, retryAfter: "1"}}},
		{"TooManyRequestsWithoutRetryAfter", []answer{{status: 429}, {status: 429}}},
		{"BadGateway", []answer{{status: 502, retryAfter: "0"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rcv := newReceiver(t, tc.answers...)
			e := newExporter(t, rcv.srv.URL, nil)
			require.NoError(t, e.ExportSpans(t.Context(), someSpans(t)))
			n, _, bodies, errs := rcv.seen()
			require.Empty(t, errs)
			require.Equal(t, len(tc.answers)+1, n, "one request per answer, then the accepted one")
			require.True(t, proto.Equal(bodies[0], bodies[n-1]), "a retry sends the same spans")
		})
	}
}

func TestExportDoesNotRetryARefusal(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, answer{status: http.StatusBadRequest})
	reg, err := metric.New(metric.Config{Function: "tick"})
	require.NoError(t, err)
	e := newExporter(t, rcv.srv.URL, func(c *otlp.Config) {
		c.Headers = map[string]string{"Authorization": "Bearer s3cret-key"}
		c.Registry = reg
	})
	err = e.ExportSpans(t.Context(), someSpans(t))
	var se *otlp.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusBadRequest, se.Status)
	require.NotContains(t, err.Error(), "s3cret")
	n, _, _, _ := rcv.seen()
	require.Equal(t, 1, n)
	failures, err := reg.Counter(metric.OtelExportFailures)
	require.NoError(t, err)
	require.InDelta(t, 1, testutil.ToFloat64(failures), 0)
}

// A collector that keeps asking for more time than otel.timeout leaves is given up on.
func TestExportGivesUpWithinTheTimeout(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, answer{status: 503, retryAfter: "30"}, answer{status: 503, retryAfter: "30"})
	e := newExporter(t, rcv.srv.URL, func(c *otlp.Config) { c.Timeout = 2 * time.Second })
	err := e.ExportSpans(t.Context(), someSpans(t))
	var se *otlp.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, 503, se.Status)
	require.Contains(t, err.Error(), "otel.timeout")
	n, _, _, _ := rcv.seen()
	require.Equal(t, 1, n)
}

func TestExportErrorsQuoteNeitherURLNorHeaders(t *testing.T) {
	t.Parallel()
	// Nobody listens: the connection is refused, retried, and given up on at the timeout.
	url := "http://" + testenv.RefusedAddr(t).String() + "/tenant-token-in-path"
	e := newExporter(t, url, func(c *otlp.Config) {
		c.Timeout = 600 * time.Millisecond
		c.Headers = map[string]string{"Authorization": "Bearer s3cret-key"}
	})
	err := e.ExportSpans(t.Context(), someSpans(t))
	require.Error(t, err)
	require.NotContains(t, err.Error(), "tenant-token")
	require.NotContains(t, err.Error(), "s3cret")
}

func TestNewChecksTheEndpoint(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, endpoint string
		policy         *egress.Policy
		headers        map[string]string
		want           string
	}{
		{"CloudMetadata", "http://169.254.169.254:4318", egress.LoopbackPolicy(), nil, "otel.endpoint: egress policy refuses 169.254.169.254"},
		{"LoopbackByDefault", "http://127.0.0.1:4318", nil, nil, "otel.endpoint: egress policy refuses 127.0.0.1"},
		{"NotAURL", "otel-collector:4318", nil, nil, "otel.endpoint: must be an http or https URL"},
		{"UserInURL", "http://user:pa55@collector:4318", nil, nil, "otel.endpoint: must not hold a user"},
		{"BadHeaderName", "http://collector:4318", nil, map[string]string{"bad header": "x"}, "otel.headers:"},
		{"HeaderValueWithNewline", "http://collector:4318", nil, map[string]string{"X-Key": "a\r\nb"}, "otel.headers: the value of X-Key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := otlp.New(otlp.Config{Endpoint: tc.endpoint, Policy: tc.policy, Headers: tc.headers})
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "pa55")
		})
	}
}

// Through the SDK's batch processor: what ended is counted, then exported.
func TestBatchProcessorThroughTheExporter(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	reg, err := metric.New(metric.Config{Function: "api"})
	require.NoError(t, err)
	e := newExporter(t, rcv.srv.URL, func(c *otlp.Config) { c.Registry = reg })
	counting, err := otlp.NewCountingProcessor(sdktrace.NewBatchSpanProcessor(e), reg)
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(counting), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	for range 11 {
		_, s := tp.Tracer("t").Start(t.Context(), "vecron.fire")
		s.End()
	}
	require.NoError(t, tp.Shutdown(t.Context()))

	ended, err := reg.Counter(metric.OtelSpansEnded)
	require.NoError(t, err)
	exported, err := reg.Counter(metric.OtelSpansExported)
	require.NoError(t, err)
	require.InDelta(t, 11, testutil.ToFloat64(ended), 0)
	require.InDelta(t, 11, testutil.ToFloat64(exported), 0)
	_, _, bodies, errs := rcv.seen()
	require.Empty(t, errs)
	got := 0
	for _, b := range bodies {
		for _, rs := range b.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				got += len(ss.Spans)
			}
		}
	}
	require.Equal(t, 11, got)

	require.ErrorIs(t, e.ExportSpans(t.Context(), someSpans(t)), otlp.ErrShutdown)
}

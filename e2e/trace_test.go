package e2e_test

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// otlpReceiver is an OTLP/HTTP collector for one test: it decodes every export with the
// official OTLP types and keeps each span with the service that sent it.
type otlpReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	spans  []receivedSpan
	bodies [][]byte
}

type receivedSpan struct {
	service string
	*tracepb.Span
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	rc := &otlpReceiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "not an OTLP/HTTP protobuf trace export", http.StatusBadRequest)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.bodies = append(rc.bodies, b)
		for _, rs := range req.GetResourceSpans() {
			service := ""
			for _, a := range rs.GetResource().GetAttributes() {
				if a.GetKey() == "service.name" {
					service = a.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					rc.spans = append(rc.spans, receivedSpan{service: service, Span: s})
				}
			}
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

// trace returns the spans of trace id (hex).
func (rc *otlpReceiver) trace(id string) []receivedSpan {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []receivedSpan
	for _, s := range rc.spans {
		if hex.EncodeToString(s.GetTraceId()) == id {
			out = append(out, s)
		}
	}
	return out
}

func (rc *otlpReceiver) sawText(text string) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, b := range rc.bodies {
		if bytes.Contains(b, []byte(text)) {
			return true
		}
	}
	return false
}

// find returns the one span of spans from service whose name matches.
func find(spans []receivedSpan, service string, match func(string) bool) (receivedSpan, bool) {
	for _, s := range spans {
		if s.service == service && match(s.GetName()) {
			return s, true
		}
	}
	return receivedSpan{}, false
}

func is(name string) func(string) bool { return func(n string) bool { return n == name } }

// TestOneTraceFromRequestToRecord runs the api, the tick and execute-http as processes sending
// traces to a collector the test serves, starts a run by hand, and follows it: one trace holds
// the api's request, the tick's fire and publish, the executor's consume, record, HTTP call and
// finish, each under the right parent across the three processes, and the target received the
// HTTP call's span as its traceparent.
func TestOneTraceFromRequestToRecord(t *testing.T) {
	t.Parallel()
	rc := newOTLPReceiver(t)
	dbURL := testenv.PostgresURL(t)
	_, _, names := testenv.NATS(t)
	redisURL, redisPrefix := testenv.RedisURL(t)
	const secretValue = "q-value-not-for-spans"
	env := []string{
		"DATABASE_URL=" + dbURL, "NATS_URL=" + testenv.NATSURL(t), "VECRON_NATS__PREFIX=" + names.Prefix,
		"VECRON_LOG__FORMAT=text", "VECRON_AUTH__SIGNING_KEYS=" + testfactory.SigningKey(t),
		"VECRON_AUDIT__KEYS=" + testfactory.AuditKey(t),
		"REDIS_URL=" + redisURL, "VECRON_REDIS__PREFIX=" + redisPrefix, "VECRON_EGRESS__ALLOW=127.0.0.0/8,::1/128",
		"VECRON_OTEL__ENDPOINT=" + rc.URL, "VECRON_OTEL__SAMPLE_RATIO=1",
	}
	apiPort, workerPort := testenv.FreePort(t), testenv.FreePort(t)
	startProc(t, "api", env, fmt.Sprintf("--port=%d", apiPort), "--host=127.0.0.1")
	startProc(t, "tick", env, "--port=0")
	startProc(t, "execute-http", env, fmt.Sprintf("--port=%d", workerPort))
	apiURL := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	waitHTTP(t, apiURL+"/readyz")
	signInAsAdmin(t, dbURL, apiURL)
	waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/readyz", workerPort))

	var mu sync.Mutex
	var traceparents []string
	tg := newTargetFunc(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		traceparents = append(traceparents, r.Header.Get("traceparent"))
		mu.Unlock()
	})
	var j domain.Job
	require.Equal(t, http.StatusCreated, postJSON(t, apiURL+"/api/v1/jobs", map[string]any{
		"name": "traced", "schedule": map[string]string{"cron": "0 0 0 1 1 *"},
		"http": map[string]any{"url": tg.URL + "/hook?note=" + secretValue},
	}, &j))
	var run struct {
		ExecutionID string `json:"execution_id"`
	}
	require.Equal(t, http.StatusAccepted, postJSON(t, apiURL+"/api/v1/jobs/"+j.ID+"/trigger", map[string]any{}, &run))
	var e domain.Execution
	testenv.EventuallyWithin(t, 30*time.Second, "the run succeeds", func() bool {
		getJSON(t, apiURL+"/api/v1/executions/"+run.ExecutionID, &e)
		return e.Status.Terminal()
	})
	require.Equal(t, domain.StatusSucceeded, e.Status, e.Error)
	require.Regexp(t, `^[0-9a-f]{32}$`, e.TraceID, "the execution names its trace")

	// The processes export every 2 s: wait for the last step of each.
	var spans []receivedSpan
	var request, fire, publish, consume, record, call, finish receivedSpan
	testenv.EventuallyWithin(t, 30*time.Second, "the fire's spans from the three processes", func() bool {
		spans = rc.trace(e.TraceID)
		var ok [7]bool
		request, ok[0] = find(spans, "api", is("POST /api/v1/jobs/{id}/trigger"))
		fire, ok[1] = find(spans, "tick", is("vecron.fire"))
		publish, ok[2] = find(spans, "tick", func(n string) bool { return strings.HasPrefix(n, "publish ") })
		consume, ok[3] = find(spans, "execute-http", func(n string) bool { return strings.HasPrefix(n, "process ") })
		record, ok[4] = find(spans, "execute-http", is("execution.record"))
		call, ok[5] = find(spans, "execute-http", is("GET"))
		finish, ok[6] = find(spans, "execute-http", is("execution.finish"))
		return ok == [7]bool{true, true, true, true, true, true, true}
	})
	parent := func(child, of receivedSpan) {
		t.Helper()
		require.Equal(t, hex.EncodeToString(of.GetSpanId()), hex.EncodeToString(child.GetParentSpanId()),
			"%s (%s) is a child of %s (%s)", child.GetName(), child.service, of.GetName(), of.service)
	}
	require.Empty(t, request.GetParentSpanId(), "the request is the trace's root")
	parent(fire, request)
	parent(publish, fire)
	parent(consume, fire)
	parent(record, consume)
	parent(call, consume)
	parent(finish, consume)
	require.Equal(t, tracepb.Span_SPAN_KIND_SERVER, request.GetKind())
	require.Equal(t, tracepb.Span_SPAN_KIND_PRODUCER, publish.GetKind())
	require.Equal(t, tracepb.Span_SPAN_KIND_CONSUMER, consume.GetKind())
	require.Equal(t, tracepb.Span_SPAN_KIND_CLIENT, call.GetKind())

	mu.Lock()
	require.Equal(t, []string{"00-" + e.TraceID + "-" + hex.EncodeToString(call.GetSpanId()) + "-01"}, traceparents,
		"the target received the HTTP call's span")
	mu.Unlock()
	require.False(t, rc.sawText(secretValue), "a target's query reached the collector")
}

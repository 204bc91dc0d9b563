package tickfn_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/functions/tick/tickfn"
	"github.com/vecron/vecron/shared/config"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/forward"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// The tick serves its metrics — the lease gauges among them — on the admin address it logs, and
// nothing else there; its health port keeps only the probes.
func TestTickServesMetricsOnlyOnItsAdminListener(t *testing.T) {
	t.Parallel()
	_, _, names := testenv.NATS(t)
	s := tickfn.DefaultSettings()
	require.Equal(t, ":9464", s.Admin.Addr)
	s.Database.URL = testenv.PostgresURL(t)
	s.NATS = queue.ConnConfig{URL: testenv.NATSURL(t), Prefix: names.Prefix}
	s.Redis.URL, s.Redis.KeyPrefix = testenv.RedisURL(t)
	s.Port, s.ShutdownGrace, s.Tick.Instance, s.Admin.Addr = 0, time.Second, "tickfn-test", "127.0.0.1:0"
	logs := testenv.RunFunction(t, func(ctx context.Context, log *slog.Logger) error {
		return tickfn.Run(ctx, clockwork.NewRealClock(), s, log)
	})
	testenv.AdminServesOnlyMetrics(t, "http://"+logs.AdminAddr(t), []string{`vecron_build_info{function="tick"`, "vecron_tick_shards_owned",
		`vecron_db_pool_max_conns 10`, `vecron_queue_publish_errors_total{stream="due"} 0`, `vecron_redis_errors_total{component="lease"} 0`}, []string{"/", "/healthz", "/readyz", "/api/v1/jobs"})
}

// Given a registry, the tick registers its families there and serves no admin listener of its
// own, whatever admin.addr says: its caller (vecron dev) serves the one registry.
func TestTickRegistersIntoTheRegistryItIsGiven(t *testing.T) {
	t.Parallel()
	_, _, names := testenv.NATS(t)
	s := tickfn.DefaultSettings()
	s.Database.URL = testenv.PostgresURL(t)
	s.NATS = queue.ConnConfig{URL: testenv.NATSURL(t), Prefix: names.Prefix}
	s.Redis.URL, s.Redis.KeyPrefix = testenv.RedisURL(t)
	s.Port, s.ShutdownGrace, s.Tick.Instance, s.Admin.Addr = 0, time.Second, "tickfn-test", "127.0.0.1:0"
	reg, err := metric.New(metric.Config{Function: "dev"})
	require.NoError(t, err)
	logs := testenv.RunFunction(t, func(ctx context.Context, log *slog.Logger) error {
		return tickfn.RunIn(ctx, clockwork.NewRealClock(), s, log, reg)
	})
	testenv.Eventually(t, "the tick started", func() bool { return strings.Contains(logs.String(), "tick started") })
	mfs, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]bool{}
	for _, mf := range mfs {
		got[mf.GetName()] = true
	}
	for _, n := range []metric.Name{metric.TickShardsOwned, metric.FiresPublished, metric.TickClaimDuration, metric.OutboxBacklog} {
		require.True(t, got[string(n)], "%s in the registry given", n)
	}
	require.NotContains(t, logs.String(), "admin listening")
}

// With otel.endpoint set, the tick exports through the egress policy and serves the tracing
// counters; a collector address the policy refuses fails the start, naming the setting.
func TestTickTracingSettings(t *testing.T) {
	t.Parallel()
	_, _, names := testenv.NATS(t)
	collector := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(collector.Close)
	settings := func() tickfn.Settings {
		s := tickfn.DefaultSettings()
		s.Database.URL = testenv.PostgresURL(t)
		s.NATS = queue.ConnConfig{URL: testenv.NATSURL(t), Prefix: names.Prefix}
		s.Port, s.ShutdownGrace, s.Tick.Instance, s.Admin.Addr = 0, time.Second, "tickfn-otel-test", "127.0.0.1:0"
		s.OTel.Endpoint = collector.URL
		return s
	}

	denied := settings()
	err := tickfn.Run(t.Context(), clockwork.NewRealClock(), denied, testenv.Logger(t))
	require.ErrorContains(t, err, "otel.endpoint: egress policy refuses 127.0.0.1")

	s := settings()
	s.Egress = egress.Loopback()
	logs := testenv.RunFunction(t, func(ctx context.Context, log *slog.Logger) error {
		return tickfn.Run(ctx, clockwork.NewRealClock(), s, log)
	})
	// Served, whatever their values: every claim, empty or not, is a span the ratio may sample
	// before the scrape.
	testenv.AdminServesOnlyMetrics(t, "http://"+logs.AdminAddr(t),
		[]string{"\nvecron_otel_spans_ended_total ", "\nvecron_otel_spans_exported_total ", "\nvecron_otel_export_failures_total "}, []string{"/"})
}

// Under a SinkBinding (K_SINK) with forward.enabled, the tick posts its due fires to the sink:
// the job's fire arrives there as an io.vecron.job.due CloudEvent in binary mode.
func TestTickForwardsDueFiresToKSink(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	_, _, names := testenv.NATS(t)
	got := make(chan *cloudevents.Event, 100)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case got <- ev:
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(sink.Close)
	s := tickfn.DefaultSettings()
	require.NoError(t, config.FromArgs("tick", nil, []string{"K_SINK=" + sink.URL + "/default/default", "VECRON_FORWARD__ENABLED=true"}, &s, tickfn.Aliases()))
	require.Equal(t, sink.URL+"/default/default", s.Forward.Sink, "K_SINK is forward.sink")
	s.Database.URL = url
	s.NATS = queue.ConnConfig{URL: testenv.NATSURL(t), Prefix: names.Prefix}
	s.Egress = egress.Loopback()
	s.Port, s.ShutdownGrace, s.Tick.Instance, s.Admin.Addr = 0, time.Second, "tickfn-forward-test", "127.0.0.1:0"
	job := testfactory.Job(t, st, testfactory.JobOpts{})
	testenv.RunFunction(t, func(ctx context.Context, log *slog.Logger) error {
		return tickfn.Run(ctx, clockwork.NewRealClock(), s, log)
	})
	select {
	case ev := <-got:
		require.Equal(t, event.TypeJobDue, ev.Type())
		require.Equal(t, job.ID, ev.Subject())
		require.True(t, strings.HasPrefix(ev.ID(), job.ID+":"), "the id is the fire's idempotency key")
	case <-time.After(30 * time.Second):
		t.Fatal("no due fire reached the sink")
	}
}

// With forward.callback_port and forward.callback_url, the tick serves the OpenFaaS gateway's
// callbacks on their own listener: a fire the gateway queued (202 with an X-Call-Id) is settled
// by the gateway's callback to that URL, which the tick takes (204) once the fire is recorded —
// a success reported before is refused (409) and the fire keeps waiting; a second one is refused.
func TestTickTakesOpenFaaSCallbacks(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	callbackURL := "http://127.0.0.1:" + strconv.Itoa(port) + forward.CallbackPath

	type queued struct {
		ev       cloudevents.Event
		callback string
	}
	calls := make(chan queued, 100)
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil || r.URL.Path != "/async-function/vecron-execute-http" {
			http.Error(w, "not an async invocation", http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Call-Id", "call-"+ev.ID())
		w.WriteHeader(http.StatusAccepted)
		calls <- queued{ev: *ev, callback: r.Header.Get("X-Callback-Url")}
	}))
	t.Cleanup(gateway.Close)
	callBack := func(q queued) int {
		req, err := http.NewRequest(http.MethodPost, q.callback, strings.NewReader("ok"))
		require.NoError(t, err)
		req.Header.Set("X-Call-Id", "call-"+q.ev.ID())
		req.Header.Set("X-Function-Status", "200")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}

	s := tickfn.DefaultSettings()
	require.NoError(t, config.FromArgs("tick", nil, []string{"VECRON_FORWARD__ENABLED=true",
		"VECRON_FORWARD__SINKS=http=" + gateway.URL + "/async-function/vecron-execute-http",
		"VECRON_FORWARD__CALLBACK_PORT=" + strconv.Itoa(port), "VECRON_FORWARD__CALLBACK_URL=" + callbackURL,
		"VECRON_FORWARD__CALLBACK_TIMEOUT=1m"}, &s, tickfn.Aliases()))
	require.Equal(t, port, s.Forward.CallbackPort)
	require.Equal(t, time.Minute, s.Forward.CallbackTimeout)
	s.Database.URL = url
	s.NATS = queue.ConnConfig{URL: testenv.NATSURL(t), Prefix: names.Prefix}
	s.Egress = egress.Loopback()
	s.Port, s.ShutdownGrace, s.Tick.Instance, s.Admin.Addr = 0, time.Second, "tickfn-callback-test", "127.0.0.1:0"
	job := testfactory.Job(t, st, testfactory.JobOpts{})
	testenv.RunFunction(t, func(ctx context.Context, log *slog.Logger) error {
		return tickfn.Run(ctx, clockwork.NewRealClock(), s, log)
	})
	var q queued
	select {
	case q = <-calls:
	case <-time.After(30 * time.Second):
		t.Fatal("no fire reached the gateway")
	}
	require.True(t, strings.HasPrefix(q.ev.ID(), job.ID+":"), "the job's fire")
	require.Equal(t, http.StatusConflict, callBack(q), "a success for a fire not recorded")
	due, err := event.ParseDue(q.ev)
	require.NoError(t, err)
	testfactory.Outcome(t, st, job, domain.StatusSucceeded, due.ScheduledAt, time.Millisecond)
	require.Equal(t, http.StatusNoContent, callBack(q), "settled by its callback once recorded")
	require.Equal(t, http.StatusForbidden, callBack(q), "once")
	testenv.Eventually(t, "the fire acknowledged", func() bool {
		c, err := js.Consumer(t.Context(), names.DueStream(), names.DueConsumer(domain.KindHTTP))
		if err != nil {
			return false
		}
		info, err := c.Info(t.Context())
		// Other fires may be posted meanwhile, and wait for callbacks that never come.
		return err == nil && int(info.Delivered.Consumer) > info.NumAckPending
	})
}

// The callback listener is its own: a callback port equal to the health port fails the start.
func TestTickRefusesACallbackPortOnTheHealthPort(t *testing.T) {
	t.Parallel()
	_, _, names := testenv.NATS(t)
	s := tickfn.DefaultSettings()
	s.Database.URL = testenv.PostgresURL(t)
	s.NATS = queue.ConnConfig{URL: testenv.NATSURL(t), Prefix: names.Prefix}
	s.Forward = forward.Config{Enabled: true, Sink: "http://gateway.openfaas:8080/async-function/x", CallbackPort: 8080,
		CallbackURL: "http://vecron-tick.openfaas-fn:8080/forward/callback"}
	s.Port, s.ShutdownGrace, s.Tick.Instance, s.Admin.Addr = 8080, time.Second, "tickfn-callback-port-test", "127.0.0.1:0"
	err := tickfn.Run(t.Context(), clockwork.NewRealClock(), s, testenv.Logger(t))
	require.ErrorContains(t, err, "forward.callback_port: 8080 is the health port")
}

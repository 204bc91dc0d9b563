package tickfn_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/functions/tick/tickfn"
	"github.com/vecron/vecron/shared/config"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
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
	testenv.AdminServesOnlyMetrics(t, "http://"+logs.AdminAddr(t),
		[]string{"vecron_otel_spans_ended_total 0", "vecron_otel_spans_exported_total 0", "vecron_otel_export_failures_total 0"}, []string{"/"})
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

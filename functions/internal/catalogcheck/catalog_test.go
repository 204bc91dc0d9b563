package catalogcheck_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/functions/api/apifn"
	"github.com/vecron/vecron/functions/execute-db/dbfn"
	"github.com/vecron/vecron/functions/execute-http/httpfn"
	"github.com/vecron/vecron/functions/tick/tickfn"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/sqljob"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// Every family of the catalog is registered by one of the four functions once they have
// started: a dashboard panel or an alert rule the catalog allows always has a source.
func TestEveryCatalogFamilyIsServedBySomeFunction(t *testing.T) {
	t.Parallel()
	settings := metric.DefaultSettings()
	settings.Jobs = []string{"default/*"} // the per-job families exist only with a list
	reg, err := metric.New(metric.Config{Function: "dev", Settings: settings})
	require.NoError(t, err)

	dbURL := testenv.PostgresURL(t)
	_, _, names := testenv.NATS(t)
	natsCfg := queue.ConnConfig{URL: testenv.NATSURL(t), Prefix: names.Prefix}
	redisURL, redisPrefix := testenv.RedisURL(t)
	keys, err := secret.NewKey("catalog")
	require.NoError(t, err)
	clock := clockwork.NewRealClock()

	as := apifn.DefaultSettings()
	as.Database.URL, as.Host, as.Port, as.ShutdownGrace, as.Secrets.Keys = dbURL, "127.0.0.1", 0, time.Second, keys
	as.Auth.SigningKeys, as.Audit.Keys = testfactory.SigningKey(t), testfactory.AuditKey(t)
	as.Redis.URL, as.Redis.KeyPrefix = redisURL, redisPrefix
	as.NATS = natsCfg
	// The event sink's family exists where a sink is configured; nothing listens there.
	as.Events.Sink, as.Egress = "http://127.0.0.1:9/events", egress.Loopback()
	ready := make(chan net.Addr, 1)
	testenv.RunFunction(t, func(ctx context.Context, log *slog.Logger) error {
		return apifn.RunIn(ctx, clock, as, log, func(a net.Addr) { ready <- a }, reg)
	})
	select {
	case <-ready:
	case <-time.After(testenv.Timeout(30 * time.Second)):
		t.Fatal("the api did not start")
	}

	ts := tickfn.DefaultSettings()
	ts.Database.URL, ts.NATS, ts.Port, ts.ShutdownGrace, ts.Tick.Instance = dbURL, natsCfg, 0, time.Second, "catalog"
	ts.Redis.URL, ts.Redis.KeyPrefix = redisURL, redisPrefix
	tick := testenv.RunFunction(t, func(ctx context.Context, log *slog.Logger) error { return tickfn.RunIn(ctx, clock, ts, log, reg) })

	hs := httpfn.DefaultSettings()
	hs.Database.URL, hs.NATS, hs.Port, hs.ShutdownGrace, hs.Executor.WorkerID = dbURL, natsCfg, 0, time.Second, "catalog-http"
	hs.Redis.URL, hs.Redis.KeyPrefix, hs.Secrets.Keys, hs.Egress = redisURL, redisPrefix, keys, egress.Loopback()
	hs.Metrics = settings
	http := testenv.RunFunction(t, func(ctx context.Context, log *slog.Logger) error { return httpfn.RunIn(ctx, clock, hs, log, reg) })

	ds := dbfn.DefaultSettings()
	ds.Database.URL, ds.NATS, ds.Port, ds.ShutdownGrace, ds.Executor.WorkerID = dbURL, natsCfg, 0, time.Second, "catalog-db"
	ds.Redis.URL, ds.Redis.KeyPrefix, ds.Secrets.Keys, ds.Egress = redisURL, redisPrefix, keys, egress.Loopback()
	ds.Metrics = settings
	db := testenv.RunFunction(t, func(ctx context.Context, log *slog.Logger) error {
		return dbfn.RunIn(ctx, clock, ds, []sqljob.Dialect{sqljob.Postgres(), sqljob.MySQL()}, log, reg)
	})
	for name, logs := range map[string]*testenv.LogBuffer{"tick started": tick, "execute-http started": http, "execute-db started": db} {
		testenv.EventuallyWithin(t, 30*time.Second, name, func() bool { return strings.Contains(logs.String(), name) })
	}

	registered := map[metric.Name]bool{}
	for _, n := range reg.Names() {
		registered[n] = true
	}
	var missing []string
	for _, d := range metric.Catalog() {
		if !registered[d.Name] {
			missing = append(missing, string(d.Name))
		}
	}
	require.Empty(t, missing, "catalog families no function registers")
}

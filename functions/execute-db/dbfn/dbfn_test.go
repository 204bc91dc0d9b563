package dbfn_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/vecron/vecron/functions/execute-db/dbfn"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/sqljob"
	"github.com/vecron/vecron/shared/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// execute-db serves the families of the parts it leans on: its system database pool, the queue,
// Redis for its breakers, and its target pools by dialect.
func TestExecuteDBServesThePartsFamilies(t *testing.T) {
	t.Parallel()
	_, _, names := testenv.NATS(t)
	s := dbfn.DefaultSettings()
	s.Database.URL = testenv.PostgresURL(t)
	s.NATS = queue.ConnConfig{URL: testenv.NATSURL(t), Prefix: names.Prefix}
	s.Redis.URL, s.Redis.KeyPrefix = testenv.RedisURL(t)
	s.Port, s.ShutdownGrace, s.Executor.WorkerID, s.Admin.Addr = 0, time.Second, "dbfn-test", "127.0.0.1:0"
	logs := testenv.RunFunction(t, func(ctx context.Context, log *slog.Logger) error {
		return dbfn.Run(ctx, clockwork.NewRealClock(), s, []sqljob.Dialect{sqljob.Postgres(), sqljob.MySQL()}, log)
	})
	testenv.AdminServesOnlyMetrics(t, "http://"+logs.AdminAddr(t), []string{
		`vecron_build_info{function="execute-db"`,
		`vecron_db_pool_max_conns 10`,
		`vecron_queue_publish_errors_total{stream="dlq"} 0`,
		`vecron_queue_redeliveries_total{kind="sql"} 0`,
		`vecron_redis_errors_total{component="breaker"} 0`,
		`vecron_sql_target_pools{dialect="mysql"} 0`,
		`vecron_sql_target_wait_seconds_total{dialect="postgres"} 0`,
	}, []string{"/", "/healthz"})
}

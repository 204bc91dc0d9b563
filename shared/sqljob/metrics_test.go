package sqljob_test

import (
	"database/sql"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/sqljob"
	"github.com/vecron/vecron/shared/testenv"
)

// targetSamples returns family name's samples by dialect.
func targetSamples(t *testing.T, reg *metric.Registry, name metric.Name) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != string(name) {
			continue
		}
		for _, m := range mf.GetMetric() {
			v := m.GetGauge().GetValue()
			if m.GetCounter() != nil {
				v = m.GetCounter().GetValue()
			}
			out[m.GetLabel()[0].GetValue()] = v
		}
	}
	return out
}

func TestTargetPoolMetricsAreSummedPerDialect(t *testing.T) {
	t.Parallel()
	app := testenv.Name(t)
	pgTarget := target{driver: domain.DriverPostgres, dsn: testenv.PostgresTargetURL(t) + "&application_name=" + app}
	myTarget := target{driver: domain.DriverMySQL, dsn: testenv.MySQLDSN(t)}
	r := newRunner(t, sqljob.Config{MaxConnsPerTarget: 1, MaxTargets: 1})
	reg, err := metric.New(metric.Config{Function: "execute-db"})
	require.NoError(t, err)
	require.NoError(t, r.RegisterMetrics(reg))

	// Every dialect the runner runs is there from the start, at 0.
	require.Equal(t, map[string]float64{"postgres": 0, "mysql": 0}, targetSamples(t, reg, metric.SQLTargetPools))
	require.Equal(t, map[string]float64{"postgres": 0, "mysql": 0}, targetSamples(t, reg, metric.SQLTargetWait))

	// A job that finds the target's one connection taken waits for it.
	slowDone := make(chan domain.RunResult, 1)
	go func() {
		spec := domain.SQLSpec{Driver: pgTarget.driver, DSN: pgTarget.dsn, Statements: stmts("SELECT pg_sleep(0.5)")}
		slowDone <- r.Run(t.Context(), event.Due{JobID: "slow", Kind: domain.KindSQL, SQL: &spec})
	}()
	pg, err := sql.Open("pgx", testenv.PostgresURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { pg.Close() })
	testenv.Eventually(t, "the slow statement running", func() bool {
		var n int
		return pg.QueryRowContext(t.Context(), "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'", app).Scan(&n) == nil && n == 1
	})
	res, _ := run(t, r, pgTarget, domain.SQLSpec{Statements: stmts("SELECT 1")})
	require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
	slow := <-slowDone
	require.Equal(t, domain.StatusSucceeded, slow.Status, slow.Error)

	require.Equal(t, map[string]float64{"postgres": 1, "mysql": 0}, targetSamples(t, reg, metric.SQLTargetPools))
	require.Equal(t, 1.0, targetSamples(t, reg, metric.SQLTargetOpenConns)["postgres"])
	waited := targetSamples(t, reg, metric.SQLTargetWait)["postgres"]
	require.Positive(t, waited)

	// The PostgreSQL pool makes way for a MariaDB one (sql.max_targets 1): its wait stays counted.
	res, _ = run(t, r, myTarget, domain.SQLSpec{Statements: stmts("SELECT 1")})
	require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
	require.Equal(t, map[string]float64{"postgres": 0, "mysql": 1}, targetSamples(t, reg, metric.SQLTargetPools))
	require.Equal(t, 1.0, targetSamples(t, reg, metric.SQLTargetOpenConns)["mysql"])
	require.Equal(t, waited, targetSamples(t, reg, metric.SQLTargetWait)["postgres"])

	r.Close()
	require.Equal(t, map[string]float64{"postgres": 0, "mysql": 0}, targetSamples(t, reg, metric.SQLTargetPools))
	require.Equal(t, waited, targetSamples(t, reg, metric.SQLTargetWait)["postgres"])
}

package metric

import "github.com/vecron/vecron/shared/domain"

// The families of the parts vecron leans on (docs/observability.md §2, "Health of the parts").
const (
	DBPoolAcquiredConns Name = "vecron_db_pool_acquired_conns"
	DBPoolIdleConns     Name = "vecron_db_pool_idle_conns"
	DBPoolTotalConns    Name = "vecron_db_pool_total_conns"
	DBPoolMaxConns      Name = "vecron_db_pool_max_conns"
	DBPoolAcquire       Name = "vecron_db_pool_acquire_total"
	DBPoolEmptyAcquire  Name = "vecron_db_pool_empty_acquire_total"
	DBPoolAcquireWait   Name = "vecron_db_pool_acquire_wait_seconds_total"
	RedisErrors         Name = "vecron_redis_errors_total"
	SQLTargetPools      Name = "vecron_sql_target_pools"
	SQLTargetOpenConns  Name = "vecron_sql_target_open_conns"
	SQLTargetWait       Name = "vecron_sql_target_wait_seconds_total"
)

// DBPoolFamilies are the families the system database pool's collector reads.
func DBPoolFamilies() []Name {
	return []Name{DBPoolAcquiredConns, DBPoolIdleConns, DBPoolTotalConns, DBPoolMaxConns,
		DBPoolAcquire, DBPoolEmptyAcquire, DBPoolAcquireWait}
}

// SQLTargetFamilies are the families the SQL target pools' collector reads.
func SQLTargetFamilies() []Name { return []Name{SQLTargetPools, SQLTargetOpenConns, SQLTargetWait} }

// RedisComponents are the values of vecron_redis_errors_total's component label: who opened
// the client.
func RedisComponents() []string { return []string{"lease", "breaker", "ratelimit", "login"} }

// Dialects are the values of the dialect label.
func Dialects() []string {
	return []string{domain.DriverPostgres, domain.DriverMySQL, domain.DriverOracle}
}

func partsFamilies() []Desc {
	const pool = "shared/store pool collector, pgxpool.Stat() read on scrape"
	const targets = "shared/sqljob target pools collector, sql.DBStats summed per dialect on scrape"
	dialect := []Label{{Name: "dialect", Values: Dialects()}}
	return []Desc{
		{Name: DBPoolAcquiredConns, Type: TypeGauge, ObservedIn: pool,
			Help: "System database connections in use."},
		{Name: DBPoolIdleConns, Type: TypeGauge, ObservedIn: pool,
			Help: "System database connections open and idle."},
		{Name: DBPoolTotalConns, Type: TypeGauge, ObservedIn: pool,
			Help: "System database connections open, in use or idle (or being opened)."},
		{Name: DBPoolMaxConns, Type: TypeGauge, ObservedIn: pool,
			Help: "The system database pool's bound (database.max_conns)."},
		{Name: DBPoolAcquire, Type: TypeCounter, ObservedIn: pool,
			Help: "Connections taken from the system database pool."},
		{Name: DBPoolEmptyAcquire, Type: TypeCounter, ObservedIn: pool,
			Help: "Connections taken from the system database pool when none was idle: the caller waited for one to open or come back."},
		{Name: DBPoolAcquireWait, Type: TypeCounter, Unit: "seconds", ObservedIn: pool,
			Help: "Time spent waiting for a system database connection when none was idle."},
		{Name: RedisErrors, Type: TypeCounter,
			Help:       "Redis commands that failed (a missing key is not a failure), by the component that sent them.",
			Labels:     []Label{{Name: "component", Values: RedisComponents()}},
			ObservedIn: "shared/redisconn, a go-redis hook on the component's client"},
		{Name: SQLTargetPools, Type: TypeGauge, Labels: dialect, ObservedIn: targets,
			Help: "Target databases of sql jobs with a connection pool open in this executor."},
		{Name: SQLTargetOpenConns, Type: TypeGauge, Labels: dialect, ObservedIn: targets,
			Help: "Connections open to target databases of sql jobs, in use or idle."},
		{Name: SQLTargetWait, Type: TypeCounter, Unit: "seconds", Labels: dialect, ObservedIn: targets,
			Help: "Time sql jobs spent waiting for a connection to their target database (sql.max_conns_per_target reached)."},
	}
}

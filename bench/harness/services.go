package harness

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"

	"github.com/jackc/pgx/v5"
	psnet "github.com/shirou/gopsutil/v4/net"
	ps "github.com/shirou/gopsutil/v4/process"
)

// Names of the service groups whose CPU counts towards a run's CPU per fire.
const (
	groupPostgresBackends   = "postgres backends"
	groupPostgresBackground = "postgres background"
	groupNATS               = "nats-server"
	groupRedis              = "redis-server"
)

// postgresWatch finds the PostgreSQL processes that work for a run and reads the server's WAL
// statistics. It owns one connection, named so that its own backend is not counted, used by
// the sampler's goroutine and the run's, one at a time.
type postgresWatch struct {
	mu         sync.Mutex
	conn       *pgx.Conn
	postmaster int
}

func watchPostgres(ctx context.Context, databaseURL string) (*postgresWatch, error) {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams["application_name"] = "vecron-bench-sampler"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	w := &postgresWatch{conn: conn}
	var backend int
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	// Every backend is a child of the postmaster; a server on another machine has no such
	// process here, and then only what this machine runs is counted.
	if p, err := ps.NewProcessWithContext(ctx, int32(backend)); err == nil {
		if ppid, err := p.PpidWithContext(ctx); err == nil {
			w.postmaster = int(ppid)
		}
	}
	return w, nil
}

// walBytes is how much WAL the server has written since its statistics were last reset: the
// difference of two readings is the write work between them, whoever did it.
func (w *postgresWatch) walBytes(ctx context.Context) (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var n int64
	err := w.conn.QueryRow(ctx, "SELECT wal_bytes::bigint FROM pg_stat_wal").Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("read pg_stat_wal: %w", err)
	}
	return n, nil
}

// backends is the group of the client backends serving connections named app: the run's own
// share of the server, whoever else uses it.
func (w *postgresWatch) backends(app string) group {
	return group{name: groupPostgresBackends, pids: func(ctx context.Context) []int {
		return w.pids(ctx, "SELECT pid FROM pg_stat_activity WHERE application_name = $1", app)
	}}
}

// background is the group of the server's own processes (postmaster, WAL writer, checkpointer,
// background writer, autovacuum): they work for every database on the server, so what else
// runs on it counts here too.
func (w *postgresWatch) background() group {
	return group{name: groupPostgresBackground, pids: func(ctx context.Context) []int {
		pids := w.pids(ctx, "SELECT pid FROM pg_stat_activity WHERE backend_type <> 'client backend'")
		if w.postmaster > 0 {
			pids = append(pids, w.postmaster)
		}
		return pids
	}}
}

func (w *postgresWatch) pids(ctx context.Context, query string, args ...any) []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	rows, err := w.conn.Query(ctx, query, args...)
	if err != nil {
		return nil
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil
	}
	return pids
}

func (w *postgresWatch) close(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	_ = w.conn.Close(ctx)
}

// listener returns the group of the local process listening on the port of rawURL (a NATS or
// Redis URL), and false when no process of this machine does.
func listener(ctx context.Context, name, rawURL string) (group, bool) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return group{}, false
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		return group{}, false
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return group{}, false
	}
	conns, err := psnet.ConnectionsWithContext(ctx, "tcp")
	if err != nil {
		return group{}, false
	}
	for _, c := range conns {
		if c.Status == "LISTEN" && int(c.Laddr.Port) == port && c.Pid > 0 {
			return fixed(name, int(c.Pid)), true
		}
	}
	return group{}, false
}

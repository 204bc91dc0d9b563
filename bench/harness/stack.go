package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"golang.org/x/sync/errgroup"

	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/store"
)

// stack is vecron running as processes in one space, plus the harness's own connections.
type stack struct {
	env   Env
	space *space
	vars  []string
	store *store.Store
	jobs  *jobs.Service
	nc    *nats.Conn
	procs []*process

	// dispatched records, per idempotency key, when the due event was seen on NATS.
	mu         sync.Mutex
	dispatched map[string]dispatch
}

type dispatch struct {
	scheduledAt time.Time
	seenAt      time.Time
	count       int
}

// newStack prepares a space, applies the migrations and watches due events; it starts nothing.
func newStack(ctx context.Context, env Env, scenario string) (*stack, error) {
	sp, err := newSpace(ctx, env, scenario)
	if err != nil {
		return nil, err
	}
	s := &stack{env: env, space: sp, dispatched: map[string]dispatch{}}
	s.vars = []string{
		"DATABASE_URL=" + sp.dbURL, "NATS_URL=" + env.NATSURL, "REDIS_URL=" + env.RedisURL,
		"VECRON_NATS__PREFIX=" + sp.natsPrefix, "VECRON_REDIS__PREFIX=" + sp.redisPrefix,
		"VECRON_LOG__LEVEL=warn", "VECRON_LOG__FORMAT=text",
	}
	if s.store, err = store.Open(ctx, store.Config{URL: sp.dbURL, MaxConns: 8}); err != nil {
		return nil, errors.Join(err, sp.drop(ctx))
	}
	if err := s.store.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
		s.close(ctx)
		return nil, err
	}
	s.jobs = jobs.New(s.store, time.Now)
	if s.nc, err = nats.Connect(env.NATSURL); err != nil {
		s.close(ctx)
		return nil, fmt.Errorf("connect to nats: %w", err)
	}
	names := event.Names{Prefix: sp.natsPrefix}
	sub, err := s.nc.Subscribe(names.DueSubjects(), func(m *nats.Msg) {
		now := time.Now()
		at, _ := time.Parse(time.RFC3339Nano, m.Header.Get("ce-time"))
		key := m.Header.Get(nats.MsgIdHdr)
		s.mu.Lock()
		d := s.dispatched[key]
		if d.count == 0 {
			d.scheduledAt, d.seenAt = at, now
		}
		d.count++
		s.dispatched[key] = d
		s.mu.Unlock()
	})
	if err != nil {
		s.close(ctx)
		return nil, fmt.Errorf("watch due events: %w", err)
	}
	_ = sub.SetPendingLimits(-1, -1)
	return s, nil
}

// startFn starts a function binary in the stack and waits until it is ready.
func (s *stack) startFn(ctx context.Context, name string, args ...string) (*process, time.Duration, error) {
	p, err := start(s.env, name, s.vars, args...)
	if err != nil {
		return nil, 0, err
	}
	s.procs = append(s.procs, p)
	took, err := p.ready(ctx, 60*time.Second)
	return p, took, err
}

// SQLConnsPerTarget is the connections each execute-db process keeps to the bench's target.
const SQLConnsPerTarget = 32

// startWorkers starts n executor processes of function fn (execute-http, execute-db).
func (s *stack) startWorkers(ctx context.Context, fn string, n, concurrency int) ([]*process, error) {
	var out []*process
	for i := range n {
		args := []string{"--executor.worker-id=bench-worker-" + strconv.Itoa(i)}
		if fn == "execute-db" {
			// The default (4) is gentle on users' databases; the bench measures the executor.
			args = append(args, "--sql.max-conns-per-target="+strconv.Itoa(SQLConnsPerTarget))
		}
		p, _, err := s.startFn(ctx, fn, append(args,
			"--pull.concurrency="+strconv.Itoa(concurrency), "--database.max-conns=16")...)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// profile takes a CPU profile of every process over the next d, when the run takes profiles;
// the returned function waits for them and reports the first failure.
func (s *stack) profile(ctx context.Context, scenario string, d time.Duration) func() error {
	if s.env.ProfileDir == "" {
		return func() error { return nil }
	}
	var g errgroup.Group
	seen := map[string]int{}
	for _, p := range s.procs {
		seen[p.name]++
		path := filepath.Join(s.env.ProfileDir, fmt.Sprintf("%s-%s-%d.pprof", scenario, p.name, seen[p.name]))
		g.Go(func() error { return p.cpuProfile(ctx, d, path) })
	}
	return g.Wait
}

// sql runs fn on a connection of its own to the run's schema.
func (s *stack) sql(ctx context.Context, fn func(*pgx.Conn) error) error {
	c, err := pgx.Connect(ctx, s.space.dbURL)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	return fn(c)
}

// executionStarts returns when each execution of the run started.
func (s *stack) executionStarts(ctx context.Context) ([]time.Time, error) {
	var out []time.Time
	err := s.sql(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, "SELECT started_at FROM job_executions WHERE started_at IS NOT NULL")
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[time.Time])
		return err
	})
	return out, err
}

func (s *stack) dispatches() map[string]dispatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]dispatch, len(s.dispatched))
	for k, v := range s.dispatched {
		out[k] = v
	}
	return out
}

// close stops every process and removes the space.
func (s *stack) close(ctx context.Context) {
	var wg sync.WaitGroup
	for _, p := range s.procs {
		wg.Go(func() { p.stop(15 * time.Second) })
	}
	wg.Wait()
	if s.nc != nil {
		s.nc.Close()
	}
	if s.store != nil {
		s.store.Close()
	}
	_ = s.space.drop(context.WithoutCancel(ctx))
}

// pids names the stack's processes for the sampler.
func (s *stack) pids() map[string]int {
	out := map[string]int{}
	count := map[string]int{}
	for _, p := range s.procs {
		count[p.name]++
		out[fmt.Sprintf("%s-%d", p.name, count[p.name])] = p.cmd.Process.Pid
	}
	return out
}

package harness

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"golang.org/x/sync/errgroup"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/secret"
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
	// cleanup runs after the processes have stopped.
	cleanup []func()

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
	s, err := openStack(ctx, env, scenario)
	if err != nil {
		return nil, err
	}
	if err := s.watchDispatches(); err != nil {
		s.close(ctx)
		return nil, err
	}
	return s, nil
}

// openStack prepares a space and applies the migrations; it neither starts nor watches anything.
func openStack(ctx context.Context, env Env, scenario string) (*stack, error) {
	sp, err := newSpace(ctx, env, scenario)
	if err != nil {
		return nil, err
	}
	s := &stack{env: env, space: sp, dispatched: map[string]dispatch{}}
	signingKey, err := secret.NewKeyOfSize("bench", ed25519.SeedSize)
	if err != nil {
		return nil, errors.Join(err, sp.drop(ctx))
	}
	auditKey, err := secret.NewKeyOfSize("bench", audit.KeySize)
	if err != nil {
		return nil, errors.Join(err, sp.drop(ctx))
	}
	s.vars = []string{
		"DATABASE_URL=" + sp.dbURL, "NATS_URL=" + env.NATSURL, "REDIS_URL=" + env.RedisURL,
		"VECRON_NATS__PREFIX=" + sp.natsPrefix, "VECRON_REDIS__PREFIX=" + sp.redisPrefix, "VECRON_EGRESS__ALLOW=127.0.0.0/8,::1/128",
		"VECRON_LOG__LEVEL=warn", "VECRON_LOG__FORMAT=text", "VECRON_AUTH__SIGNING_KEYS=" + signingKey, "VECRON_AUDIT__KEYS=" + auditKey,
		// The bench's targets run on this machine, which the egress policy denies by default.
		"VECRON_EGRESS__ALLOW=127.0.0.0/8,::1/128",
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
	return s, nil
}

// watchDispatches records every due event the tick publishes. It costs the harness a message
// per fire, so only the scenarios that measure dispatch lateness watch.
func (s *stack) watchDispatches() error {
	names := event.Names{Prefix: s.space.natsPrefix}
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
		return fmt.Errorf("watch due events: %w", err)
	}
	_ = sub.SetPendingLimits(-1, -1)
	return nil
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

// startCommand starts c in the stack and waits until it is ready.
func (s *stack) startCommand(ctx context.Context, c command) (*process, error) {
	p, err := startCommand(s.env, c)
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, p)
	_, err = p.ready(ctx, 60*time.Second)
	return p, err
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
			// Its sql jobs write into the run's own schema of the system database, which jobs
			// may use only when the operator allows it.
			args = append(args, "--sql.max-conns-per-target="+strconv.Itoa(SQLConnsPerTarget), "--sql.allow-system-database=true")
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

// died returns an error naming the first process that ended during the run without being
// stopped, with its output: a scenario must not wait out its deadline for a crashed process.
func (s *stack) died() error {
	for _, p := range s.procs {
		if err := p.exited(); err != nil {
			return err
		}
	}
	return nil
}

// waitRecorded waits until n executions have ended, or deadline passes, and returns how many
// have and when the last one did. A process that died ends the wait with its output.
func (s *stack) waitRecorded(ctx context.Context, n int, deadline time.Time) (finished int, last *time.Time, err error) {
	reported := time.Now()
	for time.Now().Before(deadline) {
		if finished, last, err = s.store.ExecutionStats(ctx); err != nil || finished >= n {
			return finished, last, err
		}
		if err := s.died(); err != nil {
			return finished, last, err
		}
		if time.Since(reported) >= 5*time.Second {
			s.env.progress("%d of %d executions recorded", finished, n)
			reported = time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return finished, last, nil
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

// generateHistory stores n finished execution records for the jobs ids, as a year of busy
// service leaves them: a tenth of the jobs (at most 1 000) run often and hold 90% of the records,
// and the others one record each; one in a hundred of a busy job's failed. It returns the busy jobs, quiet jobs with a record, and how
// many records it stored.
func (s *stack) generateHistory(ctx context.Context, ids []string, n int) (busy, quiet []string, stored int, err error) {
	nBusy := max(1, min(1000, len(ids)/10))
	busy = ids[:nBusy]
	perBusy := n * 9 / 10 / nBusy
	quiet = ids[nBusy:min(len(ids), nBusy+n-perBusy*nBusy)]
	const insert = `INSERT INTO job_executions (id, job_id, job_version, idempotency_key, trigger, scheduled_at,
		started_at, finished_at, status, attempt, http_status, duration_ms, response_excerpt, worker_id)
		SELECT gen_random_uuid(), j.id, 1, j.id::text || ':history:' || g, 'schedule', $4::timestamptz - g * interval '1 second',
			$4::timestamptz - g * interval '1 second', $4::timestamptz - g * interval '1 second' + interval '12 milliseconds',
			CASE WHEN g % 100 = 7 THEN 'failed' ELSE 'succeeded' END, 1, CASE WHEN g % 100 = 7 THEN 503 ELSE 200 END,
			12, '{"ok":true}', 'bench-history'
		FROM unnest($1::uuid[]) AS j(id), generate_series($2::int, $3::int) AS g`
	now := time.Now().Add(-time.Hour)
	err = s.sql(ctx, func(c *pgx.Conn) error {
		// Loaded without the triggers, which would count each record one by one at commit;
		// the outcome counts are then made in one statement, as they would have been kept.
		if _, err := c.Exec(ctx, `SET session_replication_role = replica`); err != nil {
			return fmt.Errorf("load history without triggers: %w", err)
		}
		// History is kept in daily partitions; make the days the records fall on.
		if _, err := c.Exec(ctx, `SELECT vecron_history_partition(d::date) FROM generate_series(
			(($1::timestamptz - $2::int * interval '1 second') AT TIME ZONE 'UTC')::date,
			($1::timestamptz AT TIME ZONE 'UTC')::date, interval '1 day') AS d`, now, max(perBusy, 1)); err != nil {
			return fmt.Errorf("make history partitions: %w", err)
		}
		// Statements of about a million rows: big enough to be fast, small enough to commit.
		step := max(1, 1_000_000/max(perBusy, 1))
		total := perBusy*len(busy) + len(quiet)
		for from := 0; from < len(busy) && perBusy > 0; from += step {
			if _, err := c.Exec(ctx, insert, busy[from:min(from+step, len(busy))], 1, perBusy, now); err != nil {
				return fmt.Errorf("store busy history: %w", err)
			}
			s.env.progress("stored %d of %d execution records", min(from+step, len(busy))*perBusy, total)
		}
		for from := 0; from < len(quiet); from += 1_000_000 {
			if _, err := c.Exec(ctx, insert, quiet[from:min(from+1_000_000, len(quiet))], 1, 1, now); err != nil {
				return fmt.Errorf("store quiet history: %w", err)
			}
			s.env.progress("stored %d of %d execution records", perBusy*len(busy)+min(from+1_000_000, len(quiet)), total)
		}
		if _, err := c.Exec(ctx, `SET session_replication_role = origin`); err != nil {
			return err
		}
		// As the counting triggers would have: the counts, and the newest failure of each hour.
		if _, err := c.Exec(ctx, `INSERT INTO job_outcomes (job_id, hour, succeeded, failed, rare_at, rare_id)
			SELECT job_id, date_trunc('hour', scheduled_at, 'UTC'), count(*) FILTER (WHERE status = 'succeeded'),
				count(*) FILTER (WHERE status = 'failed'),
				(array_agg(scheduled_at ORDER BY scheduled_at DESC, id DESC) FILTER (WHERE status = 'failed'))[1],
				(array_agg(id ORDER BY scheduled_at DESC, id DESC) FILTER (WHERE status = 'failed'))[1]
			FROM job_executions GROUP BY 1, 2`); err != nil {
			return fmt.Errorf("count the history's outcomes: %w", err)
		}
		_, err := c.Exec(ctx, "ANALYZE job_executions")
		return err
	})
	stored = perBusy*len(busy) + len(quiet)
	if len(quiet) == 0 {
		quiet = busy
	}
	return busy, quiet, stored, err
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
	for _, fn := range s.cleanup {
		fn()
	}
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

// adminToken creates a user with the admin role for all namespaces and returns an API token of
// theirs that may do everything.
func (s *stack) adminToken(ctx context.Context) (string, error) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	u := &domain.User{ID: uuid.NewString(), Username: "bench-admin-" + uuid.NewString()[:8], Source: domain.UserSourceDatabase,
		CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return "", err
	}
	b := &domain.RoleBinding{ID: uuid.NewString(), Role: rbac.RoleAdmin, UserID: u.ID, Namespace: domain.AllNamespaces, CreatedAt: now}
	if err := s.store.CreateBinding(ctx, b); err != nil {
		return "", err
	}
	token, hash, err := auth.NewOpaqueToken(auth.APITokenPrefix)
	if err != nil {
		return "", err
	}
	t := &domain.APIToken{ID: uuid.NewString(), UserID: u.ID, Name: "bench", Scopes: domain.Permissions(),
		Namespace: domain.AllNamespaces, CreatedAt: now, Hash: hash}
	return token, s.store.CreateAPIToken(ctx, t)
}

// bearerTransport signs every request in with an API token.
type bearerTransport struct {
	token string
	next  http.RoundTripper
}

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

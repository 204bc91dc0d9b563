// Command river-peer is the bench's peer: River (a PostgreSQL job queue for Go) running N
// periodic jobs on one cron schedule with seconds, each job an HTTP request to the bench's
// target, so vecron's lateness can be set beside a well-known Go scheduler's on the same
// machine, database and target. It lives in a Go module of its own so that vecron never
// depends on River; the bench builds it from this directory.
//
// It migrates River's tables into --schema, starts one client with every periodic job and
// MaxWorkers --max-workers, and answers /readyz on --port once the client has started.
//
//	river-peer --database-url=postgres://… --schema=bench_river --jobs=1000 --cron='* * * * * *' --target=http://127.0.0.1:8081/ --port=8080
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/robfig/cron/v3"
)

type settings struct {
	databaseURL string
	schema      string
	jobs        int
	cron        string
	target      string
	maxWorkers  int
	port        int
	pprofAddr   string
}

func main() {
	var s settings
	flag.StringVar(&s.databaseURL, "database-url", os.Getenv("DATABASE_URL"), "PostgreSQL connection URL")
	flag.StringVar(&s.schema, "schema", "", "schema River's tables live in (created by the caller)")
	flag.IntVar(&s.jobs, "jobs", 1000, "periodic jobs, all on --cron")
	flag.StringVar(&s.cron, "cron", "* * * * * *", "cron schedule with a seconds field")
	flag.StringVar(&s.target, "target", "", "URL every job requests")
	flag.IntVar(&s.maxWorkers, "max-workers", 1000, "MaxWorkers of the default queue")
	flag.IntVar(&s.port, "port", 8080, "port /readyz is served on")
	flag.StringVar(&s.pprofAddr, "debug.pprof-addr", "", "address serving the Go profiler; empty serves nothing")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, s); err != nil {
		fmt.Fprintln(os.Stderr, "river-peer:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, s settings) error {
	switch {
	case s.databaseURL == "":
		return errors.New("--database-url: is required")
	case s.target == "":
		return errors.New("--target: is required")
	case s.jobs < 1:
		return errors.New("--jobs: must be at least 1")
	}
	// Seconds first, as vecron's six-field expressions are; UTC, as vecron evaluates them by default.
	schedule, err := cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow).Parse(s.cron)
	if err != nil {
		return fmt.Errorf("--cron: %w", err)
	}
	pool, err := pgxpool.New(ctx, s.databaseURL)
	if err != nil {
		return fmt.Errorf("connect to postgres: %w", err)
	}
	defer pool.Close()
	driver := riverpgxv5.New(pool)
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Schema: s.schema, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}

	workers := river.NewWorkers()
	river.AddWorker(workers, newFireWorker(s.target, s.maxWorkers))
	periodic := make([]*river.PeriodicJob, s.jobs)
	for i := range periodic {
		periodic[i] = river.NewPeriodicJob(utc{schedule}, func() (river.JobArgs, *river.InsertOpts) {
			return FireArgs{Index: i}, nil
		}, nil)
	}
	client, err := river.NewClient(driver, &river.Config{
		Schema:       s.schema,
		Queues:       map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: s.maxWorkers}},
		Workers:      workers,
		PeriodicJobs: periodic,
	})
	if err != nil {
		return err
	}
	if err := client.Start(ctx); err != nil {
		return fmt.Errorf("start river: %w", err)
	}
	var ready atomic.Bool
	ready.Store(true)
	probes, err := serveProbes(ctx, s.port, &ready)
	if err != nil {
		return err
	}
	profiler, err := serveProfiler(ctx, s.pprofAddr)
	if err != nil {
		return err
	}
	<-ctx.Done()
	ready.Store(false)
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return errors.Join(client.Stop(stopCtx), probes(), profiler())
}

// utc evaluates the schedule in UTC, whatever the machine's zone, as the bench's vecron jobs are.
type utc struct{ cron.Schedule }

func (u utc) Next(t time.Time) time.Time { return u.Schedule.Next(t.UTC()) }

// serveProbes answers /readyz until ctx ends; the returned function waits for the server to stop.
func serveProbes(ctx context.Context, port int, ready *atomic.Bool) (func() error, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	return serve(ctx, fmt.Sprintf("127.0.0.1:%d", port), mux)
}

// serveProfiler serves the Go profiler on addr until ctx ends, when addr is set.
func serveProfiler(ctx context.Context, addr string) (func() error, error) {
	if addr == "" {
		return func() error { return nil }, nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	return serve(ctx, addr, mux)
}

func serve(ctx context.Context, addr string, h http.Handler) (func() error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	return func() error {
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}, nil
}

// Package harness measures vecron under load: it builds the function binaries, starts them as
// processes against real PostgreSQL, NATS and Redis, drives a scenario (steady load, a burst on
// one second, a million stored jobs, executor throughput, cold start), and returns what it
// measured as a report.Result. Every scenario runs in a PostgreSQL schema, stream names and Redis
// key prefix of its own, so runs never see each other's data.
package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/vecron/vecron/bench/report"
	"github.com/vecron/vecron/shared/gocmd"
)

// Env locates the services and the binaries.
type Env struct {
	DatabaseURL string
	NATSURL     string
	RedisURL    string
	// BinDir holds the function binaries (see Build).
	BinDir string
	// ProfileDir, when set, receives a CPU profile of every process of a scenario, taken over its
	// measured window: <scenario>-<process>.pprof, for `go tool pprof`.
	ProfileDir string
	// Progress, when set, receives a line per step of a long scenario (storing a million jobs
	// or ten million execution records takes minutes).
	Progress io.Writer
}

// progress reports a step of a scenario, when Progress is set.
func (e Env) progress(format string, args ...any) {
	if e.Progress != nil {
		fmt.Fprintf(e.Progress, time.Now().Format("15:04:05 ")+format+"\n", args...)
	}
}

// Build compiles the function binaries and the vecron command as they ship (static, stripped)
// into dir.
func Build(ctx context.Context, repoRoot, dir string) error {
	cmd := exec.CommandContext(ctx, gocmd.Path(), "build", "-trimpath",
		"-ldflags=-s -w", "-o", dir+string(filepath.Separator), "./functions/tick", "./functions/execute-http", "./functions/execute-db", "./functions/api",
		"./cmd/vecron")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	return nil
}

// RiverPeer is the name of the peer's binary in Env.BinDir.
const RiverPeer = "river-peer"

// BuildRiverPeer compiles the River peer (bench/peers/river, a Go module of its own so vecron
// never depends on River) into dir. The first build downloads and compiles River: about half a
// minute on two cores.
func BuildRiverPeer(ctx context.Context, repoRoot, dir string) error {
	cmd := exec.CommandContext(ctx, gocmd.Path(), "build", "-trimpath",
		"-ldflags=-s -w", "-o", filepath.Join(dir, RiverPeer), ".")
	cmd.Dir = filepath.Join(repoRoot, "bench", "peers", "river")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build the river peer: %w\n%s", err, out)
	}
	return nil
}

// space is one run's isolated share of the services.
type space struct {
	name  string
	dbURL string
	// appURL is dbURL naming the connections application_name=name: the connections of the
	// system under test, told from the harness's own by the CPU sampler.
	appURL      string
	natsPrefix  string
	redisPrefix string
	drop        func(context.Context) error
}

// newSpace creates a schema of its own and picks stream and key prefixes.
func newSpace(ctx context.Context, env Env, scenario string) (*space, error) {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "bench_" + strings.ReplaceAll(scenario, "-", "_") + "_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, env.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		return nil, fmt.Errorf("create schema: %w", err)
	}
	u, err := url.Parse(env.DatabaseURL)
	if err != nil {
		return nil, errors.New("database url: not a URL")
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	dbURL := u.String()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return &space{
		name: name, dbURL: dbURL, appURL: u.String(), natsPrefix: name, redisPrefix: name + ":",
		drop: func(ctx context.Context) error {
			conn, err := pgx.Connect(ctx, env.DatabaseURL)
			if err != nil {
				return err
			}
			defer conn.Close(ctx)
			_, err = conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE")
			return err
		},
	}, nil
}

// Machine describes this machine and the services' versions.
func Machine(ctx context.Context, env Env) report.Machine {
	m := report.Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), CPU: cpuModel()}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(ctx, env.DatabaseURL); err == nil {
		_ = conn.QueryRow(ctx, "SHOW server_version").Scan(&m.Postgres)
		conn.Close(ctx)
	}
	if nc, err := nats.Connect(env.NATSURL); err == nil {
		m.NATS = nc.ConnectedServerVersion()
		nc.Close()
	}
	if opts, err := redis.ParseURL(env.RedisURL); err == nil {
		rdb := redis.NewClient(opts)
		if info, err := rdb.Info(ctx, "server").Result(); err == nil {
			for _, line := range strings.Split(info, "\n") {
				if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
					m.Redis = v
				}
			}
		}
		rdb.Close()
	}
	return m
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

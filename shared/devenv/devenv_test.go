package devenv_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/devenv"
	"github.com/vecron/vecron/shared/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

func TestStartPostgres(t *testing.T) {
	t.Parallel()
	cfg := devenv.PostgresConfig{DataDir: dataDir(t), Database: "devenv_test"}
	p, port, err := onFreePort(t, func(port int) (*devenv.Process, error) {
		cfg.Port = port
		return devenv.StartPostgres(t.Context(), cfg, testenv.Logger(t))
	})
	skipIfNotInstalled(t, err)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Stop(context.Background()) })
	require.Equal(t, "postgres://postgres@127.0.0.1:"+strconv.Itoa(port)+"/devenv_test?sslmode=disable", p.URL)

	conn, err := pgx.Connect(t.Context(), p.URL)
	require.NoError(t, err)
	_, err = conn.Exec(t.Context(), "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('hello')")
	require.NoError(t, err)
	require.NoError(t, conn.Close(t.Context()))

	require.NoError(t, p.Stop(t.Context()))
	require.NoError(t, p.Stop(t.Context()), "Stop is idempotent")
	requireClosed(t, port)
	requireDone(t, p)

	t.Run("RestartKeepsData", func(t *testing.T) {
		p, err := devenv.StartPostgres(t.Context(), cfg, testenv.Logger(t))
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Stop(context.Background()) })

		conn, err := pgx.Connect(t.Context(), p.URL)
		require.NoError(t, err)
		var v string
		require.NoError(t, conn.QueryRow(t.Context(), "SELECT v FROM kept").Scan(&v))
		require.Equal(t, "hello", v)
		require.NoError(t, conn.Close(t.Context()))

		require.NoError(t, p.Stop(t.Context()))
		requireClosed(t, port)
	})
}

// startOnFreePort starts PostgreSQL on dir at a free port, drawing another one when the port
// was taken between the probe and the start: a free port is not a reserved one.
func startOnFreePort(t *testing.T, dir string) (*devenv.Process, error) {
	t.Helper()
	p, _, err := onFreePort(t, func(port int) (*devenv.Process, error) {
		return devenv.StartPostgres(t.Context(), devenv.PostgresConfig{DataDir: dir, Port: port}, testenv.Logger(t))
	})
	return p, err
}

// onFreePort calls start with a free port, and again with another while the port it drew was
// taken before the server could listen on it. It returns the port that start was last given.
func onFreePort(t *testing.T, start func(port int) (*devenv.Process, error)) (*devenv.Process, int, error) {
	t.Helper()
	for range 5 {
		port := testenv.FreePort(t)
		p, err := start(port)
		if !errors.Is(err, devenv.ErrPortInUse) {
			return p, port, err
		}
	}
	t.Fatal("five free ports in a row were taken before the server could listen on them")
	return nil, 0, nil
}

func TestStartPostgresDataDirInUse(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	p, err := startOnFreePort(t, dir)
	skipIfNotInstalled(t, err)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Stop(context.Background()) })

	_, err = startOnFreePort(t, dir)
	require.ErrorIs(t, err, devenv.ErrDataDirInUse)
}

func TestStartPostgresUntraversableParent(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("only root hands the server to the postgres user")
	}
	dir := t.TempDir() // 0700, owned by root
	_, _, err := onFreePort(t, func(port int) (*devenv.Process, error) {
		return devenv.StartPostgres(t.Context(), devenv.PostgresConfig{DataDir: filepath.Join(dir, "pg"), Port: port}, testenv.Logger(t))
	})
	skipIfNotInstalled(t, err)
	require.ErrorContains(t, err, "cannot enter "+filepath.Dir(dir)+" (mode 0700")
}

func TestStartRedis(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	p, port, err := onFreePort(t, func(port int) (*devenv.Process, error) {
		return devenv.StartRedis(t.Context(), devenv.RedisConfig{DataDir: dir, Port: port}, testenv.Logger(t))
	})
	skipIfNotInstalled(t, err)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Stop(context.Background()) })
	require.Equal(t, "redis://127.0.0.1:"+strconv.Itoa(port)+"/0", p.URL)

	opts, err := redis.ParseURL(p.URL)
	require.NoError(t, err)
	rdb := redis.NewClient(opts)
	require.NoError(t, rdb.Set(t.Context(), "k", "v", 0).Err())
	got, err := rdb.Get(t.Context(), "k").Result()
	require.NoError(t, err)
	require.Equal(t, "v", got)
	require.NoError(t, rdb.Close())

	require.NoError(t, p.Stop(t.Context()))
	require.NoError(t, p.Stop(t.Context()), "Stop is idempotent")
	requireClosed(t, port)
	requireDone(t, p)
}

func TestStartNATS(t *testing.T) {
	t.Parallel()
	cfg := devenv.NATSConfig{DataDir: dataDir(t)}
	p, port, err := onFreePort(t, func(port int) (*devenv.Process, error) {
		cfg.Port = port
		return devenv.StartNATS(t.Context(), cfg, testenv.Logger(t))
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Stop(context.Background()) })
	require.Equal(t, "nats://127.0.0.1:"+strconv.Itoa(port), p.URL)

	withJetStream(t, p.URL, func(js jetstream.JetStream) {
		_, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "KEPT", Subjects: []string{"kept.>"}})
		require.NoError(t, err)
		_, err = js.Publish(t.Context(), "kept.one", []byte("hello"))
		require.NoError(t, err)
	})

	require.NoError(t, p.Stop(t.Context()))
	require.NoError(t, p.Stop(t.Context()), "Stop is idempotent")
	requireClosed(t, port)
	requireDone(t, p)

	t.Run("RestartKeepsStreams", func(t *testing.T) {
		p, err := devenv.StartNATS(t.Context(), cfg, testenv.Logger(t))
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Stop(context.Background()) })
		withJetStream(t, p.URL, func(js jetstream.JetStream) {
			s, err := js.Stream(t.Context(), "KEPT")
			require.NoError(t, err)
			require.EqualValues(t, 1, s.CachedInfo().State.Msgs)
		})
		require.NoError(t, p.Stop(t.Context()))
	})
}

func TestPortInUse(t *testing.T) {
	t.Parallel()
	tests := map[string]func(ctx context.Context, dir string, port int, log *slog.Logger) (*devenv.Process, error){
		"Postgres": func(ctx context.Context, dir string, port int, log *slog.Logger) (*devenv.Process, error) {
			return devenv.StartPostgres(ctx, devenv.PostgresConfig{DataDir: dir, Port: port}, log)
		},
		"Redis": func(ctx context.Context, dir string, port int, log *slog.Logger) (*devenv.Process, error) {
			return devenv.StartRedis(ctx, devenv.RedisConfig{DataDir: dir, Port: port}, log)
		},
		"NATS": func(ctx context.Context, dir string, port int, log *slog.Logger) (*devenv.Process, error) {
			return devenv.StartNATS(ctx, devenv.NATSConfig{DataDir: dir, Port: port}, log)
		},
	}
	for name, start := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			t.Cleanup(func() { _ = l.Close() })
			port := l.Addr().(*net.TCPAddr).Port

			p, err := start(t.Context(), dataDir(t), port, testenv.Logger(t))
			if p != nil {
				_ = p.Stop(context.Background())
			}
			skipIfNotInstalled(t, err)
			require.ErrorIs(t, err, devenv.ErrPortInUse)
			require.ErrorContains(t, err, strconv.Itoa(port))
		})
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	_, err := devenv.StartPostgres(t.Context(), devenv.PostgresConfig{}, testenv.Logger(t))
	require.ErrorContains(t, err, "PostgresConfig.DataDir")
	_, err = devenv.StartRedis(t.Context(), devenv.RedisConfig{DataDir: "x", Port: 70000}, testenv.Logger(t))
	require.ErrorContains(t, err, "RedisConfig.Port")
	_, err = devenv.StartNATS(t.Context(), devenv.NATSConfig{}, testenv.Logger(t))
	require.ErrorContains(t, err, "NATSConfig.DataDir")
}

// dataDir returns a fresh directory the postgres user can reach: as root, servers run as that
// user, and t.TempDir makes directories only their owner may enter.
func dataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		for _, d := range []string{filepath.Dir(dir), dir} {
			require.NoError(t, os.Chmod(d, 0o755))
		}
	}
	return dir
}

// skipIfNotInstalled skips the test when a server binary is missing, or fails it under CI=true.
func skipIfNotInstalled(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, devenv.ErrNotInstalled) {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(err)
	}
	t.Skip(err)
}

func requireClosed(t *testing.T, port int) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err == nil {
		_ = conn.Close()
	}
	require.Error(t, err, "port %d still accepts connections after Stop", port)
}

func requireDone(t *testing.T, p *devenv.Process) {
	t.Helper()
	select {
	case <-p.Done():
	default:
		t.Fatal("Done is open after Stop")
	}
}

func withJetStream(t *testing.T, url string, f func(js jetstream.JetStream)) {
	t.Helper()
	nc, err := nats.Connect(url)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	f(js)
}

func TestStartRedisWithTLSAndAUser(t *testing.T) {
	t.Parallel()
	ca := testenv.NewCA(t, "dev CA")
	server := ca.Server(t)
	var logs testenv.LogBuffer
	const password = "pw-Dev-5ecret"
	p, port, err := onFreePort(t, func(port int) (*devenv.Process, error) {
		return devenv.StartRedis(t.Context(), devenv.RedisConfig{DataDir: dataDir(t), Port: port,
			TLS: &devenv.ServerTLS{CertFile: server.CertFile, KeyFile: server.KeyFile}, User: "vecron", Password: password},
			slog.New(slog.NewTextHandler(&logs, nil)))
	})
	skipIfNotInstalled(t, err)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Stop(context.Background()) })
	require.Equal(t, "rediss://vecron:"+password+"@127.0.0.1:"+strconv.Itoa(port)+"/0", p.URL)
	require.Contains(t, logs.String(), "rediss://vecron:xxxxx@127.0.0.1:")
	require.NotContains(t, logs.String(), password)

	opts, err := redis.ParseURL(p.URL)
	require.NoError(t, err)
	opts.TLSConfig.InsecureSkipVerify = true // the server's certificate is not what this test checks
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	who, err := rdb.Do(t.Context(), "ACL", "WHOAMI").Text()
	require.NoError(t, err)
	require.Equal(t, "vecron", who)

	// Nothing listens without TLS.
	plain := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), Username: "vecron", Password: password, MaxRetries: -1})
	defer plain.Close()
	require.Error(t, plain.Ping(t.Context()).Err())
}

func TestStartRefusesHalfSettings(t *testing.T) {
	t.Parallel()
	_, err := devenv.StartRedis(t.Context(), devenv.RedisConfig{DataDir: t.TempDir(), User: "vecron"}, testenv.Logger(t))
	require.ErrorContains(t, err, "RedisConfig.User, RedisConfig.Password: set both or neither")
	_, err = devenv.StartRedis(t.Context(), devenv.RedisConfig{DataDir: t.TempDir(), TLS: &devenv.ServerTLS{CertFile: "c"}}, testenv.Logger(t))
	require.ErrorContains(t, err, "RedisConfig.TLS.CertFile, RedisConfig.TLS.KeyFile: both are required")
	_, err = devenv.StartPostgres(t.Context(), devenv.PostgresConfig{DataDir: t.TempDir(), TLS: &devenv.ServerTLS{KeyFile: "k"}}, testenv.Logger(t))
	require.ErrorContains(t, err, "PostgresConfig.TLS.CertFile, PostgresConfig.TLS.KeyFile: both are required")
}

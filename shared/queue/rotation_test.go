package queue_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/testenv"
)

// startNATS runs a NATS server with JetStream in this process, plain TCP on loopback; auth adds
// its users (or operator). It returns host:port.
func startNATS(t *testing.T, auth func(*server.Options)) string {
	t.Helper()
	opts := &server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir()}
	auth(opts)
	ns, err := server.NewServer(opts)
	require.NoError(t, err)
	ns.SetLoggerV2(serverLog{testenv.Logger(t)}, false, false, false)
	ns.Start()
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	require.True(t, ns.ReadyForConnections(10*time.Second), "the NATS server did not come up")
	return ns.Addr().String()
}

// wire is a TCP proxy to a server that records every byte the clients send: what the server
// received, CONNECT included.
type wire struct {
	ln    net.Listener
	to    string
	wg    sync.WaitGroup
	mu    sync.Mutex
	sent  bytes.Buffer
	conns []net.Conn
}

func newWire(t *testing.T, to string) *wire {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	w := &wire{ln: ln, to: to}
	w.wg.Add(1)
	go w.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		w.mu.Lock()
		for _, c := range w.conns {
			_ = c.Close()
		}
		w.mu.Unlock()
		w.wg.Wait()
	})
	return w
}

func (w *wire) addr() string { return w.ln.Addr().String() }

func (w *wire) accept() {
	defer w.wg.Done()
	for {
		c, err := w.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", w.to)
		if err != nil {
			_ = c.Close()
			continue
		}
		w.mu.Lock()
		w.conns = append(w.conns, c, s)
		w.mu.Unlock()
		w.wg.Add(2)
		go func() {
			defer w.wg.Done()
			_, _ = io.Copy(io.MultiWriter(s, w), c)
			_ = s.Close()
		}()
		go func() {
			defer w.wg.Done()
			_, _ = io.Copy(c, s)
			_ = c.Close()
		}()
	}
}

// Write records what a client sent.
func (w *wire) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sent.Write(p)
}

func (w *wire) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sent.String()
}

// rotate replaces the mounted file at path with content the way the kubelet does: a new file
// renamed over the old one.
func rotate(t *testing.T, path string, content []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(path+".new", content, 0o600))
	require.NoError(t, os.Rename(path+".new", path))
}

func fileOf(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// watch runs queue.Watch on nc until the test ends and returns where its result arrives.
func watch(t *testing.T, nc *nats.Conn) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done, finished := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(finished)
		done <- queue.Watch(ctx, nc)
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	return done
}

func TestNKeyRotatedToAnotherUserEndsTheConnection(t *testing.T) {
	t.Parallel()
	// The server knows both users, as during a rotation; the connection signed in as the first
	// cannot become the second (nats.go sends the public key it read at start with every
	// CONNECT), so it must end, loudly, for the process to restart as the second.
	oldFile, oldPublic, oldSeed := userSeed(t)
	_, newPublic, newSeed := userSeed(t)
	addr := startNATS(t, func(o *server.Options) {
		o.Nkeys = []*server.NkeyUser{{Nkey: oldPublic}, {Nkey: newPublic}}
	})
	var logs testenv.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	nc, _, err := queue.Connect(t.Context(), queue.ConnConfig{URL: "nats://" + addr, NkeyFile: oldFile}, "vecron-test", log)
	require.NoError(t, err)
	defer nc.Close()
	done := watch(t, nc)

	rotate(t, oldFile, newSeed)
	require.NoError(t, nc.ForceReconnect())
	var watched error
	select {
	case watched = <-done:
	case <-time.After(testenv.Timeout(20 * time.Second)):
		t.Fatalf("the connection still lives after its seed file changed user: %s", nc.Status())
	}
	require.ErrorContains(t, watched, "nats: the connection closed for good")
	require.ErrorContains(t, watched, "nats.nkey_file: now holds the seed of user "+newPublic+", not of "+oldPublic)
	require.True(t, nc.IsClosed())
	testenv.Eventually(t, "the closed connection is logged", func() bool {
		return strings.Contains(logs.String(), "nats connection closed for good")
	})
	for _, s := range [][]byte{oldSeed, newSeed} {
		require.NotContains(t, logs.String(), string(s))
		require.NotContains(t, watched.Error(), string(s))
	}
}

func TestNKeyRewrittenForTheSameUserKeepsTheConnection(t *testing.T) {
	t.Parallel()
	file, public, seed := userSeed(t)
	addr := startNATS(t, func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: public}} })
	var logs testenv.LogBuffer
	nc, _, err := queue.Connect(t.Context(), queue.ConnConfig{URL: "nats://" + addr, NkeyFile: file}, "vecron-test",
		slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err)
	defer nc.Close()
	done := watch(t, nc)

	// The same seed, rewritten with a trailing newline as a Secret editor leaves it.
	rotate(t, file, append(seed, '\n'))
	require.NoError(t, nc.ForceReconnect())
	testenv.Eventually(t, "the reconnection", func() bool { return strings.Contains(logs.String(), "nats reconnected") })
	require.NoError(t, nc.Flush())
	select {
	case err := <-done:
		t.Fatalf("the connection closed: %v", err)
	default:
	}
}

func TestCredsRotatedUnderALiveConnection(t *testing.T) {
	t.Parallel()
	op := newOperator(t)
	credsFile, firstSeed := op.creds(t)
	w := newWire(t, startNATS(t, op.serve))
	var logs testenv.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	cfg := queue.ConnConfig{URL: "nats://" + w.addr(), Prefix: testenv.Name(t), CredsFile: credsFile}
	nc, _, err := queue.Connect(t.Context(), cfg, "vecron-test", log)
	require.NoError(t, err)
	defer nc.Close()
	done := watch(t, nc)
	reconnected := func(n int) func() bool {
		return func() bool { return strings.Count(logs.String(), "nats reconnected") >= n && nc.IsConnected() }
	}
	secrets := [][]byte{firstSeed}

	t.Run("ToABareSeed", func(t *testing.T) {
		// nats.go's own reader sends a file without the JWT markers whole, seed included, as
		// the JWT of CONNECT. Ours refuses it before anything is sent.
		bareFile, _, bare := userSeed(t)
		secrets = append(secrets, bare)
		before := strings.Count(w.String(), "CONNECT")
		rotate(t, credsFile, fileOf(t, bareFile))
		require.NoError(t, nc.ForceReconnect())
		// Refused before CONNECT, or (nats.go's reader) sent in one: either ends the wait.
		testenv.Eventually(t, "a sign-in with the rotated file", func() bool {
			return strings.Contains(logs.String(), "nats.creds_file: holds no user JWT") || strings.Count(w.String(), "CONNECT") > before
		})
		require.False(t, strings.Contains(w.String(), string(bare)), "the server received the seed")
		require.Equal(t, before, strings.Count(w.String(), "CONNECT"), "a CONNECT went out with the file refused")
		require.False(t, nc.IsConnected())
	})
	t.Run("ToAnUnknownAccount", func(t *testing.T) {
		// The server refuses these credentials again and again; nats.go would close the
		// connection for good after the second refusal.
		_ = nc.ForceReconnect()
		stranger, strangerSeed := credsOf(t, newOperator(t).account)
		secrets = append(secrets, strangerSeed)
		before := strings.Count(w.String(), "CONNECT")
		rotate(t, credsFile, fileOf(t, stranger))
		_ = nc.ForceReconnect()
		testenv.Eventually(t, "three refused sign-ins", func() bool { return strings.Count(w.String(), "CONNECT") >= before+3 })
		require.False(t, nc.IsClosed())
	})
	t.Run("ToAnotherUser", func(t *testing.T) {
		next, nextSeed := op.creds(t)
		secrets = append(secrets, nextSeed)
		rotate(t, credsFile, fileOf(t, next))
		_ = nc.ForceReconnect()
		testenv.Eventually(t, "the reconnection as the new user", reconnected(1))
		require.NoError(t, nc.Flush())
	})
	select {
	case err := <-done:
		t.Fatalf("the connection closed: %v", err)
	default:
	}
	for _, s := range secrets {
		require.NotContains(t, logs.String(), string(s))
	}
	// The seeds sign; only the JWTs travel.
	for i, s := range secrets {
		require.False(t, strings.Contains(w.String(), string(s)), "the server received seed %d", i)
	}
	require.False(t, errors.Is(nc.LastError(), nats.ErrConnectionClosed))
}

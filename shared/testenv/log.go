package testenv

import (
	"bytes"
	"log/slog"
	"regexp"
	"sync"
	"testing"
	"time"
)

// Logger returns a logger whose records go to t.Log, one line each, from level Info up: they
// show with -v or when t fails, next to the test's own output. It writes until t's cleanup
// reaches the function Logger registered, after those registered later (what the test started
// with the logger stops first); a record logged after that, by a goroutine that outlived t, is
// dropped, as t.Log would panic.
func Logger(t testing.TB) *slog.Logger {
	t.Helper()
	w := &testWriter{t: t}
	t.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// testWriter writes through t.Log until closed. slog's text handler writes each record in one
// call, so one call is one line.
type testWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(bytes.TrimRight(p, "\n")))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
}

// LogBuffer collects what loggers write from many goroutines, for a test to read back (to check
// that no secret reached a log line, say).
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// adminLine is the line every function logs once its admin listener is bound.
var adminLine = regexp.MustCompile(`msg="admin listening" addr=(\S+)`)

// AdminAddr waits for the "admin listening" line a function logged to l through a text handler
// and returns its address: a function told to bind port 0 is found only there. It fails t when
// no such line comes within Timeout(30s).
func (l *LogBuffer) AdminAddr(t testing.TB) string {
	t.Helper()
	var addr string
	EventuallyWithin(t, 30*time.Second, "the admin listening line", func() bool {
		m := adminLine.FindStringSubmatch(l.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	return addr
}

package testenv_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// fatalT records a Fatalf and ends the calling goroutine, as testing.T does.
type fatalT struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalT) Helper() {}

func (f *fatalT) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

// onGoroutine runs fn with a fatalT on a goroutine of its own and returns what it failed with.
func onGoroutine(t *testing.T, fn func(testing.TB)) string {
	t.Helper()
	f := &fatalT{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.msg
}

func TestEventuallyReturnsOnceTheConditionHolds(t *testing.T) {
	t.Parallel()
	calls := 0
	testenv.Eventually(t, "the third call", func() bool {
		calls++
		return calls == 3
	})
	require.Equal(t, 3, calls)
}

func TestEventuallyWithinFailsNamingWhat(t *testing.T) {
	t.Parallel()
	start := time.Now()
	msg := onGoroutine(t, func(tb testing.TB) {
		testenv.EventuallyWithin(tb, 50*time.Millisecond, "the impossible", func() bool { return false })
	})
	require.Contains(t, msg, "waiting for the impossible")
	require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
}

func TestAwaitReturnsTheValue(t *testing.T) {
	t.Parallel()
	n := 0
	got := testenv.Await(t, "a value of 2", func() (string, bool) {
		n++
		return strings.Repeat("x", n), n == 2
	})
	require.Equal(t, "xx", got)
}

func TestAwaitWithinFailsNamingWhatAndTheLastValue(t *testing.T) {
	t.Parallel()
	n := 0
	msg := onGoroutine(t, func(tb testing.TB) {
		testenv.AwaitWithin(tb, 30*time.Millisecond, "a miracle", func() (string, bool) {
			n++
			return fmt.Sprint("try ", n), false
		})
	})
	require.Contains(t, msg, "waiting for a miracle; last seen: try ")
	require.True(t, strings.HasSuffix(msg, fmt.Sprint("try ", n)), msg)
}

func TestTimeoutScales(t *testing.T) {
	t.Setenv("CI", "true")
	t.Setenv("VECRON_TEST_TIMEOUT_SCALE", "")
	require.Equal(t, 30*time.Second, testenv.Timeout(10*time.Second))
	t.Setenv("VECRON_TEST_TIMEOUT_SCALE", "0.5")
	require.Equal(t, 5*time.Second, testenv.Timeout(10*time.Second))
	t.Setenv("CI", "")
	t.Setenv("VECRON_TEST_TIMEOUT_SCALE", "")
	require.Equal(t, 10*time.Second, testenv.Timeout(10*time.Second))
}

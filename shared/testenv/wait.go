package testenv

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// WaitDefault is how long Eventually and Await wait, before Timeout scales it.
const WaitDefault = 10 * time.Second

// pollInterval is the shortest pause between two checks of a condition.
const pollInterval = 10 * time.Millisecond

// Timeout returns d scaled to the machine the tests run on: d times VECRON_TEST_TIMEOUT_SCALE
// when that is set to a positive number, else three times d under CI=true (shared runners are
// slow and noisy), else d.
func Timeout(d time.Duration) time.Duration {
	if s, err := strconv.ParseFloat(os.Getenv("VECRON_TEST_TIMEOUT_SCALE"), 64); err == nil && s > 0 {
		return time.Duration(float64(d) * s)
	}
	if os.Getenv("CI") == "true" {
		return 3 * d
	}
	return d
}

// Eventually checks cond until it returns true, and fails t naming what when it has not within
// Timeout(WaitDefault). cond runs on the test's goroutine, so it may use require.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	EventuallyWithin(t, WaitDefault, what, cond)
}

// EventuallyWithin is Eventually waiting Timeout(d).
func EventuallyWithin(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	poll(t, d, what, func() (struct{}, bool) { return struct{}{}, cond() }, false)
}

// Await calls get until its second result is true and returns its first, failing t naming what
// and the first result of the last call when that has not happened within Timeout(WaitDefault).
// The first result may so tell what is still missing.
func Await[T any](t testing.TB, what string, get func() (T, bool)) T {
	t.Helper()
	return poll(t, WaitDefault, what, get, true)
}

// AwaitWithin is Await waiting Timeout(d).
func AwaitWithin[T any](t testing.TB, d time.Duration, what string, get func() (T, bool)) T {
	t.Helper()
	return poll(t, d, what, get, true)
}

// poll calls get until it reports ok, for Timeout(d) at most. Calls are pollInterval apart, or as
// far apart as the last call took when that is longer, so that a costly check (a database
// query, an HTTP call) keeps the system under test busy at most half the time.
func poll[T any](t testing.TB, d time.Duration, what string, get func() (T, bool), showLast bool) T {
	t.Helper()
	d = Timeout(d)
	deadline := time.Now().Add(d)
	for {
		start := time.Now()
		v, ok := get()
		if ok {
			return v
		}
		if time.Now().After(deadline) {
			if showLast {
				t.Fatalf("gave up after %s waiting for %s; last seen: %+v", d, what, v)
			} else {
				t.Fatalf("gave up after %s waiting for %s", d, what)
			}
			return v
		}
		time.Sleep(max(pollInterval, time.Since(start)))
	}
}

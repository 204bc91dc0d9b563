package testenv

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// ownerEnv marks the processes a test binary starts: VerifyNoLeaks sets it in the binary's own
// environment, which every child inherits (and passes on to its own children).
const ownerEnv = "VECRON_TEST_OWNER"

// leakIgnores are the goroutines that outlive every test for reasons of their library's own.
var leakIgnores = []goleak.Option{
	// The connection to testcontainers' reaper lives as long as the binary, so that the reaper
	// removes the containers after it exits.
	goleak.IgnoreAnyFunction("github.com/testcontainers/testcontainers-go.(*Reaper).connect.func1"),
}

// VerifyNoLeaks runs m's tests, then cleanups (for what the tests share across the binary, such
// as built binaries), and exits with the tests' status, made a failure when anything they
// started is left behind: goroutines still running once the tests passed (checked with
// goleak), or processes started by the tests, directly or not, still alive after them. Those
// processes are named with their command lines and killed. Call it from TestMain:
//
//	func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }
func VerifyNoLeaks(m *testing.M, cleanups ...func()) {
	owner := strconv.Itoa(os.Getpid()) + "." + strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := os.Setenv(ownerEnv, owner); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: set %s: %v\n", ownerEnv, err)
		os.Exit(1)
	}
	code := m.Run()
	for _, c := range cleanups {
		c()
	}
	if code == 0 {
		if err := goleak.Find(leakIgnores...); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: goroutines left after the tests passed: %v\n", err)
			code = 1
		}
	}
	if left := leftProcesses(owner); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "testenv: %d processes started by the tests still run after them (now killed):\n", len(left))
		for _, p := range left {
			fmt.Fprintf(os.Stderr, "\tpid %d: %s\n", p.pid, p.cmdline)
		}
		code = 1
	}
	os.Exit(code)
}

// process is a process left running by the tests.
type process struct {
	pid     int
	cmdline string
}

// leftProcesses returns the processes still running that are this binary's children or carry
// owner in their environment, after giving those just stopped a moment to go, and kills them.
func leftProcesses(owner string) []process {
	deadline := time.Now().Add(Timeout(5 * time.Second))
	for {
		left := ownedProcesses(owner)
		if len(left) == 0 || time.Now().After(deadline) {
			for _, p := range left {
				kill(p.pid)
			}
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// envHas reports whether a NUL-separated environment block holds name=value.
func envHas(environ []byte, name, value string) bool {
	want := name + "=" + value
	for kv := range strings.SplitSeq(string(environ), "\x00") {
		if kv == want {
			return true
		}
	}
	return false
}

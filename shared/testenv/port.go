package testenv

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// FreePort returns a loopback port nothing listens on, for a server a test must name the port
// of (a child process, a setting that takes no listener). A port handed out this way is not
// reserved: to keep the window in which another can take it small, it is drawn at random below
// the kernel's ephemeral range, which every "listen on port 0" — httptest servers, clients —
// draws from; a port that cannot be bound now is passed over.
func FreePort(t testing.TB) int {
	t.Helper()
	low := ephemeralLow()
	const floor = 10000
	for range 100 {
		port := floor + rand.IntN(low-floor)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		if err := ln.Close(); err != nil {
			t.Fatalf("close probe listener: %v", err)
		}
		return port
	}
	t.Fatalf("no free port found between %d and %d", floor, low)
	return 0
}

// ephemeralLow returns the first port of the kernel's ephemeral range (32768 when it cannot be
// read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	var low, high int
	if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &low, &high); err != nil || low <= 10000+1000 {
		return 32768
	}
	return low
}

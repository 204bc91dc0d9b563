package egress_test

import (
	"net"
	"net/netip"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

func TestDefaultsDenyWhatAJobHasNoBusinessWith(t *testing.T) {
	t.Parallel()
	p, err := egress.New(egress.Config{})
	require.NoError(t, err)
	for addr, denied := range map[string]bool{
		"169.254.169.254": true, "fe80::1": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true,
		"0.0.0.0": true, "::": true, "224.0.0.1": true, "ff02::1": true, "255.255.255.255": true,
		"fd00:ec2::254": true, "100.100.100.200": true, "::ffff:169.254.169.254": true, "::ffff:127.0.0.1": true,
		"10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false, "8.8.8.8": false, "2001:db8::1": false, "fd12::1": false,
	} {
		err := p.Check(netip.MustParseAddr(addr))
		if !denied {
			require.NoError(t, err, addr)
			continue
		}
		d, ok := egress.Denied(err)
		require.True(t, ok, "%s must be denied", addr)
		require.Contains(t, d.Error(), "default rule", addr)
	}
}

func TestAllowAndDenyLists(t *testing.T) {
	t.Parallel()
	p, err := egress.New(egress.Config{Allow: []string{"127.0.0.0/8", "10.0.0.0/8"}, Deny: []string{"10.9.0.0/16", "203.0.113.7"}})
	require.NoError(t, err)
	require.NoError(t, p.Check(netip.MustParseAddr("127.0.0.1")), "allowed although a default denies it")
	require.NoError(t, p.Check(netip.MustParseAddr("10.1.0.1")))
	err = p.Check(netip.MustParseAddr("10.9.3.4"))
	require.ErrorContains(t, err, "egress.deny 10.9.0.0/16", "deny wins over allow, and is named")
	require.ErrorContains(t, p.Check(netip.MustParseAddr("203.0.113.7")), "egress.deny 203.0.113.7/32")
	require.Error(t, p.Check(netip.MustParseAddr("169.254.169.254")), "what is not allowed keeps its default")

	_, err = egress.New(egress.Config{Allow: []string{"localhost"}})
	require.ErrorContains(t, err, `egress.allow: "localhost" is not a CIDR`)
	_, err = egress.New(egress.Config{Deny: []string{"10.0.0.0/33"}})
	require.ErrorContains(t, err, "egress.deny")
}

// TestCheckMatchesCIDRs: an address is denied exactly when a deny range holds it, or a default
// range holds it and no allow range does.
func TestCheckMatchesCIDRs(t *testing.T) {
	t.Parallel()
	addr4 := rapid.Custom(func(t *rapid.T) netip.Addr {
		return netip.AddrFrom4([4]byte(rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, "a4")))
	})
	prefix := rapid.Custom(func(t *rapid.T) netip.Prefix {
		p, _ := addr4.Draw(t, "base").Prefix(rapid.IntRange(0, 32).Draw(t, "bits"))
		return p
	})
	rapid.Check(t, func(t *rapid.T) {
		allow := rapid.SliceOfN(prefix, 0, 3).Draw(t, "allow")
		deny := rapid.SliceOfN(prefix, 0, 3).Draw(t, "deny")
		var cfg egress.Config
		for _, p := range allow {
			cfg.Allow = append(cfg.Allow, p.String())
		}
		for _, p := range deny {
			cfg.Deny = append(cfg.Deny, p.String())
		}
		pol, err := egress.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		a := addr4.Draw(t, "addr")
		in := func(list []netip.Prefix) bool {
			for _, p := range list {
				if p.Contains(a) {
					return true
				}
			}
			return false
		}
		zero, _ := egress.New(egress.Config{})
		defaultDenied := zero.Check(a) != nil
		want := in(deny) || (defaultDenied && !in(allow))
		if got := pol.Check(a) != nil; got != want {
			t.Fatalf("%s: denied=%v, want %v (allow %v, deny %v)", a, got, want, allow, deny)
		}
		// The same address written as IPv4-mapped IPv6 gets the same answer.
		if got := pol.Check(netip.AddrFrom16(a.As16())) != nil; got != want {
			t.Fatalf("%s as IPv6: denied=%v, want %v", a, got, want)
		}
	})
}

// TestDialRefusesANameThatResolvesToADeniedAddress: the check is made on the address the name
// resolved to, before any packet leaves: the listener never sees a connection.
func TestDialRefusesANameThatResolvesToADeniedAddress(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

	deny, err := egress.New(egress.Config{})
	require.NoError(t, err)
	_, err = deny.Dialer(5*time.Second).DialContext(t.Context(), "tcp", net.JoinHostPort("localhost", port))
	d, ok := egress.Denied(err)
	require.True(t, ok, "%v", err)
	require.True(t, d.Addr.IsLoopback())
	require.NotContains(t, err.Error(), "refused", "nothing is said of what listens there")

	allow, err := egress.New(egress.Loopback())
	require.NoError(t, err)
	c, err := allow.DialContext(t.Context(), "tcp", net.JoinHostPort("localhost", port))
	require.NoError(t, err)
	c.Close()
	testenv.Eventually(t, "the allowed connection arrives", func() bool { return accepted.Load() == 1 })
	require.Equal(t, int64(1), accepted.Load(), "the denied dial never reached the listener")
}

// Package egress decides where a job may connect. Every outbound connection a job makes (HTTP
// targets and every redirect hop, SQL hosts) is checked against one Policy at dial time, on the
// address the name resolved to, so a DNS answer that changes between a check and the connection
// cannot lead a job anywhere the policy refuses. A refused connection is never attempted: the
// job learns which rule refused the address, and nothing about what listens there.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// Config lists the address ranges jobs may and may not reach besides the defaults.
type Config struct {
	// Allow lists ranges allowed although a default rule denies them, such as 127.0.0.0/8 for
	// targets on the executor's own host.
	Allow []string `koanf:"allow" usage:"CIDRs jobs may connect to although a default rule denies them (e.g. 127.0.0.0/8,::1/128 for local targets)"`
	// Deny lists ranges denied on top of the defaults; it wins over Allow.
	Deny []string `koanf:"deny" usage:"CIDRs jobs may never connect to, besides the defaults (wins over allow)"`
}

// Loopback allows targets on the executor's own host: `vecron dev`, tests and benchmarks.
func Loopback() Config { return Config{Allow: []string{"127.0.0.0/8", "::1/128"}} }

// rule is a named range.
type rule struct {
	prefix netip.Prefix
	name   string
}

// defaults are denied unless allowed: where a job has no business and an attacker has much.
var defaults = []rule{
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local (cloud metadata)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "cloud metadata"},
	{netip.MustParsePrefix("100.100.100.200/32"), "cloud metadata"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("0.0.0.0/8"), "this network"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
}

// Policy is the egress policy. The zero Policy applies the defaults.
type Policy struct {
	allow, deny []rule
}

// New returns the policy of cfg, or an error naming the setting and entry that is not a CIDR or
// an address.
func New(cfg Config) (*Policy, error) {
	p := &Policy{}
	var err error
	if p.allow, err = parse("egress.allow", cfg.Allow); err != nil {
		return nil, err
	}
	if p.deny, err = parse("egress.deny", cfg.Deny); err != nil {
		return nil, err
	}
	return p, nil
}

func parse(setting string, list []string) ([]rule, error) {
	out := make([]rule, 0, len(list))
	for _, s := range list {
		prefix, err := netip.ParsePrefix(s)
		if err != nil {
			addr, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("%s: %q is not a CIDR (10.0.0.0/8) or an address", setting, s)
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		out = append(out, rule{prefix: prefix.Masked(), name: setting + " " + prefix.Masked().String()})
	}
	return out, nil
}

// DeniedError says that the policy refused a destination, and by which rule.
type DeniedError struct {
	Addr netip.Addr
	Rule string
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("egress policy refuses %s (%s)", e.Addr, e.Rule)
}

// Check returns a *DeniedError when addr may not be reached: it is in egress.deny, or in a
// default rule and not in egress.allow.
func (p *Policy) Check(addr netip.Addr) error {
	addr = addr.Unmap()
	if r, ok := match(p.deny, addr); ok {
		return &DeniedError{Addr: addr, Rule: r.name}
	}
	if _, ok := match(p.allow, addr); ok {
		return nil
	}
	if r, ok := match(defaults, addr); ok {
		return &DeniedError{Addr: addr, Rule: "default rule: " + r.name + " " + r.prefix.String()}
	}
	return nil
}

func match(rules []rule, addr netip.Addr) (rule, bool) {
	for _, r := range rules {
		if r.prefix.Contains(addr) {
			return r, true
		}
	}
	return rule{}, false
}

// control is a net.Dialer Control: it runs after the name is resolved and before the
// connection is attempted, on each address tried.
func (p *Policy) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("egress policy: cannot read the address %q", address)
	}
	return p.Check(ap.Addr())
}

// Dialer returns a dialer that connects only where the policy allows.
func (p *Policy) Dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: p.control}
}

// DialContext dials as Dialer does; it fits http.Transport.DialContext and the SQL drivers'
// dial hooks.
func (p *Policy) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return p.Dialer(30*time.Second).DialContext(ctx, network, address)
}

// Denied returns the *DeniedError in err's chain, if any: a refusal is permanent, retrying
// cannot change it.
func Denied(err error) (*DeniedError, bool) {
	var d *DeniedError
	ok := errors.As(err, &d)
	return d, ok
}

// LoopbackPolicy returns the default policy that also allows the executor's own host.
func LoopbackPolicy() *Policy {
	p, err := New(Loopback())
	if err != nil {
		panic(err) // Loopback's ranges are constants
	}
	return p
}

package dashboardtest

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// Proxy stands between a browser and the server, forwarding TCP connections, so that a test
// can drop them as a server, a load balancer or a network would, without a hook in the server.
type Proxy struct {
	// URL is where the browser goes instead of the server's URL.
	URL string

	t       *testing.T
	backend string
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	held    chan struct{} // closed while connections go through
}

// NewProxy forwards to the server at base (http://host:port) until t ends.
func NewProxy(t *testing.T, base string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	open := make(chan struct{})
	close(open)
	p := &Proxy{URL: "http://" + ln.Addr().String(), t: t, backend: strings.TrimPrefix(base, "http://"),
		conns: map[net.Conn]struct{}{}, held: open}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		p.Release()
		p.Drop()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.track(c)
			wg.Go(func() { p.serve(c) })
		}
	})
	return p
}

func (p *Proxy) track(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns[c] = struct{}{}
}

func (p *Proxy) serve(c net.Conn) {
	p.mu.Lock()
	held := p.held
	p.mu.Unlock()
	<-held
	b, err := net.Dial("tcp", p.backend)
	if err != nil {
		_ = c.Close()
		return
	}
	p.track(b)
	var wg sync.WaitGroup
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		_ = dst.Close()
		_ = src.Close()
	}
	wg.Go(func() { pipe(b, c) })
	wg.Go(func() { pipe(c, b) })
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, b)
	p.mu.Unlock()
}

// Drop closes every connection open now, in both directions.
func (p *Proxy) Drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
}

// Hold makes new connections wait, accepted but not forwarded, until Release: a browser that
// reconnects meanwhile waits for its answer.
func (p *Proxy) Hold() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.held:
		p.held = make(chan struct{})
	default:
	}
}

// Release forwards the connections that wait, and new ones.
func (p *Proxy) Release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.held:
	default:
		close(p.held)
	}
}

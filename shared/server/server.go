// Package server runs an HTTP server for the lifetime of a context and shuts it down gracefully:
// on cancellation it fails readiness probes, stops accepting connections and waits for in-flight
// requests up to a grace period.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"knative.dev/pkg/network/handlers"
)

// GraceDefault is how long in-flight requests may take to finish after shutdown begins.
const GraceDefault = 30 * time.Second

// limits bound what one client may hold of a server: a request trickled in a byte at a time,
// a connection left open, headers without end.
type limits struct {
	readHeader, read, idle time.Duration
	maxHeaderBytes         int
}

// defaultLimits fit every function: requests are small (an API body is at most 1 MiB, a pushed
// event less) and come from nearby; no write timeout, since a response may stream for long.
var defaultLimits = limits{readHeader: 10 * time.Second, read: 30 * time.Second, idle: 2 * time.Minute, maxHeaderBytes: 64 << 10}

func newHTTPServer(h http.Handler, l limits, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.readHeader,
		ReadTimeout:       l.read,
		IdleTimeout:       l.idle,
		MaxHeaderBytes:    l.maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Serve listens on addr and serves h until ctx ends, then drains. ready, when not nil, is called
// with the bound address once the listener is open (useful with port 0).
func Serve(ctx context.Context, addr string, h http.Handler, grace time.Duration, log *slog.Logger, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ServeListener(ctx, ln, h, grace, log, ready)
}

// ServeListener is Serve on an open listener.
func ServeListener(ctx context.Context, ln net.Listener, h http.Handler, grace time.Duration, log *slog.Logger, ready func(net.Addr)) error {
	// Drainer answers Knative's and kubelet's probes with "not ready" once draining starts, so
	// traffic moves away before the listener closes.
	drainer := &handlers.Drainer{Inner: h, QuietPeriod: time.Second}
	srv := newHTTPServer(drainer, defaultLimits, log)
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cmp.Or(grace, GraceDefault))
	defer cancel()
	drainer.Drain()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down %s: %w", ln.Addr(), err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	}
	return nil
}

// StopDuringStart returns nil, logging that name stopped, when err only reports that ctx ended:
// a stop asked for while the function was still starting (a Ctrl-C while migrations wait for
// their lock, a SIGTERM from a scale-down) is a clean stop, not a failure. Any other err is
// returned as it is.
func StopDuringStart(ctx context.Context, name string, err error, log *slog.Logger) error {
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		log.Info(name + " stopped while starting")
		return nil
	}
	return err
}

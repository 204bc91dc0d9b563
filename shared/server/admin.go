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
)

// AdminAddrDefault is where a function serves /metrics when nothing is configured: outside the
// ports Knative's queue-proxy owns in every pod (8012, 8013, 8022, 9090, 9091), so a pod serves it
// without declaring it (docs/observability.md §1).
const AdminAddrDefault = ":9464"

// AdminConfig places a function's admin listener.
type AdminConfig struct {
	Addr string `koanf:"addr" usage:"address serving /metrics and nothing else, never the public port and never behind sign-in; a port of 0 binds a free one (logged as admin listening); empty serves nothing"`
}

// Admin serves metrics at GET MetricsPath and nothing else: no probes, no API, no dashboard, no
// sign-in. Every other path answers 404.
func Admin(metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+MetricsPath, metrics)
	return mux
}

// ServeAdmin serves Admin(metrics) on addr until ctx ends, logging "admin listening" with the
// bound address, which is the only way to learn a port of 0; ready, when not nil, receives it
// too. An empty addr serves nothing and returns when ctx ends. It returns an error naming addr
// when the listener cannot be opened.
//
// The public listeners' drainer is left out on purpose: it answers a kubelet probe on any path,
// and the admin listener answers nothing but /metrics.
func ServeAdmin(ctx context.Context, addr string, metrics http.Handler, grace time.Duration, log *slog.Logger, ready func(net.Addr)) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("admin.addr: listen on %s: %w", addr, err)
	}
	return ServeAdminOn(ctx, ln, metrics, grace, log, ready)
}

// ServeAdminOn is ServeAdmin on a listener its caller opened, to report a port already taken in
// the caller's own terms (`vecron dev --admin-port`) before starting anything else. It closes ln.
func ServeAdminOn(ctx context.Context, ln net.Listener, metrics http.Handler, grace time.Duration, log *slog.Logger, ready func(net.Addr)) error {
	log.Info("admin listening", "addr", ln.Addr().String())
	if ready != nil {
		ready(ln.Addr())
	}
	srv := newHTTPServer(Admin(metrics), defaultLimits, log)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve admin %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cmp.Or(grace, GraceDefault))
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down admin %s: %w", ln.Addr(), err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve admin %s: %w", ln.Addr(), err)
	}
	return nil
}

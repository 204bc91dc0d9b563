package telemetry

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// DebugConfig configures the Go profiler endpoint, off unless an address is given.
type DebugConfig struct {
	PprofAddr string `koanf:"pprof_addr" usage:"address serving the Go profiler at /debug/pprof/, such as 127.0.0.1:6060; empty serves nothing"`
}

// ServeProfiler serves the Go profiler on cfg.PprofAddr until ctx ends. It serves nothing when
// no address is set: profiles show job data, so the endpoint is only for an operator who asks.
// A profiler that cannot listen is logged, not fatal: a debugging aid must never stop the
// function it is there to look at.
func ServeProfiler(ctx context.Context, cfg DebugConfig, log *slog.Logger) error {
	if cfg.PprofAddr == "" {
		return nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", cfg.PprofAddr)
	if err != nil {
		log.Error("the Go profiler is not served", "error", "debug.pprof_addr: "+err.Error())
		return nil
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	log.Warn("the Go profiler is served", "addr", ln.Addr().String())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

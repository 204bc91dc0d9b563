package api

import (
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/go-chi/chi/v5"

	"github.com/vecron/vecron/shared/delivery"
)

// recoverer answers a request whose handler panicked with a 500 problem and logs the panic, with
// its route and stack, through log: chi's middleware.Recoverer prints it to stderr, outside the
// structured log that operators search. A response already started cannot turn into a 500, so
// then the connection is aborted, lest the client take a truncated body for a whole one.
// http.ErrAbortHandler passes through: it is a handler asking net/http to abort quietly.
func recoverer(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sw := &startWatcher{ResponseWriter: w}
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler { //nolint:errorlint // net/http compares it the same way
					panic(v)
				}
				log.ErrorContext(r.Context(), "request panicked", "request_id", r.Header.Get(requestIDHeader), "method", r.Method, "route", routePattern(r), "panic", delivery.DescribePanic(v, nil),
					"response_started", sw.started, "stack", string(debug.Stack()))
				if sw.started {
					panic(http.ErrAbortHandler)
				}
				writeProblem(sw, problem{Status: http.StatusInternalServerError, Detail: "internal error; see the server log"})
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

// routePattern is the pattern of the route r matched ("/api/v1/jobs/{id}"): unlike the path, it
// groups the log lines of one handler and holds no identifiers.
func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		return rc.RoutePattern()
	}
	return ""
}

// startWatcher notes whether the response has started: from then on its status is sent.
type startWatcher struct {
	http.ResponseWriter
	started bool
}

func (s *startWatcher) WriteHeader(code int) {
	// An informational 1xx header leaves the final status to come.
	if code >= http.StatusOK || code == http.StatusSwitchingProtocols {
		s.started = true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *startWatcher) Write(b []byte) (int, error) {
	s.started = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer (to flush, set deadlines).
func (s *startWatcher) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush sends what is written so far, which starts the response; handlers that assert
// http.Flusher (server-sent events) keep working behind the watcher.
func (s *startWatcher) Flush() {
	s.started = true
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

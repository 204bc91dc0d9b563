package dashboard

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// pageTiming is what answering one page took: all of it, and the calls of the API in it. A
// page that is slow because of the API is then told from one slow to render, from the
// browser's developer tools or a load test, without a profiler.
type pageTiming struct {
	start time.Time
	mu    sync.Mutex
	// api is the time at least one call of the API was under way: the calls a page makes at
	// once (the job page's) overlap, and are counted once, so that api stays within app.
	api      time.Duration
	calls    int
	inFlight int
	since    time.Time
}

type pageTimingKey struct{}

// timingOf returns the timing the request's context carries, or nil.
func timingOf(ctx context.Context) *pageTiming {
	t, _ := ctx.Value(pageTimingKey{}).(*pageTiming)
	return t
}

// begin counts a call of the API that starts now, and returns what ends it.
func (t *pageTiming) begin() (end func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls++
	if t.inFlight++; t.inFlight == 1 {
		t.since = time.Now()
	}
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.inFlight--; t.inFlight == 0 {
			t.api += time.Since(t.since)
		}
	}
}

// header is the Server-Timing header's value: app (the whole answer up to its header) and api
// (the calls of the API in it, and how many).
func (t *pageTiming) header() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return "app;dur=" + ms(time.Since(t.start)) + ", api;dur=" + ms(t.api) + `;desc="` + strconv.Itoa(t.calls) + ` calls"`
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
}

// withTiming answers with a Server-Timing header (dashboard.server_timing): the time is taken
// when the header is written, which a page does once it is rendered whole (render buffers it).
func withTiming(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := &pageTiming{start: time.Now()}
		next.ServeHTTP(&timingWriter{ResponseWriter: w, t: t}, r.WithContext(context.WithValue(r.Context(), pageTimingKey{}, t)))
	})
}

// timingWriter sets the Server-Timing header as the status is written.
type timingWriter struct {
	http.ResponseWriter
	t     *pageTiming
	wrote bool
}

func (w *timingWriter) WriteHeader(status int) {
	if !w.wrote {
		w.wrote = true
		w.Header().Set("Server-Timing", w.t.header())
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *timingWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *timingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

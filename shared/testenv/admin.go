package testenv

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// RunFunction runs a function's Run (given as run, with its settings bound) in the background
// with a logger writing to the returned buffer; t's cleanup stops it and fails t if it ended
// with an error.
func RunFunction(t testing.TB, run func(ctx context.Context, log *slog.Logger) error) *LogBuffer {
	t.Helper()
	logs := &LogBuffer{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx, slog.New(slog.NewTextHandler(logs, nil))) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("the function stopped with an error: %v\n%s", err, logs.String())
		}
	})
	return logs
}

// Get fetches url on a fresh connection without following redirects and returns the status
// code and body.
func Get(t testing.TB, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Close = true
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// AdminServesOnlyMetrics checks the admin listener at base (http://host:port): /metrics
// answers 200 with each of want in its body, and every one of paths answers 404 with no
// metric in it.
func AdminServesOnlyMetrics(t testing.TB, base string, want []string, paths []string) {
	t.Helper()
	code, body := Get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET %s/metrics: %d, want 200", base, code)
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics lacks %q", w)
		}
	}
	for _, path := range paths {
		code, body := Get(t, base+path)
		if code != http.StatusNotFound || strings.Contains(body, "vecron_") {
			t.Errorf("GET %s on the admin listener: %d (want 404), metrics in the body: %t", path, code, strings.Contains(body, "vecron_"))
		}
	}
}

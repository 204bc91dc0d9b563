package harness

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/vecron/vecron/bench/report"
)

// floorConns are the keep-alive connection counts the floor is measured with: vecron's default
// requests in flight per executor, and River's MaxWorkers.
var floorConns = []int{256, 1000}

// Floor measures what this machine allows before any scheduler runs: n requests, one per fire
// due at the same instant, sent over warm keep-alive connections by a client that does nothing
// else, to the same loopback target the other scenarios use. Its lateness is the floor under
// every herd figure: a scheduler must also claim, publish, record and consume on the same cores.
func Floor(ctx context.Context, env Env, n int) (report.Result, error) {
	res := newResult(ctx, env, fmt.Sprintf("floor-%d", n), map[string]any{"requests": n, "connections": floorConns})
	res.Notes = []string{"the client and the target share the bench's process; no scheduler, database or broker runs"}
	res.Lateness = map[string][]float64{}
	for _, conns := range floorConns {
		late, err := floorRun(ctx, n, conns)
		if err != nil {
			return res, err
		}
		set := fmt.Sprintf("%d connections", conns)
		res.Lateness[set] = late
		sum := report.Summarize(late)
		res.Metrics = append(res.Metrics,
			metric(set+": requests arrived", float64(len(late)), "requests"),
			metric(set+": lateness p50", sum.P50, "ms"),
			metric(set+": lateness p99", sum.P99, "ms"),
			metric(set+": lateness max", sum.Max, "ms"))
		env.progress("%s: %s: p50 %.0f ms, p99 %.0f ms", res.Scenario, set, sum.P50, sum.P99)
	}
	return res, nil
}

// floorRun sends n requests due at one instant over conns warm connections and returns each
// one's lateness at the target, in milliseconds.
func floorRun(ctx context.Context, n, conns int) ([]float64, error) {
	tg := newTarget()
	defer tg.Close()
	tr := &http.Transport{MaxConnsPerHost: conns, MaxIdleConnsPerHost: conns, MaxIdleConns: conns}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	send := func(at time.Time) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, tg.URL, nil)
		if err != nil {
			return err
		}
		req.Header.Set("X-Vecron-Scheduled-At", at.Format(time.RFC3339Nano))
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	}
	// Warm every connection first, as a running executor's are.
	var wg sync.WaitGroup
	errs := make(chan error, n+conns)
	for range conns {
		wg.Go(func() { errs <- send(time.Time{}) })
	}
	wg.Wait()
	at := time.Now().Add(time.Second).Truncate(100 * time.Millisecond)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			errs <- send(at)
		})
	}
	time.Sleep(time.Until(at))
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return nil, fmt.Errorf("floor: %w", err)
		}
	}
	var late []float64
	for _, a := range tg.snapshot() {
		if a.scheduledAt.Equal(at) {
			late = append(late, float64(a.receivedAt.Sub(at).Microseconds())/1000)
		}
	}
	if len(late) != n {
		return nil, fmt.Errorf("floor: %d of %d requests arrived", len(late), n)
	}
	return late, nil
}

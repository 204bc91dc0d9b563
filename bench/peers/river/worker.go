package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/riverqueue/river"
)

// FireArgs are one fire of periodic job Index.
type FireArgs struct {
	Index int `json:"index"`
}

// Kind names the job kind in River's table.
func (FireArgs) Kind() string { return "bench_fire" }

// fireWorker requests the target once per fire, sending the instant the fire was scheduled
// for in the header vecron's executor uses, so the target measures both the same way.
type fireWorker struct {
	river.WorkerDefaults[FireArgs]
	target string
	client *http.Client
}

func newFireWorker(target string, maxWorkers int) *fireWorker {
	// One kept connection per worker: River is not made to pay for new TCP connections that a
	// user running a thousand workers against one host would avoid.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost, tr.MaxIdleConns = maxWorkers, maxWorkers
	return &fireWorker{target: target, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// Work sends the fire. River sets a periodic job's scheduled_at to the instant its schedule
// named (not the moment it was inserted), which is what lateness is measured from.
func (w *fireWorker) Work(ctx context.Context, job *river.Job[FireArgs]) error {
	at := job.ScheduledAt.UTC().Format(time.RFC3339Nano)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.target, nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Vecron-Scheduled-At", at)
	req.Header.Set("Idempotency-Key", fmt.Sprintf("river-%d:%s", job.Args.Index, at))
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("target answered %s", resp.Status)
	}
	return nil
}

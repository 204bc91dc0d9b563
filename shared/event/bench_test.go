package event_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
)

func benchDue() (event.Due, []byte) {
	j := &domain.Job{ID: "0195f1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b", Version: 3, Name: "nightly", Namespace: "default",
		Kind: domain.KindHTTP, HTTP: &domain.HTTPSpec{Method: "POST", URL: "https://example.test/run", Headers: map[string]string{"X-Team": "finance"}, Body: "{}"},
		Timezone: domain.DefaultTimezone, Timeout: domain.Duration(30 * time.Second), Schedule: domain.Schedule{Cron: "0 0 2 * * ?"},
		Retry: domain.RetryPolicy{MaxAttempts: 10, Backoff: domain.BackoffDefault()}}
	at := time.Date(2026, 11, 29, 2, 0, 0, 0, time.UTC)
	d := event.DueFor(j, at, domain.TriggerSchedule, domain.ScheduledKey(j.ID, at))
	// A scheduled fire carries its claim (docs/fire-timeline.md).
	claimed := at.Add(-1250 * time.Millisecond)
	d.ClaimedBy, d.ClaimedAt = "tick-0", &claimed
	payload, _ := json.Marshal(d)
	return d, payload
}

// BenchmarkEncodeDue is the tick's per-fire cost: the CloudEvent built from the stored payload
// and rendered as a NATS message.
func BenchmarkEncodeDue(b *testing.B) {
	d, payload := benchDue()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		ev := event.NewDueEncoded(d.Meta(), payload, "/vecron/tick/bench")
		if _, err := event.ToNATS(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeDue is the executor's per-event cost: NATS message to a parsed Due.
func BenchmarkDecodeDue(b *testing.B) {
	d, payload := benchDue()
	ctx := context.Background()
	msg, err := event.ToNATS(ctx, event.NewDueEncoded(d.Meta(), payload, "/vecron/tick/bench"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ev, err := event.FromNATS(ctx, msg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := event.ParseDue(ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeStarted is what the started event adds to an execution on the worker, besides
// its publish: the event built from the running execution and rendered as a NATS message.
func BenchmarkEncodeStarted(b *testing.B) {
	d, _ := benchDue()
	now := d.ScheduledAt
	e := &domain.Execution{ID: "0195f1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5c", JobID: d.JobID, JobVersion: d.JobVersion, IdempotencyKey: d.IdempotencyKey,
		Trigger: d.Trigger, ScheduledAt: d.ScheduledAt, StartedAt: &now, Status: domain.StatusRunning, Attempt: 1, WorkerID: "w1"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		ev, err := event.NewExecution(event.TypeExecutionStarted, e, d, "/vecron/execute-http/w1")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := event.ToNATS(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTraceExtension is what tracing adds to an event on either side, whether its span was
// sampled or not: the trace extension set on the tick's due event and rendered as NATS headers
// (Encode, against BenchmarkEncodeDue), and read back by the executor (Read).
func BenchmarkTraceExtension(b *testing.B) {
	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
	d, payload := benchDue()
	ctx := context.Background()
	b.Run("Encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ev := event.NewDueEncoded(d.Meta(), payload, "/vecron/tick/bench")
			event.SetTrace(&ev, traceparent, "")
			if _, err := event.ToNATS(ctx, ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Read", func(b *testing.B) {
		ev := event.NewDueEncoded(d.Meta(), payload, "/vecron/tick/bench")
		event.SetTrace(&ev, traceparent, "")
		b.ReportAllocs()
		for b.Loop() {
			if p, _ := event.TraceFrom(ev); p != traceparent {
				b.Fatal(p)
			}
		}
	})
}

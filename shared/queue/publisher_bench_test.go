package queue_test

import (
	"strconv"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/testenv"
)

// BenchmarkPublish compares what a publish costs the caller's path: Publish waits for the
// acknowledgement (a round trip); PublishAsync returns at once, and the acknowledgement is
// collected later, as the executor does with the started event.
func BenchmarkPublish(b *testing.B) {
	_, js, names := testenv.NATS(b)
	pub := queue.NewPublisher(js)
	body := make([]byte, 400)
	msg := func(i int) queue.Message {
		id := strconv.Itoa(i)
		return queue.Message{Subject: names.EventSubject("io.vecron.execution.started"), MsgID: id,
			Msg: &nats.Msg{Header: nats.Header{"ce-id": {id}}, Data: body}}
	}
	b.Run("Wait", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if err := pub.Publish(b.Context(), msg(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Async", func(b *testing.B) {
		b.ReportAllocs()
		pending := make([]*queue.Pending, 0, 1024)
		i := 1 << 30
		for b.Loop() {
			i++
			pending = append(pending, pub.PublishAsync(msg(i)))
			if len(pending) == cap(pending) {
				b.StopTimer()
				for _, p := range pending {
					if err := p.Wait(b.Context()); err != nil {
						b.Fatal(err)
					}
				}
				pending = pending[:0]
				b.StartTimer()
			}
		}
		for _, p := range pending {
			if err := p.Wait(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

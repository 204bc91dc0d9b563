package metric

import "github.com/vecron/vecron/shared/domain"

// The queue's families (docs/observability.md §2, "Queue and outbox").
const (
	QueuePublishErrors Name = "vecron_queue_publish_errors_total"
	QueueRedeliveries  Name = "vecron_queue_redeliveries_total"
	JobQueueSize       Name = "vecron_job_queue_size"
)

// Streams are the values of the stream label: vecron's streams without the installation's
// prefix.
func Streams() []string { return []string{"due", "events", "dlq"} }

func queueKinds() []string { return []string{string(domain.KindHTTP), string(domain.KindSQL)} }

func queueFamilies() []Desc {
	return []Desc{
		{
			Name: QueuePublishErrors, Type: TypeCounter,
			Help:       "Messages JetStream did not store: the publish failed, its acknowledgement timed out or the caller gave up waiting.",
			Labels:     []Label{{Name: "stream", Values: Streams()}},
			ObservedIn: "shared/queue Publisher: PublishBatch, Publish, Pending.Wait",
		},
		{
			Name: QueueRedeliveries, Type: TypeCounter,
			Help:       "Due events delivered again to a pull executor (delivery count above 1): naked, timed out or handed back.",
			Labels:     []Label{{Name: "kind", Values: queueKinds()}},
			ObservedIn: "shared/queue Puller, per message taken (pull mode only)",
		},
		{
			Name: JobQueueSize, Type: TypeGauge,
			Help:       "Due events of a kind not yet acknowledged by an executor: waiting in its consumer, or delivered and in work.",
			Labels:     []Label{{Name: "kind", Values: queueKinds()}},
			ObservedIn: "api: shared/queue QueueSize collector, each kind's durable consumer read on scrape (cached 5 s)",
		},
	}
}

package metric

// The forwarder's families (docs/deploy.md §4, "How due events reach the Broker").
const (
	ForwardDeliveries Name = "vecron_forward_deliveries_total"
)

func forwardFamilies() []Desc {
	return []Desc{
		{
			Name: ForwardDeliveries, Type: TypeCounter,
			Help: "Due events the tick posted to their kind's forward sink (a Knative Broker, an OpenFaaS gateway): accepted, " +
				"to be retried, or given up (refused as malformed: never delivered).",
			Labels:     []Label{{Name: "kind", Values: queueKinds()}, {Name: "result", Values: []string{ResultOK, ResultRetry, ResultGaveUp}}},
			ObservedIn: "shared/forward, where a post is settled",
		},
	}
}

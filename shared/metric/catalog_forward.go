package metric

// The forwarder's families (docs/deploy.md §4, "How due events reach the Broker").
const (
	ForwardDeliveries Name = "vecron_forward_deliveries_total"
	// ResultDeadLettered is a due event its sink refused, taken by forward.dead_letter_sink.
	ResultDeadLettered = "dead_lettered"
	// ResultNoCallback is a due event an OpenFaaS gateway queued and never reported on within
	// forward.callback_timeout: handed back, to be posted again.
	ResultNoCallback = "no_callback"

	ForwardCallbackRefusals Name = "vecron_forward_callback_refusals_total"
	// Why a callback was refused: no token of this installation; its replica is gone; not for a
	// delivery waiting on it (expired, settled, another call id, forged); a success for a fire
	// the executors have not recorded.
	RefusalNoToken    = "no_token"
	RefusalHolderGone = "holder_gone"
	RefusalNotWaiting = "not_waiting"
	RefusalUnrecorded = "unrecorded"
)

func forwardFamilies() []Desc {
	return []Desc{
		{
			Name: ForwardDeliveries, Type: TypeCounter,
			Help: "Due events the tick posted to their kind's forward sink (a Knative Broker, an OpenFaaS gateway): accepted, " +
				"to be retried, refused as malformed and taken by forward.dead_letter_sink, given up (refused, and no dead-letter sink took it), " +
				"or queued by an OpenFaaS gateway that did not call back within forward.callback_timeout (to be posted again).",
			Labels:     []Label{{Name: "kind", Values: queueKinds()}, {Name: "result", Values: []string{ResultOK, ResultRetry, ResultDeadLettered, ResultGaveUp, ResultNoCallback}}},
			ObservedIn: "shared/forward, where a post is settled",
		},
		{
			Name: ForwardCallbackRefusals, Type: TypeCounter,
			Help: "Callbacks to the tick's forward.callback_port refused: without a token of this installation, for a replica that is gone, " +
				"not for a delivery waiting on it (expired, settled, another invocation's call id, forged), or a success for a fire the executors have not recorded.",
			Labels:     []Label{{Name: "reason", Values: []string{RefusalNoToken, RefusalHolderGone, RefusalNotWaiting, RefusalUnrecorded}}},
			ObservedIn: "shared/forward, the callback handler",
		},
	}
}

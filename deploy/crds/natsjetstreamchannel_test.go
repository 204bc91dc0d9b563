package crds_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// channel is the channel template docs/deploy.md §4 gives MTChannelBasedBroker, as a whole object.
const channel = `
apiVersion: messaging.knative.dev/v1alpha1
kind: NatsJetStreamChannel
metadata:
  name: vecron-due
spec:
  stream:
    config:
      retention: Limits
      maxAge: 24h
      duplicateWindow: 2m
      storage: File
      replicas: 3
  consumerConfigTemplate:
    deliverPolicy: New
    ackWait: 30s
    maxDeliver: 10
    sampleFrequency: "30%"
  delivery:
    retry: 10
    backoffPolicy: exponential
    backoffDelay: PT5S
    deadLetterSink:
      ref:
        apiVersion: v1
        kind: Service
        name: vecron-api-internal
`

func TestNatsJetStreamChannel(t *testing.T) {
	t.Parallel()
	s := load(t)
	require.NoError(t, s.Validate(manifest(t, channel)))
	for _, tc := range []struct {
		name, old, new, path, reason string
	}{
		{"StreamConfig", "maxAge: 24h", "maxAgeSeconds: 86400", "spec.stream.config.maxAgeSeconds", "unknown field"},
		{"Consumer", "ackWait: 30s", "ackWaitTime: 30s", "spec.consumerConfigTemplate.ackWaitTime", "unknown field"},
		{"Delivery", "backoffDelay: PT5S", "backOffDelay: PT5S", "spec.delivery.backOffDelay", "unknown field"},
		{"DeadLetterRef", "name: vecron-api-internal", "nam: vecron-api-internal", "spec.delivery.deadLetterSink.ref.nam", "unknown field"},
		{"RetentionEnum", "retention: Limits", "retention: limits", "spec.stream.config.retention", "must be one of"},
		{"BackoffPolicyEnum", "backoffPolicy: exponential", "backoffPolicy: Exponential", "spec.delivery.backoffPolicy", "must be one of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			requireField(t, s.Validate(manifest(t, edit(t, channel, tc.old, tc.new))), tc.path, tc.reason)
		})
	}
}

func TestNatsJetStreamChannelSchemaIsNamedHandWritten(t *testing.T) {
	t.Parallel()
	var names []string
	for _, f := range load(t).Sources().Files {
		if f.IsHandWritten() {
			names = append(names, f.Name)
		}
	}
	require.Equal(t, []string{"messaging.knative.dev_natsjetstreamchannels.yaml"}, names,
		"the one schema no module publishes is listed as hand-written, and only it")
}

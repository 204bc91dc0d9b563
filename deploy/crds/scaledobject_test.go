package crds_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// scaledObject is an executor's ScaledObject as docs/deploy.md §5 draws it, with the HPA
// behaviour set so the nested advanced config is checked too.
const scaledObject = `
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: vecron-execute-http
  namespace: vecron
  labels:
    app.kubernetes.io/name: vecron
    app.kubernetes.io/component: execute-http
spec:
  scaleTargetRef:
    name: vecron-execute-http
  pollingInterval: 5
  cooldownPeriod: 300
  minReplicaCount: 0
  maxReplicaCount: 10
  advanced:
    restoreToOriginalReplicaCount: false
    horizontalPodAutoscalerConfig:
      behavior:
        scaleDown:
          stabilizationWindowSeconds: 300
          policies:
            - type: Percent
              value: 100
              periodSeconds: 15
  triggers:
    - type: nats-jetstream
      metadata:
        natsServerMonitoringEndpoint: nats.vecron.svc:8222
        account: $G
        stream: VECRON_DUE
        consumer: execute-http
        lagThreshold: "256"
        activationLagThreshold: "0"
`

func TestScaledObjectWithNatsJetStreamTriggerIsValid(t *testing.T) {
	t.Parallel()
	require.NoError(t, load(t).Validate(manifest(t, scaledObject)))
}

func TestScaledObjectMisspeltFieldNamesItsPath(t *testing.T) {
	t.Parallel()
	s := load(t)
	for _, tc := range []struct {
		name, old, new, path string
	}{
		{"Spec", "maxReplicaCount: 10", "maxReplicaCont: 10", "spec.maxReplicaCont"},
		{"ScaleTargetRef", "    name: vecron-execute-http\n  pollingInterval", "    nmae: vecron-execute-http\n  pollingInterval", "spec.scaleTargetRef.nmae"},
		{"Trigger", "      metadata:\n        nats", "      metdata:\n        nats", "spec.triggers[0].metdata"},
		{"Advanced", "restoreToOriginalReplicaCount", "restoreToOriginalReplicas", "spec.advanced.restoreToOriginalReplicas"},
		{"HorizontalPodAutoscalerConfig", "behavior:", "behaviour:", "spec.advanced.horizontalPodAutoscalerConfig.behaviour"},
		{"HPAPolicy", "periodSeconds: 15", "periodSecond: 15", "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.policies[0].periodSecond"},
		{"Metadata", "  labels:", "  lables:", "metadata.lables"},
		{"TopLevel", "spec:\n", "spce: {}\nspec:\n", "spce"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := s.Validate(manifest(t, edit(t, scaledObject, tc.old, tc.new)))
			requireField(t, err, tc.path, "unknown field")
		})
	}
}

func TestScaledObjectWrongValuesFail(t *testing.T) {
	t.Parallel()
	s := load(t)
	for _, tc := range []struct {
		name, old, new, path, reason string
	}{
		{"MetadataValueNotString", `lagThreshold: "256"`, `lagThreshold: 256`, "spec.triggers[0].metadata.lagThreshold", "want string"},
		{"IntegerField", "pollingInterval: 5", "pollingInterval: five", "spec.pollingInterval", "want integer"},
		{"Enum", "    - type: nats-jetstream\n", "    - type: nats-jetstream\n      authenticationRef: {name: vecron-nats, kind: Secret}\n", "spec.triggers[0].authenticationRef.kind", "must be one of"},
		{"RequiredScaleTargetName", "    name: vecron-execute-http\n  pollingInterval", "    kind: Deployment\n  pollingInterval", "spec.scaleTargetRef.name", "required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := s.Validate(manifest(t, edit(t, scaledObject, tc.old, tc.new)))
			requireField(t, err, tc.path, tc.reason)
		})
	}
}

func TestNatsJetStreamMetadataKeys(t *testing.T) {
	t.Parallel()
	s := load(t)
	t.Run("MisspeltKey", func(t *testing.T) {
		t.Parallel()
		err := s.Validate(manifest(t, edit(t, scaledObject, "lagThreshold:", "lagthreshold:")))
		requireField(t, err, "spec.triggers[0].metadata.lagthreshold", "unknown key for the nats-jetstream scaler")
		require.ErrorContains(t, err, "lagThreshold", "the message lists the keys KEDA reads")
	})
	t.Run("MissingRequiredKey", func(t *testing.T) {
		t.Parallel()
		err := s.Validate(manifest(t, edit(t, scaledObject, "        consumer: execute-http\n", "")))
		requireField(t, err, "spec.triggers[0].metadata.consumer", "required by the nats-jetstream scaler")
	})
	t.Run("EndpointFromTriggerAuthentication", func(t *testing.T) {
		t.Parallel()
		// natsServerMonitoringEndpoint is read from authParams too: without it in the metadata
		// the trigger is valid only with an authenticationRef.
		doc := edit(t, scaledObject, "        natsServerMonitoringEndpoint: nats.vecron.svc:8222\n", "")
		requireField(t, s.Validate(manifest(t, doc)), "spec.triggers[0].metadata.natsServerMonitoringEndpoint", "or a TriggerAuthentication")
		withAuth := edit(t, doc, "    - type: nats-jetstream\n", "    - type: nats-jetstream\n      authenticationRef:\n        name: vecron-nats\n")
		require.NoError(t, s.Validate(manifest(t, withAuth)))
	})
	t.Run("FromEnvOnlyWhereKEDAReadsEnv", func(t *testing.T) {
		t.Parallel()
		// No nats-jetstream parameter is read from resolvedEnv, so streamFromEnv is unknown.
		err := s.Validate(manifest(t, edit(t, scaledObject, "stream: VECRON_DUE", "streamFromEnv: DUE_STREAM")))
		requireField(t, err, "spec.triggers[0].metadata.streamFromEnv", "unknown key")
		requireField(t, err, "spec.triggers[0].metadata.stream", "required")
	})
	t.Run("OtherScalersAreNotChecked", func(t *testing.T) {
		t.Parallel()
		doc := edit(t, scaledObject, "type: nats-jetstream", "type: cpu")
		require.NoError(t, s.Validate(manifest(t, doc)), "only scalers listed in SOURCES have their keys checked")
	})
}

const triggerAuthentication = `
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata:
  name: vecron-nats
spec:
  secretTargetRef:
    - parameter: natsServerMonitoringEndpoint
      name: vecron-nats
      key: monitoring-endpoint
`

func TestTriggerAuthentication(t *testing.T) {
	t.Parallel()
	s := load(t)
	require.NoError(t, s.Validate(manifest(t, triggerAuthentication)))
	err := s.Validate(manifest(t, edit(t, triggerAuthentication, "key:", "secretKey:")))
	requireField(t, err, "spec.secretTargetRef[0].secretKey", "unknown field")
	requireField(t, err, "spec.secretTargetRef[0].key", "required")
}

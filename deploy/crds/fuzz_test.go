package crds_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/vecron/vecron/deploy/crds"
)

// FuzzValidate holds Validate to answer any decoded manifest with nil or an error, never a
// panic: the manifests come from templates that anyone may change.
func FuzzValidate(f *testing.F) {
	s, err := crds.Load()
	require.NoError(f, err)
	for _, doc := range []string{scaledObject, triggerAuthentication, podMonitor, serviceMonitor, prometheusRule, channel,
		"apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nspec: {triggers: [{type: nats-jetstream, metadata: null}]}"} {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m map[string]any
		if yaml.Unmarshal(data, &m) != nil {
			return
		}
		_ = s.Validate(m)
	})
}

// FuzzParseCRD holds the converter to refuse, never panic on, whatever a CRD file holds.
func FuzzParseCRD(f *testing.F) {
	f.Add([]byte(crdYAML("type: object\nproperties:\n  spec: {type: object, x-kubernetes-embedded-resource: true}")))
	f.Add([]byte(crdYAML("type: object\nproperties:\n  spec: {anyOf: [{type: integer}, {type: string}], x-kubernetes-int-or-string: true, nullable: true}")))
	f.Add([]byte(crdYAML("type: object\nproperties:\n  spec: {type: number, minimum: 1, exclusiveMinimum: true}")))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = crds.ParseCRD(data)
	})
}

func TestValidateHostileManifests(t *testing.T) {
	t.Parallel()
	s := load(t)
	for _, tc := range []struct {
		name string
		m    map[string]any
		want string
	}{
		{"NotJSON", map[string]any{"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor", "spec": map[any]any{1: 2}}, "validate PodMonitor"},
		{"NaN", map[string]any{"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor", "spec": math.NaN()}, "validate PodMonitor"},
		{"KindNotString", map[string]any{"apiVersion": "keda.sh/v1alpha1", "kind": 7}, "apiVersion and kind"},
		{"TriggersNotAList", map[string]any{"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
			"spec": map[string]any{"scaleTargetRef": map[string]any{"name": "x"}, "triggers": "nats-jetstream"}}, "spec.triggers: got string, want array"},
		{"MetadataNotAMap", map[string]any{"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
			"spec": map[string]any{"scaleTargetRef": map[string]any{"name": "x"}, "triggers": []any{map[string]any{"type": "nats-jetstream", "metadata": []any{"stream"}}}}},
			"spec.triggers[0].metadata: got array, want object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.ErrorContains(t, s.Validate(tc.m), tc.want)
		})
	}
}

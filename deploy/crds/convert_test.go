package crds_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/deploy/crds"
	"github.com/vecron/vecron/deploy/crds/provenance"
)

// crdYAML wraps an openAPIV3Schema (YAML, indented as the root) in a CRD of kind Widget,
// test.vecron.io/v1.
func crdYAML(schema string) string {
	ind := "          "
	return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.test.vecron.io
spec:
  group: test.vecron.io
  scope: Namespaced
  names: {kind: Widget, plural: widgets}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
` + ind + strings.ReplaceAll(strings.TrimSpace(schema), "\n", "\n"+ind) + "\n"
}

// widgets loads a Set holding only the Widget CRD with the given schema.
func widgets(t *testing.T, schema string) *crds.Set {
	t.Helper()
	data := []byte(crdYAML(schema))
	src := provenance.Sources{Files: []provenance.File{{Name: "widgets.yaml", SHA256: provenance.SHA256(data)}}}
	s, err := crds.LoadFS(fstest.MapFS{
		"widgets.yaml":      {Data: data},
		provenance.FileName: {Data: src.Format()},
	})
	require.NoError(t, err)
	return s
}

// widget is a Widget manifest with the given spec (YAML, flow style is fine).
func widget(t *testing.T, spec string) map[string]any {
	t.Helper()
	return manifest(t, "apiVersion: test.vecron.io/v1\nkind: Widget\nmetadata: {name: w}\nspec: "+spec)
}

func TestConvertClosesObjectsWithProperties(t *testing.T) {
	t.Parallel()
	s := widgets(t, `
type: object
properties:
  spec:
    type: object
    properties:
      size: {type: integer}
      inner:
        type: object
        properties:
          a: {type: string}
`)
	require.NoError(t, s.Validate(widget(t, "{size: 1, inner: {a: x}}")))
	requireField(t, s.Validate(widget(t, "{sise: 1}")), "spec.sise", "unknown field")
	requireField(t, s.Validate(widget(t, "{inner: {b: x}}")), "spec.inner.b", "unknown field")
	requireField(t, s.Validate(manifest(t, "apiVersion: test.vecron.io/v1\nkind: Widget\nmetadata: {name: w}\nstatus: {}")), "status", "unknown field")
}

func TestConvertObjectWithoutFieldsKeepsNone(t *testing.T) {
	t.Parallel()
	// The API server prunes every field of an object schema that declares none, so a
	// manifest that sets one would lose it on apply.
	s := widgets(t, `
type: object
properties:
  spec: {type: object}
`)
	require.NoError(t, s.Validate(widget(t, "{}")))
	requireField(t, s.Validate(widget(t, "{anything: 1}")), "spec.anything", "unknown field")
}

func TestConvertPreserveUnknownFieldsStaysOpen(t *testing.T) {
	t.Parallel()
	s := widgets(t, `
type: object
properties:
  spec:
    type: object
    x-kubernetes-preserve-unknown-fields: true
    properties:
      size: {type: integer}
`)
	require.NoError(t, s.Validate(widget(t, "{size: 1, anything: {deep: [1]}}")))
	requireField(t, s.Validate(widget(t, "{size: one}")), "spec.size", "want integer")
}

func TestConvertMapsStayMaps(t *testing.T) {
	t.Parallel()
	s := widgets(t, `
type: object
properties:
  spec:
    type: object
    properties:
      labels:
        type: object
        additionalProperties: {type: string}
`)
	require.NoError(t, s.Validate(widget(t, "{labels: {a: x, b.c/d: z}}")))
	requireField(t, s.Validate(widget(t, `{labels: {"b.c/d": 1}}`)), `spec.labels["b.c/d"]`, "want string")
}

func TestConvertIntOrString(t *testing.T) {
	t.Parallel()
	s := widgets(t, `
type: object
properties:
  spec:
    type: object
    properties:
      port:
        anyOf: [{type: integer}, {type: string}]
        x-kubernetes-int-or-string: true
`)
	require.NoError(t, s.Validate(widget(t, "{port: 8080}")))
	require.NoError(t, s.Validate(widget(t, "{port: http}")))
	requireField(t, s.Validate(widget(t, "{port: true}")), "spec.port", "want integer or string")
	requireField(t, s.Validate(widget(t, "{port: 1.5}")), "spec.port", "want integer or string")
}

func TestConvertNullable(t *testing.T) {
	t.Parallel()
	s := widgets(t, `
type: object
properties:
  spec:
    type: object
    properties:
      maybe: {type: string, nullable: true}
      never: {type: string}
      choice: {type: string, enum: [a, b], nullable: true}
`)
	require.NoError(t, s.Validate(widget(t, "{maybe: null, choice: null}")))
	require.NoError(t, s.Validate(widget(t, "{maybe: x, choice: a}")))
	requireField(t, s.Validate(widget(t, "{never: null}")), "spec.never", "want string")
	requireField(t, s.Validate(widget(t, "{choice: c}")), "spec.choice", "must be one of")
}

func TestConvertEmbeddedResource(t *testing.T) {
	t.Parallel()
	s := widgets(t, `
type: object
properties:
  spec:
    type: object
    properties:
      template:
        type: object
        x-kubernetes-embedded-resource: true
        properties:
          spec:
            type: object
            properties:
              replicas: {type: integer}
      loose:
        type: object
        x-kubernetes-embedded-resource: true
        x-kubernetes-preserve-unknown-fields: true
`)
	full := "{template: {apiVersion: apps/v1, kind: Deployment, metadata: {name: d, labels: {a: b}}, spec: {replicas: 1}}}"
	require.NoError(t, s.Validate(widget(t, full)))
	requireField(t, s.Validate(widget(t, "{template: {apiVersion: apps/v1, spec: {}}}")), "spec.template.kind", "required")
	requireField(t, s.Validate(widget(t, "{template: {apiVersion: apps/v1, kind: D, metadata: {nmae: d}}}")), "spec.template.metadata.nmae", "unknown field")
	requireField(t, s.Validate(widget(t, "{template: {apiVersion: apps/v1, kind: D, sepc: {}}}")), "spec.template.sepc", "unknown field")
	require.NoError(t, s.Validate(widget(t, "{loose: {apiVersion: v1, kind: ConfigMap, data: {a: b}}}")))
	requireField(t, s.Validate(widget(t, "{loose: {data: {a: b}}}")), "spec.loose.apiVersion", "required")
}

func TestConvertRootMetadataIsObjectMeta(t *testing.T) {
	t.Parallel()
	s := widgets(t, `
type: object
properties:
  metadata: {type: object}
`)
	ok := "apiVersion: test.vecron.io/v1\nkind: Widget\nmetadata:\n  name: w\n  labels: {app.kubernetes.io/name: vecron}\n  annotations: {a: b}\n  creationTimestamp: null\n"
	require.NoError(t, s.Validate(manifest(t, ok)))
	requireField(t, s.Validate(manifest(t, edit(t, ok, "labels:", "lables:"))), "metadata.lables", "unknown field")
	requireField(t, s.Validate(manifest(t, edit(t, ok, "{a: b}", "{a: 1}"))), "metadata.annotations.a", "want string")
}

func TestConvertExclusiveBounds(t *testing.T) {
	t.Parallel()
	s := widgets(t, `
type: object
properties:
  spec:
    type: object
    properties:
      ratio: {type: number, minimum: 0, exclusiveMinimum: true, maximum: 1, exclusiveMaximum: true}
      count: {type: integer, minimum: 0}
`)
	require.NoError(t, s.Validate(widget(t, "{ratio: 0.5, count: 0}")))
	requireField(t, s.Validate(widget(t, "{ratio: 0}")), "spec.ratio", "exclusiveMinimum")
	requireField(t, s.Validate(widget(t, "{ratio: 1}")), "spec.ratio", "exclusiveMaximum")
	requireField(t, s.Validate(widget(t, "{count: -1}")), "spec.count", "minimum")
}

func TestConvertListTypeSet(t *testing.T) {
	t.Parallel()
	s := widgets(t, `
type: object
properties:
  spec:
    type: object
    properties:
      tags: {type: array, items: {type: string}, x-kubernetes-list-type: set}
      list: {type: array, items: {type: string}, x-kubernetes-list-type: atomic}
`)
	require.NoError(t, s.Validate(widget(t, "{tags: [a, b], list: [a, a]}")))
	requireField(t, s.Validate(widget(t, "{tags: [a, a]}")), "spec.tags", "are equal")
}

func TestConvertJunctionsAreNotClosed(t *testing.T) {
	t.Parallel()
	// A branch of allOf/anyOf sees the whole object: closing it would refuse the parent's own
	// fields. The parent, closed, still refuses unknown ones.
	s := widgets(t, `
type: object
properties:
  spec:
    type: object
    properties:
      a: {type: string}
      b: {type: string}
    allOf:
      - properties:
          a: {minLength: 1}
    anyOf:
      - required: [a]
      - required: [b]
`)
	require.NoError(t, s.Validate(widget(t, "{a: x, b: w}")))
	requireField(t, s.Validate(widget(t, `{a: ""}`)), "spec.a", "minLength")
	requireField(t, s.Validate(widget(t, "{c: z}")), "spec.c", "unknown field")
	requireField(t, s.Validate(widget(t, "{}")), "spec.a", "required")
}

func TestConvertRefusesWhatItDoesNotKnow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, schema, want string
	}{
		{"UnknownKeyword", "type: object\nproperties:\n  spec: {type: object, patternProperties: {'^a': {type: string}}}",
			`openAPIV3Schema.properties.spec: keyword "patternProperties"`},
		{"Ref", "type: object\nproperties:\n  spec: {$ref: '#/definitions/x'}", `keyword "$ref"`},
		{"ItemsList", "type: object\nproperties:\n  spec: {type: array, items: [{type: string}]}", "items: want one schema"},
		{"FlagNotBoolean", "type: object\nproperties:\n  spec: {type: string, nullable: 'yes'}", "nullable: want a boolean"},
		{"IntOrStringWithType", "type: object\nproperties:\n  spec: {type: string, x-kubernetes-int-or-string: true}", "x-kubernetes-int-or-string with a type"},
		{"ExclusiveWithoutBound", "type: object\nproperties:\n  spec: {type: integer, exclusiveMinimum: true}", "exclusiveMinimum without minimum"},
		{"ListType", "type: object\nproperties:\n  spec: {type: array, x-kubernetes-list-type: bag}", "bag is not atomic, set or map"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := crds.ParseCRD([]byte(crdYAML(tc.schema)))
			require.ErrorContains(t, err, tc.want)
		})
	}
	t.Run("NotACRD", func(t *testing.T) {
		t.Parallel()
		_, err := crds.ParseCRD([]byte("apiVersion: v1\nkind: ConfigMap\n"))
		require.ErrorContains(t, err, "not an apiextensions.k8s.io/v1 CustomResourceDefinition")
	})
}

func TestConvertLeavesUnservedVersionsOut(t *testing.T) {
	t.Parallel()
	data := []byte(strings.Replace(crdYAML("type: object"), "served: true", "served: false", 1))
	src := provenance.Sources{Files: []provenance.File{{Name: "widgets.yaml", SHA256: provenance.SHA256(data)}}}
	s, err := crds.LoadFS(fstest.MapFS{"widgets.yaml": {Data: data}, provenance.FileName: {Data: src.Format()}})
	require.NoError(t, err)
	require.ErrorIs(t, s.Validate(widget(t, "{}")), crds.ErrUnknownKind)
}

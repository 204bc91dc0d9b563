package crds

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

// CRD is what a CustomResourceDefinition says about validation: its group, kind and, per
// version, the JSON Schema converted from the version's openAPIV3Schema.
type CRD struct {
	Group    string
	Kind     string
	Versions []Version
}

// Version is one version of a CRD.
type Version struct {
	Name   string
	Served bool
	Schema map[string]any // JSON Schema, draft 2020-12, from Convert
}

// ParseCRD reads an apiextensions.k8s.io/v1 CustomResourceDefinition (YAML or JSON) and converts
// the schema of each of its versions. It returns an error when the document is not such a CRD,
// a version has no schema, or Convert refuses one.
func ParseCRD(data []byte) (*CRD, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("decode CRD: %w", err)
	}
	// UnmarshalJSON keeps numbers as json.Number, so a minimum of 1 stays an integer bound.
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return nil, fmt.Errorf("decode CRD: %w", err)
	}
	root, _ := doc.(map[string]any)
	if root["apiVersion"] != "apiextensions.k8s.io/v1" || root["kind"] != "CustomResourceDefinition" {
		return nil, fmt.Errorf("decode CRD: not an apiextensions.k8s.io/v1 CustomResourceDefinition (apiVersion %v, kind %v)",
			root["apiVersion"], root["kind"])
	}
	spec, _ := root["spec"].(map[string]any)
	names, _ := spec["names"].(map[string]any)
	crd := &CRD{}
	crd.Group, _ = spec["group"].(string)
	crd.Kind, _ = names["kind"].(string)
	if crd.Group == "" || crd.Kind == "" {
		return nil, fmt.Errorf("decode CRD: spec.group and spec.names.kind are required")
	}
	versions, _ := spec["versions"].([]any)
	for i, v := range versions {
		vm, _ := v.(map[string]any)
		name, _ := vm["name"].(string)
		served, _ := vm["served"].(bool)
		schema, _ := vm["schema"].(map[string]any)
		open, ok := schema["openAPIV3Schema"].(map[string]any)
		if name == "" || !ok {
			return nil, fmt.Errorf("%s: spec.versions[%d]: want a name and schema.openAPIV3Schema", crd.Kind, i)
		}
		js, err := Convert(open)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", crd.Kind, name, err)
		}
		crd.Versions = append(crd.Versions, Version{Name: name, Served: served, Schema: js})
	}
	if len(crd.Versions) == 0 {
		return nil, fmt.Errorf("%s: no versions", crd.Kind)
	}
	return crd, nil
}

// Convert turns a CRD version's openAPIV3Schema into a JSON Schema (draft 2020-12) that refuses
// what the API server would refuse or silently drop:
//
//   - every object schema without x-kubernetes-preserve-unknown-fields and without
//     additionalProperties gets additionalProperties: false — the API server prunes the fields
//     such a schema does not declare, so a misspelt field would vanish on apply;
//   - x-kubernetes-int-or-string becomes type [integer, string];
//   - nullable adds null to the type (and to enum);
//   - x-kubernetes-embedded-resource declares and requires apiVersion and kind, and checks
//     metadata as ObjectMeta, as the API server does;
//   - the root always has apiVersion, kind and metadata, declared or not, and metadata is
//     checked as ObjectMeta (labels and annotations maps of strings);
//   - exclusiveMinimum/exclusiveMaximum (booleans in OpenAPI v3) become the draft 2020-12 numbers;
//   - x-kubernetes-list-type: set becomes uniqueItems.
//
// Annotations (description, default, example, format, the other x-kubernetes list and map hints)
// are dropped; formats are not asserted, and x-kubernetes-validations (CEL) are not evaluated.
// Any other keyword, or a keyword of the wrong type, is an error naming its place, so a schema
// this converter does not understand fails the load instead of validating loosely.
func Convert(openAPIV3Schema map[string]any) (map[string]any, error) {
	out, err := convert(openAPIV3Schema, "openAPIV3Schema", true)
	if err != nil {
		return nil, err
	}
	// Every object at the root has apiVersion, kind and an ObjectMeta, declared or not: the API
	// server validates them itself.
	props, _ := out["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
		out["properties"] = props
	}
	for _, k := range []string{"apiVersion", "kind"} {
		if _, ok := props[k]; !ok {
			props[k] = map[string]any{"type": "string"}
		}
	}
	md, _ := props["metadata"].(map[string]any)
	props["metadata"] = withObjectMeta(md)
	out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	return out, nil
}

// copied keywords mean the same in a CRD schema and in draft 2020-12.
var copied = []string{
	"type", "required", "enum", "pattern", "minLength", "maxLength", "minItems", "maxItems",
	"uniqueItems", "minimum", "maximum", "multipleOf", "minProperties", "maxProperties",
}

// annotations never change what validates.
var annotations = []string{
	"description", "default", "example", "externalDocs", "title", "format",
	"x-kubernetes-list-map-keys", "x-kubernetes-map-type", "x-kubernetes-validations",
}

// convert converts one schema node. structural is false inside anyOf, allOf, oneOf and not,
// whose branches see the whole object: closing them would refuse the parent's own fields.
func convert(in map[string]any, at string, structural bool) (map[string]any, error) {
	out := map[string]any{}
	var flags struct{ preserve, intOrString, embedded, nullable, exclMin, exclMax bool }
	for _, k := range slices.Sorted(maps.Keys(in)) {
		v := in[k]
		var err error
		switch {
		case slices.Contains(copied, k):
			out[k] = v
		case slices.Contains(annotations, k):
		case k == "properties":
			err = convertProperties(v, at, structural, out)
		case k == "additionalProperties":
			switch ap := v.(type) {
			case bool:
				out[k] = ap
			case map[string]any:
				out[k], err = convert(ap, at+".additionalProperties", structural)
			default:
				err = fmt.Errorf("%s.additionalProperties: want a boolean or a schema", at)
			}
		case k == "items":
			item, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s.items: want one schema (a list of schemas is not allowed in a CRD)", at)
			}
			out[k], err = convert(item, at+".items", structural)
		case k == "anyOf" || k == "allOf" || k == "oneOf":
			out[k], err = convertList(v, at+"."+k)
		case k == "not":
			n, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s.not: want a schema", at)
			}
			out[k], err = convert(n, at+".not", false)
		case k == "x-kubernetes-list-type":
			switch v {
			case "set":
				out["uniqueItems"] = true
			case "atomic", "map":
			default:
				err = fmt.Errorf("%s.%s: %v is not atomic, set or map", at, k, v)
			}
		case k == "x-kubernetes-preserve-unknown-fields":
			flags.preserve, err = boolean(v, at, k)
		case k == "x-kubernetes-int-or-string":
			flags.intOrString, err = boolean(v, at, k)
		case k == "x-kubernetes-embedded-resource":
			flags.embedded, err = boolean(v, at, k)
		case k == "nullable":
			flags.nullable, err = boolean(v, at, k)
		case k == "exclusiveMinimum":
			flags.exclMin, err = boolean(v, at, k)
		case k == "exclusiveMaximum":
			flags.exclMax, err = boolean(v, at, k)
		default:
			err = fmt.Errorf("%s: keyword %q is not one a CRD schema may use, or not one this converter knows", at, k)
		}
		if err != nil {
			return nil, err
		}
	}
	for kw, excl := range map[string]bool{"Minimum": flags.exclMin, "Maximum": flags.exclMax} {
		if !excl {
			continue
		}
		bound, ok := out[lowerFirst(kw)]
		if !ok {
			return nil, fmt.Errorf("%s: exclusive%s without %s", at, kw, lowerFirst(kw))
		}
		delete(out, lowerFirst(kw))
		out["exclusive"+kw] = bound
	}
	if flags.intOrString {
		if _, typed := out["type"]; typed {
			return nil, fmt.Errorf("%s: x-kubernetes-int-or-string with a type", at)
		}
		out["type"] = []any{"integer", "string"}
	}
	if flags.embedded {
		embedResource(out)
	}
	if _, hasProps := out["properties"]; structural && !flags.preserve && (hasProps || out["type"] == "object") {
		if _, open := out["additionalProperties"]; !open {
			out["additionalProperties"] = false
		}
	}
	if flags.nullable {
		nullable(out)
	}
	return out, nil
}

func convertProperties(v any, at string, structural bool, out map[string]any) error {
	props, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s.properties: want a map of schemas", at)
	}
	conv := make(map[string]any, len(props))
	for name, p := range props {
		pm, ok := p.(map[string]any)
		if !ok {
			return fmt.Errorf("%s.properties.%s: want a schema", at, name)
		}
		c, err := convert(pm, at+".properties."+name, structural)
		if err != nil {
			return err
		}
		conv[name] = c
	}
	out["properties"] = conv
	return nil
}

func convertList(v any, at string) ([]any, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: want a list of schemas", at)
	}
	out := make([]any, len(list))
	for i, s := range list {
		sm, ok := s.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s[%d]: want a schema", at, i)
		}
		c, err := convert(sm, fmt.Sprintf("%s[%d]", at, i), false)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

func boolean(v any, at, k string) (bool, error) {
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%s.%s: want a boolean, got %v", at, k, v)
	}
	return b, nil
}

func lowerFirst(s string) string { return string(s[0]+'a'-'A') + s[1:] }

// nullable lets null through wherever the type and enum would refuse it.
func nullable(out map[string]any) {
	switch t := out["type"].(type) {
	case string:
		out["type"] = []any{t, "null"}
	case []any:
		out["type"] = append(t, "null")
	}
	if e, ok := out["enum"].([]any); ok {
		out["enum"] = append(slices.Clone(e), nil)
	}
}

// embedResource makes a schema an embedded Kubernetes object, as the API server treats
// x-kubernetes-embedded-resource: apiVersion and kind required, metadata an ObjectMeta.
func embedResource(out map[string]any) {
	out["type"] = "object"
	props, _ := out["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
		out["properties"] = props
	}
	for _, k := range []string{"apiVersion", "kind"} {
		if _, ok := props[k]; !ok {
			props[k] = map[string]any{"type": "string", "minLength": 1}
		}
	}
	md, _ := props["metadata"].(map[string]any)
	props["metadata"] = withObjectMeta(md)
	req, _ := out["required"].([]any)
	for _, k := range []any{"apiVersion", "kind"} {
		if !slices.Contains(req, k) {
			req = append(req, k)
		}
	}
	out["required"] = req
}

// withObjectMeta is ObjectMeta's schema, with the constraints a CRD may add on metadata's own
// properties (name and generateName only, by the API server's rules) kept.
func withObjectMeta(crdMeta map[string]any) map[string]any {
	om := objectMeta()
	if crdProps, ok := crdMeta["properties"].(map[string]any); ok {
		props := om["properties"].(map[string]any)
		maps.Copy(props, crdProps)
	}
	return om
}

// objectMeta is the schema of metav1.ObjectMeta as a manifest may write it. The API server
// checks metadata itself, whatever the CRD says; fields it sets (uid, resourceVersion …) are
// allowed because a manifest read back from a cluster carries them.
func objectMeta() map[string]any {
	str := func() map[string]any { return map[string]any{"type": "string"} }
	strMap := func() map[string]any {
		return map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}
	}
	return map[string]any{
		"type":                 "object",
		"additionalProperties": false,
		"properties": map[string]any{
			"name":                       str(),
			"generateName":               str(),
			"namespace":                  str(),
			"labels":                     strMap(),
			"annotations":                strMap(),
			"finalizers":                 map[string]any{"type": "array", "items": str()},
			"uid":                        str(),
			"resourceVersion":            str(),
			"selfLink":                   str(),
			"generation":                 map[string]any{"type": "integer"},
			"creationTimestamp":          map[string]any{"type": []any{"string", "null"}},
			"deletionTimestamp":          map[string]any{"type": []any{"string", "null"}},
			"deletionGracePeriodSeconds": map[string]any{"type": "integer"},
			"managedFields":              map[string]any{"type": "array", "items": map[string]any{"type": "object"}},
			"ownerReferences": map[string]any{
				"type": "array",
				"items": map[string]any{
					"type":                 "object",
					"additionalProperties": false,
					"required":             []any{"apiVersion", "kind", "name", "uid"},
					"properties": map[string]any{
						"apiVersion":         str(),
						"kind":               str(),
						"name":               str(),
						"uid":                str(),
						"controller":         map[string]any{"type": "boolean"},
						"blockOwnerDeletion": map[string]any{"type": "boolean"},
					},
				},
			},
		},
	}
}

package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/vecron/vecron/shared/domain"
)

// YAML is read by turning it into the JSON it stands for, which then goes through the one JSON
// decoder every write uses: the same strictness (unknown fields, duplicates, NUL bytes), the
// same field names in errors, the same types. It is written by turning the JSON the API writes
// into YAML, so both shapes always hold the same fields.

// mediaYAML is YAML's media type (RFC 9512).
const mediaYAML = "application/yaml"

// yamlToJSON returns the JSON document of the YAML document b. Anchors, aliases and merge keys
// are refused: they let a small document expand into a huge one, and a job needs none.
func yamlToJSON(b []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, badYAML("body", err.Error())
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, badYAML("body", "is empty; send one YAML document")
	}
	v, err := yamlValue(doc.Content[0], "")
	if err != nil {
		return nil, err
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, badYAML("body", err.Error())
	}
	return out, nil
}

func badYAML(field, reason string) error {
	return &domain.ValidationError{Fields: []domain.FieldError{{Field: cmpOr(field, "body"), Reason: reason}}}
}

// yamlValue is the JSON value of node n at path at.
func yamlValue(n *yaml.Node, at string) (any, error) {
	field := cmpOr(at, "body")
	if n.Anchor != "" || n.Kind == yaml.AliasNode {
		return nil, badYAML(field, "uses a YAML anchor or alias; write the value out")
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		keys := make([]string, 0, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
				return nil, badYAML(field, fmt.Sprintf("has a key at line %d that is not a plain name", k.Line))
			}
			key := join(at, k.Value)
			if _, dup := m[k.Value]; dup {
				return nil, badYAML(key, "appears twice; give each field once")
			}
			v, err := yamlValue(n.Content[i+1], key)
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
			keys = append(keys, k.Value)
		}
		return orderedMap{keys: keys, values: m}, nil
	case yaml.SequenceNode:
		list := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := yamlValue(c, at+"["+strconv.Itoa(i)+"]")
			if err != nil {
				return nil, err
			}
			list[i] = v
		}
		return list, nil
	case yaml.ScalarNode:
		return yamlScalar(n, field)
	}
	return nil, badYAML(field, "is not a YAML value")
}

// yamlScalar is the JSON value of a scalar: a string, a number, a boolean or null. A timestamp
// stays the text it was written as, which the JSON decoder then reads as RFC 3339.
func yamlScalar(n *yaml.Node, field string) (any, error) {
	switch n.ShortTag() {
	case "!!str", "!!timestamp":
		return n.Value, nil
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, badYAML(field, err.Error())
		}
		return b, nil
	case "!!int", "!!float":
		var f float64
		if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, badYAML(field, fmt.Sprintf("%q is not a number JSON can hold", printable(n.Value, 40)))
		}
		if decimal.MatchString(n.Value) {
			return json.Number(n.Value), nil // as written: -0 stays -0, a long one loses nothing
		}
		var i int64
		if n.ShortTag() == "!!int" && n.Decode(&i) == nil {
			return json.Number(strconv.FormatInt(i, 10)), nil
		}
		return f, nil
	}
	return nil, badYAML(field, fmt.Sprintf("has the YAML tag %s; only strings, numbers, booleans and null are taken", printable(n.Tag, 40)))
}

// decimal is a number as JSON writes it.
var decimal = regexp.MustCompile(`^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$`)

// orderedMap is a JSON object that keeps its keys in the order they were written, so that a
// JSON error points where the YAML did.
type orderedMap struct {
	keys   []string
	values map[string]any
}

func (m orderedMap) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range m.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		vb, err := json.Marshal(m.values[k])
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// jsonToYAML returns the YAML of the JSON document b, in block style, keys in their order. It
// builds the nodes itself rather than reading the JSON as YAML, which refuses some characters
// JSON writes raw (DEL, C1 controls); the encoder escapes them.
func jsonToYAML(b []byte) (*yaml.Node, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	n, err := yamlNode(dec)
	if err != nil {
		return nil, fmt.Errorf("json to yaml: %w", err)
	}
	return n, nil
}

func yamlNode(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case json.Delim:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if v == '{' {
			n = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		}
		for dec.More() {
			if v == '{' {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := k.(string)
				n.Content = append(n.Content, yamlString(key))
			}
			c, err := yamlNode(dec)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		_, err := dec.Token() // the closing delimiter
		return n, err
	case string:
		return yamlString(v), nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(v.String(), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v.String()}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v)}, nil
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
}

// yamlString is the node of string s. The encoder quotes what YAML 1.2 would read as another
// type; strings that YAML 1.1 reads so (yes, off, 1:30), as many tools still do, are quoted too.
func yamlString(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	switch {
	case strings.Contains(s, "\n") && literalSafe(s):
		n.Style = yaml.LiteralStyle
	case strings.Contains(s, "\n") || yaml11NotString(s):
		// The encoder would write other multi-line text as a literal block too, and some (a
		// line that starts with a tab) it writes so that it does not read back.
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// literalSafe reports whether multi-line text reads back as itself from a literal block:
// printable, no tab or carriage return, no line that starts with a space.
func literalSafe(s string) bool {
	for line := range strings.SplitSeq(s, "\n") {
		if strings.HasPrefix(line, " ") {
			return false
		}
	}
	for _, r := range s {
		if r != '\n' && (!unicode.IsPrint(r) || r == '\u2028' || r == '\u2029' || r == '\u0085' || r == '\ufeff') {
			return false
		}
	}
	return true
}

// yaml11Sexagesimal is a YAML 1.1 base-60 number, such as 1:30.
var yaml11Sexagesimal = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`)

// yaml11NotString reports whether YAML 1.1 reads the plain scalar s as something else than a
// string.
func yaml11NotString(s string) bool {
	switch strings.ToLower(s) {
	case "y", "yes", "n", "no", "on", "off", "true", "false", "null", "~", "":
		return true
	}
	return yaml11Sexagesimal.MatchString(s)
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxDocument bounds a job document, as the API bounds a request body.
const maxDocument = 1 << 20

// readOnlyJobField reports whether the API writes field of a job and never takes it: a job as
// `vecron jobs get -o yaml` shows it is a document to create or edit from, so these are left
// out of what is sent rather than refused.
func readOnlyJobField(field string) bool {
	switch field {
	case "id", "version", "state", "paused_at", "next_run_at", "shard", "created_at", "updated_at",
		"created_by", "updated_by", "stats":
		return true
	}
	return false
}

// jobDocument is a job definition read from a file: the body to send, and what it said of the
// job it came from.
type jobDocument struct {
	body json.RawMessage
	// id and version are the job and the version the document was read from, when it says.
	id      string
	version int64
}

// readDocument reads a document from file, or standard input for "-".
func readDocument(file string, stdin io.Reader) ([]byte, error) {
	var (
		b   []byte
		err error
	)
	if file == "-" {
		b, err = io.ReadAll(io.LimitReader(stdin, maxDocument+1))
	} else {
		var f *os.File
		if f, err = os.Open(file); err != nil {
			return nil, usageError{fmt.Errorf("-f: %w", errors.Unwrap(err))}
		}
		defer f.Close()
		b, err = io.ReadAll(io.LimitReader(f, maxDocument+1))
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	if len(b) > maxDocument {
		return nil, usageError{fmt.Errorf("-f: %s is larger than %d bytes", file, maxDocument)}
	}
	return b, nil
}

// parseJobDocument reads a job definition written in JSON or YAML into the JSON object the API
// takes, keys in the order written, without the fields the API does not take. Its errors name
// the line.
func parseJobDocument(b []byte) (jobDocument, error) {
	return parseObjectDocument(b, readOnlyJobField, "a job is an object of fields such as name and schedule")
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// maxDepth bounds the nesting of a document, against one built to exhaust the stack.
const maxDepth = 64

// writeJSON writes node n as JSON, mappings with their keys in order.
func writeJSON(buf *bytes.Buffer, n *yaml.Node, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("line %d: nested deeper than %d levels", n.Line, maxDepth)
	}
	n = resolveAlias(n)
	switch n.Kind {
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				buf.WriteByte(',')
			}
			k := resolveAlias(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: a key must be a plain string", k.Line)
			}
			key, _ := json.Marshal(k.Value)
			buf.Write(key)
			buf.WriteByte(':')
			if err := writeJSON(buf, n.Content[i+1], depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, c, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		if n.ShortTag() == "!!timestamp" {
			// A date stays the text written (2026-02-17), not the instant YAML reads in it.
			b, _ := json.Marshal(n.Value)
			buf.Write(b)
			return nil
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("line %d: %s", n.Line, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: %q has no JSON form", n.Line, n.Value)
		}
		buf.Write(b)
	default:
		return fmt.Errorf("line %d: not a value", n.Line)
	}
	return nil
}

// editableJob is the job the API answered (raw) as a YAML document to edit: its version, then
// the fields a PUT takes, in the API's order.
func editableJob(raw []byte) ([]byte, error) { return editableDocument(raw, readOnlyJobField) }

// parseObjectDocument reads an object written in JSON or YAML into the JSON object the API
// takes, keys in the order written, without the fields readOnly names; what says what the
// object should have been. The version it names, when it does, is kept apart.
func parseObjectDocument(b []byte, readOnly func(string) bool, what string) (jobDocument, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return jobDocument{}, usageError{fmt.Errorf("the document is neither JSON nor YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return jobDocument{}, usageError{errors.New("the document is empty")}
	}
	root := resolveAlias(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return jobDocument{}, usageError{fmt.Errorf("line %d: %s", root.Line, what)}
	}
	var (
		out jobDocument
		buf bytes.Buffer
	)
	buf.WriteByte('{')
	n := 0
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := resolveAlias(root.Content[i]), resolveAlias(root.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			return jobDocument{}, usageError{fmt.Errorf("line %d: a key must be a plain string", k.Line)}
		}
		switch k.Value {
		case "id":
			out.id = v.Value
		case "version":
			ver, err := strconv.ParseInt(v.Value, 10, 64)
			if err != nil || ver < 1 || v.Kind != yaml.ScalarNode {
				return jobDocument{}, usageError{fmt.Errorf("line %d: version: must be the whole number the version was read as", v.Line)}
			}
			out.version = ver
		}
		if readOnly(k.Value) {
			continue
		}
		if n > 0 {
			buf.WriteByte(',')
		}
		n++
		key, _ := json.Marshal(k.Value)
		buf.Write(key)
		buf.WriteByte(':')
		if err := writeJSON(&buf, v, 0); err != nil {
			return jobDocument{}, usageError{fmt.Errorf("%s: %w", k.Value, err)}
		}
	}
	buf.WriteByte('}')
	out.body = buf.Bytes()
	return out, nil
}

// editableDocument is an object the API answered (raw) as a YAML document to edit: its version,
// then the fields a PUT takes, in the API's order.
func editableDocument(raw []byte, readOnly func(string) bool) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the API answered with something other than an object")
	}
	root := doc.Content[0]
	var version []*yaml.Node
	kept := root.Content[:0:0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch k := root.Content[i].Value; {
		case k == "version":
			version = root.Content[i : i+2]
		case !readOnly(k):
			kept = append(kept, root.Content[i], root.Content[i+1])
		}
	}
	root.Content = append(version, kept...)
	blockStyle(&doc)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

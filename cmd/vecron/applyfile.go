package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vecron/vecron/shared/domain"
)

// maxApplyBody bounds what `jobs apply` reads, as the API bounds an apply's body.
const maxApplyBody = 8 << 20

// applyInput is what `jobs apply -f` read: the jobs of every file, in order, and the file and
// index each came from, to name them in the API's errors.
type applyInput struct {
	items   []*yaml.Node
	sources []applySource
	// dir is true when the jobs came from the files of a directory.
	dir bool
}

// applySource is where an item of an apply was written.
type applySource struct {
	file  string
	index int
}

// readApplyInput reads the jobs of path: a file, every *.yaml, *.yml and *.json file of a
// directory (not its subdirectories) in the order of their names, or standard input for "-".
// Each file is {"jobs": [...]} in JSON or YAML, as `vecron jobs export` writes it. Its errors
// are usage errors naming the file.
func readApplyInput(path string, stdin io.Reader) (*applyInput, error) {
	in := &applyInput{}
	if path == "-" {
		b, err := io.ReadAll(io.LimitReader(stdin, maxApplyBody+1))
		if err != nil {
			return nil, fmt.Errorf("read standard input: %w", err)
		}
		return in, in.add("standard input", b)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, usageError{fmt.Errorf("-f: %w", errors.Unwrap(err))}
	}
	files := []string{path}
	if info.IsDir() {
		in.dir = true
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, usageError{fmt.Errorf("-f: %w", errors.Unwrap(err))}
		}
		files = files[:0]
		for _, e := range entries { // sorted by name
			switch strings.ToLower(filepath.Ext(e.Name())) {
			case ".yaml", ".yml", ".json":
				if !e.IsDir() {
					files = append(files, filepath.Join(path, e.Name()))
				}
			}
		}
		if len(files) == 0 {
			return nil, usageError{fmt.Errorf("-f: %s holds no *.yaml, *.yml or *.json file", path)}
		}
	}
	total := 0
	for _, f := range files {
		b, err := readDocumentMax(f, maxApplyBody-total)
		if err != nil {
			return nil, err
		}
		total += len(b)
		if err := in.add(f, b); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// readDocumentMax reads file, refusing one larger than limit bytes.
func readDocumentMax(file string, limit int) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, usageError{fmt.Errorf("-f: %w", errors.Unwrap(err))}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	if len(b) > limit {
		return nil, usageError{fmt.Errorf("-f: the jobs to apply are larger than %d bytes, as the API takes at most: split them by namespace", maxApplyBody)}
	}
	return b, nil
}

// add appends the jobs of the file named name, whose content is b.
func (in *applyInput) add(name string, b []byte) error {
	if len(b) > maxApplyBody {
		return usageError{fmt.Errorf("%s is larger than %d bytes, as the API takes at most: split it by namespace", name, maxApplyBody)}
	}
	items, err := parseJobsFile(b)
	if err != nil {
		return usageError{fmt.Errorf("%s: %w", name, err)}
	}
	for i, it := range items {
		in.items = append(in.items, it)
		in.sources = append(in.sources, applySource{file: name, index: i})
	}
	return nil
}

// parseJobsFile returns the items of a file of jobs: one JSON or YAML document {"jobs": [...]}
// and nothing else. Anchors and aliases are refused, as the API refuses them.
func parseJobsFile(b []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF):
		return nil, errors.New(`is empty: a file of jobs is {"jobs": [...]}, as vecron jobs export writes it`)
	case err != nil:
		return nil, fmt.Errorf("is neither JSON nor YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, fmt.Errorf("line %d: a second YAML document; a file holds one {\"jobs\": [...]}", next.Line)
	case !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("is neither JSON nor YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 {
		return nil, errors.New(`is empty: a file of jobs is {"jobs": [...]}, as vecron jobs export writes it`)
	}
	root := doc.Content[0]
	if err := plainYAML(root, 0); err != nil {
		return nil, err
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf(`line %d: a file of jobs is an object {"jobs": [...]}, as vecron jobs export writes it`, root.Line)
	}
	var jobs *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch {
		case k.Kind == yaml.ScalarNode && k.Value == "jobs" && jobs == nil:
			if v.Kind != yaml.SequenceNode {
				return nil, fmt.Errorf("line %d: jobs: must be a list of jobs", v.Line)
			}
			jobs = v
		case k.Kind == yaml.ScalarNode && k.Value == "jobs":
			return nil, fmt.Errorf("line %d: jobs: appears twice", k.Line)
		default:
			return nil, fmt.Errorf("line %d: %s: a file of jobs holds only jobs (--namespace, --prune and --dry-run are flags)",
				k.Line, strconv.Quote(clip(k.Value, 40)))
		}
	}
	if jobs == nil {
		return nil, errors.New(`has no jobs: a file of jobs is {"jobs": [...]}, as vecron jobs export writes it`)
	}
	return jobs.Content, nil
}

// plainYAML refuses anchors and aliases, which let a small file expand into a huge one, and
// writes out the nulls left empty (`description:`), which the encoder would write as an empty string.
func plainYAML(n *yaml.Node, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("line %d: nested deeper than %d levels", n.Line, maxDepth)
	}
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return fmt.Errorf("line %d: a YAML anchor or alias; write the value out", n.Line)
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" && n.Value == "" {
		n.Value = "null"
	}
	for _, c := range n.Content {
		if err := plainYAML(c, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// body is the YAML body of POST /api/v1/jobs/apply: every job read, and the flags. It is sent
// as YAML so that the API's one reader judges every value as it judges a file posted to it.
func (in *applyInput) body(namespaces []string, prune, dryRun bool) ([]byte, error) {
	str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
	boolean := func(b bool) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
	}
	items := in.items
	if items == nil {
		items = []*yaml.Node{}
	}
	root := &yaml.Node{Kind: yaml.MappingNode}
	root.Content = append(root.Content, str("jobs"), &yaml.Node{Kind: yaml.SequenceNode, Content: items})
	if len(namespaces) > 0 {
		ns := &yaml.Node{Kind: yaml.SequenceNode}
		for _, n := range namespaces {
			ns.Content = append(ns.Content, str(n))
		}
		root.Content = append(root.Content, str("namespaces"), ns)
	}
	root.Content = append(root.Content, str("prune"), boolean(prune), str("dry_run"), boolean(dryRun))
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("write the apply: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("write the apply: %w", err)
	}
	return b.Bytes(), nil
}

var itemField = regexp.MustCompile(`^jobs\[(\d+)\]`)

// locate names, in the API's errors about items of an apply from a directory, the file each
// item came from and its place there: "jobs[7].timeout" is "ops.yaml: jobs[2].timeout". Items of
// one file keep the API's names, which are already theirs.
func (in *applyInput) locate(err error) error {
	var p *apiError
	if !in.dir || !errors.As(err, &p) {
		return err
	}
	for i, f := range p.Fields {
		m := itemField.FindStringSubmatch(f.Field)
		if m == nil {
			continue
		}
		n, perr := strconv.Atoi(m[1])
		if perr != nil || n >= len(in.sources) {
			continue
		}
		src := in.sources[n]
		p.Fields[i] = domain.FieldError{Field: fmt.Sprintf("%s: jobs[%d]%s", src.file, src.index, f.Field[len(m[0]):]), Reason: f.Reason}
	}
	return err
}

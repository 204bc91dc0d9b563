package check

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/vecron/vecron/functions/contract"
	"github.com/vecron/vecron/shared/event"
)

// Doc is what a deploy guide (docs/deploy-*.md) says that can be held to the chart and the
// binaries: its complete values files, the values its helm commands set, the environment
// variables and the dotted names (settings or values) it mentions.
type Doc struct {
	Name string
	// Values are the fenced yaml blocks whose first line is "# values: <name>": complete values
	// files, rendered and checked like the value sets of testdata.
	Values []DocValues
	// Sets are the keys of every --set, --set-string and --set-file of a helm install or
	// upgrade command.
	Sets []DocName
	// Env are the VECRON_* names anywhere in the guide.
	Env []DocName
	// Keys are the dotted names in inline code (`forward.enabled`, `keda.cooldownPeriod`).
	Keys []DocName
}

// DocValues is one values file of a guide.
type DocValues struct {
	Line int
	Name string
	YAML string
}

// DocName is a name a guide mentions, with its line.
type DocName struct {
	Line int
	Name string
}

var (
	valuesHeader = regexp.MustCompile(`^# values: ([a-z0-9-]+)\s*$`)
	envName      = regexp.MustCompile(`\bVECRON_[A-Z0-9_]*[A-Z0-9]\b`)
	inlineCode   = regexp.MustCompile("`([^`]+)`")
	dotted       = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*(\.[a-zA-Z0-9_]+)+$`)
	setFlag      = regexp.MustCompile(`^--set(-string|-file|-json)?(=.*)?$`)
)

// ParseDoc reads a guide's markdown.
func ParseDoc(name, md string) Doc {
	d := Doc{Name: name}
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		for _, m := range envName.FindAllString(line, -1) {
			d.Env = append(d.Env, DocName{i + 1, m})
		}
		fence, ok := strings.CutPrefix(strings.TrimSpace(line), "```")
		if !ok {
			for _, m := range inlineCode.FindAllStringSubmatch(line, -1) {
				tok, _, _ := strings.Cut(m[1], "=")
				if f := strings.Fields(tok); len(f) > 0 {
					tok = strings.TrimSuffix(f[0], ":")
				}
				if dotted.MatchString(tok) {
					d.Keys = append(d.Keys, DocName{i + 1, tok})
				}
			}
			continue
		}
		// A fenced block: to its closing fence. start is the line of its first line.
		start := i + 2
		var body []string
		for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
			body = append(body, lines[i])
			for _, m := range envName.FindAllString(lines[i], -1) {
				d.Env = append(d.Env, DocName{i + 1, m})
			}
		}
		if strings.TrimSpace(fence) == "yaml" && len(body) > 0 {
			if m := valuesHeader.FindStringSubmatch(body[0]); m != nil {
				d.Values = append(d.Values, DocValues{Line: start, Name: m[1], YAML: strings.Join(body, "\n") + "\n"})
				continue
			}
		}
		d.Sets = append(d.Sets, helmSets(body, start)...)
	}
	return d
}

// helmSets returns the keys the helm install and upgrade commands of a block set, a command's
// continued lines joined.
func helmSets(body []string, start int) []DocName {
	var out []DocName
	for j := 0; j < len(body); j++ {
		first := j
		cmd := body[j]
		for strings.HasSuffix(strings.TrimSpace(cmd), `\`) && j+1 < len(body) {
			j++
			cmd = strings.TrimSuffix(strings.TrimSpace(cmd), `\`) + " " + body[j]
		}
		f := strings.Fields(cmd)
		// Only commands that install this chart: other charts' values are their own.
		if len(f) < 2 || !slices.Contains(f, "helm") || !slices.ContainsFunc(f, func(s string) bool {
			return strings.HasSuffix(strings.TrimSuffix(s, "/"), "charts/vecron")
		}) {
			continue
		}
		h := slices.Index(f, "helm")
		if h+1 >= len(f) || (f[h+1] != "install" && f[h+1] != "upgrade") {
			continue
		}
		for k := h + 2; k < len(f); k++ {
			m := setFlag.FindStringSubmatch(f[k])
			if m == nil {
				continue
			}
			arg := strings.TrimPrefix(m[2], "=")
			if arg == "" && k+1 < len(f) {
				k++
				arg = f[k]
			}
			arg = strings.Trim(arg, `'"`)
			for _, kv := range splitUnescaped(arg, ',') {
				key, _, _ := strings.Cut(kv, "=")
				out = append(out, DocName{start + first, key})
			}
		}
	}
	return out
}

// splitUnescaped splits s at every sep not preceded by a backslash.
func splitUnescaped(s string, sep byte) []string {
	var out []string
	last := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == sep {
			out = append(out, s[last:i])
			last = i + 1
		}
	}
	return append(out, s[last:])
}

// settingRoles are the functions each role of the chart's settings.<role> sets.
var settingRoles = map[string][]string{
	"all":      {"tick", "execute-http", "execute-db", "execute-db-oracle", "api"},
	"tick":     {"tick"},
	"executor": {"execute-http", "execute-db", "execute-db-oracle"},
	"api":      {"api"},
}

// CheckDocNames holds a guide's names to the chart's values schema and the binaries' settings:
// every --set key is a value the schema knows (a settings.<role> key a setting of that role's
// functions), every VECRON_* name an environment variable of a function's setting (or a stream
// a function consumes, VECRON_DUE), and every
// dotted name in inline code whose first part is a settings section or a top-level value
// either a value or a setting. Host names (a part "svc") and file names are not names.
func CheckDocNames(d Doc, fns []contract.Function, schemaJSON []byte) error {
	var schema map[string]any
	if err := json.Unmarshal(schemaJSON, &schema); err != nil {
		return fmt.Errorf("values.schema.json: %w", err)
	}
	keys := map[string][]string{} // setting key → functions
	envs := map[string]bool{}
	sections := map[string]bool{}
	// The streams are named like variables (VECRON_DUE), and a guide may name any of them.
	names := event.Names{}
	for _, s := range []string{names.DueStream(), names.EventsStream(), names.DLQStream()} {
		envs[s] = true
	}
	for _, f := range fns {
		for _, c := range f.Consumers {
			envs[c.Stream] = true
		}
		for _, s := range f.Settings {
			keys[s.Key] = append(keys[s.Key], f.Name)
			for _, n := range s.Env {
				envs[n] = true
			}
			first, _, _ := strings.Cut(s.Key, ".")
			sections[first] = true
		}
	}
	props, _ := schema["properties"].(map[string]any)
	for k := range props {
		sections[k] = true
	}
	var errs []error
	fail := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s", d.Name, line, fmt.Sprintf(format, args...)))
	}
	known := func(path []string) bool {
		if len(path) >= 3 && path[0] == "settings" {
			fns, ok := settingRoles[path[1]]
			key := strings.Join(path[2:], ".")
			return ok && slices.ContainsFunc(keys[key], func(f string) bool { return slices.Contains(fns, f) })
		}
		return schemaKnows(schema, schema, path)
	}
	for _, s := range d.Sets {
		if !known(setPath(s.Name)) {
			fail(s.Line, "--set %s: the chart's values schema has no such value", s.Name)
		}
	}
	for _, e := range d.Env {
		if !envs[e.Name] {
			fail(e.Line, "%s: no function reads it", e.Name)
		}
	}
	for _, k := range d.Keys {
		parts := strings.Split(k.Name, ".")
		if !sections[parts[0]] || slices.Contains(parts, "svc") || fileExt[parts[len(parts)-1]] {
			continue
		}
		if len(keys[k.Name]) == 0 && !known(parts) {
			fail(k.Line, "%s: neither a setting of a function nor a value of the chart", k.Name)
		}
	}
	return errors.Join(errs...)
}

// fileExt are the extensions that make a dotted name a file's.
var fileExt = map[string]bool{"yml": true, "yaml": true, "json": true, "md": true, "txt": true, "go": true, "tpl": true, "creds": true, "crt": true, "key": true, "conf": true, "sql": true, "tar": true}

// setPath splits a --set key at its unescaped dots, dropping list indexes ("a.b[0].c" is
// a, b, c) and the escapes.
func setPath(key string) []string {
	var out []string
	for _, p := range splitUnescaped(key, '.') {
		p = strings.ReplaceAll(p, `\.`, ".")
		if i := strings.IndexByte(p, '['); i >= 0 {
			p = p[:i]
		}
		out = append(out, p)
	}
	return out
}

// schemaKnows reports whether the JSON Schema node (of root, for $ref) admits path: each part
// a declared property, an item of a list, or a key of a map (patternProperties,
// additionalProperties, or propertyNames without declared properties).
func schemaKnows(root, node map[string]any, path []string) bool {
	for range 16 {
		ref, ok := node["$ref"].(string)
		if !ok {
			break
		}
		name, ok := strings.CutPrefix(ref, "#/$defs/")
		defs, _ := root["$defs"].(map[string]any)
		next, _ := defs[name].(map[string]any)
		if !ok || next == nil {
			return false
		}
		node = next
	}
	if len(path) == 0 {
		return true
	}
	if items, ok := node["items"].(map[string]any); ok {
		return schemaKnows(root, items, path)
	}
	if props, ok := node["properties"].(map[string]any); ok {
		if p, ok := props[path[0]].(map[string]any); ok {
			return schemaKnows(root, p, path[1:])
		}
	}
	if pp, ok := node["patternProperties"].(map[string]any); ok {
		for pattern, p := range pp {
			if re, err := regexp.Compile(pattern); err == nil && re.MatchString(path[0]) {
				if p, ok := p.(map[string]any); ok {
					return schemaKnows(root, p, path[1:])
				}
			}
		}
	}
	if ap, ok := node["additionalProperties"].(map[string]any); ok {
		return schemaKnows(root, ap, path[1:])
	}
	_, named := node["propertyNames"]
	_, declared := node["properties"]
	return named && !declared && node["additionalProperties"] != false && len(path) == 1
}

package config

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Setting describes one setting of a settings struct, for --help output and the README's
// configuration table.
type Setting struct {
	// Key is the dotted key, as written in a file: "tick.batch_size".
	Key string
	// Env lists the environment variables that set Key, highest precedence first: the prefixed
	// name ("VECRON_TICK__BATCH_SIZE") and then any aliases, sorted.
	Env []string
	// Flag is the flag BindFlags registers: "--tick.batch-size".
	Flag string
	// Type is "string", "bool", "int", "int64", "float64", "duration" or "[]string".
	Type string
	// Default is the value dst held, written as on the command line ("30s", "a,b"). It is
	// "(value hidden)" for a non-empty secret-looking key, and a URL's password is masked.
	Default string
	// Usage is the field's `usage` tag.
	Usage string
}

// Describe lists the settings of dst, a settings struct or a pointer to one, in field order,
// with the environment variable names that opts.Prefix and opts.Aliases give them. It panics if
// dst is not a valid settings struct (see Load), a programming error.
func Describe(dst any, opts Options) []Setting {
	set := mustSchema(dst)
	out := make([]Setting, 0, len(set.list))
	for _, st := range set.list {
		var vars []string
		if opts.Prefix != "" {
			vars = append(vars, envName(opts.Prefix, st.key))
		}
		var aliases []string
		for name, key := range opts.Aliases {
			if key == st.key {
				aliases = append(aliases, name)
			}
		}
		slices.Sort(aliases)
		out = append(out, Setting{
			Key:     st.key,
			Env:     append(vars, aliases...),
			Flag:    "--" + flagName(st.key),
			Type:    st.kind.String(),
			Default: st.format(set.current(st)),
			Usage:   st.usage,
		})
	}
	return out
}

// format writes v, the value of st, as it would be given on the command line, hiding secrets.
func (st *setting) format(v reflect.Value) string {
	var s string
	switch st.kind {
	case kindString:
		s = v.String()
	case kindBool:
		s = strconv.FormatBool(v.Bool())
	case kindInt, kindInt64:
		s = strconv.FormatInt(v.Int(), 10)
	case kindFloat64:
		s = strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case kindDuration:
		s = durationOf(v).String()
	case kindStrings:
		s = strings.Join(stringsOf(v), ",")
	}
	switch {
	case s == "":
		return ""
	case isSecret(st.key):
		return hidden
	}
	return redact(s)
}

// durationOf returns the time.Duration held by v.
func durationOf(v reflect.Value) time.Duration { return time.Duration(v.Int()) }

// stringsOf returns a copy of the []string (or slice of a string kind) held by v.
func stringsOf(v reflect.Value) []string {
	out := make([]string, v.Len())
	for i := range out {
		out[i] = v.Index(i).String()
	}
	return out
}

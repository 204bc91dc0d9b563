// Package eventfilter checks and evaluates the filters of event triggers: the Knative Trigger
// filters dialect (exact, prefix, suffix, all, any, not, cesql) over CloudEvents. CESQL
// expressions are parsed with the CloudEvents SDK's CESQL package, which brings an ANTLR
// runtime: only the api function links this package (make depcheck).
package eventfilter

import (
	"fmt"
	"regexp"
	"strings"

	cesql "github.com/cloudevents/sdk-go/sql/v2"
	cesqlparser "github.com/cloudevents/sdk-go/sql/v2/parser"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/vecron/vecron/shared/domain"
)

// Limits of one trigger's filters: they are evaluated for every event of a matching type.
const (
	MaxDepth    = 8
	MaxFilters  = 64
	MaxCESQL    = 4 << 10
	MaxValueLen = 1 << 10
)

// attributeName is a CloudEvents attribute name: lowercase letters and digits (spec §3.1.1),
// at most 20 characters.
var attributeName = regexp.MustCompile(`^[a-z0-9]{1,20}$`)

// Matcher is a compiled list of filters: all must match.
type Matcher struct {
	nodes []node
}

// node is one compiled filter.
type node struct {
	kind  string // exact, prefix, suffix, all, any, not, cesql
	attr  string
	value string
	subs  []node
	expr  cesql.Expression
	// source is the CESQL expression as written, for errors.
	source string
}

// Compile checks fs and returns their matcher. A problem is a *domain.ValidationError whose
// fields start with prefix ("triggers[0].event.filters").
func Compile(prefix string, fs []domain.EventFilter) (*Matcher, error) {
	c := compiler{}
	nodes := c.list(prefix, fs, 1)
	if err := c.v.Err(); err != nil {
		return nil, err
	}
	return &Matcher{nodes: nodes}, nil
}

type compiler struct {
	v     domain.ValidationError
	count int
	// steps adds up the LIKE steps of the trigger's CESQL filters (LikeSteps).
	steps int
}

func (c *compiler) list(field string, fs []domain.EventFilter, depth int) []node {
	out := make([]node, 0, len(fs))
	for i := range fs {
		if n, ok := c.one(fmt.Sprintf("%s[%d]", field, i), &fs[i], depth); ok {
			out = append(out, n)
		}
	}
	return out
}

func (c *compiler) one(field string, f *domain.EventFilter, depth int) (node, bool) {
	c.count++
	if c.count == MaxFilters+1 {
		c.v.Add(field, fmt.Sprintf("a trigger holds at most %d filters", MaxFilters))
	}
	if depth > MaxDepth {
		c.v.Add(field, fmt.Sprintf("filters nest at most %d deep", MaxDepth))
		return node{}, false
	}
	var set []string
	for name, on := range map[string]bool{"exact": f.Exact != nil, "prefix": f.Prefix != nil, "suffix": f.Suffix != nil,
		"all": f.All != nil, "any": f.Any != nil, "not": f.Not != nil, "cesql": f.CESQL != ""} {
		if on {
			set = append(set, name)
		}
	}
	if len(set) != 1 {
		c.v.Add(field, "must hold exactly one of exact, prefix, suffix, all, any, not, cesql")
		return node{}, false
	}
	switch kind := set[0]; kind {
	case "exact", "prefix", "suffix":
		m := map[string]map[string]string{"exact": f.Exact, "prefix": f.Prefix, "suffix": f.Suffix}[kind]
		if len(m) != 1 {
			c.v.Add(field+"."+kind, "must name exactly one attribute, e.g. {\"type\": \"com.example.order.paid\"}")
			return node{}, false
		}
		for attr, val := range m {
			af := field + "." + kind + "." + attr
			switch {
			case !attributeName.MatchString(attr):
				c.v.Add(field+"."+kind, fmt.Sprintf("%q is not an attribute name (1 to 20 lowercase letters and digits)", clip(attr)))
				return node{}, false
			case kind != "exact" && val == "":
				c.v.Add(af, "must not be empty (it would match every event)")
				return node{}, false
			case len(val) > MaxValueLen:
				c.v.Add(af, fmt.Sprintf("is longer than %d bytes", MaxValueLen))
				return node{}, false
			}
			return node{kind: kind, attr: attr, value: val}, true
		}
	case "all", "any":
		list := f.All
		if kind == "any" {
			list = f.Any
		}
		if len(list) == 0 {
			c.v.Add(field+"."+kind, "must list at least one filter")
			return node{}, false
		}
		return node{kind: kind, subs: c.list(field+"."+kind, list, depth+1)}, true
	case "not":
		sub, ok := c.one(field+".not", f.Not, depth+1)
		if !ok {
			return node{}, false
		}
		return node{kind: kind, subs: []node{sub}}, true
	case "cesql":
		expr, err := Parse(f.CESQL)
		if err != nil {
			c.v.Add(field+".cesql", err.Error())
			return node{}, false
		}
		steps, err := LikeSteps(f.CESQL)
		if err != nil {
			c.v.Add(field+".cesql", err.Error())
			return node{}, false
		}
		if c.steps += steps; c.steps > MaxLikeSteps {
			c.v.Add(field+".cesql", fmt.Sprintf("brings the LIKE work of the trigger's filters to %d steps per event, over the %d allowed: "+
				"use shorter patterns, fewer LIKEs or fewer attributes in them", c.steps, MaxLikeSteps))
			return node{}, false
		}
		return node{kind: kind, expr: expr, source: f.CESQL}, true
	}
	return node{}, false
}

// Parse parses a CESQL expression; its error says why it does not parse, without the
// parser's internals.
func Parse(src string) (expr cesql.Expression, err error) {
	switch {
	case strings.TrimSpace(src) == "":
		return nil, fmt.Errorf("is empty")
	case len(src) > MaxCESQL:
		return nil, fmt.Errorf("is longer than %d bytes", MaxCESQL)
	}
	defer func() {
		if recover() != nil {
			expr, err = nil, fmt.Errorf("is not a CESQL expression")
		}
	}()
	expr, err = cesqlparser.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("is not a CESQL expression: %s", clip(err.Error()))
	}
	if expr == nil {
		return nil, fmt.Errorf("is not a CESQL expression")
	}
	return expr, nil
}

// Match reports whether ev matches every filter of m. A CESQL expression that fails on ev, or
// gives no boolean, is false where it stands (as in Knative); failed reports that one did, for
// the caller to log. An event with an attribute over MaxValueLen matches nothing and fails:
// the bound of the filters' work assumes none is.
func (m *Matcher) Match(ev cloudevents.Event) (match, failed bool) {
	if !fits(&ev) {
		return false, true
	}
	match = true
	for i := range m.nodes {
		ok, f := m.nodes[i].eval(ev)
		failed = failed || f
		if !ok {
			return false, failed
		}
	}
	return match, failed
}

func (n *node) eval(ev cloudevents.Event) (bool, bool) {
	switch n.kind {
	case "exact", "prefix", "suffix":
		v, ok := Attribute(ev, n.attr)
		if !ok {
			return false, false
		}
		switch n.kind {
		case "exact":
			return v == n.value, false
		case "prefix":
			return strings.HasPrefix(v, n.value), false
		default:
			return strings.HasSuffix(v, n.value), false
		}
	case "all":
		failed := false
		for i := range n.subs {
			ok, f := n.subs[i].eval(ev)
			failed = failed || f
			if !ok {
				return false, failed
			}
		}
		return true, failed
	case "any":
		failed := false
		for i := range n.subs {
			ok, f := n.subs[i].eval(ev)
			failed = failed || f
			if ok {
				return true, failed
			}
		}
		return false, failed
	case "not":
		ok, f := n.subs[0].eval(ev)
		return !ok, f
	case "cesql":
		return evalCESQL(n.expr, ev)
	}
	return false, false
}

// evalCESQL evaluates expr on ev: false, and failed, when it errs, panics or gives no boolean.
func evalCESQL(expr cesql.Expression, ev cloudevents.Event) (ok, failed bool) {
	defer func() {
		if recover() != nil {
			ok, failed = false, true
		}
	}()
	res, err := expr.Evaluate(ev)
	if err != nil {
		return false, true
	}
	b, isBool := res.(bool)
	return isBool && b, !isBool
}

// Attribute returns the value of ev's attribute name as a string, and whether ev has it: a
// context attribute (time in RFC 3339) or an extension.
func Attribute(ev cloudevents.Event, name string) (string, bool) {
	switch name {
	case "specversion":
		return ev.SpecVersion(), true
	case "id":
		return ev.ID(), true
	case "source":
		return ev.Source(), true
	case "type":
		return ev.Type(), true
	case "subject":
		s := ev.Subject()
		return s, s != ""
	case "time":
		t := ev.Time()
		if t.IsZero() {
			return "", false
		}
		return types.FormatTime(t), true
	case "datacontenttype":
		s := ev.DataContentType()
		return s, s != ""
	case "dataschema":
		s := ev.DataSchema()
		return s, s != ""
	}
	v, ok := ev.Extensions()[name]
	if !ok {
		return "", false
	}
	s, err := types.ToString(v)
	if err != nil {
		return "", false
	}
	return s, true
}

// clip bounds text quoted in an error, on one line.
func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

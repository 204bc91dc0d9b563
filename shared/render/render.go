// Package render fills the templates in a job's string fields at run time: `{{ var.NAME }}`,
// `{{ job.name }}`, `{{ execution.scheduled_at | date "2006-01-02" }}` and the like. It is a small
// language on purpose — a path and a short chain of filters, no calls, no loops, no file or
// network access — so a job definition can never run code, and every output is bounded by
// MaxOutput. Whatever is derived from a secret variable is tainted (Context.Tainted), so the
// executor masks the form a filter gave it, not only the secret as stored. A
// reference to something missing is an error naming it and the field, never an empty string.
package render

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MaxOutput bounds a rendered field.
const MaxOutput = 1 << 20

// Context is what templates can refer to.
type Context struct {
	// Vars holds the variables visible to the job: its own over the global ones.
	Vars        map[string]string
	JobID       string
	JobName     string
	ExecutionID string
	Attempt     int
	ScheduledAt time.Time
	// Location is the job's time zone; execution.scheduled_at renders in it.
	Location *time.Location
	Trigger  string
	// Payload is the trigger's JSON payload (webhook or event triggers); nil when none.
	Payload json.RawMessage

	// Secret names the variables of Vars that are secret. Render taints whatever it derives
	// from them: a filter changes a secret's form, not what it reveals.
	Secret map[string]bool
	// Tainted collects, as Render goes, each output derived from a secret in the form it was
	// written (after its filter), for the caller to mask wherever a target might echo it.
	Tainted []string
	// Used collects the names of the secret variables Render referred to, for the caller to
	// check where they are about to be sent.
	Used map[string]bool
	// LoadVars, when set, fills Vars and Secret the first time a template refers to a
	// variable, so a job whose templates name none costs no lookup. Its error fails the render.
	LoadVars func(c *Context) error
}

// Error says which field's template failed and why.
type Error struct {
	Field  string
	Reason string
}

func (e *Error) Error() string { return e.Field + ": " + e.Reason }

// MissingVariableError is an Error for a variable that is not defined.
type MissingVariableError struct {
	Field string
	Name  string
}

func (e *MissingVariableError) Error() string {
	return fmt.Sprintf("%s: variable %q is not defined (globally or for this job)", e.Field, e.Name)
}

// expr is one {{ … }}.
type expr struct {
	literal *string // a quoted string, e.g. {{ "{{" }}
	path    []string
	filters []filter
}

// filter is one "| name arg" of an expression.
type filter struct {
	name, arg string
}

// maxFilters bounds a chain: each filter may grow its input (json, urlquery) by a constant factor.
const maxFilters = 4

var (
	identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	filters    = map[string]bool{"date": true, "urlquery": true, "json": true, "upper": true, "lower": true}
)

// segment is literal text or an expression of a template.
type segment struct {
	text string
	expr *expr
}

// parse splits tmpl into segments; errors say what is wrong and where.
func parse(tmpl string) ([]segment, error) {
	var out []segment
	for rest, pos := tmpl, 0; rest != ""; {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if j := strings.Index(rest, "}}"); j >= 0 {
				return nil, fmt.Errorf(`"}}" at byte %d closes nothing; write {{ "}}" }} for a literal`, pos+j)
			}
			out = append(out, segment{text: rest})
			break
		}
		if i > 0 {
			out = append(out, segment{text: rest[:i]})
		}
		inner := rest[i+2:]
		// A quoted string may hold "}}" itself: {{ "}}" }}.
		skip := 0
		if trimmed := strings.TrimLeft(inner, " \t"); strings.HasPrefix(trimmed, `"`) {
			if q, err := strconv.QuotedPrefix(trimmed); err == nil {
				skip = len(inner) - len(trimmed) + len(q)
			}
		}
		j := strings.Index(inner[skip:], "}}")
		if j < 0 {
			return nil, fmt.Errorf(`"{{" at byte %d is not closed by "}}"`, pos+i)
		}
		j += skip
		body := strings.TrimSpace(rest[i+2 : i+2+j])
		e, err := parseExpr(body)
		if err != nil {
			return nil, fmt.Errorf("{{ %s }} at byte %d: %w", body, pos+i, err)
		}
		out = append(out, segment{expr: e})
		consumed := i + 2 + j + 2
		rest, pos = rest[consumed:], pos+consumed
	}
	return out, nil
}

func parseExpr(body string) (*expr, error) {
	if strings.HasPrefix(body, `"`) {
		s, err := strconv.Unquote(body)
		if err != nil {
			return nil, fmt.Errorf("not a quoted string")
		}
		return &expr{literal: &s}, nil
	}
	pathPart, filterPart, hasFilter := strings.Cut(body, "|")
	e := &expr{}
	pathPart = strings.TrimSpace(pathPart)
	if pathPart == "" {
		return nil, fmt.Errorf("empty expression")
	}
	e.path = strings.Split(pathPart, ".")
	for _, p := range e.path {
		if !identifier.MatchString(p) {
			return nil, fmt.Errorf("%q is not a name (letters, digits and _)", p)
		}
	}
	switch e.path[0] {
	case "var":
		if len(e.path) != 2 {
			return nil, fmt.Errorf("write var.NAME")
		}
	case "job":
		if len(e.path) != 2 || (e.path[1] != "id" && e.path[1] != "name") {
			return nil, fmt.Errorf("job has id and name")
		}
	case "execution":
		if len(e.path) != 2 || (e.path[1] != "id" && e.path[1] != "scheduled_at" && e.path[1] != "attempt") {
			return nil, fmt.Errorf("execution has id, scheduled_at and attempt")
		}
	case "trigger":
		if len(e.path) < 2 || (e.path[1] != "type" && e.path[1] != "payload" && e.path[1] != "event" && e.path[1] != "webhook" && e.path[1] != "upstream") ||
			(e.path[1] == "type" && len(e.path) > 2) || (e.path[1] == "event" && len(e.path) < 3) ||
			(e.path[1] == "webhook" && (len(e.path) < 3 || e.path[2] != "body" && e.path[2] != "query" && e.path[2] != "headers")) ||
			(e.path[1] == "upstream" && (len(e.path) != 3 || !upstreamFields[e.path[2]])) {
			return nil, fmt.Errorf("trigger has type, payload (payload.FIELD…), event (event.id, event.type, event.data.FIELD…), webhook (webhook.body, webhook.query.NAME, webhook.headers.NAME) and upstream (upstream.job_id, execution_id, status, http_status, rows, response_excerpt)")
		}
	default:
		return nil, fmt.Errorf("%q is not one of var, job, execution, trigger", e.path[0])
	}
	if !hasFilter {
		return e, nil
	}
	// Filters apply left to right: {{ var.NAME | lower | urlquery }}.
	for rest := filterPart; ; {
		rest = strings.TrimLeft(rest, " \t")
		n := strings.IndexAny(rest, " \t|")
		if n < 0 {
			n = len(rest)
		}
		name := rest[:n]
		rest = strings.TrimLeft(rest[n:], " \t")
		if !filters[name] {
			return nil, fmt.Errorf("%q is not a filter (date, urlquery, json, upper, lower)", name)
		}
		if len(e.filters) == maxFilters {
			return nil, fmt.Errorf("at most %d filters", maxFilters)
		}
		f := filter{name: name}
		switch {
		case name == "date" && (rest == "" || rest[0] == '|'):
			return nil, fmt.Errorf(`date needs a layout, e.g. date "2006-01-02"`)
		case name == "date":
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return nil, fmt.Errorf("the date layout must be a quoted string")
			}
			f.arg, _ = strconv.Unquote(q)
			rest = strings.TrimLeft(rest[len(q):], " \t")
		case rest != "" && rest[0] != '|':
			return nil, fmt.Errorf("%s takes no argument", name)
		}
		if name == "date" && (len(e.filters) > 0 || e.path[0] != "execution" || e.path[1] != "scheduled_at") {
			return nil, fmt.Errorf("date applies to execution.scheduled_at, as its first filter")
		}
		e.filters = append(e.filters, f)
		if rest == "" {
			break
		}
		rest = rest[1:] // the "|"
	}
	return e, nil
}

// Check reports whether tmpl is a valid template, naming field in the error; jobs are checked
// when written so a typo is found then, not at 3 a.m.
func Check(field, tmpl string) error {
	if _, err := parse(tmpl); err != nil {
		return &Error{Field: field, Reason: err.Error()}
	}
	return nil
}

// Variables returns the variable names tmpl refers to.
func Variables(tmpl string) []string {
	segs, err := parse(tmpl)
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range segs {
		if s.expr != nil && len(s.expr.path) == 2 && s.expr.path[0] == "var" {
			out = append(out, s.expr.path[1])
		}
	}
	return out
}

// Replace returns tmpl with each {{ … }} replaced by with's answer for it — told whether the
// expression is a variable's ({{ var.NAME }}, filters allowed) — and how many there were. Code
// that must judge a template's text before it is filled (a password in a connection string)
// finds the expressions exactly as Render will.
func Replace(tmpl string, with func(variable bool) string) (string, int, error) {
	segs, err := parse(tmpl)
	if err != nil {
		return "", 0, err
	}
	var b strings.Builder
	n := 0
	for _, s := range segs {
		if s.expr == nil {
			b.WriteString(s.text)
			continue
		}
		n++
		b.WriteString(with(s.expr.literal == nil && s.expr.path[0] == "var"))
	}
	return b.String(), n, nil
}

// Render fills tmpl from c. Errors are *Error or *MissingVariableError naming field, or what
// c.LoadVars returned.
func Render(field, tmpl string, c *Context) (string, error) {
	if !strings.Contains(tmpl, "{{") && !strings.Contains(tmpl, "}}") {
		return tmpl, nil
	}
	segs, err := parse(tmpl)
	if err != nil {
		return "", &Error{Field: field, Reason: err.Error()}
	}
	var b strings.Builder
	for _, s := range segs {
		v := s.text
		if s.expr != nil {
			if v, err = eval(field, s.expr, c); err != nil {
				return "", err
			}
		}
		if b.Len()+len(v) > MaxOutput {
			return "", &Error{Field: field, Reason: fmt.Sprintf("renders to more than %d bytes", MaxOutput)}
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

func eval(field string, e *expr, c *Context) (string, error) {
	if e.literal != nil {
		return *e.literal, nil
	}
	var v string
	switch e.path[0] {
	case "var":
		if c.LoadVars != nil {
			if err := c.LoadVars(c); err != nil {
				return "", err
			}
			c.LoadVars = nil
		}
		val, ok := c.Vars[e.path[1]]
		if !ok {
			return "", &MissingVariableError{Field: field, Name: e.path[1]}
		}
		if c.Secret[e.path[1]] {
			out := apply(e.filters, val)
			if c.Used == nil {
				c.Used = map[string]bool{}
			}
			c.Used[e.path[1]] = true
			c.Tainted = append(c.Tainted, out)
			return out, nil
		}
		v = val
	case "job":
		v = map[string]string{"id": c.JobID, "name": c.JobName}[e.path[1]]
	case "execution":
		switch e.path[1] {
		case "id":
			v = c.ExecutionID
		case "attempt":
			v = strconv.Itoa(c.Attempt)
		case "scheduled_at":
			loc := c.Location
			if loc == nil {
				loc = time.UTC
			}
			layout := time.RFC3339
			filters := e.filters
			if len(filters) > 0 && filters[0].name == "date" {
				layout, filters = filters[0].arg, filters[1:]
			}
			return apply(filters, c.ScheduledAt.In(loc).Format(layout)), nil
		}
	case "trigger":
		if e.path[1] == "type" {
			v = c.Trigger
			break
		}
		var got string
		var err error
		switch e.path[1] {
		case "event":
			got, err = eventAttribute(c, e.path[2:])
		case "webhook":
			got, err = webhookPart(c, e.path[2:])
		case "upstream":
			got, err = upstreamField(c, e.path[2])
		default:
			got, err = payload(c.Payload, e.path[2:])
		}
		if err != nil {
			return "", &Error{Field: field, Reason: err.Error()}
		}
		v = got
	}
	return apply(e.filters, v), nil
}

// apply runs filters over v, left to right.
func apply(filters []filter, v string) string {
	for _, f := range filters {
		switch f.name {
		case "urlquery":
			v = url.QueryEscape(v)
		case "json":
			b, _ := json.Marshal(v)
			v = string(b[1 : len(b)-1])
		case "upper":
			v = strings.ToUpper(v)
		case "lower":
			v = strings.ToLower(v)
		}
	}
	return v
}

// eventAttribute walks path into the CloudEvent that started the execution: its payload is the
// event in structured JSON form (attributes and extensions at the top, data under "data").
func eventAttribute(c *Context, path []string) (string, error) {
	if c.Trigger != "event" || len(c.Payload) == 0 {
		return "", fmt.Errorf("trigger.event: this execution was not started by an event")
	}
	out, err := payload(c.Payload, path)
	if err != nil {
		return "", fmt.Errorf("%s", strings.Replace(err.Error(), "trigger.payload", "trigger.event", 1))
	}
	return out, nil
}

// upstreamFields are what a chained execution's templates may read of the execution that
// started it (trigger.upstream.NAME, docs/chaining.md).
var upstreamFields = map[string]bool{"job_id": true, "execution_id": true, "status": true, "http_status": true,
	"rows": true, "response_excerpt": true}

// upstreamField reads field of the upstream execution a chained execution's payload holds. A
// field without a value (rows of an http job) renders empty: it is known to be absent.
func upstreamField(c *Context, field string) (string, error) {
	if c.Trigger != "chain" || len(c.Payload) == 0 {
		return "", fmt.Errorf("trigger.upstream: this execution was not started by a chain")
	}
	var up map[string]json.RawMessage
	if err := json.Unmarshal(c.Payload, &up); err != nil {
		return "", fmt.Errorf("trigger.upstream: the upstream result is not readable")
	}
	raw := up[field]
	var str string
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", nil
	case json.Unmarshal(raw, &str) == nil:
		return str, nil
	}
	return string(raw), nil
}

// webhookPart walks path into the webhook call that started the execution: its payload holds
// the call's body, query and declared headers (docs/webhooks.md).
func webhookPart(c *Context, path []string) (string, error) {
	if c.Trigger != "webhook" || len(c.Payload) == 0 {
		return "", fmt.Errorf("trigger.webhook: this execution was not started by a webhook")
	}
	out, err := payload(c.Payload, path)
	if err != nil {
		return "", fmt.Errorf("%s", strings.Replace(err.Error(), "trigger.payload", "trigger.webhook", 1))
	}
	return out, nil
}

// payload walks path into the JSON payload; a string renders bare, anything else as JSON.
func payload(raw json.RawMessage, path []string) (string, error) {
	if len(raw) == 0 {
		return "", fmt.Errorf("trigger.payload: this execution has no trigger payload")
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", fmt.Errorf("trigger.payload is not JSON")
	}
	for i, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return "", fmt.Errorf("trigger.payload.%s: not an object", strings.Join(path[:i], "."))
		}
		if v, ok = m[p]; !ok {
			return "", fmt.Errorf("trigger.payload.%s is not in the payload", strings.Join(path[:i+1], "."))
		}
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

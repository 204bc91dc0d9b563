// Package render fills the templates in a job's string fields at run time: `{{ var.NAME }}`,
// `{{ job.name }}`, `{{ execution.scheduled_at | date "2006-01-02" }}` and the like. It is a small
// language on purpose — a path and at most one filter, no calls, no loops, no file or network
// access — so a job definition can never run code, and every output is bounded by MaxOutput. A
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
	filter  string
	arg     string
}

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
		if len(e.path) < 2 || (e.path[1] != "type" && e.path[1] != "payload") || (e.path[1] == "type" && len(e.path) > 2) {
			return nil, fmt.Errorf("trigger has type and payload (payload.FIELD…)")
		}
	default:
		return nil, fmt.Errorf("%q is not one of var, job, execution, trigger", e.path[0])
	}
	if hasFilter {
		name, arg, _ := strings.Cut(strings.TrimSpace(filterPart), " ")
		if !filters[name] {
			return nil, fmt.Errorf("%q is not a filter (date, urlquery, json, upper, lower)", name)
		}
		e.filter = name
		arg = strings.TrimSpace(arg)
		switch {
		case name == "date" && arg == "":
			return nil, fmt.Errorf(`date needs a layout, e.g. date "2006-01-02"`)
		case name == "date":
			s, err := strconv.Unquote(arg)
			if err != nil {
				return nil, fmt.Errorf("the date layout must be a quoted string")
			}
			e.arg = s
		case arg != "":
			return nil, fmt.Errorf("%s takes no argument", name)
		}
		if name == "date" && (e.path[0] != "execution" || e.path[1] != "scheduled_at") {
			return nil, fmt.Errorf("date applies to execution.scheduled_at")
		}
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

// Render fills tmpl from c. Errors are *Error or *MissingVariableError naming field.
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
		val, ok := c.Vars[e.path[1]]
		if !ok {
			return "", &MissingVariableError{Field: field, Name: e.path[1]}
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
			if e.filter == "date" {
				layout = e.arg
			}
			return finish(e, c.ScheduledAt.In(loc).Format(layout)), nil
		}
	case "trigger":
		if e.path[1] == "type" {
			v = c.Trigger
			break
		}
		got, err := payload(c.Payload, e.path[2:])
		if err != nil {
			return "", &Error{Field: field, Reason: err.Error()}
		}
		v = got
	}
	return finish(e, v), nil
}

func finish(e *expr, v string) string {
	switch e.filter {
	case "urlquery":
		return url.QueryEscape(v)
	case "json":
		b, _ := json.Marshal(v)
		return string(b[1 : len(b)-1])
	case "upper":
		return strings.ToUpper(v)
	case "lower":
		return strings.ToLower(v)
	}
	return v
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

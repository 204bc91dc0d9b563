package alert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/template/parse"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
)

// A channel's templates are user configuration written in text/template's syntax, but running
// them with text/template would link its reflective method lookup (reflect.Value.MethodByName
// with a name known only at run time), and the linker then keeps every exported method of every
// type in the api: some 11 MiB (docs/observability.md §5). So they are parsed with
// text/template/parse and run here, over the fixed fields of Data. Every template is checked
// when it is parsed, with the type of each value known, so that what is accepted cannot fail
// when an alert is sent, and what text/template would run differently is refused at start.

// typ is a set of the kinds of value a template can hold: one bit each. A set of more than one
// comes from and/or, which return one of their arguments.
type typ uint16

const (
	tData typ = 1 << iota
	tAlertData
	tString
	tState
	tInt
	tFloat
	tBool
	tTime
)

var typNames = []string{"the alert's data", "AlertData", "a string", "a state", "a number", "a number", "a bool", "a time"}

func (t typ) String() string {
	var names []string
	for i, n := range typNames {
		if t&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, " or ")
}

// alertDataFields are event.AlertData's fields, which Data has as well.
var alertDataFields = map[string]typ{
	"JobID": tString, "JobName": tString, "Namespace": tString, "State": tState,
	"ConsecutiveFailures": tInt, "Threshold": tInt, "LastError": tString, "ExecutionID": tString,
	"Time": tTime, "URL": tString,
}

var dataFields = map[string]typ{"AlertData": tAlertData, "Firing": tBool, "Ref": tString, "Title": tString, "Text": tString}

// fieldType returns the type of field name of a value of type t, or false when some kind in t
// has no such field.
func fieldType(t typ, name string) (typ, bool) {
	if t&^(tData|tAlertData) != 0 {
		return 0, false
	}
	var out typ
	if t&tData != 0 {
		ft, ok := dataFields[name]
		if !ok {
			ft, ok = alertDataFields[name]
		}
		if !ok {
			return 0, false
		}
		out |= ft
	}
	if t&tAlertData != 0 {
		ft, ok := alertDataFields[name]
		if !ok {
			return 0, false
		}
		out |= ft
	}
	return out, true
}

// field returns field name of v, which the check made sure exists.
func field(v any, name string) any {
	var a event.AlertData
	switch x := v.(type) {
	case Data:
		switch name {
		case "AlertData":
			return x.AlertData
		case "Firing":
			return x.Firing
		case "Ref":
			return x.Ref
		case "Title":
			return x.Title
		case "Text":
			return x.Text
		}
		a = x.AlertData
	case event.AlertData:
		a = x
	}
	switch name {
	case "JobID":
		return a.JobID
	case "JobName":
		return a.JobName
	case "Namespace":
		return a.Namespace
	case "State":
		return a.State
	case "ConsecutiveFailures":
		return a.ConsecutiveFailures
	case "Threshold":
		return a.Threshold
	case "LastError":
		return a.LastError
	case "ExecutionID":
		return a.ExecutionID
	case "Time":
		return a.Time
	case "URL":
		return a.URL
	}
	panic("alert template: unchecked field " + name)
}

// funcNames are the functions a template may call: parse refuses any other name.
var funcNames = map[string]any{
	"json": true, "print": true, "printf": true, "println": true,
	"and": true, "or": true, "not": true,
	"eq": true, "ne": true, "lt": true, "le": true, "gt": true, "ge": true,
}

// tmpl is a checked template.
type tmpl struct {
	tree *parse.Tree
}

// parseTemplate parses and checks text. The error names the line and column of what is wrong.
func parseTemplate(name, text string) (*tmpl, error) {
	trees, err := parse.Parse(name, text, "", "", funcNames)
	if err != nil {
		return nil, err
	}
	tree := trees[name]
	if len(trees) != 1 || tree == nil {
		return nil, fmt.Errorf("template: %s: define and block are not supported", name)
	}
	c := checker{tree: tree, vars: []binding{{name: "$", t: tData}}}
	if err := c.list(tree.Root, tData); err != nil {
		return nil, err
	}
	return &tmpl{tree: tree}, nil
}

// render runs t with d. The check leaves it nothing to fail on; an error says the check missed
// a case.
func render(t *tmpl, d Data) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("%v", p)
		}
	}()
	r := runner{vars: []binding{{name: "$", v: d}}}
	if err := r.list(t.tree.Root, d); err != nil {
		return nil, err
	}
	return r.out.Bytes(), nil
}

type binding struct {
	name string
	t    typ
	v    any
}

// checker walks a tree with the type of dot and of each variable, as the runner will hold them.
type checker struct {
	tree *parse.Tree
	vars []binding
}

func (c *checker) errorf(n parse.Node, format string, args ...any) error {
	loc, _ := c.tree.ErrorContext(n)
	return fmt.Errorf("template: %s: %s", loc, fmt.Sprintf(format, args...))
}

func (c *checker) list(l *parse.ListNode, dot typ) error {
	if l == nil {
		return nil
	}
	for _, n := range l.Nodes {
		if err := c.node(n, dot); err != nil {
			return err
		}
	}
	return nil
}

func (c *checker) node(n parse.Node, dot typ) error {
	switch n := n.(type) {
	case *parse.TextNode, *parse.CommentNode, *parse.BreakNode, *parse.ContinueNode:
		return nil
	case *parse.ActionNode:
		_, err := c.pipe(n.Pipe, dot)
		return err
	case *parse.IfNode:
		return c.branch(&n.BranchNode, dot, false)
	case *parse.WithNode:
		return c.branch(&n.BranchNode, dot, true)
	case *parse.RangeNode:
		mark := len(c.vars)
		defer func() { c.vars = c.vars[:mark] }()
		t, err := c.pipe(n.Pipe, dot)
		if err != nil {
			return err
		}
		if t != tInt {
			return c.errorf(n, "range can only count to a number, not over %v", t)
		}
		if len(n.Pipe.Decl) > 1 {
			return c.errorf(n, "range over a number takes one variable")
		}
		if err := c.list(n.List, tInt); err != nil {
			return err
		}
		return c.list(n.ElseList, dot)
	case *parse.TemplateNode:
		return c.errorf(n, "template and block are not supported")
	}
	return c.errorf(n, "%s is not supported", n)
}

// branch checks an if (with=false) or a with.
func (c *checker) branch(b *parse.BranchNode, dot typ, with bool) error {
	mark := len(c.vars)
	defer func() { c.vars = c.vars[:mark] }()
	t, err := c.pipe(b.Pipe, dot)
	if err != nil {
		return err
	}
	inner := dot
	if with {
		inner = t
	}
	if err := c.list(b.List, inner); err != nil {
		return err
	}
	return c.list(b.ElseList, dot)
}

// pipe checks a pipeline and declares its variables; it returns the pipeline's type.
func (c *checker) pipe(p *parse.PipeNode, dot typ) (typ, error) {
	if p.IsAssign {
		return 0, c.errorf(p, "assigning a variable with = is not supported; declare one with :=")
	}
	var final typ
	for i, cmd := range p.Cmds {
		t, err := c.command(cmd, dot, final, i > 0)
		if err != nil {
			return 0, err
		}
		final = t
	}
	for _, v := range p.Decl {
		c.vars = append(c.vars, binding{name: v.Ident[0], t: final})
	}
	return final, nil
}

func (c *checker) command(cmd *parse.CommandNode, dot, final typ, hasFinal bool) (typ, error) {
	if id, ok := cmd.Args[0].(*parse.IdentifierNode); ok {
		args := make([]typ, 0, len(cmd.Args))
		for _, a := range cmd.Args[1:] {
			t, err := c.arg(a, dot)
			if err != nil {
				return 0, err
			}
			args = append(args, t)
		}
		if hasFinal {
			args = append(args, final)
		}
		return c.call(cmd, id.Ident, args)
	}
	t, err := c.arg(cmd.Args[0], dot)
	if err == nil && (len(cmd.Args) > 1 || hasFinal) {
		err = c.errorf(cmd, "%s is not a function: it takes no argument", cmd.Args[0])
	}
	return t, err
}

// arg returns the type of an operand.
func (c *checker) arg(n parse.Node, dot typ) (typ, error) {
	switch n := n.(type) {
	case *parse.DotNode:
		return dot, nil
	case *parse.FieldNode:
		return c.fields(n, dot, n.Ident)
	case *parse.VariableNode:
		t, ok := c.lookup(n.Ident[0])
		if !ok {
			return 0, c.errorf(n, "undefined variable %s", n.Ident[0])
		}
		return c.fields(n, t, n.Ident[1:])
	case *parse.PipeNode:
		return c.pipe(n, dot)
	case *parse.StringNode:
		return tString, nil
	case *parse.BoolNode:
		return tBool, nil
	case *parse.NumberNode:
		if _, err := constant(n); err != nil {
			return 0, c.errorf(n, "%v", err)
		}
		switch constantValue(n).(type) {
		case int:
			return tInt, nil
		default:
			return tFloat, nil
		}
	case *parse.NilNode:
		return 0, c.errorf(n, "nil is not supported")
	case *parse.IdentifierNode:
		return 0, c.errorf(n, "call %s in parentheses: (%s …)", n.Ident, n.Ident)
	}
	return 0, c.errorf(n, "%s is not supported", n)
}

func (c *checker) lookup(name string) (typ, bool) {
	for i := len(c.vars) - 1; i >= 0; i-- {
		if c.vars[i].name == name {
			return c.vars[i].t, true
		}
	}
	return 0, false
}

func (c *checker) fields(n parse.Node, t typ, names []string) (typ, error) {
	for _, name := range names {
		ft, ok := fieldType(t, name)
		if !ok {
			return 0, c.errorf(n, "%s has no field %s (fields: .Title, .Text, .Firing, .Ref, .JobID, .JobName, .Namespace, .State, .ConsecutiveFailures, .Threshold, .LastError, .ExecutionID, .Time, .URL, .AlertData)", t, name)
		}
		t = ft
	}
	return t, nil
}

// class is the kind of comparison eq and lt make between values of type t (text/template's
// basic kinds), or 0 when t's values are not all of one such kind.
func class(t typ) typ {
	switch {
	case t&^(tString|tState) == 0:
		return tString
	case t == tInt, t == tFloat, t == tBool:
		return t
	}
	return 0
}

func (c *checker) call(cmd *parse.CommandNode, name string, args []typ) (typ, error) {
	want := func(ok bool, what string) error {
		if ok {
			return nil
		}
		return c.errorf(cmd, "%s takes %s, got %d", name, what, len(args))
	}
	switch name {
	case "json":
		return tString, want(len(args) == 1, "one argument")
	case "print", "println":
		return tString, nil
	case "printf":
		if err := want(len(args) >= 1, "a format and its arguments"); err != nil {
			return 0, err
		}
		if args[0] != tString {
			return 0, c.errorf(cmd, "printf's format must be a string, not %v", args[0])
		}
		return tString, nil
	case "not":
		return tBool, want(len(args) == 1, "one argument")
	case "and", "or":
		if err := want(len(args) >= 1, "at least one argument"); err != nil {
			return 0, err
		}
		var t typ
		for _, a := range args {
			t |= a
		}
		return t, nil
	}
	// The comparisons.
	if name == "eq" {
		if err := want(len(args) >= 2, "at least two arguments"); err != nil {
			return 0, err
		}
	} else if err := want(len(args) == 2, "two arguments"); err != nil {
		return 0, err
	}
	k := class(args[0])
	for _, a := range args {
		if k == 0 || class(a) != k {
			return 0, c.errorf(cmd, "%s cannot compare %v with %v", name, args[0], a)
		}
	}
	if k == tBool && name != "eq" && name != "ne" {
		return 0, c.errorf(cmd, "%s cannot order bools", name)
	}
	return tBool, nil
}

// constant returns the value text/template gives a number in an untyped position: an int, or a
// float64 when written with a point or an exponent.
func constant(n *parse.NumberNode) (any, error) {
	isHexInt := len(n.Text) > 2 && n.Text[0] == '0' && (n.Text[1] == 'x' || n.Text[1] == 'X') && !strings.ContainsAny(n.Text, "pP")
	isRune := n.Text != "" && n.Text[0] == '\''
	switch {
	case n.IsComplex:
		return nil, fmt.Errorf("complex number %s is not supported", n.Text)
	case n.IsFloat && !isHexInt && !isRune && strings.ContainsAny(n.Text, ".eEpP"):
		return n.Float64, nil
	case n.IsInt:
		if int64(int(n.Int64)) != n.Int64 {
			return nil, fmt.Errorf("%s overflows int", n.Text)
		}
		return int(n.Int64), nil
	}
	return nil, fmt.Errorf("%s overflows int", n.Text)
}

// constantValue returns the value of a number the check accepted.
func constantValue(n *parse.NumberNode) any {
	v, _ := constant(n)
	return v
}

var (
	errBreak    = errors.New("break")
	errContinue = errors.New("continue")
)

// runner runs a checked tree: every type is known to fit, so the only errors are break and
// continue on their way to their range.
type runner struct {
	out   bytes.Buffer
	vars  []binding
	steps int // range iterations so far
}

// A template is user configuration, and .ConsecutiveFailures grows for as long as a job fails:
// a render is bounded in output and in range iterations, so no template can make an alert
// take the api's memory or CPU.
const (
	maxRenderBytes = 1 << 20
	maxRangeSteps  = 100_000
)

var (
	errTooLarge = fmt.Errorf("template: the output is over %d bytes", maxRenderBytes)
	errTooLong  = fmt.Errorf("template: over %d range iterations", maxRangeSteps)
)

func (r *runner) list(l *parse.ListNode, dot any) error {
	if l == nil {
		return nil
	}
	for _, n := range l.Nodes {
		if err := r.node(n, dot); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) node(n parse.Node, dot any) error {
	switch n := n.(type) {
	case *parse.TextNode:
		r.out.Write(n.Text)
		if r.out.Len() > maxRenderBytes {
			return errTooLarge
		}
	case *parse.ActionNode:
		v := r.pipe(n.Pipe, dot)
		if len(n.Pipe.Decl) == 0 {
			fmt.Fprint(&r.out, v)
			if r.out.Len() > maxRenderBytes {
				return errTooLarge
			}
		}
	case *parse.IfNode:
		return r.branch(&n.BranchNode, dot, false)
	case *parse.WithNode:
		return r.branch(&n.BranchNode, dot, true)
	case *parse.RangeNode:
		mark := len(r.vars)
		defer func() { r.vars = r.vars[:mark] }()
		count := r.pipe(n.Pipe, dot).(int)
		if r.steps += max(count, 0); r.steps > maxRangeSteps {
			return errTooLong
		}
		inner := len(r.vars)
		for i := range max(count, 0) {
			if len(n.Pipe.Decl) > 0 {
				r.vars[inner-1].v = i
			}
			err := r.list(n.List, i)
			r.vars = r.vars[:inner]
			if err == errBreak {
				break
			}
			if err != nil && err != errContinue {
				return err
			}
		}
		if count <= 0 {
			// text/template's range absorbs a break that comes from its own else list (one
			// the parser let through because an outer range encloses it).
			if err := r.list(n.ElseList, dot); err != errBreak {
				return err
			}
		}
	case *parse.BreakNode:
		return errBreak
	case *parse.ContinueNode:
		return errContinue
	}
	return nil
}

func (r *runner) branch(b *parse.BranchNode, dot any, with bool) error {
	mark := len(r.vars)
	defer func() { r.vars = r.vars[:mark] }()
	v := r.pipe(b.Pipe, dot)
	if !truth(v) {
		return r.list(b.ElseList, dot)
	}
	if with {
		return r.list(b.List, v)
	}
	return r.list(b.List, dot)
}

func (r *runner) pipe(p *parse.PipeNode, dot any) any {
	var final any
	for i, cmd := range p.Cmds {
		final = r.command(cmd, dot, final, i > 0)
	}
	for _, v := range p.Decl {
		r.vars = append(r.vars, binding{name: v.Ident[0], v: final})
	}
	return final
}

func (r *runner) command(cmd *parse.CommandNode, dot, final any, hasFinal bool) any {
	id, ok := cmd.Args[0].(*parse.IdentifierNode)
	if !ok {
		return r.arg(cmd.Args[0], dot)
	}
	args := cmd.Args[1:]
	switch id.Ident {
	case "and", "or":
		// They return their first argument that decides, not a bool.
		var v any
		for _, a := range args {
			v = r.arg(a, dot)
			if truth(v) == (id.Ident == "or") {
				return v
			}
		}
		if hasFinal {
			v = final
		}
		return v
	}
	vals := make([]any, 0, len(args)+1)
	for _, a := range args {
		vals = append(vals, r.arg(a, dot))
	}
	if hasFinal {
		vals = append(vals, final)
	}
	switch id.Ident {
	case "json":
		return jsonText(vals[0])
	case "print":
		return fmt.Sprint(vals...)
	case "println":
		return fmt.Sprintln(vals...)
	case "printf":
		return fmt.Sprintf(vals[0].(string), vals[1:]...)
	case "not":
		return !truth(vals[0])
	case "eq":
		for _, v := range vals[1:] {
			if compare(vals[0], v) == 0 {
				return true
			}
		}
		return false
	case "ne":
		return compare(vals[0], vals[1]) != 0
	case "lt":
		return compare(vals[0], vals[1]) < 0
	case "le":
		return compare(vals[0], vals[1]) <= 0
	case "gt":
		return compare(vals[0], vals[1]) > 0
	case "ge":
		return compare(vals[0], vals[1]) >= 0
	}
	panic("alert template: unchecked function " + id.Ident)
}

func (r *runner) arg(n parse.Node, dot any) any {
	switch n := n.(type) {
	case *parse.DotNode:
		return dot
	case *parse.FieldNode:
		return fields(dot, n.Ident)
	case *parse.VariableNode:
		for i := len(r.vars) - 1; i >= 0; i-- {
			if r.vars[i].name == n.Ident[0] {
				return fields(r.vars[i].v, n.Ident[1:])
			}
		}
	case *parse.PipeNode:
		return r.pipe(n, dot)
	case *parse.StringNode:
		return n.Text
	case *parse.BoolNode:
		return n.True
	case *parse.NumberNode:
		return constantValue(n)
	}
	panic("alert template: unchecked operand " + n.String())
}

func fields(v any, names []string) any {
	for _, name := range names {
		v = field(v, name)
	}
	return v
}

// truth is text/template's: the zero value of a kind is false, a struct is true.
func truth(v any) bool {
	switch x := v.(type) {
	case string:
		return x != ""
	case domain.AlertState:
		return x != ""
	case int:
		return x != 0
	case float64:
		return x != 0
	case bool:
		return x
	case Data, event.AlertData, time.Time:
		return true
	}
	return false
}

// compare orders two values of one class (see class): strings, ints, floats, bools (which
// only compare equal or not).
func compare(a, b any) int {
	switch x := a.(type) {
	case int:
		return cmpOrdered(x, b.(int))
	case float64:
		// As text/template, NaN is neither less nor equal; none can be written anyway.
		return cmpOrdered(x, b.(float64))
	case bool:
		if x == b.(bool) {
			return 0
		}
		return 1
	}
	return strings.Compare(str(a), str(b))
}

func cmpOrdered[T int | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func str(v any) string {
	if s, ok := v.(domain.AlertState); ok {
		return string(s)
	}
	return v.(string)
}

// jsonText writes v as a JSON value — a string quoted and escaped — so that no error text can
// break out of a JSON body. None of the values a template holds can fail to encode.
func jsonText(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("alert template: json: " + err.Error())
	}
	return strings.TrimSuffix(b.String(), "\n")
}

package alert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
)

// refFuncs are the helpers the templates had under text/template: the reference the
// interpreter is held to.
var refFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return "", err
		}
		return strings.TrimSuffix(b.String(), "\n"), nil
	},
}

// refRender runs text with text/template as the channels did before the interpreter.
func refRender(text string, d Data) (parsed bool, out string, err error) {
	t, err := template.New("t").Option("missingkey=error").Funcs(refFuncs).Parse(text)
	if err != nil {
		return false, "", err
	}
	var b bytes.Buffer
	err = t.Execute(&b, d)
	return true, b.String(), err
}

// sameAsTextTemplate requires the interpreter to refuse what text/template cannot parse and,
// where it accepts text, to write what text/template writes. It reports whether it accepted.
func sameAsTextTemplate(t require.TestingT, text string, d Data) bool {
	ours, err := parseTemplate("t", text)
	parsed, want, refErr := refRender(text, d)
	if !parsed {
		require.Error(t, err, "text/template refuses %q: %v", text, refErr)
		return false
	}
	if err != nil {
		return false
	}
	got, gotErr := render(ours, d)
	require.NoError(t, gotErr, "template %q", text)
	require.NoError(t, refErr, "text/template fails on %q, which the check accepted", text)
	require.Equal(t, want, string(got), "template %q", text)
	return true
}

// seedTemplates are templates of the documented subset: the presets, the mail texts, the
// example of docs/alerts.md, and one of each construct.
func seedTemplates() []string {
	seeds := []string{genericBody, slackBody, googleChatBody, teamsBody, mailSubject, mailBody,
		`{"summary": {{json .Title}}, "severity": {{if .Firing}}"critical"{{else}}"info"{{end}},
 "dedup_key": {{json .JobID}}, "action": {{if .Firing}}"trigger"{{else}}"resolve"{{end}},
 "details": {{json .AlertData}}}`,
		`{{.}}`, `{{.AlertData}}`, `{{json .}}`, `{{.Time}}`, `{{json .Time}}`, `{{.State}}`, `{{json .State}}`,
		`{{with .LastError}}error: {{.}}{{else}}none{{end}}`,
		`{{with .AlertData}}{{.JobID}} {{.State}} {{$.Title}}{{end}}`,
		`{{range .ConsecutiveFailures}}{{.}},{{else}}none{{end}}`,
		`{{range $i := .Threshold}}{{if eq $i 2}}{{continue}}{{end}}{{if gt $i 4}}{{break}}{{end}}{{$i}}{{end}}`,
		`{{$n := .Threshold}}{{if and .Firing (ge .ConsecutiveFailures $n)}}over{{end}}`,
		`{{if or .LastError .URL}}{{or .LastError .URL}}{{end}}`,
		`{{and .Firing .Title}} {{or .LastError "none"}} {{not .Firing}}`,
		`{{eq .State "firing" "resolved"}} {{ne .Namespace "ops"}} {{lt .Threshold 3}} {{le 1 2}}`,
		`{{.Title | json}} {{.Threshold | printf "%03d"}} {{.Firing | not | print}}`,
		`{{printf "%s/%s %q %v %d" .Namespace .JobName .LastError .Time .Threshold}}`,
		`{{print 1 2 "a" 1.5 'x' 0x1F true}}{{println .Ref .Threshold}}`,
		`{{- /* a comment */ -}} {{ .Title -}}  {{- .Ref }}`,
		`{{if .Firing}}a{{else if .LastError}}b{{else}}c{{end}}{{with .URL}}x{{else with .LastError}}{{.}}{{end}}`,
		`{{eq 1.5 1.50}} {{lt "a" .Ref}} {{ge .State "a"}} {{1e3}} {{-2}}`,
		`{{range 2}}[{{range 0}}x{{else}}{{break}}{{end}}]{{end}}tail`,
		`{{range 2}}[{{range 0}}x{{else}}{{continue}}{{end}}]{{end}}tail`,
	}
	return seeds
}

// fuzzData builds a Data from b: free-text fields from a pool of awkward strings or b itself.
func fuzzData(b []byte) Data {
	pool := []string{"", "ops", "firing", "resolved", `a "quoted" <b> & \ text`, "line\none", "é😀\u2028", "{{.Title}}", "%d %s"}
	next := func() byte {
		if len(b) == 0 {
			return 0
		}
		c := b[0]
		b = b[1:]
		return c
	}
	text := func() string {
		c := next()
		if int(c) < len(pool) {
			return pool[c]
		}
		n := min(int(c)%16, len(b))
		s := string(b[:n])
		b = b[n:]
		return s
	}
	d := Data{AlertData: event.AlertData{JobID: text(), JobName: text(), Namespace: text(),
		State: domain.AlertState(text()), ConsecutiveFailures: int(int8(next())), Threshold: int(next() % 20),
		LastError: text(), ExecutionID: text(), URL: text(),
		Time: time.Date(2026, 12, 6, 9, int(next()), 0, 0, time.UTC)}}
	d.Firing, d.Ref, d.Title, d.Text = next()%2 == 1, text(), text(), text()
	return d
}

func FuzzTemplateMatchesTextTemplate(f *testing.F) {
	for i, s := range seedTemplates() {
		f.Add(s, []byte{byte(i), 1, 2, 3, 200, 4, 5, 6, 7})
	}
	f.Fuzz(func(t *testing.T, text string, data []byte) {
		if len(text) > 2000 || strings.Contains(text, "range") && bigNumber(text) {
			t.Skip("a range could run for long")
		}
		sameAsTextTemplate(t, text, fuzzData(data))
	})
}

// bigNumber reports whether text holds a number of more than three digits, which a range
// could count to.
func bigNumber(text string) bool {
	run := 0
	for _, c := range text {
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' {
			run++
			if run > 3 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

func TestSeedTemplatesRenderAsTextTemplate(t *testing.T) {
	t.Parallel()
	datas := samples()
	for i := range 20 {
		datas = append(datas, fuzzData([]byte{byte(i * 13), byte(i), 9, byte(i * 7), 200, 3, 1, byte(i), 40, 5, 6, 7, 8, 9, 10, 11, 12}))
	}
	for _, s := range seedTemplates() {
		for _, d := range datas {
			require.True(t, sameAsTextTemplate(t, s, d), "the check refuses %q", s)
		}
	}
}

func TestTemplateRefusesWhatIsNotInTheSubset(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, text, want string }{
		{"UnknownField", `{{.Nope}}`, "has no field Nope"},
		{"FieldOfAString", `{{.Title.Size}}`, "has no field Size"},
		{"MethodOfATime", `{{.Time.Year}}`, "has no field Year"},
		{"MethodCall", `{{.Time.Format "2006"}}`, "has no field Format"},
		{"UnknownFunction", `{{len .Title}}`, `function "len" not defined`},
		{"Index", `{{index .Title 0}}`, `function "index" not defined`},
		{"Call", `{{call .Title}}`, `function "call" not defined`},
		{"HTML", `{{html .Title}}`, `function "html" not defined`},
		{"Template", `{{template "t"}}`, "template and block are not supported"},
		{"Define", `{{define "x"}}x{{end}}{{.Title}}`, "define and block are not supported"},
		{"Block", `{{block "x" .}}x{{end}}`, "define and block are not supported"},
		{"Assign", `{{$x := 1}}{{$x = 2}}`, "assigning a variable with = is not supported"},
		{"Nil", `{{json nil}}`, "nil is not supported"},
		{"CompareStringWithNumber", `{{eq .Title 1}}`, "eq cannot compare"},
		{"CompareIntWithFloat", `{{lt .Threshold 1.5}}`, "lt cannot compare"},
		{"OrderBools", `{{lt .Firing true}}`, "lt cannot order bools"},
		{"CompareTimes", `{{eq .Time .Time}}`, "eq cannot compare"},
		{"EqOneArgument", `{{eq .Title}}`, "eq takes at least two arguments"},
		{"JSONTwoArguments", `{{json .Title .Ref}}`, "json takes one argument"},
		{"PrintfFormatNotString", `{{printf .Threshold}}`, "printf's format must be a string"},
		{"PrintfStateFormat", `{{printf .State}}`, "printf's format must be a string"},
		{"RangeOverString", `{{range .Title}}x{{end}}`, "range can only count to a number"},
		{"RangeTwoVariables", `{{range $i, $e := .Threshold}}x{{end}}`, "range over a number takes one variable"},
		{"ArgumentToField", `{{.Title 1}}`, "is not a function"},
		{"PipeIntoField", `{{1 | .Title}}`, "is not a function"},
		{"FunctionAsOperand", `{{print json}}`, "call json in parentheses"},
		{"Chain", `{{(.AlertData).JobID}}`, "is not supported"},
		{"Complex", `{{print 1i}}`, "complex number 1i is not supported"},
		{"Overflow", `{{print 99999999999999999999}}`, "overflow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseTemplate("body", tt.text)
			require.ErrorContains(t, err, tt.want)
			require.ErrorContains(t, err, "template: body:")
		})
	}
}

// A template drawn from the subset's grammar renders as text/template renders it, with any
// data: the property behind the fuzz target, over templates a byte mutator rarely reaches.
func TestTemplatesFromTheSubsetRenderAsTextTemplate(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		g := &gen{t: rt}
		text := g.list(3, tData, []genVar{{"$", tData}})
		d := fuzzData(rapid.SliceOfN(rapid.Byte(), 0, 64).Draw(rt, "data"))
		if !sameAsTextTemplate(rt, text, d) {
			_, err := parseTemplate("t", text)
			rt.Fatalf("the check refuses %q: %v", text, err)
		}
	})
}

type genVar struct {
	name string
	t    typ
}

// gen draws templates of the subset, typed so that text/template runs them without error.
type gen struct {
	t *rapid.T
	n int
}

func (g *gen) pick(label string, choices ...string) string {
	return choices[rapid.IntRange(0, len(choices)-1).Draw(g.t, label)]
}

func (g *gen) list(depth int, dot typ, vars []genVar) string {
	vars = vars[:len(vars):len(vars)]
	var b strings.Builder
	for range rapid.IntRange(0, 4).Draw(g.t, "items") {
		switch k := rapid.IntRange(0, 7).Draw(g.t, "item"); {
		case k <= 1:
			b.WriteString(g.pick("text", "", " ", "\n", `{"a": `, "é", `"\`, "}", "x\t\n  y"))
		case k == 2 || depth == 0:
			b.WriteString("{{" + g.pick("trim", "", "- ") + g.pipe(depth, dot, vars) + g.pick("trim", "", " -") + "}}")
		case k == 3:
			g.n++
			name := fmt.Sprintf("$v%d", g.n)
			t := g.anyType(dot)
			b.WriteString("{{" + name + " := " + g.expr(depth, t, dot, vars) + "}}")
			vars = append(vars, genVar{name, t})
		case k == 4:
			b.WriteString("{{if " + g.expr(depth-1, g.anyType(dot), dot, vars) + "}}" + g.list(depth-1, dot, vars))
			if rapid.Bool().Draw(g.t, "else") {
				b.WriteString("{{else}}" + g.list(depth-1, dot, vars))
			}
			b.WriteString("{{end}}")
		case k == 5:
			t := g.anyType(dot)
			b.WriteString("{{with " + g.expr(depth-1, t, dot, vars) + "}}" + g.list(depth-1, t, vars))
			if rapid.Bool().Draw(g.t, "else") {
				b.WriteString("{{else}}" + g.list(depth-1, dot, vars))
			}
			b.WriteString("{{end}}")
		default:
			inner := vars
			head := "{{range "
			if rapid.Bool().Draw(g.t, "rangevar") {
				g.n++
				name := fmt.Sprintf("$i%d", g.n)
				head += name + " := "
				inner = append(inner[:len(inner):len(inner)], genVar{name, tInt})
			}
			// Small counts: ranges nest.
			b.WriteString(head + g.pick("count", "3", "0", "-1", "$.Threshold", "(or 0 2)") + "}}")
			b.WriteString(g.pick("ctl", "", "{{if eq . 1}}{{continue}}{{end}}", "{{if gt . 3}}{{break}}{{end}}"))
			b.WriteString(g.list(depth-1, tInt, inner))
			if rapid.Bool().Draw(g.t, "else") {
				b.WriteString("{{else}}" + g.list(depth-1, dot, vars))
			}
			b.WriteString("{{end}}")
		}
	}
	return b.String()
}

func (g *gen) anyType(dot typ) typ {
	ts := []typ{tString, tInt, tBool, tState, tTime, tAlertData, tFloat}
	if dot == tData {
		ts = append(ts, tData)
	}
	return ts[rapid.IntRange(0, len(ts)-1).Draw(g.t, "type")]
}

// pipe draws a pipeline whose value an action prints.
func (g *gen) pipe(depth int, dot typ, vars []genVar) string {
	t := g.anyType(dot)
	x := g.expr(depth, t, dot, vars)
	switch rapid.IntRange(0, 4).Draw(g.t, "pipe") {
	case 0:
		return x + " | json"
	case 1:
		return x + " | printf " + g.pick("format", `"%v"`, `"[%v]"`, `"%q"`, `"%d"`, `"%s"`)
	case 2:
		return x + " | print " + g.expr(depth, tString, dot, vars)
	case 3:
		if c := class(t); c == tString || c == tInt {
			return x + " | " + g.pick("cmp", "eq", "ne", "lt", "le", "gt", "ge") + " " + g.expr(depth, t, dot, vars)
		}
	}
	return x
}

// expr draws an operand of type t.
func (g *gen) expr(depth int, t typ, dot typ, vars []genVar) string {
	var choices []string
	if dot == t {
		choices = append(choices, ".")
	}
	for _, v := range vars {
		if v.t == t {
			choices = append(choices, v.name)
		}
	}
	for name, ft := range alertDataFields {
		if ft == t {
			choices = append(choices, "$."+name, "$.AlertData."+name)
			if dot == tData || dot == tAlertData {
				choices = append(choices, "."+name)
			}
		}
	}
	for name, ft := range dataFields {
		if ft == t {
			choices = append(choices, "$."+name)
			if dot == tData {
				choices = append(choices, "."+name)
			}
		}
	}
	switch t {
	case tString:
		choices = append(choices, `"lit"`, `""`, "`raw\"`")
		if depth > 0 {
			e := func(t typ) string { return g.expr(depth-1, t, dot, vars) }
			choices = append(choices, "(json "+e(g.anyType(dot))+")", "(print "+e(tInt)+" "+e(tString)+")",
				`(printf "%v-%d" `+e(tState)+" "+e(tInt)+")", "(println "+e(tBool)+")",
				"(and "+e(tString)+" "+e(tString)+")", "(or "+e(tString)+" "+e(tString)+")")
		}
	case tInt:
		choices = append(choices, "0", "3", "-2", "0x1F", "'a'", "1_0")
		if depth > 0 {
			choices = append(choices, "(or "+g.expr(depth-1, tInt, dot, vars)+" 2)")
		}
	case tFloat:
		choices = append(choices, "1.5", "2e2", "0.0")
	case tBool:
		choices = append(choices, "true", "false")
		if depth > 0 {
			e := func(t typ) string { return g.expr(depth-1, t, dot, vars) }
			c := g.pick("cmpType", "s", "i", "b", "st")
			a, b := map[string][2]string{
				"s":  {e(tString), e(tState)},
				"i":  {e(tInt), e(tInt)},
				"b":  {e(tBool), e(tBool)},
				"st": {e(tState), e(tString)},
			}[c][0], ""
			switch c {
			case "s", "st":
				b = e(tString)
			case "i":
				b = e(tInt)
			case "b":
				b = e(tBool)
			}
			op := g.pick("op", "eq", "ne", "lt", "le", "gt", "ge")
			if c == "b" {
				op = g.pick("op", "eq", "ne")
			}
			choices = append(choices, "("+op+" "+a+" "+b+")", "(not "+e(g.anyType(dot))+")",
				"(and "+e(tBool)+" "+e(tBool)+")", "(or "+e(tBool)+" "+e(tBool)+")", "(eq "+a+" "+b+" "+b+")")
		}
	}
	if len(choices) == 0 {
		return "$"
	}
	return g.pick("expr", choices...)
}

// A template cannot make an alert take the api's memory or CPU: its output and its range
// iterations are bounded, and a render past them fails rather than grows.
func TestRenderIsBounded(t *testing.T) {
	t.Parallel()
	d := samples()[0]
	d.ConsecutiveFailures = 1000
	for _, text := range []string{
		`{{range .ConsecutiveFailures}}{{printf "%999999d" 1}}{{end}}`,
		`{{range .ConsecutiveFailures}}{{range $.ConsecutiveFailures}}x{{end}}{{end}}`,
		`{{range 2000000000}}{{end}}`,
	} {
		tm, err := parseTemplate("t", text)
		require.NoError(t, err, text)
		_, err = render(tm, d)
		require.Error(t, err, text)
	}
	tm, err := parseTemplate("t", `{{range .ConsecutiveFailures}}x{{end}}`)
	require.NoError(t, err)
	out, err := render(tm, d)
	require.NoError(t, err)
	require.Len(t, out, 1000)
}

package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/secret"
)

func ctx() *Context {
	loc, _ := time.LoadLocation("Asia/Ho_Chi_Minh")
	return &Context{
		Vars:  map[string]string{"HOST": "api.example.com", "TOKEN": "s3cr3t t0ken", "EMPTY": ""},
		JobID: "0195f1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b", JobName: "nightly report", ExecutionID: "exec-1", Attempt: 2,
		ScheduledAt: time.Date(2026, 11, 28, 19, 30, 0, 0, time.UTC), Location: loc, Trigger: "webhook",
		Payload: json.RawMessage(`{"order":{"id":42,"ref":"A-7"},"note":"hi"}`),
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, tmpl, want string }{
		{"Plain", "https://x.test/run", "https://x.test/run"},
		{"Var", "https://{{ var.HOST }}/v1", "https://api.example.com/v1"},
		{"NoSpaces", "{{var.HOST}}", "api.example.com"},
		{"EmptyVarIsDefined", "[{{ var.EMPTY }}]", "[]"},
		{"Job", "{{ job.name }} {{ job.id }}", "nightly report 0195f1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b"},
		{"ScheduledAtInZone", "{{ execution.scheduled_at }}", "2026-11-29T02:30:00+07:00"},
		{"DateLayout", `{{ execution.scheduled_at | date "2006-01-02" }}`, "2026-11-29"},
		{"Attempt", "try {{ execution.attempt }} of {{ execution.id }}", "try 2 of exec-1"},
		{"URLQuery", "q={{ var.TOKEN | urlquery }}", "q=s3cr3t+t0ken"},
		{"JSONEscape", `{"note":"{{ var.TOKEN | json }}"}`, `{"note":"s3cr3t t0ken"}`},
		{"Upper", "{{ var.HOST | upper }}", "API.EXAMPLE.COM"},
		{"Trigger", "{{ trigger.type }}", "webhook"},
		{"PayloadString", "{{ trigger.payload.order.ref }}", "A-7"},
		{"PayloadNumber", "{{ trigger.payload.order.id }}", "42"},
		{"PayloadObject", "{{ trigger.payload.order }}", `{"id":42,"ref":"A-7"}`},
		{"LiteralBraces", `{{ "{{" }} var.X {{ "}}" }}`, "{{ var.X }}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Render("http.url", tt.tmpl, ctx())
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			require.NoError(t, Check("http.url", tt.tmpl))
		})
	}
}

func TestMissingVariableNamesItAndTheField(t *testing.T) {
	t.Parallel()
	_, err := Render("http.headers.Authorization", "Bearer {{ var.API_TOKEN }}", ctx())
	var missing *MissingVariableError
	require.ErrorAs(t, err, &missing)
	require.Equal(t, "API_TOKEN", missing.Name)
	require.Equal(t, `http.headers.Authorization: variable "API_TOKEN" is not defined (globally or for this job)`, err.Error())
}

func TestRejectsWhatIsNotTheLanguage(t *testing.T) {
	t.Parallel()
	for tmpl, want := range map[string]string{
		"{{ var.X ":                           `"{{" at byte 0 is not closed`,
		"a }} b":                              `"}}" at byte 2 closes nothing`,
		"{{ }}":                               "empty expression",
		"{{ env.HOME }}":                      `"env" is not one of var, job, execution, trigger`,
		`{{ var.X | exec "rm -rf /" }}`:       `"exec" is not a filter`,
		"{{ var }}":                           "write var.NAME",
		"{{ var.a-b }}":                       `"a-b" is not a name`,
		`{{ execution.scheduled_at | date }}`: "date needs a layout",
		`{{ var.X | date "2006" }}`:           "date applies to execution.scheduled_at",
		"{{ job.secret }}":                    "job has id and name",
		"{{ readFile \"/etc/passwd\" }}":      "is not a name",
	} {
		err := Check("http.body", tmpl)
		require.Error(t, err, tmpl)
		require.Contains(t, err.Error(), want, tmpl)
		require.True(t, strings.HasPrefix(err.Error(), "http.body: "), "the field is named: %s", err)
	}
}

func TestOutputIsBounded(t *testing.T) {
	t.Parallel()
	c := ctx()
	c.Vars["BIG"] = strings.Repeat("x", MaxOutput/2+1)
	_, err := Render("http.body", "{{ var.BIG }}{{ var.BIG }}", c)
	var rerr *Error
	require.True(t, errors.As(err, &rerr))
	require.Contains(t, rerr.Reason, "renders to more than")
}

func TestPayloadErrors(t *testing.T) {
	t.Parallel()
	c := ctx()
	_, err := Render("http.body", "{{ trigger.payload.order.missing }}", c)
	require.ErrorContains(t, err, "trigger.payload.order.missing is not in the payload")
	c.Payload = nil
	_, err = Render("http.body", "{{ trigger.payload.x }}", c)
	require.ErrorContains(t, err, "has no trigger payload")
}

func TestVariables(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"A", "B"}, Variables("{{ var.A }}-{{ job.name }}-{{ var.B | upper }}"))
}

// Text without braces renders as itself, whatever it holds.
func TestTextWithoutBracesIsUnchanged(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.String().Filter(func(s string) bool { return !strings.Contains(s, "{{") && !strings.Contains(s, "}}") }).Draw(t, "text")
		got, err := Render("f", s, ctx())
		require.NoError(t, err)
		require.Equal(t, s, got)
	})
}

// A variable's value is inserted verbatim, never read as a template itself.
func TestVariableValuesAreNotTemplates(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		v := rapid.String().Draw(t, "value")
		c := ctx()
		c.Vars["V"] = v
		got, err := Render("f", "<{{ var.V }}>", c)
		require.NoError(t, err)
		require.Equal(t, "<"+v+">", got)
	})
}

func TestFilterChains(t *testing.T) {
	t.Parallel()
	for tmpl, want := range map[string]string{
		"{{ var.TOKEN | upper | urlquery }}":                            "S3CR3T+T0KEN",
		"{{var.TOKEN|lower|json}}":                                      "s3cr3t t0ken",
		`{{ execution.scheduled_at | date "Mon | Jan" | upper }}`:       "SUN | NOV",
		`{{ execution.scheduled_at | date "2006" | urlquery | upper }}`: "2026",
	} {
		got, err := Render("http.body", tmpl, ctx())
		require.NoError(t, err, tmpl)
		require.Equal(t, want, got, tmpl)
	}
	for tmpl, want := range map[string]string{
		`{{ var.TOKEN | upper | date "2006" }}`:                  "date applies to execution.scheduled_at, as its first filter",
		"{{ var.TOKEN | upper | }}":                              `"" is not a filter`,
		"{{ var.TOKEN | upper lower }}":                          "upper takes no argument",
		"{{ var.TOKEN | upper | lower | upper | lower | json }}": "at most 4 filters",
		`{{ execution.scheduled_at | date "x }}`:                 "the date layout must be a quoted string",
	} {
		err := Check("http.body", tmpl)
		require.ErrorContains(t, err, want, tmpl)
	}
}

// TestEverythingDerivedFromASecretIsTaintedAndMasked renders random templates that pass secrets
// through random chains of filters between arbitrary text: every form a secret took in the
// output is reported tainted, a masker of the secrets and the tainted values leaves none of
// them in the output, and the text around them is left as it was.
func TestEverythingDerivedFromASecretIsTaintedAndMasked(t *testing.T) {
	t.Parallel()
	names := []string{"urlquery", "json", "upper", "lower"}
	rapid.Check(t, func(t *rapid.T) {
		secrets := rapid.SliceOfN(rapid.StringMatching(`[A-Za-z0-9 "\\/+=&%?<>é-]{4,24}`), 1, 3).Draw(t, "secrets")
		c := ctx()
		c.Secret = map[string]bool{}
		for i, s := range secrets {
			name := fmt.Sprintf("S%d", i)
			c.Vars[name], c.Secret[name] = s, true
		}
		var tmpl strings.Builder
		var texts, outputs []string
		for range rapid.IntRange(1, 5).Draw(t, "parts") {
			text := rapid.StringMatching(`[!#~^;]{0,6}`).Draw(t, "text")
			texts = append(texts, text)
			tmpl.WriteString(text)
			i := rapid.IntRange(0, len(secrets)-1).Draw(t, "secret")
			chain := rapid.SliceOfN(rapid.SampledFrom(names), 0, maxFilters).Draw(t, "filters")
			tmpl.WriteString("{{ var.S" + strconv.Itoa(i))
			var fs []filter
			for _, f := range chain {
				tmpl.WriteString(" | " + f)
				fs = append(fs, filter{name: f})
			}
			tmpl.WriteString(" }}")
			outputs = append(outputs, apply(fs, secrets[i]))
		}
		out, err := Render("http.body", tmpl.String(), c)
		require.NoError(t, err)
		require.Subset(t, c.Tainted, outputs, "every secret's output is tainted")
		masked := secret.NewMasker(append(slices.Clone(secrets), c.Tainted...)).Mask(out)
		for _, o := range outputs {
			require.NotContains(t, masked, o, "template %q", tmpl.String())
		}
		for _, text := range texts {
			require.Contains(t, masked, text)
		}
		for name := range c.Secret {
			require.True(t, c.Used[name] || !strings.Contains(tmpl.String(), "var."+name+" "), name)
		}
	})
}

// LoadVars runs once, at the first variable a template names, and never for a template that
// names none; its error is Render's.
func TestVariablesAreLoadedOnFirstUse(t *testing.T) {
	t.Parallel()
	loads := 0
	c := ctx()
	vars := c.Vars
	c.Vars = nil
	c.LoadVars = func(c *Context) error {
		loads++
		c.Vars = vars
		return nil
	}
	out, err := Render("f", "{{ job.name }} at {{ execution.scheduled_at }}", c)
	require.NoError(t, err)
	require.Equal(t, "nightly report at 2026-11-29T02:30:00+07:00", out)
	require.Zero(t, loads)
	for range 2 {
		out, err = Render("f", "{{ var.HOST }}/{{ var.EMPTY }}", c)
		require.NoError(t, err)
		require.Equal(t, "api.example.com/", out)
	}
	require.Equal(t, 1, loads)

	down := errors.New("variables: database unavailable")
	c = ctx()
	c.LoadVars = func(*Context) error { return down }
	_, err = Render("f", "x {{ var.HOST }}", c)
	require.ErrorIs(t, err, down)
}

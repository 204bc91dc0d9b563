package dashboard

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/a-h/templ"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/vecron/vecron/shared/domain"
)

// The pages moved from html/template to templ serve the same document: the same elements,
// attributes (ids, classes, CSRF fields, HTMX and ARIA attributes) and text, in the same
// order. testdata/before holds the html/template files as they were; each case renders both.
func TestTemplComponentsServeWhatTheTemplatesServed(t *testing.T) {
	t.Parallel()
	cat, err := loadCatalogs(files)
	require.NoError(t, err)
	static, err := fs.Sub(files, "static")
	require.NoError(t, err)
	a, err := loadAssets(static)
	require.NoError(t, err)
	funcs := template.FuncMap{"t": cat.tr, "asset": a.url}
	before := func(page string) *template.Template {
		tpl, err := template.New(page).Funcs(funcs).ParseFS(os.DirFS("testdata/before"), "layout.html", "row.html", "timeline.html", page)
		require.NoError(t, err)
		return tpl
	}
	newView := func(lang, user string, admin bool, nav string, page any) *view {
		v := &view{L: lang, Title: cat.tr(lang, "login.title"), HTMXConfig: htmxConfig, Nav: nav, Page: page, cat: cat, assets: a}
		for _, l := range []langLink{{Code: "en", Label: "English"}, {Code: "vi", Label: "Tiếng Việt"}} {
			l.Current = l.Code == lang
			l.URL = "/lang?next=%2Fjobs%3Fq%3D%22a%22%26b&set=" + l.Code
			v.Langs = append(v.Langs, l)
		}
		if user != "" {
			v.User, v.Admin, v.CSRF = user, admin, `tok"en<&>`
			v.HXHeaders = `{"X-CSRF-Token":"tok\"en\u003c\u0026\u003e"}`
		}
		return v
	}
	login := func(mod func(*loginView)) *loginView {
		lv := &loginView{Next: "/jobs?q=<x>", Password: true, FieldErrors: map[string]string{}}
		mod(lv)
		return lv
	}
	type tcase struct {
		name          string
		page, define  string
		data          any
		component     templ.Component
		layoutWrapped bool
	}
	var cases []tcase
	for _, lang := range []string{"en", "vi"} {
		for _, lv := range []*loginView{
			login(func(*loginView) {}),
			login(func(lv *loginView) {
				lv.Username, lv.Notice, lv.Error = `bob "<b>"`, "Session ended", "Wrong password & <more>"
				lv.FieldErrors["username"], lv.FieldErrors["password"] = "Required", "Too long"
				lv.OIDCLabel, lv.OIDCURL = "Corp SSO", "/auth/oidc/start?next=%2Fjobs"
			}),
			login(func(lv *loginView) { lv.Password, lv.OIDCLabel, lv.OIDCURL = false, "Keycloak", "/auth/oidc/start" }),
			login(func(lv *loginView) { lv.FieldErrors["password"] = "Required" }),
		} {
			v := newView(lang, "", false, "", lv)
			cases = append(cases, tcase{name: "Login/" + lang, page: "login.html", define: "layout", data: v, component: loginContent(v, lv), layoutWrapped: true})
		}
		for _, nav := range []string{"jobs", "history", "dead-letters", "variables", "audit", "admin", ""} {
			for _, admin := range []bool{false, true} {
				for _, ev := range []errorView{{L: lang, Status: 404, Message: "Not found"}, {L: lang, Status: 502, Message: "Bad <gateway>", Detail: `upstream said "no" & left`}} {
					v := newView(lang, `ana "<admin>"`, admin, nav, ev)
					cases = append(cases, tcase{name: fmt.Sprintf("Error/%s/%s/%v", lang, nav, admin), page: "error.html", define: "layout", data: v,
						component: errorContent(v, ev), layoutWrapped: true})
					cases = append(cases, tcase{name: "Flash/" + lang, page: "error.html", define: "flash", data: ev, component: flash(ev)})
				}
			}
		}
	}
	for _, lang := range []string{"en", "vi"} {
		w := words{cat: cat, lang: lang}
		for _, writer := range []bool{false, true} {
			for _, jv := range jobsViews(lang, writer) {
				v := newView(lang, `ana "<admin>"`, false, "jobs", jv)
				cases = append(cases, tcase{name: fmt.Sprintf("Jobs/%s/%v", lang, writer), page: "jobs.html", define: "layout", data: v,
					component: jobsContent(v, jv), layoutWrapped: true})
				for _, row := range jv.Rows {
					cases = append(cases, tcase{name: fmt.Sprintf("Row/%s/%v", lang, writer), page: "jobs.html", define: "job-row", data: row,
						component: jobRowItem(w, row)})
				}
			}
			for _, jv := range jobViews(lang, writer) {
				v := newView(lang, `ana "<admin>"`, writer, "jobs", jv)
				cases = append(cases, tcase{name: fmt.Sprintf("Job/%s/%v", lang, writer), page: "job.html", define: "layout", data: v,
					component: jobContent(v, jv), layoutWrapped: true})
				cases = append(cases, tcase{name: fmt.Sprintf("Timeline/%s/%v", lang, writer), page: "job.html", define: "timeline", data: jv.Timeline,
					component: timelineItems(w, jv.Timeline)})
			}
		}
	}
	for _, c := range cases {
		var want bytes.Buffer
		require.NoError(t, before(c.page).ExecuteTemplate(&want, c.define, c.data), c.name)
		comp := c.component
		if c.layoutWrapped {
			comp = layout(c.data.(*view), c.component)
		}
		var got bytes.Buffer
		require.NoError(t, comp.Render(t.Context(), &got), c.name)
		require.Equal(t, tokens(t, want.String()), tokens(t, got.String()), "%s\nbefore:\n%s\nafter:\n%s", c.name, want.String(), got.String())
		require.Empty(t, doubleSpaces(t, got.String()), "%s: templ writes the white space it is given, not the templates' indentation", c.name)
	}
}

// The facts component writes the definition list the confirmation page writes.
func TestFactsComponentIsTheConfirmList(t *testing.T) {
	t.Parallel()
	fs := []fact{{Label: "Job", Value: `ops/<settle>`}, {Label: "Runs", Value: "3 & more"}}
	tpl := template.Must(template.New("x").Parse(`<dl class="def">
    {{- range .}}
    <dt>{{.Label}}</dt><dd>{{.Value}}</dd>
    {{- end}}
  </dl>`))
	var want, got bytes.Buffer
	require.NoError(t, tpl.Execute(&want, fs))
	require.NoError(t, facts(fs).Render(t.Context(), &got))
	require.Equal(t, tokens(t, want.String()), tokens(t, got.String()))
	got.Reset()
	require.NoError(t, facts(nil).Render(t.Context(), &got))
	require.Empty(t, got.String())
}

// doubleSpaces returns the texts of doc outside <pre> that have two spaces in a row: the
// token comparison collapses them, but a component writes no indentation, so two spaces are a
// slip (a trailing space templ adds after a node, beside one written out).
func doubleSpaces(t *testing.T, doc string) []string {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(doc))
	var out []string
	pre := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			require.ErrorIs(t, z.Err(), io.EOF)
			return out
		case html.StartTagToken:
			if name, _ := z.TagName(); string(name) == "pre" {
				pre++
			}
		case html.EndTagToken:
			if name, _ := z.TagName(); string(name) == "pre" {
				pre--
			}
		case html.TextToken:
			if text := string(z.Text()); pre == 0 && strings.Contains(text, "  ") {
				out = append(out, text)
			}
		}
	}
}

// tokens returns the document's tokens as the browser reads them: attributes decoded and in
// order of name, text with its runs of white space as one space, and white space between
// elements dropped (the templates indent, templ does not). A void element is the same
// written <x> or <x/>.
func tokens(t *testing.T, doc string) []string {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(doc))
	var out []string
	text := ""
	flush := func() {
		if s := strings.Join(strings.Fields(text), " "); s != "" {
			lead, trail := "", ""
			if strings.TrimLeft(text, " \t\n") != text {
				lead = " "
			}
			if strings.TrimRight(text, " \t\n") != text {
				trail = " "
			}
			out = append(out, "text:"+lead+s+trail)
		}
		text = ""
	}
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			require.ErrorIs(t, z.Err(), io.EOF)
			flush()
			return out
		}
		tok := z.Token()
		if tt == html.TextToken {
			text += tok.Data
			continue
		}
		flush()
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			attrs := make([]string, 0, len(tok.Attr))
			for _, a := range tok.Attr {
				attrs = append(attrs, a.Key+"="+a.Val)
			}
			slices.Sort(attrs)
			out = append(out, "<"+tok.Data+" "+strings.Join(attrs, " ")+">")
		case html.EndTagToken:
			out = append(out, "</"+tok.Data+">")
		case html.DoctypeToken:
			out = append(out, "doctype:"+strings.ToLower(tok.Data))
		}
	}
}

const (
	testJobID   = "0b9f8c1e-6d1a-4f7e-9b1c-2f3e4d5c6b7a"
	testOtherID = "7d3c2b1a-0f9e-4d8c-8b7a-6c5d4e3f2a1b"
	testExecID  = "5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b"
	testNow     = "2026-12-06T10:00:00.000Z"
)

// testRows are rows of the jobs list as ui.row makes them: running and paused, with and without
// runs, tags, a message, a live update; writer gives the buttons.
func testRows(lang string, writer bool) []jobRow {
	base := func(id, name string) jobRow {
		return jobRow{L: lang, CSRF: `tok"en<&>`, ID: id, Name: name, Namespace: "ops-eu", Kind: "http", State: "scheduled",
			StateLabel: "Scheduled <on>", Enabled: true, Schedule: "Every day at 02:00 & 14:00", Zone: "Europe/Berlin",
			CanEnable: writer, CanRun: writer, CanEdit: writer, Now: testNow}
	}
	ok := outcomeView{Status: "succeeded", Icon: "✓", Label: "Succeeded", When: "3 minutes ago", At: "2026-12-06T09:57:00.000Z"}
	bad := outcomeView{Status: "failed", Icon: "✗", Label: "Failed <500>", When: "1 hour ago", At: "2026-12-06T09:00:00.000Z"}
	full := base(testJobID, `nightly "settle" <report> & co`)
	full.Tags = []string{"billing", "team-a", "p1"}
	full.NextRun, full.NextRunRel, full.NextRunAt = "Dec 6, 2026, 14:00", "in 4 hours", "2026-12-06T13:00:00.000Z"
	full.Strip = []outcomeView{bad, ok, ok}
	full.Last = &full.Strip[2]
	full.Rate = "66.7%"
	paused := base(testOtherID, "cleanup")
	paused.Enabled, paused.State, paused.StateLabel = false, "paused", "Paused"
	paused.Message = "Paused. <Resume> when ready & done"
	live := full
	live.Live, live.Message, live.Tags = true, "Run queued", nil
	return []jobRow{full, paused, live}
}

// jobsViews are the jobs list: a page with rows between others, the last one filtered, one the
// API refused with field errors, and an empty one.
func jobsViews(lang string, writer bool) []*jobsView {
	states := []option{{Value: "scheduled", Label: "Scheduled"}, {Value: "paused", Label: "Paused <p>", Selected: true}}
	kinds := []option{{Value: "http", Label: "HTTP", Selected: true}, {Value: "sql", Label: "SQL"}}
	rows := testRows(lang, writer)
	return []*jobsView{
		{Filter: jobFilter{Q: `night "ly" <x>`, Namespace: "ops-eu", State: "paused", Kind: "http", Tags: []string{"billing", "p1"}},
			States: states, Kinds: kinds, Rows: rows, CanCreate: writer, FieldErrors: map[string]string{},
			First: "/jobs?namespace=ops-eu&q=night", Next: "/jobs?cursor=abc%3D%3D&namespace=ops-eu&q=night",
			Live: "/live?job=" + testJobID + "&job=" + testOtherID},
		{Filter: jobFilter{Tags: []string{"billing"}}, States: states, Kinds: kinds, Rows: rows[:1], CanCreate: writer,
			FieldErrors: map[string]string{}, First: "/jobs?tag=billing", Live: "/live?job=" + testJobID},
		{Filter: jobFilter{Q: "x", Namespace: "Bad NS", Tags: []string{"a b"}}, States: states, Kinds: kinds, CanCreate: writer,
			Problem: "The request is invalid: <namespace> & tag", FieldErrors: map[string]string{"q": "too short", "namespace": "not a namespace <x>", "tag": "not a tag"}},
		{States: states, Kinds: kinds, CanCreate: writer, FieldErrors: map[string]string{}},
	}
}

// jobViews are the job page: every section filled in, then the page of a reader who may read
// no section beyond the definition, and one whose sections the API could not answer.
func jobViews(lang string, writer bool) []*jobView {
	rows := testRows(lang, writer)
	off, on := false, true
	full := &jobView{Row: rows[0], Target: "POST https://api.example.com/settle?x=1&y=<2>",
		Definition: "{\n  \"name\": \"nightly <settle>\",\n  \"tags\": [\"billing\"]\n}",
		Job: &domain.Job{ID: testJobID, Name: rows[0].Name, Namespace: "ops-eu", Kind: domain.KindHTTP, Timezone: "Europe/Berlin",
			Description: "Settles the day's <payments> & sends the report", Alert: domain.AlertPolicy{Enabled: &on, AfterFailures: 3}},
		Fires: []fireView{{Local: "Dec 6, 2026, 14:00", UTC: "Dec 6, 2026, 13:00"},
			{Local: "Mar 29, 2027, 03:00", UTC: "Mar 29, 2027, 01:00", Notes: []string{"moved: 02:00 does not exist (DST)", "<holiday> & skipped"}}},
		Timeline: timelineView{L: lang, JobID: testJobID, Items: []timelineItem{
			{ID: testExecID, Status: "succeeded", Icon: "✓", Label: "Succeeded", Trigger: "schedule", When: "3 minutes ago", At: "2026-12-06T09:57:00.000Z",
				Now: testNow, Scheduled: "Dec 6, 2026, 10:57", Attempt: 1, Duration: "1.2 s", HTTPStatus: 200},
			{ID: testOtherID, Status: "failed", Icon: "✗", Label: "Failed", Trigger: "retry <2>", When: "1 hour ago", At: "2026-12-06T09:00:00.000Z",
				Now: testNow, Scheduled: "Dec 6, 2026, 10:00", Attempt: 3},
		}},
		Live: "/live?job=" + testJobID + "&timeline=" + testJobID,
		Stats: &statsView{Since: "Nov 29, 2026, 10:00", Total: 10, TotalN: "10", Rate: "80%", P50: "1.2 s", P95: "4 s", Samples: 9,
			ConsecutiveFailures: 2, LastSuccess: &instantView{Rel: "3 minutes ago", Abs: "Dec 6, 2026, 10:57", At: "2026-12-06T09:57:00.000Z", Now: testNow},
			Outcomes: []outcomeCount{
				{outcomeView: outcomeView{Status: "succeeded", Icon: "✓", Label: "Succeeded"}, Count: 8, N: "8", Share: "80%"},
				{outcomeView: outcomeView{Status: "failed", Icon: "✗", Label: "Failed"}, Count: 2, N: "2", Share: "20%"},
				{outcomeView: outcomeView{Status: "skipped", Icon: "↷", Label: "Skipped"}, N: "0"},
			}},
		Variables: &jobVariablesView{CanWrite: writer, Rows: []variableRow{
			{Name: "TOKEN", Secret: true, Hosts: "api.example.com, <x>.example.com", Updated: "Dec 1, 2026", UpdatedRel: "5 days ago"},
			{Name: "KEY", Secret: true, Updated: "Dec 2, 2026", UpdatedRel: "4 days ago"},
			{Name: "REGION", Value: `eu-west "1" <&>`, Updated: "Dec 3, 2026", UpdatedRel: "3 days ago"},
		}, Globals: []globalVariable{{Name: "REGION", Shadowed: true}, {Name: "SMTP_PASS", Secret: true}, {Name: "ENV"}}},
		Audit: &jobAuditView{All: "/audit?object_id=" + testJobID + "&object_kind=job", Rows: []jobAuditRow{
			{Seq: 42, When: instantView{Rel: "2 hours ago", Abs: "Dec 6, 2026, 09:00", At: "2026-12-06T08:00:00.000Z", Now: testNow},
				Actor: `ana "<admin>"`, Action: "Edited", Code: "job.update", Summary: "Changed schedule, http.url"},
			{Seq: 43, When: instantView{Rel: "1 hour ago", Abs: "Dec 6, 2026, 10:00"}, Actor: "bob", Action: "Ran now", Code: "job.trigger",
				Summary: "A run", Link: "/executions/" + testExecID},
			{Seq: 44, When: instantView{Rel: "now", Abs: "Dec 6, 2026, 11:00"}, Actor: "carol", Action: "job.frobnicate", Code: "job.frobnicate"},
		}},
		CanReadVariables: true,
		Chains: []chainListView{
			{Key: "on_success", Targets: []chainTargetView{{Ref: "ops-eu/report", Href: "/jobs/" + testOtherID}, {Ref: "secret/<hidden>"}}},
			{Key: "on_failure", Targets: []chainTargetView{{Ref: "ops-eu/page-oncall", Href: "/jobs/" + testExecID}}},
		},
		Upstream: &upstreamView{Jobs: []upstreamJobView{{Ref: "ops-eu/import", Href: "/jobs/" + testOtherID, Conditions: []string{"on_success", "on_completion"}}},
			Hidden: 2, Truncated: true},
		Recent: &recentFiresView{Items: []recentFireView{
			{When: instantView{Abs: "Dec 6, 2026, 10:57", At: "2026-12-06T09:57:00.000Z", Now: testNow}, Trigger: "Schedule", ExecutionID: testExecID,
				Outcome: &outcomeView{Status: "succeeded", Icon: "✓", Label: "Succeeded"}},
			{When: instantView{Abs: "Dec 6, 2026, 09:57"}, Trigger: "Schedule", Reason: "The job was paused", Detail: "by <ana> & co"},
			{When: instantView{Abs: "Dec 6, 2026, 08:57"}, Trigger: "Manual", Detail: "queued"},
		}},
		Streak: &streakView{Failures: 2, Alerted: true},
		Missed: &missedView{Rows: []missedRow{
			{Scheduled: "Dec 5, 2026, 02:00", Stage: "Never claimed", Detected: "Dec 5, 2026, 02:05", Started: "Dec 5, 2026, 02:07"},
			{Scheduled: "Dec 4, 2026, 02:00", Stage: "unknown-stage", Detail: "tick <down> & out", Detected: "Dec 4, 2026, 02:05"},
		}},
	}
	quiet := &jobView{Row: rows[1], Definition: "{}", Live: "/live?job=" + testOtherID + "&timeline=" + testOtherID,
		Job:          &domain.Job{ID: testOtherID, Name: "cleanup", Namespace: "ops-eu", Kind: domain.KindSQL, Timezone: "UTC", Alert: domain.AlertPolicy{Enabled: &off}},
		FiresProblem: "No fires: the schedule <ended>", Timeline: timelineView{L: lang, JobID: testOtherID},
		Recent: &recentFiresView{}, Streak: &streakView{Failures: 1},
		Stats:     &statsView{TotalN: "0", Outcomes: []outcomeCount{{outcomeView: outcomeView{Status: "succeeded", Icon: "✓", Label: "Succeeded"}, N: "0"}}},
		Variables: &jobVariablesView{CanWrite: writer},
		Audit:     &jobAuditView{All: "/audit?object_id=" + testOtherID + "&object_kind=job"},
		Upstream:  &upstreamView{Hidden: 1},
	}
	failing := &jobView{Row: rows[2], Definition: "", Live: "/live?job=" + testJobID + "&timeline=" + testJobID,
		Job:       &domain.Job{ID: testJobID, Name: "x", Namespace: "ops-eu", Kind: domain.KindHTTP, Timezone: "UTC"},
		Timeline:  timelineView{L: lang, JobID: testJobID, Problem: "The executions could not be read <now>"},
		Recent:    &recentFiresView{Problem: "The fires could not be read"},
		Stats:     &statsView{Problem: "No statistics <now>"},
		Variables: &jobVariablesView{Problem: "No variables & <more>"},
		Audit:     &jobAuditView{Problem: "No audit"},
		Missed:    &missedView{Problem: "No missed fires"},
		Chains:    []chainListView{{Key: "on_completion", Targets: []chainTargetView{{Ref: "a/b"}}}},
	}
	reader := &jobView{Row: rows[0], Definition: "{}", Live: "/live?job=" + testJobID + "&timeline=" + testJobID,
		Job:      &domain.Job{ID: testJobID, Name: "y", Namespace: "ops-eu", Kind: domain.KindHTTP, Timezone: "UTC"},
		Timeline: timelineView{L: lang, JobID: testJobID}}
	return []*jobView{full, quiet, failing, reader}
}

package dashboard

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"os"
	"testing"

	"github.com/a-h/templ"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
)

// The history, an execution's page and the confirmation serve as components what their
// templates served (testdata/before), in every state each page has.
func TestTemplExecutionPagesServeWhatTheTemplatesServed(t *testing.T) {
	t.Parallel()
	cat, err := loadCatalogs(files)
	require.NoError(t, err)
	static, err := fs.Sub(files, "static")
	require.NoError(t, err)
	a, err := loadAssets(static)
	require.NoError(t, err)
	funcs := template.FuncMap{"t": cat.tr, "asset": a.url}
	before := map[string]*template.Template{}
	for _, page := range []string{"executions.html", "execution.html", "confirm.html"} {
		before[page], err = template.New(page).Funcs(funcs).ParseFS(os.DirFS("testdata/before"), "layout.html", page)
		require.NoError(t, err)
	}
	newView := func(lang, titleKey string, admin bool, nav string, page any) *view {
		v := &view{L: lang, Title: cat.tr(lang, titleKey), HTMXConfig: htmxConfig, Nav: nav, Page: page, cat: cat, assets: a,
			User: `ana "<admin>"`, Admin: admin, CSRF: `tok"en<&>`, HXHeaders: `{"X-CSRF-Token":"tok\"en\u003c\u0026\u003e"}`}
		for _, l := range []langLink{{Code: "en", Label: "English"}, {Code: "vi", Label: "Tiếng Việt"}} {
			l.Current = l.Code == lang
			l.URL = "/lang?next=%2Fexecutions%3Fjob%3D%22a%22%26b&set=" + l.Code
			v.Langs = append(v.Langs, l)
		}
		return v
	}
	type tcase struct {
		name, page, define string
		data               any
		component          templ.Component
	}
	var cases []tcase
	for _, lang := range []string{"en", "vi"} {
		w := words{cat: cat, lang: lang}
		for i, hv := range historyViews(lang) {
			v := newView(lang, "history.title", false, "history", hv)
			cases = append(cases, tcase{name: fmt.Sprintf("History/%s/%d", lang, i), page: "executions.html", define: "layout", data: v,
				component: layout(v, historyContent(v, hv))})
			for j, row := range hv.Rows {
				cases = append(cases, tcase{name: fmt.Sprintf("ExecRow/%s/%d/%d", lang, i, j), page: "executions.html", define: "exec-row", data: row,
					component: execRowItem(w, row)})
			}
		}
		for i, ev := range executionViews(lang) {
			v := newView(lang, "execution.title", i%2 == 0, "history", ev)
			cases = append(cases, tcase{name: fmt.Sprintf("Execution/%s/%d", lang, i), page: "execution.html", define: "layout", data: v,
				component: layout(v, executionContent(v, ev))})
		}
		for i, cv := range confirmViews(lang) {
			v := newView(lang, "confirm.title", true, "admin", cv)
			cases = append(cases, tcase{name: fmt.Sprintf("Confirm/%s/%d", lang, i), page: "confirm.html", define: "layout", data: v,
				component: layout(v, confirmContent(v, cv))})
		}
	}
	for _, c := range cases {
		var want, got bytes.Buffer
		require.NoError(t, before[c.page].ExecuteTemplate(&want, c.define, c.data), c.name)
		require.NoError(t, c.component.Render(t.Context(), &got), c.name)
		require.Equal(t, tokens(t, want.String()), tokens(t, got.String()), "%s\nbefore:\n%s\nafter:\n%s", c.name, want.String(), got.String())
		require.Empty(t, doubleSpaces(t, got.String()), "%s: templ writes the white space it is given, not the templates' indentation", c.name)
	}
}

// testExecRows are rows of the history as ui.execRow makes them: of a job that is readable and
// of one that is gone, with and without a duration.
func testExecRows(lang string) []execRow {
	ok := outcomeView{Status: "succeeded", Icon: "✓", Label: "Succeeded"}
	bad := outcomeView{Status: "failed", Icon: "✗", Label: "Failed <500>"}
	return []execRow{
		{L: lang, ID: testExecID, JobID: testJobID, JobName: `nightly "settle" <report> & co`, Namespace: "ops-eu",
			Scheduled: "Dec 6, 2026, 10:57", ScheduledRel: "3 minutes ago", Zone: "Europe/Berlin", Status: ok,
			Trigger: "Schedule", Duration: "1.2 s", Attempts: 1},
		{L: lang, ID: testOtherID, JobID: testOtherID, JobName: testOtherID, JobGone: true, Scheduled: "Dec 6, 2026, 09:00",
			ScheduledRel: "1 hour ago", Zone: "UTC", Status: bad, Trigger: "Retry <2> & more", Attempts: 3, Error: "boom"},
	}
}

// historyViews are the history: a page of rows between others with every filter set, one the
// form's own checks refused, one the API refused, and an empty first page.
func historyViews(lang string) []*historyView {
	statuses := []option{{Value: "succeeded", Label: "Succeeded"}, {Value: "failed", Label: "Failed <f>", Selected: true}}
	triggers := []option{{Value: "schedule", Label: "Schedule", Selected: true}, {Value: "manual", Label: `Manual "m" & co`}}
	full := historyFilter{Job: `night "ly" <x>`, Namespace: "ops-eu", Status: "failed", Trigger: "schedule",
		From: "2026-11-06T10:00", To: "2026-12-06T10:00", Zone: "Europe/Berlin"}
	return []*historyView{
		{Filter: full, Statuses: statuses, Triggers: triggers, Rows: testExecRows(lang), FieldErrors: map[string]string{},
			First: "/executions?" + full.values().Encode(), Next: "/executions?cursor=abc%3D%3D&" + full.values().Encode(), Format: "YYYY-MM-DD HH:MM"},
		{Filter: historyFilter{Job: "x", Namespace: "Bad NS", From: "yesterday <3>", To: "tomorrow", Zone: "Mars/Olympus"},
			Statuses: statuses, Triggers: triggers, Format: "YYYY-MM-DD HH:MM",
			FieldErrors: map[string]string{"job": "No job has this name <x>", "namespace": "not a namespace & <x>", "from": "Write YYYY-MM-DD HH:MM",
				"to": "Write YYYY-MM-DD HH:MM", "zone": "Unknown time zone"}},
		{Filter: historyFilter{Status: "failed", Trigger: "manual", From: "2026-11-06T10:00", Zone: "UTC"}, Statuses: statuses, Triggers: triggers,
			Problem: "The request is invalid: <status> & trigger", FieldErrors: map[string]string{"status": "not a status <s>", "trigger": "not a trigger"}},
		{Filter: historyFilter{From: "2026-11-06T10:00", Zone: "UTC"}, Statuses: statuses[:1], FieldErrors: map[string]string{}},
	}
}

// executionViews are an execution's page: one with every section (a failed sql run, a
// pending dead letter its viewer may act on, a linked trace), a skipped fire of a deleted job,
// an http run that may be cancelled, an unreadable sql result and a resolved dead letter, and
// a bare queued one.
func executionViews(lang string) []*executionView {
	rows := testExecRows(lang)
	failed := &domain.Execution{ID: testExecID, JobID: testJobID, Status: domain.StatusFailed, Error: "ERROR: relation \"x\" <does not exist> & more"}
	full := &executionView{Row: rows[0], E: failed, Message: "Replayed <now> & later",
		Facts:   []fact{{"Idempotency key", "sched:" + testJobID + ":2026-12-06T09:57:00Z"}, {"Version", "3"}, {"Worker", `w "1" <x>`}},
		TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", TraceURL: "https://grafana.example.com/explore?traceId=4bf92f3577b34da6a3ce929d0e0e4736&orgId=1",
		CanCancel: true,
		DeadLetter: &deadLetterView{State: "Pending <p>", Pending: true, CanAct: true,
			ReplayURL: "/executions?job=" + testJobID + "&trigger=replay"},
		Steps: []stepView{
			{Name: "Claimed", State: "done", StateClass: "done", When: "10:57:00 & <x>"},
			{Name: "Published", State: "done", StateClass: "done", When: "10:57:01", Facts: "stream FIRES <1>"},
			{Name: "Attempt 1", State: "failed", StateClass: "failed", Facts: "HTTP 500", Reason: "Server error & <more>", Detail: "retry in 30 s"},
			{Name: "Attempt 2", State: "waiting", StateClass: "waiting", Detail: "not before 11:00"},
			{Name: "Recorded", State: "skipped", StateClass: "skipped", When: "11:01", Reason: "late"},
		},
		Attempts: []attemptView{
			{N: 1, Status: outcomeView{Status: "failed", Icon: "✗", Label: "Failed"}, Duration: "1 s", Finished: "Dec 6, 2026, 10:57",
				Error: "timeout <30 s> & more"},
			{N: 2, Status: outcomeView{Status: "failed", Icon: "✗", Label: "Failed"}, Rows: "2 statements, 5 rows", Duration: "2 s",
				Started: "Dec 6, 2026, 10:58", Finished: "Dec 6, 2026, 10:58", Worker: "execute-sql-1 <a>"},
		},
		IsSQL: true,
		SQL: &sqlResultView{Summary: "2 statements", Cut: true, Statements: []statementView{
			{N: 1, Affected: "3 rows", Duration: "10 ms"},
			{N: 2, Returned: "2 rows", More: true, Duration: "4 ms", Columns: []string{"id", `name "<n>"`}, Rows: [][]string{{"1", "a & b"}, {"2", "<null>"}}},
			{N: 3, Returned: "0 rows", Duration: "1 ms", Columns: []string{"id"}},
			{N: 4, Returned: "1 row", Duration: "1 ms"},
		}},
		Excerpt: "[{\"rows\": [[\"1\", \"a & b\"]], \"x\": \"<y>\"}]",
	}
	skipped := &executionView{Row: rows[1], E: &domain.Execution{ID: testOtherID, JobID: testOtherID, Status: domain.StatusSkipped,
		Error: "The job was deleted <before> & it ran"}, SkipReason: "The job was deleted",
		Facts:   []fact{{"Idempotency key", "k"}},
		TraceID: "0af7651916cd43dd8448eb211c80319c",
		DeadLetter: &deadLetterView{State: "Pending", Pending: true,
			ReplayURL: "/executions/" + testJobID, ReplayFound: true},
		SQL: &sqlResultView{Unreadable: true}, IsSQL: true}
	running := &executionView{Row: rows[0], E: &domain.Execution{ID: testExecID, JobID: testJobID, Status: domain.StatusRunning,
		Error: "previous attempt: 503 <busy>"}, CanCancel: true,
		Attempts: []attemptView{{N: 1, Status: outcomeView{Status: "running", Icon: "…", Label: "Running"}, HTTPStatus: "503", Duration: "0 s",
			Started: "Dec 6, 2026, 10:57", Finished: "Dec 6, 2026, 10:57", Worker: "w1", Error: "busy"},
			{N: 2, Status: outcomeView{Status: "failed", Icon: "✗", Label: "Failed"}, Duration: "0 s"}},
		SQL: &sqlResultView{}, Excerpt: "null"}
	resolved := &executionView{Row: rows[0], E: &domain.Execution{ID: testExecID, JobID: testJobID, Status: domain.StatusFailed},
		DeadLetter: &deadLetterView{State: "Replayed", Resolved: "Dec 6, 2026, 11:00 <r>", CanAct: true},
		SQL:        &sqlResultView{Unreadable: true, Statements: []statementView{{N: 1, Affected: "1 row", Duration: "1 ms"}}}}
	queued := &executionView{Row: rows[1], E: &domain.Execution{ID: testOtherID, JobID: testOtherID, Status: domain.StatusQueued},
		DeadLetter: &deadLetterView{State: "Discarded", Pending: true}}
	return []*executionView{full, skipped, running, resolved, queued}
}

// confirmViews are confirmations: an irreversible one with facts, and one without either.
func confirmViews(lang string) []*confirmView {
	return []*confirmView{
		{Question: `Delete "nightly" <settle> & co?`, Facts: []fact{{"Job", `ops/<settle>`}, {"Runs", "3 & more"}},
			Action: "/executions/" + testExecID + "/cancel", Back: "/executions/" + testExecID, Button: "Delete <it>", CSRF: `tok"en<&>`, Danger: true},
		{Question: "End every session of ana?", Action: "/admin/sessions/end?" + url.Values{"subject": {`ana "<x>"`}}.Encode(), Back: "/admin/sessions",
			Button: "End " + lang, CSRF: "t"},
	}
}

package dashboard

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/a-h/templ"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
)

// The variables, import, export and webhook pages serve, as templ components, the document
// their html/template files (kept in testdata/before) served: every state of each page, in
// both languages, for readers and writers.
func TestTemplVariablesImportExportWebhookServeWhatTheTemplatesServed(t *testing.T) {
	t.Parallel()
	cat, err := loadCatalogs(files)
	require.NoError(t, err)
	static, err := fs.Sub(files, "static")
	require.NoError(t, err)
	a, err := loadAssets(static)
	require.NoError(t, err)
	funcs := template.FuncMap{"t": cat.tr, "asset": a.url}
	before := map[string]*template.Template{}
	for _, page := range []string{"variables.html", "variable.html", "import.html", "export.html", "webhook.html"} {
		before[page], err = template.New(page).Funcs(funcs).ParseFS(os.DirFS("testdata/before"), "layout.html", page)
		require.NoError(t, err)
	}
	newView := func(lang string, admin bool, nav string, page any) *view {
		v := &view{L: lang, Title: cat.tr(lang, "variables.title"), HTMXConfig: htmxConfig, Nav: nav, Page: page, cat: cat, assets: a,
			User: `ana "<admin>"`, Admin: admin, CSRF: `tok"en<&>`, HXHeaders: `{"X-CSRF-Token":"tok\"en\u003c\u0026\u003e"}`}
		for _, l := range []langLink{{Code: "en", Label: "English"}, {Code: "vi", Label: "Tiếng Việt"}} {
			l.Current = l.Code == lang
			l.URL = "/lang?next=%2Fvariables&set=" + l.Code
			v.Langs = append(v.Langs, l)
		}
		return v
	}
	type tcase struct {
		name      string
		page      string
		v         *view
		component templ.Component
	}
	var cases []tcase
	for _, lang := range []string{"en", "vi"} {
		for _, writer := range []bool{false, true} {
			for i, p := range variablesViews(writer) {
				v := newView(lang, writer, "variables", p)
				cases = append(cases, tcase{fmt.Sprintf("Variables/%s/%v/%d", lang, writer, i), "variables.html", v, variablesContent(v, p)})
			}
			for i, p := range webhookViews(writer) {
				v := newView(lang, writer, "jobs", p)
				cases = append(cases, tcase{fmt.Sprintf("Webhook/%s/%v/%d", lang, writer, i), "webhook.html", v, webhookContent(v, p)})
			}
		}
		for i, p := range variableViews() {
			v := newView(lang, false, "variables", p)
			cases = append(cases, tcase{fmt.Sprintf("Variable/%s/%d", lang, i), "variable.html", v, variableContent(v, p)})
		}
		for i, p := range importViews() {
			v := newView(lang, false, "jobs", p)
			cases = append(cases, tcase{fmt.Sprintf("Import/%s/%d", lang, i), "import.html", v, importContent(v, p)})
		}
		for i, p := range []*exportView{{}, {Namespace: `ops "<eu>" & co`, Namespaces: []string{"billing", `ops-eu<x>`, "z&y"}}} {
			v := newView(lang, false, "jobs", p)
			cases = append(cases, tcase{fmt.Sprintf("Export/%s/%d", lang, i), "export.html", v, exportContent(v, p)})
		}
	}
	for _, c := range cases {
		var want bytes.Buffer
		require.NoError(t, before[c.page].ExecuteTemplate(&want, "layout", c.v), c.name)
		var got bytes.Buffer
		require.NoError(t, layout(c.v, c.component).Render(t.Context(), &got), c.name)
		require.Equal(t, withoutOptionEnds(tokens(t, want.String())), withoutOptionEnds(tokens(t, got.String())),
			"%s\nbefore:\n%s\nafter:\n%s", c.name, want.String(), got.String())
		require.Empty(t, doubleSpaces(t, got.String()), "%s: templ writes the white space it is given, not the templates' indentation", c.name)
	}
}

// withoutOptionEnds drops the end tags of options: export.html left them out, templ writes
// them, and the parser closes an option at the next one or its list's end either way.
func withoutOptionEnds(toks []string) []string {
	return slices.DeleteFunc(toks, func(tok string) bool { return tok == "</option>" })
}

// variablesViews are the list of variables as showVariables makes it, global and of a job:
// empty, full (secrets with and without hosts, plain values, namespaces or none) after a done
// message, and the answers to a plain and a secret form the API refused.
func variablesViews(writer bool) []*variablesView {
	job := &domain.Job{ID: testJobID, Name: `nightly "settle" <report> & co`, Namespace: "ops-eu"}
	rows := []variableRow{
		{Name: "API_TOKEN", Secret: true, Hosts: "api.example.com, <x>.example.com", Updated: "Dec 1, 2026, 10:00", UpdatedRel: "5 days ago"},
		{Name: "SMTP_PASS", Secret: true, Namespaces: "ops-eu, billing", Updated: "Dec 2, 2026, 10:00", UpdatedRel: "4 days ago"},
		{Name: "REGION", Value: `eu-west "1" <&>`, Namespaces: "<ops> & co", Updated: "Dec 3, 2026, 10:00", UpdatedRel: "3 days ago"},
		{Name: "_EMPTY", Updated: "Dec 4, 2026, 10:00", UpdatedRel: "2 days ago"},
	}
	var out []*variablesView
	for _, j := range []*domain.Job{nil, job} {
		base := "/variables"
		if j != nil {
			base = "/jobs/" + j.ID + "/variables"
		}
		refused := func(form string, fields map[string]string) *variablesView {
			return &variablesView{Job: j, Base: base, Rows: rows[:1], CanWrite: writer, Form: form, Name: `bad name <x>`,
				Value: `v "1" & <2>`, Hosts: `*.example.com, <h>`, Namespaces: `ops & "eu"`,
				Problem: "The request is invalid: <name> & value", FieldErrors: fields}
		}
		out = append(out,
			&variablesView{Job: j, Base: base, CanWrite: writer, FieldErrors: map[string]string{}},
			&variablesView{Job: j, Base: base, Rows: rows, CanWrite: writer, FieldErrors: map[string]string{}, Message: "Created <now> & saved"},
			refused("plain", map[string]string{"name": "not a name <x>", "value": "too long & more", "namespaces": `not a "namespace"`}),
			refused("secret", map[string]string{"name": "taken", "value": "required", "is_secret": " <secret>", "allowed_hosts": "not a host & more",
				"namespaces": "unknown"}),
			refused("plain", map[string]string{}),
		)
	}
	return out
}

// variableViews are the edit page of a plain variable and of a secret, global and of a job, as
// shown and as answered after the API refused the change (a refusal without fields too).
func variableViews() []*variableView {
	job := &domain.Job{ID: testJobID, Name: `nightly "settle" <report> & co`, Namespace: "ops-eu"}
	secret := variableRow{Name: "API_TOKEN", Secret: true, Hosts: "api.example.com, <x>.example.com", Namespaces: "ops & <eu>",
		Updated: "Dec 1, 2026, 10:00", UpdatedRel: "5 days ago"}
	plain := variableRow{Name: "REGION", Value: "eu-west \"1\" <&>\nsecond line", Namespaces: "billing", Updated: "Dec 3, 2026, 10:00"}
	errs := map[string]string{"value": "too long <x>", "allowed_hosts": `not a "host"`, "namespaces": "unknown & gone"}
	var out []*variableView
	for _, j := range []*domain.Job{nil, job} {
		base := "/variables"
		if j != nil {
			base = "/jobs/" + j.ID + "/variables"
		}
		for _, row := range []variableRow{secret, plain} {
			out = append(out,
				&variableView{Job: j, Base: base, Row: row, FieldErrors: map[string]string{}},
				&variableView{Job: j, Base: base, Row: row, Problem: "The request is invalid: <value> & more", FieldErrors: errs},
				&variableView{Job: j, Base: base, Row: row, Problem: "Conflict", FieldErrors: nil},
			)
		}
	}
	return out
}

// importViews are the import page as importPost leaves it: the empty form with and without the
// prune option, an unreadable upload, errors of the document's jobs and of the whole, a plan
// to confirm (pruning two namespaces, none, or not pruning; replanned), and what an apply did
// (with changes proposed for approval, and an empty plan).
func importViews() []*importView {
	doc := "{\"jobs\":[{\"name\":\"a <b> & \\\"c\\\"\",\n\"namespace\":\"ops-eu\"}]}"
	plan := []planView{
		{Namespace: "ops-eu", Name: `settle "<daily>"`, Action: "update", ActionLabel: "Update", Icon: "✎", ID: testJobID,
			Diff: []diffView{{Path: "schedule.cron", Old: `"0 2 * * *"`, New: `"0 3 * * *"`}, {Path: "tags", New: `["a<b>"]`},
				{Path: "description", Old: `"x & y"`}}},
		{Namespace: "ops-eu", Name: "report <new>", Action: "create", ActionLabel: "Create", Icon: "+"},
		{Namespace: "billing", Name: "old", Action: "delete", ActionLabel: "Delete", Icon: "−", ID: testOtherID},
		{Namespace: "billing", Name: "same", Action: "unchanged", ActionLabel: "Unchanged", Icon: "=", ID: testExecID},
	}
	counts := "1 to create · 1 to update · 1 to delete · 1 unchanged"
	return []*importView{
		{},
		{CanPrune: true},
		{CanPrune: true, Prune: true, Problem: "The uploaded file could not be read <now>."},
		{CanPrune: true, Prune: true, Document: doc, Problem: "The API refused the document & more.", Errors: []importError{
			{Item: 0, N: 1, Name: `settle "<daily>"`, Field: "schedule.cron", Reason: "not a cron <expr>"},
			{Item: 2, N: 3, Reason: "duplicate & more"},
			{Item: 4, N: 5, Field: "http.url", Reason: "not a URL"},
			{Item: 5, N: 6, Name: "named", Reason: "too long"},
			{Item: -1, Field: "jobs", Reason: "must be a list <x>"},
		}},
		{CanPrune: true, Prune: true, Document: doc, Confirm: true, Digest: `d1g"<est>`, Plan: plan, Counts: counts,
			Namespaces: []string{"billing", "ops-<eu>"}},
		{CanPrune: true, Prune: true, Document: doc, Confirm: true, Digest: "abc", Plan: plan[1:2], Counts: counts,
			Problem: "The document changed since its plan was shown."},
		{CanPrune: true, Document: doc, Confirm: true, Digest: "abc", Plan: plan, Counts: counts, Namespaces: []string{"billing"}},
		{Confirm: true, Document: doc, Digest: "abc", Counts: "0 to create"},
		{Document: doc, Applied: true, Plan: plan, Counts: counts, Proposed: "2 changes wait for another user's <approval>."},
		{Document: doc, Applied: true, Counts: "0 to create", Errors: []importError{{Item: -1, Field: "x", Reason: "y"}}},
	}
}

// webhookViews are the webhook page: without a webhook, enabled (after enabling it, with the
// credentials shown once), disabled after a disable, and one made by nobody named.
func webhookViews(writer bool) []*webhookView {
	created := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	enabled := &domain.Webhook{JobID: testJobID, Enabled: true, TokenHint: "vwh_AbCd", PathHint: "/hooks/vwh_AbCd…", CreatedAt: created,
		CreatedBy: `ana "<admin>"`}
	disabled := &domain.Webhook{JobID: testJobID, PathHint: "/hooks/vwh_XyZ…", CreatedAt: created}
	url := "https://vecron.example.com/hooks/vwh_AbCd&x=<y>"
	return []*webhookView{
		{JobID: testJobID, JobName: `nightly "settle" <report> & co`, CanWrite: writer},
		{JobID: testJobID, JobName: "settle", CanWrite: writer, Hook: enabled, CreatedAt: "Dec 6, 2026, 10:00 UTC", URL: url,
			Curl: curlExample(url, `s3cr"et<&>`), Created: &jobs.EnabledWebhook{Webhook: *enabled, URLPath: "/hooks/vwh_AbCd", Token: "vwh_AbCd",
				Secret: `s3cr"et<&>`}},
		{JobID: testJobID, JobName: "settle", CanWrite: writer, Hook: disabled, CreatedAt: "Dec 6, 2026, 10:00 UTC",
			Message: "The webhook is disabled <now> & refused."},
		{JobID: testJobID, JobName: "settle", CanWrite: writer, Hook: enabled, CreatedAt: "Dec 6, 2026, 10:00 UTC"},
	}
}

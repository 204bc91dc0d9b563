package dashboard

import (
	"bytes"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/schedule"
)

// The job builder as templ components serves the document builder.html served: create and
// edit, each kind of job and of schedule, every optional section shown and hidden, an error on
// every field, a change waiting for approval, and the live region in each of its states, with
// the page and alone.
func TestTemplBuilderServesWhatTheTemplateServed(t *testing.T) {
	t.Parallel()
	cat, err := loadCatalogs(files)
	require.NoError(t, err)
	static, err := fs.Sub(files, "static")
	require.NoError(t, err)
	a, err := loadAssets(static)
	require.NoError(t, err)
	before, err := template.New("builder.html").Funcs(template.FuncMap{"t": cat.tr, "asset": a.url}).
		ParseFS(os.DirFS("testdata/before"), "layout.html", "builder.html")
	require.NoError(t, err)
	ui := &UI{cat: cat, assets: a}
	sess := &session{id: &rbac.Identity{Name: `ana "<admin>"`}, csrf: `tok"en<&>`}

	// The field errors the cases show, by the id of their input.
	shownErrors := map[string]bool{}
	shownError := regexp.MustCompile(`id="e-([^"]+)">([^<]+)<`)
	for _, lang := range []string{"en", "vi"} {
		for _, bc := range builderCases(ui, lang) {
			t.Run(lang+"/"+bc.name, func(t *testing.T) {
				r := httptest.NewRequest(http.MethodGet, bc.path, nil)
				r.AddCookie(&http.Cookie{Name: langCookie, Value: lang})
				title := "builder.title_new"
				if !bc.bv.New {
					title = "builder.title_edit"
				}
				v := ui.newView(r, sess, title, "jobs", bc.bv)
				var want, got bytes.Buffer
				require.NoError(t, before.ExecuteTemplate(&want, "layout", v))
				require.NoError(t, layout(v, builderContent(v, bc.bv)).Render(t.Context(), &got))
				requireSameDocument(t, want.String(), got.String())
				for _, m := range shownError.FindAllStringSubmatch(want.String(), -1) {
					shownErrors[m[1]] = true
				}

				want.Reset()
				got.Reset()
				lv := bc.bv.Live
				require.NoError(t, before.ExecuteTemplate(&want, "builder-live", lv))
				require.NoError(t, builderLive(words{cat: cat, lang: lv.L}, lv).Render(t.Context(), &got))
				requireSameDocument(t, want.String(), got.String())
			})
		}
	}

	// Every field error the template shows is shown by some case.
	src, err := os.ReadFile("testdata/before/builder.html")
	require.NoError(t, err)
	for _, m := range regexp.MustCompile(`index \$P\.Errors "([^"]+)"`).FindAllStringSubmatch(string(src), -1) {
		require.True(t, shownErrors[m[1]], "no case shows an error on %s", m[1])
	}
}

// requireSameDocument requires the templ document got to read as the template's want does.
func requireSameDocument(t *testing.T, want, got string) {
	t.Helper()
	require.Equal(t, withoutEmptyOptionEnds(tokens(t, want)), withoutEmptyOptionEnds(tokens(t, got)), "before:\n%s\nafter:\n%s", want, got)
	require.Empty(t, doubleSpaces(t, got), "templ writes the white space it is given, not the templates' indentation")
}

// withoutEmptyOptionEnds drops the end tag of an option without text. The template wrote a
// datalist's options without one, and templ closes every element it writes; the browser ends
// an option at the next one or at the end of its list, so both build the same document.
func withoutEmptyOptionEnds(toks []string) []string {
	out := make([]string, 0, len(toks))
	for i, tok := range toks {
		if tok == "</option>" && i > 0 && strings.HasPrefix(toks[i-1], "<option ") {
			continue
		}
		out = append(out, tok)
	}
	return out
}

// builderCase is a builder page as renderBuilder makes it, and the path it is served at.
type builderCase struct {
	name, path string
	bv         *builderView
}

// hostile is in every value a user types: the page must show it as typed.
const hostile = `<x> & "q" + 'y'`

// builderCases are the builder's pages in lang, made as renderBuilder makes them: the form
// through prepareBuilder (with the problems an API answer or the form itself has), the live
// region through testLive.
func builderCases(ui *UI, lang string) []builderCase {
	page := func(bv *builderView, errs formErrors, live func(*liveView)) *builderView {
		ui.prepareBuilder(lang, bv, errs)
		bv.Live = testLive(lang, &bv.Form, live)
		return bv
	}
	edit := func(f builderForm, problem string) *builderView {
		return &builderView{Form: f, ID: testJobID, Version: 7, Action: "/jobs/" + testJobID + "/edit", Lock: true, Problem: problem}
	}
	editPath := "/jobs/" + testJobID + "/edit"

	// A new job: the defaults, the live region with its fires, their notes and the variables.
	fresh := newJobForm("ops-eu")
	fresh.HTTPURL = "https://api.example.com/{{ var.REGION }}?token={{ var.TOKEN }}"
	fresh.Cron = "0 0 2 * * *"
	fires := func(lv *liveView) {
		lv.Describe, lv.Zone = "Every day at 02:00 "+hostile, "Europe/Berlin"
		lv.Fires = []builderFire{
			{Local: "Dec 7, 2026, 02:00", UTC: "Dec 7, 2026, 01:00"},
			{Local: "Mar 28, 2027, 03:00", UTC: "Mar 28, 2027, 01:00", Notes: []noteView{
				{Icon: "☀", Kind: schedule.NoteDSTGapShifted, Text: "02:00 does not exist " + hostile},
				{Icon: "⊘", Kind: schedule.NoteExcludedDate, Text: "2027-03-29 is excluded"},
				{Icon: "⚑", Kind: "other", Text: "noted"},
			}},
		}
	}

	// A new job whose cron is still empty, from a user who may write in no namespace listed,
	// with a header row added and left empty.
	blank := newJobForm("ops-eu")
	blank.Headers = []headerRow{{}}
	typeCron := func(lv *liveView) { lv.FiresProblem = []string{ui.cat.tr(lang, "builder.type_cron")} }

	// An edit of an http job, every value hostile, every field with an error from the API, the
	// job refused as a whole, and fields of other schedule kinds that hold something.
	h := builderForm{
		Kind: "http", Name: "nightly " + hostile, Namespace: "ops-eu", Description: "\nfirst line kept\n" + hostile,
		Enabled: false, Timezone: "Europe/Berlin " + hostile, Tags: "team:a, " + hostile,
		SchedKind: "fixed_rate", Cron: "0 0 2 * * * " + hostile, Every: "15m " + hostile, Anchor: "2026-01-01T00:00:00Z " + hostile,
		At: "tomorrow " + hostile, StartAt: "2026-01-01 " + hostile, EndAt: "2027-01-01 " + hostile, DSTGap: "skip", Jitter: "5s " + hostile,
		ExcludedDates: "2026-12-25\n" + hostile, Calendars: "holidays\n" + hostile, Triggers: `[{"event": ` + hostile + `}]`,
		OnSuccess: "ops-eu/report\n" + hostile, OnFailure: hostile, OnCompletion: "a,b",
		Timeout: "30s " + hostile, MisfirePolicy: "fire_once", MaxCatchup: "3 " + hostile, StartingDeadline: "1m " + hostile,
		ConcurrencyPolicy: "odd " + hostile, AlertAfter: "x " + hostile, AlertOff: true, MissedAfter: "10m " + hostile,
		RetryMaxAttempts: "3 " + hostile, RetryBackoff: "1s, " + hostile,
		HTTPMethod: "BREW " + hostile, HTTPURL: "https://x.example.com/?a=1&b=" + hostile, HTTPBody: "\n" + hostile, HTTPFollowRedirects: "2 " + hostile,
		Headers: []headerRow{{Name: "X-Token", Value: "{{ var.TOKEN }} " + hostile}, {Name: hostile, Value: hostile}, {}},
	}
	apiErrs := formErrors{}
	for _, path := range []string{"name", "namespace", "kind", "description", "tags", "enabled", "schedule.kind",
		"schedule.cron", "schedule.every", "schedule.anchor", "schedule.at", "timezone", "schedule.start_at", "schedule.end_at",
		"schedule.dst_gap", "schedule.dst_overlap", "schedule.jitter", "schedule.excluded_dates[1]", "schedule.calendars",
		"triggers", "http.method", "http.url", "http.headers", "http.headers.X-Token", "http.body", "http.follow_redirects",
		"sql.driver", "sql.dsn", "sql.host", "sql.port", "sql.database", "sql.user", "sql.password", "sql.transaction",
		"sql.read_only", "sql.statement_timeout", "sql.max_rows", "sql.statements", "sql.statements[0].params",
		"sql.statements[1]", "sql.statements[1].named_params", "on_success", "on_failure", "on_completion", "timeout",
		"starting_deadline", "missed_after", "misfire_policy", "max_catchup", "concurrency_policy", "retry.max_attempts",
		"alert.after_failures", "alert.enabled", "retry.backoff[1]", "owner"} {
		apiErrs.add(path, "is wrong: "+hostile)
	}
	apiErrs.add("name", "is taken")
	refused := func(lv *liveView) {
		lv.FiresProblem = []string{"schedule.every: must be at least 1s " + hostile, "timezone: unknown"}
	}

	// A new sql job the API refused: every field with an error, namespace and kind among them,
	// a driver the form does not know, statements with their own errors, a schedule that runs
	// once.
	q := newJobForm("ops-eu")
	q.Kind, q.SchedKind, q.At, q.Cron = "sql", "once", "2026-12-24T18:00:00+01:00", ""
	q.SQLDriver, q.SQLDSN, q.SQLHost, q.SQLPort = "sqlite "+hostile, "postgres://u:{{ var.PASS }}@db/"+hostile, "db "+hostile, "5432 "+hostile
	q.SQLDatabase, q.SQLUser, q.SQLPassword = "app "+hostile, "u "+hostile, "{{ var.PASS }}"
	q.SQLTransaction, q.SQLReadOnly, q.SQLStatementTimeout, q.SQLMaxRows = true, true, "5s "+hostile, "10 "+hostile
	q.Statements = []statementRow{
		{SQL: "select " + hostile, Params: `[1, "` + hostile + `"`},
		{SQL: "\nupdate t set a = :a", Named: `{"a": ` + hostile},
		{},
	}
	q.Headers = nil
	noMore := func(lv *liveView) {
		lv.Describe, lv.Zone = "Once, on Dec 24, 2026 at 18:00", "UTC"
		lv.FiresProblem = []string{ui.cat.tr(lang, "builder.no_more_fires")}
	}

	// An edit of a sql job with no statement yet, a fixed delay and no DST choices.
	quiet := newJobForm("ops-eu")
	quiet.Kind, quiet.SchedKind, quiet.Every, quiet.Cron, quiet.HTTPMethod = "sql", "fixed_delay", "1h", "", ""
	quiet.SQLDriver, quiet.Enabled = "postgres", true

	// A kind the form does not know, and the schedule's default kind: no target fieldset.
	odd := newJobForm("ops-eu")
	odd.Kind, odd.SchedKind, odd.DSTOverlap = "grpc "+hostile, "", "both"

	proposed := func(bv *builderView) *builderView {
		bv.Proposed = ui.cat.tr(lang, "builder.proposed", "chg-"+hostile)
		return bv
	}
	return []builderCase{
		{"NewHTTP", "/jobs/new?namespace=ops-eu", page(&builderView{Form: fresh, New: true, Action: "/jobs/new",
			Namespaces: []string{"ops-eu", "team-" + hostile}}, nil, fires)},
		{"NewEmptyCron", "/jobs/new", page(&builderView{Form: blank, New: true, Action: "/jobs/new", Namespaces: []string{}}, nil, typeCron)},
		{"EditHTTPRefused", editPath, page(edit(h, ui.cat.tr(lang, "error.conflict")+" "+hostile), apiErrs, refused)},
		{"NewSQLRefused", "/jobs/new", page(&builderView{Form: q, New: true, Action: "/jobs/new", Namespaces: []string{"ops-eu"},
			Problem: ui.cat.tr(lang, "builder.stale_version", 8)}, apiErrs, noMore)},
		{"EditSQLQuiet", editPath, page(edit(quiet, ""), nil, fires)},
		{"NewOddKind", "/jobs/new", page(&builderView{Form: odd, New: true, Action: "/jobs/new"}, formErrors{"owner": hostile}, nil)},
		{"NewProposed", "/jobs/new", proposed(page(&builderView{Form: fresh, New: true, Action: "/jobs/new"}, nil, fires))},
		{"EditProposed", editPath, proposed(page(edit(h, ""), nil, refused))},
	}
}

// testLive is the live region of form f as ui.live makes it, with what the API's schedule
// preview answered set by preview (nil for nothing).
func testLive(lang string, f *builderForm, preview func(*liveView)) liveView {
	def, ferrs := f.definition()
	lv := liveView{L: lang, Zone: def.Timezone}
	for _, field := range slices.Sorted(maps.Keys(ferrs)) {
		lv.FormProblems = append(lv.FormProblems, fieldProblem{Field: field, Input: f.inputFor(field), Reason: ferrs[field]})
	}
	if b, err := definitionJSON(&def); err == nil {
		lv.JSON = string(b)
	}
	lv.Variables = referencedVariables(&def)
	if preview != nil {
		preview(&lv)
	}
	return lv
}

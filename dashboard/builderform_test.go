package dashboard

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/dashboard/internal/htmlform"
	"github.com/vecron/vecron/shared/domain"
)

// pageUI is a UI that renders pages without an API: enough to render the builder's form.
func pageUI(t testing.TB) *UI {
	t.Helper()
	cat, err := loadCatalogs(files)
	require.NoError(t, err)
	static, err := fs.Sub(files, "static")
	require.NoError(t, err)
	a, err := loadAssets(static)
	require.NoError(t, err)
	return &UI{cat: cat, assets: a, log: slog.New(slog.DiscardHandler)}
}

// renderForm renders the builder page of f, as renderBuilder does, and returns the HTML.
func renderForm(t testing.TB, ui *UI, f builderForm, lang string) string {
	t.Helper()
	bv := &builderView{Form: f, New: true, Action: "/jobs/new"}
	ui.prepareBuilder(lang, bv, nil)
	rec := httptest.NewRecorder()
	v := &view{L: lang, Page: bv, CSRF: "token", HTMXConfig: htmxConfig, cat: ui.cat, assets: ui.assets}
	ui.renderPage(rec, http.StatusOK, v, builderContent(v, bv))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return rec.Body.String()
}

// submitted returns the values a browser submits for the form with id of page.
func submitted(t testing.TB, page, id string) url.Values {
	t.Helper()
	v, err := htmlform.Values(page, id)
	require.NoError(t, err)
	return v
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// Strings a person can type into the form: no control characters but, in multi-line fields,
// the line feed (browsers send a textarea's line breaks as CRLF, which the form reads as LF).
func lineGen() *rapid.Generator[string] {
	return rapid.StringOfN(rapid.RuneFrom([]rune("<>&\"' "), unicode.L, unicode.N, unicode.P, unicode.S, unicode.Zs), 0, 30, -1)
}

func textGen() *rapid.Generator[string] {
	return rapid.Custom(func(t *rapid.T) string {
		parts := rapid.SliceOfN(lineGen(), 1, 3).Draw(t, "lines")
		return strings.Join(parts, "\n")
	})
}

func durationGen(label string) *rapid.Generator[domain.Duration] {
	return rapid.Custom(func(t *rapid.T) domain.Duration {
		return domain.Duration(time.Duration(rapid.Int64Range(0, 10_000_000).Draw(t, label)) * time.Millisecond)
	})
}

func instantGen() *rapid.Generator[*time.Time] {
	return rapid.Custom(func(t *rapid.T) *time.Time {
		if !rapid.Bool().Draw(t, "set") {
			return nil
		}
		at := time.Unix(rapid.Int64Range(946684800, 4102444800).Draw(t, "unix"), rapid.Int64Range(0, 999_999_999).Draw(t, "nanos")).UTC()
		return &at
	})
}

func oneOrAny(values ...string) *rapid.Generator[string] {
	return rapid.OneOf(rapid.SampledFrom(values), lineGen())
}

// definitionGen draws job definitions as the API stores them: every default explicit, the spec
// of the job's kind only; the strings are anything a person could type.
func definitionGen() *rapid.Generator[domain.JobDefinition] {
	return rapid.Custom(func(t *rapid.T) domain.JobDefinition {
		def := domain.JobDefinition{
			Namespace:         rapid.StringMatching(`[a-z0-9][a-z0-9._-]{0,20}`).Draw(t, "namespace"),
			Name:              lineGen().Draw(t, "name"),
			Description:       rapid.OneOf(rapid.Just(""), textGen()).Draw(t, "description"),
			Tags:              storedTagsGen().Draw(t, "tags"),
			Kind:              domain.JobKind(rapid.SampledFrom([]string{"http", "sql"}).Draw(t, "kind")),
			Enabled:           rapid.Bool().Draw(t, "enabled"),
			Timezone:          oneOrAny("Asia/Ho_Chi_Minh", "UTC", "America/New_York", "Europe/Paris").Draw(t, "timezone"),
			Timeout:           durationGen("timeout").Draw(t, "timeout"),
			MisfirePolicy:     oneOrAny(domain.MisfireFireOnce, domain.MisfireSkip, domain.MisfireFireAll).Draw(t, "misfire"),
			MaxCatchup:        rapid.IntRange(0, 1000).Draw(t, "max_catchup"),
			StartingDeadline:  durationGen("deadline").Draw(t, "deadline"),
			ConcurrencyPolicy: oneOrAny(domain.ConcurrencyAllow, domain.ConcurrencyForbid, domain.ConcurrencyReplace).Draw(t, "concurrency"),
			Retry: domain.RetryPolicy{MaxAttempts: rapid.IntRange(0, 100).Draw(t, "attempts"),
				Backoff: rapid.SliceOfN(durationGen("step"), 0, 5).Draw(t, "backoff")},
			// As the API answers it: the threshold written out, "enabled" only when off.
			Alert: domain.AlertPolicy{AfterFailures: rapid.IntRange(1, domain.MaxAlertAfter).Draw(t, "alert_after")},
		}
		if rapid.Bool().Draw(t, "alert_off") {
			off := false
			def.Alert.Enabled = &off
		}
		s := &def.Schedule
		s.Kind = domain.ScheduleKind(oneOrAny("cron", "fixed_rate", "fixed_delay", "once").Draw(t, "sched_kind"))
		s.Cron = rapid.OneOf(rapid.Just(""), rapid.SampledFrom([]string{"0 */5 * * * *", "@hourly", "0 0 9 * * MON-FRI"}), lineGen()).Draw(t, "cron")
		s.Every = durationGen("every").Draw(t, "every")
		s.Jitter = durationGen("jitter").Draw(t, "jitter")
		s.Anchor, s.At, s.StartAt, s.EndAt = instantGen().Draw(t, "anchor"), instantGen().Draw(t, "at"),
			instantGen().Draw(t, "start"), instantGen().Draw(t, "end")
		s.DSTGap = oneOrAny("", domain.DSTGapShiftForward, domain.DSTGapSkip).Draw(t, "gap")
		s.DSTOverlap = oneOrAny("", domain.DSTOverlapFirst, domain.DSTOverlapLast, domain.DSTOverlapBoth).Draw(t, "overlap")
		if dates := rapid.SliceOfN(rapid.StringMatching(`20[0-9]{2}-[01][0-9]-[0-3][0-9]`), 0, 3).Draw(t, "dates"); len(dates) > 0 {
			s.ExcludedDates = dates
		}
		if cals := rapid.SliceOfN(rapid.StringMatching(`[a-z0-9][a-z0-9-]{0,20}`), 0, 3).Draw(t, "calendars"); len(cals) > 0 {
			s.Calendars = cals
		}
		if rapid.Bool().Draw(t, "triggered") {
			f := domain.EventFilter{Exact: map[string]string{"type": lineGen().Draw(t, "event_type")}}
			if rapid.Bool().Draw(t, "cesql") {
				f = domain.EventFilter{Any: []domain.EventFilter{f, {CESQL: lineGen().Draw(t, "cesql_text")}}}
			}
			def.Triggers = []domain.JobTrigger{{Event: &domain.EventTrigger{Filters: []domain.EventFilter{f},
				Debounce: durationGen("debounce").Draw(t, "debounce")}}}
			if rapid.Bool().Draw(t, "rate") {
				def.Triggers[0].Event.MaxRate = &domain.EventRate{Events: rapid.IntRange(0, 100).Draw(t, "rate_events"), Per: durationGen("per").Draw(t, "per")}
			}
		}
		// Refs as a person writes them: bare names and namespace/name, names with spaces and
		// commas (which a line of their own keeps whole).
		ref := rapid.StringMatching(`([a-z0-9]{1,8}/)?[A-Za-z0-9]([A-Za-z0-9 ,._-]{0,12}[A-Za-z0-9])?`)
		def.Chains = domain.Chains{
			OnSuccess:    rapid.SliceOfN(ref, 0, 3).Draw(t, "on_success"),
			OnFailure:    rapid.SliceOfN(ref, 0, 3).Draw(t, "on_failure"),
			OnCompletion: rapid.SliceOfN(ref, 0, 3).Draw(t, "on_completion"),
		}
		for _, l := range []*[]string{&def.OnSuccess, &def.OnFailure, &def.OnCompletion} {
			if len(*l) == 0 {
				*l = nil
			}
		}
		if def.Kind == domain.KindHTTP {
			h := &domain.HTTPSpec{Method: oneOrAny("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS").Draw(t, "method"),
				URL:             rapid.StringMatching(`(https?://[a-z0-9.-]{1,20}(/[^\s\x00-\x1f\x7f]{0,20})?)?`).Draw(t, "url"),
				Body:            rapid.OneOf(rapid.Just(""), textGen()).Draw(t, "body"),
				FollowRedirects: rapid.IntRange(0, 10).Draw(t, "redirects")}
			if hs := rapid.MapOfN(rapid.StringMatching(`[A-Za-z0-9-]{1,20}`), lineGen(), 0, 4).Draw(t, "headers"); len(hs) > 0 {
				h.Headers = hs
			}
			def.HTTP = h
		} else {
			q := &domain.SQLSpec{Driver: oneOrAny(domain.DriverPostgres, domain.DriverMySQL, domain.DriverOracle).Draw(t, "driver"),
				DSN: lineGen().Draw(t, "dsn"), Host: lineGen().Draw(t, "host"), Port: rapid.IntRange(0, 65535).Draw(t, "port"),
				Database: lineGen().Draw(t, "database"), User: lineGen().Draw(t, "user"), Password: lineGen().Draw(t, "password"),
				Transaction: rapid.Bool().Draw(t, "tx"), ReadOnly: rapid.Bool().Draw(t, "ro"),
				StatementTimeout: durationGen("stmt_timeout").Draw(t, "stmt_timeout"), MaxRows: rapid.IntRange(0, 1000).Draw(t, "max_rows")}
			param := rapid.OneOf(
				rapid.Map(rapid.IntRange(-1000, 1000), func(n int) any { return float64(n) }),
				rapid.Map(lineGen(), func(s string) any { return s }),
				rapid.Map(rapid.Bool(), func(b bool) any { return b }),
				rapid.Just[any](nil))
			for i := range rapid.IntRange(1, 3).Draw(t, "statements") {
				st := domain.SQLStatement{SQL: rapid.StringMatching(`[^\x00-\x1f\x7f]{1,20}`).Draw(t, fmt.Sprint("sql", i)) + rapid.OneOf(rapid.Just(""), textGen()).Draw(t, fmt.Sprint("more", i))}
				if ps := rapid.SliceOfN(param, 0, 3).Draw(t, fmt.Sprint("params", i)); len(ps) > 0 {
					st.Params = ps
				}
				if np := rapid.MapOfN(rapid.StringMatching(`[a-z_][a-z0-9_]{0,8}`), param, 0, 3).Draw(t, fmt.Sprint("named", i)); len(np) > 0 {
					st.NamedParams = np
				}
				q.Statements = append(q.Statements, st)
			}
			def.SQL = q
		}
		return def
	})
}

// TestBuilderFormLosesNothing: a definition rendered into the builder's form and read back from
// the values a browser submits for that form is the same definition.
func TestBuilderFormLosesNothing(t *testing.T) {
	t.Parallel()
	ui := pageUI(t)
	rapid.Check(t, func(rt *rapid.T) {
		def := definitionGen().Draw(rt, "definition")
		page := renderForm(t, ui, formOf(&def), rapid.SampledFrom([]string{"en", "vi"}).Draw(rt, "lang"))
		f := parseBuilder(submitted(t, page, "builder-form"))
		got, errs := f.definition()
		if len(errs) > 0 {
			rt.Fatalf("the form of %s does not read back: %v", mustJSON(t, def), errs)
		}
		if want, have := mustJSON(t, def), mustJSON(t, got); want != have {
			rt.Fatalf("the form changed the definition:\nwant %s\nhave %s", want, have)
		}
	})
}

// FuzzBuilderForm: any posted form is read without a panic, and a form that reads cleanly
// reads to the same definition once shown again.
func FuzzBuilderForm(f *testing.F) {
	for _, seed := range []string{
		"kind=http&name=a&http_url=https://x.test&header_name=A&header_value=b&header_name=&header_value=",
		"kind=sql&stmt_sql=select+1&stmt_params=[1,\"a\"]&stmt_named=&retry_backoff=5s,,1m&every=1.5h",
		"kind=sql&stmt_sql=&stmt_params=null&stmt_named={}&start_at=2026-03-08T02:30&timezone=America/New_York",
		"at=0000-01-01T00:00:00%2B01:00&end_at=9999-12-31T23:59:59-01:00",
		"sched_kind=once&at=2026-01-01T00:00:00%2B07:00&excluded_dates=2026-01-01%0D%0A%0D%0A2026-02-01&max_catchup=%2B5",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, query string) {
		v, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		form := parseBuilder(v)
		def, errs := form.definition()
		for field := range errs {
			_ = form.inputFor(field)
		}
		if len(errs) > 0 {
			return
		}
		again := formOf(&def)
		def2, errs2 := again.definition()
		require.Empty(t, errs2, "a definition read from a form reads again")
		require.Equal(t, mustJSON(t, def), mustJSON(t, def2))
		require.Equal(t, mustJSON(t, again), mustJSON(t, formOf(&def2)))
		_ = parseBuilder(again.values())
	})
}

func TestBuilderInputFor(t *testing.T) {
	t.Parallel()
	f := builderForm{Headers: []headerRow{{Name: "X-A", Value: "1"}, {Name: "Authorization", Value: "2"}},
		Statements: []statementRow{{SQL: "a"}, {}, {SQL: "b", Params: "[1]"}}}
	for path, want := range map[string]string{
		"schedule.cron":                    "f-cron",
		"schedule.excluded_dates[2]":       "f-excluded_dates",
		"http.url":                         "f-http_url",
		"http.headers.Authorization":       "f-header_value-1",
		"http.headers":                     "f-headers",
		"retry.backoff[1]":                 "f-retry_backoff",
		"sql.statements[1].params[0]":      "f-stmt_params-2",
		"sql.statements[0].sql":            "f-stmt_sql-0",
		"sql.statements[1].named_params.x": "f-stmt_named-2",
		"sql.dsn":                          "f-sql_dsn",
		"timezone":                         "f-timezone",
		"body":                             "",
		"schedule":                         "f-sched_kind",
		"sql.statements[9].sql":            "f-statements",
		"http.headers.X-Not-In-The-Form":   "f-headers",
		"starting_deadline":                "f-starting_deadline",
		"tags":                             "f-tags",
		"tags[3]":                          "f-tags",
		"schedule.calendars[0]":            "f-calendars",
		"sql.statements[0].named_params":   "f-stmt_named-0",
		"retry.max_attempts":               "f-retry_max_attempts",
		"http.follow_redirects":            "f-http_follow_redirects",
		"sql.statements":                   "f-statements",
		"sql":                              "f-sql_driver",
		"http":                             "f-http_url",
		"schedule.kind":                    "f-sched_kind",
		"max_catchup":                      "f-max_catchup",
		"sql.statement_timeout":            "f-sql_statement_timeout",
		"http.method":                      "f-http_method",
		"concurrency_policy":               "f-concurrency_policy",
		"schedule.dst_overlap":             "f-dst_overlap",
		"misfire_policy":                   "f-misfire_policy",
		"sql.max_rows":                     "f-sql_max_rows",
		"schedule.start_at":                "f-start_at",
		"sql.password":                     "f-sql_password",
		"name":                             "f-name",
		"namespace":                        "f-namespace",
		"description":                      "f-description",
		"timeout":                          "f-timeout",
		"schedule.jitter":                  "f-jitter",
		"schedule.every":                   "f-every",
		"schedule.at":                      "f-at",
		"schedule.anchor":                  "f-anchor",
		"schedule.end_at":                  "f-end_at",
		"schedule.dst_gap":                 "f-dst_gap",
		"kind":                             "f-kind",
		"enabled":                          "f-enabled",
		"sql.driver":                       "f-sql_driver",
		"sql.host":                         "f-sql_host",
		"sql.port":                         "f-sql_port",
		"sql.database":                     "f-sql_database",
		"sql.user":                         "f-sql_user",
		"sql.transaction":                  "f-sql_transaction",
		"sql.read_only":                    "f-sql_read_only",
		"http.body":                        "f-http_body",
		"retry.backoff":                    "f-retry_backoff",
		"schedule.excluded_dates":          "f-excluded_dates",
		"schedule.calendars":               "f-calendars",
		"http.headers.X-A":                 "f-header_value-0",
		"sql.statements[0].params":         "f-stmt_params-0",
		"sql.statements[1]":                "f-stmt_sql-2",
		"on_success[1]":                    "f-on_success",
		"on_failure":                       "f-on_failure",
		"on_completion[0]":                 "f-on_completion",
	} {
		require.Equal(t, want, f.inputFor(path), path)
	}
	// Every input an error can name is on the page of a form of its kind.
	ui := pageUI(t)
	for _, kind := range []string{"http", "sql"} {
		form := newJobForm("default")
		form.Kind, form.SchedKind = kind, "cron"
		form.Every, form.Anchor, form.At = "1m", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"
		form.Headers, form.Statements = f.Headers, f.Statements
		form.SQLDriver = "postgres"
		page := renderForm(t, ui, form, "en")
		for path, id := range map[string]string{"schedule.cron": "", "name": "", "timezone": "", "retry.backoff": "", "schedule.every": "",
			"schedule.at": "", "schedule.anchor": "", "schedule.dst_gap": "", "http.url": "http", "http.headers.X-A": "http",
			"http.headers": "http", "http.body": "http", "sql.dsn": "sql", "sql.statements[1].params": "sql", "sql.max_rows": "sql",
			"on_success[0]": "", "on_failure[2]": "", "on_completion": ""} {
			if id != "" && id != kind {
				continue
			}
			input := form.inputFor(path)
			require.Contains(t, page, `id="`+input+`"`, "%s: %s", kind, path)
			require.Contains(t, page, `id="e-`+input+`"`, "%s: %s has a place for its error", kind, path)
		}
	}
}

// TestBuilderOptionsTranslated: every choice of the builder's selects has its text in both
// languages (their keys are made from values, which the catalog test cannot see).
func TestBuilderOptionsTranslated(t *testing.T) {
	t.Parallel()
	ui := pageUI(t)
	for _, lang := range []string{"en", "vi"} {
		bv := &builderView{Form: newJobForm("default")}
		ui.prepareBuilder(lang, bv, nil)
		for _, list := range [][]option{bv.Kinds, bv.SchedKinds, bv.Misfires, bv.Concurrency, bv.DSTGaps, bv.DSTOverlaps} {
			for _, o := range list {
				require.NotContains(t, o.Label, ".", "%s: %q has no text", lang, o.Value)
			}
		}
	}
}

func TestBuilderReadRefs(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][]string{
		"":                    nil,
		" \n ":                nil,
		"a, ops/b ,,c":        {"a", "ops/b", "c"},
		"a, b\nops/c":         {"a, b", "ops/c"},
		"ops/page, on call\n": {"ops/page, on call"},
		"x\n\n y \n":          {"x", "y"},
		"ops/page, on call":   {"ops/page", "on call"},
		"<b>&\n":              {"<b>&"},
	} {
		require.Equal(t, want, readRefs(in), "%q", in)
	}
	for _, refs := range [][]string{nil, {"a"}, {"a, b"}, {"a, b", "c"}, {"ops/x", "y"}} {
		require.Equal(t, refs, readRefs(refsText(refs)), "%q", refs)
	}
}

package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
)

// builderForm is the job builder's form as the user filled it in: every field as typed, so
// that a form the API refused comes back with the values kept. definition turns it into the
// definition the API takes; formOf turns a definition back into it. The two are inverse for
// every definition (the property test), so the form loses nothing of a job it edits.
type builderForm struct {
	Kind, Name, Namespace, Description string
	Enabled                            bool
	Timezone                           string
	// Tags holds the tags separated by commas or spaces (readTags).
	Tags string

	SchedKind, Cron, Every, Anchor, At, StartAt, EndAt string
	DSTGap, DSTOverlap, Jitter                         string
	// ExcludedDates and Calendars hold one item a line.
	ExcludedDates, Calendars string
	// Triggers is the job's triggers as JSON (a list; empty for none): the builder takes them
	// as the API does, so editing an event-triggered job keeps them.
	Triggers string
	// OnSuccess, OnFailure and OnCompletion are the chains' job refs (refsText, readRefs).
	OnSuccess, OnFailure, OnCompletion string

	Timeout, MisfirePolicy, MaxCatchup, StartingDeadline, ConcurrencyPolicy string
	// AlertAfter is the failure streak that alerts; AlertOff turns the job's alerts off.
	AlertAfter string
	AlertOff   bool
	// MissedAfter is the job's watchdog grace; empty keeps the default.
	MissedAfter string
	// RetryBackoff lists the delays separated by commas.
	RetryMaxAttempts, RetryBackoff string

	HTTPMethod, HTTPURL, HTTPBody, HTTPFollowRedirects string
	Headers                                            []headerRow

	SQLDriver, SQLDSN, SQLHost, SQLPort, SQLDatabase, SQLUser, SQLPassword string
	SQLTransaction, SQLReadOnly                                            bool
	SQLStatementTimeout, SQLMaxRows                                        string
	Statements                                                             []statementRow
}

// headerRow is one request header of an http job.
type headerRow struct{ Name, Value string }

// statementRow is one statement of a sql job; Params (a JSON array) and Named (a JSON object)
// are its bind parameters as JSON, which keeps their types (a number stays a number).
type statementRow struct{ SQL, Params, Named string }

// Limits of the form: rows a user may add, so that a post cannot make the server build a huge
// page. They are those of the API.
const (
	maxHeaderRows    = 50
	maxStatementRows = jobs.MaxStatements
)

// newJobForm is the form of a new job in namespace ns: every default the API would fill in
// written out, so that the JSON shown is the job as it will be stored.
func newJobForm(ns string) builderForm {
	def := domain.JobDefinition{
		Namespace: ns, Kind: domain.KindHTTP, Enabled: true, Timezone: domain.DefaultTimezone,
		Schedule: domain.Schedule{Kind: domain.ScheduleCron},
		HTTP:     &domain.HTTPSpec{Method: "GET"},
		Timeout:  domain.Duration(jobs.TimeoutDefault), MisfirePolicy: domain.MisfireFireOnce,
		MaxCatchup: jobs.MaxCatchupDefault, ConcurrencyPolicy: domain.ConcurrencyAllow,
		Retry: domain.RetryPolicy{MaxAttempts: domain.MaxAttemptsDefault, Backoff: domain.BackoffDefault()},
		Alert: domain.AlertPolicy{AfterFailures: domain.AlertAfterDefault},
	}
	return formOf(&def)
}

// formOf returns the form showing def.
func formOf(def *domain.JobDefinition) builderForm {
	s := def.Schedule
	f := builderForm{
		Kind: string(def.Kind), Name: def.Name, Namespace: def.Namespace, Description: def.Description,
		Enabled: def.Enabled, Timezone: def.Timezone, Tags: strings.Join(def.Tags, ", "),
		SchedKind: string(s.Kind), Cron: s.Cron, Every: optDuration(s.Every),
		Anchor: optTime(s.Anchor), At: optTime(s.At), StartAt: optTime(s.StartAt), EndAt: optTime(s.EndAt),
		DSTGap: s.DSTGap, DSTOverlap: s.DSTOverlap, Jitter: optDuration(s.Jitter),
		ExcludedDates: strings.Join(s.ExcludedDates, "\n"), Calendars: strings.Join(s.Calendars, "\n"),
		Triggers:  triggersText(def.Triggers),
		OnSuccess: refsText(def.OnSuccess), OnFailure: refsText(def.OnFailure), OnCompletion: refsText(def.OnCompletion),
		Timeout: time.Duration(def.Timeout).String(), MisfirePolicy: def.MisfirePolicy,
		MaxCatchup: strconv.Itoa(def.MaxCatchup), StartingDeadline: optDuration(def.StartingDeadline),
		AlertAfter: optInt(def.Alert.AfterFailures), AlertOff: !def.Alert.On(),
		MissedAfter:       optDuration(def.MissedAfter),
		ConcurrencyPolicy: def.ConcurrencyPolicy, RetryMaxAttempts: strconv.Itoa(def.Retry.MaxAttempts),
	}
	backoff := make([]string, len(def.Retry.Backoff))
	for i, d := range def.Retry.Backoff {
		backoff[i] = time.Duration(d).String()
	}
	f.RetryBackoff = strings.Join(backoff, ", ")
	if h := def.HTTP; h != nil {
		f.HTTPMethod, f.HTTPURL, f.HTTPBody, f.HTTPFollowRedirects = h.Method, h.URL, h.Body, optInt(h.FollowRedirects)
		for _, name := range slices.Sorted(maps.Keys(h.Headers)) {
			f.Headers = append(f.Headers, headerRow{Name: name, Value: h.Headers[name]})
		}
	}
	if q := def.SQL; q != nil {
		f.SQLDriver, f.SQLDSN, f.SQLHost, f.SQLPort = q.Driver, q.DSN, q.Host, optInt(q.Port)
		f.SQLDatabase, f.SQLUser, f.SQLPassword = q.Database, q.User, q.Password
		f.SQLTransaction, f.SQLReadOnly = q.Transaction, q.ReadOnly
		f.SQLStatementTimeout, f.SQLMaxRows = optDuration(q.StatementTimeout), optInt(q.MaxRows)
		for _, st := range q.Statements {
			row := statementRow{SQL: st.SQL}
			if len(st.Params) > 0 {
				row.Params = compactJSON(st.Params)
			}
			if len(st.NamedParams) > 0 {
				row.Named = compactJSON(st.NamedParams)
			}
			f.Statements = append(f.Statements, row)
		}
	}
	return f
}

func optDuration(d domain.Duration) string {
	if d == 0 {
		return ""
	}
	return time.Duration(d).String()
}

func optTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func optInt(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// triggersText is a job's triggers as the form shows them: JSON, empty for none.
func triggersText(ts []domain.JobTrigger) string {
	if len(ts) == 0 {
		return ""
	}
	return compactJSON(ts)
}

// readTriggers reads the triggers field: a JSON list of triggers, nil when left empty. Their
// meaning (filters, CESQL) is the API's to check.
func readTriggers(errs formErrors, s string) []domain.JobTrigger {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var ts []domain.JobTrigger
	if err := dec.Decode(&ts); err != nil || dec.More() {
		errs.add("triggers", `must be a JSON list such as [{"event": {"filters": [{"exact": {"type": "com.example.order.paid"}}]}}]`)
		return nil
	}
	if len(ts) == 0 {
		return nil
	}
	return ts
}

// refsText is a chain's job refs as the form shows them: one a line. A single ref with a comma
// in its name (names may hold one) ends with a line break, so that readRefs does not split it.
func refsText(refs []string) string {
	s := strings.Join(refs, "\n")
	if len(refs) == 1 && strings.Contains(s, ",") {
		s += "\n"
	}
	return s
}

// readRefs reads a chain's field: one job ref a line or, typed on one line, refs separated by
// commas; nil when empty. Whether each names a job the caller may run is the API's to say.
func readRefs(s string) []string {
	if !strings.Contains(s, "\n") {
		s = strings.ReplaceAll(s, ",", "\n")
	}
	return lines(s)
}

// compactJSON is v as JSON without HTML escaping: the user reads it as they wrote it.
func compactJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// parseBuilder reads the builder's form from the posted values v. Browsers send a textarea's
// line breaks as CRLF; they are read as the LF the user typed.
func parseBuilder(v url.Values) builderForm {
	text := func(name string) string { return strings.ReplaceAll(v.Get(name), "\r\n", "\n") }
	f := builderForm{
		Kind: v.Get("kind"), Name: v.Get("name"), Namespace: v.Get("namespace"), Description: text("description"),
		Enabled: v.Has("enabled"), Timezone: v.Get("timezone"), Tags: v.Get("tags"),
		SchedKind: v.Get("sched_kind"), Cron: v.Get("cron"), Every: v.Get("every"), Anchor: v.Get("anchor"),
		At: v.Get("at"), StartAt: v.Get("start_at"), EndAt: v.Get("end_at"), DSTGap: v.Get("dst_gap"),
		DSTOverlap: v.Get("dst_overlap"), Jitter: v.Get("jitter"),
		ExcludedDates: text("excluded_dates"), Calendars: text("calendars"), Triggers: text("triggers"),
		OnSuccess: text("on_success"), OnFailure: text("on_failure"), OnCompletion: text("on_completion"),
		Timeout: v.Get("timeout"), MisfirePolicy: v.Get("misfire_policy"), MaxCatchup: v.Get("max_catchup"),
		AlertAfter: v.Get("alert_after"), AlertOff: v.Has("alert_off"),
		StartingDeadline: v.Get("starting_deadline"), ConcurrencyPolicy: v.Get("concurrency_policy"),
		MissedAfter:      v.Get("missed_after"),
		RetryMaxAttempts: v.Get("retry_max_attempts"), RetryBackoff: v.Get("retry_backoff"),
		HTTPMethod: v.Get("http_method"), HTTPURL: v.Get("http_url"), HTTPBody: text("http_body"),
		HTTPFollowRedirects: v.Get("http_follow_redirects"),
		SQLDriver:           v.Get("sql_driver"), SQLDSN: v.Get("sql_dsn"), SQLHost: v.Get("sql_host"), SQLPort: v.Get("sql_port"),
		SQLDatabase: v.Get("sql_database"), SQLUser: v.Get("sql_user"), SQLPassword: v.Get("sql_password"),
		SQLTransaction: v.Has("sql_transaction"), SQLReadOnly: v.Has("sql_read_only"),
		SQLStatementTimeout: v.Get("sql_statement_timeout"), SQLMaxRows: v.Get("sql_max_rows"),
	}
	names, values := v["header_name"], v["header_value"]
	for i := range min(len(names), maxHeaderRows) {
		row := headerRow{Name: names[i]}
		if i < len(values) {
			row.Value = values[i]
		}
		f.Headers = append(f.Headers, row)
	}
	sqls, params, named := v["stmt_sql"], v["stmt_params"], v["stmt_named"]
	at := func(list []string, i int) string {
		if i < len(list) {
			return strings.ReplaceAll(list[i], "\r\n", "\n")
		}
		return ""
	}
	for i := range min(len(sqls), maxStatementRows) {
		f.Statements = append(f.Statements, statementRow{SQL: at(sqls, i), Params: at(params, i), Named: at(named, i)})
	}
	return f
}

// values returns the form as a browser posts it: what parseBuilder reads.
func (f *builderForm) values() url.Values {
	v := url.Values{}
	set := func(name, value string) { v.Set(name, value) }
	flag := func(name string, on bool) {
		if on {
			v.Set(name, "on")
		}
	}
	for name, value := range map[string]string{
		"kind": f.Kind, "name": f.Name, "namespace": f.Namespace, "description": f.Description, "timezone": f.Timezone, "tags": f.Tags,
		"sched_kind": f.SchedKind, "cron": f.Cron, "every": f.Every, "anchor": f.Anchor, "at": f.At,
		"start_at": f.StartAt, "end_at": f.EndAt, "dst_gap": f.DSTGap, "dst_overlap": f.DSTOverlap, "jitter": f.Jitter,
		"excluded_dates": f.ExcludedDates, "calendars": f.Calendars, "triggers": f.Triggers, "timeout": f.Timeout,
		"on_success": f.OnSuccess, "on_failure": f.OnFailure, "on_completion": f.OnCompletion,
		"misfire_policy": f.MisfirePolicy, "max_catchup": f.MaxCatchup, "starting_deadline": f.StartingDeadline,
		"alert_after":        f.AlertAfter,
		"missed_after":       f.MissedAfter,
		"concurrency_policy": f.ConcurrencyPolicy, "retry_max_attempts": f.RetryMaxAttempts, "retry_backoff": f.RetryBackoff,
		"http_method": f.HTTPMethod, "http_url": f.HTTPURL, "http_body": f.HTTPBody, "http_follow_redirects": f.HTTPFollowRedirects,
		"sql_driver": f.SQLDriver, "sql_dsn": f.SQLDSN, "sql_host": f.SQLHost, "sql_port": f.SQLPort,
		"sql_database": f.SQLDatabase, "sql_user": f.SQLUser, "sql_password": f.SQLPassword,
		"sql_statement_timeout": f.SQLStatementTimeout, "sql_max_rows": f.SQLMaxRows,
	} {
		set(name, value)
	}
	flag("enabled", f.Enabled)
	flag("alert_off", f.AlertOff)
	flag("sql_transaction", f.SQLTransaction)
	flag("sql_read_only", f.SQLReadOnly)
	for _, h := range f.Headers {
		v.Add("header_name", h.Name)
		v.Add("header_value", h.Value)
	}
	for _, st := range f.Statements {
		v.Add("stmt_sql", st.SQL)
		v.Add("stmt_params", st.Params)
		v.Add("stmt_named", st.Named)
	}
	return v
}

// formErrors are the problems of a form, each under the JSON path of its field as the API
// names it ("schedule.every", "sql.statements[2].params"), so that the form's own and the API's
// are shown alike.
type formErrors map[string]string

func (e formErrors) add(field, reason string) {
	if prev, ok := e[field]; ok {
		reason = prev + "; " + reason
	}
	e[field] = reason
}

// definition returns the definition the form stands for, and what of it could not be read (a
// duration, a number, an instant, JSON parameters); a field that could not be read is left at
// its zero value, which the API fills in or refuses. Whether the definition is valid is the
// API's to say.
func (f *builderForm) definition() (domain.JobDefinition, formErrors) {
	errs := formErrors{}
	def := domain.JobDefinition{
		Namespace: f.Namespace, Name: f.Name, Description: f.Description, Kind: domain.JobKind(f.Kind),
		Enabled: f.Enabled, Timezone: f.Timezone, Tags: readTags(f.Tags),
		Timeout:       duration(errs, "timeout", f.Timeout),
		MisfirePolicy: f.MisfirePolicy, MaxCatchup: integer(errs, "max_catchup", f.MaxCatchup),
		StartingDeadline:  duration(errs, "starting_deadline", f.StartingDeadline),
		MissedAfter:       duration(errs, "missed_after", f.MissedAfter),
		ConcurrencyPolicy: f.ConcurrencyPolicy,
		Retry:             domain.RetryPolicy{MaxAttempts: integer(errs, "retry.max_attempts", f.RetryMaxAttempts), Backoff: []domain.Duration{}},
		Alert:             domain.AlertPolicy{AfterFailures: integer(errs, "alert.after_failures", f.AlertAfter)},
	}
	if f.AlertOff {
		off := false
		def.Alert.Enabled = &off
	}
	// An empty threshold is the default, written out as the API stores it.
	def.Alert = def.Alert.Normal()
	for i, part := range strings.Split(f.RetryBackoff, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		def.Retry.Backoff = append(def.Retry.Backoff, duration(errs, fmt.Sprintf("retry.backoff[%d]", i), part))
	}
	def.Schedule = domain.Schedule{
		Kind: domain.ScheduleKind(f.SchedKind), Cron: f.Cron, Every: duration(errs, "schedule.every", f.Every),
		Anchor: instant(errs, "schedule.anchor", f.Anchor, f.Timezone), At: instant(errs, "schedule.at", f.At, f.Timezone),
		StartAt: instant(errs, "schedule.start_at", f.StartAt, f.Timezone), EndAt: instant(errs, "schedule.end_at", f.EndAt, f.Timezone),
		DSTGap: f.DSTGap, DSTOverlap: f.DSTOverlap, Jitter: duration(errs, "schedule.jitter", f.Jitter),
		ExcludedDates: lines(f.ExcludedDates), Calendars: lines(f.Calendars),
	}
	def.Triggers = readTriggers(errs, f.Triggers)
	def.Chains = domain.Chains{OnSuccess: readRefs(f.OnSuccess), OnFailure: readRefs(f.OnFailure), OnCompletion: readRefs(f.OnCompletion)}
	switch def.Kind {
	case domain.KindHTTP:
		h := &domain.HTTPSpec{Method: f.HTTPMethod, URL: f.HTTPURL, Body: f.HTTPBody,
			FollowRedirects: integer(errs, "http.follow_redirects", f.HTTPFollowRedirects)}
		for _, row := range f.Headers {
			switch {
			case row.Name == "" && row.Value == "":
				continue // a row added and left empty
			case row.Name == "":
				errs.add("http.headers", "a header needs a name")
				continue
			}
			if h.Headers == nil {
				h.Headers = map[string]string{}
			}
			if _, dup := h.Headers[row.Name]; dup {
				errs.add("http.headers."+row.Name, "is given twice")
			}
			h.Headers[row.Name] = row.Value
		}
		def.HTTP = h
	case domain.KindSQL:
		q := &domain.SQLSpec{Driver: f.SQLDriver, DSN: f.SQLDSN, Host: f.SQLHost, Port: integer(errs, "sql.port", f.SQLPort),
			Database: f.SQLDatabase, User: f.SQLUser, Password: f.SQLPassword, Transaction: f.SQLTransaction,
			ReadOnly: f.SQLReadOnly, StatementTimeout: duration(errs, "sql.statement_timeout", f.SQLStatementTimeout),
			MaxRows: integer(errs, "sql.max_rows", f.SQLMaxRows), Statements: []domain.SQLStatement{}}
		for _, row := range f.Statements {
			if row.blank() {
				continue // a row added and left empty
			}
			field := fmt.Sprintf("sql.statements[%d]", len(q.Statements))
			st := domain.SQLStatement{SQL: row.SQL}
			if strings.TrimSpace(row.Params) != "" {
				if err := json.Unmarshal([]byte(row.Params), &st.Params); err != nil {
					errs.add(field+".params", `must be a JSON list such as [42, "{{ var.REGION }}"]`)
				}
			}
			if strings.TrimSpace(row.Named) != "" {
				if err := json.Unmarshal([]byte(row.Named), &st.NamedParams); err != nil {
					errs.add(field+".named_params", `must be a JSON object such as {"region": "eu"}`)
				}
			}
			q.Statements = append(q.Statements, st)
		}
		def.SQL = q
	}
	return def, errs
}

// statementRowOf returns the row of the form that statement i of the definition came from:
// rows left empty are not statements.
func (f *builderForm) statementRowOf(i int) int {
	n := 0
	for row, st := range f.Statements {
		if st.blank() {
			continue
		}
		if n == i {
			return row
		}
		n++
	}
	return -1
}

// blank reports whether the row states nothing: no SQL and no parameters (an empty list or
// object of parameters is none).
func (row statementRow) blank() bool {
	none := func(s string) bool {
		var v any
		if strings.TrimSpace(s) == "" {
			return true
		}
		if json.Unmarshal([]byte(s), &v) != nil {
			return false
		}
		switch v := v.(type) {
		case nil:
			return true
		case []any:
			return len(v) == 0
		case map[string]any:
			return len(v) == 0
		}
		return false
	}
	return row.SQL == "" && none(row.Params) && none(row.Named)
}

func duration(errs formErrors, field, s string) domain.Duration {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		errs.add(field, fmt.Sprintf("%q is not a duration such as 30s, 5m or 1h30m", s))
		return 0
	}
	return domain.Duration(d)
}

func integer(errs formErrors, field, s string) int {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		errs.add(field, fmt.Sprintf("%q is not a whole number", s))
		return 0
	}
	return n
}

// instant reads an RFC 3339 instant, or a local date and time in zone (the job's). It returns
// UTC, as the API keeps instants.
func instant(errs formErrors, field, s, zone string) *time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	ok := func(t time.Time) bool { return t.Year() >= 1 && t.Year() <= 9999 } // what RFC 3339 can write
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil && ok(t.UTC()) {
		t = t.UTC()
		return &t
	}
	if loc, err := time.LoadLocation(zone); err == nil && zone != "" {
		// A date and time typed without a zone is the job's local time.
		for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"} {
			if t, err := time.ParseInLocation(layout, s, loc); err == nil && ok(t.UTC()) {
				t = t.UTC()
				return &t
			}
		}
	}
	errs.add(field, fmt.Sprintf("%q is not a date and time such as 2026-03-01T09:00:00+07:00", s))
	return nil
}

// lines returns the non-empty lines of s, trimmed; nil when there are none.
func lines(s string) []string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// definitionJSON is def as the builder shows it and sends it: indented, and with <, > and &
// as typed (the page escapes them where it shows the JSON).
func definitionJSON(def *domain.JobDefinition) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(def); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var (
	statementPath = regexp.MustCompile(`^sql\.statements\[(\d+)\](.*)$`)
	indexSuffix   = regexp.MustCompile(`\[\d+\]`)
)

// inputFor returns the id of the form's input for the API's field path ("" when the form has
// none: the error is then listed above the form only).
func (f *builderForm) inputFor(path string) string {
	if m := statementPath.FindStringSubmatch(path); m != nil {
		i, _ := strconv.Atoi(m[1])
		row := f.statementRowOf(i)
		if row < 0 {
			return "f-statements"
		}
		switch {
		case strings.HasPrefix(m[2], ".params"):
			return "f-stmt_params-" + strconv.Itoa(row)
		case strings.HasPrefix(m[2], ".named_params"):
			return "f-stmt_named-" + strconv.Itoa(row)
		}
		return "f-stmt_sql-" + strconv.Itoa(row)
	}
	if name, ok := strings.CutPrefix(path, "http.headers."); ok {
		for i, h := range f.Headers {
			if h.Name == name {
				return "f-header_value-" + strconv.Itoa(i)
			}
		}
		return "f-headers"
	}
	switch p := indexSuffix.ReplaceAllString(path, ""); p {
	case "name", "namespace", "description", "kind", "enabled", "timezone", "timeout", "misfire_policy",
		"max_catchup", "starting_deadline", "missed_after", "concurrency_policy", "tags":
		return "f-" + p
	case "retry.max_attempts", "retry.backoff":
		return "f-retry_" + strings.TrimPrefix(p, "retry.")
	case "schedule", "schedule.kind":
		return "f-sched_kind"
	case "triggers":
		return "f-triggers"
	case "on_success", "on_failure", "on_completion":
		return "f-" + p
	case "alert", "alert.after_failures":
		return "f-alert_after"
	case "alert.enabled":
		return "f-alert_off"
	case "schedule.cron", "schedule.every", "schedule.anchor", "schedule.at", "schedule.start_at", "schedule.end_at",
		"schedule.dst_gap", "schedule.dst_overlap", "schedule.jitter", "schedule.excluded_dates", "schedule.calendars":
		return "f-" + strings.TrimPrefix(p, "schedule.")
	case "http":
		return "f-http_url"
	case "http.method", "http.url", "http.body", "http.follow_redirects", "http.headers":
		if p == "http.headers" {
			return "f-headers"
		}
		return "f-http_" + strings.TrimPrefix(p, "http.")
	case "sql":
		return "f-sql_driver"
	case "sql.driver", "sql.dsn", "sql.host", "sql.port", "sql.database", "sql.user", "sql.password",
		"sql.transaction", "sql.read_only", "sql.statement_timeout", "sql.max_rows":
		return "f-sql_" + strings.TrimPrefix(p, "sql.")
	case "sql.statements":
		return "f-statements"
	}
	return ""
}

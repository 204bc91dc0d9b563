package dashboard

import (
	"cmp"
	_ "embed"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/humanize"
	"github.com/vecron/vecron/shared/render"
	"github.com/vecron/vecron/shared/schedule"
)

// zoneList holds the IANA zones the timezone field suggests: the canonical zones of
// zone1970.tab (tzdata 2025b), and UTC. The API accepts any zone Go knows; this is a datalist.
//
//go:embed zones.txt
var zoneList string

// builderView is the job builder's page: the form, and beside it the live region (the JSON it
// will send and the schedule's next fires).
type builderView struct {
	Form builderForm
	// New is a new job's form; an edit's has ID and the Version it was read at.
	New     bool
	ID      string
	Version int64
	Action  string
	// Errors are the problems by input id; Summary lists every one, those without an input too.
	Errors  map[string]string
	Summary []fieldProblem
	// Problem says why the API refused the job as a whole (a conflict, a stale version).
	Problem string
	// Proposed says the change waits for another user's approval (four eyes): no form then.
	Proposed string
	// Lock shows namespace and kind read-only: an edit cannot change them.
	Lock                                                   bool
	Namespaces, Zones                                      []string
	Kinds, SchedKinds, Methods, Drivers                    []option
	Misfires, Concurrency, DSTGaps, DSTOverlaps            []option
	ShowCron, ShowEvery, ShowAnchor, ShowAt, ShowDSTFields bool
	// HeaderRows and StatementRows are the form's rows numbered for their labels, each with
	// its problems.
	HeaderRows    []headerRowView
	StatementRows []statementRowView
	Live          liveView
}

// headerRowView is header row I (N = I+1, as people count) of the form.
type headerRowView struct {
	I, N int
	headerRow
	Err string
}

// statementRowView is statement row I (N = I+1) of the form.
type statementRowView struct {
	I, N int
	statementRow
	SQLErr, ParamsErr, NamedErr string
}

// fieldProblem is one problem of the form: its field as the API names it, the input it is
// shown beside ("" for none) and why.
type fieldProblem struct {
	Field, Input, Reason string
}

// liveView is the region beside the form, made again as the form changes: the schedule in
// words, its next fires, the variables the job refers to, and the JSON the builder will send.
type liveView struct {
	L            string
	Describe     string
	Zone         string
	Fires        []builderFire
	FiresProblem []string
	Variables    []string
	JSON         string
	// FormProblems are what of the form could not be read into the JSON.
	FormProblems []fieldProblem
}

// builderFire is a coming fire in the job's zone and in UTC, with what moved it.
type builderFire struct {
	Local, UTC string
	Notes      []noteView
}

// noteView is a note of a fire, with an icon and words (never colour alone).
type noteView struct{ Icon, Kind, Text string }

// writable returns the namespaces m may write jobs in, and whether m may in every namespace.
func (m *me) writable() (names []string, all bool) {
	for ns, perms := range m.Permissions {
		if !slices.Contains(perms, domain.PermJobWrite) {
			continue
		}
		if ns == domain.AllNamespaces {
			all = true
			continue
		}
		names = append(names, ns)
	}
	slices.Sort(names)
	return names, all
}

// newJobPage serves the builder of a new job, to those who may write jobs somewhere.
func (ui *UI) newJobPage(w http.ResponseWriter, r *http.Request, sess *session) {
	m, err := ui.me(r, sess)
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	names, all := m.writable()
	if len(names) == 0 && !all {
		ui.errorPage(w, r, sess, http.StatusForbidden, "builder.forbidden")
		return
	}
	ns := domain.DefaultNamespace
	if !all && !slices.Contains(names, ns) {
		ns = names[0]
	}
	if q := r.URL.Query().Get("namespace"); domain.ValidNamespace(q) {
		ns = q
	}
	bv := &builderView{Form: newJobForm(ns), New: true, Action: "/jobs/new", Namespaces: names}
	ui.renderBuilder(w, r, sess, http.StatusOK, bv, nil)
}

// newJobPost creates the job, or re-renders the form when a button asked for another row or
// another kind.
func (ui *UI) newJobPost(w http.ResponseWriter, r *http.Request, sess *session) {
	bv := &builderView{Form: parseBuilder(postForm(r)), New: true, Action: "/jobs/new"}
	if ui.builderOp(w, r, sess, bv) {
		return
	}
	ui.saveJob(w, r, sess, bv, http.MethodPost, "/api/v1/jobs", nil)
}

// editJobPage serves the builder of job id with its definition, to those who may write it.
func (ui *UI) editJobPage(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := ui.jobID(w, r, sess)
	if !ok {
		return
	}
	var j domain.Job
	if !ui.get(w, r, sess, "/api/v1/jobs/"+id, &j) {
		return
	}
	m, err := ui.me(r, sess)
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	if !m.can(domain.PermJobWrite, j.Namespace) {
		ui.errorPage(w, r, sess, http.StatusForbidden, "builder.forbidden")
		return
	}
	def := definitionOfJob(&j)
	bv := &builderView{Form: formOf(&def), ID: id, Version: j.Version, Action: "/jobs/" + id + "/edit", Lock: true}
	ui.renderBuilder(w, r, sess, http.StatusOK, bv, nil)
}

// editJobPost replaces the job's definition, on the version the form was read at.
func (ui *UI) editJobPost(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := ui.jobID(w, r, sess)
	if !ok {
		return
	}
	version, _ := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	bv := &builderView{Form: parseBuilder(postForm(r)), ID: id, Version: version, Action: "/jobs/" + id + "/edit", Lock: true}
	if ui.builderOp(w, r, sess, bv) {
		return
	}
	ui.saveJob(w, r, sess, bv, http.MethodPut, "/api/v1/jobs/"+id, http.Header{"If-Match": {`"` + strconv.FormatInt(version, 10) + `"`}})
}

// postForm returns the posted form of r. An HTMX request carries its CSRF token in a header, so
// the check of the token may not have read the body yet; a body over the limit reads as far as
// it went, and the API then says what is missing.
func postForm(r *http.Request) url.Values {
	_ = r.ParseForm()
	return r.PostForm
}

// definitionOfJob is the definition of j as the API answered it: every default already filled.
func definitionOfJob(j *domain.Job) domain.JobDefinition {
	return domain.JobDefinition{Namespace: j.Namespace, Name: j.Name, Description: j.Description, Tags: j.Tags, Kind: j.Kind,
		Enabled: j.Enabled, Schedule: j.Schedule, Timezone: j.Timezone, HTTP: j.HTTP, SQL: j.SQL, Timeout: j.Timeout,
		MisfirePolicy: j.MisfirePolicy, MaxCatchup: j.MaxCatchup, StartingDeadline: j.StartingDeadline,
		ConcurrencyPolicy: j.ConcurrencyPolicy, Retry: j.Retry, Triggers: j.Triggers, Chains: j.Chains, Alert: j.Alert, MissedAfter: j.MissedAfter}
}

// builderOp does what a button of the form other than save asked: add or remove a row, show
// the fields of another kind. It reports whether there was one; the form is then answered
// again, with nothing sent to the API.
func (ui *UI) builderOp(w http.ResponseWriter, r *http.Request, sess *session, bv *builderView) bool {
	op := r.PostFormValue("op")
	if op == "" || op == "save" {
		return false
	}
	f := &bv.Form
	name, arg, _ := strings.Cut(op, ":")
	i, err := strconv.Atoi(arg)
	if err != nil {
		i = -1
	}
	switch name {
	case "add_header":
		if len(f.Headers) < maxHeaderRows {
			f.Headers = append(f.Headers, headerRow{})
		}
	case "remove_header":
		if i >= 0 && i < len(f.Headers) {
			f.Headers = slices.Delete(f.Headers, i, i+1)
		}
	case "add_statement":
		if len(f.Statements) < maxStatementRows {
			f.Statements = append(f.Statements, statementRow{})
		}
	case "remove_statement":
		if i >= 0 && i < len(f.Statements) {
			f.Statements = slices.Delete(f.Statements, i, i+1)
		}
	}
	// A kind shown for the first time starts from the API's defaults.
	if f.Kind == string(domain.KindHTTP) && f.HTTPMethod == "" {
		f.HTTPMethod = http.MethodGet
	}
	if f.Kind == string(domain.KindSQL) {
		f.SQLDriver = cmp.Or(f.SQLDriver, domain.DriverPostgres)
		if len(f.Statements) == 0 {
			f.Statements = []statementRow{{}}
		}
	}
	ui.renderBuilder(w, r, sess, http.StatusOK, bv, nil)
	return true
}

// saveJob sends the form's definition to the API — the very JSON the page shows — and goes to
// the job's page, or answers the form again with the API's field errors beside their fields.
func (ui *UI) saveJob(w http.ResponseWriter, r *http.Request, sess *session, bv *builderView, method, path string, header http.Header) {
	lang := langOf(r)
	def, ferrs := bv.Form.definition()
	if len(ferrs) > 0 {
		ui.renderBuilder(w, r, sess, http.StatusUnprocessableEntity, bv, ferrs)
		return
	}
	body, err := definitionJSON(&def)
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	res, err := ui.send(r, sess, method, path, "application/json", body, header)
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	switch {
	case res.status == http.StatusAccepted:
		var c domain.Change
		_ = res.decode(&c)
		bv.Proposed = ui.cat.tr(lang, "builder.proposed", c.ID)
		ui.renderBuilder(w, r, sess, http.StatusAccepted, bv, nil)
		return
	case res.ok():
		var j domain.Job
		if err := res.decode(&j); err != nil {
			ui.internal(w, r, sess, err)
			return
		}
		to := "/jobs/" + url.PathEscape(j.ID)
		if r.Header.Get("HX-Request") == "true" {
			w.Header().Set("HX-Redirect", to)
			w.WriteHeader(http.StatusOK)
			return
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	p := res.problem()
	errs := formErrors{}
	for _, fe := range p.Errors {
		errs.add(fe.Field, fe.Reason)
	}
	switch p.Status {
	case http.StatusPreconditionFailed:
		bv.Problem = ui.cat.tr(lang, "builder.stale")
		if v, err := strconv.ParseInt(strings.Trim(res.header.Get("ETag"), `"`), 10, 64); err == nil {
			bv.Problem = ui.cat.tr(lang, "builder.stale_version", v)
		}
	case http.StatusForbidden, http.StatusNotFound, http.StatusUnauthorized:
		ui.apiError(w, r, sess, res)
		return
	case http.StatusConflict:
		bv.Problem = ui.cat.tr(lang, "error.conflict") + " " + p.Detail
	default:
		if len(errs) == 0 {
			bv.Problem = ui.cat.tr(lang, "error.api") + " " + p.Detail
		}
	}
	ui.renderBuilder(w, r, sess, p.Status, bv, errs)
}

// builderLive answers the live region for the posted form: as the user types.
func (ui *UI) builderLive(w http.ResponseWriter, r *http.Request, sess *session) {
	f := parseBuilder(postForm(r))
	lv := ui.live(r, sess, &f)
	ui.renderComponent(w, http.StatusOK, builderLive(words{cat: ui.cat, lang: lv.L}, lv))
}

// renderBuilder answers the builder page with status, the problems errs beside their fields.
func (ui *UI) renderBuilder(w http.ResponseWriter, r *http.Request, sess *session, status int, bv *builderView, errs formErrors) {
	lang := langOf(r)
	ui.prepareBuilder(lang, bv, errs)
	if bv.Namespaces == nil && !bv.Lock {
		if m, err := ui.me(r, sess); err == nil {
			bv.Namespaces, _ = m.writable()
		}
	}
	bv.Live = ui.live(r, sess, &bv.Form)
	title := "builder.title_new"
	if !bv.New {
		title = "builder.title_edit"
	}
	v := ui.newView(r, sess, title, "jobs", bv)
	ui.renderPage(w, status, v, builderContent(v, bv))
}

// prepareBuilder fills in what the page shows of bv's form in lang: the choices of its
// selects, its rows, and the problems errs beside their inputs.
func (ui *UI) prepareBuilder(lang string, bv *builderView, errs formErrors) {
	f := &bv.Form
	bv.Errors = map[string]string{}
	for _, field := range slices.Sorted(maps.Keys(errs)) {
		input := f.inputFor(field)
		bv.Summary = append(bv.Summary, fieldProblem{Field: field, Input: input, Reason: errs[field]})
		if input != "" {
			if prev := bv.Errors[input]; prev != "" {
				bv.Errors[input] = prev + "; " + errs[field]
			} else {
				bv.Errors[input] = errs[field]
			}
		}
	}
	for i, h := range f.Headers {
		bv.HeaderRows = append(bv.HeaderRows, headerRowView{I: i, N: i + 1, headerRow: h, Err: bv.Errors["f-header_value-"+strconv.Itoa(i)]})
	}
	for i, st := range f.Statements {
		n := strconv.Itoa(i)
		bv.StatementRows = append(bv.StatementRows, statementRowView{I: i, N: i + 1, statementRow: st,
			SQLErr: bv.Errors["f-stmt_sql-"+n], ParamsErr: bv.Errors["f-stmt_params-"+n], NamedErr: bv.Errors["f-stmt_named-"+n]})
	}
	bv.Zones = strings.Fields(zoneList)
	bv.Kinds = ui.choices(lang, "kind.", f.Kind, string(domain.KindHTTP), string(domain.KindSQL))
	bv.SchedKinds = ui.choices(lang, "builder.sched.", f.SchedKind, string(domain.ScheduleCron), string(domain.ScheduleFixedRate),
		string(domain.ScheduleFixedDelay), string(domain.ScheduleOnce), "")
	bv.Methods = plainChoices(f.HTTPMethod, "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
	bv.Drivers = plainChoices(f.SQLDriver, domain.DriverPostgres, domain.DriverMySQL, domain.DriverOracle)
	bv.Misfires = ui.choices(lang, "builder.misfire.", f.MisfirePolicy, domain.MisfireFireOnce, domain.MisfireSkip, domain.MisfireFireAll)
	bv.Concurrency = ui.choices(lang, "builder.concurrency.", f.ConcurrencyPolicy, domain.ConcurrencyAllow, domain.ConcurrencyForbid, domain.ConcurrencyReplace)
	bv.DSTGaps = ui.choices(lang, "builder.dst.", f.DSTGap, "", domain.DSTGapShiftForward, domain.DSTGapSkip)
	bv.DSTOverlaps = ui.choices(lang, "builder.dst.", f.DSTOverlap, "", domain.DSTOverlapFirst, domain.DSTOverlapLast, domain.DSTOverlapBoth)
	// A field of another schedule kind is shown only when it holds something: nothing is lost,
	// and nothing distracts.
	k := domain.ScheduleKind(f.SchedKind)
	bv.ShowCron = k == domain.ScheduleCron || k == "" || f.Cron != ""
	bv.ShowEvery = k == domain.ScheduleFixedRate || k == domain.ScheduleFixedDelay || f.Every != ""
	bv.ShowAnchor = k == domain.ScheduleFixedRate || f.Anchor != ""
	bv.ShowAt = k == domain.ScheduleOnce || f.At != ""
	bv.ShowDSTFields = k == domain.ScheduleCron || k == "" || f.DSTGap != "" || f.DSTOverlap != ""
}

// choices are the options of a select labelled from the catalog (key prefix+value, "default"
// for ""), with the current value kept even when it is none of them: the API will say what is
// wrong with it.
func (ui *UI) choices(lang string, prefix, current string, values ...string) []option {
	out := make([]option, 0, len(values)+1)
	for _, v := range values {
		out = append(out, option{Value: v, Label: ui.cat.tr(lang, prefix+cmp.Or(v, "default")), Selected: v == current})
	}
	if !slices.Contains(values, current) {
		out = append(out, option{Value: current, Label: current, Selected: true})
	}
	return out
}

// plainChoices are options labelled by their values.
func plainChoices(current string, values ...string) []option {
	out := make([]option, 0, len(values)+1)
	for _, v := range values {
		out = append(out, option{Value: v, Label: v, Selected: v == current})
	}
	if !slices.Contains(values, current) {
		out = append(out, option{Value: current, Label: current, Selected: true})
	}
	return out
}

// live makes the live region of form f: its JSON and, from the API's schedule preview, its
// next fires in its zone and in UTC.
func (ui *UI) live(r *http.Request, sess *session, f *builderForm) liveView {
	lang := langOf(r)
	def, ferrs := f.definition()
	lv := liveView{L: lang, Zone: def.Timezone}
	for _, field := range slices.Sorted(maps.Keys(ferrs)) {
		lv.FormProblems = append(lv.FormProblems, fieldProblem{Field: field, Input: f.inputFor(field), Reason: ferrs[field]})
	}
	if b, err := definitionJSON(&def); err == nil {
		lv.JSON = string(b)
	}
	lv.Variables = referencedVariables(&def)
	zone := ui.zones.get(def.Timezone)
	lv.Describe = schedule.Describe(def.Schedule, zone, lang)
	if def.Schedule.Kind == domain.ScheduleCron && strings.TrimSpace(def.Schedule.Cron) == "" {
		lv.FiresProblem = []string{ui.cat.tr(lang, "builder.type_cron")}
		lv.Describe = ""
		return lv
	}
	body := map[string]any{"schedule": def.Schedule, "timezone": def.Timezone, "count": previewCount}
	res, err := ui.call(r, sess, http.MethodPost, "/api/v1/schedules/preview", body)
	if err != nil {
		lv.FiresProblem = []string{ui.cat.tr(lang, "job.no_fires")}
		return lv
	}
	if !res.ok() {
		p := res.problem()
		for _, fe := range p.Errors {
			lv.FiresProblem = append(lv.FiresProblem, fe.Field+": "+fe.Reason)
		}
		if len(lv.FiresProblem) == 0 {
			lv.FiresProblem = []string{ui.cat.tr(lang, "job.no_fires") + " " + p.Detail}
		}
		return lv
	}
	var p struct {
		Timezone string `json:"timezone"`
		Fires    []struct {
			At    time.Time `json:"at"`
			Notes []struct {
				Kind   string `json:"kind"`
				Detail string `json:"detail"`
			} `json:"notes"`
		} `json:"fires"`
	}
	if err := res.decode(&p); err != nil {
		lv.FiresProblem = []string{ui.cat.tr(lang, "job.no_fires")}
		return lv
	}
	loc := ui.zones.get(p.Timezone)
	lv.Zone = p.Timezone
	for _, fire := range p.Fires {
		bf := builderFire{Local: humanize.DateTime(fire.At.In(loc), lang), UTC: humanize.DateTime(fire.At.UTC(), lang)}
		for _, n := range fire.Notes {
			icon := "⚑"
			switch n.Kind {
			case schedule.NoteDSTGapShifted, schedule.NoteDSTGapSkipped, schedule.NoteDSTOverlap:
				icon = "☀"
			case schedule.NoteExcludedDate:
				icon = "⊘"
			}
			bf.Notes = append(bf.Notes, noteView{Icon: icon, Kind: n.Kind, Text: n.Detail})
		}
		lv.Fires = append(lv.Fires, bf)
	}
	if len(lv.Fires) == 0 {
		lv.FiresProblem = []string{ui.cat.tr(lang, "builder.no_more_fires")}
	}
	return lv
}

// referencedVariables returns the variables ({{ var.NAME }}) the definition's templates name.
func referencedVariables(def *domain.JobDefinition) []string {
	var fields []string
	if h := def.HTTP; h != nil {
		fields = append(fields, h.URL, h.Body)
		for k, v := range h.Headers {
			fields = append(fields, k, v)
		}
	}
	if q := def.SQL; q != nil {
		fields = append(fields, q.DSN, q.Host, q.Database, q.User, q.Password)
		for _, st := range q.Statements {
			for _, p := range st.Params {
				if s, ok := p.(string); ok {
					fields = append(fields, s)
				}
			}
			for _, p := range st.NamedParams {
				if s, ok := p.(string); ok {
					fields = append(fields, s)
				}
			}
		}
	}
	var out []string
	for _, s := range fields {
		for _, name := range render.Variables(s) {
			if !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return out
}

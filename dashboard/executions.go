package dashboard

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/humanize"
)

const (
	// historyRange is how far back the history reaches when the form names no start: as far
	// as the executions are kept by default.
	historyRange = 30 * 24 * time.Hour
	// localInput is the value of an <input type="datetime-local">, which browsers send in
	// this form whatever the language they show it in.
	localInput = "2006-01-02T15:04"
)

// historyFilter is the history's form, as the user filled it in.
type historyFilter struct {
	// Job is a job's id or its name.
	Job, Namespace, Status, Trigger string
	// From and To are local times in Zone.
	From, To, Zone string
}

func (f historyFilter) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"job": f.Job, "namespace": f.Namespace, "status": f.Status, "trigger": f.Trigger,
		"from": f.From, "to": f.To, "zone": f.Zone} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// historyView is the history page.
type historyView struct {
	Filter             historyFilter
	Statuses, Triggers []option
	Rows               []execRow
	// Next is the address of the next page ("" on the last); First of the first ("" on it).
	Next, First string
	// Problem is why the API refused the listing; FieldErrors name the filters at fault.
	Problem     string
	FieldErrors map[string]string
	// Format says how to write a time where the browser shows a plain text box.
	Format string
}

// execRow is one execution of a listing.
type execRow struct {
	L                             string
	ID, JobID, JobName, Namespace string
	// JobGone: the job was deleted or cannot be read; the row shows its id.
	JobGone                       bool
	Scheduled, ScheduledRel, Zone string
	Status                        outcomeView
	Trigger                       string
	Duration                      string
	Attempts                      int
	Error                         string
}

func (ui *UI) historyPage(w http.ResponseWriter, r *http.Request, sess *session) {
	lang, q := langOf(r), r.URL.Query()
	f := historyFilter{Job: strings.TrimSpace(q.Get("job")), Namespace: strings.TrimSpace(q.Get("namespace")),
		Status: q.Get("status"), Trigger: q.Get("trigger"), From: q.Get("from"), To: q.Get("to"), Zone: strings.TrimSpace(q.Get("zone"))}
	if f.Zone == "" {
		f.Zone = domain.DefaultTimezone
	}
	hv := &historyView{FieldErrors: map[string]string{}, Format: ui.cat.tr(lang, "history.format")}
	loc, err := time.LoadLocation(f.Zone)
	if err != nil || f.Zone == "Local" {
		hv.FieldErrors["zone"] = ui.cat.tr(lang, "history.bad_zone")
		loc = time.UTC
	}
	if !q.Has("from") {
		// The default range, shown in the form so that it can be changed.
		f.From = ui.now().Add(-historyRange).In(loc).Format(localInput)
	}
	hv.Filter = f
	hv.Statuses = ui.options(lang, "status.", f.Status, names(domain.Statuses())...)
	hv.Triggers = ui.options(lang, "history.trigger.", f.Trigger, names(domain.Triggers())...)

	params := url.Values{"limit": {"50"}}
	for k, v := range map[string]string{"namespace": f.Namespace, "status": f.Status, "trigger": f.Trigger} {
		if v != "" {
			params.Set(k, v)
		}
	}
	for name, raw := range map[string]string{"from": f.From, "to": f.To} {
		if raw == "" {
			continue
		}
		t, ok := parseLocal(raw, lang, loc)
		if !ok {
			hv.FieldErrors[name] = ui.cat.tr(lang, "history.bad_time", hv.Format)
			continue
		}
		params.Set(name, t.Format(time.RFC3339))
	}
	if f.Job != "" {
		id, key, err := ui.resolveJob(r, sess, f.Job, f.Namespace)
		if err != nil {
			ui.internal(w, r, sess, err)
			return
		}
		if key != "" {
			hv.FieldErrors["job"] = ui.cat.tr(lang, key)
		}
		params.Set("job_id", id)
	}
	if c := q.Get("cursor"); c != "" {
		params.Set("cursor", c)
		hv.First = "/executions?" + f.values().Encode()
	}
	status := http.StatusOK
	if len(hv.FieldErrors) > 0 {
		status = http.StatusBadRequest
		ui.renderHistory(w, r, sess, status, hv)
		return
	}
	list, refused, ok := ui.readExecutions(w, r, sess, "/api/v1/executions?"+params.Encode())
	switch {
	case !ok:
		return
	case refused != nil:
		status = refused.status
		hv.Problem, hv.FieldErrors = problemFields(refused, map[string]string{"job_id": "job"})
	default:
		var err error
		if hv.Rows, err = ui.execRows(r, sess, list.Items); err != nil {
			ui.internal(w, r, sess, err)
			return
		}
		if list.NextCursor != "" {
			v := f.values()
			v.Set("cursor", list.NextCursor)
			hv.Next = "/executions?" + v.Encode()
		}
	}
	ui.renderHistory(w, r, sess, status, hv)
}

// renderHistory writes the history page hv with status.
func (ui *UI) renderHistory(w http.ResponseWriter, r *http.Request, sess *session, status int, hv *historyView) {
	v := ui.newView(r, sess, "history.title", "history", hv)
	ui.renderPage(w, status, v, historyContent(v, hv))
}

// executionList is a page of executions as the API lists them.
type executionList struct {
	Items      []*domain.Execution `json:"items"`
	NextCursor string              `json:"next_cursor"`
}

// readExecutions reads a page of executions from the API at path. The API's refusal comes back
// as refused, for the page to show beside its filters; ok is false when the browser has been
// answered already.
func (ui *UI) readExecutions(w http.ResponseWriter, r *http.Request, sess *session, path string) (list executionList, refused *apiResponse, ok bool) {
	res, err := ui.call(r, sess, http.MethodGet, path, nil)
	if err != nil {
		ui.internal(w, r, sess, err)
		return list, nil, false
	}
	if !res.ok() {
		return list, res, true
	}
	if err := res.decode(&list); err != nil {
		ui.internal(w, r, sess, err)
		return list, nil, false
	}
	return list, nil, true
}

// names returns the values of a list of string kinds.
func names[T ~string](list []T) []string {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = string(v)
	}
	return out
}

// parseLocal reads a time the user wrote in the form, as the browser's date-time control
// sends it, or written as the language shows times, in loc.
func parseLocal(raw, lang string, loc *time.Location) (time.Time, bool) {
	raw = strings.TrimSpace(raw)
	if t, err := time.Parse(time.RFC3339, raw); err == nil {
		return t, true
	}
	layouts := []string{localInput, "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05", time.DateOnly}
	if lang == "vi" {
		layouts = append(layouts, "02/01/2006 15:04", "02/01/2006 15:04:05", "15:04 02/01/2006", "02/01/2006")
	}
	for _, l := range layouts {
		if t, err := time.ParseInLocation(l, raw, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// resolveJob returns the id of the job the history's job field names: an id as it is, a name
// when exactly one readable job (of namespace ns, if given) has it. Otherwise it returns the key
// of the message that says why, and an id that matches no job, so the listing stays empty.
func (ui *UI) resolveJob(r *http.Request, sess *session, job, ns string) (string, string, error) {
	if uuid.Validate(job) == nil {
		return job, "", nil
	}
	const nobody = "00000000-0000-0000-0000-000000000000"
	// Two tell one job from several (one per namespace).
	params := url.Values{"name": {job}, "limit": {"2"}}
	if ns != "" {
		params.Set("namespace", ns)
	}
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/jobs?"+params.Encode(), nil)
	if err != nil {
		return "", "", err
	}
	if !res.ok() {
		return nobody, "history.job_unknown", nil
	}
	var list struct {
		Items []domain.Job `json:"items"`
	}
	if err := res.decode(&list); err != nil {
		return "", "", err
	}
	switch len(list.Items) {
	case 0:
		return nobody, "history.job_unknown", nil
	case 1:
		return list.Items[0].ID, "", nil
	}
	return nobody, "history.job_ambiguous", nil
}

// execRows makes the rows of executions, with their jobs' names and zones.
func (ui *UI) execRows(r *http.Request, sess *session, list []*domain.Execution) ([]execRow, error) {
	ids := make([]string, 0, len(list))
	for _, e := range list {
		ids = append(ids, e.JobID)
	}
	jobs, err := ui.jobsByID(r, sess, ids)
	if err != nil {
		return nil, err
	}
	lang, now := langOf(r), ui.now()
	rows := make([]execRow, 0, len(list))
	for _, e := range list {
		rows = append(rows, ui.execRow(lang, e, jobs[e.JobID], now))
	}
	return rows, nil
}

func (ui *UI) execRow(lang string, e *domain.Execution, j *domain.Job, now time.Time) execRow {
	row := execRow{L: lang, ID: e.ID, JobID: e.JobID, JobName: e.JobID, JobGone: j == nil, Zone: "UTC",
		Status:   ui.outcome(lang, e.Status),
		Trigger:  ui.cat.tr(lang, keyOf("history.trigger.", string(e.Trigger))),
		Attempts: e.Attempt, Error: e.Error}
	loc := time.UTC
	if j != nil {
		row.JobName, row.Namespace, row.Zone = j.Name, j.Namespace, j.Timezone
		loc = ui.zones.get(j.Timezone)
	}
	row.Scheduled = humanize.DateTime(e.ScheduledAt.In(loc), lang)
	row.ScheduledRel = humanize.Relative(now, e.ScheduledAt, lang)
	switch {
	case e.DurationMS > 0:
		row.Duration = humanize.Duration(time.Duration(e.DurationMS*float64(time.Millisecond)), lang)
	case e.StartedAt != nil && e.FinishedAt != nil:
		row.Duration = humanize.Duration(e.FinishedAt.Sub(*e.StartedAt), lang)
	}
	return row
}

// outcome is status with its icon and its word.
func (ui *UI) outcome(lang string, s domain.ExecutionStatus) outcomeView {
	return outcomeView{Status: string(s), Icon: statusIcon(s), Label: ui.cat.tr(lang, "status."+string(s))}
}

// traceIDPattern is a W3C trace id as the store records it.
var traceIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// executionView is the page of one execution.
type executionView struct {
	// Steps are the execution's way from its claim to its result (docs/fire-timeline.md).
	Steps []stepView
	Row   execRow
	E     *domain.Execution
	// SkipReason names why a skipped fire did not run (a key's text), beside the recorded
	// detail.
	SkipReason string
	Attempts   []attemptView
	Facts      []fact
	Excerpt    string
	// IsSQL shows rows where an http job's page shows HTTP statuses; SQL is what the
	// statements did, as the excerpt tells (nil without one).
	IsSQL bool
	SQL   *sqlResultView
	// CanCancel shows the cancel button; the API decides on the post regardless.
	CanCancel bool
	// DeadLetter is the dead letter's state and what to do with it.
	DeadLetter *deadLetterView
	Message    string
	// TraceID is the execution's sampled trace; TraceURL where to read it (dashboard.trace_url),
	// empty to show the id as text.
	TraceID, TraceURL string
}

// attemptView is one attempt of an execution.
type attemptView struct {
	N          int
	Status     outcomeView
	HTTPStatus string
	// Rows sums up the statements of a sql job's attempt: known for the newest attempt only,
	// whose results the excerpt holds.
	Rows              string
	Duration          string
	Started, Finished string
	Error, Worker     string
}

// deadLetterView is what became of a dead letter.
type deadLetterView struct {
	State, Resolved string
	Pending         bool
	// CanAct shows replay and discard.
	CanAct bool
	// Replay links the run that replays it: the execution once recorded, else the history
	// where it will appear.
	ReplayURL   string
	ReplayFound bool
}

// executionID returns the execution id of r's path, or answers 404 when it is none.
func (ui *UI) executionID(w http.ResponseWriter, r *http.Request, sess *session) (string, bool) {
	id := r.PathValue("id")
	if uuid.Validate(id) != nil {
		ui.errorPage(w, r, sess, http.StatusNotFound, "error.not_found")
		return "", false
	}
	return id, true
}

// execution reads execution id with its attempts and its job (nil when gone) through the API;
// a refusal of the API is returned as its answer.
func (ui *UI) execution(r *http.Request, sess *session, id string) (*domain.Execution, *domain.Job, *apiResponse, error) {
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/executions/"+id, nil)
	if err != nil || !res.ok() {
		return nil, nil, res, err
	}
	var e domain.Execution
	if err := res.decode(&e); err != nil {
		return nil, nil, nil, err
	}
	jobs, err := ui.jobsByID(r, sess, []string{e.JobID})
	if err != nil {
		return nil, nil, nil, err
	}
	return &e, jobs[e.JobID], nil, nil
}

func (ui *UI) executionPage(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := ui.executionID(w, r, sess)
	if !ok {
		return
	}
	e, j, res, err := ui.execution(r, sess, id)
	switch {
	case err != nil:
		ui.internal(w, r, sess, err)
		return
	case res != nil:
		ui.apiError(w, r, sess, res)
		return
	}
	m, err := ui.me(r, sess)
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	lang, now := langOf(r), ui.now()
	ev := &executionView{Row: ui.execRow(lang, e, j, now), E: e, Excerpt: e.ResponseExcerpt,
		Message: ui.doneMessage(r, map[string]string{"cancelled": "execution.cancelled", "replayed": "deadletters.replayed",
			"discarded": "deadletters.discarded"})}
	ns := ""
	if j != nil {
		ns = j.Namespace
	}
	execute := j != nil && m.can(domain.PermJobExecute, ns)
	ev.CanCancel = execute && (e.Status == domain.StatusQueued || e.Status == domain.StatusRunning)
	if e.Status == domain.StatusSkipped {
		ev.SkipReason = ui.cat.tr(lang, keyOf("execution.skip.", skipReason(e.Error)))
	}
	loc := ui.zones.get(ev.Row.Zone)
	at := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return humanize.DateTime(t.In(loc), lang)
	}
	ev.Facts = []fact{{ui.cat.tr(lang, "execution.key"), e.IdempotencyKey}, {ui.cat.tr(lang, "execution.version"), strconv.FormatInt(e.JobVersion, 10)}}
	if s := at(e.StartedAt); s != "" {
		ev.Facts = append(ev.Facts, fact{ui.cat.tr(lang, "execution.started"), s})
	}
	if s := at(e.FinishedAt); s != "" {
		ev.Facts = append(ev.Facts, fact{ui.cat.tr(lang, "execution.finished"), s})
	}
	if s := at(e.NextAttemptAt); s != "" {
		ev.Facts = append(ev.Facts, fact{ui.cat.tr(lang, "execution.next_attempt"), s})
	}
	if e.HTTPStatus != 0 {
		ev.Facts = append(ev.Facts, fact{ui.cat.tr(lang, "execution.http_status"), strconv.Itoa(e.HTTPStatus)})
	}
	if e.WorkerID != "" {
		ev.Facts = append(ev.Facts, fact{ui.cat.tr(lang, "execution.worker"), e.WorkerID})
	}
	// Only an id of the W3C form reaches the page, and the link: the template is the
	// operator's, the id is what the API answered.
	if traceIDPattern.MatchString(e.TraceID) {
		ev.TraceID = e.TraceID
		if ui.traceURL != "" {
			ev.TraceURL = strings.ReplaceAll(ui.traceURL, traceIDPlaceholder, e.TraceID)
		}
	}
	ui.sqlOf(lang, e, j, ev)
	ev.Steps = ui.executionSteps(r, sess, e, loc)
	for _, a := range e.Attempts {
		av := attemptView{N: a.Attempt, Status: ui.outcome(lang, a.Status), Started: at(a.StartedAt), Finished: at(&a.FinishedAt),
			Error: a.Error, Worker: a.WorkerID, Duration: humanize.Duration(time.Duration(a.DurationMS*float64(time.Millisecond)), lang)}
		if a.HTTPStatus != 0 {
			av.HTTPStatus = strconv.Itoa(a.HTTPStatus)
		}
		ev.Attempts = append(ev.Attempts, av)
	}
	// The excerpt is written when an attempt finishes, so it is the newest recorded attempt's.
	if n := len(ev.Attempts); n > 0 && ev.SQL != nil {
		ev.Attempts[n-1].Rows = ev.SQL.Summary
	}
	if e.DeadLetter != nil {
		dv := &deadLetterView{State: ui.cat.tr(lang, keyOf("deadletters.state.", e.DeadLetter.State)), Resolved: at(e.DeadLetter.ResolvedAt),
			Pending: e.DeadLetter.State == domain.DeadLetterPending, CanAct: execute}
		if e.DeadLetter.ReplayKey != "" {
			if dv.ReplayURL, dv.ReplayFound, err = ui.replayRun(r, sess, e); err != nil {
				ui.internal(w, r, sess, err)
				return
			}
		}
		ev.DeadLetter = dv
	}
	v := ui.newView(r, sess, "execution.title", "history", ev)
	ui.renderPage(w, http.StatusOK, v, executionContent(v, ev))
}

// replayRun returns the address of the run that replays dead letter e: its page once an
// executor recorded it, else the job's replays in the history, where it will appear.
func (ui *UI) replayRun(r *http.Request, sess *session, e *domain.Execution) (string, bool, error) {
	params := url.Values{"job_id": {e.JobID}, "trigger": {string(domain.TriggerReplay)}, "limit": {"500"}}
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/executions?"+params.Encode(), nil)
	if err != nil {
		return "", false, err
	}
	if res.ok() {
		var list struct {
			Items []*domain.Execution `json:"items"`
		}
		if err := res.decode(&list); err != nil {
			return "", false, err
		}
		if i := slices.IndexFunc(list.Items, func(x *domain.Execution) bool { return x.IdempotencyKey == e.DeadLetter.ReplayKey }); i >= 0 {
			return "/executions/" + list.Items[i].ID, true, nil
		}
	}
	return "/executions?" + url.Values{"job": {e.JobID}, "trigger": {string(domain.TriggerReplay)}}.Encode(), false, nil
}

// skipReason names the reason a skipped fire records (the executors and the tick write it as
// a sentence): paused, deleted, rescheduled, forbid, misfire, deadline, frozen, or other.
func skipReason(detail string) string {
	switch d := strings.ToLower(detail); {
	case strings.Contains(d, "was paused"):
		return "paused"
	case strings.Contains(d, "was deleted"):
		return "deleted"
	case strings.Contains(d, "schedule was changed"):
		return "rescheduled"
	case strings.Contains(d, "concurrency policy forbid"):
		return "forbid"
	case strings.Contains(d, "misfire policy"):
		return "misfire"
	case strings.Contains(d, "starting deadline"):
		return "deadline"
	case strings.HasPrefix(d, "frozen:"):
		return "frozen"
	}
	return "other"
}

// cancelConfirm asks before cancelling an execution.
func (ui *UI) cancelConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := ui.executionID(w, r, sess)
	if !ok {
		return
	}
	e, j, res, err := ui.execution(r, sess, id)
	switch {
	case err != nil:
		ui.internal(w, r, sess, err)
		return
	case res != nil:
		ui.apiError(w, r, sess, res)
		return
	}
	lang := langOf(r)
	row := ui.execRow(lang, e, j, ui.now())
	ui.confirm(w, r, sess, "history", &confirmView{Question: ui.cat.tr(lang, "execution.cancel_question"),
		Facts: []fact{{ui.cat.tr(lang, "history.col.job"), row.JobName}, {ui.cat.tr(lang, "history.col.scheduled"), row.Scheduled},
			{ui.cat.tr(lang, "history.col.status"), row.Status.Label}},
		Action: "/executions/" + id + "/cancel", Back: "/executions/" + id, Button: ui.cat.tr(lang, "execution.cancel")})
}

// cancel cancels an execution through the API and goes back to its page.
func (ui *UI) cancel(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := ui.executionID(w, r, sess)
	if !ok {
		return
	}
	res, err := ui.call(r, sess, http.MethodPost, "/api/v1/executions/"+id+"/cancel", map[string]string{})
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	if !res.ok() {
		ui.apiError(w, r, sess, res)
		return
	}
	http.Redirect(w, r, withDone("/executions/"+id, "cancelled"), http.StatusSeeOther)
}

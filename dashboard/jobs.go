package dashboard

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/humanize"
	"github.com/vecron/vecron/shared/schedule"
)

// pageSize is how many jobs a page of the list shows.
const pageSize = 50

// jobFilter is the list's search and filters, as the API takes them.
type jobFilter struct {
	Q, Namespace, State, Kind string
	// Tags keeps the jobs that have every one (typed in one input, sent as tag=a&tag=b).
	Tags []string
}

func (f jobFilter) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"q": f.Q, "namespace": f.Namespace, "state": f.State, "kind": f.Kind} {
		if s != "" {
			v.Set(k, s)
		}
	}
	for _, t := range f.Tags {
		v.Add("tag", t)
	}
	return v
}

// jobsView is the jobs page.
type jobsView struct {
	Filter jobFilter
	States []option
	Kinds  []option
	Rows   []jobRow
	// CanCreate shows the links to the builder and import: the API decides on every post.
	CanCreate bool
	// Next is the address of the next page ("" on the last); First of the first ("" on it).
	Next, First string
	// Live is the address of the rows' live updates ("" without rows).
	Live string
	// Problem is why the API refused the listing; FieldErrors name the filters at fault.
	Problem     string
	FieldErrors map[string]string
}

// option is a choice of a select.
type option struct {
	Value, Label string
	Selected     bool
}

// jobRow is one row of the list: everything it shows, so that a row can be rendered alone (an
// action's answer, and later a live update).
type jobRow struct {
	L, CSRF                   string
	ID, Name, Namespace, Kind string
	Tags                      []string
	State, StateLabel         string
	Enabled                   bool
	Schedule                  string
	NextRun, NextRunRel, Zone string
	// Last is the newest outcome; Rate the success rate over 7 days ("" without runs).
	Last  *outcomeView
	Rate  string
	Strip []outcomeView
	// CanEnable, CanRun and CanEdit show the buttons and the edit link; the API decides on every
	// post regardless.
	CanEnable, CanRun, CanEdit bool
	// Message tells what an action just did.
	Message string
	// Live marks a row sent by the live updates: it keeps the message the row shows (hx-preserve)
	// instead of clearing what an action just said.
	Live bool
	// Now is when the row was rendered and NextRunAt the next run, as instants (RFC 3339), so
	// that the page keeps "in 3 s" fresh between renders.
	Now, NextRunAt string
}

// outcomeView is an outcome shown with an icon and text, never by colour alone.
type outcomeView struct {
	Status, Icon, Label, When string
	// At is the instant When is relative to (RFC 3339).
	At string
}

// listedJob is a job of the API's list with its statistics.
type listedJob struct {
	domain.Job
	Stats *domain.JobStats `json:"stats"`
}

// me is who the caller is, as GET /api/v1/auth/me says.
type me struct {
	Name        string                         `json:"name"`
	Permissions map[string][]domain.Permission `json:"permissions"`
}

// can reports whether the caller holds p in namespace ns.
func (m *me) can(p domain.Permission, ns string) bool {
	return slices.Contains(m.Permissions[ns], p) || slices.Contains(m.Permissions[domain.AllNamespaces], p)
}

// canSomewhere reports whether the caller holds p in any namespace.
func (m *me) canSomewhere(p domain.Permission) bool {
	for _, ps := range m.Permissions {
		if slices.Contains(ps, p) {
			return true
		}
	}
	return false
}

func (ui *UI) me(r *http.Request, sess *session) (*me, error) {
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/auth/me", nil)
	if err != nil {
		return nil, err
	}
	var m me
	if !res.ok() {
		return &m, nil // no permissions: no buttons
	}
	return &m, res.decode(&m)
}

func (ui *UI) jobsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	lang, q := langOf(r), r.URL.Query()
	f := jobFilter{Q: q.Get("q"), Namespace: q.Get("namespace"), State: q.Get("state"), Kind: q.Get("kind"),
		Tags: splitTags(strings.Join(q["tag"], " "))}
	jv := &jobsView{Filter: f, FieldErrors: map[string]string{}}
	jv.States = ui.options(lang, "state.", f.State, domain.StateScheduled, domain.StatePaused, domain.StateWaiting, domain.StateCompleted, domain.StateEnded, domain.StateOnEvent)
	jv.Kinds = ui.options(lang, "kind.", f.Kind, string(domain.KindHTTP), string(domain.KindSQL))
	params := f.values()
	params.Set("include", "stats")
	params.Set("limit", strconv.Itoa(pageSize))
	if c := q.Get("cursor"); c != "" {
		params.Set("cursor", c)
		jv.First = "/jobs"
		if len(f.values()) > 0 {
			jv.First += "?" + f.values().Encode()
		}
	}
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/jobs?"+params.Encode(), nil)
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	status := http.StatusOK
	if res.ok() {
		var list struct {
			Items      []listedJob `json:"items"`
			NextCursor string      `json:"next_cursor"`
		}
		if err := res.decode(&list); err != nil {
			ui.internal(w, r, sess, err)
			return
		}
		m, err := ui.me(r, sess)
		if err != nil {
			ui.internal(w, r, sess, err)
			return
		}
		jv.CanCreate = m.canSomewhere(domain.PermJobWrite)
		now := ui.now()
		for i := range list.Items {
			jv.Rows = append(jv.Rows, ui.row(lang, sess, &list.Items[i].Job, list.Items[i].Stats, m, now))
		}
		ids := make([]string, len(jv.Rows))
		for i, row := range jv.Rows {
			ids[i] = row.ID
		}
		jv.Live = liveURL(ids, "")
		if list.NextCursor != "" {
			v := f.values()
			v.Set("cursor", list.NextCursor)
			jv.Next = "/jobs?" + v.Encode()
		}
	} else {
		p := res.problem()
		status, jv.Problem = p.Status, p.Detail
		for _, fe := range p.Errors {
			jv.FieldErrors[fe.Field] = fe.Reason
		}
	}
	v := ui.newView(r, sess, "jobs.title", "jobs", jv)
	ui.renderPage(w, status, v, jobsContent(v, jv))
}

// exportURL returns the export page, for the namespace the list is filtered by (if any).
func exportURL(namespace string) templ.SafeURL {
	if namespace == "" {
		return "/jobs/export"
	}
	return templ.SafeURL("/jobs/export?namespace=" + queryValue(namespace))
}

// queryValue escapes s as a value of a query string, a space as %20 (as the pages always wrote
// it), not url.QueryEscape's +.
func queryValue(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// options returns the choices of a select: every value, labelled by its key under prefix.
func (ui *UI) options(lang, prefix, selected string, values ...string) []option {
	out := make([]option, len(values))
	for i, v := range values {
		out[i] = option{Value: v, Label: ui.cat.tr(lang, prefix+v), Selected: v == selected}
	}
	return out
}

// statusIcons pair every execution status with an icon, shown beside its name.
func statusIcon(s domain.ExecutionStatus) string {
	switch s {
	case domain.StatusSucceeded:
		return "✓"
	case domain.StatusFailed:
		return "✗"
	case domain.StatusTimedOut:
		return "◷"
	case domain.StatusSkipped:
		return "↷"
	case domain.StatusCancelled:
		return "⊘"
	case domain.StatusDeadLettered:
		return "☠"
	case domain.StatusRunning:
		return "▶"
	}
	return "…"
}

// row makes the list's row of job j with its statistics st for the caller m, at now.
func (ui *UI) row(lang string, sess *session, j *domain.Job, st *domain.JobStats, m *me, now time.Time) jobRow {
	row := jobRow{L: lang, CSRF: sess.csrf, ID: j.ID, Name: j.Name, Namespace: j.Namespace, Kind: string(j.Kind), Tags: j.Tags,
		State: j.State, StateLabel: ui.cat.tr(lang, "state."+j.State), Enabled: j.Enabled, Zone: j.Timezone,
		Schedule:  schedule.Describe(j.Schedule, ui.zones.get(j.Timezone), lang),
		CanEnable: m.can(domain.PermJobEnable, j.Namespace), CanRun: m.can(domain.PermJobExecute, j.Namespace),
		CanEdit: m.can(domain.PermJobWrite, j.Namespace), Now: now.UTC().Format(instantLayout)}
	if j.NextRunAt != nil {
		row.NextRunAt = j.NextRunAt.UTC().Format(instantLayout)
		row.NextRun = humanize.DateTime(j.NextRunAt.In(ui.zones.get(j.Timezone)), lang)
		row.NextRunRel = humanize.Relative(now, *j.NextRunAt, lang)
	}
	if st == nil {
		return row
	}
	if st.SuccessRate != nil {
		row.Rate = humanize.Percent(*st.SuccessRate, lang)
	}
	for i := len(st.LastOutcomes) - 1; i >= 0; i-- {
		o := st.LastOutcomes[i]
		at := o.ScheduledAt
		if o.FinishedAt != nil {
			at = *o.FinishedAt
		}
		row.Strip = append(row.Strip, outcomeView{Status: string(o.Status), Icon: statusIcon(o.Status),
			Label: ui.cat.tr(lang, "status."+string(o.Status)), When: humanize.Relative(now, at, lang), At: at.UTC().Format(instantLayout)})
	}
	if n := len(row.Strip); n > 0 {
		row.Last = &row.Strip[n-1]
	}
	return row
}

// zones finds the time zones jobs name, through the schedule package's cache, which holds only
// zones spelled as the zone database spells them: a cache of its own, keyed by whatever a form
// sent, would grow with every spelling of a zone that the loader accepts.
type zones struct{}

// get returns the location called name ("" the default zone), UTC when there is none such.
func (zones) get(name string) *time.Location {
	l, err := schedule.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return l
}

// jobID returns the job id of r's path, or answers 404 when it is none: an id goes into an API
// path only once it is known to be a UUID.
func (ui *UI) jobID(w http.ResponseWriter, r *http.Request, sess *session) (string, bool) {
	id := r.PathValue("id")
	if uuid.Validate(id) != nil {
		ui.errorPage(w, r, sess, http.StatusNotFound, "error.not_found")
		return "", false
	}
	return id, true
}

// setEnabled pauses or resumes a job through the API and answers its row again.
func (ui *UI) setEnabled(enabled bool) func(http.ResponseWriter, *http.Request, *session) {
	action, done := "disable", "jobs.paused"
	if enabled {
		action, done = "enable", "jobs.resumed"
	}
	return func(w http.ResponseWriter, r *http.Request, sess *session) {
		id, ok := ui.jobID(w, r, sess)
		if !ok {
			return
		}
		ui.act(w, r, sess, id, "/api/v1/jobs/"+id+"/"+action, done)
	}
}

// runNow runs a job now through the API and answers its row again.
func (ui *UI) runNow(w http.ResponseWriter, r *http.Request, sess *session) {
	if id, ok := ui.jobID(w, r, sess); ok {
		ui.act(w, r, sess, id, "/api/v1/jobs/"+id+"/trigger", "jobs.run_queued")
	}
}

// act posts to the API's path for job id; on success it answers the job's row with the
// message of doneKey (a browser without HTMX goes back to the list).
func (ui *UI) act(w http.ResponseWriter, r *http.Request, sess *session, id, path, doneKey string) {
	res, err := ui.call(r, sess, http.MethodPost, path, nil)
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	if !res.ok() {
		ui.apiError(w, r, sess, res)
		return
	}
	if r.Header.Get("HX-Request") != "true" {
		http.Redirect(w, r, backTo(r), http.StatusSeeOther)
		return
	}
	lang := langOf(r)
	row, res, err := ui.jobRow(r, sess, id)
	switch {
	case err != nil:
		ui.internal(w, r, sess, err)
		return
	case res != nil:
		ui.apiError(w, r, sess, res)
		return
	}
	row.Message = ui.cat.tr(lang, doneKey)
	ui.renderComponent(w, http.StatusOK, jobRowItem(words{cat: ui.cat, lang: lang}, row))
}

// backTo returns the page of this site r was posted from (its Referer), or the jobs list.
func backTo(r *http.Request) string {
	ref, err := url.Parse(r.Referer())
	if err != nil || ref.Host != r.Host {
		return "/jobs"
	}
	return SafeNext(ref.RequestURI())
}

// jobRow reads job id and its statistics through the API and makes its row. A refusal of the
// API is returned as its answer.
func (ui *UI) jobRow(r *http.Request, sess *session, id string) (jobRow, *apiResponse, error) {
	m, err := ui.me(r, sess)
	if err != nil {
		return jobRow{}, nil, err
	}
	return ui.jobRowAs(r, sess, id, m)
}

// jobRowAs is jobRow for a caller m already read: the live updates render many rows at once.
func (ui *UI) jobRowAs(r *http.Request, sess *session, id string, m *me) (jobRow, *apiResponse, error) {
	var j domain.Job
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/jobs/"+id, nil)
	if err != nil || !res.ok() {
		return jobRow{}, res, err
	}
	if err := res.decode(&j); err != nil {
		return jobRow{}, nil, err
	}
	var st *domain.JobStats
	if res, err = ui.call(r, sess, http.MethodGet, "/api/v1/jobs/"+id+"/stats", nil); err != nil {
		return jobRow{}, nil, err
	}
	if res.ok() {
		st = &domain.JobStats{}
		if err := res.decode(st); err != nil {
			return jobRow{}, nil, err
		}
	}
	return ui.row(langOf(r), sess, &j, st, m, ui.now()), nil, nil
}

// apiError answers with the API's refusal: its status, a message of the dashboard's own and
// the API's detail.
func (ui *UI) apiError(w http.ResponseWriter, r *http.Request, sess *session, res *apiResponse) {
	p := res.problem()
	key := "error.api"
	switch p.Status {
	case http.StatusForbidden:
		key = "error.forbidden"
	case http.StatusNotFound:
		key = "error.not_found"
	case http.StatusConflict:
		key = "error.conflict"
	case http.StatusTooManyRequests:
		key = "error.too_many"
	}
	ui.errorPage(w, r, sess, p.Status, key, p.Detail)
}

// internal answers 500 for err, which it logs.
func (ui *UI) internal(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	ui.log.Error("dashboard", "path", r.URL.Path, "error", err)
	ui.errorPage(w, r, sess, http.StatusInternalServerError, "error.internal")
}

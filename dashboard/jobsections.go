package dashboard

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/humanize"
	"github.com/vecron/vecron/shared/jobs"
)

// The job page's sections beyond its definition: statistics, variables and audit trail. Each is
// read through the API as the caller; a section the caller may not read is left out of the
// page (nil), not shown as an error, and one the API could not answer says so in its place.

const (
	// jobAuditLen is how many audit records the job page shows; the audit page has the rest.
	jobAuditLen = 10
	// auditFieldsShown is how many changed fields an edit's summary names before "and N more".
	auditFieldsShown = 5
)

// statsView is the job's statistics section.
type statsView struct {
	// Since is where the 7 days of the counts begin, in the job's zone.
	Since    string
	Outcomes []outcomeCount
	// Total is the bars' scale; TotalN the same number written in the page's language.
	Total  int
	TotalN string
	// Rate is the success rate ("" when nothing ran to an end in the window).
	Rate string
	// P50 and P95 are durations ("" without samples), over Samples runs.
	P50, P95            string
	Samples             int
	ConsecutiveFailures int
	LastSuccess         *instantView
	LastFailure         *instantView
	Problem             string
}

// outcomeCount is how many fires ended one way, with their share of all.
type outcomeCount struct {
	outcomeView
	// Count is the number for the bar; N the same number written in the page's language.
	Count    int
	N, Share string
}

// instantView is a past instant, relative and absolute in the job's zone, with the instants the
// page's script keeps the relative text fresh with (RFC 3339).
type instantView struct {
	Rel, Abs, At, Now string
}

// jobVariablesView is the job's variables section.
type jobVariablesView struct {
	Rows []variableRow
	// Globals are the global variables the job sees, when the caller may read them.
	Globals []globalVariable
	// CanWrite links the page where the variables are managed.
	CanWrite bool
	Problem  string
}

// globalVariable is a global variable the job's namespace sees.
type globalVariable struct {
	Name   string
	Secret bool
	// Shadowed: the job has its own variable of this name, which is used instead.
	Shadowed bool
}

// jobAuditView is the job's audit trail section.
type jobAuditView struct {
	Rows []jobAuditRow
	// All is the audit page filtered to the job.
	All     string
	Problem string
}

// jobAuditRow is one audit record about the job.
type jobAuditRow struct {
	Seq           int64
	When          instantView
	Actor, Action string
	// Code is the action as recorded (job.update), beside its label.
	Code    string
	Summary string
	// Link is the page of what the action made (the execution a run queued).
	Link string
}

// instant returns t as the job page shows it, in loc.
func (ui *UI) instant(lang string, t time.Time, loc *time.Location, now time.Time) instantView {
	return instantView{Rel: humanize.Relative(now, t, lang), Abs: humanize.DateTime(t.In(loc), lang),
		At: t.UTC().Format(instantLayout), Now: now.UTC().Format(instantLayout)}
}

// jobStats reads the job's statistics. It returns them as the API answered (nil when it did not),
// for the job's row, and the section made of them.
func (ui *UI) jobStats(r *http.Request, sess *session, j *domain.Job) (*domain.JobStats, *statsView) {
	lang := langOf(r)
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/jobs/"+j.ID+"/stats", nil)
	switch {
	case err == nil && (res.status == http.StatusForbidden || res.status == http.StatusNotFound):
		return nil, nil
	case err != nil || !res.ok():
		return nil, &statsView{Problem: ui.cat.tr(lang, "job.stats.problem")}
	}
	st := &domain.JobStats{}
	if err := res.decode(st); err != nil {
		return nil, &statsView{Problem: ui.cat.tr(lang, "job.stats.problem")}
	}
	return st, ui.statsView(lang, j, st, ui.now())
}

// statsView makes the statistics section of job j from st, at now.
func (ui *UI) statsView(lang string, j *domain.Job, st *domain.JobStats, now time.Time) *statsView {
	loc := ui.zones.get(j.Timezone)
	sv := &statsView{ConsecutiveFailures: st.ConsecutiveFailures, Samples: st.Duration.Samples}
	if !st.WindowFrom.IsZero() {
		sv.Since = humanize.DateTime(st.WindowFrom.In(loc), lang)
	}
	c := st.Counts
	for _, o := range []struct {
		s domain.ExecutionStatus
		n int
	}{{domain.StatusSucceeded, c.Succeeded}, {domain.StatusFailed, c.Failed}, {domain.StatusTimedOut, c.TimedOut},
		{domain.StatusSkipped, c.Skipped}, {domain.StatusCancelled, c.Cancelled}, {domain.StatusDeadLettered, c.DeadLettered}} {
		sv.Outcomes = append(sv.Outcomes, outcomeCount{outcomeView: ui.outcome(lang, o.s), Count: o.n, N: humanize.Int(int64(o.n), lang)})
		sv.Total += o.n
	}
	sv.TotalN = humanize.Int(int64(sv.Total), lang)
	for i := range sv.Outcomes {
		if sv.Total > 0 {
			sv.Outcomes[i].Share = humanize.Percent(float64(sv.Outcomes[i].Count)/float64(sv.Total), lang)
		}
	}
	if st.SuccessRate != nil {
		sv.Rate = humanize.Percent(*st.SuccessRate, lang)
	}
	ms := func(p *float64) string {
		if p == nil {
			return ""
		}
		return humanize.Duration(time.Duration(*p*float64(time.Millisecond)), lang)
	}
	sv.P50, sv.P95 = ms(st.Duration.P50), ms(st.Duration.P95)
	if t := st.LastSuccessAt; t != nil {
		iv := ui.instant(lang, *t, loc, now)
		sv.LastSuccess = &iv
	}
	if t := st.LastFailureAt; t != nil {
		iv := ui.instant(lang, *t, loc, now)
		sv.LastFailure = &iv
	}
	return sv
}

// jobVariables reads the job's own variables and the global ones its namespace sees, for a
// caller m who may read them; nil for one who may not.
func (ui *UI) jobVariables(r *http.Request, sess *session, j *domain.Job, m *me) *jobVariablesView {
	if !m.can(domain.PermVariableRead, j.Namespace) {
		return nil
	}
	lang := langOf(r)
	var own struct {
		Items []*domain.Variable `json:"items"`
	}
	res, err := ui.call(r, sess, http.MethodGet, variableAPI("/jobs/"+j.ID+"/variables"), nil)
	switch {
	case err == nil && (res.status == http.StatusForbidden || res.status == http.StatusNotFound):
		return nil
	case err != nil || !res.ok() || res.decode(&own) != nil:
		return &jobVariablesView{Problem: ui.cat.tr(lang, "job.vars.problem")}
	}
	vv := &jobVariablesView{CanWrite: canWriteVariables(m, j)}
	names := map[string]bool{}
	for _, v := range own.Items {
		vv.Rows = append(vv.Rows, ui.variableRow(lang, v))
		names[v.Name] = true
	}
	// The global ones need variable:read in every namespace: without it the section has the
	// job's own only.
	if !m.can(domain.PermVariableRead, domain.AllNamespaces) {
		return vv
	}
	var global struct {
		Items []*domain.Variable `json:"items"`
	}
	if res, err = ui.call(r, sess, http.MethodGet, variableAPI("/variables"), nil); err != nil || !res.ok() || res.decode(&global) != nil {
		return vv
	}
	for _, v := range global.Items {
		if len(v.Namespaces) == 0 || slices.Contains(v.Namespaces, j.Namespace) {
			vv.Globals = append(vv.Globals, globalVariable{Name: v.Name, Secret: v.IsSecret, Shadowed: names[v.Name]})
		}
	}
	return vv
}

// jobAudit reads the newest audit records about the job, for a caller m who may read the audit
// log of its namespace; nil for one who may not.
func (ui *UI) jobAudit(r *http.Request, sess *session, j *domain.Job, m *me) *jobAuditView {
	if !m.can(domain.PermAuditRead, j.Namespace) {
		return nil
	}
	lang := langOf(r)
	filter := url.Values{"object_kind": {"job"}, "object_id": {j.ID}}
	av := &jobAuditView{All: "/audit?" + filter.Encode()}
	params := url.Values{"object_kind": {"job"}, "object_id": {j.ID}, "limit": {strconv.Itoa(jobAuditLen)}}
	var list struct {
		Items []*audit.Record `json:"items"`
	}
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/audit?"+params.Encode(), nil)
	switch {
	case err == nil && res.status == http.StatusForbidden:
		return nil
	case err != nil || !res.ok() || res.decode(&list) != nil:
		av.Problem = ui.cat.tr(lang, "job.audit.problem")
		return av
	}
	loc, now := ui.zones.get(j.Timezone), ui.now()
	for _, rec := range list.Items {
		row := jobAuditRow{Seq: rec.Seq, When: ui.instant(lang, rec.Time, loc, now), Actor: cmp.Or(rec.ActorName, rec.ActorID),
			Code: rec.Action, Action: rec.Action}
		verb, _ := strings.CutPrefix(rec.Action, "job.")
		if key := auditActionKey(verb); key != "" {
			row.Action = ui.cat.tr(lang, key)
		}
		row.Summary, row.Link = ui.auditSummary(lang, verb, rec, loc)
		if !m.can(domain.PermExecutionRead, j.Namespace) {
			row.Link = "" // a page they could not open
		}
		av.Rows = append(av.Rows, row)
	}
	return av
}

// auditActionKey returns the catalog key of what an audit record of a job says was done (the
// action without its "job." prefix), "" for an action it has no words for.
func auditActionKey(verb string) string {
	switch verb {
	case "create":
		return "job.audit.created"
	case "update":
		return "job.audit.updated"
	case "delete":
		return "job.audit.deleted"
	case "enable":
		return "job.audit.resumed"
	case "disable":
		return "job.audit.paused"
	case "trigger":
		return "job.audit.triggered"
	case "backfill":
		return "job.audit.backfilled"
	}
	return ""
}

// auditSummary says in a line what a record of the job's audit log changed: the fields of an
// edit, the run a trigger queued, the fires a backfill queued. The record's JSON is the store's
// own, but an older or unexpected form only costs the summary.
func (ui *UI) auditSummary(lang, verb string, rec *audit.Record, loc *time.Location) (summary, link string) {
	switch verb {
	case "update":
		var before, after domain.Job
		if json.Unmarshal(rec.Before, &before) != nil || json.Unmarshal(rec.After, &after) != nil {
			return "", ""
		}
		var paths []string
		for _, c := range jobs.Diff(&before, &after) {
			paths = append(paths, c.Path)
		}
		if len(paths) == 0 {
			return "", ""
		}
		s := strings.Join(paths[:min(len(paths), auditFieldsShown)], ", ")
		if n := len(paths) - auditFieldsShown; n > 0 {
			s = ui.cat.tr(lang, "job.audit.more_fields", s, n)
		}
		return ui.cat.tr(lang, "job.audit.changed", s), ""
	case "trigger":
		var e domain.Execution
		if json.Unmarshal(rec.After, &e) != nil || uuid.Validate(e.ID) != nil {
			return "", ""
		}
		return ui.cat.tr(lang, "job.audit.run"), "/executions/" + e.ID
	case "backfill":
		var b struct {
			Queued int        `json:"queued"`
			First  *time.Time `json:"first"`
			Last   *time.Time `json:"last"`
		}
		if json.Unmarshal(rec.After, &b) != nil || b.Queued == 0 || b.First == nil || b.Last == nil {
			return "", ""
		}
		return ui.cat.tr(lang, "job.audit.fires", b.Queued, humanize.DateTime(b.First.In(loc), lang),
			humanize.DateTime(b.Last.In(loc), lang)), ""
	}
	return "", ""
}

// streakView is a job's current failure streak: how long, and whether it has alerted.
type streakView struct {
	Failures int
	Alerted  bool
}

// jobStreak returns j's current failure streak, read through the API as the caller; nil when
// it has none, or when the API does not answer (the page goes without it).
func (ui *UI) jobStreak(r *http.Request, sess *session, j *domain.Job) *streakView {
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/jobs/"+j.ID+"/alerts", nil)
	if err != nil || !res.ok() {
		return nil
	}
	var v struct {
		ConsecutiveFailures int  `json:"consecutive_failures"`
		Alerted             bool `json:"alerted"`
	}
	if err := res.decode(&v); err != nil || v.ConsecutiveFailures == 0 {
		return nil
	}
	return &streakView{Failures: v.ConsecutiveFailures, Alerted: v.Alerted}
}

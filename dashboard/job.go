package dashboard

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/humanize"
)

// previewCount is how many fires the job page lists.
const previewCount = 10

// jobView is the job page: the definition, the next fires, the live timeline, and the sections
// the caller may read (nil when not): statistics, variables, audit trail.
type jobView struct {
	Row        jobRow
	Job        *domain.Job
	Target     string
	Definition string
	Fires      []fireView
	// FiresProblem says why the API gave no fires.
	FiresProblem string
	// Timeline is the newest executions; Live the address of the page's live updates.
	Timeline  timelineView
	Live      string
	Stats     *statsView
	Variables *jobVariablesView
	Audit     *jobAuditView
	// CanReadVariables links the job's variables page.
	CanReadVariables bool
	// Chains are the jobs this job starts when its executions end (docs/chaining.md).
	Chains []chainListView
	// Upstream are the jobs whose chains start this one ("Started by").
	Upstream *upstreamView
	// Recent are the last day's fires with their outcome or why they did not run.
	Recent *recentFiresView
	// Streak is the job's current failure streak (docs/alerts.md); nil when it has none.
	Streak *streakView
	// Missed are the job's newest missed fires (docs/missed-fires.md).
	Missed *missedView
}

// fireView is one coming fire, in the job's zone and in UTC, with what moved it.
type fireView struct {
	Local, UTC string
	Notes      []string
}

func (ui *UI) jobPage(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := ui.jobID(w, r, sess)
	if !ok {
		return
	}
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/jobs/"+id, nil)
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	if !res.ok() {
		ui.apiError(w, r, sess, res)
		return
	}
	var j domain.Job
	if err := res.decode(&j); err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	m, err := ui.me(r, sess)
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	jv := &jobView{Job: &j, CanReadVariables: m.can(domain.PermVariableRead, j.Namespace)}
	switch {
	case j.HTTP != nil:
		jv.Target = j.HTTP.Method + " " + j.HTTP.URL
	case j.SQL != nil:
		jv.Target = j.SQL.Driver
	}
	// The definition exactly as the API answered it.
	var def bytes.Buffer
	if json.Indent(&def, res.body.Bytes(), "", "  ") == nil {
		jv.Definition = def.String()
	}
	// The sections are independent reads of the API, each bounded: made at once, their
	// database round trips overlap instead of adding up. Each goroutine fills fields of its
	// own.
	var (
		st *domain.JobStats
		wg sync.WaitGroup
	)
	wg.Go(func() { st, jv.Stats = ui.jobStats(r, sess, &j) })
	wg.Go(func() { ui.fires(r, sess, jv) })
	wg.Go(func() { jv.Timeline = ui.timelineIn(r, sess, id, ui.zones.get(j.Timezone)) })
	wg.Go(func() { jv.Variables = ui.jobVariables(r, sess, &j, m) })
	wg.Go(func() { jv.Audit = ui.jobAudit(r, sess, &j, m) })
	wg.Go(func() { jv.Chains = ui.jobChains(r, sess, &j) })
	wg.Go(func() { jv.Upstream = ui.jobUpstream(r, sess, &j) })
	wg.Go(func() { jv.Recent = ui.recentFires(r, sess, &j) })
	wg.Go(func() { jv.Streak = ui.jobStreak(r, sess, &j) })
	wg.Go(func() { jv.Missed = ui.jobMissed(r, sess, &j) })
	wg.Wait()
	jv.Row = ui.row(langOf(r), sess, &j, st, m, ui.now())
	jv.Live = liveURL([]string{id}, id)
	v := ui.newView(r, sess, "job.title", "jobs", jv)
	ui.renderPage(w, http.StatusOK, v, jobContent(v, jv))
}

// fires fills in the job's next fires from the API's schedule preview.
func (ui *UI) fires(r *http.Request, sess *session, jv *jobView) {
	lang := langOf(r)
	body := map[string]any{"schedule": jv.Job.Schedule, "timezone": jv.Job.Timezone, "count": previewCount, "seed": jv.Job.ID}
	res, err := ui.call(r, sess, http.MethodPost, "/api/v1/schedules/preview", body)
	if err != nil || !res.ok() {
		jv.FiresProblem = ui.cat.tr(lang, "job.no_fires")
		if res != nil {
			jv.FiresProblem += " " + res.problem().Detail
		}
		return
	}
	var p struct {
		Fires []struct {
			At    time.Time `json:"at"`
			Notes []struct {
				Kind   string `json:"kind"`
				Detail string `json:"detail"`
			} `json:"notes"`
		} `json:"fires"`
	}
	if err := res.decode(&p); err != nil {
		jv.FiresProblem = ui.cat.tr(lang, "job.no_fires")
		return
	}
	loc := ui.zones.get(jv.Job.Timezone)
	for _, f := range p.Fires {
		fv := fireView{Local: humanize.DateTime(f.At.In(loc), lang), UTC: humanize.DateTime(f.At.UTC(), lang)}
		for _, n := range f.Notes {
			fv.Notes = append(fv.Notes, n.Detail)
		}
		jv.Fires = append(jv.Fires, fv)
	}
}

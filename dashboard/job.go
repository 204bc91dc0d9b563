package dashboard

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/humanize"
)

// previewCount is how many fires the job page lists.
const previewCount = 10

// jobView is the job page: the definition and the next fires.
type jobView struct {
	Row        jobRow
	Job        *domain.Job
	Target     string
	Definition string
	Fires      []fireView
	// FiresProblem says why the API gave no fires.
	FiresProblem string
	// Timeline is the newest executions; Live the address of the page's live updates.
	Timeline timelineView
	Live     string
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
	row, res, err := ui.jobRow(r, sess, id)
	switch {
	case err != nil:
		ui.internal(w, r, sess, err)
		return
	case res != nil:
		ui.apiError(w, r, sess, res)
		return
	}
	res, err = ui.call(r, sess, http.MethodGet, "/api/v1/jobs/"+id, nil)
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	var j domain.Job
	if err := res.decode(&j); err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	jv := &jobView{Row: row, Job: &j}
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
	ui.fires(r, sess, jv)
	jv.Timeline = ui.timeline(r, sess, id)
	jv.Live = liveURL([]string{id}, id)
	ui.render(w, http.StatusOK, "job.html", ui.newView(r, sess, "job.title", "jobs", jv))
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

package dashboard

import (
	"net/http"
	"strconv"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/humanize"
)

// jobMissedLen is how many missed fires the job page lists, newest first.
const jobMissedLen = 10

// missedStageKey names a stage's words: where the fire stopped, as an operator says it; ""
// for a stage this version does not know, shown as it is.
func missedStageKey(s domain.MissedStage) string {
	switch s {
	case domain.MissedUnclaimed:
		return "job.missed.stage.unclaimed"
	case domain.MissedUnpublished:
		return "job.missed.stage.unpublished"
	case domain.MissedUndelivered:
		return "job.missed.stage.undelivered"
	case domain.MissedUnacknowledged:
		return "job.missed.stage.unacknowledged"
	}
	return ""
}

// missedView is the job page's missed-fires section (docs/missed-fires.md).
type missedView struct {
	Rows    []missedRow
	Problem string
}

// missedRow is one missed fire: when it was due, in the job's zone, where it stopped in words,
// and when it ran late, if it did (or what it became, when that never started).
type missedRow struct {
	Scheduled, Detected, Started string
	Stage                        string
	Detail                       string
}

// jobMissed returns the job's newest missed fires, read through the API as the caller: nil when
// there are none or the caller may not read them, a problem when the API could not answer.
func (ui *UI) jobMissed(r *http.Request, sess *session, j *domain.Job) *missedView {
	lang := langOf(r)
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/jobs/"+j.ID+"/missed?limit="+strconv.Itoa(jobMissedLen), nil)
	switch {
	case err == nil && (res.status == http.StatusForbidden || res.status == http.StatusNotFound):
		return nil
	case err != nil || !res.ok():
		return &missedView{Problem: ui.cat.tr(lang, "job.missed.problem")}
	}
	var p struct {
		Items []domain.MissedFire `json:"items"`
	}
	if err := res.decode(&p); err != nil {
		return &missedView{Problem: ui.cat.tr(lang, "job.missed.problem")}
	}
	if len(p.Items) == 0 {
		return nil
	}
	loc := ui.zones.get(j.Timezone)
	mv := &missedView{}
	for _, f := range p.Items {
		row := missedRow{Scheduled: humanize.DateTime(f.ScheduledAt.In(loc), lang), Detected: humanize.DateTime(f.DetectedAt.In(loc), lang),
			Stage: ui.cat.tr(lang, missedStageKey(f.Stage)), Detail: f.Detail}
		if row.Stage == "" {
			row.Stage = string(f.Stage)
		}
		switch {
		case f.StartedAt != nil:
			row.Started = humanize.DateTime(f.StartedAt.In(loc), lang)
		case f.ExecutionStatus != "":
			// It became an execution that never started: recorded skipped, as a claim after a
			// dead tick records a misfire.
			row.Started = ui.cat.tr(lang, "status."+string(f.ExecutionStatus))
		}
		mv.Rows = append(mv.Rows, row)
	}
	return mv
}

package dashboard

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/humanize"
	"github.com/vecron/vecron/shared/timeline"
)

// The "why" views (docs/fire-timeline.md): on the job page, the latest instants of its schedule
// with their outcome or the reason they did not run; on an execution's page, its way from the
// claim to the result. Both are read through the API as the caller.

// recentFiresLen is how many of the last day's fires the job page lists, newest first.
const recentFiresLen = 24

// recentFiresView is the job page's "recent fires" section.
type recentFiresView struct {
	Items   []recentFireView
	Problem string
}

// recentFireView is one instant, or one run of another trigger.
type recentFireView struct {
	When        instantView
	Trigger     string
	ExecutionID string
	// Outcome is the execution's, when there is one; Reason why the fire did not run.
	Outcome *outcomeView
	Reason  string
	Detail  string
}

// recentFires reads the job's fires of the last day. A caller who may not read them gets no
// section (nil).
func (ui *UI) recentFires(r *http.Request, sess *session, j *domain.Job) *recentFiresView {
	lang := langOf(r)
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/jobs/"+j.ID+"/fires", nil)
	switch {
	case err == nil && (res.status == http.StatusForbidden || res.status == http.StatusNotFound):
		return nil
	case err != nil || !res.ok():
		return &recentFiresView{Problem: ui.cat.tr(lang, "fires.problem")}
	}
	var answer struct {
		Fires []timeline.Fire `json:"fires"`
	}
	if err := res.decode(&answer); err != nil {
		return &recentFiresView{Problem: ui.cat.tr(lang, "fires.problem")}
	}
	loc, now := ui.zones.get(j.Timezone), ui.now()
	v := &recentFiresView{}
	fires := answer.Fires
	slices.Reverse(fires)
	for _, f := range fires[:min(len(fires), recentFiresLen)] {
		fv := recentFireView{When: ui.instant(lang, f.At, loc, now), Trigger: ui.cat.tr(lang, keyOf("live.trigger.", string(f.Trigger))),
			ExecutionID: f.ExecutionID, Detail: f.Detail}
		if f.Status != "" {
			o := ui.outcome(lang, f.Status)
			fv.Outcome = &o
		}
		if f.Reason != "" {
			fv.Reason = ui.cat.tr(lang, keyOf("fires.reason.", f.Reason))
		}
		v.Items = append(v.Items, fv)
	}
	return v
}

// stepView is one step of an execution's way.
type stepView struct {
	Name, State, StateClass, When string
	Facts                         string
	Reason, Detail                string
}

// executionSteps reads e's timeline; nil when the API gave none (the page then shows the
// attempts alone).
func (ui *UI) executionSteps(r *http.Request, sess *session, e *domain.Execution, loc *time.Location) []stepView {
	lang := langOf(r)
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/executions/"+e.ID+"/timeline", nil)
	if err != nil || !res.ok() {
		return nil
	}
	var tl timeline.Execution
	if err := res.decode(&tl); err != nil {
		return nil
	}
	var out []stepView
	for _, s := range tl.Steps {
		sv := stepView{Name: ui.cat.tr(lang, keyOf("timeline.step.", s.Step)), State: ui.cat.tr(lang, keyOf("timeline.state.", s.State)),
			StateClass: s.State, Detail: s.Detail}
		if s.Step == timeline.StepAttempt {
			sv.Name += " " + strconv.Itoa(s.Attempt)
		}
		if s.At != nil {
			sv.When = humanize.DateTime(s.At.In(loc), lang)
		}
		var facts []string
		add := func(key, value string) {
			if value != "" && value != "0" {
				facts = append(facts, ui.cat.tr(lang, key)+" "+value)
			}
		}
		add("timeline.by", s.By)
		add("timeline.stream_seq", strconv.FormatUint(s.StreamSeq, 10))
		add("timeline.consumer", s.Consumer)
		add("timeline.deliveries", strconv.Itoa(s.DeliveryCount))
		if s.Status != "" {
			facts = append(facts, ui.outcome(lang, s.Status).Label)
		}
		if s.HTTPStatus != 0 {
			facts = append(facts, "HTTP "+strconv.Itoa(s.HTTPStatus))
		}
		sv.Facts = strings.Join(facts, " · ")
		if s.Reason != "" {
			sv.Reason = ui.cat.tr(lang, keyOf("fires.reason.", s.Reason))
		}
		out = append(out, sv)
	}
	return out
}

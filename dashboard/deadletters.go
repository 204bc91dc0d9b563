package dashboard

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/humanize"
)

// deadLettersView is the dead letters page.
type deadLettersView struct {
	State, Job string
	States     []option
	Rows       []deadLetterRow
	Next       string
	First      string
	Problem    string
	// FieldErrors name the filters at fault.
	FieldErrors map[string]string
	Message     string
}

// deadLetterRow is one dead letter with what its viewer may do with it.
type deadLetterRow struct {
	execRow
	Failed, State string
	Pending       bool
	// CanAct shows replay and discard; the API decides on every post regardless.
	CanAct bool
}

func (ui *UI) deadLettersPage(w http.ResponseWriter, r *http.Request, sess *session) {
	lang, q := langOf(r), r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = domain.DeadLetterPending
	}
	dv := &deadLettersView{State: state, Job: strings.TrimSpace(q.Get("job")), FieldErrors: map[string]string{},
		Message: ui.doneMessage(r, map[string]string{"discarded": "deadletters.discarded"})}
	dv.States = ui.deadLetterStates(lang, state)
	params := url.Values{"limit": {"50"}, "state": {state}}
	filters := url.Values{"state": {state}}
	if dv.Job != "" {
		filters.Set("job", dv.Job)
		id, key, err := ui.resolveJob(r, sess, dv.Job, "")
		if err != nil {
			ui.internal(w, r, sess, err)
			return
		}
		if key == "history.job_ambiguous" {
			// This page has no namespace field to settle it.
			key = "deadletters.job_ambiguous"
		}
		if key != "" {
			dv.FieldErrors["job"] = ui.cat.tr(lang, key)
		}
		params.Set("job_id", id)
	}
	if c := q.Get("cursor"); c != "" {
		params.Set("cursor", c)
		dv.First = "/dead-letters?" + filters.Encode()
	}
	status := http.StatusOK
	if len(dv.FieldErrors) > 0 {
		v := ui.newView(r, sess, "deadletters.title", "dead-letters", dv)
		ui.renderPage(w, http.StatusBadRequest, v, deadLettersContent(v, dv))
		return
	}
	list, refused, ok := ui.readExecutions(w, r, sess, "/api/v1/dead-letters?"+params.Encode())
	switch {
	case !ok:
		return
	case refused != nil:
		status = refused.status
		dv.Problem, dv.FieldErrors = problemFields(refused, map[string]string{"job_id": "job"})
	default:
		var err error
		if dv.Rows, err = ui.deadLetterRows(r, sess, list.Items); err != nil {
			ui.internal(w, r, sess, err)
			return
		}
		if list.NextCursor != "" {
			v := url.Values{}
			for k := range filters {
				v.Set(k, filters.Get(k))
			}
			v.Set("cursor", list.NextCursor)
			dv.Next = "/dead-letters?" + v.Encode()
		}
	}
	v := ui.newView(r, sess, "deadletters.title", "dead-letters", dv)
	ui.renderPage(w, status, v, deadLettersContent(v, dv))
}

func (ui *UI) deadLetterStates(lang, selected string) []option {
	values := []string{domain.DeadLetterPending, domain.DeadLetterReplayed, domain.DeadLetterDiscarded, "all"}
	out := make([]option, len(values))
	for i, v := range values {
		out[i] = option{Value: v, Label: ui.cat.tr(lang, keyOf("deadletters.state.", v)), Selected: v == selected}
	}
	return out
}

func (ui *UI) deadLetterRows(r *http.Request, sess *session, list []*domain.Execution) ([]deadLetterRow, error) {
	base, err := ui.execRows(r, sess, list)
	if err != nil {
		return nil, err
	}
	m, err := ui.me(r, sess)
	if err != nil {
		return nil, err
	}
	lang := langOf(r)
	out := make([]deadLetterRow, len(list))
	for i, e := range list {
		row := deadLetterRow{execRow: base[i], Pending: e.DeadLetter == nil || e.DeadLetter.State == domain.DeadLetterPending}
		row.CanAct = row.Pending && !row.JobGone && m.can(domain.PermJobExecute, row.Namespace)
		if e.FinishedAt != nil {
			row.Failed = humanize.Relative(ui.now(), *e.FinishedAt, lang)
		}
		if e.DeadLetter != nil {
			row.State = ui.cat.tr(lang, keyOf("deadletters.state.", e.DeadLetter.State))
		}
		out[i] = row
	}
	return out, nil
}

// deadLetterConfirm asks before replaying (replay true) or discarding a dead letter.
func (ui *UI) deadLetterConfirm(replay bool) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, sess *session) {
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
		cv := &confirmView{Question: ui.cat.tr(lang, "deadletters.replay_question"), Button: ui.cat.tr(lang, "deadletters.replay"),
			Action: "/dead-letters/" + id + "/replay", Back: "/dead-letters",
			Facts: []fact{{ui.cat.tr(lang, "history.col.job"), row.JobName}, {ui.cat.tr(lang, "history.col.scheduled"), row.Scheduled},
				{ui.cat.tr(lang, "history.col.attempts"), strconv.Itoa(e.Attempt)}, {ui.cat.tr(lang, "deadletters.col.error"), e.Error}}}
		if !replay {
			cv.Question, cv.Button, cv.Action, cv.Danger = ui.cat.tr(lang, "deadletters.discard_question"),
				ui.cat.tr(lang, "deadletters.discard"), "/dead-letters/"+id+"/discard", true
		}
		ui.confirm(w, r, sess, "dead-letters", cv)
	}
}

// replay runs a dead letter again through the API and shows it, with the link to the new run.
func (ui *UI) replay(w http.ResponseWriter, r *http.Request, sess *session) {
	if id, ok := ui.executionID(w, r, sess); ok {
		ui.resolveDeadLetter(w, r, sess, id, "replay", withDone("/executions/"+id, "replayed"))
	}
}

// discard discards a dead letter through the API and goes back to the list.
func (ui *UI) discard(w http.ResponseWriter, r *http.Request, sess *session) {
	if id, ok := ui.executionID(w, r, sess); ok {
		ui.resolveDeadLetter(w, r, sess, id, "discard", withDone("/dead-letters", "discarded"))
	}
}

func (ui *UI) resolveDeadLetter(w http.ResponseWriter, r *http.Request, sess *session, id, action, next string) {
	res, err := ui.call(r, sess, http.MethodPost, "/api/v1/dead-letters/"+id+"/"+action, nil)
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	if !res.ok() {
		ui.apiError(w, r, sess, res)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

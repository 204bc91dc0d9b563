package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/domain"
)

// keyOf returns the catalog key of value among the keys under prefix. TestOperatorKeys
// checks that every value has one.
func keyOf(prefix, value string) string { return prefix + value }

// fact is a labelled value a page or a confirmation shows.
type fact struct {
	Label, Value string
}

// confirmView is the step a destructive action takes before it is done: the server renders
// it, so it needs no script (a JavaScript confirm() would), and a post of its form is the only
// way to the action.
type confirmView struct {
	Question string
	Facts    []fact
	// Action is where the form posts; Back where "Cancel" leads.
	Action, Back string
	Button       string
	CSRF         string
	// Danger marks an action that cannot be undone.
	Danger bool
}

func (ui *UI) confirm(w http.ResponseWriter, r *http.Request, sess *session, nav string, cv *confirmView) {
	cv.CSRF = sess.csrf
	v := ui.newView(r, sess, "confirm.title", nav, cv)
	ui.renderPage(w, http.StatusOK, v, confirmContent(v, cv))
}

// jobsByID reads the jobs of ids through the API, a hundred to a request
// (GET /api/v1/jobs?id=…&id=…): a page of the history names up to 50 jobs, and reading them one
// by one cost a request each. A job the caller may not read or that was deleted is absent from
// the answer, as are ids that are not UUIDs.
func (ui *UI) jobsByID(r *http.Request, sess *session, ids []string) (map[string]*domain.Job, error) {
	out := map[string]*domain.Job{}
	seen := map[string]bool{}
	var batch []string
	for _, id := range ids {
		if seen[id] || len(id) != 36 || uuid.Validate(id) != nil {
			continue
		}
		seen[id] = true
		if batch = append(batch, id); len(batch) == maxJobsByID {
			if err := ui.readJobs(r, sess, batch, out); err != nil {
				return nil, err
			}
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		if err := ui.readJobs(r, sess, batch, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// maxJobsByID is how many ids the API takes in one job list (shared/api's maxListIDs).
const maxJobsByID = 100

// readJobs adds the jobs of ids, at most maxJobsByID, to out.
func (ui *UI) readJobs(r *http.Request, sess *session, ids []string, out map[string]*domain.Job) error {
	params := url.Values{"id": ids, "limit": {strconv.Itoa(len(ids))}}
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/jobs?"+params.Encode(), nil)
	if err != nil {
		return err
	}
	if !res.ok() {
		// A caller who may read jobs in no namespace: none of them is theirs to show.
		if res.status == http.StatusForbidden {
			return nil
		}
		return fmt.Errorf("dashboard: list jobs by id: the API answered %d", res.status)
	}
	var list struct {
		Items []*domain.Job `json:"items"`
	}
	if err := res.decode(&list); err != nil {
		return err
	}
	for _, j := range list.Items {
		out[j.ID] = j
	}
	return nil
}

// doneMessage returns the message of a finished action named by the done parameter of a
// redirect. Only the names in keys are shown, so the parameter cannot put text on the page.
func (ui *UI) doneMessage(r *http.Request, keys map[string]string) string {
	if k, ok := keys[r.URL.Query().Get("done")]; ok {
		return ui.cat.tr(langOf(r), k)
	}
	return ""
}

// withDone returns path with the done parameter set to what.
func withDone(path, what string) string {
	return path + "?" + url.Values{"done": {what}}.Encode()
}

// problemFields answers the API's refusal of a form: its detail and its field errors by field,
// renamed by rename (an API field → the form's).
func problemFields(res *apiResponse, rename map[string]string) (string, map[string]string) {
	p := res.problem()
	fields := map[string]string{}
	for _, fe := range p.Errors {
		name := fe.Field
		if n, ok := rename[name]; ok {
			name = n
		}
		fields[name] = fe.Reason
	}
	return p.Detail, fields
}

// get reads path from the API into out as sess's identity. When it cannot, it answers the
// browser itself — the API's refusal as its page, anything else as an internal error — and
// reports false.
func (ui *UI) get(w http.ResponseWriter, r *http.Request, sess *session, path string, out any) bool {
	res, err := ui.call(r, sess, http.MethodGet, path, nil)
	if err != nil {
		ui.internal(w, r, sess, err)
		return false
	}
	if !res.ok() {
		ui.apiError(w, r, sess, res)
		return false
	}
	if err := res.decode(out); err != nil {
		ui.internal(w, r, sess, err)
		return false
	}
	return true
}

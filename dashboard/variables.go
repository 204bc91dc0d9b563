package dashboard

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/humanize"
)

// variableName is the form of a variable's name (as the API checks it): a name goes into an
// API path only once it has this form.
var variableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// variablesView is the page of the global variables or of one job's.
type variablesView struct {
	// Job is the job whose variables these are; nil for the global ones.
	Job *domain.Job
	// Base is the page's address, under which each variable's edit and delete pages are.
	Base string
	Rows []variableRow
	// CanWrite shows the forms and the buttons; the API decides on every post regardless.
	CanWrite bool
	Problem  string
	// FieldErrors are the API's, for the form named by Form.
	FieldErrors map[string]string
	// Form names the form the errors are for ("plain" or "secret"); Name, Value, Hosts and
	// Namespaces refill it. A secret's value is never refilled.
	Form, Name, Value, Hosts, Namespaces string
	Message                              string
}

// variableRow is one variable. A secret's value is never in it: the API does not answer one,
// and the row has only whether it is set and when it changed.
type variableRow struct {
	Name, Value         string
	Secret              bool
	Updated, UpdatedRel string
	Hosts, Namespaces   string
}

// variableView is the edit page of one variable.
type variableView struct {
	Job         *domain.Job
	Base        string
	Row         variableRow
	Problem     string
	FieldErrors map[string]string
}

// variableScope is the scope of a request: the global variables, or those of the job of its
// path, which it reads (nil for the global scope). It answers and reports false when the job
// cannot be read.
func (ui *UI) variableScope(w http.ResponseWriter, r *http.Request, sess *session) (*domain.Job, string, bool) {
	if r.PathValue("id") == "" {
		return nil, "/variables", true
	}
	id, ok := ui.jobID(w, r, sess)
	if !ok {
		return nil, "", false
	}
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/jobs/"+id, nil)
	if err != nil {
		ui.internal(w, r, sess, err)
		return nil, "", false
	}
	if !res.ok() {
		ui.apiError(w, r, sess, res)
		return nil, "", false
	}
	var j domain.Job
	if err := res.decode(&j); err != nil {
		ui.internal(w, r, sess, err)
		return nil, "", false
	}
	return &j, "/jobs/" + j.ID + "/variables", true
}

// variableAPI is the API's address of the scope's variables.
func variableAPI(base string) string { return "/api/v1" + base }

// canWriteVariables reports whether the caller may change the scope's variables: variable:write
// for the global ones (in every namespace), and job:write too for a job's.
func canWriteVariables(m *me, j *domain.Job) bool {
	if j == nil {
		return m.can(domain.PermVariableWrite, domain.AllNamespaces)
	}
	return m.can(domain.PermVariableWrite, j.Namespace) && m.can(domain.PermJobWrite, j.Namespace)
}

func (ui *UI) variablesPage(w http.ResponseWriter, r *http.Request, sess *session) {
	j, base, ok := ui.variableScope(w, r, sess)
	if !ok {
		return
	}
	vv := &variablesView{Job: j, Base: base, FieldErrors: map[string]string{},
		Message: ui.doneMessage(r, map[string]string{"created": "variables.created", "updated": "variables.updated", "deleted": "variables.deleted"})}
	ui.showVariables(w, r, sess, vv, http.StatusOK)
}

// showVariables reads the scope's variables into vv and renders the page with status.
func (ui *UI) showVariables(w http.ResponseWriter, r *http.Request, sess *session, vv *variablesView, status int) {
	var list struct {
		Items []*domain.Variable `json:"items"`
	}
	if !ui.get(w, r, sess, variableAPI(vv.Base), &list) {
		return
	}
	m, err := ui.me(r, sess)
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	vv.CanWrite = canWriteVariables(m, vv.Job)
	lang := langOf(r)
	for _, v := range list.Items {
		vv.Rows = append(vv.Rows, ui.variableRow(lang, v))
	}
	title := "variables.title"
	if vv.Job != nil {
		title = "variables.job_title"
	}
	v := ui.newView(r, sess, title, "variables", vv)
	ui.renderPage(w, status, v, variablesContent(v, vv))
}

func (ui *UI) variableRow(lang string, v *domain.Variable) variableRow {
	row := variableRow{Name: v.Name, Secret: v.IsSecret, Updated: humanize.DateTime(v.UpdatedAt.In(ui.zones.get(domain.DefaultTimezone)), lang),
		UpdatedRel: humanize.Relative(ui.now(), v.UpdatedAt, lang),
		Hosts:      strings.Join(v.AllowedHosts, ", "), Namespaces: strings.Join(v.Namespaces, ", ")}
	if !v.IsSecret {
		row.Value = v.Value
	}
	return row
}

// commaList splits a comma-separated form field into its items; nil when it is empty.
func commaList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// variableBody is the API's body of a variable from the form: the value (absent when a
// secret's field is left empty, which keeps it), and the lists the form has fields for.
func variableBody(r *http.Request, j *domain.Job, secret bool) map[string]any {
	body := map[string]any{"is_secret": secret}
	if v := r.PostFormValue("value"); v != "" || !secret {
		body["value"] = v
	}
	if secret {
		body["allowed_hosts"] = orEmpty(commaList(r.PostFormValue("allowed_hosts")))
	}
	if j == nil {
		body["namespaces"] = orEmpty(commaList(r.PostFormValue("namespaces")))
	}
	return body
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// createVariable creates a variable (a secret when the form is the secret one) through the
// API. On a refusal the page comes again with the API's field errors, and without the value of
// a secret.
func (ui *UI) createVariable(w http.ResponseWriter, r *http.Request, sess *session) {
	j, base, ok := ui.variableScope(w, r, sess)
	if !ok {
		return
	}
	secret := r.PostFormValue("kind") == "secret"
	body := variableBody(r, j, secret)
	body["name"] = strings.TrimSpace(r.PostFormValue("name"))
	res, err := ui.call(r, sess, http.MethodPost, variableAPI(base), body)
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	if res.ok() {
		http.Redirect(w, r, withDone(base, "created"), http.StatusSeeOther)
		return
	}
	if res.status == http.StatusForbidden || res.status == http.StatusNotFound {
		ui.apiError(w, r, sess, res)
		return
	}
	vv := &variablesView{Job: j, Base: base, Form: "plain", Name: r.PostFormValue("name"),
		Hosts: r.PostFormValue("allowed_hosts"), Namespaces: r.PostFormValue("namespaces")}
	if secret {
		vv.Form = "secret"
	} else {
		vv.Value = r.PostFormValue("value")
	}
	vv.Problem, vv.FieldErrors = problemFields(res, nil)
	ui.showVariables(w, r, sess, vv, res.status)
}

// variable reads the variable of r's path in the scope; it answers and reports false when the
// name is none or the API refuses.
func (ui *UI) variable(w http.ResponseWriter, r *http.Request, sess *session) (*domain.Job, string, *domain.Variable, bool) {
	j, base, ok := ui.variableScope(w, r, sess)
	if !ok {
		return nil, "", nil, false
	}
	name := r.PathValue("name")
	if !variableName.MatchString(name) {
		ui.errorPage(w, r, sess, http.StatusNotFound, "error.not_found")
		return nil, "", nil, false
	}
	res, err := ui.call(r, sess, http.MethodGet, variableAPI(base)+"/"+name, nil)
	if err != nil {
		ui.internal(w, r, sess, err)
		return nil, "", nil, false
	}
	if !res.ok() {
		ui.apiError(w, r, sess, res)
		return nil, "", nil, false
	}
	var v domain.Variable
	if err := res.decode(&v); err != nil {
		ui.internal(w, r, sess, err)
		return nil, "", nil, false
	}
	return j, base, &v, true
}

func (ui *UI) editVariablePage(w http.ResponseWriter, r *http.Request, sess *session) {
	j, base, v, ok := ui.variable(w, r, sess)
	if !ok {
		return
	}
	vv := &variableView{Job: j, Base: base, Row: ui.variableRow(langOf(r), v), FieldErrors: map[string]string{}}
	pv := ui.newView(r, sess, "variables.edit_title", "variables", vv)
	ui.renderPage(w, http.StatusOK, pv, variableContent(pv, vv))
}

// updateVariable replaces a variable's value and lists through the API; a secret left empty
// keeps its value.
func (ui *UI) updateVariable(w http.ResponseWriter, r *http.Request, sess *session) {
	j, base, v, ok := ui.variable(w, r, sess)
	if !ok {
		return
	}
	res, err := ui.call(r, sess, http.MethodPut, variableAPI(base)+"/"+v.Name, variableBody(r, j, v.IsSecret))
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	if res.ok() {
		http.Redirect(w, r, withDone(base, "updated"), http.StatusSeeOther)
		return
	}
	if res.status == http.StatusForbidden || res.status == http.StatusNotFound {
		ui.apiError(w, r, sess, res)
		return
	}
	vv := &variableView{Job: j, Base: base, Row: ui.variableRow(langOf(r), v)}
	if !v.IsSecret {
		vv.Row.Value = r.PostFormValue("value")
	}
	vv.Row.Hosts, vv.Row.Namespaces = r.PostFormValue("allowed_hosts"), r.PostFormValue("namespaces")
	vv.Problem, vv.FieldErrors = problemFields(res, nil)
	pv := ui.newView(r, sess, "variables.edit_title", "variables", vv)
	ui.renderPage(w, res.status, pv, variableContent(pv, vv))
}

func (ui *UI) deleteVariableConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	j, base, v, ok := ui.variable(w, r, sess)
	if !ok {
		return
	}
	lang := langOf(r)
	facts := []fact{{ui.cat.tr(lang, "variables.col.name"), v.Name}}
	if j != nil {
		facts = append(facts, fact{ui.cat.tr(lang, "history.col.job"), j.Name})
	}
	ui.confirm(w, r, sess, "variables", &confirmView{Question: ui.cat.tr(lang, "variables.delete_question"), Facts: facts,
		Action: base + "/" + v.Name + "/delete", Back: base, Button: ui.cat.tr(lang, "variables.delete"), Danger: true})
}

func (ui *UI) deleteVariable(w http.ResponseWriter, r *http.Request, sess *session) {
	_, base, v, ok := ui.variable(w, r, sess)
	if !ok {
		return
	}
	res, err := ui.call(r, sess, http.MethodDelete, variableAPI(base)+"/"+v.Name, nil)
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	if !res.ok() {
		ui.apiError(w, r, sess, res)
		return
	}
	http.Redirect(w, r, withDone(base, "deleted"), http.StatusSeeOther)
}

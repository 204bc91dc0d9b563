package dashboard

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/humanize"
)

// usersView is the users page.
type usersView struct {
	Rows        []userRow
	Next, First string
	// Create refills the new user's form after a refusal (never its password).
	Username, DisplayName string
	Problem               string
	FieldErrors           map[string]string
	Message               string
}

// userRow is one user with their role bindings.
type userRow struct {
	ID, Username, DisplayName, Source string
	Disabled                          bool
	Created                           string
	Bindings                          []bindingRow
}

// bindingRow is a role bound to a user in a namespace ("*": every namespace).
type bindingRow struct {
	ID, Role, Namespace string
}

// userView is the page of one user: their bindings, their dashboard sessions and what an
// admin may change.
type userView struct {
	User        userRow
	Sessions    sessionTable
	Roles       []option
	Namespace   string
	Problem     string
	FieldErrors map[string]string
	Message     string
}

// users reads a page of users after cursor, with every role binding, through the API; a
// refusal is returned as its answer.
func (ui *UI) users(r *http.Request, sess *session, cursor string) ([]userRow, string, *apiResponse, error) {
	params := url.Values{"limit": {"50"}}
	if cursor != "" {
		params.Set("cursor", cursor)
	}
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/users?"+params.Encode(), nil)
	if err != nil || !res.ok() {
		return nil, "", res, err
	}
	var list struct {
		Items      []*domain.User `json:"items"`
		NextCursor string         `json:"next_cursor"`
	}
	if err := res.decode(&list); err != nil {
		return nil, "", nil, err
	}
	bindings, res, err := ui.bindings(r, sess, "")
	if err != nil || res != nil {
		return nil, "", res, err
	}
	lang := langOf(r)
	rows := make([]userRow, 0, len(list.Items))
	for _, u := range list.Items {
		rows = append(rows, ui.userRow(lang, u, bindings[u.ID]))
	}
	return rows, list.NextCursor, nil, nil
}

// bindings reads the role bindings (of the user userID, or everyone's) by user.
func (ui *UI) bindings(r *http.Request, sess *session, userID string) (map[string][]bindingRow, *apiResponse, error) {
	path := "/api/v1/role-bindings"
	if userID != "" {
		path += "?" + url.Values{"user_id": {userID}}.Encode()
	}
	res, err := ui.call(r, sess, http.MethodGet, path, nil)
	if err != nil || !res.ok() {
		return nil, res, err
	}
	var list struct {
		Items []*domain.RoleBinding `json:"items"`
	}
	if err := res.decode(&list); err != nil {
		return nil, nil, err
	}
	out := map[string][]bindingRow{}
	for _, b := range list.Items {
		if b.UserID != "" {
			out[b.UserID] = append(out[b.UserID], bindingRow{ID: b.ID, Role: b.Role, Namespace: b.Namespace})
		}
	}
	return out, nil, nil
}

func (ui *UI) userRow(lang string, u *domain.User, b []bindingRow) userRow {
	return userRow{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Source: u.Source, Disabled: u.Disabled,
		Created: humanize.DateTime(u.CreatedAt.In(ui.zones.get(domain.DefaultTimezone)), lang), Bindings: b}
}

func (ui *UI) usersPage(w http.ResponseWriter, r *http.Request, sess *session) {
	uv := &usersView{FieldErrors: map[string]string{}, Message: ui.doneMessage(r, map[string]string{"created": "admin.user_created"})}
	ui.showUsers(w, r, sess, uv, http.StatusOK)
}

func (ui *UI) showUsers(w http.ResponseWriter, r *http.Request, sess *session, uv *usersView, status int) {
	cursor := r.URL.Query().Get("cursor")
	rows, next, res, err := ui.users(r, sess, cursor)
	switch {
	case err != nil:
		ui.internal(w, r, sess, err)
		return
	case res != nil:
		ui.apiError(w, r, sess, res)
		return
	}
	uv.Rows = rows
	if next != "" {
		uv.Next = "/admin/users?" + url.Values{"cursor": {next}}.Encode()
	}
	if cursor != "" {
		uv.First = "/admin/users"
	}
	v := ui.newView(r, sess, "admin.title", "admin", uv)
	ui.renderPage(w, status, v, usersContent(v, uv))
}

// createUser creates a database user through the API; a refusal shows the form again with
// the API's field errors, without the password.
func (ui *UI) createUser(w http.ResponseWriter, r *http.Request, sess *session) {
	body := map[string]any{"username": strings.TrimSpace(r.PostFormValue("username")),
		"display_name": strings.TrimSpace(r.PostFormValue("display_name")), "password": r.PostFormValue("password")}
	res, err := ui.call(r, sess, http.MethodPost, "/api/v1/users", body)
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	if res.ok() {
		var u domain.User
		if err := res.decode(&u); err != nil {
			ui.internal(w, r, sess, err)
			return
		}
		http.Redirect(w, r, withDone("/admin/users/"+u.ID, "created"), http.StatusSeeOther)
		return
	}
	if res.status == http.StatusForbidden {
		ui.apiError(w, r, sess, res)
		return
	}
	uv := &usersView{Username: r.PostFormValue("username"), DisplayName: r.PostFormValue("display_name")}
	uv.Problem, uv.FieldErrors = problemFields(res, nil)
	ui.showUsers(w, r, sess, uv, res.status)
}

// userID returns the user id of r's path, or answers 404 when it is none.
func (ui *UI) userID(w http.ResponseWriter, r *http.Request, sess *session) (string, bool) {
	id := r.PathValue("id")
	if uuid.Validate(id) != nil {
		ui.errorPage(w, r, sess, http.StatusNotFound, "error.not_found")
		return "", false
	}
	return id, true
}

// user reads user id with their bindings through the API; a refusal is returned as its answer.
func (ui *UI) user(r *http.Request, sess *session, id string) (*userRow, *apiResponse, error) {
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/users/"+id, nil)
	if err != nil || !res.ok() {
		return nil, res, err
	}
	var u domain.User
	if err := res.decode(&u); err != nil {
		return nil, nil, err
	}
	b, res, err := ui.bindings(r, sess, id)
	if err != nil || res != nil {
		return nil, res, err
	}
	row := ui.userRow(langOf(r), &u, b[id])
	return &row, nil, nil
}

// pathUser reads the user of r's path; it answers and reports false when there is none to
// show.
func (ui *UI) pathUser(w http.ResponseWriter, r *http.Request, sess *session) (string, *userRow, bool) {
	id, ok := ui.userID(w, r, sess)
	if !ok {
		return "", nil, false
	}
	u, res, err := ui.user(r, sess, id)
	switch {
	case err != nil:
		ui.internal(w, r, sess, err)
		return "", nil, false
	case res != nil:
		ui.apiError(w, r, sess, res)
		return "", nil, false
	}
	return id, u, true
}

func (ui *UI) userPage(w http.ResponseWriter, r *http.Request, sess *session) {
	uv := &userView{Namespace: domain.AllNamespaces, FieldErrors: map[string]string{},
		Message: ui.doneMessage(r, map[string]string{"created": "admin.user_created", "disabled": "admin.disabled_done",
			"enabled": "admin.enabled_done", "bound": "admin.bound", "unbound": "admin.unbound",
			"session_ended": "sessions.ended", "sessions_ended": "sessions.all_ended"})}
	ui.showUser(w, r, sess, uv, http.StatusOK, "")
}

// showUser renders the page of the user of r's path with uv, and role selected in the form.
func (ui *UI) showUser(w http.ResponseWriter, r *http.Request, sess *session, uv *userView, status int, role string) {
	id, u, ok := ui.pathUser(w, r, sess)
	if !ok {
		return
	}
	uv.User = *u
	var err error
	if uv.Sessions, err = ui.userSessions(r, sess, id); err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/roles", nil)
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	if res.ok() {
		var roles struct {
			Items []*domain.Role `json:"items"`
		}
		if err := res.decode(&roles); err != nil {
			ui.internal(w, r, sess, err)
			return
		}
		for _, ro := range roles.Items {
			uv.Roles = append(uv.Roles, option{Value: ro.Name, Label: ro.Name, Selected: ro.Name == role})
		}
	}
	v := ui.newView(r, sess, "admin.user_title", "admin", uv)
	ui.renderPage(w, status, v, userContent(v, uv))
}

// setDisabledConfirm asks before disabling a user; enabling needs no question.
func (ui *UI) setDisabledConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	id, u, ok := ui.pathUser(w, r, sess)
	if !ok {
		return
	}
	lang := langOf(r)
	ui.confirm(w, r, sess, "admin", &confirmView{Question: ui.cat.tr(lang, "admin.disable_question"),
		Facts:  []fact{{ui.cat.tr(lang, "admin.col.username"), u.Username}, {ui.cat.tr(lang, "admin.col.display_name"), u.DisplayName}},
		Action: "/admin/users/" + id + "/disable", Back: "/admin/users/" + id, Button: ui.cat.tr(lang, "admin.disable")})
}

// setDisabled disables or enables a user through the API (which ends a disabled user's
// sessions).
func (ui *UI) setDisabled(disabled bool) func(http.ResponseWriter, *http.Request, *session) {
	done := "enabled"
	if disabled {
		done = "disabled"
	}
	return func(w http.ResponseWriter, r *http.Request, sess *session) {
		id, ok := ui.userID(w, r, sess)
		if !ok {
			return
		}
		res, err := ui.call(r, sess, http.MethodPatch, "/api/v1/users/"+id, map[string]bool{"disabled": disabled})
		if err != nil {
			ui.internal(w, r, sess, err)
			return
		}
		if !res.ok() {
			ui.apiError(w, r, sess, res)
			return
		}
		http.Redirect(w, r, withDone("/admin/users/"+id, done), http.StatusSeeOther)
	}
}

// bind binds a role to the user in a namespace through the API.
func (ui *UI) bind(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := ui.userID(w, r, sess)
	if !ok {
		return
	}
	role, ns := r.PostFormValue("role"), strings.TrimSpace(r.PostFormValue("namespace"))
	res, err := ui.call(r, sess, http.MethodPost, "/api/v1/role-bindings", map[string]string{"role": role, "user_id": id, "namespace": ns})
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	if res.ok() {
		http.Redirect(w, r, withDone("/admin/users/"+id, "bound"), http.StatusSeeOther)
		return
	}
	if res.status == http.StatusForbidden || res.status == http.StatusNotFound {
		ui.apiError(w, r, sess, res)
		return
	}
	uv := &userView{Namespace: ns}
	uv.Problem, uv.FieldErrors = problemFields(res, nil)
	ui.showUser(w, r, sess, uv, res.status, role)
}

// binding finds binding bid of the user of r's path; it answers and reports false when there
// is none such.
func (ui *UI) binding(w http.ResponseWriter, r *http.Request, sess *session) (*userRow, *bindingRow, bool) {
	_, u, ok := ui.pathUser(w, r, sess)
	if !ok {
		return nil, nil, false
	}
	i := slices.IndexFunc(u.Bindings, func(b bindingRow) bool { return b.ID == r.PathValue("bid") })
	if i < 0 {
		ui.errorPage(w, r, sess, http.StatusNotFound, "error.not_found")
		return nil, nil, false
	}
	return u, &u.Bindings[i], true
}

func (ui *UI) unbindConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	u, b, ok := ui.binding(w, r, sess)
	if !ok {
		return
	}
	lang := langOf(r)
	ui.confirm(w, r, sess, "admin", &confirmView{Question: ui.cat.tr(lang, "admin.unbind_question"),
		Facts: []fact{{ui.cat.tr(lang, "admin.col.username"), u.Username}, {ui.cat.tr(lang, "admin.role"), b.Role},
			{ui.cat.tr(lang, "admin.namespace"), b.Namespace}},
		Action: "/admin/users/" + u.ID + "/bindings/" + b.ID + "/delete", Back: "/admin/users/" + u.ID, Button: ui.cat.tr(lang, "admin.unbind")})
}

func (ui *UI) unbind(w http.ResponseWriter, r *http.Request, sess *session) {
	u, b, ok := ui.binding(w, r, sess)
	if !ok {
		return
	}
	res, err := ui.call(r, sess, http.MethodDelete, "/api/v1/role-bindings/"+b.ID, nil)
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	if !res.ok() {
		ui.apiError(w, r, sess, res)
		return
	}
	http.Redirect(w, r, withDone("/admin/users/"+u.ID, "unbound"), http.StatusSeeOther)
}

// tokensView is the page of the signed-in user's API tokens.
type tokensView struct {
	Rows []tokenRow
	// Scopes are the permissions the user may give a token.
	Scopes []option
	// Created is a token just made: shown on this answer alone, never again.
	Created         string
	Name, Namespace string
	Expiry          []option
	Problem         string
	FieldErrors     map[string]string
	Message         string
	DatabaseUser    bool
}

// tokenRow is one API token (never its secret, which the API does not keep).
type tokenRow struct {
	ID, Name, Namespace, Scopes string
	Expires, LastUsed, Created  string
	Revoked                     bool
}

// tokenExpiries are the lifetimes offered for a new token, in days; 0 is none.
var tokenExpiries = []string{"30", "90", "365", "0"}

func (ui *UI) tokensPage(w http.ResponseWriter, r *http.Request, sess *session) {
	tv := &tokensView{Namespace: domain.AllNamespaces, FieldErrors: map[string]string{},
		Message: ui.doneMessage(r, map[string]string{"revoked": "admin.token_revoked"})}
	ui.showTokens(w, r, sess, tv, http.StatusOK, nil, "90")
}

func (ui *UI) showTokens(w http.ResponseWriter, r *http.Request, sess *session, tv *tokensView, status int, scopes []string, expiry string) {
	lang := langOf(r)
	tv.DatabaseUser = sess.id.UserID != ""
	var list struct {
		Items []*domain.APIToken `json:"items"`
	}
	if !ui.get(w, r, sess, "/api/v1/tokens", &list) {
		return
	}
	loc := ui.zones.get(domain.DefaultTimezone)
	at := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return humanize.DateTime(t.In(loc), lang)
	}
	for _, t := range list.Items {
		row := tokenRow{ID: t.ID, Name: t.Name, Namespace: t.Namespace, Scopes: strings.Join(names(t.Scopes), ", "),
			Expires: at(t.ExpiresAt), LastUsed: at(t.LastUsedAt), Created: at(&t.CreatedAt), Revoked: t.RevokedAt != nil}
		tv.Rows = append(tv.Rows, row)
	}
	m, err := ui.me(r, sess)
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	held := map[domain.Permission]bool{}
	for _, ps := range m.Permissions {
		for _, p := range ps {
			held[p] = true
		}
	}
	for _, p := range domain.Permissions() {
		if held[p] {
			tv.Scopes = append(tv.Scopes, option{Value: string(p), Label: string(p), Selected: slices.Contains(scopes, string(p))})
		}
	}
	for _, d := range tokenExpiries {
		label := ui.cat.tr(lang, "admin.expiry_days", d)
		if d == "0" {
			label = ui.cat.tr(lang, "admin.expiry_never")
		}
		tv.Expiry = append(tv.Expiry, option{Value: d, Label: label, Selected: d == expiry})
	}
	v := ui.newView(r, sess, "admin.tokens_title", "tokens", tv)
	ui.renderPage(w, status, v, tokensContent(v, tv))
}

// createToken creates an API token for the signed-in user through the API and shows its
// secret on this answer, once: it is not in a URL, and pages are never cached.
func (ui *UI) createToken(w http.ResponseWriter, r *http.Request, sess *session) {
	_ = r.ParseForm()
	scopes, expiry := r.PostForm["scopes"], r.PostFormValue("expires")
	body := map[string]any{"name": strings.TrimSpace(r.PostFormValue("name")), "namespace": strings.TrimSpace(r.PostFormValue("namespace")),
		"scopes": orEmpty(scopes)}
	if days, err := strconv.Atoi(expiry); err == nil && days > 0 && slices.Contains(tokenExpiries, expiry) {
		body["expires_at"] = ui.now().AddDate(0, 0, days).UTC().Format(time.RFC3339)
	}
	res, err := ui.call(r, sess, http.MethodPost, "/api/v1/tokens", body)
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	tv := &tokensView{Namespace: domain.AllNamespaces, FieldErrors: map[string]string{}}
	if res.ok() {
		var created struct {
			Token string `json:"token"`
		}
		if err := res.decode(&created); err != nil {
			ui.internal(w, r, sess, err)
			return
		}
		tv.Created = created.Token
		ui.showTokens(w, r, sess, tv, http.StatusCreated, nil, "90")
		return
	}
	tv.Name, tv.Namespace = r.PostFormValue("name"), r.PostFormValue("namespace")
	tv.Problem, tv.FieldErrors = problemFields(res, nil)
	ui.showTokens(w, r, sess, tv, res.status, scopes, expiry)
}

// tokenID returns the token id of r's path, or answers 404 when it is none.
func (ui *UI) tokenID(w http.ResponseWriter, r *http.Request, sess *session) (string, bool) {
	id := r.PathValue("id")
	if uuid.Validate(id) != nil {
		ui.errorPage(w, r, sess, http.StatusNotFound, "error.not_found")
		return "", false
	}
	return id, true
}

func (ui *UI) revokeConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := ui.tokenID(w, r, sess)
	if !ok {
		return
	}
	var list struct {
		Items []*domain.APIToken `json:"items"`
	}
	if !ui.get(w, r, sess, "/api/v1/tokens", &list) {
		return
	}
	i := slices.IndexFunc(list.Items, func(t *domain.APIToken) bool { return t.ID == id && t.RevokedAt == nil })
	if i < 0 {
		ui.errorPage(w, r, sess, http.StatusNotFound, "error.not_found")
		return
	}
	lang, t := langOf(r), list.Items[i]
	ui.confirm(w, r, sess, "tokens", &confirmView{Question: ui.cat.tr(lang, "admin.revoke_question"),
		Facts:  []fact{{ui.cat.tr(lang, "admin.token_name"), t.Name}, {ui.cat.tr(lang, "admin.scopes"), strings.Join(names(t.Scopes), ", ")}},
		Action: "/account/tokens/" + id + "/revoke", Back: "/account/tokens", Button: ui.cat.tr(lang, "admin.revoke"), Danger: true})
}

func (ui *UI) revokeToken(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := ui.tokenID(w, r, sess)
	if !ok {
		return
	}
	res, err := ui.call(r, sess, http.MethodDelete, "/api/v1/tokens/"+id, nil)
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	if !res.ok() {
		ui.apiError(w, r, sess, res)
		return
	}
	http.Redirect(w, r, withDone("/account/tokens", "revoked"), http.StatusSeeOther)
}

package dashboard

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/humanize"
	"github.com/vecron/vecron/shared/identity"
)

// The sign-ins to the dashboard, as pages: a user's on their admin page, the identity
// provider's users' on /admin/sessions, and one's own on /account/sessions. Every read and every
// end goes through the API (/api/v1/sessions, /api/v1/auth/sessions), which decides who may.

// sessionTable is a table of sessions (sessionTableBlock); L is the page's language.
type sessionTable struct {
	L    string
	Rows []sessionRow
	// ShowUser adds who each session is of (the identity provider's page lists everyone's).
	ShowUser bool
}

// sessionRow is one session: when and how, never anything that signs in.
type sessionRow struct {
	ID, User, Subject, Groups string
	Mode                      string
	Started, LastSeen, Ends   string
	// Current marks the session of the browser looking at the page.
	Current bool
	// EndURL asks before ending it.
	EndURL string
}

// sessionsView is the identity provider's users' sessions page.
type sessionsView struct {
	Table   sessionTable
	Next    string
	First   string
	Subject string
	Problem string
	Message string
	// FieldErrors name what is wrong with the subject of the form.
	FieldErrors map[string]string
}

// accountSessionsView is the page of one's own sessions.
type accountSessionsView struct {
	Table   sessionTable
	Message string
}

// sessionList is the API's answer of a list of sessions.
type sessionList struct {
	Items      []*domain.SessionInfo `json:"items"`
	NextCursor string                `json:"next_cursor"`
}

// sessionRows renders list for the browser of r, whose own session is sess; endURL gives the
// page that asks before ending one.
func (ui *UI) sessionRows(r *http.Request, sess *session, list []*domain.SessionInfo, endURL func(*domain.SessionInfo) string) []sessionRow {
	lang, loc := langOf(r), ui.zones.get(domain.DefaultTimezone)
	at := func(t time.Time) string { return humanize.DateTime(t.In(loc), lang) }
	rows := make([]sessionRow, 0, len(list))
	for _, si := range list {
		ends := si.ExpiresAt
		if si.IdleExpiresAt.Before(ends) {
			ends = si.IdleExpiresAt
		}
		rows = append(rows, sessionRow{ID: si.ID, User: si.Username, Subject: si.Subject, Groups: strings.Join(si.Groups, ", "),
			Mode: ui.cat.tr(lang, modeLabel(si.Mode)), Started: at(si.CreatedAt), LastSeen: at(si.LastSeenAt), Ends: at(ends),
			Current: si.ID == sess.ds.ID, EndURL: endURL(si)})
	}
	return rows
}

// modeLabel is the catalog key of how a session signed in.
func modeLabel(mode string) string {
	if mode == identity.ModeOIDC {
		return "sessions.mode.oidc"
	}
	return "sessions.mode.database"
}

// sessionsOf reads the sessions the API path lists; a refusal is answered and reported false.
func (ui *UI) sessionsOf(w http.ResponseWriter, r *http.Request, sess *session, path string) (*sessionList, bool) {
	var list sessionList
	if !ui.get(w, r, sess, path, &list) {
		return nil, false
	}
	return &list, true
}

// findSession returns the session sid of list, or answers 404 and reports false: it ended, or
// is not of whom the page is about.
func (ui *UI) findSession(w http.ResponseWriter, r *http.Request, sess *session, list *sessionList, sid string) (*domain.SessionInfo, bool) {
	i := slices.IndexFunc(list.Items, func(si *domain.SessionInfo) bool { return si.ID == sid })
	if i < 0 {
		ui.errorPage(w, r, sess, http.StatusNotFound, "error.not_found")
		return nil, false
	}
	return list.Items[i], true
}

// sessionID returns the session id of r's path, or answers 404 when it is none.
func (ui *UI) sessionID(w http.ResponseWriter, r *http.Request, sess *session) (string, bool) {
	id := r.PathValue("sid")
	if uuid.Validate(id) != nil {
		ui.errorPage(w, r, sess, http.StatusNotFound, "error.not_found")
		return "", false
	}
	return id, true
}

// sessionFacts are what a question about ending si shows.
func (ui *UI) sessionFacts(r *http.Request, si *domain.SessionInfo) []fact {
	lang, loc := langOf(r), ui.zones.get(domain.DefaultTimezone)
	facts := []fact{{ui.cat.tr(lang, "sessions.col.user"), si.Username}}
	if si.Subject != "" {
		facts = append(facts, fact{ui.cat.tr(lang, "sessions.subject"), si.Subject})
	}
	return append(facts, fact{ui.cat.tr(lang, "sessions.col.mode"), ui.cat.tr(lang, modeLabel(si.Mode))},
		fact{ui.cat.tr(lang, "sessions.col.started"), humanize.DateTime(si.CreatedAt.In(loc), lang)},
		fact{ui.cat.tr(lang, "sessions.col.last_seen"), humanize.DateTime(si.LastSeenAt.In(loc), lang)})
}

// ended answers an end that went through: the browser whose own session it was goes to the
// login page, as after a sign-out; any other goes back to back with done.
func (ui *UI) ended(w http.ResponseWriter, r *http.Request, sess *session, ownEnded bool, back, done string) {
	if ownEnded {
		ui.sessions.deleteCookie(w, r)
		http.Redirect(w, r, "/login?signed_out=1", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, withDone(back, done), http.StatusSeeOther)
}

// endThrough ends, through the API, what method and path name; a refusal is answered and
// reported false.
func (ui *UI) endThrough(w http.ResponseWriter, r *http.Request, sess *session, method, path string, body any) bool {
	res, err := ui.call(r, sess, method, path, body)
	if err != nil {
		ui.internal(w, r, sess, err)
		return false
	}
	if !res.ok() {
		ui.apiError(w, r, sess, res)
		return false
	}
	return true
}

// userSessions are the sessions of database user id for their admin page; a refusal of the
// API leaves them out (the page shows what the admin may see).
func (ui *UI) userSessions(r *http.Request, sess *session, id string) (sessionTable, error) {
	t := sessionTable{L: langOf(r)}
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/sessions?"+url.Values{"user_id": {id}, "limit": {"500"}}.Encode(), nil)
	if err != nil || !res.ok() {
		return t, err
	}
	var list sessionList
	if err := res.decode(&list); err != nil {
		return t, err
	}
	t.Rows = ui.sessionRows(r, sess, list.Items, func(si *domain.SessionInfo) string {
		return "/admin/users/" + id + "/sessions/" + si.ID + "/end"
	})
	return t, nil
}

func (ui *UI) userSessionEndConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := ui.userID(w, r, sess)
	if !ok {
		return
	}
	sid, ok := ui.sessionID(w, r, sess)
	if !ok {
		return
	}
	ui.confirmEndSession(w, r, sess, url.Values{"user_id": {id}}, sid, "/admin/users/"+id+"/sessions/"+sid+"/end", "/admin/users/"+id)
}

// confirmEndSession asks before ending session sid, found among the sessions filter selects;
// the answer posts to action, and back leads away.
func (ui *UI) confirmEndSession(w http.ResponseWriter, r *http.Request, sess *session, filter url.Values, sid, action, back string) {
	filter.Set("limit", "500")
	list, ok := ui.sessionsOf(w, r, sess, "/api/v1/sessions?"+filter.Encode())
	if !ok {
		return
	}
	si, ok := ui.findSession(w, r, sess, list, sid)
	if !ok {
		return
	}
	lang := langOf(r)
	ui.confirm(w, r, sess, "admin", &confirmView{Question: ui.cat.tr(lang, "sessions.end_question"), Facts: ui.sessionFacts(r, si),
		Action: action, Back: back, Button: ui.cat.tr(lang, "sessions.end"), Danger: true})
}

func (ui *UI) userSessionEnd(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := ui.userID(w, r, sess)
	if !ok {
		return
	}
	sid, ok := ui.sessionID(w, r, sess)
	if !ok {
		return
	}
	if ui.endThrough(w, r, sess, http.MethodDelete, "/api/v1/sessions/"+sid, nil) {
		ui.ended(w, r, sess, sid == sess.ds.ID, "/admin/users/"+id, "session_ended")
	}
}

func (ui *UI) userSessionsEndConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	id, u, ok := ui.pathUser(w, r, sess)
	if !ok {
		return
	}
	lang := langOf(r)
	ui.confirm(w, r, sess, "admin", &confirmView{Question: ui.cat.tr(lang, "sessions.end_all_question"),
		Facts:  []fact{{ui.cat.tr(lang, "admin.col.username"), u.Username}},
		Action: "/admin/users/" + id + "/sessions/end", Back: "/admin/users/" + id, Button: ui.cat.tr(lang, "sessions.end_all"), Danger: true})
}

func (ui *UI) userSessionsEnd(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := ui.userID(w, r, sess)
	if !ok {
		return
	}
	if ui.endThrough(w, r, sess, http.MethodPost, "/api/v1/sessions/end", map[string]string{"user_id": id}) {
		ui.ended(w, r, sess, sess.ds.UserID == id, "/admin/users/"+id, "sessions_ended")
	}
}

// providerSessionsPage lists the sessions of the identity provider's users, who are no rows
// of users, with a form to end every session of one subject.
func (ui *UI) providerSessionsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	sv := &sessionsView{FieldErrors: map[string]string{},
		Message: ui.doneMessage(r, map[string]string{"session_ended": "sessions.ended", "sessions_ended": "sessions.all_ended"})}
	ui.showProviderSessions(w, r, sess, sv, http.StatusOK)
}

func (ui *UI) showProviderSessions(w http.ResponseWriter, r *http.Request, sess *session, sv *sessionsView, status int) {
	q := url.Values{"mode": {"oidc"}, "limit": {"50"}}
	cursor := r.URL.Query().Get("cursor")
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	list, ok := ui.sessionsOf(w, r, sess, "/api/v1/sessions?"+q.Encode())
	if !ok {
		return
	}
	sv.Table = sessionTable{L: langOf(r), ShowUser: true, Rows: ui.sessionRows(r, sess, list.Items, func(si *domain.SessionInfo) string {
		return "/admin/sessions/" + si.ID + "/end?" + url.Values{"subject": {si.Subject}}.Encode()
	})}
	if list.NextCursor != "" {
		sv.Next = "/admin/sessions?" + url.Values{"cursor": {list.NextCursor}}.Encode()
	}
	if cursor != "" {
		sv.First = "/admin/sessions"
	}
	v := ui.newView(r, sess, "sessions.title", "admin", sv)
	ui.renderPage(w, status, v, sessionsContent(v, sv))
}

// subjectMax bounds a subject typed in the form, as the API does.
const subjectMax = 255

// formSubject returns the subject of r's form or query, trimmed, and whether it may be one.
func formSubject(r *http.Request) (string, bool) {
	s := strings.TrimSpace(r.FormValue("subject"))
	return s, s != "" && len(s) <= subjectMax && !strings.ContainsFunc(s, unicode.IsControl)
}

// subjectRefused shows the sessions page again with the subject's field error.
func (ui *UI) subjectRefused(w http.ResponseWriter, r *http.Request, sess *session, subject string) {
	sv := &sessionsView{Subject: subject, FieldErrors: map[string]string{"subject": ui.cat.tr(langOf(r), "sessions.subject_invalid")}}
	ui.showProviderSessions(w, r, sess, sv, http.StatusUnprocessableEntity)
}

func (ui *UI) subjectSessionsEndConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	subject, ok := formSubject(r)
	if !ok {
		ui.subjectRefused(w, r, sess, subject)
		return
	}
	list, ok := ui.sessionsOf(w, r, sess, "/api/v1/sessions?"+url.Values{"subject": {subject}, "limit": {"500"}}.Encode())
	if !ok {
		return
	}
	lang := langOf(r)
	facts := []fact{{ui.cat.tr(lang, "sessions.subject"), subject},
		{ui.cat.tr(lang, "sessions.active"), humanize.Int(int64(len(list.Items)), lang)}}
	if len(list.Items) > 0 {
		facts = append(facts, fact{ui.cat.tr(lang, "sessions.col.user"), list.Items[0].Username})
	}
	ui.confirm(w, r, sess, "admin", &confirmView{Question: ui.cat.tr(lang, "sessions.end_subject_question"), Facts: facts,
		Action: "/admin/sessions/end?" + url.Values{"subject": {subject}}.Encode(), Back: "/admin/sessions",
		Button: ui.cat.tr(lang, "sessions.end_all"), Danger: true})
}

func (ui *UI) subjectSessionsEnd(w http.ResponseWriter, r *http.Request, sess *session) {
	subject, ok := formSubject(r)
	if !ok {
		ui.subjectRefused(w, r, sess, subject)
		return
	}
	if ui.endThrough(w, r, sess, http.MethodPost, "/api/v1/sessions/end", map[string]string{"subject": subject}) {
		ui.ended(w, r, sess, sess.ds.OIDCSubject == subject, "/admin/sessions", "sessions_ended")
	}
}

func (ui *UI) providerSessionEndConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	sid, ok := ui.sessionID(w, r, sess)
	if !ok {
		return
	}
	subject, ok := formSubject(r)
	if !ok {
		ui.errorPage(w, r, sess, http.StatusNotFound, "error.not_found")
		return
	}
	ui.confirmEndSession(w, r, sess, url.Values{"subject": {subject}}, sid, "/admin/sessions/"+sid+"/end", "/admin/sessions")
}

func (ui *UI) providerSessionEnd(w http.ResponseWriter, r *http.Request, sess *session) {
	sid, ok := ui.sessionID(w, r, sess)
	if !ok {
		return
	}
	if ui.endThrough(w, r, sess, http.MethodDelete, "/api/v1/sessions/"+sid, nil) {
		ui.ended(w, r, sess, sid == sess.ds.ID, "/admin/sessions", "session_ended")
	}
}

// accountSessionsPage lists the signed-in user's own sessions, this browser's marked.
func (ui *UI) accountSessionsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	list, ok := ui.sessionsOf(w, r, sess, "/api/v1/auth/sessions")
	if !ok {
		return
	}
	av := &accountSessionsView{Message: ui.doneMessage(r, map[string]string{"session_ended": "sessions.ended"}),
		Table: sessionTable{L: langOf(r), Rows: ui.sessionRows(r, sess, list.Items, func(si *domain.SessionInfo) string {
			return "/account/sessions/" + si.ID + "/end"
		})}}
	v := ui.newView(r, sess, "sessions.account_title", "sessions", av)
	ui.renderPage(w, http.StatusOK, v, accountSessionsContent(v, av))
}

func (ui *UI) accountSessionEndConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	sid, ok := ui.sessionID(w, r, sess)
	if !ok {
		return
	}
	list, ok := ui.sessionsOf(w, r, sess, "/api/v1/auth/sessions")
	if !ok {
		return
	}
	si, ok := ui.findSession(w, r, sess, list, sid)
	if !ok {
		return
	}
	lang := langOf(r)
	question := "sessions.end_question"
	if sid == sess.ds.ID {
		question = "sessions.end_own_question"
	}
	ui.confirm(w, r, sess, "sessions", &confirmView{Question: ui.cat.tr(lang, question), Facts: ui.sessionFacts(r, si),
		Action: "/account/sessions/" + sid + "/end", Back: "/account/sessions", Button: ui.cat.tr(lang, "sessions.end")})
}

func (ui *UI) accountSessionEnd(w http.ResponseWriter, r *http.Request, sess *session) {
	sid, ok := ui.sessionID(w, r, sess)
	if !ok {
		return
	}
	if ui.endThrough(w, r, sess, http.MethodDelete, "/api/v1/auth/sessions/"+sid, nil) {
		ui.ended(w, r, sess, sid == sess.ds.ID, "/account/sessions", "session_ended")
	}
}

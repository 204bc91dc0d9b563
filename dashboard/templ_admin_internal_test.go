package dashboard

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"os"
	"testing"

	"github.com/a-h/templ"
	"github.com/stretchr/testify/require"
)

// The users, user, tokens, audit, dead letters and sessions pages moved to templ serve the
// documents their templates (testdata/before) served, in both languages and every state.
func TestTemplAdminPagesServeWhatTheTemplatesServed(t *testing.T) {
	t.Parallel()
	cat, err := loadCatalogs(files)
	require.NoError(t, err)
	static, err := fs.Sub(files, "static")
	require.NoError(t, err)
	a, err := loadAssets(static)
	require.NoError(t, err)
	funcs := template.FuncMap{"t": cat.tr, "asset": a.url}
	before := map[string]*template.Template{}
	for _, page := range []string{"users.html", "user.html", "tokens.html", "audit.html", "deadletters.html", "sessions.html", "account_sessions.html"} {
		tpl, err := template.New(page).Funcs(funcs).ParseFS(os.DirFS("testdata/before"), "layout.html", "sessiontable.html", page)
		require.NoError(t, err)
		before[page] = tpl
	}
	newView := func(lang string, admin bool, nav string, page any) *view {
		v := &view{L: lang, Title: cat.tr(lang, "admin.title"), HTMXConfig: htmxConfig, Nav: nav, Page: page, cat: cat, assets: a,
			User: `ana "<admin>"`, Admin: admin, CSRF: `tok"en<&>`, HXHeaders: `{"X-CSRF-Token":"tok\"en\u003c\u0026\u003e"}`}
		for _, l := range []langLink{{Code: "en", Label: "English"}, {Code: "vi", Label: "Tiếng Việt"}} {
			l.Current = l.Code == lang
			l.URL = "/lang?next=%2Fadmin%2Fusers&set=" + l.Code
			v.Langs = append(v.Langs, l)
		}
		return v
	}
	type tcase struct {
		name      string
		page      string
		define    string
		data      any
		component templ.Component
	}
	var cases []tcase
	page := func(name, file string, v *view, content templ.Component) {
		cases = append(cases, tcase{name: name, page: file, define: "layout", data: v, component: layout(v, content)})
	}
	for _, lang := range []string{"en", "vi"} {
		for _, admin := range []bool{false, true} {
			for i, p := range testUsersViews() {
				v := newView(lang, admin, "admin", p)
				page(fmt.Sprintf("Users/%s/%v/%d", lang, admin, i), "users.html", v, usersContent(v, p))
			}
			for i, p := range testUserViews(lang) {
				v := newView(lang, admin, "admin", p)
				page(fmt.Sprintf("User/%s/%v/%d", lang, admin, i), "user.html", v, userContent(v, p))
			}
			for i, p := range testTokensViews() {
				v := newView(lang, admin, "tokens", p)
				page(fmt.Sprintf("Tokens/%s/%v/%d", lang, admin, i), "tokens.html", v, tokensContent(v, p))
			}
			for i, p := range testAuditViews(cat, lang) {
				v := newView(lang, admin, "audit", p)
				page(fmt.Sprintf("Audit/%s/%v/%d", lang, admin, i), "audit.html", v, auditContent(v, p))
			}
			for i, p := range testDeadLettersViews(lang, admin) {
				v := newView(lang, admin, "dead-letters", p)
				page(fmt.Sprintf("DeadLetters/%s/%v/%d", lang, admin, i), "deadletters.html", v, deadLettersContent(v, p))
			}
			for i, p := range testSessionsViews(lang) {
				v := newView(lang, admin, "admin", p)
				page(fmt.Sprintf("Sessions/%s/%v/%d", lang, admin, i), "sessions.html", v, sessionsContent(v, p))
			}
			for i, p := range testAccountSessionsViews(lang) {
				v := newView(lang, admin, "sessions", p)
				page(fmt.Sprintf("AccountSessions/%s/%v/%d", lang, admin, i), "account_sessions.html", v, accountSessionsContent(v, p))
			}
		}
		for i, st := range testSessionTables(lang, "/account/sessions/") {
			st.ShowUser = i%2 == 0
			cases = append(cases, tcase{name: fmt.Sprintf("SessionTable/%s/%d", lang, i), page: "account_sessions.html", define: "session-table",
				data: st, component: sessionTableBlock(words{cat: cat, lang: lang}, st)})
		}
	}
	for _, c := range cases {
		var want, got bytes.Buffer
		require.NoError(t, before[c.page].ExecuteTemplate(&want, c.define, c.data), c.name)
		require.NoError(t, c.component.Render(t.Context(), &got), c.name)
		require.Equal(t, tokens(t, want.String()), tokens(t, got.String()), "%s\nbefore:\n%s\nafter:\n%s", c.name, want.String(), got.String())
		require.Empty(t, doubleSpaces(t, got.String()), "%s: templ writes the white space it is given, not the templates' indentation", c.name)
	}
}

const (
	testUserID  = "3a2b1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d"
	testTokenID = "9c8b7a6f-5e4d-4c3b-8a29-1f0e9d8c7b6a"
)

// testUsersViews are the users page: users disabled and active with none, one and several
// roles, between other pages, refused with field errors; then an empty first page.
func testUsersViews() []*usersView {
	rows := []userRow{
		{ID: testUserID, Username: `bob "<b>" & co`, DisplayName: `Bob <the> "builder"`, Source: "database", Created: "Dec 1, 2026, 10:00",
			Bindings: []bindingRow{{ID: "1", Role: "admin", Namespace: "*"}, {ID: "2", Role: "writer <w>", Namespace: "ops-eu"}}},
		{ID: testOtherID, Username: "carol", Disabled: true, Created: "Dec 2, 2026, 11:00", Bindings: []bindingRow{{ID: "3", Role: "reader", Namespace: "ops-eu"}}},
		{ID: testJobID, Username: "dave", DisplayName: "Dave", Created: "Dec 3, 2026, 12:00"},
	}
	return []*usersView{
		{Rows: rows, First: "/admin/users", Next: "/admin/users?" + url.Values{"cursor": {"abc=="}}.Encode(),
			Username: `eve "<e>"`, DisplayName: "Eve & <co>", Problem: "The request is invalid: <username> & more",
			FieldErrors: map[string]string{"username": "taken <x>", "display_name": "too long & more", "password": "too short"},
			Message:     "User <created> & saved"},
		{Rows: rows[:1], FieldErrors: map[string]string{}, Next: "/admin/users?cursor=def"},
		{FieldErrors: map[string]string{}},
	}
}

// testSessionTables are a table of sessions (this browser's among them, with and without
// groups) and an empty one; endBase is the start of each row's ending address.
func testSessionTables(lang, endBase string) []sessionTable {
	rows := []sessionRow{
		{ID: testExecID, User: `bob "<b>"`, Subject: `sub|<x> & "q"`, Groups: "ops, <admins> & co", Mode: "Password <p>",
			Started: `Dec 6, 2026, 09:00 "<s>"`, LastSeen: "Dec 6, 2026, 09:55", Ends: "Dec 6, 2026, 21:00", Current: true},
		{ID: testOtherID, User: "carol", Subject: "carol@example.com", Mode: "Single sign-on", Started: "Dec 5, 2026, 08:00",
			LastSeen: "Dec 5, 2026, 18:00", Ends: "Dec 6, 2026, 20:00"},
	}
	for i := range rows {
		rows[i].EndURL = endBase + rows[i].ID + "/end?" + url.Values{"subject": {rows[i].Subject}}.Encode()
	}
	return []sessionTable{{L: lang, Rows: rows}, {L: lang}, {L: lang, Rows: rows[1:]}, {L: lang, Rows: rows[:1]}}
}

// testUserViews are a user's page: active with roles and sessions, refused with field errors;
// disabled with no role, no role to offer and no session.
func testUserViews(lang string) []*userView {
	users := testUsersViews()[0].Rows
	sessions := testSessionTables(lang, "/admin/users/"+testUserID+"/sessions/")
	roles := []option{{Value: "admin", Label: "admin"}, {Value: `writer "<w>"`, Label: `writer "<w>"`, Selected: true}, {Value: "reader", Label: "reader"}}
	return []*userView{
		{User: users[0], Sessions: sessions[0], Roles: roles, Namespace: `ops <eu> & "x"`, Problem: "The role <cannot> be bound & more",
			FieldErrors: map[string]string{"role": "unknown <role>", "namespace": "not a namespace & more"}, Message: "Bound <role> & saved"},
		{User: users[1], Sessions: sessions[1], FieldErrors: map[string]string{}},
		{User: users[2], Sessions: sessions[2], Roles: roles[:1], Namespace: "*", FieldErrors: map[string]string{}},
	}
}

// testTokensViews are the tokens page of a database user: a token just made, tokens revoked,
// never used, without expiry, in every namespace, refused with field errors; then the empty
// page of a single sign-on user.
func testTokensViews() []*tokensView {
	expiry := []option{{Value: "30", Label: "30 days"}, {Value: "90", Label: "90 days", Selected: true}, {Value: "0", Label: "Never <n>"}}
	scopes := []option{{Value: "jobs:read", Label: "jobs:read", Selected: true}, {Value: "jobs:write", Label: "jobs:write"}}
	rows := []tokenRow{
		{ID: testTokenID, Name: `ci "<deploy>" & co`, Namespace: "*", Scopes: "jobs:read, jobs:write", Created: "Dec 1, 2026, 10:00",
			Expires: "Mar 1, 2027, 10:00", LastUsed: "Dec 6, 2026, 09:00"},
		{ID: testOtherID, Name: "old", Namespace: "ops-eu", Scopes: "jobs:read", Created: "Nov 1, 2026, 10:00", Revoked: true},
	}
	return []*tokensView{
		{Rows: rows, Scopes: scopes, Created: `vct_abc<def>&"ghi"`, Name: `new "<t>"`, Namespace: "ops-eu", Expiry: expiry,
			Problem: "The token <cannot> be made & more", FieldErrors: map[string]string{"name": "taken <n>", "scopes": "choose one & more", "namespace": "bad <ns>"},
			Message: "Token <revoked>", DatabaseUser: true},
		{Rows: rows[1:], Scopes: scopes[1:], Namespace: "*", Expiry: expiry, FieldErrors: map[string]string{}, DatabaseUser: true},
		{Namespace: "*", Expiry: expiry, FieldErrors: map[string]string{}},
	}
}

// testAuditViews are the audit log as auditPage builds it: records with and without an actor's
// link, an object's page, a request id, a change before and after, between other pages and
// with refused filters; then an empty log.
func testAuditViews(cat catalogs, lang string) []*auditView {
	f := auditFilter{Actor: `u<1> & "q"`, Action: "job.update", ObjectKind: "job", Namespace: "ops-eu", Since: "2026-12-01T00:00", Until: "bad <until>", Zone: "Mars/Base"}
	actorURL := func(id string) string {
		v := f.values()
		v.Set("actor", id)
		return "/audit?" + v.Encode()
	}
	rows := []auditRow{
		{Seq: 42, Time: "Dec 6, 2026, 09:00", TimeRel: "1 hour ago", ActorID: testUserID, Actor: `ana "<admin>"`, ActorKind: "user",
			ActorURL: actorURL(testUserID), Action: "job.update", ObjectKind: "job", ObjectID: testJobID, ObjectURL: "/jobs/" + testJobID,
			Namespace: "ops-eu", SourceIP: "10.0.0.1", Request: `req-<1> & "2"`,
			Before: "{\n  \"name\": \"<old> & co\"\n}", After: "{\n  \"name\": \"new\"\n}"},
		{Seq: 43, Time: "Dec 6, 2026, 09:30", TimeRel: "30 minutes ago", Actor: "system", ActorKind: "system", Action: "execution.replay",
			ObjectKind: "execution", ObjectID: "not-a-uuid <x>", SourceIP: "", After: "{\"state\": \"replayed\"}"},
		{Seq: 44, Time: "Dec 6, 2026, 09:45", TimeRel: "15 minutes ago", ActorID: "tok", Actor: "tok", ActorKind: "token", ActorURL: actorURL("tok"),
			Action: "variable.delete", ObjectKind: "variable", ObjectID: "TOKEN", Namespace: "*", SourceIP: "::1", Before: "{\"secret\": true}"},
		{Seq: 45, Time: "Dec 6, 2026, 09:50", TimeRel: "10 minutes ago", Actor: "bob", ActorKind: "user", Action: "user.login", ObjectKind: "user",
			ObjectID: testUserID, SourceIP: "192.0.2.1", Request: "r-45"},
	}
	next := f.values()
	next.Set("cursor", "abc==")
	full := &auditView{Filter: f, Rows: rows, First: "/audit?" + f.values().Encode(), Next: "/audit?" + next.Encode(),
		Problem: "The audit log <cannot> be read & more", FieldErrors: map[string]string{"until": "not a time <t>", "zone": "unknown zone & more"}}
	empty := &auditView{Filter: auditFilter{Zone: "UTC"}, FieldErrors: map[string]string{}}
	one := &auditView{Filter: auditFilter{Zone: "UTC"}, Rows: rows[3:], FieldErrors: map[string]string{}, Next: "/audit?cursor=x&zone=UTC"}
	out := []*auditView{full, one, empty}
	for _, av := range out {
		av.Fields = (&UI{cat: cat}).auditFields(lang, av)
	}
	return out
}

// testDeadLettersViews are the dead letters page: letters of jobs still there and gone, with
// the buttons when canAct, refused filters and a message; then an empty page.
func testDeadLettersViews(lang string, canAct bool) []*deadLettersView {
	states := []option{{Value: "pending", Label: "Pending <p>", Selected: true}, {Value: "replayed", Label: "Replayed"}, {Value: "discarded", Label: "Discarded"}}
	row := func(id, job, ns string, gone bool) deadLetterRow {
		return deadLetterRow{execRow: execRow{L: lang, ID: id, JobID: testJobID, JobName: job, Namespace: ns, JobGone: gone,
			Scheduled: "Dec 6, 2026, 02:00", ScheduledRel: "8 hours ago", Zone: "UTC", Attempts: 3, Error: `HTTP 500: "<boom>" & more`},
			Failed: "Dec 6, 2026, 02:05", State: "Pending <p>", Pending: true, CanAct: canAct}
	}
	rows := []deadLetterRow{row(testExecID, `nightly "settle" <report> & co`, "ops-eu", false), row(testOtherID, testJobID, "", true)}
	return []*deadLettersView{
		{State: "pending", Job: `night <x> & "y"`, States: states, Rows: rows, First: "/dead-letters?state=pending",
			Next:    "/dead-letters?" + url.Values{"cursor": {"abc=="}, "job": {`night <x> & "y"`}, "state": {"pending"}}.Encode(),
			Problem: "The dead letters <cannot> be read & more", FieldErrors: map[string]string{"job": "not a job <j>", "state": "unknown & more"},
			Message: "Dead letter <discarded>"},
		{State: "pending", States: states, Rows: rows[1:], FieldErrors: map[string]string{}},
		{State: "replayed", States: states, FieldErrors: map[string]string{}},
	}
}

// testSessionsViews are the identity provider's sessions page: sessions between other pages
// with a message and a refused subject; then an empty first page.
func testSessionsViews(lang string) []*sessionsView {
	tables := testSessionTables(lang, "/admin/sessions/")
	full, empty := tables[0], tables[1]
	full.ShowUser, empty.ShowUser = true, true
	return []*sessionsView{
		{Table: full, First: "/admin/sessions", Next: "/admin/sessions?" + url.Values{"cursor": {"abc=="}}.Encode(), Subject: `sub|<x> & "q"`,
			Problem: "The sessions <cannot> be read & more", Message: "Sessions <ended>",
			FieldErrors: map[string]string{"subject": "not a subject & <more>"}},
		{Table: empty, FieldErrors: map[string]string{}},
	}
}

// testAccountSessionsViews are the page of one's own sessions, with a message, and empty.
func testAccountSessionsViews(lang string) []*accountSessionsView {
	tables := testSessionTables(lang, "/account/sessions/")
	for i := range tables {
		for j := range tables[i].Rows {
			tables[i].Rows[j].EndURL = "/account/sessions/" + tables[i].Rows[j].ID + "/end"
		}
	}
	return []*accountSessionsView{{Table: tables[0], Message: "Session <ended> & gone"}, {Table: tables[1]}}
}

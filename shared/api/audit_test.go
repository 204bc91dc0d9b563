package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

type auditPage struct {
	Items      []audit.Record `json:"items"`
	NextCursor string         `json:"next_cursor"`
}

func (c *client) audit(query string) auditPage {
	c.t.Helper()
	code, _, b := c.do(http.MethodGet, "/api/v1/audit?"+query, "")
	require.Equal(c.t, http.StatusOK, code, string(b))
	var p auditPage
	require.NoError(c.t, json.Unmarshal(b, &p))
	return p
}

// TestChangesAreAuditedWithWhoWhereAndWhat: a change through the API leaves a row naming the
// caller, their address and agent, the request id, and the object before and after, with
// secret values masked.
func TestChangesAreAuditedWithWhoWhereAndWhat(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	code, h, b := c.do(http.MethodPost, "/api/v1/jobs", validJob)
	require.Equal(t, http.StatusCreated, code, string(b))
	var j domain.Job
	require.NoError(t, json.Unmarshal(b, &j))
	require.Equal(t, "token:test", j.CreatedBy, "the job names who made it")
	require.Equal(t, "token:test", j.UpdatedBy)

	rows := c.audit("action=job.create").Items
	require.Len(t, rows, 1)
	r := rows[0]
	require.Equal(t, "token", r.ActorKind)
	require.Equal(t, "token", r.AuthMode)
	require.NotEmpty(t, r.ActorID)
	require.Equal(t, "127.0.0.1", r.SourceIP)
	require.Equal(t, "Go-http-client/1.1", r.UserAgent)
	require.Equal(t, h.Get("X-Request-Id"), r.RequestID)
	require.Equal(t, j.ID, r.ObjectID)
	require.Equal(t, "job", r.ObjectKind)
	require.Equal(t, domain.DefaultNamespace, r.Namespace)
	require.Nil(t, r.Before)
	require.Contains(t, string(r.After), `"name":"nightly report"`)

	code, _, b = c.do(http.MethodPut, "/api/v1/variables/API_KEY", `{"value":"s3cr3t-value","is_secret":true}`)
	require.Equal(t, http.StatusCreated, code, string(b))
	code, _, _ = c.do(http.MethodDelete, "/api/v1/jobs/"+j.ID, "")
	require.Equal(t, http.StatusNoContent, code)
	all := c.audit("")
	require.Equal(t, []string{"job.delete", "variable.put", "job.create"}, actions(all.Items), "newest first")
	require.NotContains(t, string(all.Items[1].After), "s3cr3t", "a secret value never reaches the audit log")
	require.Contains(t, string(all.Items[0].Before), `"name":"nightly report"`, "a delete keeps what was deleted")

	// Keyset pages, and filters that answer what an auditor asks.
	first := c.audit("limit=2")
	require.Len(t, first.Items, 2)
	rest := c.audit("limit=2&cursor=" + first.NextCursor)
	require.Equal(t, []string{"job.create"}, actions(rest.Items))
	require.Len(t, c.audit("object_kind=job&object_id="+j.ID).Items, 2)
	require.Len(t, c.audit("actor="+r.ActorID).Items, 3)
	require.Empty(t, c.audit("since="+url.QueryEscape("2999-01-01T00:00:00Z")).Items)
	p := c.problem(http.MethodGet, "/api/v1/audit?since=yesterday&cursor=x", "", http.StatusBadRequest)
	require.ElementsMatch(t, []string{"since", "cursor"}, fields(p))
}

func actions(rows []audit.Record) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Action)
	}
	return out
}

// TestSignInsAreAudited: successful and failed logins and logouts leave rows; the failure's
// names the username tried and where from, never the password.
func TestSignInsAreAudited(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	u := testfactory.User(t, c.st, testfactory.UserOpts{Role: rbac.RoleViewer})
	anon := &client{t: t, srv: c.srv, st: c.st}
	code, _, _ := anon.do(http.MethodPost, "/api/v1/auth/login", `{"username":"`+u.Username+`","password":"not the password"}`)
	require.Equal(t, http.StatusUnauthorized, code)
	code, _, b := anon.do(http.MethodPost, "/api/v1/auth/login", `{"username":"`+u.Username+`","password":"`+testfactory.Password+`"}`)
	require.Equal(t, http.StatusOK, code, string(b))
	var tok struct {
		RefreshToken string `json:"refresh_token"`
	}
	require.NoError(t, json.Unmarshal(b, &tok))
	code, _, _ = anon.do(http.MethodPost, "/api/v1/auth/logout", `{"refresh_token":"`+tok.RefreshToken+`"}`)
	require.Equal(t, http.StatusNoContent, code)

	rows := c.audit("object_id=" + u.ID).Items
	require.Equal(t, []string{"auth.logout", "auth.login", "auth.login_failed"}, actions(rows))
	failed := rows[2]
	require.Equal(t, "anonymous", failed.ActorKind)
	require.Equal(t, "127.0.0.1", failed.SourceIP)
	require.Contains(t, string(failed.After), u.Username)
	require.NotContains(t, string(failed.After), "not the password")
	require.Equal(t, u.ID, rows[1].ActorID, "a successful login is the user's own")
}

// TestAuditIsReadByNamespace: an admin of one namespace reads that namespace's rows only; rows
// about no single namespace (users, sign-ins, global variables) need audit:read everywhere.
func TestAuditIsReadByNamespace(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	for _, ns := range []string{"team-a", "team-b"} {
		code, _, b := c.do(http.MethodPost, "/api/v1/jobs", strings.Replace(validJob, `"name":"nightly report"`, `"name":"r","namespace":"`+ns+`"`, 1))
		require.Equal(t, http.StatusCreated, code, string(b))
	}
	code, _, _ := c.do(http.MethodPut, "/api/v1/variables/GLOBAL", `{"value":"x"}`)
	require.Equal(t, http.StatusCreated, code)

	teamAdmin := testfactory.User(t, c.st, testfactory.UserOpts{Role: rbac.RoleAdmin, Namespace: "team-a"})
	a := &client{t: t, srv: c.srv, st: c.st, token: testfactory.APIToken(t, c.st, teamAdmin.ID, "", nil)}
	rows := a.audit("").Items
	require.Len(t, rows, 1)
	require.Equal(t, "team-a", rows[0].Namespace)
	require.Empty(t, a.audit("namespace=team-b").Items)
	require.Empty(t, a.audit("namespace=*").Items)
	require.Len(t, c.audit("namespace=*").Items, 1, "the global variable")

	viewer := testfactory.User(t, c.st, testfactory.UserOpts{Role: rbac.RoleViewer})
	v := &client{t: t, srv: c.srv, st: c.st, token: testfactory.APIToken(t, c.st, viewer.ID, "", nil)}
	p := v.problem(http.MethodGet, "/api/v1/audit", "", http.StatusForbidden)
	require.Contains(t, p.Detail, "audit:read")
}

// TestChangeOwnPassword: the current password is required, guesses count against the login
// limit, and the new password replaces the old one.
func TestChangeOwnPassword(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	u := testfactory.User(t, c.st, testfactory.UserOpts{Role: rbac.RoleViewer})
	anon := &client{t: t, srv: c.srv, st: c.st}
	login := func(password string) (int, string) {
		code, _, b := anon.do(http.MethodPost, "/api/v1/auth/login", `{"username":"`+u.Username+`","password":"`+password+`"}`)
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.Unmarshal(b, &tok)
		return code, tok.AccessToken
	}
	code, access := login(testfactory.Password)
	require.Equal(t, http.StatusOK, code)
	me := &client{t: t, srv: c.srv, st: c.st, token: access}

	p := me.problem(http.MethodPost, "/api/v1/auth/password", `{"current_password":"guess","new_password":"a new long password"}`, http.StatusBadRequest)
	require.Equal(t, []string{"current_password"}, fields(p))
	p = me.problem(http.MethodPost, "/api/v1/auth/password", `{"current_password":"`+testfactory.Password+`","new_password":"short"}`, http.StatusBadRequest)
	require.Equal(t, []string{"new_password"}, fields(p))
	code, _, b := me.do(http.MethodPost, "/api/v1/auth/password", `{"current_password":"`+testfactory.Password+`","new_password":"a new long password"}`)
	require.Equal(t, http.StatusNoContent, code, string(b))
	code, _ = login(testfactory.Password)
	require.Equal(t, http.StatusUnauthorized, code, "the old password is gone")
	code, _ = login("a new long password")
	require.Equal(t, http.StatusOK, code)

	// Guessing the current password with a stolen token runs into the login limit: two failures
	// so far (a guess and the old password), three more reach it.
	for range 3 {
		me.problem(http.MethodPost, "/api/v1/auth/password", `{"current_password":"guess","new_password":"a new long password"}`, http.StatusBadRequest)
	}
	code, h, _ := me.do(http.MethodPost, "/api/v1/auth/password", `{"current_password":"a new long password","new_password":"yet another password"}`)
	require.Equal(t, http.StatusTooManyRequests, code)
	require.NotEmpty(t, h.Get("Retry-After"))
}

// TestTokensCannotManageTokens: a pipeline's token cannot mint, list or revoke tokens, so a
// leaked narrow token does not breed or disarm its owner's others.
func TestTokensCannotManageTokens(t *testing.T) {
	t.Parallel()
	c := newClient(t) // signs in with an API token of an admin
	for _, r := range []struct{ method, path, body string }{
		{http.MethodGet, "/api/v1/tokens", ""},
		{http.MethodPost, "/api/v1/tokens", `{"name":"x","scopes":["job:read"]}`},
		{http.MethodDelete, "/api/v1/tokens/01900000-0000-7000-8000-000000000000", ""},
	} {
		p := c.problem(r.method, r.path, r.body, http.StatusForbidden)
		require.Contains(t, p.Detail, "not by another token")
	}
}

// TestCredentialsInClearAreRefusedAndNeverAudited: a job may not hold a credential in clear;
// and should one come in another way (jobs stored before the rule), the audit log, which keeps
// what it is given forever, records it redacted.
func TestCredentialsInClearAreRefusedAndNeverAudited(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	p := c.problem(http.MethodPost, "/api/v1/jobs", `{"name":"with-creds","schedule":{"cron":"0 0 * * * *"},
		"http":{"url":"https://user:pw-in-url@example.test/x?api_key=key-in-query","headers":{"Authorization":"Bearer sk_live_SECRET"}}}`, http.StatusBadRequest)
	require.ElementsMatch(t, []string{"http.url", "http.url", "http.headers.Authorization"}, fields(p))
	require.Contains(t, p.Detail, "secret variable")
	for _, secret := range []string{"sk_live_SECRET", "pw-in-url", "key-in-query"} {
		require.NotContains(t, p.Detail, secret, "the answer does not repeat the credential")
	}

	j := &domain.Job{Name: "legacy", HTTP: &domain.HTTPSpec{URL: "https://user:pw-in-url@example.test/x?api_key=key-in-query",
		Headers: map[string]string{"Authorization": "Bearer sk_live_SECRET"}}, Schedule: domain.Schedule{Cron: "0 0 * * * *"}}
	jobs.WithDefaults(j)
	j.ID, j.Version, j.Shard = "01900000-0000-7000-8000-0000000000aa", 1, 1
	ctx := domain.WithActor(t.Context(), domain.Actor{ID: "import", Kind: "system"})
	require.NoError(t, c.st.CreateJob(ctx, j))
	rows := c.audit("action=job.create").Items
	require.Len(t, rows, 1)
	for _, secret := range []string{"sk_live_SECRET", "pw-in-url", "key-in-query"} {
		require.NotContains(t, string(rows[0].After), secret)
	}
	require.Contains(t, string(rows[0].After), `"legacy"`)
}

// TestSQLPasswordsInClearAreRefused: a sql job may not hold a database password in clear — in
// sql.password or in its connection string, whatever the driver's form, templates elsewhere in
// the string or not — and the answer names the field and says where the password belongs,
// without repeating it. A password given as a secret variable, or no password, is accepted.
func TestSQLPasswordsInClearAreRefused(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	const pw = "pw-in-clear"
	job := func(name, sql string) string {
		return `{"name":"` + name + `","schedule":{"cron":"0 0 * * * *"},"sql":` + sql + `}`
	}
	dsnJob := func(name, driver, dsn string) string {
		b, err := json.Marshal(map[string]any{"driver": driver, "dsn": dsn, "statements": []map[string]string{{"sql": "SELECT 1"}}})
		require.NoError(t, err)
		return job(name, string(b))
	}
	fieldsJob := func(name, driver, password string) string {
		return job(name, `{"driver":"`+driver+`","host":"db.internal","database":"reports","user":"etl","password":"`+password+`","statements":[{"sql":"SELECT 1"}]}`)
	}
	for _, tt := range []struct {
		name, body, field string
	}{
		{"PostgresPasswordField", fieldsJob("a", "postgres", pw), "sql.password"},
		{"MySQLPasswordField", fieldsJob("b", "mysql", pw), "sql.password"},
		{"OraclePasswordField", fieldsJob("c", "oracle", pw), "sql.password"},
		{"PostgresURL", dsnJob("d", "postgres", "postgres://etl:"+pw+"@db.internal:5432/reports?sslmode=require"), "sql.dsn"},
		{"PostgresURLQuery", dsnJob("e", "postgres", "postgresql://etl@db.internal/reports?password="+pw), "sql.dsn"},
		{"PostgresKeywords", dsnJob("f", "postgres", "host=db.internal user=etl password="+pw+" dbname=reports"), "sql.dsn"},
		{"PostgresKeywordsQuoted", dsnJob("g", "postgres", "host=db.internal user=etl password='"+pw+" x' dbname=reports"), "sql.dsn"},
		{"MySQL", dsnJob("h", "mysql", "etl:"+pw+"@tcp(db.internal:3306)/shop?tls=true"), "sql.dsn"},
		{"Oracle", dsnJob("i", "oracle", "oracle://etl:"+pw+"@db.internal:1521/ORCLPDB1"), "sql.dsn"},
		{"PostgresURLTemplatedHost", dsnJob("j", "postgres", "postgres://etl:"+pw+"@{{ var.DB_HOST }}/reports"), "sql.dsn"},
		{"PostgresURLTemplatedPort", dsnJob("k", "postgres", "postgres://etl:"+pw+"@db.internal:{{ var.DB_PORT }}/reports"), "sql.dsn"},
		{"PostgresKeywordsTemplatedPort", dsnJob("l", "postgres", "host=db.internal port={{ var.DB_PORT }} user=etl password="+pw), "sql.dsn"},
		{"MySQLTemplatedAddress", dsnJob("m", "mysql", "etl:"+pw+"@tcp({{ var.DB_ADDR }})/shop"), "sql.dsn"},
		{"OracleTemplatedPort", dsnJob("n", "oracle", "oracle://etl:"+pw+"@db.internal:{{ var.DB_PORT }}/ORCLPDB1"), "sql.dsn"},
		{"PasswordPartlyTemplated", dsnJob("o", "postgres", "postgres://etl:"+pw+"{{ var.DB_PASSWORD }}@db.internal/reports"), "sql.dsn"},
		{"PasswordFieldPartlyTemplated", fieldsJob("p", "postgres", pw+"{{ var.DB_PASSWORD }}"), "sql.password"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := c.in(t)
			p := c.problem(http.MethodPost, "/api/v1/jobs", tt.body, http.StatusBadRequest)
			require.Equal(t, []string{tt.field}, fields(p), p.Detail)
			require.Contains(t, p.Errors[0].Reason, "secret variable")
			require.Contains(t, p.Errors[0].Reason, "{{ var.DB_PASSWORD }}")
			require.NotContains(t, p.Detail, pw, "the answer does not repeat the password")
		})
	}

	for _, tt := range []struct{ name, body string }{
		{"PostgresPasswordField", fieldsJob("ok-a", "postgres", "{{ var.DB_PASSWORD }}")},
		{"MySQLPasswordField", fieldsJob("ok-b", "mysql", "{{ var.DB_PASSWORD }}")},
		{"OraclePasswordField", fieldsJob("ok-c", "oracle", "{{ var.DB_PASSWORD }}")},
		{"PostgresURL", dsnJob("ok-d", "postgres", "postgres://etl:{{ var.DB_PASSWORD }}@db.internal:5432/reports?sslmode=require")},
		{"PostgresKeywords", dsnJob("ok-e", "postgres", "host=db.internal user=etl password={{ var.DB_PASSWORD }} dbname=reports")},
		{"PostgresKeywordsQuoted", dsnJob("ok-f", "postgres", "host=db.internal user=etl password='{{ var.DB_PASSWORD }}' dbname=reports")},
		{"MySQL", dsnJob("ok-g", "mysql", "etl:{{ var.DB_PASSWORD }}@tcp(db.internal:3306)/shop?tls=true")},
		{"Oracle", dsnJob("ok-h", "oracle", "oracle://etl:{{ var.DB_PASSWORD }}@db.internal:1521/ORCLPDB1")},
		{"WholeDSN", dsnJob("ok-i", "postgres", "{{ var.REPORTS_DSN }}")},
		{"TemplatedPort", dsnJob("ok-j", "postgres", "postgres://etl:{{ var.DB_PASSWORD }}@db.internal:{{ var.DB_PORT }}/reports")},
		{"NoPassword", dsnJob("ok-k", "postgres", "postgres://etl@db.internal/reports")},
		{"MySQLNoPassword", dsnJob("ok-l", "mysql", "etl@tcp(db.internal:3306)/shop")},
	} {
		t.Run("Accepts"+tt.name, func(t *testing.T) {
			t.Parallel()
			c := c.in(t)
			code, _, b := c.do(http.MethodPost, "/api/v1/jobs", tt.body)
			require.Equal(t, http.StatusCreated, code, string(b))
		})
	}
}

// TestExecutionsOfUnknownAndHiddenJobsAnswerAlike: ids of other namespaces cannot be probed.
func TestExecutionsOfUnknownAndHiddenJobsAnswerAlike(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	hidden := testfactory.Job(t, c.st, testfactory.JobOpts{Namespace: "team-b"})
	viewer := testfactory.User(t, c.st, testfactory.UserOpts{Role: rbac.RoleViewer, Namespace: "team-a"})
	v := &client{t: t, srv: c.srv, st: c.st, token: testfactory.APIToken(t, c.st, viewer.ID, "", nil)}
	a := v.problem(http.MethodGet, "/api/v1/jobs/"+hidden.ID+"/executions", "", http.StatusNotFound)
	b := v.problem(http.MethodGet, "/api/v1/jobs/01900000-0000-7000-8000-000000000000/executions", "", http.StatusNotFound)
	require.Equal(t, a, b)
}

// TestAReplayedRefreshTokenIsAudited: the sign that a refresh token was stolen is recorded.
func TestAReplayedRefreshTokenIsAudited(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	u := testfactory.User(t, c.st, testfactory.UserOpts{Role: rbac.RoleViewer})
	anon := &client{t: t, srv: c.srv, st: c.st}
	_, _, b := anon.do(http.MethodPost, "/api/v1/auth/login", `{"username":"`+u.Username+`","password":"`+testfactory.Password+`"}`)
	var tok struct {
		RefreshToken string `json:"refresh_token"`
	}
	require.NoError(t, json.Unmarshal(b, &tok))
	body := `{"refresh_token":"` + tok.RefreshToken + `"}`
	code, _, _ := anon.do(http.MethodPost, "/api/v1/auth/refresh", body)
	require.Equal(t, http.StatusOK, code)
	code, _, _ = anon.do(http.MethodPost, "/api/v1/auth/refresh", body)
	require.Equal(t, http.StatusUnauthorized, code)
	require.Equal(t, []string{"auth.refresh_reused", "auth.login"}, actions(c.audit("object_id="+u.ID).Items))
}

// TestAFailedLoginOfNoUserKeepsNoName: a name that is no user's is often a password typed
// into the wrong field; the audit log does not keep it.
func TestAFailedLoginOfNoUserKeepsNoName(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	anon := &client{t: t, srv: c.srv, st: c.st}
	code, _, _ := anon.do(http.MethodPost, "/api/v1/auth/login", `{"username":"MyS3cretPassw0rd","password":"x"}`)
	require.Equal(t, http.StatusUnauthorized, code)
	rows := c.audit("action=auth.login_failed").Items
	require.Len(t, rows, 1)
	require.NotContains(t, string(rows[0].After), "MyS3cretPassw0rd")
}

// TestInputThatTheDatabaseWouldRefuseIsA400: what PostgreSQL would reject is refused first,
// naming the field.
func TestInputThatTheDatabaseWouldRefuseIsA400(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	for body, field := range map[string]string{
		`{"name":"a\u0000b","schedule":{"cron":"* * * * * *"},"http":{"url":"http://a.test/"}}`:                         "name",
		`{"name":"n","schedule":{"cron":"* * * * * *"},"http":{"url":"http://a.test/","body":"x\u0000"}}`:               "http.body",
		`{"name":"n","schedule":{"cron":"* * * * * *"},"http":{"url":"http://a.test/","headers":{"X-A":"\u0000"}}}`:     "http.headers.X-A",
		`{"name":"n","timeout":"1ns","schedule":{"cron":"* * * * * *"},"http":{"url":"http://a.test/"}}`:                "timeout",
		`{"name":"n","name":"m","schedule":{"cron":"* * * * * *"},"http":{"url":"http://a.test/"}}`:                     "name",
		`{"name":"n","schedule":{"cron":"* * * * * *"},"http":{"url":"http://a.test/","headers":{"Host":"evil.test"}}}`: "http.headers.Host",
		`{"name":"n","schedule":{"cron":"* * * * * *"},"http":{"url":"http://a.test/","headers":{"A":"1","A":"2"}}}`:    "http.headers.A",
	} {
		p := c.problem(http.MethodPost, "/api/v1/jobs", body, http.StatusBadRequest)
		require.Contains(t, fields(p), field, body)
	}
	j := testfactory.Job(t, c.st, testfactory.JobOpts{})
	p := c.problem(http.MethodPost, "/api/v1/jobs/"+j.ID+"/backfill", `{"from":"2026-01-01T00:00:00Z","to":"2026-01-01T00:00:05Z","rate":1e-300}`, http.StatusBadRequest)
	require.Equal(t, []string{"rate"}, fields(p))
	p = c.problem(http.MethodPut, "/api/v1/variables/V", `{"value":"a\u0000b"}`, http.StatusBadRequest)
	require.Equal(t, []string{"value"}, fields(p))
	c.problem(http.MethodGet, "/api/v1/jobs?namespace=a%00b", "", http.StatusBadRequest)
	c.problem(http.MethodGet, "/api/v1/jobs/not-a-uuid/variables", "", http.StatusNotFound)
}

package api

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/ratelimit"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/redisconn"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/server"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/variables"
	"github.com/vecron/vecron/shared/webhook"
)

// The namespaces of the matrix: callers are bound in own (or in all namespaces).
const (
	ownNS   = "team-a"
	otherNS = "team-b"
)

// scope says where a route's permission is checked.
type scope int

const (
	inNamespace scope = iota // in the namespace of the object (or of the body, for a create)
	anywhere                 // in some namespace: lists and previews, filtered afterwards
	global                   // for all namespaces: users, roles, global variables
)

// matrixRoute is how the matrix drives one route of the table.
type matrixRoute struct {
	scope scope
	// body is the request body for a fixture; empty sends none.
	body func(f *fixture) string
	// notAudited says why a write records nothing (empty: it must record a row).
	notAudited string
	// prepare, when set, readies the fixture (enable needs a disabled job to change anything).
	prepare func(t *testing.T, e *accessEnv, f *fixture)
	// expect, when set, overrides the table's answer for a caller (0: success).
	expect func(id *rbac.Identity, ns string) int
	// contentType, when set, replaces application/json.
	contentType string
	// headers, when set, are header pairs to send with body.
	headers func(f *fixture, body string) []string
}

// matrix holds, for every route of the table, how to call it. TestRoutesAreAllInTheMatrix
// fails for a route of the table that is missing here, so a new route is never left out.
var matrix = map[string]matrixRoute{
	"GET /healthz":                       {},
	"GET /readyz":                        {},
	"GET /api/v1/openapi.json":           {},
	"GET /api/docs":                      {},
	"GET /api/docs/init.js":              {},
	"GET /api/docs/swagger-ui-bundle.js": {},
	"GET /api/docs/swagger-ui.css":       {},
	"POST /api/v1/auth/login": {body: func(f *fixture) string {
		return fmt.Sprintf(`{"username":%q,"password":%q}`, f.caller.Username, testfactory.Password)
	}},
	"POST /api/v1/auth/refresh": {prepare: signIn, body: func(f *fixture) string { return fmt.Sprintf(`{"refresh_token":%q}`, f.refresh) }, notAudited: "a refresh continues the session its login recorded"},
	"POST /api/v1/auth/logout":  {prepare: signIn, body: func(f *fixture) string { return fmt.Sprintf(`{"refresh_token":%q}`, f.refresh) }},
	"GET /api/v1/auth/me":       {},
	"POST /api/v1/auth/password": {body: func(*fixture) string {
		return `{"current_password":"` + testfactory.Password + `","new_password":"another long password"}`
	}},
	"GET /api/v1/auth/jwks":   {},
	"POST /api/v1/jobs":       {body: func(f *fixture) string { return jobBody("new-"+uuid.NewString(), f.ns) }},
	"GET /api/v1/jobs":        {scope: anywhere},
	"GET /api/v1/jobs/export": {scope: anywhere},
	"POST /api/v1/jobs/apply": {body: func(f *fixture) string {
		return `{"jobs":[` + jobBody("applied-"+uuid.NewString(), f.ns) + `]}`
	}},
	"GET /api/v1/jobs/{id}":    {},
	"DELETE /api/v1/jobs/{id}": {},
	"PUT /api/v1/jobs/{id}":    {body: func(f *fixture) string { return jobBody("edited-"+uuid.NewString(), f.ns) }},
	"PATCH /api/v1/jobs/{id}":  {body: func(*fixture) string { return `{"description":"edited"}` }},
	"POST /api/v1/jobs/{id}/enable": {prepare: func(t *testing.T, e *accessEnv, f *fixture) {
		_, err := e.st.SetEnabled(context.Background(), f.job.ID, false, nil, time.Now().UTC())
		require.NoError(t, err)
	}},
	"POST /api/v1/jobs/{id}/disable":   {},
	"GET /api/v1/jobs/{id}/executions": {},
	"GET /api/v1/jobs/{id}/stats":      {},
	"GET /api/v1/jobs/{id}/upstream":   {},
	"GET /api/v1/jobs/{id}/fires":      {},
	"GET /api/v1/jobs/{id}/alerts":     {},
	"GET /api/v1/jobs/{id}/missed":     {},
	"POST /api/v1/jobs/{id}/backfill": {body: func(*fixture) string {
		return `{"from":"2026-01-01T00:00:00Z","to":"2026-01-01T00:00:02Z"}`
	}},
	"POST /api/v1/jobs/{id}/clone": {body: func(*fixture) string { return `{"name":"clone-` + uuid.NewString() + `"}` }},
	// The fixture's job has no event trigger: the event matches nothing, and changes nothing.
	"POST " + EventsPath: {scope: anywhere, contentType: structuredMediaType, notAudited: "an event that matches nothing records nothing",
		body: func(*fixture) string {
			return `{"specversion":"1.0","id":"matrix-1","source":"/matrix","type":"io.example.matrix"}`
		}},
	"POST /api/v1/jobs/{id}/trigger":   {body: func(*fixture) string { return `{"payload":{"reason":"matrix"}}` }},
	"GET /api/v1/jobs/{id}/webhook":    {prepare: withWebhook},
	"POST /api/v1/jobs/{id}/webhook":   {},
	"DELETE /api/v1/jobs/{id}/webhook": {prepare: withWebhook},
	// Public: the signature is the credential, whoever else the caller is.
	"POST " + hooksPattern: {prepare: withWebhook, body: func(*fixture) string { return `{"matrix":"` + uuid.NewString() + `"}` },
		headers: func(f *fixture, body string) []string {
			now := time.Now()
			return []string{webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10), webhook.HeaderSignature, webhook.Sign(f.hook.Secret, now, []byte(body))}
		}},
	"POST /api/v1/schedules/preview": {scope: anywhere, body: func(*fixture) string { return `{"schedule":{"cron":"0 0 * * * *"},"count":1}` },
		notAudited: "a preview changes nothing"},
	"GET /api/v1/executions":               {scope: anywhere},
	"GET /api/v1/executions/{id}":          {},
	"GET /api/v1/executions/{id}/timeline": {},
	"POST /api/v1/executions/{id}/cancel": {body: func(*fixture) string { return `{"reason":"matrix"}` },
		prepare: func(t *testing.T, e *accessEnv, f *fixture) { f.dead = testfactory.RunningExclusive(t, e.st, f.job) }},
	// The matrix's API runs without NATS, so a caller let through gets 503; the stream's own
	// tests show who sees what with one.
	"GET /api/v1/stream": {expect: func(id *rbac.Identity, _ string) int {
		if !id.CanAnywhere(domain.PermExecutionRead) {
			return http.StatusForbidden
		}
		return http.StatusServiceUnavailable
	}},
	"GET /api/v1/dead-letters":                  {scope: anywhere},
	"POST /api/v1/dead-letters/{id}/replay":     {},
	"POST /api/v1/dead-letters/{id}/discard":    {},
	"GET /api/v1/variables":                     {scope: global},
	"POST /api/v1/variables":                    {scope: global, body: func(f *fixture) string { return `{"name":"` + f.variable + `N","value":"x"}` }},
	"GET /api/v1/variables/{name}":              {scope: global},
	"PUT /api/v1/variables/{name}":              {scope: global, body: func(*fixture) string { return `{"value":"y"}` }},
	"DELETE /api/v1/variables/{name}":           {scope: global},
	"GET /api/v1/jobs/{id}/variables":           {},
	"POST /api/v1/jobs/{id}/variables":          {body: func(*fixture) string { return `{"name":"NEW","value":"x"}` }},
	"GET /api/v1/jobs/{id}/variables/{name}":    {},
	"PUT /api/v1/jobs/{id}/variables/{name}":    {body: func(*fixture) string { return `{"value":"y"}` }},
	"DELETE /api/v1/jobs/{id}/variables/{name}": {},
	"GET /api/v1/tokens":                        {},
	"POST /api/v1/tokens": {body: func(*fixture) string { return `{"name":"ci","scopes":["job:read"],"namespace":"` + ownNS + `"}` },
		expect: func(id *rbac.Identity, _ string) int {
			if id.Can(domain.PermJobRead, ownNS) {
				return 0
			}
			return http.StatusForbidden // a token never carries more than its creator holds
		}},
	"DELETE /api/v1/tokens/{id}": {},
	// {id} is a dashboard session of the caller's own: each may end it, an admin anyone's.
	"GET /api/v1/auth/sessions":         {},
	"DELETE /api/v1/auth/sessions/{id}": {},
	"GET /api/v1/sessions":              {scope: global},
	"POST /api/v1/sessions/end":         {scope: global, body: func(f *fixture) string { return `{"user_id":"` + f.target.ID + `"}` }},
	"DELETE /api/v1/sessions/{id}":      {scope: global},
	"GET /api/v1/changes":               {scope: anywhere},
	"GET /api/v1/changes/{id}":          {},
	"POST /api/v1/changes/{id}/approve": {body: func(*fixture) string { return `{"comment":"matrix"}` }},
	"POST /api/v1/changes/{id}/reject":  {body: func(*fixture) string { return `{"comment":"matrix"}` }},
	// Only its requester withdraws a change: the matrix's caller asks for it first.
	"POST /api/v1/changes/{id}/withdraw": {prepare: func(t *testing.T, e *accessEnv, f *fixture) {
		f.change = testfactory.Change(t, e.st, f.job, f.caller, "withdrawn by its requester")
	}},
	"GET /api/v1/namespaces/{namespace}/settings": {},
	"PUT /api/v1/namespaces/{namespace}/settings": {scope: global, body: func(*fixture) string { return `{"four_eyes":false}` }},
	"GET /api/v1/audit":                           {scope: anywhere},
	"GET /api/v1/users":                           {scope: global},
	"POST /api/v1/users": {scope: global, body: func(*fixture) string {
		return `{"username":"u-` + uuid.NewString()[:8] + `","password":"a long enough password"}`
	}},
	"GET /api/v1/users/{id}":      {scope: global},
	"PATCH /api/v1/users/{id}":    {scope: global, body: func(*fixture) string { return `{"display_name":"Renamed"}` }},
	"DELETE /api/v1/users/{id}":   {scope: global},
	"GET /api/v1/roles":           {scope: global},
	"PUT /api/v1/roles/{name}":    {scope: global, body: func(*fixture) string { return `{"permissions":["job:read"]}` }},
	"DELETE /api/v1/roles/{name}": {scope: global},
	"GET /api/v1/role-bindings":   {scope: global},
	"POST /api/v1/role-bindings": {scope: global, body: func(f *fixture) string {
		return `{"role":"operator","user_id":"` + f.target.ID + `","namespace":"` + ownNS + `"}`
	}},
	"DELETE /api/v1/role-bindings/{id}": {scope: global},

	"POST /api/v1/calendars": {body: func(f *fixture) string {
		return `{"name":"new-` + strings.ToLower(uuid.NewString()[:8]) + `","namespace":"` + f.ns + `","weekdays":["mon","tue","wed","thu","fri"]}`
	}, expect: func(id *rbac.Identity, ns string) int { return canOr403(id, domain.PermJobWrite, ns) }},
	"GET /api/v1/calendars":           {scope: anywhere},
	"GET /api/v1/calendars/{name}":    {},
	"PUT /api/v1/calendars/{name}":    {body: func(*fixture) string { return `{"excluded_dates":[{"date":"2026-02-17","label":"Tết"}]}` }},
	"DELETE /api/v1/calendars/{name}": {},
	// A freeze of the matrix starts in an hour: one that held the namespaces would stop the
	// runs the other cases start.
	"POST /api/v1/freezes": {body: func(f *fixture) string {
		return fmt.Sprintf(`{"namespace":%q,"reason":"matrix","starts_at":%q,"ends_at":%q}`, f.ns,
			time.Now().Add(time.Hour).Format(time.RFC3339), time.Now().Add(2*time.Hour).Format(time.RFC3339))
	}, expect: func(id *rbac.Identity, ns string) int { return canOr403(id, domain.PermJobEnable, ns) }},
	"GET /api/v1/freezes":         {scope: anywhere},
	"GET /api/v1/freezes/{id}":    {},
	"DELETE /api/v1/freezes/{id}": {},
}

// canOr403 is the answer to a create in namespace ns: it never says 404.
func canOr403(id *rbac.Identity, p domain.Permission, ns string) int {
	if id.Can(p, ns) {
		return 0
	}
	return http.StatusForbidden
}

func signIn(t *testing.T, e *accessEnv, f *fixture) { e.signIn(t, f) }

func jobBody(name, ns string) string {
	return fmt.Sprintf(`{"name":%q,"namespace":%q,"schedule":{"cron":"0 0 * * * *"},"http":{"url":"http://127.0.0.1:9/"}}`, name, ns)
}

// accessEnv is an API over a store of the test's own.
type accessEnv struct {
	s     *Server
	st    *store.Store
	vars  *variables.Service
	token func(u *domain.User) string
}

func newAccessEnv(t testing.TB) *accessEnv {
	t.Helper()
	st, _ := testfactory.Store(t)
	key, err := secret.NewKey("test")
	require.NoError(t, err)
	keys, err := secret.ParseKeys(key)
	require.NoError(t, err)
	ident := testfactory.Identity(t, st, testfactory.AuthConfig(t), time.Now)
	vars := variables.New(st, keys, time.Now)
	redisURL, prefix := testenv.RedisURL(t)
	rdb, err := redisconn.Open(redisconn.Config{URL: redisURL}, "ratelimit", nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	s := New(Deps{Jobs: jobs.New(st, time.Now), Vars: vars, Store: st, Identity: ident,
		Checks: []server.Check{{Name: "postgres", Fn: st.Ping}}, Keys: keys, WebhookLimiter: ratelimit.NewEvents(rdb, prefix)}, time.Now, testenv.Logger(t))
	return &accessEnv{s: s, st: st, vars: vars, token: func(u *domain.User) string {
		tok, _, err := ident.Signer().Issue(u.ID)
		require.NoError(t, err)
		return tok
	}}
}

// fixture is what one request of the matrix acts on, made fresh for it: writes cannot spoil
// the cases after them.
type fixture struct {
	ns       string // the namespace of the objects
	caller   *domain.User
	job      *domain.Job
	dead     *domain.Execution
	target   *domain.User // a user to read, change or delete
	role     string       // a custom role, bound to nobody
	binding  *domain.RoleBinding
	tokenID  string // an API token of the caller
	refresh  string // a refresh token of the caller
	variable string
	change   *domain.Change       // a pending edit of job, asked for by target
	calendar string               // a calendar of ns
	freeze   string               // a freeze of ns, starting in an hour
	session  string               // a dashboard session of the caller
	hook     *jobs.EnabledWebhook // the job's webhook, when the route's prepare made one
}

// withWebhook enables the webhook of f's job.
func withWebhook(t *testing.T, e *accessEnv, f *fixture) {
	t.Helper()
	h, err := e.s.jobs.EnableWebhook(context.Background(), e.st, e.s.keys, f.job)
	require.NoError(t, err)
	f.hook = h
}

func (e *accessEnv) fixture(t testing.TB, caller *domain.User, ns string) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{ns: ns, caller: caller, variable: "V" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")}
	f.job = testfactory.Job(t, e.st, testfactory.JobOpts{Namespace: ns})
	f.dead = testfactory.DeadLetter(t, e.st, f.job)
	value := "v"
	_, _, err := e.vars.Put(ctx, domain.ScopeJob, f.job.ID, f.variable, variables.PutRequest{Value: &value})
	require.NoError(t, err)
	_, _, err = e.vars.Put(ctx, domain.ScopeGlobal, "", f.variable, variables.PutRequest{Value: &value})
	require.NoError(t, err)
	f.target = testfactory.User(t, e.st, testfactory.UserOpts{})
	f.role = "role-" + strings.ToLower(uuid.NewString()[:8])
	_, err = e.st.PutRole(ctx, &domain.Role{Name: f.role, Permissions: []domain.Permission{domain.PermJobRead}}, time.Now())
	require.NoError(t, err)
	f.binding = &domain.RoleBinding{ID: uuid.NewString(), Role: rbac.RoleViewer, UserID: f.target.ID, Namespace: ns, CreatedAt: time.Now().UTC()}
	require.NoError(t, e.st.CreateBinding(ctx, f.binding))
	tok := &domain.APIToken{ID: uuid.NewString(), UserID: caller.ID, Name: "t", Scopes: []domain.Permission{domain.PermJobRead},
		Namespace: domain.AllNamespaces, CreatedAt: time.Now().UTC(), Hash: []byte(uuid.NewString())}
	require.NoError(t, e.st.CreateAPIToken(ctx, tok))
	f.tokenID = tok.ID
	f.change = testfactory.Change(t, e.st, f.job, f.target, "edited by the matrix")
	f.calendar = "cal-" + strings.ToLower(uuid.NewString()[:8])
	require.NoError(t, e.st.CreateCalendar(ctx, &domain.Calendar{Name: f.calendar, Namespace: ns, Version: 1, CreatedAt: time.Now(), UpdatedAt: time.Now()}))
	ds, _ := testfactory.DashboardSession(t, e.st, testfactory.SessionOpts{User: caller})
	f.session = ds.ID
	f.freeze = uuid.NewString()
	require.NoError(t, e.st.CreateFreeze(ctx, &domain.Freeze{ID: f.freeze, Namespace: ns, Reason: "matrix",
		StartsAt: time.Now().Add(time.Hour), EndsAt: time.Now().Add(2 * time.Hour), CreatedAt: time.Now()}))
	return f
}

// headersOf returns the header pairs m sends with body.
func headersOf(m matrixRoute, f *fixture, body string) []string {
	if m.headers == nil {
		return nil
	}
	return m.headers(f, body)
}

// signIn gives f a refresh token of its caller's, by a login (the API's own path to one).
func (e *accessEnv) signIn(t *testing.T, f *fixture) {
	t.Helper()
	rec := e.call(t, http.MethodPost, "/api/v1/auth/login", "", fmt.Sprintf(`{"username":%q,"password":%q}`, f.caller.Username, testfactory.Password))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	f.refresh = strings.Split(strings.Split(rec.Body.String(), `"refresh_token":"`)[1], `"`)[0]
}

func (e *accessEnv) call(t testing.TB, method, path, token, body string) *httptest.ResponseRecorder {
	t.Helper()
	return e.callAs(t, method, path, token, body, "application/json")
}

// callAs is call with the body's content type and header pairs.
func (e *accessEnv) callAs(t testing.TB, method, path, token, body, contentType string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", contentType)
	if method == http.MethodPut || method == http.MethodPatch {
		req.Header.Set("If-Match", "*") // edits of jobs are conditional; the others ignore it
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.s.ServeHTTP(rec, req)
	return rec
}

// path fills a route's parameters with f's objects.
func (f *fixture) path(pattern string) string {
	id := f.job.ID
	switch {
	case strings.HasPrefix(pattern, "/api/v1/executions/"), strings.HasPrefix(pattern, "/api/v1/dead-letters/"):
		id = f.dead.ID
	case strings.HasPrefix(pattern, "/api/v1/users/"):
		id = f.target.ID
	case strings.HasPrefix(pattern, "/api/v1/role-bindings/"):
		id = f.binding.ID
	case strings.HasPrefix(pattern, "/api/v1/tokens/"):
		id = f.tokenID
	case strings.HasPrefix(pattern, "/api/v1/changes/"):
		id = f.change.ID
	case strings.HasPrefix(pattern, "/api/v1/freezes/"):
		id = f.freeze
	case strings.HasPrefix(pattern, "/api/v1/sessions/"), strings.HasPrefix(pattern, "/api/v1/auth/sessions/"):
		id = f.session
	}
	name := f.variable
	switch {
	case strings.HasPrefix(pattern, "/api/v1/roles/"):
		name = f.role
	case strings.HasPrefix(pattern, "/api/v1/calendars/"):
		name = f.calendar
	}
	token := ""
	if f.hook != nil {
		token = f.hook.Token
	}
	return strings.NewReplacer("{id}", id, "{name}", name, "{namespace}", f.ns, "{token}", token).Replace(pattern)
}

// caller is one identity of the matrix.
type caller struct {
	name, role, ns string // role "" holds nothing
}

var callers = []caller{
	{"Nobody", "", ""},
	{"Viewer", rbac.RoleViewer, ownNS},
	{"Operator", rbac.RoleOperator, ownNS},
	{"Editor", rbac.RoleEditor, ownNS},
	{"Admin", rbac.RoleAdmin, ownNS},
	{"GlobalAdmin", rbac.RoleAdmin, domain.AllNamespaces},
	{"GlobalViewer", rbac.RoleViewer, domain.AllNamespaces},
	{"Approver", rbac.RoleApprover, ownNS},
}

// expected returns the status class a caller gets: 0 for success (2xx), else 401, 403 or 404.
func expected(rt route, m matrixRoute, id *rbac.Identity, ns string) int {
	if m.expect != nil {
		return m.expect(id, ns)
	}
	if rt.access.public || rt.access.perm == "" {
		return 0
	}
	p := rt.access.perm
	if !id.CanAnywhere(p) {
		return http.StatusForbidden
	}
	switch m.scope {
	case anywhere:
		return 0
	case global:
		if id.Can(p, domain.AllNamespaces) {
			return 0
		}
		return http.StatusForbidden
	}
	// A job's variables are written with job:write as well.
	needJobWrite := strings.Contains(rt.pattern, "/variables") && p == domain.PermVariableWrite
	if id.Can(p, ns) && (!needJobWrite || id.Can(domain.PermJobWrite, ns)) {
		return 0
	}
	if rt.method == http.MethodPost && rt.pattern == "/api/v1/jobs" {
		return http.StatusForbidden // a create never says 404
	}
	if !id.Sees(ns) {
		return http.StatusNotFound
	}
	return http.StatusForbidden
}

// TestAccessMatrix calls every route of the table as every built-in role, bound in the
// objects' namespace and in another one, and as nobody; each gets what the table and the roles
// say. Each allowed write of an admin leaves an audit row with its request id.
func TestAccessMatrix(t *testing.T) {
	t.Parallel()
	e := newAccessEnv(t)
	for _, rt := range e.s.routes() {
		key := rt.method + " " + rt.pattern
		m, ok := matrix[key]
		require.True(t, ok, "route %s is missing from the matrix", key)
		t.Run(strings.NewReplacer("/", "_", " ", "_", "{", "", "}", "").Replace(key), func(t *testing.T) {
			t.Parallel()
			// Anonymous: 401 with a challenge, unless public.
			f := e.fixture(t, testfactory.User(t, e.st, testfactory.UserOpts{}), ownNS)
			if m.prepare != nil {
				m.prepare(t, e, f)
			}
			var body string
			if m.body != nil {
				body = m.body(f)
			}
			ctype := cmp.Or(m.contentType, "application/json")
			rec := e.callAs(t, rt.method, f.path(rt.pattern), "", body, ctype, headersOf(m, f, body)...)
			if rt.access.public {
				require.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}, rec.Code, "%s anonymously: %s", key, rec.Body.String())
			} else {
				require.Equal(t, http.StatusUnauthorized, rec.Code, "%s anonymously", key)
				require.Contains(t, rec.Header().Get("WWW-Authenticate"), "Bearer")
			}
			// Reads change nothing, so their callers share one fixture per namespace.
			shared := map[string]*fixture{}
			who := callers
			if rt.access.public {
				// Nobody's rights matter to a public route; one caller shows a credential does
				// not get in its way.
				who = callers[len(callers)-1:]
			}
			for _, c := range who {
				for _, ns := range []string{ownNS, otherNS} {
					u := testfactory.User(t, e.st, testfactory.UserOpts{Role: c.role, Namespace: c.ns})
					if c.role == "" {
						u = testfactory.User(t, e.st, testfactory.UserOpts{})
					}
					id := rbac.NewIdentity(u.ID, u.Username, rbac.KindUser, "database", u.ID, grantsOf(c))
					f := shared[ns]
					if f == nil {
						f = e.fixture(t, u, ns)
						if m.prepare != nil {
							m.prepare(t, e, f)
						}
						if rt.method == http.MethodGet {
							shared[ns] = f
						}
					}
					body = ""
					if m.body != nil {
						body = m.body(f)
					}
					rec := e.callAs(t, rt.method, f.path(rt.pattern), e.token(u), body, ctype, headersOf(m, f, body)...)
					want := expected(rt, m, id, ns)
					what := fmt.Sprintf("%s as %s, objects in %s: %s", key, c.name, ns, rec.Body.String())
					if want == 0 {
						require.True(t, rec.Code >= 200 && rec.Code < 300, "want 2xx, got %d: %s", rec.Code, what)
						if rt.method != http.MethodGet && m.notAudited == "" {
							requireAudited(t, e.st, rec.Header().Get(requestIDHeader), what)
						}
						continue
					}
					require.Equal(t, want, rec.Code, what)
					if want == http.StatusForbidden && rt.access.perm != "" {
						require.Contains(t, rec.Body.String(), "missing permission "+string(rt.access.perm), what)
					}
				}
			}
		})
	}
}

func grantsOf(c caller) []domain.Grant {
	if c.role == "" {
		return nil
	}
	r, _ := rbac.BuiltinRole(c.role)
	return []domain.Grant{{Namespace: c.ns, Permissions: r.Permissions}}
}

func requireAudited(t *testing.T, st *store.Store, requestID, what string) {
	t.Helper()
	require.NotEmpty(t, requestID)
	rows, err := st.ListAudit(t.Context(), store.AuditFilter{Limit: 500})
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(rows, func(r *audit.Record) bool { return r.RequestID == requestID }), "no audit row for %s", what)
}

// TestRoutesAreAllInTheTable walks the router: every route it serves comes from the table,
// and every route of the table is in the matrix.
func TestRoutesAreAllInTheTable(t *testing.T) {
	t.Parallel()
	s := New(Deps{}, time.Now, testenv.Logger(t))
	table := map[string]bool{}
	for _, rt := range s.routes() {
		key := rt.method + " " + rt.pattern
		require.False(t, table[key], "%s is in the table twice", key)
		table[key] = true
		_, ok := matrix[key]
		require.True(t, ok, "%s is missing from the access matrix", key)
		if !rt.access.public && rt.access.perm != "" {
			require.True(t, rbac.Known(rt.access.perm), "%s needs an unknown permission %s", key, rt.access.perm)
		}
	}
	served := 0
	require.NoError(t, chi.Walk(s.router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		served++
		require.True(t, table[method+" "+route], "%s %s is served but not in the route table", method, route)
		return nil
	}))
	require.Equal(t, len(table), served)
	for key := range matrix {
		require.True(t, table[key], "the matrix names %s, which the table does not have", key)
	}
}

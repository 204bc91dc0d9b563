package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

// conformance sends requests to an API and checks each answer — status, headers and body —
// against the OpenAPI document that API serves, and each request it was asked to send as valid
// against the same document, so that the examples a reader copies work.
type conformance struct {
	t      *testing.T
	c      *client
	router routers.Router
	// checked are the operations whose answers were checked ("GET /api/v1/jobs/{id}").
	checked map[string]bool
}

func newConformance(t *testing.T, c *client) *conformance {
	t.Helper()
	// The reference page and its assets are text; openapi3filter knows text/plain only. Its
	// registry is guarded by a lock, and registering the same decoder again changes nothing.
	for _, ct := range []string{"text/html", "text/javascript", "text/css"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
	}
	code, _, body := c.do(http.MethodGet, "/api/v1/openapi.json", "")
	require.Equal(t, http.StatusOK, code)
	doc, err := openapi3.NewLoader().LoadFromData(body)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(t.Context()))
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	return &conformance{t: t, c: c, router: router, checked: map[string]bool{}}
}

// call sends a request the document describes and checks the answer; header holds pairs of
// names and values (Content-Type defaults to JSON).
func (v *conformance) call(method, path, body string, header ...string) (int, http.Header, []byte) {
	v.t.Helper()
	return v.send(true, method, path, body, header...)
}

// wrong sends a request the document says is wrong (a bad body, a missing header…) and checks
// that the answer is one the document describes.
func (v *conformance) wrong(method, path, body string, header ...string) (int, http.Header, []byte) {
	v.t.Helper()
	return v.send(false, method, path, body, header...)
}

func (v *conformance) send(valid bool, method, path, body string, header ...string) (int, http.Header, []byte) {
	t := v.t
	t.Helper()
	newRequest := func() *http.Request {
		req, err := http.NewRequestWithContext(t.Context(), method, v.c.srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		if body != "" || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
			req.Header.Set("Content-Type", "application/json") // a write without a body too
		}
		if v.c.token != "" {
			req.Header.Set("Authorization", "Bearer "+v.c.token)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		return req
	}
	req := newRequest()
	route, params, err := v.router.FindRoute(req)
	require.NoError(t, err, "%s %s is not in the document", method, path)
	what := method + " " + path
	input := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if valid {
		require.NoError(t, openapi3filter.ValidateRequest(t.Context(), input), "the request %s does not conform", what)
		input.Request = newRequest() // the validation read the body
	}

	resp, err := http.DefaultClient.Do(input.Request)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	err = openapi3filter.ValidateResponse(t.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(b)),
		// A status the document does not list fails too.
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	require.NoError(t, err, "the answer to %s (%d) does not conform: %s", what, resp.StatusCode, b)
	v.checked[method+" "+route.Path] = true
	return resp.StatusCode, resp.Header, b
}

// jsonField returns the string field name of the JSON object b.
func jsonField(t *testing.T, b []byte, name string) string {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), string(b))
	s, _ := m[name].(string)
	require.NotEmpty(t, s, "%s in %s", name, b)
	return s
}

// TestOpenAPIConformance tours the API as its reader would — sign in, create a job, read,
// list, edit it conditionally, run it, read its history, and the rest — and checks every answer,
// the problems included, against the OpenAPI document the API serves.
func TestOpenAPIConformance(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	v := newConformance(t, c)
	admin := testfactory.User(t, c.st, testfactory.UserOpts{Role: rbac.RoleAdmin})

	// Probes and the document itself.
	v.call(http.MethodGet, "/healthz", "")
	v.call(http.MethodGet, "/readyz", "")
	v.call(http.MethodGet, "/api/v1/openapi.json", "")
	for _, p := range []string{"/api/docs", "/api/docs/init.js", "/api/docs/swagger-ui.css"} {
		code, _, _ := v.call(http.MethodGet, p, "")
		require.Equal(t, http.StatusOK, code, p)
	}

	// Sign in, as the README does.
	c.token = ""
	login := `{"username":"` + admin.Username + `","password":"` + testfactory.Password + `"}`
	code, _, _ := v.wrong(http.MethodPost, "/api/v1/auth/login", `{"username":"`+admin.Username+`","password":"not it"}`)
	require.Equal(t, http.StatusUnauthorized, code)
	code, _, b := v.call(http.MethodPost, "/api/v1/auth/login", login)
	require.Equal(t, http.StatusOK, code, string(b))
	refresh := jsonField(t, b, "refresh_token")
	c.token = jsonField(t, b, "access_token")
	code, _, b = v.call(http.MethodPost, "/api/v1/auth/refresh", `{"refresh_token":"`+refresh+`"}`)
	require.Equal(t, http.StatusOK, code, string(b))
	c.token = jsonField(t, b, "access_token")
	v.call(http.MethodGet, "/api/v1/auth/me", "")
	v.call(http.MethodGet, "/api/v1/auth/jwks", "")

	// A job: create, read, list, edit with If-Match, pause and resume.
	code, h, b := v.call(http.MethodPost, "/api/v1/jobs", validJob)
	require.Equal(t, http.StatusCreated, code, string(b))
	id := jsonField(t, b, "id")
	job := "/api/v1/jobs/" + id
	require.Equal(t, job, h.Get("Location"))
	code, _, _ = v.wrong(http.MethodPost, "/api/v1/jobs", validJob)
	require.Equal(t, http.StatusConflict, code)
	code, _, b = v.wrong(http.MethodPost, "/api/v1/jobs", `{"name":"x","schedule":{"cron":"61 * * * * *"},"http":{"url":"http://x.test"}}`)
	require.Equal(t, http.StatusBadRequest, code, string(b))
	code, _, _ = v.wrong(http.MethodPost, "/api/v1/jobs", validJob, "Content-Type", "text/plain")
	require.Equal(t, http.StatusUnsupportedMediaType, code)
	code, h, _ = v.call(http.MethodGet, job, "")
	require.Equal(t, http.StatusOK, code)
	etag := h.Get("ETag")
	code, _, _ = v.call(http.MethodGet, "/api/v1/jobs/"+uuid.NewString(), "")
	require.Equal(t, http.StatusNotFound, code)
	v.call(http.MethodGet, "/api/v1/jobs?limit=1", "")
	v.call(http.MethodGet, "/api/v1/jobs?include=stats&namespace=default", "")
	code, _, _ = v.wrong(http.MethodGet, "/api/v1/jobs?limit=0", "")
	require.Equal(t, http.StatusBadRequest, code)
	code, _, b = v.call(http.MethodPut, job, strings.Replace(validJob, `"45s"`, `"50s"`, 1), "If-Match", etag)
	require.Equal(t, http.StatusOK, code, string(b))
	code, _, _ = v.wrong(http.MethodPatch, job, `{"description":"no If-Match"}`)
	require.Equal(t, http.StatusPreconditionRequired, code)
	code, _, _ = v.call(http.MethodPatch, job, `{"description":"stale"}`, "If-Match", etag)
	require.Equal(t, http.StatusPreconditionFailed, code)
	code, _, b = v.call(http.MethodPatch, job, `{"description":"merged","timeout":null}`,
		"If-Match", "*", "Content-Type", "application/merge-patch+json")
	require.Equal(t, http.StatusOK, code, string(b))
	v.call(http.MethodPost, job+"/disable", "")
	v.call(http.MethodPost, job+"/enable", "")
	v.call(http.MethodPost, "/api/v1/schedules/preview", `{"schedule":{"cron":"0 30 2 * * *"},"timezone":"America/New_York","after":"2026-03-07T00:00:00Z","count":2}`)

	// Run it now, twice with one key; read the history; cancel the queued run.
	code, h, b = v.call(http.MethodPost, job+"/trigger", `{"payload":{"reason":"tour"}}`, "Idempotency-Key", "tour-1")
	require.Equal(t, http.StatusAccepted, code, string(b))
	exec := jsonField(t, b, "execution_id")
	_, h, _ = v.call(http.MethodPost, job+"/trigger", `{"payload":{"reason":"tour"}}`, "Idempotency-Key", "tour-1")
	require.Equal(t, "true", h.Get("Idempotent-Replayed"))
	v.call(http.MethodGet, job+"/executions", "")
	v.call(http.MethodGet, job+"/executions?status=queued,running&trigger=manual&from=2026-01-01T00:00:00Z", "")
	v.call(http.MethodGet, "/api/v1/executions?limit=5", "")
	v.call(http.MethodGet, "/api/v1/executions?job_id="+id, "")
	v.call(http.MethodGet, "/api/v1/executions/"+exec, "")
	code, _, b = v.call(http.MethodPost, "/api/v1/executions/"+exec+"/cancel", `{"reason":"tour"}`)
	require.Equal(t, http.StatusOK, code, string(b))
	v.call(http.MethodGet, job+"/stats", "")
	code, _, b = v.call(http.MethodPost, job+"/backfill", `{"from":"2026-01-01T00:00:00Z","to":"2026-01-03T00:00:00Z","dry_run":true}`)
	require.Equal(t, http.StatusOK, code, string(b))
	code, _, b = v.call(http.MethodPost, job+"/clone", `{"name":"tour copy"}`)
	require.Equal(t, http.StatusCreated, code, string(b))

	// Dead letters: list, replay one, discard another.
	j := testfactory.Job(t, c.st, testfactory.JobOpts{})
	replay, discard := testfactory.DeadLetter(t, c.st, j), testfactory.DeadLetter(t, c.st, j)
	v.call(http.MethodGet, "/api/v1/dead-letters?state=all", "")
	code, _, b = v.call(http.MethodPost, "/api/v1/dead-letters/"+replay.ID+"/replay", "")
	require.Equal(t, http.StatusAccepted, code, string(b))
	v.call(http.MethodPost, "/api/v1/dead-letters/"+discard.ID+"/discard", "")
	code, _, _ = v.call(http.MethodPost, "/api/v1/dead-letters/"+discard.ID+"/discard", "")
	require.Equal(t, http.StatusConflict, code)

	// Variables, global and the job's own.
	for _, base := range []string{"/api/v1/variables", job + "/variables"} {
		code, _, b = v.call(http.MethodPost, base, `{"name":"TOUR_TOKEN","value":"s3cr3t","is_secret":true}`)
		require.Equal(t, http.StatusCreated, code, string(b))
		v.call(http.MethodGet, base, "")
		v.call(http.MethodGet, base+"/TOUR_TOKEN", "")
		code, _, _ = v.call(http.MethodPut, base+"/TOUR_URL", `{"value":"https://example.test"}`)
		require.Equal(t, http.StatusCreated, code)
		code, _, _ = v.call(http.MethodPut, base+"/TOUR_URL", `{"value":"https://example.test/v2"}`)
		require.Equal(t, http.StatusOK, code)
		code, _, _ = v.call(http.MethodDelete, base+"/TOUR_URL", "")
		require.Equal(t, http.StatusNoContent, code)
	}

	// Tokens, users, roles and bindings.
	code, _, b = v.call(http.MethodPost, "/api/v1/tokens", `{"name":"ci","scopes":["job:read"],"namespace":"default"}`)
	require.Equal(t, http.StatusCreated, code, string(b))
	v.call(http.MethodGet, "/api/v1/tokens", "")
	v.call(http.MethodDelete, "/api/v1/tokens/"+jsonField(t, b, "id"), "")
	code, _, b = v.call(http.MethodPost, "/api/v1/users", `{"username":"lan.tran","display_name":"Trần Thị Lan","password":"a long enough password"}`)
	require.Equal(t, http.StatusCreated, code, string(b))
	user := "/api/v1/users/" + jsonField(t, b, "id")
	v.call(http.MethodGet, "/api/v1/users", "")
	v.call(http.MethodGet, user, "")
	v.call(http.MethodPatch, user, `{"display_name":"Lan"}`)
	code, _, _ = v.call(http.MethodPut, "/api/v1/roles/auditor", `{"description":"reads","permissions":["job:read","audit:read"]}`)
	require.Equal(t, http.StatusCreated, code)
	v.call(http.MethodGet, "/api/v1/roles", "")
	code, _, b = v.call(http.MethodPost, "/api/v1/role-bindings", `{"role":"auditor","user_id":"`+strings.TrimPrefix(user, "/api/v1/users/")+`","namespace":"default"}`)
	require.Equal(t, http.StatusCreated, code, string(b))
	v.call(http.MethodGet, "/api/v1/role-bindings", "")

	// Dashboard sessions: one's own, and an admin's view of everyone's.
	lan := strings.TrimPrefix(user, "/api/v1/users/")
	own, _ := testfactory.DashboardSession(t, c.st, testfactory.SessionOpts{User: admin})
	theirs, _ := testfactory.DashboardSession(t, c.st, testfactory.SessionOpts{User: &domain.User{ID: lan}})
	testfactory.DashboardSession(t, c.st, testfactory.SessionOpts{Subject: "f1c2a3b4", Username: "minh", Groups: []string{"payments-ops"}})
	v.call(http.MethodGet, "/api/v1/auth/sessions", "")
	code, _, sb := v.call(http.MethodDelete, "/api/v1/auth/sessions/"+own.ID, "")
	require.Equal(t, http.StatusOK, code, string(sb))
	code, _, _ = v.call(http.MethodDelete, "/api/v1/auth/sessions/"+theirs.ID, "")
	require.Equal(t, http.StatusNotFound, code)
	v.call(http.MethodGet, "/api/v1/sessions?mode=oidc&limit=1", "")
	v.call(http.MethodGet, "/api/v1/sessions?user_id="+lan, "")
	code, _, _ = v.wrong(http.MethodGet, "/api/v1/sessions?user_id=nope", "")
	require.Equal(t, http.StatusBadRequest, code)
	code, _, sb = v.call(http.MethodDelete, "/api/v1/sessions/"+theirs.ID, "")
	require.Equal(t, http.StatusOK, code, string(sb))
	code, _, sb = v.call(http.MethodPost, "/api/v1/sessions/end", `{"subject":"f1c2a3b4"}`)
	require.Equal(t, http.StatusOK, code, string(sb))
	code, _, _ = v.call(http.MethodPost, "/api/v1/sessions/end", `{"user_id":"`+uuid.NewString()+`"}`)
	require.Equal(t, http.StatusNotFound, code)
	code, _, _ = v.call(http.MethodDelete, "/api/v1/roles/auditor", "")
	require.Equal(t, http.StatusConflict, code)
	v.call(http.MethodDelete, "/api/v1/role-bindings/"+jsonField(t, b, "id"), "")
	v.call(http.MethodDelete, "/api/v1/roles/auditor", "")
	v.call(http.MethodDelete, user, "")
	v.call(http.MethodGet, "/api/v1/audit?limit=20", "")
	code, _, _ = v.wrong(http.MethodGet, "/api/v1/audit?since=yesterday", "")
	require.Equal(t, http.StatusBadRequest, code)

	// The end of the tour: delete the job, change the password, sign out; then a credential
	// no longer holds.
	code, _, _ = v.call(http.MethodDelete, job, "")
	require.Equal(t, http.StatusNoContent, code)
	code, _, _ = v.call(http.MethodPost, "/api/v1/auth/password", `{"current_password":"`+testfactory.Password+`","new_password":"another long password"}`)
	require.Equal(t, http.StatusNoContent, code)
	code, _, b = v.call(http.MethodPost, "/api/v1/auth/login", strings.Replace(login, testfactory.Password, "another long password", 1))
	require.Equal(t, http.StatusOK, code, string(b))
	code, _, _ = v.call(http.MethodPost, "/api/v1/auth/logout", `{"refresh_token":"`+jsonField(t, b, "refresh_token")+`"}`)
	require.Equal(t, http.StatusNoContent, code)
	c.token = "not a token"
	code, h, _ = v.call(http.MethodGet, "/api/v1/jobs", "")
	require.Equal(t, http.StatusUnauthorized, code)
	require.NotEmpty(t, h.Get("WWW-Authenticate"))

	// A route added since is checked once the tour calls it; until then it is named here.
	var unchecked []string
	for _, rt := range documented(t, c) {
		if !v.checked[rt] {
			unchecked = append(unchecked, rt)
		}
	}
	slices.Sort(unchecked)
	t.Logf("operations the tour does not call: %v", unchecked)
}

// documented lists the document's operations as "METHOD /path".
func documented(t *testing.T, c *client) []string {
	t.Helper()
	_, _, body := c.do(http.MethodGet, "/api/v1/openapi.json", "")
	doc, err := openapi3.NewLoader().LoadFromData(body)
	require.NoError(t, err)
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	return out
}

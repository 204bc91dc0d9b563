package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/api"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/server"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/variables"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

type client struct {
	t   *testing.T
	srv *httptest.Server
	st  *store.Store
	// dbURL reaches st's schema directly, to set up what the API cannot.
	dbURL string
	// token signs every request in; an admin's by default.
	token string
}

// in is c for subtest t: a failed assertion in a parallel subtest must stop that subtest, not
// call FailNow on the parent from another goroutine.
func (c *client) in(t *testing.T) *client {
	cp := *c
	cp.t = t
	return &cp
}

func newClient(t *testing.T) *client {
	t.Helper()
	st, dbURL := testfactory.Store(t)
	key, err := secret.NewKey("test")
	require.NoError(t, err)
	keys, err := secret.ParseKeys(key)
	require.NoError(t, err)
	ident := testfactory.Identity(t, st, testfactory.AuthConfig(t), time.Now)
	h := api.New(api.Deps{Jobs: jobs.New(st, time.Now), Vars: variables.New(st, keys, time.Now), Store: st, Identity: ident,
		Checks: []server.Check{{Name: "postgres", Fn: st.Ping}}}, time.Now, testenv.Logger(t))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &client{t: t, srv: srv, st: st, dbURL: dbURL, token: testfactory.AdminToken(t, st)}
}

// do sends a request; header holds pairs of names and values to set beside the defaults.
func (c *client) do(method, path, body string, header ...string) (int, http.Header, []byte) {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.srv.URL+path, strings.NewReader(body))
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return resp.StatusCode, resp.Header, b
}

type problem struct {
	Status int                 `json:"status"`
	Title  string              `json:"title"`
	Detail string              `json:"detail"`
	Errors []domain.FieldError `json:"errors"`
}

func (c *client) problem(method, path, body string, wantStatus int, header ...string) problem {
	c.t.Helper()
	code, h, b := c.do(method, path, body, header...)
	require.Equal(c.t, wantStatus, code, string(b))
	require.Equal(c.t, "application/problem+json", h.Get("Content-Type"))
	var p problem
	require.NoError(c.t, json.Unmarshal(b, &p))
	require.Equal(c.t, wantStatus, p.Status)
	return p
}

func fields(p problem) []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

const validJob = `{"name":"nightly report","schedule":{"cron":"0 30 2 * * *"},"http":{"method":"post","url":"https://example.test/run","headers":{"X-Team":"finance"},"body":"{}"},"timeout":"45s"}`

func TestCreateGetListDelete(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	code, h, b := c.do(http.MethodPost, "/api/v1/jobs", validJob)
	require.Equal(t, http.StatusCreated, code, string(b))
	var j domain.Job
	require.NoError(t, json.Unmarshal(b, &j))
	require.Equal(t, "/api/v1/jobs/"+j.ID, h.Get("Location"))
	require.Equal(t, "POST", j.HTTP.Method)
	require.Equal(t, domain.DefaultTimezone, j.Timezone)
	require.Equal(t, domain.DefaultNamespace, j.Namespace)
	require.Equal(t, domain.Duration(45*time.Second), j.Timeout)
	require.True(t, j.Enabled)
	// 02:30 in Ho Chi Minh City is 19:30Z.
	require.Equal(t, 19, j.NextRunAt.Hour())
	require.Equal(t, 30, j.NextRunAt.Minute())
	require.True(t, j.NextRunAt.After(time.Now()))

	code, _, b = c.do(http.MethodGet, "/api/v1/jobs/"+j.ID, "")
	require.Equal(t, http.StatusOK, code)
	var got domain.Job
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, j.ID, got.ID)
	require.Equal(t, j.HTTP, got.HTTP)

	p := c.problem(http.MethodPost, "/api/v1/jobs", validJob, http.StatusConflict)
	require.NotEmpty(t, p.Detail)

	code, _, _ = c.do(http.MethodDelete, "/api/v1/jobs/"+j.ID, "")
	require.Equal(t, http.StatusNoContent, code)
	c.problem(http.MethodGet, "/api/v1/jobs/"+j.ID, "", http.StatusNotFound)
	c.problem(http.MethodDelete, "/api/v1/jobs/"+j.ID, "", http.StatusNotFound)
	c.problem(http.MethodGet, "/api/v1/jobs/not-a-uuid", "", http.StatusNotFound)
}

func TestCreateDisabledHasNoNextRun(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	code, _, b := c.do(http.MethodPost, "/api/v1/jobs", `{"name":"off","enabled":false,"schedule":{"cron":"@hourly"},"http":{"url":"http://x.test"}}`)
	require.Equal(t, http.StatusCreated, code, string(b))
	var j domain.Job
	require.NoError(t, json.Unmarshal(b, &j))
	require.False(t, j.Enabled)
	require.Nil(t, j.NextRunAt)

	code, _, b = c.do(http.MethodPost, "/api/v1/jobs/"+j.ID+"/enable", "")
	require.Equal(t, http.StatusOK, code)
	require.NoError(t, json.Unmarshal(b, &j))
	require.True(t, j.Enabled)
	require.NotNil(t, j.NextRunAt)
	require.Zero(t, j.NextRunAt.Minute())
	require.Zero(t, j.NextRunAt.Second())
	require.EqualValues(t, 2, j.Version)

	code, _, b = c.do(http.MethodPost, "/api/v1/jobs/"+j.ID+"/disable", "")
	require.Equal(t, http.StatusOK, code)
	require.NoError(t, json.Unmarshal(b, &j))
	require.False(t, j.Enabled)
	require.Nil(t, j.NextRunAt)
}

func TestCreateRejectsBadInputNamingTheField(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	tests := []struct {
		name   string
		body   string
		fields []string
	}{
		{"MissingName", `{"schedule":{"cron":"* * * * * *"},"http":{"url":"http://x.test"}}`, []string{"name"}},
		{"InvalidCron", `{"name":"a","schedule":{"cron":"61 * * * * *"},"http":{"url":"http://x.test"}}`, []string{"schedule.cron"}},
		{"UnknownZone", `{"name":"a","timezone":"Asia/Saigon_City","schedule":{"cron":"* * * * * *"},"http":{"url":"http://x.test"}}`, []string{"timezone"}},
		{"BadURL", `{"name":"a","schedule":{"cron":"* * * * * *"},"http":{"url":"localhost:80/x"}}`, []string{"http.url"}},
		{"NoKind", `{"name":"a","schedule":{"cron":"* * * * * *"}}`, []string{"kind"}},
		{"BadTimeout", `{"name":"a","timeout":"soon","schedule":{"cron":"* * * * * *"},"http":{"url":"http://x.test"}}`, []string{"timeout"}},
		{"Everything", `{"timeout":"-1s","schedule":{"cron":""},"timezone":"Nowhere","http":{"url":"","method":"FETCH"}}`,
			[]string{"name", "http.method", "http.url", "timeout", "timezone", "schedule.cron"}},
		{"UnknownField", `{"name":"a","shedule":{}}`, []string{"shedule"}},
		{"WrongType", `{"name":42}`, []string{"name"}},
		{"NotJSON", `{"name":`, []string{"body"}},
		{"TrailingData", `{"name":"a"} {}`, []string{"body"}},
		{"NeverFires", `{"name":"a","schedule":{"cron":"0 0 0 30 2 *"},"http":{"url":"http://x.test"}}`, []string{"schedule.cron"}},
		{"AlertTooLate", `{"name":"a","schedule":{"cron":"* * * * * *"},"http":{"url":"http://x.test"},"alert":{"after_failures":1001}}`, []string{"alert.after_failures"}},
		{"AlertNegative", `{"name":"a","schedule":{"cron":"* * * * * *"},"http":{"url":"http://x.test"},"alert":{"after_failures":-1}}`, []string{"alert.after_failures"}},
		{"AlertWrongType", `{"name":"a","schedule":{"cron":"* * * * * *"},"http":{"url":"http://x.test"},"alert":{"after_failures":"3"}}`, []string{"alert.after_failures"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := c.in(t).problem(http.MethodPost, "/api/v1/jobs", tt.body, http.StatusBadRequest)
			require.ElementsMatch(t, tt.fields, fields(p), "detail: %s", p.Detail)
			for _, e := range p.Errors {
				require.NotEmpty(t, e.Reason)
			}
		})
	}
}

func TestCreateRejectsOversizedBody(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	big := `{"name":"a","description":"` + strings.Repeat("x", 2<<20) + `"}`
	p := c.problem(http.MethodPost, "/api/v1/jobs", big, http.StatusBadRequest)
	require.Equal(t, []string{"body"}, fields(p))
}

func TestListJobsPagesWithCursor(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	var want []string
	for range 5 {
		want = append(want, testfactory.Job(t, c.st, testfactory.JobOpts{}).ID)
	}
	var got []string
	path := "/api/v1/jobs?limit=2"
	for {
		code, _, b := c.do(http.MethodGet, path, "")
		require.Equal(t, http.StatusOK, code)
		var page struct {
			Items      []domain.Job `json:"items"`
			NextCursor string       `json:"next_cursor"`
		}
		require.NoError(t, json.Unmarshal(b, &page))
		for _, j := range page.Items {
			got = append(got, j.ID)
		}
		if page.NextCursor == "" {
			break
		}
		path = "/api/v1/jobs?limit=2&cursor=" + page.NextCursor
	}
	require.Equal(t, want, got)

	for _, q := range []string{"limit=0", "limit=501", "limit=ten"} {
		p := c.problem(http.MethodGet, "/api/v1/jobs?"+q, "", http.StatusBadRequest)
		require.Equal(t, []string{"limit"}, fields(p))
	}
	p := c.problem(http.MethodGet, "/api/v1/jobs?cursor=nope", "", http.StatusBadRequest)
	require.Equal(t, []string{"cursor"}, fields(p))
}

func TestListExecutionsValidatesCursor(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j := testfactory.Job(t, c.st, testfactory.JobOpts{})
	code, _, b := c.do(http.MethodGet, "/api/v1/jobs/"+j.ID+"/executions", "")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"items":[]}`, string(b))
	p := c.problem(http.MethodGet, "/api/v1/jobs/"+j.ID+"/executions?cursor=bm9wZQ", "", http.StatusBadRequest)
	require.Equal(t, []string{"cursor"}, fields(p))
}

func TestHealthAndUnknownRoutes(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	code, _, b := c.do(http.MethodGet, "/healthz", "")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"status":"ok"}`, string(b))
	code, _, b = c.do(http.MethodGet, "/readyz", "")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"postgres":"ok"}`, string(b))
	c.problem(http.MethodGet, "/api/v1/nope", "", http.StatusNotFound)
	c.problem(http.MethodPut, "/api/v1/jobs", "", http.StatusMethodNotAllowed)
}

func TestResponseExcerptIsNotHTMLEscaped(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	_, _, b := c.do(http.MethodPost, "/api/v1/jobs", `{"name":"<b>","schedule":{"cron":"@daily"},"http":{"url":"http://x.test/?a=1&b=2"}}`)
	require.Contains(t, string(b), `"name":"<b>"`)
	require.Contains(t, string(b), `a=1&b=2`)
}

// A page in the operator's browser posts a job as text/plain (no CORS preflight needed): it is
// refused, and nothing is created.
func TestCrossSiteFormPostCreatesNothing(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded"} {
		resp, err := http.Post(c.srv.URL+"/api/v1/jobs", ct, strings.NewReader(validJob))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode, ct)
		require.NotEmpty(t, resp.Header.Get("X-Request-Id"))
		require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	}
	code, _, b := c.do(http.MethodGet, "/api/v1/jobs", "")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"items":[]}`, string(b))
}

package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/api"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/ratelimit"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/redisconn"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/server"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/variables"
	"github.com/vecron/vecron/shared/webhook"
)

// syncBuffer is a log sink the server's goroutines write to and the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// hookClient is a client whose jobs service runs on clk, with secret keys, the webhook rate
// limiter in Redis, and the server's log kept for the test to read.
type hookClient struct {
	*client
	clk *clockwork.FakeClock
	log *syncBuffer
}

func newHookClient(t *testing.T) *hookClient {
	t.Helper()
	st, dbURL := testfactory.Store(t)
	key, err := secret.NewKey("test")
	require.NoError(t, err)
	keys, err := secret.ParseKeys(key)
	require.NoError(t, err)
	url, prefix := testenv.RedisURL(t)
	rdb, err := redisconn.Open(redisconn.Config{URL: url}, "ratelimit", nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	clk := clockwork.NewFakeClockAt(time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC))
	logs := &syncBuffer{}
	ident := testfactory.Identity(t, st, testfactory.AuthConfig(t), time.Now)
	h := api.New(api.Deps{Jobs: jobs.New(st, clk.Now), Vars: variables.New(st, keys, time.Now), Store: st, Identity: ident,
		Checks: []server.Check{{Name: "postgres", Fn: st.Ping}}, Keys: keys, WebhookLimiter: ratelimit.NewEvents(rdb, prefix)},
		clk.Now, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &hookClient{client: &client{t: t, srv: srv, st: st, dbURL: dbURL, token: testfactory.AdminToken(t, st)}, clk: clk, log: logs}
}

// hookJob creates a job in ns that runs on webhook calls alone, with the trigger's JSON.
func (c *hookClient) hookJob(ns, name, trigger string) *domain.Job {
	c.t.Helper()
	j, _ := c.createJob(fmt.Sprintf(`{"namespace":%q,"name":%q,"http":{"method":"POST","url":"https://example.test/hook","body":"{{ trigger.webhook.body }}"},"triggers":[{"webhook":%s}]}`,
		ns, name, trigger))
	return j
}

// enable enables (or regenerates) job id's webhook and expects want.
func (c *client) enableHook(id string, want int) jobs.EnabledWebhook {
	c.t.Helper()
	code, h, b := c.do(http.MethodPost, "/api/v1/jobs/"+id+"/webhook", "")
	require.Equal(c.t, want, code, string(b))
	require.Equal(c.t, "no-store", h.Get("Cache-Control"))
	var out jobs.EnabledWebhook
	require.NoError(c.t, json.Unmarshal(b, &out))
	return out
}

// call posts body to the hook, signed with secret at the client's clock unless header says
// otherwise; the pairs of header replace the signed ones.
func (c *hookClient) call(h jobs.EnabledWebhook, body string, header ...string) (int, http.Header, []byte) {
	c.t.Helper()
	now := c.clk.Now()
	sig := []string{"Content-Type", "application/json", webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10),
		webhook.HeaderSignature, webhook.Sign(h.Secret, now, []byte(body))}
	anon := *c.client
	anon.token = ""
	return anon.do(http.MethodPost, h.URLPath, body, append(sig, header...)...)
}

func (c *hookClient) callOK(h jobs.EnabledWebhook, body string, header ...string) jobs.WebhookRun {
	c.t.Helper()
	code, hdr, b := c.call(h, body, header...)
	require.Equal(c.t, http.StatusAccepted, code, string(b))
	var run jobs.WebhookRun
	require.NoError(c.t, json.Unmarshal(b, &run))
	require.Equal(c.t, "/api/v1/executions/"+run.ExecutionID, hdr.Get("Location"))
	return run
}

func (c *hookClient) callProblem(h jobs.EnabledWebhook, body string, want int, header ...string) problem {
	c.t.Helper()
	code, hdr, b := c.call(h, body, header...)
	require.Equal(c.t, want, code, string(b))
	require.Equal(c.t, "application/problem+json", hdr.Get("Content-Type"))
	var p problem
	require.NoError(c.t, json.Unmarshal(b, &p))
	return p
}

// TestWebhookSignatureRefusesHostileCalls: a call without a valid signature over its own
// timestamp and body starts nothing, and says which header is wrong; a valid one starts the job.
func TestWebhookSignatureRefusesHostileCalls(t *testing.T) {
	t.Parallel()
	c := newHookClient(t)
	j := c.hookJob("team-a", "orders", `{}`)
	h := c.enableHook(j.ID, http.StatusCreated)
	require.True(t, strings.HasPrefix(h.URLPath, "/hooks/vwh_"))
	require.True(t, strings.HasPrefix(h.Secret, "whsec_"))
	body := `{"order":1042}`
	now := c.clk.Now()
	ts := strconv.FormatInt(now.Unix(), 10)

	for name, tc := range map[string]struct {
		header []string
		field  string
	}{
		"WrongSecret":      {[]string{webhook.HeaderSignature, webhook.Sign("whsec_guess", now, []byte(body))}, webhook.HeaderSignature},
		"TamperedBody":     {[]string{webhook.HeaderSignature, webhook.Sign(h.Secret, now, []byte(`{"order":1043}`))}, webhook.HeaderSignature},
		"OtherTimestamp":   {[]string{webhook.HeaderTimestamp, strconv.FormatInt(now.Unix()-1, 10)}, webhook.HeaderSignature},
		"MissingSignature": {[]string{webhook.HeaderSignature, ""}, webhook.HeaderSignature},
		"MissingTimestamp": {[]string{webhook.HeaderTimestamp, ""}, webhook.HeaderTimestamp},
		"GarbageSignature": {[]string{webhook.HeaderSignature, "sha256=" + strings.Repeat("zz", 32)}, webhook.HeaderSignature},
		"GarbageTimestamp": {[]string{webhook.HeaderTimestamp, ts + "abc"}, webhook.HeaderTimestamp},
	} {
		p := c.callProblem(h, body, http.StatusUnauthorized, tc.header...)
		require.Equal(t, []string{tc.field}, fields(p), name)
		require.NotContains(t, p.Detail, h.Secret, name)
	}
	page, err := c.st.ListExecutions(t.Context(), j.ID, domain.ExecutionFilter{}, nil, 10)
	require.NoError(t, err)
	require.Empty(t, page, "no refused call recorded anything")

	run := c.callOK(h, body)
	require.Equal(t, domain.StatusQueued, run.Status)
	require.Equal(t, domain.WebhookKey(j.ID, strings.TrimPrefix(webhook.Sign(h.Secret, now, []byte(body)), "sha256=")), run.IdempotencyKey)
}

// TestWebhookReplayWindow runs on the injected clock: a signed call is good within 5 minutes
// either side of its timestamp and refused past them; a valid call replayed within the window
// answers the first call's execution and runs once.
func TestWebhookReplayWindow(t *testing.T) {
	t.Parallel()
	c := newHookClient(t)
	j := c.hookJob("team-a", "replayed", `{}`)
	h := c.enableHook(j.ID, http.StatusCreated)
	body := `{"order":7}`
	signedAt := c.clk.Now()
	signed := []string{webhook.HeaderTimestamp, strconv.FormatInt(signedAt.Unix(), 10),
		webhook.HeaderSignature, webhook.Sign(h.Secret, signedAt, []byte(body))}

	first := c.callOK(h, body, signed...)
	require.False(t, first.Replayed)

	c.clk.Advance(webhook.ReplayWindow) // the window's edge is inside it
	again := c.callOK(h, body, signed...)
	require.True(t, again.Replayed)
	require.Equal(t, first.ExecutionID, again.ExecutionID, "a replay within the window runs once")

	c.clk.Advance(time.Second)
	p := c.callProblem(h, body, http.StatusUnauthorized, signed...)
	require.Equal(t, []string{webhook.HeaderTimestamp}, fields(p), "stale")

	// A timestamp from the future is refused just as far out.
	future := c.clk.Now().Add(webhook.ReplayWindow + time.Second)
	p = c.callProblem(h, body, http.StatusUnauthorized, webhook.HeaderTimestamp, strconv.FormatInt(future.Unix(), 10),
		webhook.HeaderSignature, webhook.Sign(h.Secret, future, []byte(body)))
	require.Equal(t, []string{webhook.HeaderTimestamp}, fields(p), "future")

	page, err := c.st.ListExecutions(t.Context(), j.ID, domain.ExecutionFilter{}, nil, 10)
	require.NoError(t, err)
	require.Len(t, page, 1)
	require.Equal(t, domain.TriggerWebhook, page[0].Trigger)
}

// TestWebhookRateLimit: calls beyond the job's rate are 429 with Retry-After and record
// nothing; another job's allowance is untouched. (The limit runs on Redis's clock, shared by
// every replica, so the test does not wait for it to refill.)
func TestWebhookRateLimit(t *testing.T) {
	t.Parallel()
	c := newHookClient(t)
	j := c.hookJob("team-a", "limited", `{"max_rate":{"events":2,"per":"1h"}}`)
	h := c.enableHook(j.ID, http.StatusCreated)
	c.callOK(h, `{"n":1}`)
	c.callOK(h, `{"n":2}`)
	code, hdr, b := c.call(h, `{"n":3}`)
	require.Equal(t, http.StatusTooManyRequests, code, string(b))
	after, err := strconv.Atoi(hdr.Get("Retry-After"))
	require.NoError(t, err)
	require.Greater(t, after, 0)
	require.LessOrEqual(t, after, 3600)
	page, err := c.st.ListExecutions(t.Context(), j.ID, domain.ExecutionFilter{}, nil, 10)
	require.NoError(t, err)
	require.Len(t, page, 2, "the refused call recorded nothing")

	// Another job's allowance is its own.
	other := c.hookJob("team-a", "other", `{"max_rate":{"events":1,"per":"1h"}}`)
	c.callOK(c.enableHook(other.ID, http.StatusCreated), `{"n":1}`)
}

// TestWebhookTokenRegeneration: regenerating answers new credentials; the old token is 404
// and the old secret does not sign for the new token; disabling makes the token 403, as does
// pausing the job; a user without job:write cannot enable, regenerate or disable.
func TestWebhookTokenRegeneration(t *testing.T) {
	t.Parallel()
	c := newHookClient(t)
	j := c.hookJob("team-a", "rotated", `{}`)
	old := c.enableHook(j.ID, http.StatusCreated)
	c.callOK(old, `{"v":1}`)

	fresh := c.enableHook(j.ID, http.StatusOK)
	require.True(t, fresh.Regenerated)
	require.NotEqual(t, old.Token, fresh.Token)
	require.NotEqual(t, old.Secret, fresh.Secret)
	c.callProblem(old, `{"v":2}`, http.StatusNotFound)
	mixed := fresh
	mixed.Secret = old.Secret
	c.callProblem(mixed, `{"v":2}`, http.StatusUnauthorized)
	c.callOK(fresh, `{"v":2}`)

	// Disabled: 403, until enabled again with new credentials.
	code, _, b := c.do(http.MethodDelete, "/api/v1/jobs/"+j.ID+"/webhook", "")
	require.Equal(t, http.StatusOK, code, string(b))
	c.callProblem(fresh, `{"v":3}`, http.StatusForbidden)
	again := c.enableHook(j.ID, http.StatusOK)
	c.callProblem(fresh, `{"v":3}`, http.StatusNotFound)
	c.callOK(again, `{"v":3}`)

	// A paused job's webhook is 403 too.
	code, _, b = c.do(http.MethodPost, "/api/v1/jobs/"+j.ID+"/disable", "")
	require.Equal(t, http.StatusOK, code, string(b))
	c.callProblem(again, `{"v":4}`, http.StatusForbidden)

	// Unknown and malformed tokens are 404, the same answer.
	for _, tok := range []string{"vwh_" + strings.Repeat("A", 43), "nope", strings.Repeat("x", 500)} {
		anon := *c.client
		anon.token = ""
		anon.problem(http.MethodPost, "/hooks/"+tok, `{}`, http.StatusNotFound)
	}

	// Hostile users: a viewer or an operator of the namespace may not (403); an editor of
	// another namespace does not see the job (404).
	viewer := c.as(rbac.RoleViewer, "team-a")
	viewer.problem(http.MethodPost, "/api/v1/jobs/"+j.ID+"/webhook", "", http.StatusForbidden)
	viewer.problem(http.MethodDelete, "/api/v1/jobs/"+j.ID+"/webhook", "", http.StatusForbidden)
	operator := c.as(rbac.RoleOperator, "team-a")
	operator.problem(http.MethodPost, "/api/v1/jobs/"+j.ID+"/webhook", "", http.StatusForbidden)
	outsider := c.as(rbac.RoleEditor, "team-b")
	outsider.problem(http.MethodPost, "/api/v1/jobs/"+j.ID+"/webhook", "", http.StatusNotFound)
	outsider.problem(http.MethodGet, "/api/v1/jobs/"+j.ID+"/webhook", "", http.StatusNotFound)
	c.callProblem(again, `{"v":5}`, http.StatusForbidden) // still the same credentials, still paused
}

// TestWebhookBodyLimitsAndTypes: an oversize body is 413, a type the job does not declare 415,
// a JSON type with a body that is not JSON 400; a declared type and declared headers reach the
// fire's payload, undeclared headers do not.
func TestWebhookBodyLimitsAndTypes(t *testing.T) {
	t.Parallel()
	c := newHookClient(t)
	j := c.hookJob("team-a", "typed", `{}`)
	h := c.enableHook(j.ID, http.StatusCreated)
	big := `{"pad":"` + strings.Repeat("x", jobs.MaxWebhookBody) + `"}`
	c.callProblem(h, big, http.StatusRequestEntityTooLarge)
	p := c.callProblem(h, `a=1`, http.StatusUnsupportedMediaType, "Content-Type", "application/x-www-form-urlencoded")
	require.Contains(t, p.Detail, "application/json")
	p = c.callProblem(h, `{not json`, http.StatusBadRequest)
	require.Equal(t, []string{"body"}, fields(p))

	text := c.hookJob("team-a", "text", `{"content_types":["text/plain"],"headers":["X-Request-Id"]}`)
	th := c.enableHook(text.ID, http.StatusCreated)
	c.callProblem(th, `{}`, http.StatusUnsupportedMediaType) // JSON is not declared
	th.URLPath += "?region=vn&region=th"
	run := c.callOK(th, "hello", "Content-Type", "text/plain; charset=utf-8", "X-Request-Id", "r-1", "Cookie", "session=s3cret", "X-Other", "o")
	fires, err := c.st.DueQueued(t.Context(), c.clk.Now().Add(time.Minute), 100)
	require.NoError(t, err)
	var found bool
	for _, f := range fires {
		if f.Key != run.IdempotencyKey {
			continue
		}
		found = true
		var d struct {
			Trigger domain.Trigger  `json:"trigger"`
			Payload json.RawMessage `json:"payload"`
		}
		require.NoError(t, json.Unmarshal(f.Payload, &d))
		require.Equal(t, domain.TriggerWebhook, d.Trigger)
		require.JSONEq(t, `{"body":"hello","query":{"region":"vn"},"headers":{"x_request_id":"r-1"}}`, string(d.Payload))
	}
	require.True(t, found, "the call's fire is queued")

	// Declaring a credential header is refused on write, naming the field.
	code, _, b := c.do(http.MethodPost, "/api/v1/jobs", `{"namespace":"team-a","name":"leaky","http":{"method":"POST","url":"https://example.test/x"},"triggers":[{"webhook":{"headers":["Authorization"],"content_types":["text/*"]}}]}`)
	require.Equal(t, http.StatusBadRequest, code, string(b))
	require.Contains(t, string(b), "triggers[0].webhook.headers[0]")
	require.Contains(t, string(b), "triggers[0].webhook.content_types[0]")
}

// TestWebhookSecretIsToldOnce: the token and the secret are in the answer that makes them and
// nowhere else — not in GET, not in the audit log, not in the server's log, even when calls
// fail.
func TestWebhookSecretIsToldOnce(t *testing.T) {
	t.Parallel()
	c := newHookClient(t)
	j := c.hookJob("team-a", "quiet", `{}`)
	h := c.enableHook(j.ID, http.StatusCreated)
	c.callOK(h, `{"a":1}`)
	c.callProblem(h, `{"a":2}`, http.StatusUnauthorized, webhook.HeaderSignature, "sha256="+strings.Repeat("0", 64))
	h2 := c.enableHook(j.ID, http.StatusOK)

	var reads []string
	for _, path := range []string{"/api/v1/jobs/" + j.ID + "/webhook", "/api/v1/jobs/" + j.ID, "/api/v1/audit?object_id=" + j.ID, "/api/v1/jobs/export"} {
		code, _, b := c.do(http.MethodGet, path, "")
		require.Equal(t, http.StatusOK, code, path+": "+string(b))
		reads = append(reads, string(b))
	}
	var got domain.Webhook
	require.NoError(t, json.Unmarshal([]byte(reads[0]), &got))
	require.True(t, got.Enabled)
	require.Equal(t, h2.Token[:8], got.TokenHint)
	require.Equal(t, "/hooks/"+h2.Token[:8]+"…", got.PathHint)
	audit := reads[2]
	for _, want := range []string{"job.webhook.enable", "job.webhook.regenerate", "job.webhook"} {
		require.Contains(t, audit, `"`+want+`"`)
	}
	for _, secretText := range []string{h.Token, h.Secret, h2.Token, h2.Secret} {
		for i, r := range reads {
			require.NotContains(t, r, secretText, "read %d", i)
		}
		require.NotContains(t, c.log.String(), secretText)
	}
}

// TestWebhookReplaysAndFreezesSpendNoRate: a replay of a recorded call is answered from its
// receipt even when the rate is spent; under a freeze of the namespace a call is recorded
// skipped with the freeze's reason, queues nothing and spends no rate.
func TestWebhookReplaysAndFreezesSpendNoRate(t *testing.T) {
	t.Parallel()
	c := newHookClient(t)
	j := c.hookJob("team-a", "held", `{"max_rate":{"events":1,"per":"1h"}}`)
	h := c.enableHook(j.ID, http.StatusCreated)
	now := c.clk.Now()
	signed := []string{webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10),
		webhook.HeaderSignature, webhook.Sign(h.Secret, now, []byte(`{"n":1}`))}
	first := c.callOK(h, `{"n":1}`, signed...)
	again := c.callOK(h, `{"n":1}`, signed...)
	require.True(t, again.Replayed, "the rate is spent, the replay is still answered")
	require.Equal(t, first.ExecutionID, again.ExecutionID)
	code, _, b := c.call(h, `{"n":2}`)
	require.Equal(t, http.StatusTooManyRequests, code, string(b))

	frozen := c.hookJob("team-f", "frozen", `{"max_rate":{"events":1,"per":"1h"}}`)
	fh := c.enableHook(frozen.ID, http.StatusCreated)
	c.createFreeze(fmt.Sprintf(`{"namespace":"team-f","reason":"year-end close","ends_at":%q}`, c.clk.Now().Add(time.Hour).UTC().Format(time.RFC3339)))
	for _, body := range []string{`{"n":1}`, `{"n":2}`} {
		run := c.callOK(fh, body)
		require.Equal(t, domain.StatusSkipped, run.Status, "held by the freeze, and no rate spent on it")
		x, err := c.st.GetExecution(t.Context(), run.ExecutionID)
		require.NoError(t, err)
		require.Contains(t, x.Error, "year-end close")
	}
	fires, err := c.st.DueQueued(t.Context(), c.clk.Now().Add(time.Hour), 100)
	require.NoError(t, err)
	for _, f := range fires {
		require.NotEqual(t, frozen.ID, f.JobID, "nothing of the frozen job is queued")
	}
}

// TestWebhookSealedByRetiredKey: a webhook whose secret was sealed by a key no longer
// configured answers the caller 503 with a problem that names no key, and tells the operator,
// in the log, which key is missing.
func TestWebhookSealedByRetiredKey(t *testing.T) {
	t.Parallel()
	c := newHookClient(t)
	j := c.hookJob("team-a", "retired-key", `{}`)
	h := c.enableHook(j.ID, http.StatusCreated)
	conn, err := pgx.Connect(t.Context(), c.dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	_, err = conn.Exec(t.Context(), `UPDATE webhooks SET secret_key_id = 'retired-2019' WHERE job_id = $1`, j.ID)
	require.NoError(t, err)

	code, hdr, b := c.call(h, `{"v":1}`)
	require.Equal(t, http.StatusServiceUnavailable, code, string(b))
	require.Equal(t, "application/problem+json", hdr.Get("Content-Type"))
	require.NotContains(t, string(b), "retired-2019")
	require.NotContains(t, string(b), h.Secret)
	require.Contains(t, c.log.String(), "retired-2019")
	require.Contains(t, c.log.String(), "secrets.keys")
	require.NotContains(t, c.log.String(), h.Token)

	// Altered ciphertext: the same answer, never a 500.
	_, err = conn.Exec(t.Context(), `UPDATE webhooks SET secret_key_id = 'test', secret_sealed = secret_sealed || '\x00'::bytea WHERE job_id = $1`, j.ID)
	require.NoError(t, err)
	code, _, b = c.call(h, `{"v":2}`)
	require.Equal(t, http.StatusServiceUnavailable, code, string(b))
}

// TestWebhookInFourEyesNamespace: where changes need a second person, a webhook is enabled
// only on a job whose reviewed definition declares a webhook trigger; a job that declares none
// answers 409 naming triggers and gets no credentials. Regenerating a declared one and
// disabling any stay immediate, as pausing does.
func TestWebhookInFourEyesNamespace(t *testing.T) {
	t.Parallel()
	c := newHookClient(t)
	plain, _ := c.createJob(`{"namespace":"fe-hooks","name":"undeclared","schedule":{"cron":"0 0 1 * * *"},"http":{"url":"https://example.test/u"}}`)
	declared := c.hookJob("fe-hooks", "declared", `{}`)
	early := c.enableHook(plain.ID, http.StatusCreated) // before four eyes: as before
	code, _, b := c.do(http.MethodPut, "/api/v1/namespaces/fe-hooks/settings", `{"four_eyes":true}`)
	require.Equal(t, http.StatusOK, code, string(b))

	for _, who := range []*client{c.client, c.as(rbac.RoleEditor, "fe-hooks")} {
		p := who.problem(http.MethodPost, "/api/v1/jobs/"+plain.ID+"/webhook", "", http.StatusConflict)
		require.Equal(t, []string{"triggers"}, fields(p))
		require.Contains(t, p.Errors[0].Reason, "four eyes")
		require.NotContains(t, string(mustJSON(t, p)), "whsec_")
	}
	c.callOK(early, `{"v":1}`) // the refused regeneration left the old credentials working

	h := c.enableHook(declared.ID, http.StatusCreated)
	c.callOK(h, `{"v":1}`)
	again := c.enableHook(declared.ID, http.StatusOK)
	c.callProblem(h, `{"v":2}`, http.StatusNotFound)
	c.callOK(again, `{"v":2}`)

	for _, id := range []string{plain.ID, declared.ID} {
		code, _, b := c.do(http.MethodDelete, "/api/v1/jobs/"+id+"/webhook", "")
		require.Equal(t, http.StatusOK, code, string(b))
	}
	c.callProblem(again, `{"v":3}`, http.StatusForbidden)
	c.callProblem(early, `{"v":3}`, http.StatusForbidden)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

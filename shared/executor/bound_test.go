package executor_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/httpjob"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/variables"
)

// listener records what reaches it, as an attacker's server would.
type listener struct {
	*httptest.Server
	mu       sync.Mutex
	received []string
}

func newListener(t *testing.T, h http.HandlerFunc) *listener {
	l := &listener{}
	l.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		l.mu.Lock()
		l.received = append(l.received, r.URL.String()+" "+r.Header.Get("Authorization")+" "+r.Header.Get("X-Echo")+" "+string(body))
		l.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		_, _ = io.WriteString(w, "you sent "+r.URL.RawQuery+" "+r.Header.Get("Authorization")+" "+r.Header.Get("X-Echo")+" "+string(body))
	}))
	t.Cleanup(l.Close)
	return l
}

func (l *listener) got() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.received...)
}

// hostOf is a listener's "127.0.0.1:port".
func hostOf(l *listener) string { return strings.TrimPrefix(l.URL, "http://") }

type secretsFixture struct {
	store *store.Store
	vars  *variables.Service
	rt    *executor.Runtime
	js    jetstream.JetStream
	names event.Names
	logs  *testenv.LogBuffer
	fires int
}

func newSecretsFixture(t *testing.T) *secretsFixture {
	t.Helper()
	runner := httpjob.New(clockwork.NewRealClock(), httpjob.Config{}, egress.LoopbackPolicy())
	t.Cleanup(runner.Close)
	return newSecretsFixtureWith(t, domain.KindHTTP, "execute-http", runner)
}

// newSecretsFixtureWith returns a fixture whose runtime, the function fn, runs jobs of kind with
// runner.
func newSecretsFixtureWith(t *testing.T, kind domain.JobKind, fn string, runner executor.Runner) *secretsFixture {
	t.Helper()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	vars := sealedVariables(t, st, time.Now)
	logs := &testenv.LogBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rt, err := executor.New(kind, fn, executor.Deps{Store: st, Runner: runner,
		Publisher: queue.NewPublisher(js), Names: names, Clock: clockwork.NewRealClock(), Log: log, Variables: vars}, executor.Config{})
	require.NoError(t, err)
	return &secretsFixture{store: st, vars: vars, rt: rt, js: js, names: names, logs: logs}
}

func (f *secretsFixture) put(t *testing.T, scope, jobID, name string, req variables.PutRequest) {
	t.Helper()
	_, _, err := f.vars.Put(t.Context(), scope, jobID, name, req)
	require.NoError(t, err)
}

// run handles a new fire of j and returns its execution.
func (f *secretsFixture) run(t *testing.T, j *domain.Job) *domain.Execution {
	t.Helper()
	f.fires++
	// Past instants: a fire delivered ahead of its instant would wait for it.
	at := time.Now().UTC().Truncate(time.Second).Add(-time.Hour).Add(time.Duration(f.fires) * time.Second)
	require.NoError(t, f.rt.Handle(t.Context(), dueEvent(t, j, at)))
	e, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
	require.NoError(t, err)
	return e
}

// TestABoundSecretIsNotSentToAnotherHost is the attack of setting a job's TARGET_HOST variable
// to one's own listener when the job sends a secret there: the secret is bound to the host it
// belongs to, and the executor fails the attempt without sending anything.
func TestABoundSecretIsNotSentToAnotherHost(t *testing.T) {
	t.Parallel()
	const token = "tok-bound-4b1d7e0a"
	f := newSecretsFixture(t)
	legit, attacker := newListener(t, nil), newListener(t, nil)
	f.put(t, domain.ScopeGlobal, "", "API_TOKEN", variables.PutRequest{Value: new(token), IsSecret: new(true),
		AllowedHosts: &[]string{hostOf(legit)}})

	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: "http://{{ var.TARGET_HOST }}/report",
		Retry: &domain.RetryPolicy{MaxAttempts: 3}})
	j.HTTP.Headers = map[string]string{"Authorization": "Bearer {{ var.API_TOKEN }}"}
	f.put(t, domain.ScopeJob, j.ID, "TARGET_HOST", variables.PutRequest{Value: new(hostOf(attacker))})

	e := f.run(t, j)
	require.Equal(t, domain.StatusFailed, e.Status)
	require.Equal(t, 1, e.Attempt, "permanent: no retry sends it either")
	require.Equal(t, "not sent: secret variable API_TOKEN may be sent only to "+hostOf(legit)+
		" (its allowed_hosts), not to "+hostOf(attacker), e.Error)
	require.Empty(t, attacker.got(), "nothing reached the attacker")

	// The job as its owner meant it still runs.
	f.put(t, domain.ScopeJob, j.ID, "TARGET_HOST", variables.PutRequest{Value: new(hostOf(legit))})
	e = f.run(t, j)
	require.Equal(t, domain.StatusSucceeded, e.Status, e.Error)
	require.Equal(t, []string{"/report Bearer " + token + "  "}, legit.got())
	require.NotContains(t, e.ResponseExcerpt, token)
}

// TestABoundSecretIsNotCarriedAcrossARedirect: the allowed host answers 307 to another one, which
// would receive the body again; the hop is refused.
func TestABoundSecretIsNotCarriedAcrossARedirect(t *testing.T) {
	t.Parallel()
	const token = "tok-bound-9e2c51aa"
	f := newSecretsFixture(t)
	attacker := newListener(t, nil)
	legit := newListener(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, attacker.URL+"/collect", http.StatusTemporaryRedirect)
	})
	f.put(t, domain.ScopeGlobal, "", "API_TOKEN", variables.PutRequest{Value: new(token), IsSecret: new(true),
		AllowedHosts: &[]string{hostOf(legit)}})
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: legit.URL + "/report", Retry: &domain.RetryPolicy{MaxAttempts: 1}})
	j.HTTP.Method, j.HTTP.Body, j.HTTP.FollowRedirects = http.MethodPost, `{"token":"{{ var.API_TOKEN | json }}"}`, 3

	e := f.run(t, j)
	require.Equal(t, domain.StatusFailed, e.Status)
	require.Contains(t, e.Error, "redirect not followed: secret variable API_TOKEN may be sent only to "+hostOf(legit)+
		" (its allowed_hosts), not to "+hostOf(attacker))
	require.Len(t, legit.got(), 1)
	require.Empty(t, attacker.got())

	// An unbound secret follows the redirect, as the job asked.
	f.put(t, domain.ScopeGlobal, "", "API_TOKEN", variables.PutRequest{Value: new(token), AllowedHosts: &[]string{}})
	e = f.run(t, j)
	require.Equal(t, domain.StatusSucceeded, e.Status, e.Error)
	require.Len(t, attacker.got(), 1)
}

// TestAGlobalVariableRestrictedToNamespacesIsNotSeenByOthers: a job elsewhere that names the
// secret fails as if it did not exist, and sends nothing.
func TestAGlobalVariableRestrictedToNamespacesIsNotSeenByOthers(t *testing.T) {
	t.Parallel()
	f := newSecretsFixture(t)
	target := newListener(t, nil)
	f.put(t, domain.ScopeGlobal, "", "BANK_TOKEN", variables.PutRequest{Value: new("tok-bank-31f0"), IsSecret: new(true),
		Namespaces: &[]string{"payments"}})

	mine := testfactory.Job(t, f.store, testfactory.JobOpts{Namespace: "payments", URL: target.URL + "/?t={{ var.BANK_TOKEN }}"})
	require.Equal(t, domain.StatusSucceeded, f.run(t, mine).Status)

	theirs := testfactory.Job(t, f.store, testfactory.JobOpts{Namespace: "marketing", URL: target.URL + "/?t={{ var.BANK_TOKEN }}"})
	e := f.run(t, theirs)
	require.Equal(t, domain.StatusFailed, e.Status)
	require.Equal(t, `not sent: http.url: variable "BANK_TOKEN" is not defined (globally or for this job)`, e.Error)
	require.Len(t, target.got(), 1)
}

// TestASecretThroughAFilterIsMasked is the attack of sending a secret through upper, lower or a
// chain of filters to a target that echoes it: each form is masked in the stored excerpt, the
// error, the dead letter and the logs.
func TestASecretThroughAFilterIsMasked(t *testing.T) {
	t.Parallel()
	const token = "Tok-Mixed-Case-7Qz+/x"
	f := newSecretsFixture(t)
	echo := newListener(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "you sent "+r.URL.RawQuery+" "+r.Header.Get("X-Echo")+" "+string(body))
	})
	f.put(t, domain.ScopeGlobal, "", "TOKEN", variables.PutRequest{Value: new(token), IsSecret: new(true)})
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: echo.URL + "/?a={{ var.TOKEN | lower | urlquery }}",
		Retry: &domain.RetryPolicy{MaxAttempts: 1}})
	j.HTTP.Headers = map[string]string{"X-Echo": "{{ var.TOKEN | upper }}"}
	j.HTTP.Method, j.HTTP.Body = http.MethodPost, `{{ var.TOKEN | upper | json }} {{ var.TOKEN | lower }}`

	e := f.run(t, j)
	require.Equal(t, domain.StatusDeadLettered, e.Status)
	require.Len(t, echo.got(), 1, "the request was sent")
	forms := []string{token, strings.ToUpper(token), strings.ToLower(token), "tok-mixed-case-7qz%2B%2Fx"}
	require.Contains(t, e.ResponseExcerpt, "you sent a="+secret.Masked+" "+secret.Masked)
	var dead []string
	c, err := f.js.OrderedConsumer(t.Context(), f.names.DLQStream(), jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	msgs, err := c.FetchNoWait(10)
	require.NoError(t, err)
	for m := range msgs.Messages() {
		dead = append(dead, string(m.Data()))
	}
	require.Len(t, dead, 1)
	attempts, err := f.store.Attempts(t.Context(), e.ID, e.ScheduledAt)
	require.NoError(t, err)
	for _, form := range forms {
		require.NotContains(t, e.ResponseExcerpt+e.Error, form)
		require.NotContains(t, dead[0], form)
		require.NotContains(t, f.logs.String(), form)
		for _, a := range attempts {
			require.NotContains(t, a.Error, form)
		}
	}
}

package executor_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/httpjob"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/variables"
)

// TestSecretsNeverLeak runs jobs that use a secret in the URL, a header and the body against a
// target that echoes everything it receives — in its body, and in the error of a failing
// attempt — and checks the secret's bytes appear in no log line, no event, no dead letter and no
// stored result.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	const token = "tok-7f3a9c1e-very-secret"
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusInternalServerError)
		}
		_, _ = io.WriteString(w, "you sent "+r.URL.RawQuery+" "+r.Header.Get("Authorization")+" "+string(body))
	}))
	defer echo.Close()

	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	vars := sealedVariables(t, st, time.Now)
	_, _, err := vars.Put(t.Context(), domain.ScopeGlobal, "", "TOKEN", variables.PutRequest{Value: new(token), IsSecret: new(true)})
	require.NoError(t, err)

	logs := &testenv.LogBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	runner := httpjob.New(clockwork.NewRealClock(), httpjob.Config{TracerProvider: tp, Propagate: true}, egress.LoopbackPolicy())
	t.Cleanup(runner.Close)
	rt, err := executor.New(domain.KindHTTP, "execute-http", executor.Deps{Store: st, Runner: runner,
		Publisher: queue.NewPublisher(js), Names: names, Clock: clockwork.NewRealClock(), Log: log, Variables: vars}, executor.Config{})
	require.NoError(t, err)

	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	var execIDs []string
	for _, path := range []string{"/ok", "/fail"} {
		j := testfactory.Job(t, st, testfactory.JobOpts{URL: echo.URL + path + "?t={{ var.TOKEN | urlquery }}",
			Retry: &domain.RetryPolicy{MaxAttempts: 1}})
		j.HTTP.Headers = map[string]string{"Authorization": "Bearer {{ var.TOKEN }}"}
		j.HTTP.Body = `{"token":"{{ var.TOKEN | json }}"}`
		require.NoError(t, rt.Handle(t.Context(), dueEvent(t, j, at)))
		e, err := st.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
		require.NoError(t, err)
		require.Contains(t, e.ResponseExcerpt, "Bearer "+secret.Masked, "the echo arrived, masked")
		execIDs = append(execIDs, e.ID)
		attempts, err := st.Attempts(t.Context(), e.ID, e.ScheduledAt)
		require.NoError(t, err)
		for _, a := range attempts {
			require.NotContains(t, a.Error, token)
		}
		require.NotContains(t, e.ResponseExcerpt+e.Error, token)
	}
	ok, err := st.GetExecution(t.Context(), execIDs[0])
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, ok.Status)

	for _, stream := range []string{names.EventsStream(), names.DLQStream()} {
		c, err := js.OrderedConsumer(t.Context(), stream, jetstream.OrderedConsumerConfig{})
		require.NoError(t, err)
		msgs, err := c.FetchNoWait(100)
		require.NoError(t, err)
		n := 0
		for m := range msgs.Messages() {
			n++
			require.NotContains(t, string(m.Data()), token, stream)
			for k, vs := range m.Headers() {
				require.NotContains(t, k+strings.Join(vs, ","), token, stream)
			}
		}
		require.Positive(t, n, "%s has messages to check", stream)
	}
	require.NotEmpty(t, logs.String())
	require.NotContains(t, logs.String(), token)

	require.Len(t, spans.Ended(), 2, "a client span per request")
	for _, s := range spans.Ended() {
		text := s.Name() + " " + s.Status().Description
		for _, a := range s.Attributes() {
			text += " " + a.Value.Emit()
		}
		require.NotContains(t, text, token)
	}
}

func TestMissingVariableFailsNamingItAndTheField(t *testing.T) {
	t.Parallel()
	f := newFixture(t, executor.Config{})
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: "http://127.0.0.1:9/?k={{ var.API_KEY }}"})
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	require.NoError(t, f.rt.Handle(t.Context(), dueEvent(t, j, at)), "settled: retrying cannot define the variable")
	e, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
	require.NoError(t, err)
	require.Equal(t, domain.StatusFailed, e.Status)
	require.Equal(t, 1, e.Attempt)
	require.Equal(t, `not sent: http.url: variable "API_KEY" is not defined (globally or for this job)`, e.Error)
}

// sealedVariables returns the variables service of st, sealing secrets with a key of its own.
func sealedVariables(t *testing.T, st *store.Store, now func() time.Time) *variables.Service {
	t.Helper()
	keySpec, err := secret.NewKey("k1")
	require.NoError(t, err)
	keys, err := secret.ParseKeys(keySpec)
	require.NoError(t, err)
	return variables.New(st, keys, now)
}

// countingVariables counts the lookups of the real variables service.
type countingVariables struct {
	*variables.Service
	lookups atomic.Int32
}

func (c *countingVariables) Resolve(ctx context.Context, jobID string) (*variables.Resolved, error) {
	c.lookups.Add(1)
	return c.Service.Resolve(ctx, jobID)
}

// A template that names no variable costs no lookup; one that does looks them up once per
// attempt, however many it names, and masks the secrets among them.
func TestVariablesAreLookedUpOnlyWhenATemplateNamesOne(t *testing.T) {
	t.Parallel()
	const token = "tok-only-when-named"
	var got atomic.Value
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.URL.RawQuery)
		_, _ = io.WriteString(w, r.URL.RawQuery)
	}))
	defer target.Close()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	vars := &countingVariables{Service: sealedVariables(t, st, time.Now)}
	_, _, err := vars.Put(t.Context(), domain.ScopeGlobal, "", "TOKEN", variables.PutRequest{Value: new(token), IsSecret: new(true)})
	require.NoError(t, err)
	_, _, err = vars.Put(t.Context(), domain.ScopeGlobal, "", "REGION", variables.PutRequest{Value: new("hn")})
	require.NoError(t, err)
	runner := httpjob.New(clockwork.NewRealClock(), httpjob.Config{}, egress.LoopbackPolicy())
	t.Cleanup(runner.Close)
	rt, err := executor.New(domain.KindHTTP, "execute-http", executor.Deps{Store: st, Runner: runner,
		Publisher: queue.NewPublisher(js), Names: names, Clock: clockwork.NewRealClock(), Log: slog.New(slog.DiscardHandler), Variables: vars}, executor.Config{})
	require.NoError(t, err)
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)

	run := func(query string) *domain.Execution {
		t.Helper()
		j := testfactory.Job(t, st, testfactory.JobOpts{URL: target.URL + "/?" + query})
		require.NoError(t, rt.Handle(t.Context(), dueEvent(t, j, at)))
		e, err := st.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
		require.NoError(t, err)
		require.Equal(t, domain.StatusSucceeded, e.Status, e.Error)
		return e
	}

	e := run("job={{ job.id }}&at={{ execution.scheduled_at | date \"2006\" }}")
	require.Equal(t, "job="+e.JobID+"&at="+at.Format("2006"), got.Load())
	require.Zero(t, vars.lookups.Load(), "no template names a variable")

	e = run("r={{ var.REGION }}&t={{ var.TOKEN }}&u={{ var.REGION | upper }}")
	require.Equal(t, "r=hn&t="+token+"&u=HN", got.Load())
	require.EqualValues(t, 1, vars.lookups.Load(), "one lookup for the attempt")
	require.Equal(t, "r=hn&t="+secret.Masked+"&u=HN", e.ResponseExcerpt, "the secret is masked in what was recorded")
}

package executor_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/breaker"
	"github.com/vecron/vecron/shared/delivery"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/redisconn"
	"github.com/vecron/vecron/shared/render"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/variables"
)

// panicToken is the secret variable a buggy driver puts in its panic value.
const panicToken = "tok-5d1e0b2a-panic-secret"

// buggyRunner stands for a driver with a bug. It renders a job's URL from its variables as a
// real driver does, then panics in the step its URL names ("/panic-in-run", "/panic-in-render",
// "/panic-in-target") with the rendered URL, secret and all, in the panic value. Every other job
// succeeds, and so does every job once the fix is deployed.
type buggyRunner struct {
	fixed atomic.Bool
}

func (b *buggyRunner) maybePanic(d event.Due, step string) {
	if !b.fixed.Load() && strings.Contains(d.HTTP.URL, "/panic-in-"+step) {
		panic("driver bug: cannot call " + d.HTTP.URL)
	}
}

func (b *buggyRunner) Render(d event.Due, c *render.Context) (event.Due, error) {
	spec := *d.HTTP
	var err error
	if spec.URL, err = render.Render("http.url", spec.URL, c); err != nil {
		return d, err
	}
	d.HTTP = &spec
	b.maybePanic(d, "render")
	return d, nil
}

func (b *buggyRunner) Target(d event.Due) string {
	b.maybePanic(d, "target")
	u, err := url.Parse(d.HTTP.URL)
	if err != nil {
		return ""
	}
	return u.Host
}

func (b *buggyRunner) Run(_ context.Context, d event.Due) domain.RunResult {
	b.maybePanic(d, "run")
	return domain.RunResult{Status: domain.StatusSucceeded, HTTPStatus: 200, Excerpt: "ok"}
}

// panickyVariables resolves variables through the real service, except that for the job named
// by panicFor it panics with the secret in the panic value, as a bug in decryption might.
type panickyVariables struct {
	*variables.Service
	panicFor string
}

func (p *panickyVariables) Resolve(ctx context.Context, jobID string) (*variables.Resolved, error) {
	if jobID == p.panicFor {
		panic("decrypt TOKEN: unexpected plaintext " + panicToken)
	}
	return p.Service.Resolve(ctx, jobID)
}

type panicFixture struct {
	*fixture
	runner   *buggyRunner
	vars     *panickyVariables
	breakers *breaker.Breakers
	logs     *testenv.LogBuffer
}

// Breaker settings of the panic fixture: one failure opens a host's breaker, and one trial
// closes it again.
var panicBreakerConfig = breaker.Config{ConsecutiveFailures: 1, HalfOpenRequests: 1, CoolDown: time.Minute}

// newPanicFixture returns a runtime with a buggy runner behind real circuit breakers, the secret
// variable TOKEN defined globally, and its log collected.
func newPanicFixture(t *testing.T) *panicFixture {
	t.Helper()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	clock := clockwork.NewFakeClockAt(time.Now().UTC())
	breakers := testBreakers(t, clock)
	vars := &panickyVariables{Service: sealedVariables(t, st, clock.Now)}
	_, _, err := vars.Put(t.Context(), domain.ScopeGlobal, "", "TOKEN", variables.PutRequest{Value: new(panicToken), IsSecret: new(true)})
	require.NoError(t, err)

	logs := &testenv.LogBuffer{}
	runner := &buggyRunner{}
	rt, err := executor.New(domain.KindHTTP, "execute-http", executor.Deps{Store: st, Runner: runner, Variables: vars, Breaker: breakers,
		Publisher: queue.NewPublisher(js), Names: names, Clock: clock,
		Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}, executor.Config{})
	require.NoError(t, err)
	return &panicFixture{fixture: &fixture{rt: rt, store: st, js: js, names: names, clock: clock}, runner: runner, vars: vars, breakers: breakers, logs: logs}
}

// testBreakers returns breakers on the test Redis under a key prefix of t's own, whose keys are
// deleted when t ends.
func testBreakers(t *testing.T, clock clockwork.Clock) *breaker.Breakers {
	t.Helper()
	redisURL, prefix := testenv.RedisURL(t)
	rdb, err := redisconn.Open(redisconn.Config{URL: redisURL}, "breaker", nil, nil)
	require.NoError(t, err)
	cfg := panicBreakerConfig
	cfg.KeyPrefix = prefix
	b, err := breaker.New(rdb, clock, cfg, slog.New(slog.DiscardHandler), nil)
	require.NoError(t, err)
	t.Cleanup(func() {
		b.Close()
		ctx := context.Background()
		keys, err := rdb.Keys(ctx, prefix+"*").Result()
		require.NoError(t, err)
		if len(keys) > 0 {
			require.NoError(t, rdb.Del(ctx, keys...).Err())
		}
		require.NoError(t, rdb.Close())
	})
	return b
}

// job inserts a job calling path with the secret in its query string.
func (f *panicFixture) job(t *testing.T, path string, retry *domain.RetryPolicy) *domain.Job {
	t.Helper()
	return testfactory.Job(t, f.store, testfactory.JobOpts{URL: "http://127.0.0.1:9" + path + "?t={{ var.TOKEN }}", Retry: retry})
}

// A panic in the driver fails that one attempt, masked like every error, and is retried with
// back-off; the worker goes on serving other deliveries, and a deploy of the fix picks the
// execution up.
func TestPanickingRunnerFailsTheAttemptNotTheWorker(t *testing.T) {
	t.Parallel()
	for _, step := range []string{"run", "render", "target"} {
		t.Run("In"+strings.ToUpper(step[:1])+step[1:], func(t *testing.T) {
			t.Parallel()
			f := newPanicFixture(t)
			buggy := f.job(t, "/panic-in-"+step, nil)
			at := f.clock.Now().Truncate(time.Second)
			ev := dueEvent(t, buggy, at)

			// Not t.Context(): its end would also stop an attempt timeout the panic left running,
			// and the leak check in TestMain would not see it.
			err := f.rt.Handle(context.Background(), ev)
			var retry *delivery.RetryError
			require.ErrorAs(t, err, &retry, "retried like a transient failure")
			require.Positive(t, retry.After, "with back-off")
			require.NotContains(t, err.Error(), panicToken)

			e, err := f.store.ExecutionByKey(t.Context(), ev.ID())
			require.NoError(t, err)
			require.Equal(t, domain.StatusQueued, e.Status)
			require.NotNil(t, e.NextAttemptAt)
			attempts, err := f.store.Attempts(t.Context(), e.ID, e.ScheduledAt)
			require.NoError(t, err)
			require.Len(t, attempts, 1)
			require.Equal(t, domain.StatusFailed, attempts[0].Status)
			require.Contains(t, attempts[0].Error, "panicked: driver bug: cannot call http://127.0.0.1:9/panic-in-"+step+"?t="+secret.Masked)
			require.NotContains(t, attempts[0].Error+e.Error, panicToken)

			// The worker survived: another delivery on the same runtime runs as usual.
			healthy := f.job(t, "/ok", nil)
			require.NoError(t, f.rt.Handle(t.Context(), dueEvent(t, healthy, at)))
			ok, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(healthy.ID, at))
			require.NoError(t, err)
			require.Equal(t, domain.StatusSucceeded, ok.Status)

			// The fix is deployed; the retry, due after its back-off, succeeds.
			f.runner.fixed.Store(true)
			f.clock.Advance(retry.After)
			require.NoError(t, f.rt.Handle(t.Context(), ev))
			e, err = f.store.ExecutionByKey(t.Context(), ev.ID())
			require.NoError(t, err)
			require.Equal(t, domain.StatusSucceeded, e.Status)
			require.Equal(t, 2, e.Attempt)

			logs := f.logs.String()
			require.Contains(t, logs, `"msg":"attempt panicked"`)
			require.Contains(t, logs, "buggyRunner", "the log line holds the stack")
			require.NotContains(t, logs, panicToken)
		})
	}
}

// A panic in resolving variables comes before the secrets are known, so nothing could mask
// them: the attempt fails without the panic's value, which only its type stands for.
func TestPanickingVariablesFailTheAttemptWithoutTheValue(t *testing.T) {
	t.Parallel()
	f := newPanicFixture(t)
	j := f.job(t, "/ok", nil)
	f.vars.panicFor = j.ID
	ev := dueEvent(t, j, f.clock.Now().Truncate(time.Second))

	var retry *delivery.RetryError
	require.ErrorAs(t, f.rt.Handle(context.Background(), ev), &retry)
	e, err := f.store.ExecutionByKey(t.Context(), ev.ID())
	require.NoError(t, err)
	require.Equal(t, domain.StatusQueued, e.Status)
	require.Equal(t, "resolve variables: panicked with a string (its value is withheld: it may hold a secret)", e.Error)
	logs := f.logs.String()
	require.Contains(t, logs, "panickyVariables", "the log line holds the stack")
	require.NotContains(t, logs, panicToken)
}

// A panic on the last attempt dead-letters the execution as any other failure would; the dead
// letter and the lifecycle event carry the masked error.
func TestPanicOnTheLastAttemptDeadLetters(t *testing.T) {
	t.Parallel()
	f := newPanicFixture(t)
	j := f.job(t, "/panic-in-run", &domain.RetryPolicy{MaxAttempts: 1})
	ev := dueEvent(t, j, f.clock.Now().Truncate(time.Second))

	require.NoError(t, f.rt.Handle(context.Background(), ev))
	e, err := f.store.ExecutionByKey(t.Context(), ev.ID())
	require.NoError(t, err)
	require.Equal(t, domain.StatusDeadLettered, e.Status)
	require.Equal(t, fmt.Sprintf("gave up after 1 attempts: panicked: driver bug: cannot call http://127.0.0.1:9/panic-in-run?t=%s", secret.Masked), e.Error)

	for _, stream := range []string{f.names.EventsStream(), f.names.DLQStream()} {
		c, err := f.js.OrderedConsumer(t.Context(), stream, jetstream.OrderedConsumerConfig{})
		require.NoError(t, err)
		msgs, err := c.FetchNoWait(10)
		require.NoError(t, err)
		n := 0
		for m := range msgs.Messages() {
			if m.Headers().Get("ce-type") == event.TypeExecutionStarted {
				require.NotContains(t, string(m.Data()), panicToken, stream)
				continue // the attempt's start, before it panicked
			}
			n++
			require.Contains(t, string(m.Data()), "panicked", stream)
			require.NotContains(t, string(m.Data()), panicToken, stream)
		}
		require.Equal(t, 1, n, stream)
	}
	require.NotContains(t, f.logs.String(), panicToken)
}

// A panicking attempt still reports to its target's breaker, as a success: a panic says nothing
// against the target. Here it is the one trial of a half-open breaker, which it closes rather than
// keeping every other job's request to the host waiting out the trial's lease.
func TestPanicIsReportedToTheBreaker(t *testing.T) {
	t.Parallel()
	f := newPanicFixture(t)
	const host = "127.0.0.1:9"
	done, err := f.breakers.Allow(t.Context(), host)
	require.NoError(t, err)
	done(false)
	state, err := f.breakers.State(t.Context(), host)
	require.NoError(t, err)
	require.Equal(t, breaker.StateOpen, state)
	f.clock.Advance(panicBreakerConfig.CoolDown)

	j := f.job(t, "/panic-in-run", nil)
	var retry *delivery.RetryError
	require.ErrorAs(t, f.rt.Handle(context.Background(), dueEvent(t, j, f.clock.Now().Truncate(time.Second))), &retry)
	state, err = f.breakers.State(t.Context(), host)
	require.NoError(t, err)
	require.Equal(t, breaker.StateClosed, state, "the trial was reported, and not as the host's failure")
}

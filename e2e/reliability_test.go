package e2e_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/functions/execute-http/httpfn"
	"github.com/vecron/vecron/functions/tick/tickfn"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testenv"
)

// onceJob creates a job that fires once, a second from now, at url.
func onceJob(t *testing.T, s *stack, name, url string, retry map[string]any) domain.Job {
	t.Helper()
	// A second ahead, or more when a loaded machine took longer than that to get the request to
	// the api, which refuses an instant already past (schedule.at: never fires after now).
	for margin := time.Second; ; margin *= 2 {
		at := time.Now().Add(margin).UTC().Format(time.RFC3339Nano)
		var j domain.Job
		status := postJSON(t, s.apiURL+"/api/v1/jobs", map[string]any{
			"name": name, "schedule": map[string]any{"kind": "once", "at": at},
			"http": map[string]any{"url": url}, "retry": retry,
		}, &j)
		if status == http.StatusBadRequest && margin < 8*time.Second {
			continue
		}
		require.Equal(t, http.StatusCreated, status)
		return j
	}
}

// waitExecution polls the job's executions until one satisfies done, and returns it.
func waitExecution(t *testing.T, s *stack, jobID string, done func(domain.Execution) bool) domain.Execution {
	t.Helper()
	var found domain.Execution
	testenv.AwaitWithin(t, 30*time.Second, "an execution of job "+jobID+" in the expected state", func() ([]domain.Execution, bool) {
		execs := allExecutions(t, s.apiURL, jobID)
		for _, e := range execs {
			if done(e) {
				found = e
				return execs, true
			}
		}
		return execs, false
	})
	return found
}

func TestRetriesThroughJetStreamUntilTheTargetRecovers(t *testing.T) {
	t.Parallel()
	s := startStack(t, httpfn.TransportPull)
	var calls atomic.Int32
	tg := newTargetFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 3 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("done"))
	})
	j := onceJob(t, s, "flaky", tg.URL, map[string]any{"max_attempts": 5, "backoff": []string{"300ms"}})

	e := waitExecution(t, s, j.ID, func(e domain.Execution) bool { return e.Status.Terminal() })
	require.Equal(t, domain.StatusSucceeded, e.Status)
	require.Equal(t, 4, e.Attempt)
	var shown domain.Execution
	getJSON(t, s.apiURL+"/api/v1/executions/"+e.ID, &shown)
	require.Len(t, shown.Attempts, 4)
	for i, a := range shown.Attempts {
		want, code := domain.StatusFailed, 503
		if i == 3 {
			want, code = domain.StatusSucceeded, 200
		}
		require.Equal(t, want, a.Status, "attempt %d", a.Attempt)
		require.Equal(t, code, a.HTTPStatus, "attempt %d", a.Attempt)
	}
	require.Equal(t, int32(4), calls.Load())
}

func TestDeadLetterThenReplayThroughTheAPI(t *testing.T) {
	t.Parallel()
	s := startStack(t, httpfn.TransportPull)
	var healthy atomic.Bool
	var calls atomic.Int32
	tg := newTargetFunc(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if !healthy.Load() {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("fixed"))
	})
	j := onceJob(t, s, "always-failing", tg.URL, map[string]any{"max_attempts": 3, "backoff": []string{"200ms"}})

	dead := waitExecution(t, s, j.ID, func(e domain.Execution) bool { return e.Status.Terminal() })
	require.Equal(t, domain.StatusDeadLettered, dead.Status)
	require.Equal(t, 3, dead.Attempt)
	require.Equal(t, int32(3), calls.Load(), "max attempts, no more")
	var list struct {
		Items []domain.Execution `json:"items"`
	}
	getJSON(t, s.apiURL+"/api/v1/dead-letters?job_id="+j.ID, &list)
	require.Len(t, list.Items, 1)
	require.Equal(t, dead.ID, list.Items[0].ID)

	// Nothing re-runs it on its own: the fire has left the due stream, nothing is left to
	// redeliver, and the job, once, is not scheduled again.
	waitDrained(t, s)
	var job domain.Job
	getJSON(t, s.apiURL+"/api/v1/jobs/"+j.ID, &job)
	require.Equal(t, domain.StateCompleted, job.State)
	require.Nil(t, job.NextRunAt)
	require.Equal(t, int32(3), calls.Load())

	healthy.Store(true)
	var replayed domain.Execution
	require.Equal(t, http.StatusAccepted, postJSON(t, s.apiURL+"/api/v1/dead-letters/"+dead.ID+"/replay", nil, &replayed))
	e := waitExecution(t, s, j.ID, func(e domain.Execution) bool { return e.Trigger == domain.TriggerReplay && e.Status.Terminal() })
	require.Equal(t, domain.StatusSucceeded, e.Status)
	require.Equal(t, replayed.DeadLetter.ReplayKey, e.IdempotencyKey)
	require.Equal(t, dead.ScheduledAt, e.ScheduledAt)
	getJSON(t, s.apiURL+"/api/v1/dead-letters?job_id="+j.ID, &list)
	require.Empty(t, list.Items, "no dead letter is pending any more")
}

func TestCircuitBreakerOpensAndCloses(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, httpfn.TransportPull, tickfn.DefaultSettings().Tick, func(hs *httpfn.Settings) {
		hs.Breaker.ConsecutiveFailures, hs.Breaker.CoolDown = 3, 2*time.Second
	})
	var healthy atomic.Bool
	var calls atomic.Int32
	tg := newTargetFunc(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if !healthy.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		_, _ = w.Write([]byte("up"))
	})
	var j domain.Job
	require.Equal(t, http.StatusCreated, postJSON(t, s.apiURL+"/api/v1/jobs", map[string]any{
		"name": "every-second", "schedule": map[string]string{"cron": "* * * * * *"},
		"http": map[string]any{"url": tg.URL}, "retry": map[string]any{"max_attempts": 1},
	}, &j))

	// Three failures open the breaker: later fires fail fast without reaching the target.
	fastFail := waitExecution(t, s, j.ID, func(e domain.Execution) bool { return strings.Contains(e.Error, "circuit breaker") })
	require.Contains(t, fastFail.Error, "not sent: circuit breaker of 127.0.0.1:")
	require.Zero(t, fastFail.HTTPStatus)
	sentWhileOpen := calls.Load()
	require.EqualValues(t, 3, sentWhileOpen)

	// The target recovers; after the cool-down a trial goes through and closes the breaker.
	healthy.Store(true)
	ok := waitExecution(t, s, j.ID, func(e domain.Execution) bool { return e.Status == domain.StatusSucceeded })
	require.False(t, ok.ScheduledAt.Before(fastFail.ScheduledAt))
	// Run until a fire two seconds later has ended too.
	waitExecution(t, s, j.ID, func(e domain.Execution) bool {
		return e.ScheduledAt.After(ok.ScheduledAt.Add(time.Second)) && e.Status.Terminal()
	})
	s.stops["tick"]()
	var after []domain.Execution
	for _, e := range allExecutions(t, s.apiURL, j.ID) {
		if e.ScheduledAt.After(ok.ScheduledAt) && e.Status.Terminal() {
			after = append(after, e)
		}
	}
	require.NotEmpty(t, after)
	for _, e := range after {
		require.Equal(t, domain.StatusSucceeded, e.Status, "closed again: every later fire is sent")
	}
}

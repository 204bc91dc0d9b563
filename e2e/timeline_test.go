package e2e_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/functions/execute-http/httpfn"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/timeline"
)

// TestTimelineOfAFireThatFailedThenSucceeded: a fire the tick claimed, JetStream delivered to
// the pull executor, that failed once and succeeded on its retry shows every step with the
// values that happened — the tick replica, the stream sequence, the consumer and the count of
// the delivery that ran the last attempt, both attempts — and its fires entry names it.
func TestTimelineOfAFireThatFailedThenSucceeded(t *testing.T) {
	t.Parallel()
	s := startStack(t, httpfn.TransportPull)
	var calls atomic.Int32
	tg := newTargetFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("done"))
	})
	j := onceJob(t, s, "timeline", tg.URL, map[string]any{"max_attempts": 3, "backoff": []string{"200ms"}})
	e := waitExecution(t, s, j.ID, func(e domain.Execution) bool { return e.Status.Terminal() })
	require.Equal(t, domain.StatusSucceeded, e.Status)

	var tl timeline.Execution
	getJSON(t, s.apiURL+"/api/v1/executions/"+e.ID+"/timeline", &tl)
	steps := map[string][]timeline.Step{}
	var order []string
	for _, st := range tl.Steps {
		steps[st.Step] = append(steps[st.Step], st)
		order = append(order, st.Step)
	}
	require.Equal(t, []string{"scheduled", "claimed", "published", "delivered", "attempt", "attempt", "result"}, order)

	claimed := steps[timeline.StepClaimed][0]
	require.Equal(t, timeline.StateDone, claimed.State)
	require.Equal(t, "e2e", claimed.By, "the tick replica's name")
	require.NotNil(t, claimed.At)
	require.False(t, claimed.At.After(e.ScheduledAt), "claimed no later than its instant")

	published := steps[timeline.StepPublished][0]
	require.Equal(t, timeline.StateDone, published.State)
	require.Positive(t, published.StreamSeq)
	require.NotNil(t, published.At)
	require.False(t, published.At.Before(*claimed.At), "published after it was claimed")

	delivered := steps[timeline.StepDelivered][0]
	require.Equal(t, timeline.StateDone, delivered.State)
	require.Equal(t, s.names.DueConsumer(domain.KindHTTP), delivered.Consumer)
	require.Equal(t, 2, delivered.DeliveryCount, "the redelivery that ran the retry")

	attempts := steps[timeline.StepAttempt]
	require.Equal(t, domain.StatusFailed, attempts[0].Status)
	require.Equal(t, 503, attempts[0].HTTPStatus)
	require.Equal(t, domain.StatusSucceeded, attempts[1].Status)
	require.Equal(t, "e2e-worker", attempts[1].By)
	result := steps[timeline.StepResult][0]
	require.Equal(t, domain.StatusSucceeded, result.Status)
	require.Empty(t, result.Reason)

	var fires struct {
		Fires []timeline.Fire `json:"fires"`
	}
	from, to := e.ScheduledAt.Add(-time.Minute), e.ScheduledAt.Add(time.Minute)
	getJSON(t, s.apiURL+"/api/v1/jobs/"+j.ID+"/fires?from="+from.Format(time.RFC3339)+"&to="+to.Format(time.RFC3339), &fires)
	require.Len(t, fires.Fires, 1)
	require.True(t, fires.Fires[0].Expected)
	require.Equal(t, e.ID, fires.Fires[0].ExecutionID)
	require.Equal(t, domain.StatusSucceeded, fires.Fires[0].Status)
}

// TestTimelineOfAPushedFireSaysWhatItCannotKnow: a fire pushed over HTTP (as a Knative broker
// delivers) carries no claim of a tick and no stream metadata: those steps are unknown, not
// filled in, and the attempt and result are what happened.
func TestTimelineOfAPushedFireSaysWhatItCannotKnow(t *testing.T) {
	t.Parallel()
	s := startStack(t, httpfn.TransportPush)
	tg := newTarget(t)
	j, at := claimedOnceJob(t, s, "pushed", tg.URL)
	ev, err := event.NewDue(event.DueFor(&j, at, domain.TriggerSchedule, domain.ScheduledKey(j.ID, at)), "/test/broker")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, push(t, s.pushURL, ev))
	execs := allExecutions(t, s.apiURL, j.ID)
	require.Len(t, execs, 1)

	var tl timeline.Execution
	getJSON(t, s.apiURL+"/api/v1/executions/"+execs[0].ID+"/timeline", &tl)
	states := map[string]string{}
	for _, st := range tl.Steps {
		states[st.Step] = st.State
	}
	require.Equal(t, map[string]string{"scheduled": "done", "claimed": "unknown", "published": "unknown", "delivered": "unknown",
		"attempt": "done", "result": "done"}, states)
}

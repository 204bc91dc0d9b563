package e2e_test

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/functions/execute-http/httpfn"
	"github.com/vecron/vecron/functions/tick/tickfn"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/timeline"
)

// TestMisfirePoliciesAfterTickOutage stops the tick for five periods of a 2-second schedule (the
// stack's clock jumps over them), restarts it, and checks per misfire policy what fired late and what was recorded as skipped:
// every scheduled instant of the run has exactly one execution row.
func TestMisfirePoliciesAfterTickOutage(t *testing.T) {
	t.Parallel()
	cfg := tickfn.DefaultSettings().Tick
	cfg.MisfireThreshold = 500 * time.Millisecond // anything later is a misfire
	s := startStackWith(t, httpfn.TransportPull, cfg)
	tg := newTarget(t)

	jobs := map[string]string{} // policy → job id
	for _, p := range []struct {
		policy     string
		maxCatchup int
	}{{domain.MisfireFireOnce, 0}, {domain.MisfireSkip, 0}, {domain.MisfireFireAll, 3}} {
		var j domain.Job
		body := map[string]any{
			"name": "misfire-" + p.policy, "schedule": map[string]string{"cron": "*/2 * * * * *"},
			"http": map[string]any{"url": tg.URL}, "misfire_policy": p.policy,
		}
		if p.maxCatchup > 0 {
			body["max_catchup"] = p.maxCatchup
		}
		require.Equal(t, http.StatusCreated, postJSON(t, s.apiURL+"/api/v1/jobs", body, &j))
		jobs[p.policy] = j.ID
	}
	testenv.AwaitWithin(t, 30*time.Second, "a fire of every job", func() (string, bool) {
		for policy, id := range jobs {
			if len(allExecutions(t, s.apiURL, id)) == 0 {
				return policy + " has not fired", false
			}
		}
		return "", true
	})
	// The outage begins when the tick stops: an instant after that and before the drain below
	// ends is as missed as any later one (a loaded machine can take seconds to drain).
	down := s.clock.Now()
	s.stops["tick"]()
	waitDrained(t, s) // what was published before the outage has run
	// Five periods pass while the tick is down. It comes back just after a scheduled instant:
	// that one is on time, the one before it 2 s late.
	s.clock.Jump(10 * time.Second)
	now := s.clock.Now()
	s.clock.Jump(now.Truncate(2 * time.Second).Add(2*time.Second + 100*time.Millisecond).Sub(now))
	up := s.clock.Now()
	stop := s.startTick()
	testenv.AwaitWithin(t, 30*time.Second, "a fire of every job on time after the restart", func() (string, bool) {
		for policy, id := range jobs {
			if !slices.ContainsFunc(allExecutions(t, s.apiURL, id), func(e domain.Execution) bool {
				return e.ScheduledAt.After(up) && e.Status.Terminal()
			}) {
				return policy + " has not fired since the restart", false
			}
		}
		return "", true
	})
	stop()
	waitDrained(t, s)

	for policy, id := range jobs {
		execs := allExecutions(t, s.apiURL, id)
		sort.Slice(execs, func(i, k int) bool { return execs[i].ScheduledAt.Before(execs[k].ScheduledAt) })
		// A fire the outage touched was either skipped or run as a misfire: claimed later than
		// the threshold allows, the tick's own rule. When it started says nothing more: on a
		// loaded machine the on-time fire too can start over a second after its instant.
		var late, skipped []time.Time
		for i, e := range execs {
			if i > 0 {
				require.Equal(t, 2*time.Second, e.ScheduledAt.Sub(execs[i-1].ScheduledAt),
					"%s: every instant has exactly one row (%s after %s)", policy, e.ScheduledAt, execs[i-1].ScheduledAt)
			}
			switch {
			case e.Status == domain.StatusSkipped:
				require.Contains(t, e.Error, "misfire policy "+policy)
				require.True(t, e.ScheduledAt.After(down) && e.ScheduledAt.Before(up), "%s: skipped %s outside the outage", policy, e.ScheduledAt)
				skipped = append(skipped, e.ScheduledAt)
			case e.Status == domain.StatusSucceeded && claimedAt(t, s.apiURL, e.ID).Sub(e.ScheduledAt) > cfg.MisfireThreshold:
				late = append(late, e.ScheduledAt)
			default:
				require.Equal(t, domain.StatusSucceeded, e.Status, "%s: fire %s", policy, e.ScheduledAt)
			}
		}
		for _, l := range late {
			for _, sk := range skipped {
				require.True(t, l.After(sk), "%s: the late fires are the latest missed ones", policy)
			}
		}
		switch policy {
		case domain.MisfireFireOnce:
			require.Len(t, late, 1, "fire_once runs one missed fire")
			require.GreaterOrEqual(t, len(skipped), 3)
		case domain.MisfireSkip:
			require.Empty(t, late)
			require.GreaterOrEqual(t, len(skipped), 4)
		case domain.MisfireFireAll:
			require.Len(t, late, 3, "fire_all runs max_catchup missed fires")
			require.GreaterOrEqual(t, len(skipped), 1)
		}
		t.Logf("%s: %d fired late, %d skipped", policy, len(late), len(skipped))
	}
}

// claimedAt returns when the tick claimed execution id, as the execution's timeline shows it.
func claimedAt(t *testing.T, apiURL, id string) time.Time {
	t.Helper()
	var tl timeline.Execution
	getJSON(t, apiURL+"/api/v1/executions/"+id+"/timeline", &tl)
	for _, st := range tl.Steps {
		if st.Step == timeline.StepClaimed && st.At != nil {
			return *st.At
		}
	}
	t.Fatalf("execution %s: its timeline has no claim time: %+v", id, tl.Steps)
	return time.Time{}
}

// TestConcurrencyForbidWithTheRealTick runs an every-second job whose target takes 2.5 s: with
// policy forbid, fires that come while one runs are recorded as skipped and never overlap.
func TestConcurrencyForbidWithTheRealTick(t *testing.T) {
	t.Parallel()
	s := startStack(t, httpfn.TransportPull)
	slow := newTargetFunc(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(2500 * time.Millisecond) })
	var j domain.Job
	require.Equal(t, http.StatusCreated, postJSON(t, s.apiURL+"/api/v1/jobs", map[string]any{
		"name": "forbid", "schedule": map[string]string{"cron": "* * * * * *"},
		"http": map[string]any{"url": slow.URL}, "concurrency_policy": "forbid",
	}, &j))
	// Run until two runs have finished, fires finding each running skipped meanwhile.
	testenv.AwaitWithin(t, 30*time.Second, "two finished runs", func() (string, bool) {
		ran := 0
		for _, e := range allExecutions(t, s.apiURL, j.ID) {
			if e.Status == domain.StatusSucceeded {
				ran++
			}
		}
		return fmt.Sprintf("%d finished", ran), ran >= 2
	})
	s.stops["tick"]()
	waitDrained(t, s) // let the last run finish
	s.stops["execute-http"]()

	execs := allExecutions(t, s.apiURL, j.ID)
	sort.Slice(execs, func(i, k int) bool { return execs[i].ScheduledAt.Before(execs[k].ScheduledAt) })
	var ran, skipped int
	var lastEnd time.Time
	for _, e := range execs {
		switch e.Status {
		case domain.StatusSucceeded:
			ran++
			require.False(t, e.StartedAt.Before(lastEnd), "runs overlap: %s started before %s", e.StartedAt, lastEnd)
			lastEnd = *e.FinishedAt
		case domain.StatusSkipped:
			skipped++
			require.True(t, strings.Contains(e.Error, "concurrency policy forbid"), e.Error)
		default:
			t.Fatalf("fire %s is %s", e.ScheduledAt, e.Status)
		}
	}
	require.GreaterOrEqual(t, ran, 2)
	require.GreaterOrEqual(t, skipped, 2*ran-2, "about two of every three fires find one running")
	t.Logf("forbid: %d ran, %d skipped", ran, skipped)
}

// TestBackfillRunsPastFiresThroughTheTick queues a backfill and checks the tick publishes it at
// the requested rate and each fire runs once, with trigger backfill.
func TestBackfillRunsPastFiresThroughTheTick(t *testing.T) {
	t.Parallel()
	s := startStack(t, httpfn.TransportPull)
	tg := newTarget(t)
	var j domain.Job
	require.Equal(t, http.StatusCreated, postJSON(t, s.apiURL+"/api/v1/jobs", map[string]any{
		"name": "hourly", "schedule": map[string]string{"cron": "0 0 * * * ?"}, "http": map[string]any{"url": tg.URL},
	}, &j))
	to := time.Now().UTC().Truncate(time.Hour)
	// When the tick first publishes each fire, as a subscriber of the due subjects sees it: the
	// rate governs the publications, whereas executions may start late or together. (JetStream
	// drops a republication by its message id.)
	nc, err := nats.Connect(testenv.NATSURL(t))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	var (
		pubMu     sync.Mutex
		published = map[string]time.Time{}
	)
	_, err = nc.Subscribe(s.names.Prefix+".due.>", func(m *nats.Msg) {
		at := time.Now()
		pubMu.Lock()
		defer pubMu.Unlock()
		if id := m.Header.Get(nats.MsgIdHdr); published[id].IsZero() {
			published[id] = at
		}
	})
	require.NoError(t, err)
	require.NoError(t, nc.Flush())

	var res struct {
		Queued int `json:"queued"`
	}
	asked := time.Now()
	require.Equal(t, http.StatusAccepted, postJSON(t, s.apiURL+"/api/v1/jobs/"+j.ID+"/backfill", map[string]any{
		"from": to.Add(-3 * time.Hour), "to": to, "rate": 5,
	}, &res))
	require.Equal(t, 4, res.Queued)
	testenv.EventuallyWithin(t, 20*time.Second, "four backfilled executions", func() bool { return len(allExecutions(t, s.apiURL, j.ID)) == 4 })
	waitDrained(t, s)
	execs := allExecutions(t, s.apiURL, j.ID)
	require.Len(t, execs, 4)
	for _, e := range execs {
		require.Equal(t, domain.TriggerBackfill, e.Trigger)
		require.Equal(t, domain.StatusSucceeded, e.Status)
		require.Zero(t, e.ScheduledAt.Minute())
	}
	require.Len(t, tg.requests(), 4)
	keys := make([]string, 4)
	for h := range keys {
		keys[h] = domain.ScheduledKey(j.ID, to.Add(-time.Duration(h)*time.Hour))
	}
	testenv.Eventually(t, "the subscriber seeing the four publications", func() bool {
		pubMu.Lock()
		defer pubMu.Unlock()
		for _, k := range keys {
			if published[k].IsZero() {
				return false
			}
		}
		return true
	})
	pubMu.Lock()
	defer pubMu.Unlock()
	var last time.Time
	for _, k := range keys {
		if published[k].After(last) {
			last = published[k]
		}
	}
	// At 5 per second the fourth fire's turn comes 600 ms after the request; a fire may be
	// published late, never before its turn.
	require.GreaterOrEqual(t, last.Sub(asked), 600*time.Millisecond, "published at 5 per second, not at once")
}

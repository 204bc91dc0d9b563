package e2e_test

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// scaledLine is the log line of one scale decision of `vecron dev --autoscale`.
var scaledLine = regexp.MustCompile(`msg=scaled function=autoscale kind=(\w+) from=(\d+) to=(\d+) lag=(\d+)`)

// decision is one scaledLine.
type decision struct {
	kind     string
	from, to int
	lag      int64
}

func decisions(output string) []decision {
	var out []decision
	for _, m := range scaledLine.FindAllStringSubmatch(output, -1) {
		from, _ := strconv.Atoi(m[2])
		to, _ := strconv.Atoi(m[3])
		lag, _ := strconv.ParseInt(m[4], 10, 64)
		out = append(out, decision{kind: m[1], from: from, to: to, lag: lag})
	}
	return out
}

// TestAutoscaleFromZeroAndBack runs `vecron dev --autoscale` with fast polling and a short
// cooldown: with no lag no executor runs; fires due at one instant start one executor process,
// then more (their lag is above what one carries); every fire reaches its target once and is
// recorded once; after the cooldown the executors drain and stop, back to zero. The scaler is
// observed through its decisions, one log line each, waited for with bounded polling.
func TestAutoscaleFromZeroAndBack(t *testing.T) {
	t.Parallel()
	dbURL := testenv.PostgresURL(t)
	_, _, names := testenv.NATS(t)
	redisURL, redisPrefix := testenv.RedisURL(t)
	apiPort := testenv.FreePort(t)
	const jobs, lagThreshold, maxReplicas = 60, 10, 3
	dev := startProc(t, "vecron", []string{
		"DATABASE_URL=" + dbURL, "REDIS_URL=" + redisURL, "NATS_URL=" + testenv.NATSURL(t),
		"VECRON_NATS__PREFIX=" + names.Prefix, "VECRON_REDIS__PREFIX=" + redisPrefix, "VECRON_EGRESS__ALLOW=127.0.0.0/8",
		// The fires' own lag is what this test scales on; with a 1 s cooldown a wake's process
		// would stop again before them (TestPrewarmWakesAPulledExecutorBeforeItsFire has wakes).
		"VECRON_TICK__PREWARM__ENABLED=false",
	}, "dev", fmt.Sprintf("--port=%d", apiPort), "--admin-port=0", "--data-dir="+t.TempDir(),
		"--autoscale", "--autoscale-max="+strconv.Itoa(maxReplicas), "--autoscale-lag-threshold="+strconv.Itoa(lagThreshold),
		"--autoscale-cooldown=1s", "--autoscale-polling=100ms")
	apiURL := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	waitBanner(t, dev, apiURL)
	require.Contains(t, dev.output(), "  autoscale   on: executors run as child processes, from 0")
	require.Contains(t, dev.output(), "execute-http 0..3 processes, one per 10 of lag, polled every 100ms, to 0 after 1s without lag")
	signInAsAdmin(t, dbURL, apiURL)
	require.NotContains(t, dev.output(), `msg="replica started"`, "no lag, no executor")

	// A target slow enough that the fires are still in flight at a poll or two after the first
	// executor took them: the lag stays above one executor's share until more have started.
	rec := newTarget(t)
	tg := newTargetFunc(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		rec.Config.Handler.ServeHTTP(w, r)
	})
	st, err := store.Open(t.Context(), store.Config{URL: dbURL, MaxConns: 2})
	require.NoError(t, err)
	t.Cleanup(st.Close)
	at := time.Now().Add(3 * time.Second).Truncate(time.Second).UTC()
	ids := map[string]bool{}
	for i := range jobs {
		j := testfactory.Job(t, st, testfactory.JobOpts{Name: fmt.Sprint("autoscale-", i), URL: tg.URL, NextRunAt: at,
			Schedule: &domain.Schedule{Kind: domain.ScheduleOnce, At: &at}})
		ids[j.ID] = true
	}

	testenv.AwaitWithin(t, 60*time.Second, "every fire at the target", func() (string, bool) {
		n := len(rec.requests())
		return fmt.Sprintf("%d of %d", n, jobs), n >= jobs
	})
	testenv.AwaitWithin(t, 30*time.Second, "execute-http back at zero", func() (string, bool) {
		d := decisions(dev.output())
		return fmt.Sprint(d), len(d) > 0 && d[len(d)-1].to == 0
	})

	// The decisions: 0 → 1 on activation, up to more than one on the lag, 0 once cooled down,
	// and nothing for the kind that had no fire.
	d := decisions(dev.output())
	require.Equal(t, decision{kind: "http", from: 0, to: 1, lag: d[0].lag}, d[0], "activation first: %v", d)
	require.Positive(t, d[0].lag)
	peak := 0
	for i, x := range d {
		require.Equal(t, "http", x.kind, "only http had fires: %v", d)
		require.LessOrEqual(t, x.to, maxReplicas)
		require.Equal(t, i == len(d)-1, x.to == 0, "zero only at the end: %v", d)
		if i > 0 {
			require.Equal(t, d[i-1].to, x.from, "each decision starts where the last ended: %v", d)
		}
		peak = max(peak, x.to)
	}
	require.Greater(t, peak, 1, "the lag asked for more than one executor: %v", d)

	// Every fire reached its target once and is recorded once, by one of the processes.
	seen := map[string]bool{}
	for _, r := range rec.requests() {
		require.False(t, seen[r.key], "Idempotency-Key %s seen twice", r.key)
		seen[r.key] = true
		require.True(t, ids[r.jobID])
		require.Equal(t, domain.ScheduledKey(r.jobID, at), r.key)
	}
	require.Len(t, seen, jobs)
	workers := map[string]bool{}
	for id := range ids {
		execs := allExecutions(t, apiURL, id)
		require.Len(t, execs, 1, "job %s", id)
		require.Equal(t, domain.StatusSucceeded, execs[0].Status)
		require.Equal(t, 1, execs[0].Attempt)
		workers[execs[0].WorkerID] = true
	}
	t.Logf("decisions %v; fires recorded by %d processes", d, len(workers))

	// Every process started was stopped by SIGTERM and drained: exit 0, none killed, none of the
	// sql executor's ever started.
	testenv.AwaitWithin(t, 30*time.Second, "every executor process stopped", func() (string, bool) {
		out := dev.output()
		started, stopped := strings.Count(out, `msg="replica started"`), strings.Count(out, `msg="replica stopped"`)
		return fmt.Sprintf("%d started, %d stopped", started, stopped), started > 1 && started == stopped
	})
	out := dev.output()
	require.Equal(t, strings.Count(out, `msg="replica stopped"`), strings.Count(out, "exit=0"), "every process exited 0")
	require.NotContains(t, out, "killing it")
	require.NotContains(t, out, "replicas=execute-db")
	require.Equal(t, 0, dev.stop(t, os.Interrupt), "vecron dev exit code")
	require.Contains(t, dev.output(), "vecron stopped")
}

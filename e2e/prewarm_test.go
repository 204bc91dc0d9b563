package e2e_test

import (
	"database/sql"
	"fmt"
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

// Log lines of `vecron dev --autoscale` with their own time: what the test orders against the
// fire's instant, rather than when it happened to read them.
var (
	scaledAtLine  = regexp.MustCompile(`time=(\S+) level=INFO msg=scaled function=autoscale kind=http from=(\d+) to=(\d+) lag=(\d+)`)
	startedAtLine = regexp.MustCompile(`time=(\S+) level=INFO msg="replica started" function=autoscale replicas=execute-http`)
)

// TestPrewarmWakesAPulledExecutorBeforeItsFire runs `vecron dev --autoscale`, which turns
// tick.prewarm on (lead: tick.lookahead, longer than the polling interval here, and a second): with the http executor at zero and
// one job due at T, the tick's wake is the kind's only lag, the scaler starts a process for it
// before the fire is even published, the process is up before T, the fire runs once at T, and the
// wake leaves no execution behind.
//
// The fires are published tick.stage_ahead before T and are lag of their own, so a process
// started for the fire would also start before T: the test sets stage_ahead to 100 ms and checks
// that the decision came, with a lag of 1, before T − stage_ahead, when nothing but the wake can
// have been in the queue. Times come from the log lines' own timestamps.
func TestPrewarmWakesAPulledExecutorBeforeItsFire(t *testing.T) {
	t.Parallel()
	dbURL := testenv.PostgresURL(t)
	_, _, names := testenv.NATS(t)
	redisURL, redisPrefix := testenv.RedisURL(t)
	apiPort, adminPort := testenv.FreePort(t), testenv.FreePort(t)
	const stageAhead = 100 * time.Millisecond
	// A cooldown well past the lead: the woken process, idle until T, stays up for the fire.
	dev := startProc(t, "vecron", []string{
		"DATABASE_URL=" + dbURL, "REDIS_URL=" + redisURL, "NATS_URL=" + testenv.NATSURL(t),
		"VECRON_NATS__PREFIX=" + names.Prefix, "VECRON_REDIS__PREFIX=" + redisPrefix, "VECRON_EGRESS__ALLOW=127.0.0.0/8",
		"VECRON_TICK__STAGE_AHEAD=" + stageAhead.String(),
	}, "dev", fmt.Sprintf("--port=%d", apiPort), fmt.Sprintf("--admin-port=%d", adminPort), "--data-dir="+t.TempDir(),
		"--autoscale", "--autoscale-max=2", "--autoscale-cooldown=30s", "--autoscale-polling=100ms")
	apiURL := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	waitBanner(t, dev, apiURL)
	require.Contains(t, dev.output(), "  pre-warm    on: each executor is woken 2.25s before its fires (tick.prewarm.lead)\n")
	signInAsAdmin(t, dbURL, apiURL)
	require.NotContains(t, dev.output(), `msg="replica started"`, "no lag, no executor")

	rec := newTarget(t)
	st, err := store.Open(t.Context(), store.Config{URL: dbURL, MaxConns: 2})
	require.NoError(t, err)
	t.Cleanup(st.Close)
	// Far enough ahead for the tick to see the job before T − lead on a loaded machine.
	at := time.Now().Add(5 * time.Second).Truncate(time.Second).UTC()
	j := testfactory.Job(t, st, testfactory.JobOpts{Name: "prewarm", URL: rec.URL, NextRunAt: at,
		Schedule: &domain.Schedule{Kind: domain.ScheduleOnce, At: &at}})

	testenv.AwaitWithin(t, 60*time.Second, "the fire at the target", func() (string, bool) {
		n := len(rec.requests())
		return fmt.Sprint(n, " requests"), n >= 1
	})

	out := dev.output()
	m := scaledAtLine.FindStringSubmatch(out)
	require.NotNil(t, m, "a scale decision for http:\n%s", out)
	decidedAt := logTime(t, m[1])
	require.Equal(t, []string{"0", "1", "1"}, m[2:], "the first decision: 0 → 1 on the wake alone")
	require.True(t, decidedAt.Before(at.Add(-stageAhead)),
		"decided at %s, before the fire of %s was published (%s ahead): only the wake can have woken it", decidedAt, at, stageAhead)
	s := startedAtLine.FindStringSubmatch(out)
	require.NotNil(t, s, "an http process started")
	startedAt := logTime(t, s[1])
	require.True(t, startedAt.Before(at), "process started at %s, before the fire at %s", startedAt, at)
	t.Logf("woken: scaled at T%s, process started at T%s", decidedAt.Sub(at), startedAt.Sub(at))

	// The fire ran once, on time's side of T, by the woken process; the wake is recorded nowhere.
	reqs := rec.requests()
	require.Len(t, reqs, 1)
	require.Equal(t, domain.ScheduledKey(j.ID, at), reqs[0].key)
	require.False(t, reqs[0].receivedAt.Before(at), "not before its instant")
	var execs []domain.Execution
	testenv.AwaitWithin(t, 30*time.Second, "the fire's execution recorded", func() (string, bool) {
		execs = allExecutions(t, apiURL, j.ID)
		return fmt.Sprint(execs), len(execs) == 1 && execs[0].Status != domain.StatusRunning
	})
	require.Equal(t, domain.StatusSucceeded, execs[0].Status)
	require.Equal(t, 1, execs[0].Attempt)
	db, err := sql.Open("pgx", dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	var rows int
	require.NoError(t, db.QueryRowContext(t.Context(), "SELECT count(*) FROM job_executions").Scan(&rows))
	require.Equal(t, 1, rows, "the fire's execution alone, none for the wake")
	wakes := 0.0
	for k, v := range scrapeAll(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", adminPort)) {
		if strings.HasPrefix(k, "vecron_prewarm_wakes_total{") && strings.Contains(k, "kind=http") {
			wakes += v
		}
	}
	require.Equal(t, 1.0, wakes, "one wake, stored by the broker")
	require.Equal(t, 1, strings.Count(dev.output(), `msg="replica started"`), "one process, started once")
	require.Equal(t, 0, dev.stop(t, os.Interrupt), "vecron dev exit code")
}

// logTime parses a text log line's time.
func logTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err, "log time %s", strconv.Quote(s))
	return at
}

package harness

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/bench/report"
	"github.com/vecron/vecron/shared/domain"
)

// AutoscaleParams size the autoscale scenario.
type AutoscaleParams struct {
	// Jobs is the backlog drained from zero: that many fires due at one instant.
	Jobs int
	// Rounds is how many first fires at zero are measured with pre-warm off, and again on.
	Rounds int
}

// AutoscaleRoundsDefault is the first-fire samples per setting: each costs a cooldown.
const AutoscaleRoundsDefault = 5

// The scaler's settings in this scenario: the chart's polling interval, and a cooldown short
// enough for rounds to follow each other but longer than pre-warm's lead (2.25 s: the tick's
// lookahead and a second), so a woken process is still up at its fire.
const (
	autoscalePolling  = time.Second
	autoscaleCooldown = 3 * time.Second
)

// Log lines of `vecron dev --autoscale`, with their times.
var (
	autoscaleScaled  = regexp.MustCompile(`time=(\S+) level=INFO msg=scaled function=autoscale kind=http from=(\d+) to=(\d+) lag=(\d+)`)
	autoscaleStarted = regexp.MustCompile(`msg="replica started" function=autoscale replicas=execute-http`)
	autoscaleStopped = regexp.MustCompile(`msg="replica stopped" function=autoscale replicas=execute-http`)
)

// Autoscale runs `vecron dev --autoscale` (executors as child processes scaled by KEDA's rules
// from zero, docs/deploy.md §9) and reports the first fire's lateness at zero executors, with
// pre-warm off and on, and the drain of p.Jobs fires due at one instant from zero: how long it
// takes, the processes over time, and that each fire was recorded and delivered exactly once.
func Autoscale(ctx context.Context, env Env, p AutoscaleParams) (report.Result, error) {
	res := newResult(ctx, env, fmt.Sprintf("autoscale-%d", p.Jobs), map[string]any{
		"jobs": p.Jobs, "rounds": p.Rounds, "polling_s": autoscalePolling.Seconds(), "cooldown_s": autoscaleCooldown.Seconds()})
	res.Notes = append(res.Notes,
		"executor processes start in about 40 ms here, not a platform's cold start: without pre-warm the figure is mostly the wait for the scaler's next poll",
		"a fire is published tick.stage_ahead (0.5 s) before its instant: a process that starts within that is still on time")
	res.Lateness = map[string][]float64{}
	loadBefore := loadAverage()
	for _, prewarm := range []bool{false, true} {
		set := "pre-warm off"
		if prewarm {
			set = "pre-warm on"
		}
		late, err := autoscaleFirstFires(ctx, env, p.Rounds, prewarm)
		if err != nil {
			return res, fmt.Errorf("%s: %w", set, err)
		}
		res.Lateness[set] = late
		sum := report.Summarize(late)
		res.Metrics = append(res.Metrics,
			metric(set+": first fire at zero, lateness p50", sum.P50, "ms"),
			metric(set+": first fire at zero, lateness max", sum.Max, "ms"))
		env.progress("%s: %s: p50 %.0f ms, max %.0f ms", res.Scenario, set, sum.P50, sum.Max)
	}
	if err := autoscaleDrain(ctx, env, p.Jobs, &res); err != nil {
		return res, err
	}
	res.Notes = append(res.Notes, "load average (1, 5, 15 min) at the start: "+loadBefore+"; at the end: "+loadAverage(),
		"the cooldown counts from the last poll that saw lag: fires are acked when staged, before their requests end, so zero may come sooner after the last execution than the cooldown")
	return res, nil
}

// startAutoscaleDev starts `vecron dev --autoscale` on the stack's services, logging at info so
// its scale decisions can be read.
func startAutoscaleDev(ctx context.Context, s *stack, prewarm bool, extra ...string) (*process, error) {
	dataDir, err := os.MkdirTemp("", "vecron-bench-autoscale-")
	if err != nil {
		return nil, err
	}
	s.cleanup = append(s.cleanup, func() { _ = os.RemoveAll(dataDir) })
	vars := append(append([]string{}, s.vars...), "VECRON_LOG__LEVEL=info", "VECRON_TICK__PREWARM__ENABLED="+strconv.FormatBool(prewarm))
	vars = append(vars, extra...)
	return s.startCommand(ctx, command{name: "vecron", vars: vars, args: []string{"dev", "--data-dir=" + dataDir, "--admin-port=0", "--host=127.0.0.1",
		"--autoscale", "--autoscale-polling=" + autoscalePolling.String(), "--autoscale-cooldown=" + autoscaleCooldown.String()}})
}

// atZero reports whether dev's http executor is at zero: no decision yet, or the last one to 0,
// and every process started has stopped.
func atZero(out string) bool {
	d := autoscaleScaled.FindAllStringSubmatch(out, -1)
	return (len(d) == 0 || d[len(d)-1][3] == "0") &&
		len(autoscaleStarted.FindAllString(out, -1)) == len(autoscaleStopped.FindAllString(out, -1))
}

// waitFor polls cond every 50 ms until it holds, the process dies, or limit passes.
func waitFor(ctx context.Context, s *stack, limit time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if err := s.died(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not after %s", what, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// autoscaleFirstFires measures rounds first fires, each with the executors at zero: one job
// due a few seconds ahead, its lateness at the target in milliseconds.
func autoscaleFirstFires(ctx context.Context, env Env, rounds int, prewarm bool) ([]float64, error) {
	s, err := openStack(ctx, env, "autoscale-first")
	if err != nil {
		return nil, err
	}
	defer s.close(ctx)
	tg := newTarget()
	defer tg.Close()
	dev, err := startAutoscaleDev(ctx, s, prewarm)
	if err != nil {
		return nil, err
	}
	var late []float64
	for i := range rounds {
		if err := waitFor(ctx, s, time.Minute, "executors at zero", func() bool { return atZero(dev.output()) }); err != nil {
			return nil, err
		}
		// Far enough ahead for pre-warm's lead (2.25 s) after the tick has seen the job.
		at := time.Now().Add(4 * time.Second).Truncate(100 * time.Millisecond).UTC()
		if _, err := s.createJobs(ctx, 1, func(int) *domain.Job {
			return httpJob(fmt.Sprint("first-", i), tg.URL, domain.Schedule{Kind: domain.ScheduleOnce, At: &at})
		}); err != nil {
			return nil, err
		}
		if err := waitFor(ctx, s, time.Minute, "the fire at the target", func() bool { return tg.countScheduled(at, at) > 0 }); err != nil {
			return nil, err
		}
		for _, a := range tg.snapshot() {
			if a.scheduledAt.Equal(at) {
				late = append(late, ms(a.receivedAt.Sub(at)))
				break
			}
		}
		// The decisions must show a process started for this fire: from zero, not a warm one.
		if !strings.Contains(dev.output(), "from=0 to=1") {
			return nil, fmt.Errorf("round %d: no start from zero in the log", i)
		}
	}
	return late, nil
}

// autoscaleDrain stores n jobs due at one instant with the executors at zero and measures the
// time from the instant to the last recorded execution, the processes over time, the return to
// zero, and that every fire was recorded and delivered once.
func autoscaleDrain(ctx context.Context, env Env, n int, res *report.Result) error {
	s, err := openStack(ctx, env, "autoscale-drain")
	if err != nil {
		return err
	}
	defer s.close(ctx)
	tg := newTarget()
	defer tg.Close()
	dev, err := startAutoscaleDev(ctx, s, false)
	if err != nil {
		return err
	}
	at := time.Now().Add(20 * time.Second).Truncate(time.Second).UTC()
	if _, err := s.createJobs(ctx, n, func(i int) *domain.Job {
		return httpJob(fmt.Sprint("drain-", i), tg.URL, domain.Schedule{Kind: domain.ScheduleOnce, At: &at})
	}); err != nil {
		return err
	}
	if time.Now().After(at.Add(-2 * time.Second)) {
		return fmt.Errorf("storing %d jobs took past their instant; run with fewer -jobs", n)
	}
	finished, last, err := s.waitRecorded(ctx, n, at.Add(10*time.Minute))
	if err != nil {
		return err
	}
	if finished < n || last == nil {
		return fmt.Errorf("%d of %d executions recorded", finished, n)
	}
	drained := last.Sub(at)
	if err := waitFor(ctx, s, autoscaleCooldown+time.Minute, "back to zero", func() bool { return atZero(dev.output()) }); err != nil {
		return err
	}
	out := dev.output()
	decisions := autoscaleScaled.FindAllStringSubmatch(out, -1)
	// The processes over time, as the scaler's decisions: a line of the notes, not a chart (the
	// report's charts are rates and lateness).
	var steps []string
	peak, zeroAt := 0, time.Time{}
	for _, d := range decisions {
		t, err := time.Parse(time.RFC3339Nano, d[1])
		if err != nil {
			return fmt.Errorf("log time %q: %w", d[1], err)
		}
		from, _ := strconv.Atoi(d[2])
		to, _ := strconv.Atoi(d[3])
		steps = append(steps, fmt.Sprintf("%+.1f s: %d→%d (lag %s)", t.Sub(at).Seconds(), from, to, d[4]))
		peak = max(peak, to)
		if to == 0 {
			zeroAt = t
		}
	}
	started, stopped := len(autoscaleStarted.FindAllString(out, -1)), len(autoscaleStopped.FindAllString(out, -1))

	// Exactly once, counted where it is recorded: one execution per job, none twice per key,
	// and one request per key at the target.
	var jobsWithout, doubled int
	err = s.sql(ctx, func(c *pgx.Conn) error {
		if err := c.QueryRow(ctx, `SELECT count(*) FROM jobs j WHERE NOT EXISTS (SELECT 1 FROM job_executions e WHERE e.job_id = j.id)`).Scan(&jobsWithout); err != nil {
			return err
		}
		return c.QueryRow(ctx, `SELECT count(*) FROM (SELECT idempotency_key FROM job_executions GROUP BY idempotency_key HAVING count(*) > 1) d`).Scan(&doubled)
	})
	if err != nil {
		return fmt.Errorf("count executions: %w", err)
	}
	perKey := map[string]int{}
	for _, a := range tg.snapshot() {
		perKey[a.key]++
	}
	twice := 0
	for _, c := range perKey {
		if c > 1 {
			twice++
		}
	}
	res.Metrics = append(res.Metrics,
		metric(fmt.Sprintf("drain of %d fires from zero: instant to last recorded execution", n), drained.Seconds(), "s"),
		metric("drain: most execute-http processes at once", float64(peak), "processes"),
		metric("drain: processes started", float64(started), "processes"),
		metric("drain: processes stopped (SIGTERM, drained)", float64(stopped), "processes"),
		targeted("drain: jobs without an execution (lost)", float64(jobsWithout), "jobs", "<=", 0),
		targeted("drain: keys recorded twice (doubled)", float64(doubled), "keys", "<=", 0),
		targeted("drain: keys delivered twice at the target", float64(twice), "keys", "<=", 0),
		metric("drain: keys delivered at the target", float64(len(perKey)), "keys"),
	)
	if !zeroAt.IsZero() {
		res.Metrics = append(res.Metrics, metric("drain: last execution to zero processes", zeroAt.Sub(*last).Seconds(), "s"))
	}
	res.Notes = append(res.Notes, "drain: execute-http processes, from the instant: "+strings.Join(steps, ", "))
	env.progress("%s: drained %d in %.1f s, peak %d processes, %d started, %d lost, %d doubled", res.Scenario, n, drained.Seconds(), peak, started, jobsWithout, doubled)
	return nil
}

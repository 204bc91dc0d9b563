package harness

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/bench/report"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/tick"
)

// Params size a scenario.
type Params struct {
	// Jobs is how many jobs are stored (steady, burst, scale) or executions run (executor).
	Jobs int
	// Duration is how long steady load runs, or how long the scale scenario watches an idle tick.
	Duration time.Duration
	// Workers is the number of executor processes; Concurrency their pull concurrency.
	Workers     int
	Concurrency int
	// Executions is how many execution records the scale scenario stores before it measures
	// the execution-history page.
	Executions int
	// Kind is the executor scenario's job kind: http (execute-http, the default) or sql
	// (execute-db, each execution inserting a row into a PostgreSQL table).
	Kind domain.JobKind
}

// createJobs stores jobs in batches and returns their ids.
func (s *stack) createJobs(ctx context.Context, n int, mk func(i int) *domain.Job) ([]string, error) {
	ids := make([]string, 0, n)
	const batch = 20_000
	for from := 0; from < n; from += batch {
		list := make([]*domain.Job, 0, min(batch, n-from))
		for i := from; i < min(from+batch, n); i++ {
			list = append(list, mk(i))
		}
		if err := s.jobs.CreateMany(ctx, s.store, list); err != nil {
			return nil, fmt.Errorf("create jobs: %w", err)
		}
		s.env.progress("stored %d of %d jobs", from+len(list), n)
		for _, j := range list {
			ids = append(ids, j.ID)
		}
	}
	return ids, nil
}

func httpJob(name, url string, sched domain.Schedule) *domain.Job {
	return &domain.Job{Name: name, Schedule: sched, HTTP: &domain.HTTPSpec{URL: url}, Enabled: true,
		Retry: domain.RetryPolicy{MaxAttempts: 3, Backoff: []domain.Duration{domain.Duration(time.Second)}}}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// waitQuiet waits until the target has received nothing new for quiet, or until limit.
func waitQuiet(tg *target, quiet, limit time.Duration) {
	deadline := time.Now().Add(limit)
	last, since := tg.count(), time.Now()
	for time.Now().Before(deadline) && time.Since(since) < quiet {
		time.Sleep(100 * time.Millisecond)
		if n := tg.count(); n != last {
			last, since = n, time.Now()
		}
	}
}

// perSecond buckets instants into a throughput series, seconds since start.
func perSecond(name string, start time.Time, at []time.Time) report.Series {
	counts := map[int]int{}
	maxS := 0
	for _, t := range at {
		s := int(t.Sub(start).Seconds())
		if s < 0 {
			continue
		}
		counts[s]++
		maxS = max(maxS, s)
	}
	out := report.Series{Name: name}
	for s := 0; s <= maxS; s++ {
		out.Points = append(out.Points, report.Point{T: float64(s), V: float64(counts[s])})
	}
	return out
}

func newResult(ctx context.Context, env Env, scenario string, params map[string]any) report.Result {
	env.progress("%s: starting", scenario)
	return report.Result{Scenario: scenario, Started: time.Now().UTC(), Params: params, Machine: Machine(ctx, env),
		Notes: []string{"vecron's processes, PostgreSQL, NATS and Redis all share this machine"}}
}

func metric(name string, v float64, unit string) report.Metric {
	return report.Metric{Name: name, Value: v, Unit: unit}
}

func targeted(name string, v float64, unit, op string, limit float64) report.Metric {
	return report.Metric{Name: name, Value: v, Unit: unit, Target: fmt.Sprintf("%s %g %s", op, limit, unit), Met: report.Check(v, op, limit)}
}

// Steady stores p.Jobs jobs firing every second and runs them for p.Duration: fires per second,
// lateness at the target and at dispatch, missed and duplicated fires.
func Steady(ctx context.Context, env Env, p Params) (report.Result, error) {
	res := newResult(ctx, env, fmt.Sprintf("steady-%d", p.Jobs), map[string]any{
		"jobs": p.Jobs, "duration_s": p.Duration.Seconds(), "workers": p.Workers, "concurrency": p.Concurrency})
	s, err := newStack(ctx, env, "steady")
	if err != nil {
		return res, err
	}
	defer s.close(ctx)
	tg := newTarget()
	defer tg.Close()
	tickProc, _, err := s.startFn(ctx, "tick", "--tick.instance=bench-tick")
	if err != nil {
		return res, err
	}
	if _, err := s.startWorkers(ctx, "execute-http", p.Workers, p.Concurrency); err != nil {
		return res, err
	}
	smp := sample(s.pids(), 500*time.Millisecond)
	defer smp.stop()
	ids, err := s.createJobs(ctx, p.Jobs, func(i int) *domain.Job {
		return httpJob(fmt.Sprint("steady-", i), tg.URL, domain.Schedule{Cron: "* * * * * *"})
	})
	if err != nil {
		return res, err
	}
	// Two seconds of warm-up, then the measured window.
	from := time.Now().Truncate(time.Second).Add(3 * time.Second)
	to := from.Add(p.Duration - time.Second)
	time.Sleep(time.Until(from))
	profiled := s.profile(ctx, res.Scenario, min(p.Duration-time.Second, 30*time.Second))
	time.Sleep(time.Until(to.Add(2 * time.Second)))
	if err := profiled(); err != nil {
		return res, err
	}
	tickProc.stop(15 * time.Second)
	waitQuiet(tg, 2*time.Second, 30*time.Second)
	if err := s.died(); err != nil {
		return res, err
	}
	smp.stop()

	arrivals := tg.snapshot()
	seen := make(map[string]int, len(arrivals))
	var delivery []float64
	var inWindow []time.Time
	for _, a := range arrivals {
		if a.scheduledAt.Before(from) || a.scheduledAt.After(to) {
			continue
		}
		seen[a.key]++
		if seen[a.key] == 1 {
			delivery = append(delivery, ms(a.receivedAt.Sub(a.scheduledAt)))
			inWindow = append(inWindow, a.receivedAt)
		}
	}
	var missed, duplicated, expected int
	for _, id := range ids {
		for at := from; !at.After(to); at = at.Add(time.Second) {
			expected++
			switch n := seen[domain.ScheduledKey(id, at)]; {
			case n == 0:
				missed++
			case n > 1:
				duplicated += n - 1
			}
		}
	}
	var dispatchLate []float64
	for _, d := range s.dispatches() {
		if !d.scheduledAt.Before(from) && !d.scheduledAt.After(to) {
			dispatchLate = append(dispatchLate, ms(d.seenAt.Sub(d.scheduledAt)))
		}
	}
	res.Lateness = map[string][]float64{"delivery": delivery, "dispatch": dispatchLate}
	sum := report.Summarize(delivery)
	seconds := to.Sub(from).Seconds() + 1
	res.Metrics = append(res.Metrics,
		metric("fires expected", float64(expected), "fires"),
		targeted("fires missed", float64(missed), "fires", "<=", 0),
		targeted("fires duplicated", float64(duplicated), "fires", "<=", 0),
		metric("fires per second achieved", float64(len(delivery))/seconds, "fires/s"),
		metric("delivery lateness p50", sum.P50, "ms"),
	)
	p99, maxL := 50.0, 250.0
	if p.Jobs > 1000 {
		p99, maxL = 250, 0
	}
	res.Metrics = append(res.Metrics, targeted("delivery lateness p99", sum.P99, "ms", "<=", p99))
	res.Metrics = append(res.Metrics, metric("delivery lateness p99.9", sum.P999, "ms"))
	if maxL > 0 {
		res.Metrics = append(res.Metrics, targeted("delivery lateness max", sum.Max, "ms", "<=", maxL))
	} else {
		res.Metrics = append(res.Metrics, metric("delivery lateness max", sum.Max, "ms"))
	}
	res.Metrics = append(res.Metrics, metric("dispatch lateness p99", report.Summarize(dispatchLate).P99, "ms"))
	res.Throughput = []report.Series{perSecond("executions arriving at the target", smp.start, inWindow)}
	res.CPU, res.RSS = smp.series()
	return res, nil
}

// Burst stores p.Jobs jobs that all fire once on the same second: how long until the last is
// published, and until the last execution is recorded.
func Burst(ctx context.Context, env Env, p Params) (report.Result, error) {
	res := newResult(ctx, env, fmt.Sprintf("burst-%d", p.Jobs), map[string]any{
		"jobs": p.Jobs, "workers": p.Workers, "concurrency": p.Concurrency})
	s, err := newStack(ctx, env, "burst")
	if err != nil {
		return res, err
	}
	defer s.close(ctx)
	tg := newTarget()
	defer tg.Close()
	if _, _, err := s.startFn(ctx, "tick", "--tick.instance=bench-tick"); err != nil {
		return res, err
	}
	if _, err := s.startWorkers(ctx, "execute-http", p.Workers, p.Concurrency); err != nil {
		return res, err
	}
	smp := sample(s.pids(), 500*time.Millisecond)
	defer smp.stop()
	// Far enough ahead that storing the jobs ends before the second comes.
	at := time.Now().Truncate(time.Second).Add(4*time.Second + time.Duration(p.Jobs/20_000)*time.Second)
	if _, err := s.createJobs(ctx, p.Jobs, func(i int) *domain.Job {
		return httpJob(fmt.Sprint("burst-", i), tg.URL, domain.Schedule{Kind: domain.ScheduleOnce, At: &at})
	}); err != nil {
		return res, err
	}
	if time.Now().After(at) {
		return res, fmt.Errorf("storing %d jobs took past their second", p.Jobs)
	}
	time.Sleep(time.Until(at.Add(-time.Second))) // the tick claims a second ahead
	profiled := s.profile(ctx, res.Scenario, 10*time.Second)
	finished, last, err := s.waitRecorded(ctx, p.Jobs, at.Add(10*time.Minute+time.Duration(p.Jobs)*time.Millisecond))
	if err != nil {
		return res, err
	}
	smp.stop()
	if err := profiled(); err != nil {
		return res, err
	}
	var lastPublished time.Time
	var dispatchLate []float64
	for _, d := range s.dispatches() {
		dispatchLate = append(dispatchLate, ms(d.seenAt.Sub(d.scheduledAt)))
		if d.seenAt.After(lastPublished) {
			lastPublished = d.seenAt
		}
	}
	var delivery []float64
	var arrived []time.Time
	for _, a := range tg.snapshot() {
		delivery = append(delivery, ms(a.receivedAt.Sub(a.scheduledAt)))
		arrived = append(arrived, a.receivedAt)
	}
	res.Lateness = map[string][]float64{"delivery": delivery, "dispatch": dispatchLate}
	res.Metrics = append(res.Metrics,
		targeted("executions recorded", float64(finished), "executions", ">=", float64(p.Jobs)),
		metric("fires published", float64(len(dispatchLate)), "fires"))
	if !lastPublished.IsZero() {
		m := metric("last fire published after its second", lastPublished.Sub(at).Seconds(), "s")
		if p.Jobs >= 100_000 {
			m = targeted(m.Name, m.Value, "s", "<=", 2)
		}
		res.Metrics = append(res.Metrics, m)
	}
	if last != nil {
		res.Metrics = append(res.Metrics, metric("last execution recorded after its second", last.Sub(at).Seconds(), "s"))
	}
	res.Throughput = []report.Series{perSecond("executions arriving at the target", smp.start, arrived)}
	res.CPU, res.RSS = smp.series()
	return res, nil
}

// Executor pre-loads p.Jobs due events and measures how fast p.Workers execute-http processes
// run and record them against a fast local target.
func Executor(ctx context.Context, env Env, p Params) (report.Result, error) {
	kind := cmp.Or(p.Kind, domain.KindHTTP)
	fn := map[domain.JobKind]string{domain.KindHTTP: "execute-http", domain.KindSQL: "execute-db"}[kind]
	if fn == "" {
		return report.Result{}, fmt.Errorf("executor: kind %q is not http or sql", kind)
	}
	res := newResult(ctx, env, fmt.Sprintf("executor-%s-%dx%d", kind, p.Workers, p.Concurrency), map[string]any{
		"executions": p.Jobs, "workers": p.Workers, "concurrency": p.Concurrency, "function": fn})
	if kind == domain.KindSQL {
		res.Params["sql connections per target and worker"] = SQLConnsPerTarget
	}
	s, err := newStack(ctx, env, "executor")
	if err != nil {
		return res, err
	}
	defer s.close(ctx)
	tg := newTarget()
	defer tg.Close()
	never := domain.Schedule{Cron: "0 0 0 1 1 ? 2099"}
	mk := func(i int) *domain.Job { return httpJob(fmt.Sprint("exec-", i), tg.URL, never) }
	if kind == domain.KindSQL {
		// The jobs' target is a table in the run's own schema: each execution inserts one row.
		if err := s.sql(ctx, func(c *pgx.Conn) error {
			_, err := c.Exec(ctx, "CREATE TABLE bench_sink (job TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (job, at))")
			return err
		}); err != nil {
			return res, err
		}
		mk = func(i int) *domain.Job {
			j := httpJob(fmt.Sprint("exec-", i), "", never)
			j.Kind, j.HTTP = domain.KindSQL, nil
			j.SQL = &domain.SQLSpec{Driver: domain.DriverPostgres, DSN: s.space.dbURL, Statements: []domain.SQLStatement{{
				SQL: "INSERT INTO bench_sink (job, at) VALUES ($1, $2)", Params: []any{"{{ job.id }}", "{{ execution.scheduled_at }}"}}}}
			return j
		}
	}
	jobsCreated := make([]*domain.Job, 0, p.Jobs)
	if _, err := s.createJobs(ctx, p.Jobs, func(i int) *domain.Job {
		j := mk(i)
		jobsCreated = append(jobsCreated, j)
		return j
	}); err != nil {
		return res, err
	}
	js, err := jetstream.New(s.nc)
	if err != nil {
		return res, err
	}
	names := event.Names{Prefix: s.space.natsPrefix}
	if err := queue.EnsureStreams(ctx, js, names, queue.DefaultStreamsConfig()); err != nil {
		return res, err
	}
	pub := queue.NewPublisher(js)
	at := time.Now().UTC().Truncate(time.Second)
	for from := 0; from < len(jobsCreated); from += 1000 {
		var msgs []queue.Message
		for _, j := range jobsCreated[from:min(from+1000, len(jobsCreated))] {
			key := domain.ScheduledKey(j.ID, at)
			payload, err := json.Marshal(event.DueFor(j, at, domain.TriggerSchedule, key))
			if err != nil {
				return res, err
			}
			ev := event.NewDueEncoded(event.DueMeta{Key: key, JobID: j.ID, Kind: j.Kind, Trigger: domain.TriggerSchedule, ScheduledAt: at}, payload, "/bench")
			msg, err := event.ToNATS(ctx, ev)
			if err != nil {
				return res, err
			}
			msgs = append(msgs, queue.Message{Subject: names.DueSubject(j.Kind), MsgID: key, Msg: msg})
		}
		for _, err := range pub.PublishBatch(ctx, msgs) {
			if err != nil {
				return res, fmt.Errorf("preload due events: %w", err)
			}
		}
	}
	startAt := time.Now()
	if _, err := s.startWorkers(ctx, fn, p.Workers, p.Concurrency); err != nil {
		return res, err
	}
	profiled := s.profile(ctx, res.Scenario, 5*time.Second)
	smp := sample(s.pids(), 500*time.Millisecond)
	defer smp.stop()
	finished, last, err := s.waitRecorded(ctx, p.Jobs, time.Now().Add(10*time.Minute))
	if err != nil {
		return res, err
	}
	smp.stop()
	if err := profiled(); err != nil {
		return res, err
	}
	if last == nil || finished < p.Jobs {
		return res, fmt.Errorf("only %d of %d executions recorded", finished, p.Jobs)
	}
	var arrived []time.Time
	if kind == domain.KindSQL {
		if arrived, err = s.executionStarts(ctx); err != nil {
			return res, err
		}
		var rows int
		if err := s.sql(ctx, func(c *pgx.Conn) error { return c.QueryRow(ctx, "SELECT count(*) FROM bench_sink").Scan(&rows) }); err != nil {
			return res, err
		}
		if rows != p.Jobs {
			return res, fmt.Errorf("%d executions recorded, but %d rows inserted", p.Jobs, rows)
		}
	} else {
		for _, a := range tg.snapshot() {
			arrived = append(arrived, a.receivedAt)
		}
	}
	sort.Slice(arrived, func(i, k int) bool { return arrived[i].Before(arrived[k]) })
	elapsed := last.Sub(arrived[0])
	res.Metrics = append(res.Metrics, metric("executions recorded", float64(finished), "executions"))
	if kind == domain.KindSQL {
		res.Metrics = append(res.Metrics, metric("executions per second, first start to last record", float64(finished)/elapsed.Seconds(), "executions/s"))
	} else {
		res.Metrics = append(res.Metrics, targeted("executions per second, first request to last record", float64(finished)/elapsed.Seconds(), "executions/s", ">=", 5000))
	}
	res.Metrics = append(res.Metrics, metric("from worker start to last record", last.Sub(startAt).Seconds(), "s"))
	// Throughput moves by a tenth from run to run on a shared machine; the CPU each execution
	// cost, everything counted, moves less and says where a change went.
	f, t := arrived[0].Sub(smp.start).Seconds(), last.Sub(smp.start).Seconds()
	if busy := smp.cpuUsed(machine, f, t); busy > 0 {
		res.Metrics = append(res.Metrics, metric("CPU per execution, whole machine", 1e6*busy/float64(finished), "µs"))
	}
	res.Throughput = []report.Series{perSecond(map[domain.JobKind]string{domain.KindHTTP: "requests arriving at the target",
		domain.KindSQL: "executions starting"}[kind], smp.start, arrived)}
	res.CPU, res.RSS = smp.series()
	return res, nil
}

// ColdStart measures, for each function, the time from exec to ready, over runs starts, and the
// size of each binary.
func ColdStart(ctx context.Context, env Env, runs int) (report.Result, error) {
	res := newResult(ctx, env, "cold-start", map[string]any{"runs": runs})
	s, err := newStack(ctx, env, "coldstart")
	if err != nil {
		return res, err
	}
	defer s.close(ctx)
	for _, name := range []string{"tick", "execute-http", "execute-db", "api"} {
		var times []float64
		for range runs {
			p, took, err := s.startFn(ctx, name)
			if err != nil {
				return res, err
			}
			times = append(times, ms(took))
			p.stop(15 * time.Second)
		}
		sum := report.Summarize(times)
		res.Metrics = append(res.Metrics, targeted(name+" ready after exec (median)", sum.P50, "ms", "<=", 100))
		res.Metrics = append(res.Metrics, metric(name+" ready after exec (max)", sum.Max, "ms"))
		if fi, err := os.Stat(s.env.BinDir + "/" + name); err == nil {
			res.Metrics = append(res.Metrics, targeted(name+" binary size", float64(fi.Size())/(1<<20), "MiB", "<=", 30))
		}
	}
	res.Notes = append(res.Notes, "ready = /readyz answers 200: connected to PostgreSQL and NATS, migrations checked, streams ensured")
	return res, nil
}

// Scale stores p.Jobs jobs spread over an hour that starts ten minutes ahead, then watches the
// tick while nothing is due (CPU, RSS), times the claim queries, the API, and the dashboard's
// pages.
func Scale(ctx context.Context, env Env, p Params) (report.Result, error) {
	res := newResult(ctx, env, fmt.Sprintf("scale-%d", p.Jobs), map[string]any{"jobs": p.Jobs, "idle_s": p.Duration.Seconds()})
	s, err := newStack(ctx, env, "scale")
	if err != nil {
		return res, err
	}
	defer s.close(ctx)
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Now().Add(10 * time.Minute).Truncate(time.Second)
	insertStart := time.Now()
	ids, err := s.createJobs(ctx, p.Jobs, func(i int) *domain.Job {
		at := base.Add(time.Duration(rng.IntN(3600)) * time.Second)
		j := httpJob(fmt.Sprint("scale-", i), "http://127.0.0.1:9/", domain.Schedule{Kind: domain.ScheduleOnce, At: &at})
		// One in a thousand paused, for the dashboard's filter by state to find a few.
		j.Enabled = i%1000 != 999
		return j
	})
	if err != nil {
		return res, err
	}
	res.Metrics = append(res.Metrics, metric("jobs stored per second", float64(p.Jobs)/time.Since(insertStart).Seconds(), "jobs/s"))
	// As autovacuum would within a minute or so of the load: the name search is planned by the
	// statistics of lower(name).
	if err := s.sql(ctx, func(c *pgx.Conn) error { _, err := c.Exec(ctx, "ANALYZE jobs"); return err }); err != nil {
		return res, err
	}
	historyStart := time.Now()
	busy, quiet, stored, err := s.generateHistory(ctx, ids, p.Executions)
	if err != nil {
		return res, err
	}
	res.Metrics = append(res.Metrics,
		metric("execution records stored", float64(stored), "executions"),
		metric("execution records stored per second", float64(stored)/time.Since(historyStart).Seconds(), "executions/s"))

	if _, _, err := s.startFn(ctx, "tick", "--tick.instance=bench-tick"); err != nil {
		return res, err
	}
	api, _, err := s.startFn(ctx, "api", "--host=127.0.0.1", "--dashboard.server-timing=true")
	if err != nil {
		return res, err
	}
	smp := sample(s.pids(), 500*time.Millisecond)
	defer smp.stop()
	settle := 2.0 // seconds after start before the tick counts as idle
	time.Sleep(p.Duration + time.Duration(settle*float64(time.Second)))
	rss, cpu := smp.stats("tick-1", settle, settle+p.Duration.Seconds())
	res.Metrics = append(res.Metrics,
		targeted("tick RSS while idle", rss, "MB", "<=", 64),
		metric("tick CPU while idle (mean)", cpu, "%"))

	// The claim and next-due queries at this table size, nothing due.
	planner := tick.Planner{Now: time.Now(), Horizon: time.Now(), MaxFires: 1000}
	var claim, next []float64
	for range 30 {
		t0 := time.Now()
		if _, _, _, err := s.store.ClaimDue(ctx, time.Now(), nil, time.Now(), 1000, planner.Plan); err != nil {
			return res, err
		}
		claim = append(claim, ms(time.Since(t0)))
		t0 = time.Now()
		if _, _, _, err := s.store.NextDue(ctx, nil); err != nil {
			return res, err
		}
		next = append(next, ms(time.Since(t0)))
	}
	res.Metrics = append(res.Metrics,
		metric("claim query, nothing due (p50)", report.Summarize(claim).P50, "ms"),
		metric("next-due query (p50)", report.Summarize(next).P50, "ms"))

	// The API at this table size: a page of jobs from anywhere in the table, one job, history.
	apiURL := fmt.Sprintf("http://127.0.0.1:%d", api.port)
	// Every request carries an API token, as a script's would: sign-in is part of what is timed.
	token, err := s.adminToken(ctx)
	if err != nil {
		return res, err
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: bearerTransport{token: token, next: http.DefaultTransport}}
	timeGet := func(path string) (float64, error) {
		t0 := time.Now()
		resp, err := client.Get(apiURL + path)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return ms(time.Since(t0)), nil
	}
	// historyPage times one page of a job's executions and returns the next page's cursor.
	historyPage := func(id, cursor string) (float64, string, error) {
		t0 := time.Now()
		resp, err := client.Get(apiURL + "/api/v1/jobs/" + id + "/executions?limit=50&cursor=" + cursor)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		var page struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != http.StatusOK {
			return 0, "", fmt.Errorf("GET executions of %s: %s %v", id, resp.Status, err)
		}
		took := ms(time.Since(t0))
		if len(page.Items) == 0 {
			return 0, "", fmt.Errorf("GET executions of %s: an empty page", id)
		}
		return took, page.NextCursor, nil
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	var list, get, history, busyFirst, busyNext, quietFirst []float64
	for range 200 {
		cursor := sorted[rng.IntN(len(sorted))]
		d, err := timeGet("/api/v1/jobs?limit=50&cursor=" + cursor)
		if err != nil {
			return res, err
		}
		list = append(list, d)
		id := ids[rng.IntN(len(ids))]
		if d, err = timeGet("/api/v1/jobs/" + id); err != nil {
			return res, err
		}
		get = append(get, d)

		b := busy[rng.IntN(len(busy))]
		d, next, err := historyPage(b, "")
		if err != nil {
			return res, err
		}
		busyFirst = append(busyFirst, d)
		if d, _, err = historyPage(b, next); err != nil {
			return res, err
		}
		busyNext = append(busyNext, d)
		if d, _, err = historyPage(quiet[rng.IntN(len(quiet))], ""); err != nil {
			return res, err
		}
		quietFirst = append(quietFirst, d)
	}
	// The history of every job, newest first: a first page, the next, failures only, one
	// namespace (every job's here, read through the time index keeping the namespace's).
	var all []float64
	allPage := func(query string) (string, error) {
		t0 := time.Now()
		resp, err := client.Get(apiURL + "/api/v1/executions?limit=50" + query)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		var page struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("GET executions%s: %s %v", query, resp.Status, err)
		}
		all = append(all, ms(time.Since(t0)))
		if len(page.Items) == 0 {
			return "", fmt.Errorf("GET executions%s: an empty page", query)
		}
		return page.NextCursor, nil
	}
	var allFirst, allNext, allFailed, allNamespace []float64
	for range 100 {
		next, err := allPage("")
		if err != nil {
			return res, err
		}
		allFirst = append(allFirst, all[len(all)-1])
		if _, err := allPage("&cursor=" + next); err != nil {
			return res, err
		}
		allNext = append(allNext, all[len(all)-1])
		if _, err := allPage("&status=failed"); err != nil {
			return res, err
		}
		allFailed = append(allFailed, all[len(all)-1])
		if _, err := allPage("&namespace=" + domain.DefaultNamespace); err != nil {
			return res, err
		}
		allNamespace = append(allNamespace, all[len(all)-1])
	}
	dashMetrics, dashSets, err := s.timeDashboard(ctx, rng, apiURL, ids)
	if err != nil {
		return res, err
	}
	smp.stop()
	history = slices.Concat(busyFirst, busyNext, quietFirst)
	res.Lateness = map[string][]float64{"api list jobs": list, "api get job": get, "api execution history": history,
		"api history of every job": all}
	res.Metrics = append(res.Metrics,
		targeted("GET /api/v1/jobs?limit=50 p99", report.Summarize(list).P99, "ms", "<=", 10),
		metric("GET /api/v1/jobs/{id} p99", report.Summarize(get).P99, "ms"),
		targeted("execution history page p99", report.Summarize(history).P99, "ms", "<=", 20),
		metric("history, a busy job's first page p99", report.Summarize(busyFirst).P99, "ms"),
		metric("history, a busy job's next page p99", report.Summarize(busyNext).P99, "ms"),
		metric("history, a quiet job's page p99", report.Summarize(quietFirst).P99, "ms"),
		targeted("history of every job, page p99", report.Summarize(all).P99, "ms", "<=", 20),
		metric("every job: first page p99", report.Summarize(allFirst).P99, "ms"),
		metric("every job: next page p99", report.Summarize(allNext).P99, "ms"),
		metric("every job: failures only p99", report.Summarize(allFailed).P99, "ms"),
		metric("every job: one namespace p99", report.Summarize(allNamespace).P99, "ms"))
	res.Metrics = append(res.Metrics, dashMetrics...)
	maps.Copy(res.Lateness, dashSets)
	res.Notes = append(res.Notes, fmt.Sprintf("history: %d busy jobs hold 90%% of the execution records, the rest one each", len(busy)),
		"dashboard: signed in through the login form; each page read 50 times, timed by its Server-Timing header (the server's time to answer, API calls and rendering included) and on the loopback")
	res.CPU, res.RSS = smp.series()
	return res, nil
}

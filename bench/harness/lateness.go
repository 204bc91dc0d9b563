package harness

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vecron/vecron/bench/report"
	"github.com/vecron/vecron/shared/domain"
)

// Shape is one way of running the fires the lateness scenario compares.
type Shape string

// The shapes, each at its defaults: nothing is tuned, only pointed at the run's own schema,
// key prefix and stream names.
const (
	// ShapeDev is `vecron dev` with no settings: every function in one process, with its
	// embedded NATS, on the run's PostgreSQL and Redis.
	ShapeDev Shape = "vecron-dev"
	// ShapeBinaries is the function binaries with no settings: one tick, one execute-http and
	// one execute-db, on the shared NATS.
	ShapeBinaries Shape = "vecron-binaries"
	// ShapeRiver is the peer: River's periodic jobs with MaxWorkers 1 000 (bench/peers/river).
	ShapeRiver Shape = "river"
)

// AllShapes returns every shape, in the order a lateness run measures them.
func AllShapes() []Shape { return []Shape{ShapeDev, ShapeBinaries, ShapeRiver} }

// LatenessParams size the lateness comparison.
type LatenessParams struct {
	// Jobs is how many jobs fire on the same instant.
	Jobs int
	// Herd puts the jobs on `0 * * * * *` and measures one top-of-minute; otherwise they are on
	// `* * * * * *` and every second of Window is measured.
	Herd bool
	// Window is how long the every-second load is measured.
	Window time.Duration
	// Warmup is how long each shape runs before its window: connection pools fill, River elects
	// its leader, the first fires find cold caches.
	Warmup time.Duration
	// Shapes are the shapes to run, in order; empty runs AllShapes.
	Shapes []Shape
}

func (p LatenessParams) cron() string {
	if p.Herd {
		return "0 * * * * *"
	}
	return "* * * * * *"
}

// drainLimit bounds the wait, after the window, for fires still on their way: a fire later
// than this counts as missed.
const drainLimit = 30 * time.Second

// shapeRun is what one shape measured.
type shapeRun struct {
	shape Shape
	// lateness holds, per fire due in the window, its first arrival minus its scheduled
	// instant, in milliseconds.
	lateness                     []float64
	expected, missed, duplicated int
	arrivalsPerSecond            float64 // steady only: requests arriving during the window
	backlogGrowth                int     // steady only: see backlogGrowth
	cpu                          []groupCPU
	cpuSeconds                   float64
	// otherPercent is the CPU the rest of the machine used in the CPU window, in % of one core.
	otherPercent float64
	// cpuRequests is how many requests arrived in the CPU window: the work its CPU paid for,
	// also when a shape fell behind and spent the window on fires due before it.
	cpuRequests int
	// walBytes is the WAL PostgreSQL wrote in the CPU window, whoever wrote it.
	walBytes int64
	// rssMB is the shape's own processes' resident memory, each at its highest in the CPU
	// window, added up.
	rssMB                           float64
	load                            string
	cpuSeries, rssSeries            []report.Series
	throughput                      report.Series
	processes                       []string
	firstArrival, lastArrival, from time.Time
}

type groupCPU struct {
	name    string
	seconds float64
	percent float64
}

// microsPerFire is the CPU of every process the shape used, per request that arrived.
func (r shapeRun) microsPerFire() float64 {
	if r.cpuRequests == 0 {
		return 0
	}
	return r.cpuSeconds * 1e6 / float64(r.cpuRequests)
}

// Lateness runs p.Jobs jobs firing on the same instant in each shape, one shape after the
// other on this machine, and measures lateness at the target (arrival minus the instant the
// fire was scheduled for), fires missed and duplicated, requests per second, and the CPU of
// every process involved (the shape's own, PostgreSQL's, NATS's, Redis's) per fire. Each
// vecron figure is also given as a ratio to River's from the same run.
func Lateness(ctx context.Context, env Env, p LatenessParams) (report.Result, error) {
	shapes := p.Shapes
	if len(shapes) == 0 {
		shapes = AllShapes()
	}
	name := fmt.Sprintf("lateness-%d", p.Jobs)
	if p.Herd {
		name = fmt.Sprintf("lateness-herd-%d", p.Jobs)
	}
	names := make([]string, len(shapes))
	for i, s := range shapes {
		names[i] = string(s)
	}
	params := map[string]any{"jobs": p.Jobs, "cron": p.cron(), "warmup_s": p.Warmup.Seconds(), "shapes": strings.Join(names, ", ")}
	if !p.Herd {
		params["window_s"] = p.Window.Seconds()
	}
	res := newResult(ctx, env, name, params)
	var runs []shapeRun
	for _, shape := range shapes {
		env.progress("%s: %s", name, shape)
		r, err := runShape(ctx, env, name, p, shape, shapeExtras{})
		if err != nil {
			return res, fmt.Errorf("%s: %w", shape, err)
		}
		runs = append(runs, r)
	}
	res.Lateness = map[string][]float64{}
	for _, r := range runs {
		res.Lateness[string(r.shape)] = r.lateness
		res.Metrics = append(res.Metrics, shapeMetrics(p, r)...)
		res.Params[string(r.shape)+" processes"] = strings.Join(r.processes, ", ")
		res.Params[string(r.shape)+" load average at start"] = r.load
	}
	// In the order of the lateness charts, which sort by name, so a shape has one colour in all.
	for _, r := range slices.SortedFunc(slices.Values(runs), func(a, b shapeRun) int { return strings.Compare(string(a.shape), string(b.shape)) }) {
		res.Throughput = append(res.Throughput, r.throughput)
		res.CPU = append(res.CPU, r.cpuSeries...)
		res.RSS = append(res.RSS, r.rssSeries...)
	}
	if i := slices.IndexFunc(runs, func(r shapeRun) bool { return r.shape == ShapeRiver }); i >= 0 {
		for _, r := range runs {
			if r.shape != ShapeRiver {
				res.Metrics = append(res.Metrics, ratios(p, r, runs[i])...)
			}
		}
	}
	res.Notes = append(res.Notes, latenessNotes(p)...)
	return res, nil
}

func shapeMetrics(p LatenessParams, r shapeRun) []report.Metric {
	prefix := string(r.shape) + ": "
	vecron := r.shape != ShapeRiver
	// The goals are vecron's; River's figures are there to compare with.
	goal := func(name string, v float64, unit, op string, limit float64) report.Metric {
		if vecron {
			return targeted(prefix+name, v, unit, op, limit)
		}
		return metric(prefix+name, v, unit)
	}
	sum := report.Summarize(r.lateness)
	out := []report.Metric{
		metric(prefix+"fires expected", float64(r.expected), "fires"),
		goal(fmt.Sprintf("fires not arrived %g s after the window", drainLimit.Seconds()), float64(r.missed), "fires", "<=", 0),
		goal("fires duplicated", float64(r.duplicated), "fires", "<=", 0),
		metric(prefix+"lateness p50", sum.P50, "ms"),
	}
	switch {
	case p.Herd:
		out = append(out,
			goal("lateness p99", sum.P99, "ms", "<=", 600),
			metric(prefix+"lateness max", sum.Max, "ms"))
		if !r.lastArrival.IsZero() {
			out = append(out, metric(prefix+"last arrival after the instant", ms(r.lastArrival.Sub(r.from)), "ms"))
		}
	case p.Jobs <= 1000:
		out = append(out,
			goal("lateness p99", sum.P99, "ms", "<=", 100),
			goal("lateness max", sum.Max, "ms", "<=", 150))
	default:
		out = append(out,
			goal("lateness p99", sum.P99, "ms", "<=", 400),
			metric(prefix+"lateness max", sum.Max, "ms"))
	}
	if !p.Herd {
		out = append(out,
			goal("requests arriving per second", r.arrivalsPerSecond, "fires/s", ">=", 0.99*float64(p.Jobs)),
			goal("backlog growth over the window", float64(r.backlogGrowth), "fires", "<=", float64(p.Jobs)))
	}
	for _, g := range r.cpu {
		out = append(out, metric(prefix+"CPU "+g.name, g.percent, "%"))
	}
	if r.cpuRequests > 0 {
		out = append(out, metric(prefix+"PostgreSQL WAL per fire", float64(r.walBytes)/float64(r.cpuRequests), "bytes"))
	}
	out = append(out, metric(prefix+"CPU per fire, every process", r.microsPerFire(), "µs"),
		metric(prefix+"CPU of everything else on the machine", r.otherPercent, "%"))
	return out
}

// ratios gives r's figures divided by River's: below 1 is better for lateness and CPU, above 1
// for requests per second.
func ratios(p LatenessParams, r, river shapeRun) []report.Metric {
	a, b := report.Summarize(r.lateness), report.Summarize(river.lateness)
	prefix := string(r.shape) + " ÷ river: "
	var out []report.Metric
	add := func(name string, x, y float64) {
		if y > 0 {
			out = append(out, metric(prefix+name, x/y, "×"))
		}
	}
	add("lateness p50", a.P50, b.P50)
	add("lateness p99", a.P99, b.P99)
	add("lateness max", a.Max, b.Max)
	add("CPU per fire", r.microsPerFire(), river.microsPerFire())
	if !p.Herd {
		add("requests arriving per second", r.arrivalsPerSecond, river.arrivalsPerSecond)
	}
	return out
}

func latenessNotes(p LatenessParams) []string {
	notes := []string{
		"lateness is taken at the target, an HTTP server in the bench's process on 127.0.0.1: the arrival of the first request of a fire minus the instant the fire was scheduled for. vecron's executor sends that instant in X-Vecron-Scheduled-At; the River peer sends its job row's scheduled_at in the same header, which River sets for a periodic job to the instant its schedule named, not to when the job was inserted",
		"the shapes run one after the other, each in a PostgreSQL schema of its own and with nothing else of the bench running; vecron's jobs, and River's periodic jobs, are all stored before the shape starts",
		"CPU per fire: the CPU seconds of every process the shape uses over the window, divided by the requests that arrived at the target in it: the shape's own processes, the PostgreSQL backends of its connections (told apart by application_name), PostgreSQL's background processes, and nats-server and redis-server where the shape uses them (River uses only PostgreSQL; vecron dev runs NATS inside its process). PostgreSQL's background processes, nats-server and redis-server are counted whole: whatever else uses them on this machine counts too. \"CPU of everything else on the machine\" is the machine's busy CPU in the same window less the shape's processes and the bench's own (the target): other work that took CPU from the shape, which makes a run not worth comparing when it is high",
		"the River peer: river v0.51.2 with riverpgxv5, one client, MaxWorkers 1 000 on the default queue and River's defaults otherwise (a pgxpool of default size, LISTEN/NOTIFY, fetch cooldown 100 ms), one periodic job per bench job on the same six-field cron in UTC; its HTTP client keeps up to 1 000 idle connections to the target, so it never pays for a new TCP connection that a River user would avoid",
	}
	if p.Herd {
		notes = append(notes, "herd: the measured instant is the first top of a minute at least the warm-up after the shape was ready; the CPU window runs from a second before it until a second after the last arrival")
	} else {
		notes = append(notes, "backlog growth: of the window's fires, how many more were due and had not arrived just before its last instant than just before the instant 10 s into it. A shape that keeps up holds a steady backlog (near 0 growth); one that falls behind adds every fire it could not deliver",
			"lateness percentiles are taken over the fires that arrived: for a shape that did not deliver every fire of the window within 30 s they understate, and the fires not arrived and the backlog growth tell the rest. CPU per fire divides by the requests that arrived during the window, whichever second they were due")
	}
	return notes
}

// shapeExtras change how a vecron shape runs, for a scenario that measures a setting on the
// lateness run (the observability scenario); the zero value changes nothing.
type shapeExtras struct {
	// vars are added to the environment of every vecron process, after the shape's own; unset
	// are removed from the environment they inherit.
	vars, unset []string
	// during, when set, is called once the shape's processes are ready; the function it returns
	// is called once the window's fires have arrived, and again when the run ends early, so it
	// must allow a second call. An error from either fails the run.
	during func(ctx context.Context, s *stack) (stop func() error, err error)
}

// runShape runs one shape and measures it.
func runShape(ctx context.Context, env Env, scenario string, p LatenessParams, shape Shape, x shapeExtras) (shapeRun, error) {
	r := shapeRun{shape: shape, load: loadAverage()}
	tg := newTarget()
	defer tg.Close()
	s, err := startShape(ctx, env, p, shape, tg.URL, x)
	if s != nil {
		defer s.close(ctx)
	}
	if err != nil {
		return r, err
	}
	ready := time.Now()
	stopDuring := func() error { return nil }
	if x.during != nil {
		if stopDuring, err = x.during(ctx, s); err != nil {
			return r, err
		}
		defer func() { _ = stopDuring() }()
	}

	watch, err := watchPostgres(ctx, env.DatabaseURL)
	if err != nil {
		return r, err
	}
	defer watch.close(context.WithoutCancel(ctx))
	var groups []group
	for name, pid := range s.pids() {
		groups = append(groups, fixed(name, pid))
		r.processes = append(r.processes, name)
	}
	slices.Sort(r.processes)
	groups = append(groups, watch.backends(s.space.name), watch.background())
	services := []struct{ name, url string }{{groupRedis, env.RedisURL}}
	switch shape {
	case ShapeBinaries:
		services = append(services, struct{ name, url string }{groupNATS, env.NATSURL})
	case ShapeRiver:
		services = nil
	}
	for _, svc := range services {
		if g, ok := listener(ctx, svc.name, svc.url); ok {
			groups = append(groups, g)
		}
	}
	// The bench's own process (the target) is sampled to tell it from the rest of the machine,
	// and counts in no shape's CPU per fire.
	self := fixed("bench (the target)", os.Getpid())
	smp := sampleGroups(append(groups, self), 500*time.Millisecond)
	defer smp.stop()

	// The instants measured: every second of the window, or one top of a minute.
	var from, to time.Time
	if p.Herd {
		from = ready.Add(p.Warmup).Truncate(time.Minute)
		if from.Before(ready.Add(p.Warmup)) {
			from = from.Add(time.Minute)
		}
		to = from
	} else {
		from = ready.Truncate(time.Second).Add(time.Second + p.Warmup)
		to = from.Add(p.Window - time.Second)
	}
	r.from = from
	perInstant := p.Jobs
	instants := int(to.Sub(from)/time.Second) + 1
	r.expected = perInstant * instants
	windowEnd := to.Add(time.Second)
	env.progress("%s: measuring fires due from %s to %s", shape, from.Format("15:04:05"), to.Format("15:04:05"))

	if err := sleepUntil(ctx, s, from.Add(-time.Second)); err != nil {
		return r, err
	}
	profileFor := min(time.Until(windowEnd), 30*time.Second)
	if p.Herd {
		profileFor = 10 * time.Second
	}
	profiled := s.profile(ctx, scenario+"-"+string(shape), max(profileFor, time.Second))
	// The WAL is read where the CPU window starts and ends (for a herd: a second before its
	// instant, and once its fires have arrived).
	if !p.Herd {
		if err := sleepUntil(ctx, s, from); err != nil {
			return r, err
		}
	}
	walFrom, err := watch.walBytes(ctx)
	if err != nil {
		return r, err
	}
	if err := sleepUntil(ctx, s, windowEnd); err != nil {
		return r, err
	}
	var walTo int64
	if !p.Herd {
		if walTo, err = watch.walBytes(ctx); err != nil {
			return r, err
		}
	}
	// Fires due in the window may still be on their way.
	for deadline := windowEnd.Add(drainLimit); time.Now().Before(deadline) && tg.countScheduled(from, to) < r.expected; {
		if err := sleepUntil(ctx, s, time.Now().Add(250*time.Millisecond)); err != nil {
			return r, err
		}
	}
	if p.Herd {
		if walTo, err = watch.walBytes(ctx); err != nil {
			return r, err
		}
	}
	r.walBytes = walTo - walFrom
	if err := stopDuring(); err != nil {
		return r, err
	}
	if err := profiled(); err != nil {
		return r, err
	}
	smp.stop()

	seen := map[string]int{}
	var inWindow, arrived []time.Time
	for _, a := range tg.snapshot() {
		arrived = append(arrived, a.receivedAt)
		if !a.receivedAt.Before(from) && a.receivedAt.Before(windowEnd) {
			inWindow = append(inWindow, a.receivedAt)
		}
		if a.scheduledAt.Before(from) || a.scheduledAt.After(to) {
			continue
		}
		seen[a.key]++
		if seen[a.key] > 1 {
			r.duplicated++
			continue
		}
		r.lateness = append(r.lateness, ms(a.receivedAt.Sub(a.scheduledAt)))
		if r.firstArrival.IsZero() || a.receivedAt.Before(r.firstArrival) {
			r.firstArrival = a.receivedAt
		}
		if a.receivedAt.After(r.lastArrival) {
			r.lastArrival = a.receivedAt
		}
	}
	r.missed = max(0, r.expected-len(seen))
	if !p.Herd {
		r.arrivalsPerSecond = float64(len(inWindow)) / windowEnd.Sub(from).Seconds()
		r.backlogGrowth = backlogGrowth(tg.snapshot(), from, to, perInstant)
	}

	// The CPU window: the measured seconds, or the herd from a second before its instant until
	// a second after its last arrival.
	cpuFrom, cpuTo := from, windowEnd
	if p.Herd {
		cpuFrom, cpuTo = from.Add(-time.Second), r.lastArrival.Add(time.Second)
		if r.lastArrival.IsZero() {
			cpuTo = windowEnd
		}
	}
	for _, at := range arrived {
		if !at.Before(cpuFrom) && at.Before(cpuTo) {
			r.cpuRequests++
		}
	}
	f, t := cpuFrom.Sub(smp.start).Seconds(), cpuTo.Sub(smp.start).Seconds()
	for _, g := range groups {
		used := smp.cpuUsed(g.name, f, t)
		r.cpu = append(r.cpu, groupCPU{name: g.name, seconds: used, percent: 100 * used / (t - f)})
		r.cpuSeconds += used
	}
	// Whatever else ran on the machine meanwhile (another test suite, a build) took CPU from
	// the shape: shown so a figure from a busy machine is not mistaken for the shape's.
	other := smp.cpuUsed(machine, f, t) - r.cpuSeconds - smp.cpuUsed(self.name, f, t)
	r.otherPercent = max(0, 100*other/(t-f))
	for _, name := range r.processes {
		peak, _ := smp.stats(name, f, t)
		r.rssMB += peak
	}

	cpu, rss := smp.series()
	cpu = slices.DeleteFunc(cpu, func(s report.Series) bool { return s.Name == self.name })
	r.cpuSeries = []report.Series{sumSeries(string(shape)+" (every process)", cpu)}
	for _, s := range rss {
		if slices.Contains(r.processes, s.Name) {
			s.Name = string(shape) + " " + s.Name
			r.rssSeries = append(r.rssSeries, s)
		}
	}
	r.throughput = perSecond(string(shape), smp.start, arrived)
	return r, nil
}

// startShape starts shape's processes in a space of their own, with p.Jobs jobs calling target,
// and waits until they are ready; x changes vecron's processes. The returned stack, when not nil,
// must be closed, also on error.
func startShape(ctx context.Context, env Env, p LatenessParams, shape Shape, target string, x shapeExtras) (*stack, error) {
	if shape == ShapeRiver {
		sp, err := newSpace(ctx, env, "lateness-river")
		if err != nil {
			return nil, err
		}
		s := &stack{env: env, space: sp}
		_, err = s.startCommand(ctx, command{name: RiverPeer, args: []string{
			"--database-url=" + sp.appURL, "--schema=" + sp.name, "--jobs=" + strconv.Itoa(p.Jobs),
			"--cron=" + p.cron(), "--target=" + target, "--max-workers=1000"}})
		return s, err
	}
	s, err := openStack(ctx, env, "lateness")
	if err != nil {
		return nil, err
	}
	if _, err := s.createJobs(ctx, p.Jobs, func(i int) *domain.Job {
		return httpJob(fmt.Sprint("lateness-", i), target, domain.Schedule{Cron: p.cron()})
	}); err != nil {
		return s, err
	}
	// Only what isolates the run: its connections (named, for the CPU sampler), key prefix and
	// stream names. Everything else is each binary's default.
	vars := []string{"DATABASE_URL=" + s.space.appURL, "REDIS_URL=" + env.RedisURL, "VECRON_REDIS__PREFIX=" + s.space.redisPrefix}
	if shape == ShapeDev {
		dataDir, err := os.MkdirTemp("", "vecron-bench-dev-")
		if err != nil {
			return s, err
		}
		s.cleanup = append(s.cleanup, func() { _ = os.RemoveAll(dataDir) })
		natsPort, err := freePort()
		if err != nil {
			return s, err
		}
		// dev's metrics listener refuses a taken port: another run's, or a function's default.
		adminPort, err := freePort()
		if err != nil {
			return s, err
		}
		// Without NATS_URL, dev runs its embedded NATS, as it does on a laptop.
		_, err = s.startCommand(ctx, command{name: "vecron", args: []string{"dev", "--data-dir=" + dataDir,
			"--nats-port=" + strconv.Itoa(natsPort), "--admin-port=" + strconv.Itoa(adminPort), "--host=127.0.0.1"}, vars: append(vars, x.vars...),
			unset: append([]string{"NATS_URL"}, x.unset...), pprofInEnv: true})
		return s, err
	}
	vars = append(vars, "NATS_URL="+env.NATSURL, "VECRON_NATS__PREFIX="+s.space.natsPrefix,
		// The target runs on this machine, which the egress policy denies unless allowed.
		"VECRON_EGRESS__ALLOW=127.0.0.0/8,::1/128")
	for _, fn := range []string{"tick", "execute-http", "execute-db"} {
		if _, err := s.startCommand(ctx, command{name: fn, vars: append(slices.Clone(vars), x.vars...), unset: x.unset}); err != nil {
			return s, err
		}
	}
	return s, nil
}

// sleepUntil waits until t, returning early with the output of a process that died or when
// ctx ends.
func sleepUntil(ctx context.Context, s *stack, t time.Time) error {
	for {
		if err := s.died(); err != nil {
			return err
		}
		d := time.Until(t)
		if d <= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(d, time.Second)):
		}
	}
}

// backlogGrowth returns how many more of the window's fires were due and had not arrived just
// before the window's last instant than just before the instant ten seconds into it (a third of
// the window when shorter); perInstant fires are due on each instant. A shape that keeps up
// holds about the same backlog at both; one that falls behind adds what it could not deliver in
// between. Fires that never arrived count too, which lateness percentiles, taken over the
// arrivals, cannot show.
func backlogGrowth(arrivals []arrival, from, to time.Time, perInstant int) int {
	span := min(10*time.Second, (to.Sub(from)+time.Second)/3)
	if span < time.Second {
		return 0
	}
	first := map[string]arrival{}
	for _, a := range arrivals {
		if a.scheduledAt.Before(from) || a.scheduledAt.After(to) {
			continue
		}
		if f, ok := first[a.key]; !ok || a.receivedAt.Before(f.receivedAt) {
			first[a.key] = a
		}
	}
	backlog := func(at time.Time) int {
		due := perInstant * (int(at.Sub(from)/time.Second) + 1)
		for _, a := range first {
			if !a.scheduledAt.After(at) && !a.receivedAt.After(at) {
				due--
			}
		}
		return due
	}
	return backlog(to.Add(time.Second-time.Millisecond)) - backlog(from.Add(span-time.Millisecond))
}

// sumSeries adds up series sampled at the same instants into one line.
func sumSeries(name string, series []report.Series) report.Series {
	at := map[float64]float64{}
	for _, s := range series {
		for _, p := range s.Points {
			at[p.T] += p.V
		}
	}
	out := report.Series{Name: name}
	for _, t := range slices.Sorted(maps.Keys(at)) {
		out.Points = append(out.Points, report.Point{T: t, V: at[t]})
	}
	return out
}

// loadAverage returns this machine's load averages over 1, 5 and 15 minutes, as /proc/loadavg
// gives them; "" where there is none.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

package executor_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/httpjob"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// newMetricsFixture is newFixture with a registry of its own, the per-job series given to jobs.
func newMetricsFixture(t *testing.T, settings metric.Settings, jobs []string) (*fixture, *metric.Registry) {
	t.Helper()
	clock := clockwork.NewFakeClockAt(time.Now().UTC())
	return newMetricsFixtureWith(t, settings, executor.Deps{Clock: clock, MetricJobs: jobs})
}

// newMetricsFixtureWith is newMetricsFixture with the collaborators deps names (a clock, a
// breaker, the per-job list); the rest are the fixture's.
func newMetricsFixtureWith(t *testing.T, settings metric.Settings, deps executor.Deps) (*fixture, *metric.Registry) {
	t.Helper()
	reg, err := metric.New(metric.Config{Function: "execute-http", Settings: settings})
	require.NoError(t, err)
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	clock := deps.Clock.(*clockwork.FakeClock)
	runner := httpjob.New(clock, httpjob.Config{}, egress.LoopbackPolicy())
	t.Cleanup(runner.Close)
	deps.Store, deps.Runner, deps.Publisher, deps.Names, deps.Log, deps.Metrics = st, runner, queue.NewPublisher(js), names, testenv.Logger(t), reg
	rt, err := executor.New(domain.KindHTTP, "execute-http", deps, executor.Config{})
	require.NoError(t, err)
	return &fixture{rt: rt, store: st, js: js, names: names, clock: clock}, reg
}

// testNamespace is a namespace no other test uses.
func testNamespace(t *testing.T) string {
	t.Helper()
	return "ns-" + uuid.NewString()[:8]
}

// series returns, for each series of family n whose labels include want, its value: a counter's
// or gauge's value, a histogram's count. The key is the series' labels, "name=value,…".
func series(t *testing.T, reg *metric.Registry, n metric.Name, want map[string]string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != string(n) {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			var key []string
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
				key = append(key, l.GetName()+"="+l.GetValue())
			}
			for k, v := range want {
				if labels[k] != v {
					continue next
				}
			}
			out[strings.Join(key, ",")] = sampleValue(mf.GetType(), m)
		}
	}
	return out
}

func sampleValue(typ dto.MetricType, m *dto.Metric) float64 {
	switch typ {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	case dto.MetricType_HISTOGRAM:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return -1
}

// nonZero drops the series at 0 (the pre-initialised ones), so a test states only what counted.
func nonZero(in map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range in {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

// TestExecutionsAreCountedOnceRecorded drives fires to every outcome the executor records and
// checks each family's exact values; duplicate deliveries of recorded fires count nothing.
func TestExecutionsAreCountedOnceRecorded(t *testing.T) {
	t.Parallel()
	var flaky atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gone":
			http.NotFound(w, r)
		case "/flaky":
			if flaky.Add(1) <= 2 {
				http.Error(w, "later", http.StatusServiceUnavailable)
			}
		case "/down":
			http.Error(w, "down", http.StatusInternalServerError)
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}
	}))
	defer target.Close()
	f, reg := newMetricsFixture(t, metric.DefaultSettings(), nil)
	ns := testNamespace(t)
	at := f.clock.Now().Add(-time.Minute).Truncate(time.Second)
	fast := []domain.Duration{domain.Duration(20 * time.Millisecond)}
	job := func(path string, retry *domain.RetryPolicy, timeout time.Duration) *domain.Job {
		return testfactory.Job(t, f.store, testfactory.JobOpts{Namespace: ns, URL: target.URL + path, Retry: retry, Timeout: timeout})
	}
	settle := func(j *domain.Job, at time.Time) {
		ev := dueEvent(t, j, at)
		handleUntilSettled(t, f, func() error { return f.rt.Handle(t.Context(), ev) })
	}

	// First, while nothing else waits on the clock (an attempt's fake-clock timeout outlives it).
	slow := job("/slow", &domain.RetryPolicy{MaxAttempts: 1}, 200*time.Millisecond)
	handled := make(chan error, 1)
	go func() { handled <- f.rt.Handle(t.Context(), dueEvent(t, slow, at)) }()
	// The attempt's timeout and its heartbeat wait on the clock: then its time runs out.
	require.NoError(t, f.clock.BlockUntilContext(t.Context(), 2))
	f.clock.Advance(200 * time.Millisecond)
	require.NoError(t, <-handled)

	ok := job("/ok", nil, 0)
	okEv := dueEvent(t, ok, at)
	require.NoError(t, f.rt.Handle(t.Context(), okEv))
	require.NoError(t, f.rt.Handle(t.Context(), dueEvent(t, ok, at.Add(time.Second))))
	require.NoError(t, f.rt.Handle(t.Context(), dueEvent(t, job("/gone", nil, 0), at)))
	settle(job("/flaky", &domain.RetryPolicy{MaxAttempts: 5, Backoff: fast}, 0), at)
	down := job("/down", &domain.RetryPolicy{MaxAttempts: 2, Backoff: fast}, 0)
	settle(down, at)
	late := testfactory.Job(t, f.store, testfactory.JobOpts{Namespace: ns, URL: target.URL + "/ok"})
	late.StartingDeadline = domain.Duration(5 * time.Second)
	require.NoError(t, f.rt.Handle(t.Context(), dueEvent(t, late, at)))

	check := func() {
		t.Helper()
		base := "kind=http,namespace=" + ns
		for _, c := range []struct {
			n    metric.Name
			want map[string]float64
		}{
			{metric.JobSuccess, map[string]float64{base + ",trigger=schedule": 3}},
			{metric.JobFailed, map[string]float64{base + ",reason=http_status,trigger=schedule": 1, base + ",reason=exhausted,trigger=schedule": 2}},
			{metric.JobRetries, map[string]float64{base + ",reason=http_status": 3}},
			{metric.JobDeadLetters, map[string]float64{base: 2}},
			{metric.JobSkipped, map[string]float64{base + ",reason=deadline": 1}},
			{metric.JobTimeouts, map[string]float64{base: 1}},
			// Every attempt that reached the target: ok ×2, gone, flaky ×3, down ×2, slow.
			{metric.JobDuration, map[string]float64{base + ",status=succeeded": 3, base + ",status=failed": 5, base + ",status=timeout": 1}},
		} {
			require.Equal(t, c.want, nonZero(series(t, reg, c.n, map[string]string{"namespace": ns})), c.n)
		}
		// The first attempt of each fire that reached its target: all but the skipped one.
		require.Equal(t, map[string]float64{"kind=http,trigger=schedule": 6}, nonZero(series(t, reg, metric.FireLateness, nil)))
		require.Equal(t, map[string]float64{"kind=http": 0, "kind=sql": 0}, series(t, reg, metric.JobInterrupted, nil),
			"pre-initialised, and nothing interrupted")
		require.Equal(t, map[string]float64{"kind=http": 0}, series(t, reg, metric.ExecutionsInFlight, nil))
	}
	check()

	// Duplicate deliveries of recorded fires: a success, a failure, a dead letter (published
	// again) and a skip. Nothing runs, nothing counts.
	for _, ev := range []struct {
		j  *domain.Job
		at time.Time
	}{{ok, at}, {down, at}, {slow, at}, {late, at}} {
		require.NoError(t, f.rt.Handle(t.Context(), dueEvent(t, ev.j, ev.at)))
	}
	check()
}

// TestPerJobSeriesOnlyForListedJobs: the jobs of metrics.jobs, by name or by namespace, get
// per-job series; any other job gets none; past metrics.max_job_series the job name is other.
func TestPerJobSeriesOnlyForListedJobs(t *testing.T) {
	t.Parallel()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/gone" {
			http.NotFound(w, r)
		}
	}))
	defer target.Close()
	ns, all := testNamespace(t), testNamespace(t)
	jobs := []string{ns + "/listed", all + "/*"}
	settings := metric.DefaultSettings()
	settings.Jobs, settings.MaxJobSeries = jobs, 3
	f, reg := newMetricsFixture(t, settings, jobs)
	at := f.clock.Now().Add(-time.Minute).Truncate(time.Second)
	run := func(namespace, name, path string) *domain.Job {
		j := testfactory.Job(t, f.store, testfactory.JobOpts{Namespace: namespace, Name: name, URL: target.URL + path})
		require.NoError(t, f.rt.Handle(t.Context(), dueEvent(t, j, at)))
		return j
	}
	listed := run(ns, "listed", "/ok")
	run(ns, "unlisted", "/ok")
	run(all, "a", "/ok")
	run(all, "b", "/gone")
	run(all, "c", "/ok") // the fourth job name: past the cap
	listed.StartingDeadline = domain.Duration(time.Second)
	require.NoError(t, f.rt.Handle(t.Context(), dueEvent(t, listed, at.Add(time.Second))), "skipped, too late")

	require.Equal(t, map[string]float64{
		"job_name=listed,namespace=" + ns + ",status=succeeded": 1,
		"job_name=listed,namespace=" + ns + ",status=skipped":   1,
		"job_name=a,namespace=" + all + ",status=succeeded":     1,
		"job_name=b,namespace=" + all + ",status=failed":        1,
		"job_name=other,namespace=" + all + ",status=succeeded": 1,
	}, series(t, reg, metric.JobRuns, nil))
	require.Equal(t, map[string]float64{
		"job_name=listed,namespace=" + ns: 1, "job_name=a,namespace=" + all: 1,
		"job_name=b,namespace=" + all: 1, "job_name=other,namespace=" + all: 1,
	}, series(t, reg, metric.JobRunDuration, nil))
	last := series(t, reg, metric.JobLastSuccess, nil)
	require.Len(t, last, 3, "listed, a and other succeeded")
	require.InDelta(t, float64(f.clock.Now().Unix()), last["job_name=listed,namespace="+ns], 1)
	require.Equal(t, 1.0, series(t, reg, metric.LabelOverflow, map[string]string{"metric": string(metric.JobRuns)})["metric="+string(metric.JobRuns)])
	// The families without a job label count every job.
	require.Equal(t, 2.0, series(t, reg, metric.JobSuccess, map[string]string{"namespace": ns})["kind=http,namespace="+ns+",trigger=schedule"])
}

// TestNoPerJobFamiliesWithoutAList: an install that lists no job serves none of the per-job
// families, and a malformed list stops the runtime, naming the setting.
func TestNoPerJobFamiliesWithoutAList(t *testing.T) {
	t.Parallel()
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer target.Close()
	f, reg := newMetricsFixture(t, metric.DefaultSettings(), nil)
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL})
	require.NoError(t, f.rt.Handle(t.Context(), dueEvent(t, j, f.clock.Now().Add(-time.Minute).Truncate(time.Second))))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	require.Contains(t, names, string(metric.JobSuccess))
	for _, n := range []metric.Name{metric.JobRuns, metric.JobRunDuration, metric.JobLastSuccess} {
		require.NotContains(t, names, string(n))
	}

	_, err = executor.New(domain.KindHTTP, "execute-http", executor.Deps{Clock: clockwork.NewRealClock(), Log: testenv.Logger(t),
		Metrics: reg, MetricJobs: []string{"payments"}}, executor.Config{})
	require.ErrorContains(t, err, "metrics.jobs[0]")
}

// TestTheExecutorNamesWhatItDecided: the failures decided around the runner carry the
// executor's reasons — a template that cannot be filled (template, for good) and a target whose
// breaker is open (breaker_open, retried).
func TestTheExecutorNamesWhatItDecided(t *testing.T) {
	t.Parallel()
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer target.Close()
	clock := clockwork.NewFakeClockAt(time.Now().UTC())
	breakers := testBreakers(t, clock)
	f, reg := newMetricsFixtureWith(t, metric.DefaultSettings(), executor.Deps{Clock: clock, Breaker: breakers})
	ns := testNamespace(t)
	at := clock.Now().Add(-time.Minute).Truncate(time.Second)

	templated := testfactory.Job(t, f.store, testfactory.JobOpts{Namespace: ns, URL: target.URL + "/{{ var.MISSING }}"})
	require.NoError(t, f.rt.Handle(t.Context(), dueEvent(t, templated, at)), "a template error is permanent")

	done, err := breakers.Allow(t.Context(), strings.TrimPrefix(target.URL, "http://"))
	require.NoError(t, err)
	done(false) // one failure opens it (panicBreakerConfig)
	refused := testfactory.Job(t, f.store, testfactory.JobOpts{Namespace: ns, URL: target.URL})
	require.Error(t, f.rt.Handle(t.Context(), dueEvent(t, refused, at)), "refused, to be tried again")

	base := "kind=http,namespace=" + ns
	require.Equal(t, map[string]float64{base + ",reason=template,trigger=schedule": 1},
		nonZero(series(t, reg, metric.JobFailed, map[string]string{"namespace": ns})))
	require.Equal(t, map[string]float64{base + ",reason=breaker_open": 1},
		nonZero(series(t, reg, metric.JobRetries, map[string]string{"namespace": ns})))
	require.Empty(t, nonZero(series(t, reg, metric.JobDuration, nil)), "neither reached its runner")
	require.Empty(t, nonZero(series(t, reg, metric.FireLateness, nil)), "neither called its target")
}

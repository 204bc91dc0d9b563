package e2e_test

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

var adminLine = regexp.MustCompile(`msg="admin listening" addr=(\S+)`)

// adminURL waits for p's admin listener and returns its /metrics URL.
func adminURL(t *testing.T, p *proc) string {
	t.Helper()
	var addr string
	testenv.EventuallyWithin(t, 30*time.Second, p.name+"'s admin listener", func() bool {
		m := adminLine.FindStringSubmatch(p.output())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	return "http://" + addr + "/metrics"
}

// series maps a series (name and sorted labels) to its value, summed over the processes
// scraped: a histogram gives its _count and _sum.
type series map[string]float64

func key(name string, labels ...string) string {
	sort.Strings(labels)
	return name + "{" + strings.Join(labels, ",") + "}"
}

func scrapeAll(t *testing.T, urls ...string) series {
	t.Helper()
	out := series{}
	for _, u := range urls {
		resp, err := http.Get(u)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, u)
		parser := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := parser.TextToMetricFamilies(strings.NewReader(string(b)))
		require.NoError(t, err, u)
		for name, f := range fams {
			if !strings.HasPrefix(name, "vecron_") {
				continue
			}
			for _, m := range f.GetMetric() {
				var labels []string
				for _, l := range m.GetLabel() {
					labels = append(labels, l.GetName()+"="+l.GetValue())
				}
				switch f.GetType() {
				case dto.MetricType_COUNTER:
					out[key(name, labels...)] += m.GetCounter().GetValue()
				case dto.MetricType_GAUGE:
					out[key(name, labels...)] += m.GetGauge().GetValue()
				case dto.MetricType_HISTOGRAM:
					out[key(name+"_count", labels...)] += float64(m.GetHistogram().GetSampleCount())
					out[key(name+"_sum", labels...)] += m.GetHistogram().GetSampleSum()
				}
			}
		}
	}
	return out
}

// sum adds the series of name whose labels include every one of want.
func (s series) sum(name string, want ...string) float64 {
	var total float64
	for k, v := range s {
		n, labels, _ := strings.Cut(strings.TrimSuffix(k, "}"), "{")
		if n != name {
			continue
		}
		have := strings.Split(labels, ",")
		if !slices.ContainsFunc(want, func(w string) bool { return !slices.Contains(have, w) }) {
			total += v
		}
	}
	return total
}

// TestMetricsAfterARunWithEveryOutcome runs the api, the tick and execute-http as processes,
// runs jobs by hand a known number of times with every outcome — successes, a permanent
// failure, a retry that succeeds and one that ends in a dead letter — and checks each
// process's /metrics, summed over processes, holds exactly what happened.
func TestMetricsAfterARunWithEveryOutcome(t *testing.T) {
	t.Parallel()
	dbURL := testenv.PostgresURL(t)
	_, _, names := testenv.NATS(t)
	redisURL, redisPrefix := testenv.RedisURL(t)
	env := []string{
		"DATABASE_URL=" + dbURL, "NATS_URL=" + testenv.NATSURL(t), "VECRON_NATS__PREFIX=" + names.Prefix,
		"VECRON_LOG__FORMAT=text", "VECRON_AUTH__SIGNING_KEYS=" + testfactory.SigningKey(t),
		"VECRON_AUDIT__KEYS=" + testfactory.AuditKey(t),
		"REDIS_URL=" + redisURL, "VECRON_REDIS__PREFIX=" + redisPrefix, "VECRON_EGRESS__ALLOW=127.0.0.0/8,::1/128",
	}
	apiPort, workerPort := testenv.FreePort(t), testenv.FreePort(t)
	api := startProc(t, "api", env, fmt.Sprintf("--port=%d", apiPort), "--host=127.0.0.1")
	tick := startProc(t, "tick", env, "--port=0")
	worker := startProc(t, "execute-http", env, fmt.Sprintf("--port=%d", workerPort))
	apiURL := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	waitHTTP(t, apiURL+"/readyz")
	signInAsAdmin(t, dbURL, apiURL)
	waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/readyz", workerPort))
	scrapes := []string{adminURL(t, api), adminURL(t, tick), adminURL(t, worker)}

	var flaky atomic.Int32
	tg := newTargetFunc(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
		case "/gone":
			w.WriteHeader(http.StatusNotFound)
		case "/flaky":
			if flaky.Add(1) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	retry := map[string]any{"max_attempts": 2, "backoff": []string{"200ms"}}
	runs := map[string]int{"ok": 3, "gone": 1, "flaky": 1, "down": 1}
	var executions []string
	for _, name := range slices.Sorted(maps.Keys(runs)) {
		var j domain.Job
		require.Equal(t, http.StatusCreated, postJSON(t, apiURL+"/api/v1/jobs", map[string]any{
			"name": name, "schedule": map[string]string{"cron": "0 0 0 1 1 *"},
			"http": map[string]any{"url": tg.URL + "/" + name}, "retry": retry,
		}, &j))
		for range runs[name] {
			var run struct {
				ExecutionID string `json:"execution_id"`
			}
			require.Equal(t, http.StatusAccepted, postJSON(t, apiURL+"/api/v1/jobs/"+j.ID+"/trigger", map[string]any{}, &run))
			// One at a time: a job's concurrency policy must not turn a run into a skip.
			testenv.EventuallyWithin(t, 30*time.Second, name+"'s run ends", func() bool {
				var e domain.Execution
				getJSON(t, apiURL+"/api/v1/executions/"+run.ExecutionID, &e)
				return e.Status.Terminal()
			})
			executions = append(executions, run.ExecutionID)
		}
	}
	require.Len(t, executions, 6)

	// The backlog collector reads the consumer at most every 5 s.
	var got series
	testenv.EventuallyWithin(t, 20*time.Second, "an empty backlog", func() bool {
		got = scrapeAll(t, scrapes...)
		return got.sum("vecron_job_queue_size", "kind=http") == 0 && got.sum("vecron_queue_redeliveries_total", "kind=http") == 2
	})
	ns, kind := "namespace=default", "kind=http"
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"vecron_job_success_total", []string{ns, kind, "trigger=manual"}, 4},
		{"vecron_job_failed_total", []string{ns, kind, "trigger=manual", "reason=http_status"}, 1},
		{"vecron_job_failed_total", []string{ns, kind, "trigger=manual", "reason=exhausted"}, 1},
		{"vecron_job_failed_total", []string{ns, kind}, 2},
		{"vecron_job_retries_total", []string{ns, kind, "reason=http_status"}, 2},
		{"vecron_job_retries_total", []string{ns, kind}, 2},
		{"vecron_job_dead_letters_total", []string{ns, kind}, 1},
		{"vecron_job_duration_seconds_count", []string{ns, kind}, 8},
		{"vecron_job_duration_seconds_count", []string{ns, kind, "status=succeeded"}, 4},
		{"vecron_fire_lateness_seconds_count", []string{kind, "trigger=manual"}, 6},
		{"vecron_fires_published_total", []string{kind, "trigger=manual"}, 6},
		{"vecron_http_request_duration_seconds_count", []string{"route=/api/v1/jobs/{id}/trigger", "method=POST", "code=202"}, 6},
		{"vecron_queue_redeliveries_total", []string{kind}, 2},
		{"vecron_job_queue_size", []string{kind}, 0},
		{"vecron_executions_in_flight", []string{kind}, 0},
		{"vecron_job_skipped_total", nil, 0},
		{"vecron_job_timeouts_total", nil, 0},
		{"vecron_queue_publish_errors_total", nil, 0},
	} {
		require.Equal(t, c.want, got.sum(c.name, c.labels...), "%s%v", c.name, c.labels)
	}
	require.Positive(t, got.sum("vecron_job_duration_seconds_sum", ns, kind))
	require.Less(t, got.sum("vecron_fire_lateness_seconds_sum", kind), 6*5.0, "six first attempts, each within 5 s")
	for _, fn := range []string{"api", "tick", "execute-http"} {
		require.Equal(t, 1.0, got.sum("vecron_build_info", "function="+fn), "build info of %s", fn)
	}

	// Nothing more happens: a second scrape a second later counts the same.
	time.Sleep(time.Second)
	again := scrapeAll(t, scrapes...)
	for _, name := range []string{"vecron_job_success_total", "vecron_job_failed_total", "vecron_job_retries_total",
		"vecron_job_dead_letters_total", "vecron_fires_published_total", "vecron_fire_lateness_seconds_count"} {
		require.Equal(t, got.sum(name), again.sum(name), name)
	}
}

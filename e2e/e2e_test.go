package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/functions/api/apifn"
	"github.com/vecron/vecron/functions/execute-db/dbfn"
	"github.com/vecron/vecron/functions/execute-http/httpfn"
	"github.com/vecron/vecron/functions/tick/tickfn"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/sqljob"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/tick"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m, func() { os.RemoveAll(binDir()) }) }

// target is an HTTP endpoint that records every request it receives.
type target struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []request
}

type request struct {
	key         string
	jobID       string
	scheduledAt time.Time
	receivedAt  time.Time
}

func newTarget(t *testing.T) *target {
	tg := &target{}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at, _ := time.Parse(time.RFC3339Nano, r.Header.Get("X-Vecron-Scheduled-At"))
		tg.mu.Lock()
		tg.reqs = append(tg.reqs, request{key: r.Header.Get("Idempotency-Key"), jobID: r.Header.Get("X-Vecron-Job-Id"), scheduledAt: at, receivedAt: time.Now()})
		tg.mu.Unlock()
		fmt.Fprintf(w, "ok %s", r.Header.Get("Idempotency-Key"))
	}))
	t.Cleanup(tg.Close)
	return tg
}

func (tg *target) requests() []request {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return append([]request(nil), tg.reqs...)
}

// stack is the functions running in process on one schema and one set of stream names.
type stack struct {
	// startTick starts (again) a tick on the stack's database and streams.
	startTick func() (stop func())
	apiURL    string
	// dbURL is the stack's system database.
	dbURL string
	// pushURL is where the execute-http push transport listens; empty in pull mode.
	pushURL string
	store   *store.Store
	// clock is every function's: the wall clock, moved forward when a test jumps it.
	clock *shiftClock
	stops map[string]func()
	// js and names reach the stack's streams.
	js    jetstream.JetStream
	names event.Names
}

// run starts fn in the background and returns a function that stops it and checks it exited
// cleanly.
func run(t *testing.T, name string, fn func(ctx context.Context) error) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err, name)
			case <-time.After(testenv.Timeout(30 * time.Second)):
				t.Errorf("%s did not stop in time", name)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// shiftClock is the wall clock shifted by an offset a test can grow: time passes in an instant
// for every function of the stack at once, while their timers keep real durations.
type shiftClock struct {
	clockwork.Clock
	offset atomic.Int64
}

func (c *shiftClock) Now() time.Time                  { return c.Clock.Now().Add(time.Duration(c.offset.Load())) }
func (c *shiftClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }
func (c *shiftClock) Until(t time.Time) time.Duration { return t.Sub(c.Now()) }

// Jump moves the clock forward by d.
func (c *shiftClock) Jump(d time.Duration) { c.offset.Add(int64(d)) }

func startStack(t *testing.T, transport string) *stack {
	t.Helper()
	return startStackWith(t, transport, tickfn.DefaultSettings().Tick)
}

// startStackWith starts the stack with a tick of the given configuration; mods adjust the
// executor's settings.
func startStackWith(t *testing.T, transport string, tickCfg tick.Config, mods ...func(*httpfn.Settings)) *stack {
	t.Helper()
	dbURL := testenv.PostgresURL(t)
	_, js, names := testenv.NATS(t)
	natsCfg := queue.ConnConfig{URL: testenv.NATSURL(t), Prefix: names.Prefix}
	log := testenv.Logger(t)

	s := &stack{dbURL: dbURL, stops: map[string]func(){}, js: js, names: names, clock: &shiftClock{Clock: clockwork.NewRealClock()}}
	ready := make(chan net.Addr, 1)
	keys, err := secret.NewKey("e2e")
	require.NoError(t, err)
	as := apifn.DefaultSettings()
	as.Database.URL, as.Host, as.Port, as.ShutdownGrace, as.Secrets.Keys = dbURL, "127.0.0.1", 0, 5*time.Second, keys
	as.Auth.SigningKeys, as.Audit.Keys = testfactory.SigningKey(t), testfactory.AuditKey(t)
	as.Redis.URL, as.Redis.KeyPrefix = testenv.RedisURL(t)
	// Four functions share this process: each admin listener takes a free port of its own.
	as.Admin.Addr = "127.0.0.1:0"
	s.stops["api"] = run(t, "api", func(ctx context.Context) error {
		return apifn.Run(ctx, s.clock, as, log, func(a net.Addr) { ready <- a })
	})
	select {
	case a := <-ready:
		s.apiURL = "http://" + a.String()
		signInAsAdmin(t, dbURL, s.apiURL)
	case <-time.After(testenv.Timeout(30 * time.Second)):
		t.Fatal("api did not start")
	}

	ts := tickfn.DefaultSettings()
	ts.Tick = tickCfg
	ts.Database.URL, ts.NATS, ts.Port, ts.Tick.Instance = dbURL, natsCfg, 0, "e2e"
	ts.Admin.Addr = "127.0.0.1:0"
	s.startTick = func() func() {
		return run(t, "tick", func(ctx context.Context) error { return tickfn.Run(ctx, s.clock, ts, log) })
	}
	s.stops["tick"] = s.startTick()

	hs := httpfn.DefaultSettings()
	hs.Database.URL, hs.NATS, hs.Transport, hs.Executor.WorkerID = dbURL, natsCfg, transport, "e2e-worker"
	hs.Port, hs.Admin.Addr = 0, "127.0.0.1:0"
	hs.Redis.URL, hs.Redis.KeyPrefix = testenv.RedisURL(t)
	hs.Secrets.Keys = keys
	hs.Egress = egress.Loopback() // the targets are test listeners on 127.0.0.1
	for _, mod := range mods {
		mod(&hs)
	}
	if transport == httpfn.TransportPush {
		hs.Port = testenv.FreePort(t)
	}
	s.stops["execute-http"] = run(t, "execute-http", func(ctx context.Context) error { return httpfn.Run(ctx, s.clock, hs, log) })
	ds := dbfn.DefaultSettings()
	ds.Database.URL, ds.NATS, ds.Executor.WorkerID, ds.Port, ds.Admin.Addr = dbURL, natsCfg, "e2e-db-worker", 0, "127.0.0.1:0"
	ds.Redis.URL, ds.Redis.KeyPrefix, ds.Secrets.Keys = hs.Redis.URL, hs.Redis.KeyPrefix, keys
	ds.Egress = egress.Loopback() // the tests' databases are on this host
	s.stops["execute-db"] = run(t, "execute-db", func(ctx context.Context) error {
		return dbfn.Run(ctx, s.clock, ds, []sqljob.Dialect{sqljob.Postgres(), sqljob.MySQL()}, log)
	})
	if transport == httpfn.TransportPush {
		s.pushURL = fmt.Sprintf("http://127.0.0.1:%d/", hs.Port)
		waitHTTP(t, s.pushURL+"readyz")
	}

	st, err := store.Open(t.Context(), store.Config{URL: dbURL})
	require.NoError(t, err)
	t.Cleanup(st.Close)
	s.store = st
	return s
}

// waitHTTP waits until url answers 200.
func waitHTTP(t *testing.T, url string) {
	t.Helper()
	testenv.EventuallyWithin(t, 30*time.Second, url+" ready", func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// waitDrained waits until the stack's due stream holds no message. A message leaves this work
// queue when an executor acknowledges it, after the run and its record: so every fire published
// so far has run, and none reaches a target again unless the tick publishes more.
func waitDrained(t *testing.T, s *stack) {
	t.Helper()
	testenv.AwaitWithin(t, 30*time.Second, "the due stream drained", func() (string, bool) {
		stream, err := s.js.Stream(t.Context(), s.names.DueStream())
		require.NoError(t, err)
		info, err := stream.Info(t.Context())
		require.NoError(t, err)
		return fmt.Sprintf("%d messages", info.State.Msgs), info.State.Msgs == 0
	})
}

func postJSON(t *testing.T, url string, body any, out any) int {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	resp, err := apiClient.Post(url, "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	defer resp.Body.Close()
	if out != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
	return resp.StatusCode
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := apiClient.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
}

// allExecutions reads a job's whole execution history through the API, page by page.
func allExecutions(t *testing.T, apiURL, jobID string) []domain.Execution {
	var all []domain.Execution
	cursor := ""
	for {
		var page struct {
			Items      []domain.Execution `json:"items"`
			NextCursor string             `json:"next_cursor"`
		}
		getJSON(t, apiURL+"/api/v1/jobs/"+jobID+"/executions?limit=7&cursor="+cursor, &page)
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
}

func TestEndToEndPullFiresEveryJobEverySecondOnce(t *testing.T) {
	t.Parallel()
	s := startStack(t, httpfn.TransportPull)
	tg := newTarget(t)

	const jobs = 50
	ids := map[string]bool{}
	creating := time.Now() // the first job may fire before the last is created
	for i := range jobs {
		var j domain.Job
		code := postJSON(t, s.apiURL+"/api/v1/jobs", map[string]any{
			"name":     "e2e-" + strconv.Itoa(i),
			"schedule": map[string]string{"cron": "* * * * * *"},
			"http":     map[string]any{"url": tg.URL + "/hook", "method": "POST", "body": `{"n":` + strconv.Itoa(i) + `}`},
		}, &j)
		require.Equal(t, http.StatusCreated, code)
		require.Equal(t, domain.DefaultTimezone, j.Timezone)
		require.NotNil(t, j.NextRunAt)
		ids[j.ID] = true
	}
	created := time.Now()

	// Run until every job has fired in four seconds of its own.
	testenv.AwaitWithin(t, 30*time.Second, "four seconds of fires of every job", func() (string, bool) {
		secs := map[string]map[int64]bool{}
		for _, r := range tg.requests() {
			if secs[r.jobID] == nil {
				secs[r.jobID] = map[int64]bool{}
			}
			secs[r.jobID][r.scheduledAt.Unix()] = true
		}
		done := 0
		for _, fired := range secs {
			if len(fired) >= 4 {
				done++
			}
		}
		return fmt.Sprintf("%d of %d jobs done", done, jobs), done == jobs
	})
	s.stops["tick"]()
	stopped := time.Now()
	// Let the executor finish what the tick published, then stop the rest.
	waitDrained(t, s)
	s.stops["execute-http"]()

	reqs := tg.requests()
	seen := map[string]bool{}
	perJob := map[string]map[int64]bool{}
	for _, r := range reqs {
		require.False(t, seen[r.key], "Idempotency-Key %s seen twice", r.key)
		seen[r.key] = true
		require.True(t, ids[r.jobID], "request for unknown job %s", r.jobID)
		require.Equal(t, domain.ScheduledKey(r.jobID, r.scheduledAt), r.key)
		if perJob[r.jobID] == nil {
			perJob[r.jobID] = map[int64]bool{}
		}
		perJob[r.jobID][r.scheduledAt.Unix()] = true
	}
	require.Len(t, perJob, jobs, "every job fired")
	first, last := created.Unix()+1, stopped.Unix()-1
	for id, secs := range perJob {
		// Every second between creation and stop fired; the edges may or may not.
		for sec := first; sec <= last; sec++ {
			require.True(t, secs[sec], "job %s missed second %d", id, sec)
		}
		// A stopping tick still publishes what it claimed: fires up to one lookahead ahead.
		latest := stopped.Add(tick.LookaheadDefault).Unix()
		for sec := range secs {
			require.True(t, sec >= creating.Unix() && sec <= latest, "job %s fired at %d outside [%d, %d]", id, sec, creating.Unix(), latest)
		}
	}

	var rows int
	for id := range ids {
		for _, e := range allExecutions(t, s.apiURL, id) {
			rows++
			require.True(t, seen[e.IdempotencyKey], "execution %s has no request at the target", e.IdempotencyKey)
			require.Equal(t, domain.StatusSucceeded, e.Status)
			require.Equal(t, http.StatusOK, e.HTTPStatus)
			require.Equal(t, "ok "+e.IdempotencyKey, e.ResponseExcerpt)
			require.Equal(t, 1, e.Attempt)
			require.NotNil(t, e.FinishedAt)
		}
	}
	require.Equal(t, len(reqs), rows, "one execution row per request")
	t.Logf("%d jobs, %d fires recorded over %s", jobs, rows, stopped.Sub(created).Round(time.Millisecond))
}

// waitQuiet waits until the target has seen no request for a second, counted from the call.
// Tests of a stack wait for its due stream to drain instead (waitDrained), which tells that no
// more will come.
func waitQuiet(t *testing.T, tg *target) {
	t.Helper()
	since := time.Now()
	testenv.EventuallyWithin(t, 30*time.Second, "a second without requests at the target", func() bool {
		last := since
		if reqs := tg.requests(); len(reqs) > 0 && reqs[len(reqs)-1].receivedAt.After(last) {
			last = reqs[len(reqs)-1].receivedAt
		}
		return time.Since(last) >= time.Second
	})
}

func TestEndToEndPushRecordsADuplicateDeliveryOnce(t *testing.T) {
	t.Parallel()
	s := startStack(t, httpfn.TransportPush)
	tg := newTarget(t)

	// The tick claims the fire, and nothing but the test delivers it: the executor is pushed to,
	// and no broker is there.
	j, at := claimedOnceJob(t, s, "pushed", tg.URL)
	key := domain.ScheduledKey(j.ID, at)
	ev, err := event.NewDue(event.DueFor(&j, at, domain.TriggerSchedule, key), "/test/broker")
	require.NoError(t, err)

	executorURL := s.pushURL
	for range 2 {
		require.Equal(t, http.StatusOK, push(t, executorURL, ev))
	}
	reqs := tg.requests()
	require.Len(t, reqs, 1, "the target saw the fire once")
	require.Equal(t, key, reqs[0].key)
	execs := allExecutions(t, s.apiURL, j.ID)
	require.Len(t, execs, 1)
	require.Equal(t, domain.StatusSucceeded, execs[0].Status)

	// A malformed event is refused for good (400), not retried.
	bad := cloudevents.NewEvent()
	bad.SetID("x")
	bad.SetSource("/test")
	bad.SetType("com.example.other")
	require.Equal(t, http.StatusBadRequest, push(t, executorURL, bad))
}

// push delivers ev in binary content mode, as a Knative broker does, and returns the status.
// claimedOnceJob stores a once job due in about a second and waits for the tick to claim its
// fire, which an executor that is pushed to believes only then; in a stack whose executor is
// pushed to, nobody delivers it but the test, as a broker would. It returns the job and the
// fire's instant.
func claimedOnceJob(t *testing.T, s *stack, name, url string) (domain.Job, time.Time) {
	t.Helper()
	j := onceJob(t, s, name, url, map[string]any{"max_attempts": 1})
	testenv.AwaitWithin(t, 30*time.Second, "the tick claims the fire of job "+j.ID, func() (*time.Time, bool) {
		var got domain.Job
		getJSON(t, s.apiURL+"/api/v1/jobs/"+j.ID, &got)
		return got.NextRunAt, got.NextRunAt == nil
	})
	return j, domain.Instant(*j.Schedule.At)
}

func push(t *testing.T, url string, ev cloudevents.Event) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, nil)
	require.NoError(t, err)
	require.NoError(t, cehttp.WriteRequest(t.Context(), binding.ToMessage(&ev), req))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

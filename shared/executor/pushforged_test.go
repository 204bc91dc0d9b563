package executor_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/httpjob"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/sqljob"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// The tests of this file are the attacks on an executor's push endpoint, which in a Knative
// cluster any pod can reach through the ingress or the activator: a made-up due event must not
// run anything the database does not vouch for, nor take the key of a real fire.

// pushTo posts ev to an executor's push endpoint, as a broker would, and returns the status.
func pushTo(t *testing.T, h http.Handler, ev cloudevents.Event) int {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, err := cehttp.NewHTTPRequestFromEvent(t.Context(), srv.URL, ev)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// forged is the due event of j's fire at at, keyed as a scheduled fire, with change applied to
// what the event says of the job.
func forged(t *testing.T, j *domain.Job, at time.Time, trigger domain.Trigger, key string, change func(d *event.Due)) cloudevents.Event {
	t.Helper()
	d := event.DueFor(j, at, trigger, key)
	if change != nil {
		change(&d)
	}
	ev, err := event.NewDue(d, "/forged")
	require.NoError(t, err)
	return ev
}

// recent is an instant the job's claim covers: after it was created, before its next run.
func recent() time.Time { return time.Now().UTC().Add(-10 * time.Second).Truncate(time.Second) }

// newPushFixture is newFixture with the runtime's push endpoint.
func newPushFixture(t *testing.T) (*fixture, http.Handler) {
	t.Helper()
	f := newFixture(t, executor.Config{})
	return f, executor.PushHandler(t.Context(), f.rt.HandlePushed, testenv.Logger(t))
}

// payloadJob stores a job whose request body shows its trigger's payload, sent to a target that
// keeps the bodies it receives, which bodies returns.
func payloadJob(t *testing.T, f *fixture) (j *domain.Job, bodies func() []string) {
	t.Helper()
	var (
		mu   sync.Mutex
		seen []string
	)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, string(b))
		mu.Unlock()
	}))
	t.Cleanup(target.Close)
	j = testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL})
	j = editJob(t, f, j, func(j *domain.Job) {
		j.HTTP = &domain.HTTPSpec{Method: "POST", URL: target.URL, Body: `{"why":"{{ trigger.payload.reason }}"}`}
	})
	return j, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

func requireNoExecution(t *testing.T, f *fixture, key string) {
	t.Helper()
	_, err := f.store.ExecutionByKey(t.Context(), key)
	require.ErrorIs(t, err, domain.ErrNotFound, "nothing recorded under the key: the real fire keeps it")
}

func TestAForgedPushOfAFireNotClaimedYetIsRefused(t *testing.T) {
	t.Parallel()
	legit, legitHits := countingTarget(t, http.StatusOK)
	attacker, attackerHits := countingTarget(t, http.StatusOK)
	f, h := newPushFixture(t)
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: legit.URL})

	// The job fires every second; an hour from now is on its schedule, and no tick claimed it.
	at := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	key := domain.ScheduledKey(j.ID, at)
	for _, ev := range []cloudevents.Event{
		forged(t, j, at, domain.TriggerSchedule, key, nil),
		forged(t, j, at, domain.TriggerSchedule, key, func(d *event.Due) { d.HTTP.URL = attacker.URL }),
	} {
		require.Equal(t, http.StatusBadRequest, pushTo(t, h, ev), "refused for good: a broker does not redeliver it")
	}
	requireNoExecution(t, f, key)
	require.Zero(t, legitHits.Load())
	require.Zero(t, attackerHits.Load())
}

func TestAForgedPushNamingTheJobsVersionRunsTheStoredJob(t *testing.T) {
	t.Parallel()
	legit, legitHits := countingTarget(t, http.StatusOK)
	attacker, attackerHits := countingTarget(t, http.StatusOK)
	f, h := newPushFixture(t)
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: legit.URL, Retry: &domain.RetryPolicy{MaxAttempts: 1}})

	// A fire the claim covers, the job's own version, everything else the attacker's.
	at := recent()
	key := domain.ScheduledKey(j.ID, at)
	ev := forged(t, j, at, domain.TriggerSchedule, key, func(d *event.Due) {
		d.HTTP = &domain.HTTPSpec{Method: "POST", URL: attacker.URL, Body: "{{ var.DB_PASSWORD }}"}
		d.Timeout = domain.Duration(time.Hour)
		d.Retry = domain.RetryPolicy{MaxAttempts: 50}
		d.ConcurrencyPolicy = domain.ConcurrencyAllow
		d.Forced = true
	})
	require.Equal(t, http.StatusOK, pushTo(t, h, ev))
	require.Equal(t, int32(1), legitHits.Load(), "the job as stored ran")
	require.Zero(t, attackerHits.Load())
	e, err := f.store.ExecutionByKey(t.Context(), key)
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, e.Status)
	require.Equal(t, j.Version, e.JobVersion)
	require.False(t, e.Forced, "force is the record's, not the event's")
}

func TestAForgedPushOfAManualFireIsRefused(t *testing.T) {
	t.Parallel()
	attacker, attackerHits := countingTarget(t, http.StatusOK)
	f, h := newPushFixture(t)
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: attacker.URL})

	at := time.Now().UTC().Add(-time.Second)
	for _, trigger := range []domain.Trigger{domain.TriggerManual, domain.TriggerEvent, domain.TriggerWebhook,
		domain.TriggerChain, domain.TriggerBackfill, domain.TriggerReplay} {
		key := j.ID + ":" + string(trigger) + ":" + uuid.NewString()
		require.Equal(t, http.StatusBadRequest, pushTo(t, h, forged(t, j, at, trigger, key, nil)), trigger)
		requireNoExecution(t, f, key)
	}
	require.Zero(t, attackerHits.Load(), "no made-up run of the job either")
}

func TestAForgedPushOfAnInstantOffTheScheduleIsRefused(t *testing.T) {
	t.Parallel()
	target, hits := countingTarget(t, http.StatusOK)
	f, h := newPushFixture(t)
	// New Year's only: the claim covers every instant before the next run, the schedule's few.
	next := time.Date(time.Now().Year()+1, 1, 1, 0, 0, 0, 0, time.UTC)
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL, Cron: "0 0 0 1 1 *", NextRunAt: next})
	j.Timezone = "UTC"
	at := recent()
	key := domain.ScheduledKey(j.ID, at)
	require.Equal(t, http.StatusBadRequest, pushTo(t, h, forged(t, j, at, domain.TriggerSchedule, key, nil)))
	requireNoExecution(t, f, key)
	require.Zero(t, hits.Load())
}

func TestAPushNamingAJobOfAnotherKindIsRefused(t *testing.T) {
	t.Parallel()
	attacker, attackerHits := countingTarget(t, http.StatusOK)
	f, h := newPushFixture(t)
	sqlJob := testfactory.Job(t, f.store, testfactory.JobOpts{Kind: domain.KindSQL})
	at := recent()
	key := domain.ScheduledKey(sqlJob.ID, at)
	// To the HTTP executor, as an HTTP job: the event says so, the database does not.
	ev := forged(t, sqlJob, at, domain.TriggerSchedule, key, func(d *event.Due) {
		d.Kind, d.SQL, d.HTTP = domain.KindHTTP, nil, &domain.HTTPSpec{Method: "GET", URL: attacker.URL}
	})
	require.Equal(t, http.StatusBadRequest, pushTo(t, h, ev))
	requireNoExecution(t, f, key)
	require.Zero(t, attackerHits.Load())
}

func TestAPushedRetryOfADeletedJobIsNotRunAndItsRecordEnds(t *testing.T) {
	t.Parallel()
	target, hits := countingTarget(t, http.StatusBadGateway)
	f := newFixture(t, executor.Config{})
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL,
		Retry: &domain.RetryPolicy{MaxAttempts: 3, Backoff: []domain.Duration{domain.Duration(time.Hour)}}})
	at := recent()
	ev := dueEvent(t, j, at)
	require.Error(t, f.rt.HandlePushed(t.Context(), ev), "attempt 1 failed, a retry is due")
	require.NoError(t, f.store.DeleteJob(t.Context(), j.ID))

	err := f.rt.HandlePushed(t.Context(), ev)
	require.ErrorContains(t, err, "does not exist")
	require.Equal(t, int32(1), hits.Load(), "what the event says of a deleted job is never run")
	e, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
	require.NoError(t, err)
	require.Equal(t, domain.StatusCancelled, e.Status, "not left queued for a delivery that is never believed")
	require.Contains(t, e.Error, "deleted")
}

func TestAPushedManualRunTakesThePayloadItWasQueuedWith(t *testing.T) {
	t.Parallel()
	f, h := newPushFixture(t)
	j, bodies := payloadJob(t, f)
	queued, _, err := jobs.New(f.store, f.clock.Now).Trigger(t.Context(), f.store, j, jobs.RunNow{Payload: []byte(`{"reason":"month end"}`)})
	require.NoError(t, err)

	fires, err := f.store.DueQueued(t.Context(), time.Now().Add(time.Second), 10)
	require.NoError(t, err)
	require.Len(t, fires, 1)
	var d event.Due
	require.NoError(t, json.Unmarshal(fires[0].Payload, &d))
	d.Payload = json.RawMessage(`{"reason":"forged"}`)
	ev, err := event.NewDue(d, "/forged")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, pushTo(t, h, ev))

	e, err := f.store.ExecutionByKey(t.Context(), queued.IdempotencyKey)
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, e.Status)
	require.Equal(t, []string{`{"why":"month end"}`}, bodies(), "the payload the run was queued with")
}

func TestAForgedPushedSQLFireRunsTheStoredStatements(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	policy, err := egress.New(egress.Loopback())
	require.NoError(t, err)
	runner, err := sqljob.New(clockwork.NewRealClock(), []sqljob.Dialect{sqljob.Postgres()}, policy,
		testenv.PostgresIdentity(t, testenv.PostgresURL(t)), sqljob.Config{})
	require.NoError(t, err)
	t.Cleanup(runner.Close)
	rt, err := executor.New(domain.KindSQL, "execute-db", executor.Deps{Store: st, Runner: runner,
		Publisher: queue.NewPublisher(js), Names: names, Clock: clockwork.NewRealClock(), Log: testenv.Logger(t)}, executor.Config{})
	require.NoError(t, err)
	h := executor.PushHandler(t.Context(), rt.HandlePushed, testenv.Logger(t))

	target := testenv.PostgresTargetURL(t)
	j := testfactory.Job(t, st, testfactory.JobOpts{Kind: domain.KindSQL, Retry: &domain.RetryPolicy{MaxAttempts: 1}})
	edited := *j
	edited.SQL = &domain.SQLSpec{Driver: domain.DriverPostgres, DSN: target, Statements: []domain.SQLStatement{{SQL: "SELECT 1"}}}
	j, err = st.UpdateJob(t.Context(), &edited, j.Version, false, time.Now().UTC())
	require.NoError(t, err)

	table := "pwned_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	at := recent()
	key := domain.ScheduledKey(j.ID, at)
	ev := forged(t, j, at, domain.TriggerSchedule, key, func(d *event.Due) {
		d.SQL = &domain.SQLSpec{Driver: domain.DriverPostgres, DSN: target,
			Statements: []domain.SQLStatement{{SQL: "CREATE TABLE " + table + " (x int)"}}}
	})
	require.Equal(t, http.StatusOK, pushTo(t, h, ev))
	e, err := st.ExecutionByKey(t.Context(), key)
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, e.Status, e.Error)

	conn, err := pgx.Connect(t.Context(), target)
	require.NoError(t, err)
	defer conn.Close(t.Context())
	var exists bool
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists))
	require.False(t, exists, "the event's statement never ran")
}

func TestRefusedPushesAreCountedAndLoggedAtMostOnceAMinute(t *testing.T) {
	t.Parallel()
	reg, err := metric.New(metric.Config{Function: "execute-http"})
	require.NoError(t, err)
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	clock := clockwork.NewFakeClockAt(time.Now().UTC())
	runner := httpjob.New(clock, httpjob.Config{}, egress.LoopbackPolicy())
	t.Cleanup(runner.Close)
	logs := &testenv.LogBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	rt, err := executor.New(domain.KindHTTP, "execute-http", executor.Deps{Store: st, Runner: runner,
		Publisher: queue.NewPublisher(js), Names: names, Clock: clock, Log: log, Metrics: reg}, executor.Config{})
	require.NoError(t, err)
	h := executor.PushHandler(t.Context(), rt.HandlePushed, log)
	j := testfactory.Job(t, st, testfactory.JobOpts{})

	const n = 5
	for i := range n {
		at := time.Now().UTC().Add(time.Hour + time.Duration(i)*time.Second).Truncate(time.Second)
		require.Equal(t, http.StatusBadRequest, pushTo(t, h, forged(t, j, at, domain.TriggerSchedule, domain.ScheduledKey(j.ID, at), nil)))
	}
	require.Equal(t, map[string]float64{"kind=http,reason=not_handed_out": n},
		series(t, reg, metric.PushRefusals, map[string]string{"kind": "http", "reason": metric.PushRefusedNotHanded}))
	require.Equal(t, 1, strings.Count(logs.String(), "refused a pushed due event"), logs.String())
	require.NotContains(t, logs.String(), "pushed event not settled", "a refusal is not logged twice")

	clock.Advance(time.Minute)
	at := time.Now().UTC().Add(2 * time.Hour).Truncate(time.Second)
	require.Equal(t, http.StatusBadRequest, pushTo(t, h, forged(t, j, at, domain.TriggerSchedule, domain.ScheduledKey(j.ID, at), nil)))
	require.Equal(t, 2, strings.Count(logs.String(), "refused a pushed due event"))
	require.Contains(t, logs.String(), `"refused_since_last_line":5`)
}

func TestAForgedPushUnderAnotherJobsKeyIsRefused(t *testing.T) {
	t.Parallel()
	target, hits := countingTarget(t, http.StatusOK)
	f, h := newPushFixture(t)
	a := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL})
	b := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL, Cron: "0 0 0 1 1 *",
		NextRunAt: time.Now().UTC().Add(time.Hour).Truncate(time.Second)})
	// A's claim covers the instant; the key is B's fire there, which B's real fire would need.
	at := recent()
	bKey := domain.ScheduledKey(b.ID, at)
	for _, key := range []string{bKey, a.ID + ":" + "00" + strings.TrimPrefix(domain.ScheduledKey(a.ID, at), a.ID+":")} {
		require.Equal(t, http.StatusBadRequest, pushTo(t, h, forged(t, a, at, domain.TriggerSchedule, key, nil)), key)
		requireNoExecution(t, f, key)
	}
	// A job id in another of the forms a UUID parser takes is refused before the database sees
	// it: the database takes none of them, and the batch it joined would fail with it.
	for _, id := range []string{"{" + a.ID + "}", "urn:uuid:" + a.ID, strings.ToUpper(a.ID)} {
		other := *a
		other.ID = id
		key := domain.ScheduledKey(id, at)
		require.Equal(t, http.StatusBadRequest, pushTo(t, h, forged(t, &other, at, domain.TriggerSchedule, key, nil)), id)
	}
	// A NUL in the key (a structured event: no header holds one) is refused before the
	// database sees it.
	ev := forged(t, a, at, domain.TriggerManual, a.ID+":manual:x\x00y", nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, err := cehttp.NewHTTPRequestFromEvent(cloudevents.WithEncodingStructured(t.Context()), srv.URL, ev)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Zero(t, hits.Load())
}

func TestAPushedScheduledFireHasNoPayload(t *testing.T) {
	t.Parallel()
	f, h := newPushFixture(t)
	j, bodies := payloadJob(t, f)
	at := recent()
	ev := forged(t, j, at, domain.TriggerSchedule, domain.ScheduledKey(j.ID, at), func(d *event.Due) {
		d.Payload = json.RawMessage(`{"reason":"forged"}`)
	})
	require.Equal(t, http.StatusOK, pushTo(t, h, ev))
	e, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
	require.NoError(t, err)
	require.Contains(t, e.Error, "payload", "a tick's fire has no payload for the template to read")
	require.Empty(t, bodies(), "the made-up payload reached nobody")
}

func TestAPushedRunNotDueYetIsRefused(t *testing.T) {
	t.Parallel()
	target, hits := countingTarget(t, http.StatusOK)
	f, h := newPushFixture(t)
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL})
	// A run queued to be published in an hour (a debounced event, say): recorded, not sent.
	now := time.Now().UTC()
	key := domain.Key(j.ID, domain.TriggerManual, now, uuid.NewString())
	d := event.DueFor(j, domain.Instant(now), domain.TriggerManual, key)
	data, err := json.Marshal(d)
	require.NoError(t, err)
	_, _, err = f.store.QueueManual(t.Context(), store.ManualRun{
		Execution: &domain.Execution{ID: uuid.NewString(), JobID: j.ID, JobVersion: j.Version, IdempotencyKey: key,
			Trigger: domain.TriggerManual, ScheduledAt: d.ScheduledAt, Status: domain.StatusQueued},
		Fire: domain.Fire{Key: key, JobID: j.ID, Kind: j.Kind, Trigger: domain.TriggerManual, ScheduledAt: d.ScheduledAt,
			PublishAt: now.Add(time.Hour), Payload: data},
		Namespace: j.Namespace,
	}, now)
	require.NoError(t, err)
	ev, err := event.NewDue(d, "/forged")
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, pushTo(t, h, ev))
	e, err := f.store.ExecutionByKey(t.Context(), key)
	require.NoError(t, err)
	require.Equal(t, domain.StatusQueued, e.Status, "it waits for its turn")
	require.Zero(t, hits.Load())
}

func TestAPushedFireOfAOnceJobIsBelievedAfterItsClaim(t *testing.T) {
	t.Parallel()
	target, hits := countingTarget(t, http.StatusOK)
	f, h := newPushFixture(t)
	at := recent()
	// Claimed: a once job has no next run left, which is all the claim leaves to see.
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL, Waiting: true,
		Schedule: &domain.Schedule{Kind: domain.ScheduleOnce, At: &at}})
	require.Equal(t, http.StatusOK, pushTo(t, h, forged(t, j, at, domain.TriggerSchedule, domain.ScheduledKey(j.ID, at), nil)))
	require.Equal(t, int32(1), hits.Load())
	// Any other instant is not its fire.
	other := at.Add(-time.Second)
	require.Equal(t, http.StatusBadRequest, pushTo(t, h, forged(t, j, other, domain.TriggerSchedule, domain.ScheduledKey(j.ID, other), nil)))
	require.Equal(t, int32(1), hits.Load())
}

func TestAPushedFireThatIsTheJobsNextRunIsBelieved(t *testing.T) {
	t.Parallel()
	target, hits := countingTarget(t, http.StatusOK)
	f, h := newPushFixture(t)
	// Claimed, then claimed again after an edit set the next run back to it: the job's next run
	// is the fire's own instant, and the first publication is the one that arrives.
	at := time.Now().UTC().Add(1500 * time.Millisecond).Truncate(time.Second)
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL, NextRunAt: at})
	f.clock.Advance(at.Sub(f.clock.Now()) + time.Millisecond) // the fire is due
	require.Equal(t, http.StatusOK, pushTo(t, h, forged(t, j, at, domain.TriggerSchedule, domain.ScheduledKey(j.ID, at), nil)))
	require.Equal(t, int32(1), hits.Load())
	// The next run a minute or more away vouches for nothing yet.
	later := at.Add(2 * time.Minute)
	k := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL, NextRunAt: later})
	require.Equal(t, http.StatusBadRequest, pushTo(t, h, forged(t, k, later, domain.TriggerSchedule, domain.ScheduledKey(k.ID, later), nil)))
	require.Equal(t, int32(1), hits.Load())
}

// BenchmarkHandlePushed is what believing only the database costs a pushed fire: the same fires,
// one at a time, handled as pulled from JetStream and as pushed (confirmed against the
// database first), on a real database and broker.
func BenchmarkHandlePushed(b *testing.B) {
	for _, pushed := range []bool{false, true} {
		name := map[bool]string{false: "pulled", true: "pushed"}[pushed]
		b.Run(name, func(b *testing.B) {
			st, _ := testfactory.Store(b)
			_, js, names := testenv.NATS(b)
			clock := clockwork.NewRealClock()
			runner := httpjob.New(clock, httpjob.Config{}, egress.LoopbackPolicy())
			b.Cleanup(runner.Close)
			rt, err := executor.New(domain.KindHTTP, "execute-http", executor.Deps{Store: st, Runner: runner,
				Publisher: queue.NewPublisher(js), Names: names, Clock: clock, Log: testenv.Logger(b)}, executor.Config{})
			require.NoError(b, err)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			b.Cleanup(srv.Close)
			// Fires the claim covers: the seconds before each job's next run, since it was made.
			const perJob = 50
			now := time.Now().UTC().Truncate(time.Second)
			evs := make([]cloudevents.Event, 0, b.N)
			for len(evs) < b.N {
				j := testfactory.Job(b, st, testfactory.JobOpts{URL: srv.URL, NextRunAt: now.Add(time.Hour)})
				for k := 1; k <= perJob && len(evs) < b.N; k++ {
					at := now.Add(-time.Duration(k) * time.Second)
					ev, err := event.NewDue(event.DueFor(j, at, domain.TriggerSchedule, domain.ScheduledKey(j.ID, at)), "/bench")
					require.NoError(b, err)
					evs = append(evs, ev)
				}
			}
			handle := rt.Handle
			if pushed {
				handle = rt.HandlePushed
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := handle(context.Background(), evs[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package watchdog_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/httpjob"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/tick"
	"github.com/vecron/vecron/shared/watchdog"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// fixture is a watchdog on a store, stream names and metrics of the test's own, on a clock that
// moves only when the test moves it.
type fixture struct {
	st    *store.Store
	js    jetstream.JetStream
	names event.Names
	clock *clockwork.FakeClock
	reg   *metric.Registry
	wd    *watchdog.Watchdog
	// hooked collects what the alerting hook was given.
	hooked [][]domain.MissedFire
}

func newFixture(t *testing.T, at time.Time) *fixture {
	t.Helper()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	f := &fixture{st: st, js: js, names: names, clock: clockwork.NewFakeClockAt(at), reg: newRegistry(t)}
	wd, err := watchdog.New(watchdog.Deps{Store: st, Stream: queue.NewInspector(js, names), Clock: f.clock,
		Log: testenv.Logger(t), Metrics: f.reg, OnMissed: func(_ context.Context, _ pgx.Tx, fires []domain.MissedFire) error {
			f.hooked = append(f.hooked, fires)
			return nil
		}}, watchdog.Config{})
	require.NoError(t, err)
	f.wd = wd
	return f
}

// pass moves the clock by d and runs a pass, which must be this replica's.
func (f *fixture) pass(t *testing.T, d time.Duration) []domain.MissedFire {
	t.Helper()
	f.clock.Advance(d)
	got, err := f.wd.Pass(t.Context())
	require.NoError(t, err)
	return got
}

func (f *fixture) missed(t *testing.T, jobID string) []domain.MissedFire {
	t.Helper()
	list, err := f.st.MissedFires(t.Context(), jobID, time.Time{}, time.Time{}, nil, 100)
	require.NoError(t, err)
	return list
}

// counted is what the registry's vecron_missed_fires_total says for stage.
func (f *fixture) counted(t *testing.T, stage domain.MissedStage) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "vecron_missed_fires_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if l := m.GetLabel(); len(l) == 1 && l[0].GetValue() == string(stage) {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no vecron_missed_fires_total{stage=%q}", stage)
	return 0
}

// A job whose next run is past its grace with no tick running is recorded unclaimed once, however
// many passes see it, and counted once; a job with a longer grace is not yet.
func TestUnclaimedIsRecordedOnceAndCounted(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	f := newFixture(t, now)
	due := now.Add(-2 * time.Minute)
	j := testfactory.Job(t, f.st, testfactory.JobOpts{NextRunAt: due})
	patient := testfactory.Job(t, f.st, testfactory.JobOpts{NextRunAt: due, MissedAfter: 5 * time.Minute})

	got := f.pass(t, 0)
	require.Len(t, got, 1)
	require.Equal(t, domain.MissedUnclaimed, got[0].Stage)
	require.Equal(t, domain.ScheduledKey(j.ID, due), got[0].Key)
	require.Equal(t, due, got[0].ScheduledAt)

	require.Empty(t, f.pass(t, watchdog.IntervalDefault), "a second pass records the same fire again")
	require.Len(t, f.missed(t, j.ID), 1)
	require.Equal(t, 1.0, f.counted(t, domain.MissedUnclaimed))
	require.Len(t, f.hooked, 1, "the hook sees each fire once")

	// Past its own grace, the patient job is flagged too.
	got = f.pass(t, 3*time.Minute)
	require.Len(t, got, 1)
	require.Equal(t, patient.ID, got[0].JobID)
	require.Equal(t, 2.0, f.counted(t, domain.MissedUnclaimed))
}

// Replicas take turns: within an interval, only the first asks; recording the same fires twice
// stores them once.
func TestPassesTakeTurnsAndRecordOnce(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	f := newFixture(t, now)
	other, err := watchdog.New(watchdog.Deps{Store: f.st, Clock: f.clock, Log: testenv.Logger(t)}, watchdog.Config{})
	require.NoError(t, err)
	testfactory.Job(t, f.st, testfactory.JobOpts{NextRunAt: now.Add(-2 * time.Minute)})
	require.Len(t, f.pass(t, 0), 1)
	got, err := other.Pass(t.Context())
	require.NoError(t, err)
	require.Empty(t, got, "a second replica within the interval does not look")

	fire := domain.MissedFire{Key: "k1", JobID: testfactory.Job(t, f.st, testfactory.JobOpts{}).ID, Namespace: "default",
		ScheduledAt: now, DetectedAt: now, Stage: domain.MissedUndelivered}
	first, err := f.st.RecordMissedFires(t.Context(), []domain.MissedFire{fire, fire}, nil)
	require.NoError(t, err)
	require.Len(t, first, 1)
	again, err := f.st.RecordMissedFires(t.Context(), []domain.MissedFire{fire}, nil)
	require.NoError(t, err)
	require.Empty(t, again)
}

// A fire claimed into the outbox and never acknowledged by the broker is recorded unpublished.
func TestUnpublishedFromTheOutbox(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	f := newFixture(t, now)
	j := testfactory.Job(t, f.st, testfactory.JobOpts{NextRunAt: now, Cron: "0 0 0 1 1 *"})
	planner := tick.Planner{Now: now, Horizon: now, MisfireThreshold: time.Minute, MaxFires: 10}
	fires, _, _, err := f.st.ClaimDue(t.Context(), now, nil, now, 10, planner.Plan)
	require.NoError(t, err)
	require.Len(t, fires, 1)

	require.Empty(t, f.pass(t, 30*time.Second), "within the grace")
	got := f.pass(t, 31*time.Second)
	require.Len(t, got, 1)
	require.Equal(t, domain.MissedUnpublished, got[0].Stage)
	require.Equal(t, domain.ScheduledKey(j.ID, now), got[0].Key)
	require.Equal(t, 1.0, f.counted(t, domain.MissedUnpublished))
}

// A catch-up fire claimed long after its instant (a tick back from an outage) waits in the
// outbox under that old instant: its grace runs from the claim, as a stream fire's runs from
// its publication, so a pass in the moment before the relay publishes it records nothing.
func TestUnpublishedGraceRunsFromTheClaim(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Minute)
	f := newFixture(t, now)
	testfactory.Job(t, f.st, testfactory.JobOpts{NextRunAt: now.Add(-30 * time.Minute), Cron: "0 * * * * *"})
	planner := tick.Planner{Now: now, Horizon: now, MisfireThreshold: time.Minute, MaxFires: 10}
	fires, _, _, err := f.st.ClaimDue(t.Context(), now, nil, now, 10, planner.Plan)
	require.NoError(t, err)
	require.NotEmpty(t, fires)
	require.True(t, fires[0].ScheduledAt.Before(now.Add(-time.Minute)), "a catch-up of an instant past its grace")

	require.Empty(t, f.pass(t, time.Second), "claimed a second ago, the relay may be publishing it")
	got := f.pass(t, time.Minute)
	require.Len(t, got, len(fires), "past the grace from the claim, never acknowledged")
	require.Equal(t, domain.MissedUnpublished, got[0].Stage)
}

// publishDue publishes the due fire of j at at as the tick does.
func publishDue(t *testing.T, f *fixture, j *domain.Job, at time.Time) string {
	at = domain.Instant(at)
	t.Helper()
	key := domain.ScheduledKey(j.ID, at)
	ev, err := event.NewDue(event.DueFor(j, at, domain.TriggerSchedule, key), "/test")
	require.NoError(t, err)
	msg, err := event.ToNATS(t.Context(), ev)
	require.NoError(t, err)
	require.NoError(t, queue.NewPublisher(f.js).Publish(t.Context(), queue.Message{Subject: f.names.DueSubject(j.Kind), MsgID: key, Msg: msg}))
	return key
}

// A fire an executor took and never started — delivered, never acknowledged, no execution — is
// recorded unacknowledged, naming the consumer and the stream sequence.
func TestDeliveredNotStartedIsUnacknowledged(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	f := newFixture(t, now)
	j := testfactory.Job(t, f.st, testfactory.JobOpts{NextRunAt: now.Add(time.Hour)})
	at := now.Add(-time.Second)
	key := publishDue(t, f, j, at)
	// A stuck executor: it fetched the fire and does nothing with it.
	c, err := f.js.CreateOrUpdateConsumer(t.Context(), f.names.DueStream(), jetstream.ConsumerConfig{
		Durable: f.names.DueConsumer(domain.KindHTTP), FilterSubject: f.names.DueSubject(domain.KindHTTP),
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Hour})
	require.NoError(t, err)
	batch, err := c.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	require.NoError(t, err)
	for range batch.Messages() {
	}
	require.NoError(t, batch.Error())

	got := f.pass(t, 2*time.Minute)
	require.Len(t, got, 1)
	require.Equal(t, domain.MissedUnacknowledged, got[0].Stage)
	require.Equal(t, key, got[0].Key)
	require.Equal(t, f.names.DueConsumer(domain.KindHTTP), got[0].Consumer)
	require.Equal(t, uint64(1), got[0].StreamSeq)
	rec, err := f.st.MissedFire(t.Context(), key)
	require.NoError(t, err)
	require.Equal(t, got[0].Consumer, rec.Consumer)
	require.Equal(t, j.Namespace, rec.Namespace)
}

// startExecutor runs an http executor on the due stream until the test ends.
func startExecutor(t *testing.T, f *fixture) {
	t.Helper()
	clock := clockwork.NewRealClock()
	runner := httpjob.New(clock, httpjob.Config{}, egress.LoopbackPolicy())
	t.Cleanup(runner.Close)
	rt, err := executor.New(domain.KindHTTP, "execute-http", executor.Deps{Store: f.st, Runner: runner,
		Publisher: queue.NewPublisher(f.js), Names: f.names, Clock: clock, Log: testenv.Logger(t)}, executor.Config{})
	require.NoError(t, err)
	p, err := queue.NewPuller(f.js, f.names, domain.KindHTTP, rt.Handle, clock, queue.PullerConfig{}, testenv.Logger(t))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
}

// runTick runs a tick on the wall clock until fires of jobs have reached the due stream.
func runTick(t *testing.T, f *fixture, until func() bool) {
	t.Helper()
	e, err := tick.New(f.st, queue.NewPublisher(f.js), f.names, clockwork.NewRealClock(), testenv.Logger(t), tick.Config{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	testenv.Eventually(t, "fires published", until)
	cancel()
	require.NoError(t, <-done)
}

func streamHolds(t *testing.T, f *fixture, n uint64) func() bool {
	return func() bool {
		s, err := f.js.Stream(t.Context(), f.names.DueStream())
		require.NoError(t, err)
		info, err := s.Info(t.Context())
		require.NoError(t, err)
		return info.State.Msgs >= n
	}
}

func target(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	return srv
}

// The executors stopped: a job due every second fires, nothing takes its fires, and the watchdog
// records each undelivered past the grace (and the job unclaimed, the tick being stopped too).
// Once an executor runs, the fires run late and their records stay, with when they started.
func TestExecutorsStoppedThenRecovering(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.Now().UTC())
	j := testfactory.Job(t, f.st, testfactory.JobOpts{Cron: "* * * * * *", URL: target(t).URL + "/run"})
	runTick(t, f, streamHolds(t, f, 2))

	got := f.pass(t, 2*time.Minute)
	stages := map[domain.MissedStage][]domain.MissedFire{}
	for _, m := range got {
		require.Equal(t, j.ID, m.JobID)
		stages[m.Stage] = append(stages[m.Stage], m)
	}
	require.GreaterOrEqual(t, len(stages[domain.MissedUndelivered]), 2, "every published fire: %v", got)
	require.Len(t, stages[domain.MissedUnclaimed], 1, "the stopped tick: %v", got)
	for _, m := range stages[domain.MissedUndelivered] {
		require.Equal(t, domain.ScheduledKey(j.ID, m.ScheduledAt), m.Key)
		require.NotZero(t, m.StreamSeq)
		require.Empty(t, m.Consumer, "no executor ever made its consumer")
	}
	require.Equal(t, float64(len(stages[domain.MissedUndelivered])), f.counted(t, domain.MissedUndelivered))

	startExecutor(t, f)
	testenv.Eventually(t, "the late fires run", func() bool { return !streamHolds(t, f, 1)() })
	f.pass(t, watchdog.IntervalDefault)
	list := f.missed(t, j.ID)
	require.Len(t, list, len(got), "the records stay")
	for _, m := range list {
		if m.Stage == domain.MissedUndelivered {
			require.NotNil(t, m.StartedAt, "the late start is noted: %+v", m)
			require.NotEmpty(t, m.ExecutionID)
			require.NotEmpty(t, m.ExecutionStatus)
			require.False(t, m.StartedAt.Before(m.ScheduledAt))
		}
	}
}

// Fires that went through are never recorded, however long after they are looked at.
func TestHealthyFiresAreNotRecorded(t *testing.T) {
	t.Parallel()
	f := newFixture(t, time.Now().UTC())
	j := testfactory.Job(t, f.st, testfactory.JobOpts{Cron: "* * * * * *", URL: target(t).URL + "/run"})
	startExecutor(t, f)
	ran := func() bool {
		list, err := f.st.ListExecutions(t.Context(), j.ID, domain.ExecutionFilter{}, nil, 10)
		require.NoError(t, err)
		return len(list) >= 2 && !slices.ContainsFunc(list, func(e *domain.Execution) bool { return e.Status == domain.StatusRunning })
	}
	runTick(t, f, ran)
	// Paused, so that the stopped tick is not what the pass finds.
	_, err := f.st.SetEnabled(t.Context(), j.ID, false, nil, time.Now())
	require.NoError(t, err)
	testenv.Eventually(t, "the stream drains", func() bool { return !streamHolds(t, f, 1)() })

	require.Empty(t, f.pass(t, 2*time.Minute))
	require.Empty(t, f.missed(t, j.ID))
}

// A fire published long after its instant — a backfill's, a catch-up's — gets its grace from its
// publication: it is not missed while an executor may still be taking it.
func TestGraceRunsFromPublication(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	f := newFixture(t, now)
	j := testfactory.Job(t, f.st, testfactory.JobOpts{NextRunAt: now.Add(time.Hour)})
	key := publishDue(t, f, j, domain.Instant(now.Add(-time.Hour)))

	require.Empty(t, f.pass(t, 30*time.Second), "published 30s ago, within the grace")
	got := f.pass(t, 40*time.Second)
	require.Len(t, got, 1)
	require.Equal(t, key, got[0].Key)
	require.Equal(t, domain.MissedUndelivered, got[0].Stage)
}

// A fire whose attempt failed and waits in the stream for its retry (its execution back to
// queued, attempt 1 done) has started: it is not recorded missed however long its back-off.
func TestAFireWaitingForItsRetryIsNotMissed(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	f := newFixture(t, now)
	j := testfactory.Job(t, f.st, testfactory.JobOpts{NextRunAt: now.Add(time.Hour)})
	at := domain.Instant(now.Add(-time.Second))
	key := publishDue(t, f, j, at)
	started := now
	e := &domain.Execution{ID: uuid.NewString(), JobID: j.ID, JobVersion: j.Version, IdempotencyKey: key, Trigger: domain.TriggerSchedule,
		ScheduledAt: at, StartedAt: &started, Status: domain.StatusRunning, Attempt: 1, WorkerID: "w1"}
	_, err := f.st.StartExecution(t.Context(), e, store.StartParams{StaleAfter: time.Hour})
	require.NoError(t, err)
	finished, retryAt := now.Add(time.Second), now.Add(10*time.Minute)
	e.Status, e.FinishedAt, e.NextAttemptAt, e.Error = domain.StatusQueued, &finished, &retryAt, "target answered 503"
	require.NoError(t, f.st.FinishExecution(t.Context(), e, &domain.Attempt{Attempt: 1, StartedAt: &started, FinishedAt: finished,
		Status: domain.StatusFailed, Error: "target answered 503", WorkerID: "w1"}))

	require.Empty(t, f.pass(t, 3*time.Minute), "waiting for its retry, not missed")
	require.Empty(t, f.missed(t, j.ID))
}

// A backlog larger than a pass's limit is recorded a limit at a time, oldest first, each fire
// once: later passes go on where the earlier ones stopped.
func TestBacklogBeyondTheLimitIsRecordedInTurn(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	f := newFixture(t, now)
	wd, err := watchdog.New(watchdog.Deps{Store: f.st, Stream: queue.NewInspector(f.js, f.names), Clock: f.clock, Log: testenv.Logger(t)},
		watchdog.Config{Limit: 2})
	require.NoError(t, err)
	var keys []string
	for i := range 3 {
		j := testfactory.Job(t, f.st, testfactory.JobOpts{NextRunAt: now.Add(-time.Duration(10-i) * time.Minute)})
		keys = append(keys, domain.ScheduledKey(j.ID, *j.NextRunAt), publishDue(t, f, j, now.Add(-time.Duration(20-i)*time.Minute)))
	}
	var seen []string
	f.clock.Advance(2 * time.Minute) // past the grace of the publications too
	for _, want := range []int{4, 2, 0} {
		f.clock.Advance(watchdog.IntervalDefault)
		got, err := wd.Pass(t.Context())
		require.NoError(t, err)
		require.Len(t, got, want)
		for _, m := range got {
			seen = append(seen, m.Key)
		}
	}
	require.ElementsMatch(t, keys, seen)
}

// What the alerting hook refuses is not recorded, nor counted: the next pass records it.
func TestAFailingHookRecordsNothing(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	f := newFixture(t, now)
	reg := newRegistry(t)
	fail := true
	wd, err := watchdog.New(watchdog.Deps{Store: f.st, Clock: f.clock, Log: testenv.Logger(t), Metrics: reg,
		OnMissed: func(context.Context, pgx.Tx, []domain.MissedFire) error {
			if fail {
				return errors.New("alerts unavailable")
			}
			return nil
		}}, watchdog.Config{})
	require.NoError(t, err)
	j := testfactory.Job(t, f.st, testfactory.JobOpts{NextRunAt: now.Add(-2 * time.Minute)})
	got, err := wd.Pass(t.Context())
	require.ErrorContains(t, err, "alerts unavailable")
	require.Empty(t, got)
	require.Empty(t, f.missed(t, j.ID))

	fail = false
	f.clock.Advance(watchdog.IntervalDefault)
	got, err = wd.Pass(t.Context())
	require.NoError(t, err)
	require.Len(t, got, 1)
}

// A fire in the due stream whose record failed (the hook refused, the database blinked) is
// judged again by the next pass: the pass does not step past what it could not record.
func TestAFailedRecordOfAStreamFireIsTriedAgain(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	f := newFixture(t, now)
	fail := true
	wd, err := watchdog.New(watchdog.Deps{Store: f.st, Stream: queue.NewInspector(f.js, f.names), Clock: f.clock, Log: testenv.Logger(t),
		OnMissed: func(context.Context, pgx.Tx, []domain.MissedFire) error {
			if fail {
				return errors.New("alerts unavailable")
			}
			return nil
		}}, watchdog.Config{})
	require.NoError(t, err)
	j := testfactory.Job(t, f.st, testfactory.JobOpts{NextRunAt: now.Add(time.Hour)})
	key := publishDue(t, f, j, now.Add(-time.Minute))
	f.clock.Advance(2 * time.Minute)
	_, err = wd.Pass(t.Context())
	require.ErrorContains(t, err, "alerts unavailable")

	fail = false
	f.clock.Advance(watchdog.IntervalDefault)
	got, err := wd.Pass(t.Context())
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, key, got[0].Key)
}

// Messages in the due stream that are not fires — no id, a subject that is no job id, no
// instant — are stepped over; the fires behind them are still judged.
func TestForeignMessagesInTheStreamAreSteppedOver(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	f := newFixture(t, now)
	for _, h := range []nats.Header{
		{},
		{"Nats-Msg-Id": {"x:1"}, "ce-subject": {"'; DROP TABLE jobs; --"}, "ce-time": {now.Format(time.RFC3339)}},
		{"Nats-Msg-Id": {"x:2"}, "ce-subject": {"01a24a1b-90e6-7298-ade7-0377b6481993"}, "ce-time": {"yesterday"}},
	} {
		_, err := f.js.PublishMsg(t.Context(), &nats.Msg{Subject: f.names.DueSubject(domain.KindHTTP), Header: h, Data: []byte("{}")})
		require.NoError(t, err)
	}
	j := testfactory.Job(t, f.st, testfactory.JobOpts{NextRunAt: now.Add(time.Hour)})
	key := publishDue(t, f, j, now.Add(-time.Minute))
	got := f.pass(t, 2*time.Minute)
	require.Len(t, got, 1)
	require.Equal(t, key, got[0].Key)
	require.Empty(t, f.pass(t, watchdog.IntervalDefault), "nothing is recorded twice, nothing foreign at all")
}

// Records older than the retention leave, a limit at a time.
func TestOldRecordsLeave(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	f := newFixture(t, now)
	j := testfactory.Job(t, f.st, testfactory.JobOpts{NextRunAt: now.Add(time.Hour)})
	fire := func(key string, detected time.Time) domain.MissedFire {
		return domain.MissedFire{Key: key, JobID: j.ID, Namespace: j.Namespace, ScheduledAt: detected.Add(-time.Minute),
			DetectedAt: detected, Stage: domain.MissedUnclaimed}
	}
	_, err := f.st.RecordMissedFires(t.Context(), []domain.MissedFire{
		fire(j.ID+":1", now.Add(-31*24*time.Hour)), fire(j.ID+":2", now.Add(-29*24*time.Hour))}, nil)
	require.NoError(t, err)
	f.pass(t, 0)
	list := f.missed(t, j.ID)
	require.Len(t, list, 1)
	require.Equal(t, j.ID+":2", list[0].Key)
}

func newRegistry(t *testing.T) *metric.Registry {
	t.Helper()
	reg, err := metric.New(metric.Config{Function: "api"})
	require.NoError(t, err)
	return reg
}

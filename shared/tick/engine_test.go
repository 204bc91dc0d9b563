package tick_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/lease"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/tick"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// received is a due message as a consumer saw it.
type received struct {
	msgID   string
	eventID string
	jobID   string
	at      time.Time
	source  string
	// wake is set for a wake (event.TypeWake), of kind: it has no job and no key.
	wake bool
	kind string
	// arrived is when the consumer received it.
	arrived time.Time
}

// collector consumes the due stream in the background.
type collector struct {
	mu   sync.Mutex
	msgs []received
	stop func()
}

func collect(t *testing.T, js jetstream.JetStream, names event.Names) *collector {
	t.Helper()
	c, err := js.CreateConsumer(t.Context(), names.DueStream(), jetstream.ConsumerConfig{AckPolicy: jetstream.AckExplicitPolicy})
	require.NoError(t, err)
	col := &collector{}
	cc, err := c.Consume(func(m jetstream.Msg) {
		ev, err := event.FromNATS(context.Background(), natsMsg(m))
		if err != nil {
			t.Errorf("decode due event: %v", err)
			return
		}
		if event.IsWake(ev) {
			col.mu.Lock()
			col.msgs = append(col.msgs, received{msgID: m.Headers().Get(jetstream.MsgIDHeader), eventID: ev.ID(), wake: true,
				kind: fmt.Sprint(ev.Extensions()[event.ExtJobKind]), at: ev.Time(), source: ev.Source(), arrived: time.Now()})
			col.mu.Unlock()
			_ = m.Ack()
			return
		}
		d, err := event.ParseDue(ev)
		if err != nil {
			t.Errorf("parse due event: %v", err)
			return
		}
		col.mu.Lock()
		col.msgs = append(col.msgs, received{msgID: m.Headers().Get(jetstream.MsgIDHeader), eventID: ev.ID(), jobID: d.JobID, at: d.ScheduledAt, source: ev.Source(), arrived: time.Now()})
		col.mu.Unlock()
		_ = m.Ack()
	})
	require.NoError(t, err)
	col.stop = cc.Stop
	t.Cleanup(cc.Stop)
	return col
}

func (c *collector) snapshot() []received {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]received(nil), c.msgs...)
}

// waitFor polls until cond holds for the received messages, or fails after timeout.
func (c *collector) waitFor(t *testing.T, timeout time.Duration, what string, cond func([]received) bool) []received {
	t.Helper()
	var got []received
	testenv.AwaitWithin(t, timeout, what, func() (string, bool) {
		got = c.snapshot()
		return fmt.Sprintf("%d messages", len(got)), cond(got)
	})
	return got
}

func startEngine(t *testing.T, st *store.Store, js jetstream.JetStream, names event.Names, cfg tick.Config) (*tick.Engine, func()) {
	t.Helper()
	return startEngineOn(t, st, js, names, clockwork.NewRealClock(), cfg)
}

func startEngineOn(t *testing.T, st *store.Store, js jetstream.JetStream, names event.Names, clock clockwork.Clock, cfg tick.Config) (*tick.Engine, func()) {
	t.Helper()
	e, err := tick.New(st, queue.NewPublisher(js), names, clock, testenv.Logger(t), cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	stop := func() {
		cancel()
		require.NoError(t, <-done)
	}
	return e, stop
}

func TestEnginePublishesEachFireOnceAtItsSecond(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	start := time.Now().UTC().Truncate(time.Second).Add(time.Second)
	jobs := map[string]bool{}
	for range 5 {
		jobs[testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: start}).ID] = true
	}
	col := collect(t, js, names)
	_, stop := startEngine(t, st, js, names, tick.Config{})
	col.waitFor(t, 15*time.Second, "three seconds of fires", func(r []received) bool { return len(r) >= 15 })
	stop()

	got := col.snapshot()
	seen := map[string]bool{}
	perJob := map[string][]time.Time{}
	for _, r := range got {
		require.Equal(t, r.eventID, r.msgID, "Nats-Msg-Id is the idempotency key")
		require.Equal(t, domain.ScheduledKey(r.jobID, r.at), r.eventID)
		require.False(t, seen[r.msgID], "fire %s published twice", r.msgID)
		seen[r.msgID] = true
		require.True(t, jobs[r.jobID])
		perJob[r.jobID] = append(perJob[r.jobID], r.at)
	}
	for id, ats := range perJob {
		for i := 1; i < len(ats); i++ {
			require.Equal(t, time.Second, ats[i].Sub(ats[i-1]), "job %s skipped or repeated a second", id)
		}
		require.True(t, ats[0].Equal(start), "job %s started at %s, want %s", id, ats[0], start)
	}
	stranded, err := st.StrandedFires(t.Context(), time.Time{}, -time.Hour, 1000)
	require.NoError(t, err)
	require.Empty(t, stranded, "every published fire leaves the outbox; nothing claimed is left behind on shutdown")
}

func TestEnginePublishesFiresAheadOfTheirInstantsButNoEarlierThanStageAhead(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	start := time.Now().UTC().Truncate(time.Second).Add(2 * time.Second)
	for range 3 {
		testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: start})
	}
	col := collect(t, js, names)
	const stageAhead = 800 * time.Millisecond
	_, stop := startEngine(t, st, js, names, tick.Config{StageAhead: stageAhead})
	got := col.waitFor(t, 15*time.Second, "three seconds of fires", func(r []received) bool { return len(r) >= 9 })
	stop()
	early := 0
	for _, r := range got {
		require.False(t, r.arrived.Before(r.at.Add(-stageAhead)), "fire %s published %s before its instant", r.eventID, r.at.Sub(r.arrived))
		if r.arrived.Before(r.at) {
			early++
		}
	}
	require.Positive(t, early, "fires go out ahead of their instants, for executors to stage")
}

func TestEnginePicksUpNewJobsThroughNotifications(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	col := collect(t, js, names)
	// With nothing scheduled and an hour-long sleep, only a notification can wake the engine.
	clock := clockwork.NewFakeClockAt(time.Now().UTC())
	e, stop := startEngineOn(t, st, js, names, clock, tick.Config{MaxSleep: time.Hour, RelayInterval: time.Hour})
	defer stop()
	select {
	case <-e.Listening():
	case <-time.After(10 * time.Second):
		t.Fatal("engine never listened for job changes")
	}
	// Asleep on a clock that never moves: only the notification can wake it.
	require.NoError(t, clock.BlockUntilContext(t.Context(), 1))
	j := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: clock.Now(), Cron: "0 0 0 1 1 *"})
	got := col.waitFor(t, 10*time.Second, "the new job's fire", func(r []received) bool { return len(r) == 1 })
	require.Equal(t, j.ID, got[0].jobID)
}

func TestEngineRelaysStrandedFiresOnce(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	// A replica claimed these fires a minute ago and died before publishing them.
	past := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	var keys []string
	for range 3 {
		j := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: past, Cron: "0 0 0 1 1 *"})
		keys = append(keys, domain.ScheduledKey(j.ID, past))
	}
	planner := tick.Planner{Now: past, Horizon: past, MisfireThreshold: time.Minute, MaxFires: 10}
	fires, _, _, err := st.ClaimDue(t.Context(), time.Time{}, nil, past, 10, planner.Plan)
	require.NoError(t, err)
	require.Len(t, fires, 3)

	col := collect(t, js, names)
	_, stop := startEngine(t, st, js, names, tick.Config{RelayAfter: time.Second, RelayInterval: 200 * time.Millisecond})
	col.waitFor(t, 10*time.Second, "the relayed fires", func(r []received) bool { return len(r) == 3 })
	stop()
	// Republishing the same fires again (a second relay racing) stores nothing new.
	for range 2 {
		m := relayMsg(t, names, fires[0])
		m.Msg.Subject = m.Subject
		ack, err := js.PublishMsg(t.Context(), m.Msg, jetstream.WithMsgID(m.MsgID))
		require.NoError(t, err)
		require.True(t, ack.Duplicate, "JetStream stores a fire once")
	}
	got := col.snapshot()
	require.Len(t, got, 3)
	var gotKeys []string
	for _, r := range got {
		gotKeys = append(gotKeys, r.msgID)
	}
	require.ElementsMatch(t, keys, gotKeys)
	stranded, err := st.StrandedFires(t.Context(), time.Time{}, -time.Hour, 10)
	require.NoError(t, err)
	require.Empty(t, stranded)
}

func relayMsg(t *testing.T, names event.Names, f domain.Fire) queue.Message {
	t.Helper()
	ev := event.NewDueEncoded(event.DueMeta{Key: f.Key, JobID: f.JobID, Kind: f.Kind, Trigger: f.Trigger, ScheduledAt: f.ScheduledAt}, f.Payload, "/test")
	msg, err := event.ToNATS(t.Context(), ev)
	require.NoError(t, err)
	return queue.Message{Subject: names.DueSubject(f.Kind), MsgID: f.Key, Msg: msg}
}

func TestReplicasSplitTheShardsAndFireEachJobOnce(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	redisURL, prefix := testenv.RedisURL(t)
	opts, err := redis.ParseURL(redisURL)
	require.NoError(t, err)
	opts.ContextTimeoutEnabled = true
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })

	start := time.Now().UTC().Truncate(time.Second).Add(2 * time.Second)
	for range 40 {
		testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: start})
	}
	col := collect(t, js, names)
	perReplica := map[string]*lease.Manager{}
	var stops []func()
	for _, name := range []string{"a", "b"} {
		m, err := lease.New(rdb, clockwork.NewRealClock(), lease.Config{KeyPrefix: prefix, Instance: name, TTL: time.Second}, testenv.Logger(t).With("replica", name), nil)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx) }()
		e, err := tick.New(st, queue.NewPublisher(js), names, clockwork.NewRealClock(), testenv.Logger(t).With("replica", name), tick.Config{Instance: name})
		require.NoError(t, err)
		e.SetShards(m)
		stopEngine := runEngine(t, e)
		stops = append(stops, func() { stopEngine(); cancel(); require.NoError(t, <-done) })
		perReplica[name] = m
	}
	col.waitFor(t, 20*time.Second, "three seconds of every job", func(r []received) bool { return len(r) >= 120 })
	for _, stop := range stops {
		stop()
	}

	seen := map[string]bool{}
	bySource := map[string]int{}
	for _, r := range col.snapshot() {
		require.False(t, seen[r.msgID], "fire %s published twice", r.msgID)
		seen[r.msgID] = true
		bySource[r.source]++
	}
	require.Len(t, bySource, 2, "both replicas published: %v", bySource)
	a, _ := perReplica["a"].Owned()
	b, _ := perReplica["b"].Owned()
	require.Empty(t, a, "released on stop")
	require.Empty(t, b, "released on stop")
}

// runEngine runs e until the returned stop is called.
func runEngine(t *testing.T, e *tick.Engine) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	return func() {
		cancel()
		require.NoError(t, <-done)
	}
}

// failFirstBatch publishes through the real broker, except that it refuses the first batch as
// a broker outage would.
type failFirstBatch struct {
	pub    *queue.Publisher
	failed atomic.Bool
}

func (p *failFirstBatch) PublishBatch(ctx context.Context, msgs []queue.Message) []error {
	if !p.failed.Swap(true) {
		errs := make([]error, len(msgs))
		for i := range errs {
			errs[i] = errors.New("nats: no responders available for request")
		}
		return errs
	}
	return p.pub.PublishBatch(ctx, msgs)
}

func TestEngineKeepsAFireItCouldNotPublishForTheRelay(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	at := time.Now().UTC().Truncate(time.Second).Add(time.Second)
	j := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: at, Cron: "0 0 0 1 1 *"})
	col := collect(t, js, names)
	e, err := tick.New(st, &failFirstBatch{pub: queue.NewPublisher(js)}, names, clockwork.NewRealClock(), testenv.Logger(t),
		tick.Config{RelayAfter: time.Second, RelayInterval: 200 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	got := col.waitFor(t, 15*time.Second, "the fire, relayed", func(r []received) bool { return len(r) == 1 })
	cancel()
	require.NoError(t, <-done)
	require.Equal(t, domain.ScheduledKey(j.ID, at), got[0].msgID)
	testenv.Eventually(t, "the relayed fire leaves the outbox", func() bool {
		n, err := st.OutboxLen(t.Context())
		require.NoError(t, err)
		return n == 0
	})
	saved, err := st.GetJob(t.Context(), j.ID)
	require.NoError(t, err)
	require.True(t, saved.NextRunAt.After(at), "the claim was committed with the fire in the outbox")
}

func TestAReplicaFiresTheJobsOfAClaimAnotherReplicaGaveUp(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	at := time.Now().UTC().Truncate(time.Second).Add(2 * time.Second)
	j := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: at, Cron: "0 0 0 1 1 *"})
	// Another replica claims the job and dies before publishing: its claim rolls back when its
	// connection goes, and nothing announces it.
	planner := tick.Planner{Now: time.Now().UTC(), Horizon: at, MisfireThreshold: time.Minute, MaxFires: 10}
	other, err := st.ClaimDueHeld(t.Context(), time.Time{}, nil, at, 10, planner.Plan)
	require.NoError(t, err)
	require.Len(t, other.Fires, 1)

	col := collect(t, js, names)
	// Nothing else is scheduled, and this replica would sleep for an hour.
	_, stop := startEngine(t, st, js, names, tick.Config{MaxSleep: time.Hour, RelayInterval: time.Hour})
	defer stop()
	time.Sleep(time.Until(at.Add(-time.Second)))
	other.Rollback(t.Context())
	got := col.waitFor(t, 10*time.Second, "the given-up fire", func(r []received) bool { return len(r) == 1 })
	require.Equal(t, domain.ScheduledKey(j.ID, at), got[0].msgID)
}

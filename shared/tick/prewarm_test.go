package tick_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/tick"
)

// wakeCounter publishes through the real broker and counts the wakes it was asked to send.
type wakeCounter struct {
	pub       *queue.Publisher
	http, sql atomic.Int32
}

func (p *wakeCounter) count(msgs []queue.Message) {
	for _, m := range msgs {
		switch {
		case strings.HasPrefix(m.MsgID, "wake:http:"):
			p.http.Add(1)
		case strings.HasPrefix(m.MsgID, "wake:sql:"):
			p.sql.Add(1)
		}
	}
}

func (p *wakeCounter) wakes(kind domain.JobKind) int {
	if kind == domain.KindSQL {
		return int(p.sql.Load())
	}
	return int(p.http.Load())
}

func (p *wakeCounter) PublishBatch(ctx context.Context, msgs []queue.Message) []error {
	p.count(msgs)
	return p.pub.PublishBatch(ctx, msgs)
}

func (p *wakeCounter) PublishBatchDup(ctx context.Context, msgs []queue.Message) ([]error, []bool) {
	p.count(msgs)
	return p.pub.PublishBatchDup(ctx, msgs)
}

// replicas are tick engines sharing one database, one broker and one fake clock, as three
// replicas of the tick without leases would.
type replicas struct {
	clock *clockwork.FakeClock
	pubs  []*wakeCounter
	regs  []*metric.Registry
	stops []func()
}

func startReplicas(t *testing.T, st *store.Store, js jetstream.JetStream, names event.Names, clock *clockwork.FakeClock, n int, cfg tick.Config) *replicas {
	t.Helper()
	r := &replicas{clock: clock}
	for i := range n {
		c := cfg
		c.Instance = fmt.Sprintf("t-%d", i)
		pub := &wakeCounter{pub: queue.NewPublisher(js)}
		reg, err := metric.New(metric.Config{Function: "tick"})
		require.NoError(t, err)
		e, err := tick.New(st, pub, names, clock, testenv.Logger(t).With("replica", c.Instance), c)
		require.NoError(t, err)
		require.NoError(t, e.SetMetrics(reg))
		stop := runEngine(t, e)
		select {
		case <-e.Listening():
		case <-time.After(10 * time.Second):
			stop()
			t.Fatal("engine never listened for job changes")
		}
		r.pubs, r.regs, r.stops = append(r.pubs, pub), append(r.regs, reg), append(r.stops, stop)
	}
	return r
}

// stop stops every replica. Call it when no fire is claimed and unpublished: a stopping engine
// waits for those on the fake clock.
func (r *replicas) stop() {
	for _, stop := range r.stops {
		stop()
	}
}

// stepTo moves the clock one second at a time to at, waiting before each step until every
// replica sleeps on it: each step's claims, queries and wakes happen at their instants.
func (r *replicas) stepTo(t *testing.T, at time.Time) {
	t.Helper()
	for r.clock.Now().Before(at) {
		require.NoError(t, r.clock.BlockUntilContext(t.Context(), len(r.stops)))
		r.clock.Advance(min(time.Second, at.Sub(r.clock.Now())))
	}
	require.NoError(t, r.clock.BlockUntilContext(t.Context(), len(r.stops)))
}

// wakesSent sums the wakes the replicas tried to send, and those the broker stored as counted
// by vecron_prewarm_wakes_total.
func (r *replicas) wakesSent(t *testing.T, kind domain.JobKind) (tried int, counted float64) {
	t.Helper()
	for i, p := range r.pubs {
		tried += p.wakes(kind)
		counted += gather(t, r.regs[i], metric.PrewarmWakes, "kind", string(kind)).value
	}
	return tried, counted
}

func wakesOf(msgs []received) []received {
	var out []received
	for _, m := range msgs {
		if m.wake {
			out = append(out, m)
		}
	}
	return out
}

func firesOf(msgs []received) []received {
	var out []received
	for _, m := range msgs {
		if !m.wake {
			out = append(out, m)
		}
	}
	return out
}

func prewarmConfig(enabled bool) tick.Config {
	return tick.Config{
		MaxSleep: time.Hour, RelayInterval: time.Hour,
		Prewarm: tick.PrewarmConfig{Enabled: enabled, Lead: 10 * time.Second, Keep: 45 * time.Second},
	}
}

// A job due at T gets one wake of its kind at T − lead, however many replicas see it, and the
// wake creates no execution.
func TestPrewarmWakesAKindOnceAtLeadBeforeItsFireAcrossReplicas(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	clock := clockwork.NewFakeClockAt(time.Now().UTC().Truncate(time.Second))
	at := clock.Now().Add(30 * time.Second)
	j := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: at, Cron: "0 0 0 1 1 *"})
	col := collect(t, js, names)
	r := startReplicas(t, st, js, names, clock, 3, prewarmConfig(true))
	defer r.stop()

	r.stepTo(t, at.Add(-10*time.Second-time.Second))
	require.Empty(t, col.snapshot(), "nothing sent before T − lead")
	tried, _ := r.wakesSent(t, domain.KindHTTP)
	require.Zero(t, tried)

	r.stepTo(t, at.Add(-10*time.Second))
	got := col.waitFor(t, 10*time.Second, "the wake", func(m []received) bool { return len(m) >= 1 })
	require.Len(t, got, 1)
	w := got[0]
	require.True(t, w.wake, "a wake, not the fire: %+v", w)
	require.Equal(t, event.WakeID(domain.KindHTTP, at), w.msgID, "Nats-Msg-Id names the kind and the fire's instant")
	require.Equal(t, string(domain.KindHTTP), w.kind)
	require.True(t, w.at.Equal(at))

	// Every replica woke the kind once, and the broker kept one wake.
	testenv.Eventually(t, "every replica sent its wake", func() bool {
		tried, counted := r.wakesSent(t, domain.KindHTTP)
		return tried == 3 && counted == 1
	})
	r.stepTo(t, at.Add(time.Second))
	got = col.waitFor(t, 10*time.Second, "the fire", func(m []received) bool { return len(firesOf(m)) == 1 })
	require.Len(t, wakesOf(got), 1)
	require.Equal(t, domain.ScheduledKey(j.ID, at), firesOf(got)[0].msgID)
	tried, counted := r.wakesSent(t, domain.KindHTTP)
	require.Equal(t, 3, tried)
	require.Equal(t, 1.0, counted)
	tried, _ = r.wakesSent(t, domain.KindSQL)
	require.Zero(t, tried, "no sql job, no sql wake")

	// A wake is no fire: the database holds no execution of it, nor any other.
	_, err := st.ExecutionByKey(t.Context(), w.msgID)
	require.ErrorIs(t, err, domain.ErrNotFound)
	finished, _, err := st.ExecutionStats(t.Context())
	require.NoError(t, err)
	require.Zero(t, finished)
	n, err := st.OutboxLen(t.Context())
	require.NoError(t, err)
	require.Zero(t, n, "a wake is never written to the outbox")
}

// A kind whose fires come more often than keep stays warm: after the first wake, its fires keep
// it warm at every replica, whichever replica published them, and none wakes it again.
func TestPrewarmSendsNoWakeWhileTheKindIsWarm(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	clock := clockwork.NewFakeClockAt(time.Now().UTC().Truncate(time.Minute))
	first := clock.Now().Add(40 * time.Second)
	j := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: first, Cron: "*/20 * * * * *"})
	col := collect(t, js, names)
	r := startReplicas(t, st, js, names, clock, 3, prewarmConfig(true))
	defer r.stop()

	// Four fires, 20 s apart: under keep (45 s) each time.
	last := first.Add(60 * time.Second)
	r.stepTo(t, last.Add(time.Second))
	got := col.waitFor(t, 10*time.Second, "four fires", func(m []received) bool { return len(firesOf(m)) == 4 })
	for i, f := range firesOf(got) {
		require.Equal(t, domain.ScheduledKey(j.ID, first.Add(time.Duration(i)*20*time.Second)), f.msgID)
	}
	wakes := wakesOf(got)
	require.Len(t, wakes, 1, "one wake, before the first fire: %+v", wakes)
	require.Equal(t, event.WakeID(domain.KindHTTP, first), wakes[0].msgID)
	tried, counted := r.wakesSent(t, domain.KindHTTP)
	require.Equal(t, 3, tried, "one wake per replica, for the first fire only")
	require.Equal(t, 1.0, counted)
}

// Each kind is woken for its own next fire, and only the kinds tick.prewarm.kinds names.
func TestPrewarmWakesOnlyTheKindsNamedEachForItsFire(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	clock := clockwork.NewFakeClockAt(time.Now().UTC().Truncate(time.Second))
	httpAt, sqlAt := clock.Now().Add(15*time.Second), clock.Now().Add(35*time.Second)
	testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: httpAt, Cron: "0 0 0 1 1 *"})
	testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: sqlAt, Cron: "0 0 0 1 1 *", Kind: domain.KindSQL})
	col := collect(t, js, names)
	cfg := prewarmConfig(true)
	cfg.Prewarm.Kinds = []string{"sql"}
	r := startReplicas(t, st, js, names, clock, 2, cfg)
	defer r.stop()

	r.stepTo(t, sqlAt.Add(-10*time.Second-time.Second))
	require.Empty(t, wakesOf(col.snapshot()), "no wake of http, not named; none of sql before its lead")
	r.stepTo(t, sqlAt.Add(time.Second))
	got := col.waitFor(t, 10*time.Second, "the wake and both fires", func(m []received) bool { return len(m) == 3 })
	wakes := wakesOf(got)
	require.Len(t, wakes, 1)
	require.Equal(t, event.WakeID(domain.KindSQL, sqlAt), wakes[0].msgID)
	require.Equal(t, string(domain.KindSQL), wakes[0].kind)
	tried, _ := r.wakesSent(t, domain.KindHTTP)
	require.Zero(t, tried)
}

// Off (the binary's default), the tick sends no wake.
func TestPrewarmOffSendsNoWake(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	clock := clockwork.NewFakeClockAt(time.Now().UTC().Truncate(time.Second))
	at := clock.Now().Add(15 * time.Second)
	j := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: at, Cron: "0 0 0 1 1 *"})
	col := collect(t, js, names)
	r := startReplicas(t, st, js, names, clock, 3, prewarmConfig(false))
	defer r.stop()

	r.stepTo(t, at.Add(time.Second))
	got := col.waitFor(t, 10*time.Second, "the fire", func(m []received) bool { return len(m) >= 1 })
	require.Len(t, got, 1)
	require.False(t, got[0].wake)
	require.Equal(t, domain.ScheduledKey(j.ID, at), got[0].msgID)
	tried, counted := r.wakesSent(t, domain.KindHTTP)
	require.Zero(t, tried)
	require.Zero(t, counted)
}

func TestPrewarmSettingsAreValidated(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		cfg  tick.PrewarmConfig
		want string
	}{
		"NegativeLead": {tick.PrewarmConfig{Lead: -time.Second}, "tick.prewarm.lead"},
		"NegativeKeep": {tick.PrewarmConfig{Keep: -time.Second}, "tick.prewarm.keep"},
		"HugeLead":     {tick.PrewarmConfig{Lead: 1 << 62}, "tick.prewarm.lead: must be at most 10m0s"},
		"LeadOverMax":  {tick.PrewarmConfig{Lead: 10*time.Minute + time.Second}, "tick.prewarm.lead: must be at most 10m0s"},
		"HugeKeep":     {tick.PrewarmConfig{Keep: time.Hour + time.Nanosecond}, "tick.prewarm.keep: must be at most"},
		"UpperCase":    {tick.PrewarmConfig{Kinds: []string{"HTTP"}}, "tick.prewarm.kinds"},
		"UnknownKind":  {tick.PrewarmConfig{Kinds: []string{"http", "ftp"}}, `tick.prewarm.kinds: unknown kind "ftp"`},
		"EmptyKind":    {tick.PrewarmConfig{Kinds: []string{""}}, "tick.prewarm.kinds"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := tick.New(nil, nil, event.Names{}, clockwork.NewFakeClock(), testenv.Logger(t), tick.Config{Prewarm: c.cfg})
			require.ErrorContains(t, err, c.want)
		})
	}
	d := tick.DefaultConfig().Prewarm
	require.False(t, d.Enabled, "off by default: vecron dev runs warm executors")
	require.Equal(t, tick.PrewarmLeadDefault, d.Lead)
	require.Equal(t, tick.PrewarmKeepDefault, d.Keep)
	require.Equal(t, []string{"http", "sql"}, d.Kinds)
}

// A kind is warm only from a fire that happens. Job a's fire leaves the answers while an edit
// holds its row over its claim, and the edit pauses it: a never fires, so it warms nothing,
// and job b of the same kind, due after the keep of a's wake, gets a wake of its own.
func TestPrewarmWakesTheNextFireOfAKindWhoseSeenFireWasDropped(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	clock := clockwork.NewFakeClockAt(time.Now().UTC().Truncate(time.Second))
	at := clock.Now().Add(20 * time.Second)
	a := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: at, Cron: "0 0 0 1 1 *"})
	// b is due 40 s after a: a's wake (at a − 10 s) keeps the kind warm until b − 5 s.
	b := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: at.Add(40 * time.Second), Cron: "0 0 0 1 1 *"})
	col := collect(t, js, names)
	r := startReplicas(t, st, js, names, clock, 2, prewarmConfig(true))
	defer r.stop()

	r.stepTo(t, at.Add(-10*time.Second))
	col.waitFor(t, 10*time.Second, "a's wake", func(m []received) bool { return len(wakesOf(m)) == 1 })

	// An edit holds a's row over its claim (lookahead before a), as UpdateJob does, then pauses
	// it.
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	tx, err := conn.Begin(t.Context())
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(context.Background()) }()
	_, err = tx.Exec(t.Context(), `SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE`, a.ID)
	require.NoError(t, err)
	r.stepTo(t, at.Add(-time.Second))
	_, err = tx.Exec(t.Context(), `UPDATE jobs SET enabled = false, next_run_at = NULL, version = version + 1 WHERE id = $1`, a.ID)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(t.Context()))

	r.stepTo(t, at.Add(40*time.Second+time.Second))
	got := col.waitFor(t, 10*time.Second, "b's wake and fire", func(m []received) bool { return len(firesOf(m)) == 1 && len(wakesOf(m)) == 2 })
	require.Equal(t, domain.ScheduledKey(b.ID, *b.NextRunAt), firesOf(got)[0].msgID, "a never fired")
	wakes := wakesOf(got)
	require.Equal(t, event.WakeID(domain.KindHTTP, at), wakes[0].msgID)
	require.Equal(t, event.WakeID(domain.KindHTTP, *b.NextRunAt), wakes[1].msgID, "b woken though a was seen leaving")
}

// ownedShards is a replica's shards as a test sets them.
type ownedShards struct {
	mu      sync.Mutex
	owned   []int
	changed chan struct{}
}

func (s *ownedShards) Owned() ([]int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.owned), false
}

func (s *ownedShards) Changed() <-chan struct{} { return s.changed }

func (s *ownedShards) set(owned ...int) {
	s.mu.Lock()
	s.owned = owned
	s.mu.Unlock()
	s.changed <- struct{}{}
}

// settlingClock is a fake clock that counts the engine's timer resets. A wake-up that is not
// the timer's (a notification, a change of shards) may not have begun its pass when BlockUntil
// returns, the timer still waiting; a reset ends every pass of the engine's loop, so waiting for
// one after such a wake-up waits for its pass.
type settlingClock struct {
	*clockwork.FakeClock
	resets atomic.Int64
}

type settlingTimer struct {
	clockwork.Timer
	c *settlingClock
}

func (c *settlingClock) NewTimer(d time.Duration) clockwork.Timer {
	return settlingTimer{c.FakeClock.NewTimer(d), c}
}

func (t settlingTimer) Reset(d time.Duration) bool {
	ok := t.Timer.Reset(d)
	t.c.resets.Add(1)
	return ok
}

// settle runs poke, which wakes the engine, and waits for the engine's pass to end.
func (c *settlingClock) settle(t *testing.T, poke func()) {
	t.Helper()
	before := c.resets.Load()
	poke()
	testenv.Eventually(t, "the engine's pass", func() bool { return c.resets.Load() > before })
	require.NoError(t, c.BlockUntilContext(t.Context(), 1))
}

// A replica wakes a kind only for a fire it still sees: one whose shard it no longer owns is
// another replica's to wake for, and the job may not fire at all — here it is paused after.
func TestPrewarmSendsNoWakeForAFireNoLongerSeen(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	clock := &settlingClock{FakeClock: clockwork.NewFakeClockAt(time.Now().UTC().Truncate(time.Second))}
	at := clock.Now().Add(30 * time.Second)
	j := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: at, Cron: "0 0 0 1 1 *"})
	// later's wake, sent after the lease is back, shows that the wake loop had nothing before it.
	later := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: at.Add(20 * time.Second), Cron: "0 0 0 1 1 *"})
	col := collect(t, js, names)
	e, err := tick.New(st, queue.NewPublisher(js), names, clock, testenv.Logger(t), prewarmConfig(true))
	require.NoError(t, err)
	sh := &ownedShards{owned: []int{j.Shard}, changed: make(chan struct{})}
	e.SetShards(sh)
	stop := runEngine(t, e)
	defer stop()
	<-e.Listening()
	step := func(to time.Time) {
		for clock.Now().Before(to) {
			require.NoError(t, clock.BlockUntilContext(t.Context(), 1))
			clock.Advance(min(time.Second, to.Sub(clock.Now())))
		}
		require.NoError(t, clock.BlockUntilContext(t.Context(), 1))
	}
	// The first pass, and the one the listener's start asks for, have seen j.
	testenv.Eventually(t, "the engine's first passes", func() bool { return clock.resets.Load() >= 2 })
	require.NoError(t, clock.BlockUntilContext(t.Context(), 1))

	clock.settle(t, func() { sh.set() }) // the lease is lost
	clock.settle(t, func() {
		_, err = st.SetEnabled(t.Context(), j.ID, false, nil, clock.Now())
		require.NoError(t, err)
	})
	step(at.Add(time.Second))

	clock.settle(t, func() { sh.set(j.Shard, later.Shard) }) // back, j paused
	step(later.NextRunAt.Add(time.Second))
	// The wake loop publishes apart from the fires, in order: the first wake to arrive is the
	// first sent.
	got := col.waitFor(t, 10*time.Second, "a wake and later's fire", func(m []received) bool { return len(firesOf(m)) == 1 && len(wakesOf(m)) >= 1 })
	require.Equal(t, domain.ScheduledKey(later.ID, *later.NextRunAt), firesOf(got)[0].msgID)
	wakes := wakesOf(got)
	require.Len(t, wakes, 1, "no wake for j's fire: %+v", wakes)
	require.Equal(t, event.WakeID(domain.KindHTTP, *later.NextRunAt), wakes[0].msgID)
}

// tick.prewarm.lead must be longer than tick.lookahead when pre-warm is on: a fire is claimed a
// lookahead early and counts its kind warm, so a shorter lead never wakes. Longer works (the
// tests above run a 10 s lead over the 1.25 s default lookahead).
func TestPrewarmLeadMustBeLongerThanTheLookahead(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		cfg  tick.Config
		want string // "" when accepted
	}{
		"UnderTheDefaultLookahead": {tick.Config{Prewarm: tick.PrewarmConfig{Enabled: true, Lead: time.Second}}, "tick.prewarm.lead: 1s must be longer than tick.lookahead (1.25s)"},
		"EqualToTheLookahead":      {tick.Config{Lookahead: 5 * time.Second, Prewarm: tick.PrewarmConfig{Enabled: true, Lead: 5 * time.Second}}, "tick.prewarm.lead: 5s must be longer than tick.lookahead (5s)"},
		"DefaultLeadUnderALongLookahead": {tick.Config{Lookahead: 15 * time.Second, Prewarm: tick.PrewarmConfig{Enabled: true}},
			"tick.prewarm.lead: 10s must be longer than tick.lookahead (15s)"},
		"Longer":         {tick.Config{Lookahead: 5 * time.Second, Prewarm: tick.PrewarmConfig{Enabled: true, Lead: 6 * time.Second}}, ""},
		"OffWithAnyLead": {tick.Config{Prewarm: tick.PrewarmConfig{Lead: time.Second}}, ""},
		"DefaultsWhenOn": {tick.Config{Prewarm: tick.PrewarmConfig{Enabled: true}}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := tick.New(nil, nil, event.Names{}, clockwork.NewFakeClock(), testenv.Logger(t), c.cfg)
			if c.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, c.want)
		})
	}
}

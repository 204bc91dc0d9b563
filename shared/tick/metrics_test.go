package tick_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/tick"
)

// series is what a family holds for the series matching some labels: the sum of their values
// (counters, gauges) or of their sample counts (histograms), and the histograms' cumulative
// counts per upper bound.
type series struct {
	value   float64
	buckets map[float64]uint64
}

func gather(t *testing.T, reg *metric.Registry, name metric.Name, labels ...string) series {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	s := series{buckets: map[float64]uint64{}}
	for _, mf := range mfs {
		if mf.GetName() != string(name) {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue metrics
				}
			}
			switch {
			case m.Counter != nil:
				s.value += m.GetCounter().GetValue()
			case m.Gauge != nil:
				s.value += m.GetGauge().GetValue()
			case m.Histogram != nil:
				s.value += float64(m.GetHistogram().GetSampleCount())
				for _, b := range m.GetHistogram().GetBucket() {
					s.buckets[b.GetUpperBound()] += b.GetCumulativeCount()
				}
			}
		}
	}
	return s
}

func newRegistry(t *testing.T) *metric.Registry {
	t.Helper()
	reg, err := metric.New(metric.Config{Function: "tick"})
	require.NoError(t, err)
	return reg
}

// Every fire the broker acknowledged is counted once, with its lateness, and every fire a
// committed claim planned is counted once — whether the claim is held open until its fires are
// published (the default lookahead) or writes them to the outbox (a long one).
func TestEngineCountsEachFireTheBrokerAcknowledged(t *testing.T) {
	t.Parallel()
	for name, lookahead := range map[string]time.Duration{"HeldClaims": 0, "OutboxClaims": 3 * time.Second} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st, _ := testfactory.Store(t)
			_, js, names := testenv.NATS(t)
			start := time.Now().UTC().Truncate(time.Second).Add(2 * time.Second)
			for range 5 {
				testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: start})
			}
			col := collect(t, js, names)
			reg := newRegistry(t)
			e, err := tick.New(st, queue.NewPublisher(js), names, clockwork.NewRealClock(), testenv.Logger(t), tick.Config{Lookahead: lookahead})
			require.NoError(t, err)
			require.NoError(t, e.SetMetrics(reg))
			stop := runEngine(t, e)
			col.waitFor(t, 15*time.Second, "three seconds of fires", func(r []received) bool { return len(r) >= 15 })
			stop() // publishes what it claimed, and commits its claims

			stream, err := js.Stream(t.Context(), names.DueStream())
			require.NoError(t, err)
			info, err := stream.Info(t.Context())
			require.NoError(t, err)
			// The due stream is a work queue: acknowledged messages leave it, their sequence numbers stay.
			stored := float64(info.State.LastSeq)
			require.GreaterOrEqual(t, stored, 15.0)

			published := gather(t, reg, metric.FiresPublished, "kind", "http", "trigger", "schedule")
			require.Equal(t, stored, published.value, "one count per fire the broker stored")
			require.Equal(t, stored, gather(t, reg, metric.FiresPublished).value, "no other kind or trigger")
			require.Equal(t, stored, gather(t, reg, metric.TickClaimedFires).value, "every fire claimed was published")
			lateness := gather(t, reg, metric.DispatchLateness, "kind", "http", "trigger", "schedule")
			require.Equal(t, stored, lateness.value, "one lateness per fire")
			// Staged fires go out no earlier than stage_ahead (0.5 s) before their instants.
			require.Zero(t, lateness.buckets[-0.5], "a fire acknowledged more than stage_ahead early")
			require.Positive(t, lateness.buckets[0], "staged fires are acknowledged before their instants")
			require.Positive(t, gather(t, reg, metric.TickClaimDuration).value, "claims are timed")
		})
	}
}

// A fire the broker refused is not counted when it is refused, only when the relay gets it
// acknowledged: once.
func TestEngineCountsARelayedFireOnce(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	at := time.Now().UTC().Truncate(time.Second).Add(time.Second)
	testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: at, Cron: "0 0 0 1 1 *"})
	col := collect(t, js, names)
	reg := newRegistry(t)
	e, err := tick.New(st, &failFirstBatch{pub: queue.NewPublisher(js)}, names, clockwork.NewRealClock(), testenv.Logger(t),
		tick.Config{RelayAfter: time.Second, RelayInterval: 200 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, e.SetMetrics(reg))
	stop := runEngine(t, e)
	col.waitFor(t, 15*time.Second, "the fire, relayed", func(r []received) bool { return len(r) == 1 })
	testenv.Eventually(t, "the relayed fire counted", func() bool { return gather(t, reg, metric.FiresPublished).value == 1 })
	stop()
	require.Equal(t, 1.0, gather(t, reg, metric.FiresPublished, "kind", "http", "trigger", "schedule").value)
	require.Equal(t, 1.0, gather(t, reg, metric.DispatchLateness).value)
	require.Equal(t, 1.0, gather(t, reg, metric.TickClaimedFires).value, "planned once, by the one committed claim")
}

// The relay pass measures the outbox fires due and the oldest one's wait, by the tick's clock;
// fires queued for later are not a backlog.
func TestEngineMeasuresTheOutboxBacklogOnItsRelayPass(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	clock := clockwork.NewFakeClockAt(testenv.DatabaseNow(t, url).Truncate(time.Second))
	now := clock.Now()

	// A replica claimed three fires and died before publishing them: they wait in the outbox.
	var keys []string
	for _, ago := range []time.Duration{60 * time.Second, 30 * time.Second, 10 * time.Second} {
		j := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now.Add(-ago), Cron: "0 0 0 1 1 *"})
		keys = append(keys, domain.ScheduledKey(j.ID, now.Add(-ago)))
	}
	planner := tick.Planner{Now: now, Horizon: now, MisfireThreshold: time.Hour, MaxFires: 10}
	fires, _, _, err := st.ClaimDue(t.Context(), now, nil, now, 10, planner.Plan)
	require.NoError(t, err)
	require.Len(t, fires, 3)
	// A backfill fire queued for an hour from now.
	later := testfactory.Job(t, st, testfactory.JobOpts{Cron: "0 0 0 1 1 *"})
	queued, err := st.QueueFires(t.Context(), now, []domain.Fire{{Key: domain.ScheduledKey(later.ID, now) + "-backfill", JobID: later.ID,
		Kind: domain.KindHTTP, Trigger: domain.TriggerBackfill, ScheduledAt: now, PublishAt: now.Add(time.Hour), Payload: []byte(`{}`)}})
	require.NoError(t, err)
	require.Equal(t, 1, queued)

	reg := newRegistry(t)
	// The relay is held: the fires are not stranded before an hour.
	e, err := tick.New(st, queue.NewPublisher(js), names, clock, testenv.Logger(t),
		tick.Config{RelayAfter: time.Hour, RelayInterval: 10 * time.Second, MaxSleep: time.Minute})
	require.NoError(t, err)
	require.NoError(t, e.SetMetrics(reg))
	stop := runEngine(t, e)
	defer stop()

	want := func(backlog, age float64) {
		t.Helper()
		testenv.AwaitWithin(t, 10*time.Second, fmt.Sprintf("backlog %v, oldest %v s", backlog, age), func() (string, bool) {
			b, a := gather(t, reg, metric.OutboxBacklog).value, gather(t, reg, metric.OutboxOldestAge).value
			return fmt.Sprintf("backlog %v, oldest %v s", b, a), b == backlog && math.Abs(a-age) < 1e-6
		})
	}
	want(3, 60)
	// The next pass, one relay interval later by the tick's clock.
	require.NoError(t, clock.BlockUntilContext(t.Context(), 1))
	clock.Advance(10 * time.Second)
	want(3, 70)
	// Published by someone: the outbox is empty of due fires, and the next pass says so.
	require.NoError(t, st.DeleteFires(t.Context(), keys))
	require.NoError(t, clock.BlockUntilContext(t.Context(), 1))
	clock.Advance(10 * time.Second)
	want(0, 0)
}

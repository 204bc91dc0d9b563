package autoscale_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/autoscale"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testenv"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(replicaEnv); mode != "" {
		os.Exit(runReplica(mode))
	}
	testenv.VerifyNoLeaks(m)
}

// lagOf is a lag a test sets; err, when set, is what reading it returns.
type lagOf struct {
	mu  sync.Mutex
	lag map[domain.JobKind]int64
	err error
}

func (l *lagOf) Lag(_ context.Context, kind domain.JobKind) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lag[kind], l.err
}

func (l *lagOf) set(kind domain.JobKind, n int64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lag[kind], l.err = n, err
}

// counted records every count it is asked for; err, when set, fails the request.
type counted struct {
	mu    sync.Mutex
	asked []int
	err   error
}

func (c *counted) Scale(_ context.Context, n int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked = append(c.asked, n)
	return c.err
}

// last returns the last count asked for and how many times any was.
func (c *counted) last() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.asked) == 0 {
		return 0, 0
	}
	return c.asked[len(c.asked)-1], len(c.asked)
}

func (c *counted) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = err
}

// scalerRun is a scaler running on a fake clock, polled step by step.
type scalerRun struct {
	clock  *clockwork.FakeClock
	lag    *lagOf
	http   *counted
	events chan autoscale.Event
	logs   *testenv.LogBuffer
	rules  autoscale.Rules
	polls  int
}

func startScaler(t *testing.T, rules autoscale.Rules) *scalerRun {
	t.Helper()
	r := &scalerRun{clock: clockwork.NewFakeClock(), lag: &lagOf{lag: map[domain.JobKind]int64{}}, http: &counted{},
		events: make(chan autoscale.Event, 100), logs: &testenv.LogBuffer{}, rules: rules}
	s, err := autoscale.NewScaler(autoscale.ScalerDeps{Kind: domain.KindHTTP, Lag: r.lag, Replicas: r.http, Clock: r.clock,
		Log: slog.New(slog.NewTextHandler(r.logs, nil)), OnScale: func(e autoscale.Event) { r.events <- e }}, rules)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	r.waitPoll(t)
	return r
}

// waitPoll waits until the scaler has polled and sleeps until its next poll.
func (r *scalerRun) waitPoll(t *testing.T) {
	t.Helper()
	r.polls++
	testenv.Eventually(t, "a poll", func() bool {
		_, n := r.http.last()
		return n >= r.polls
	})
	require.NoError(t, r.clock.BlockUntilContext(t.Context(), 1))
}

// next moves the clock to the next poll and waits for it.
func (r *scalerRun) next(t *testing.T) {
	t.Helper()
	r.clock.Advance(r.rules.PollingInterval)
	r.waitPoll(t)
}

func (r *scalerRun) event(t *testing.T) autoscale.Event {
	t.Helper()
	select {
	case e := <-r.events:
		return e
	default:
		t.Fatal("no scale event")
		return autoscale.Event{}
	}
}

func (r *scalerRun) noEvent(t *testing.T) {
	t.Helper()
	select {
	case e := <-r.events:
		t.Fatalf("unexpected scale event %+v", e)
	default:
	}
}

func testRules() autoscale.Rules {
	r := autoscale.DefaultRules()
	r.PollingInterval, r.CooldownPeriod, r.LagThreshold, r.MaxReplicas, r.ScaleDownStabilization = time.Second, 3*time.Second, 10, 3, 0
	return r
}

// From zero, a lag activates one replica, the HPA adds what the lag asks for (within the
// maximum), and once the lag is gone and the cooldown has passed the count goes back to zero.
// Every count is asked for at every poll, and a change is an event and a log line with its
// reason.
func TestScalerGoesFromZeroAndBack(t *testing.T) {
	t.Parallel()
	r := startScaler(t, testRules())
	n, _ := r.http.last()
	require.Equal(t, 0, n, "nothing to do: zero")
	r.noEvent(t)

	r.lag.set(domain.KindHTTP, 25, nil)
	r.next(t)
	e := r.event(t)
	require.Equal(t, domain.KindHTTP, e.Kind)
	require.Equal(t, []int{0, 1}, []int{e.From, e.To})
	require.Equal(t, int64(25), e.Lag)
	require.Contains(t, e.Reason, "activated")
	require.Equal(t, r.clock.Now(), e.At)

	r.next(t)
	e = r.event(t)
	require.Equal(t, []int{1, 3}, []int{e.From, e.To}, "ceil(25/10)")
	require.Contains(t, e.Reason, "lag 25 at 10 a replica wants 3")

	r.lag.set(domain.KindHTTP, 0, nil)
	r.next(t) // the HPA keeps its minimum of 1 while KEDA cools down
	e = r.event(t)
	require.Equal(t, []int{3, 1}, []int{e.From, e.To})
	for range 2 {
		r.next(t)
		r.noEvent(t)
	}
	r.next(t)
	e = r.event(t)
	require.Equal(t, []int{1, 0}, []int{e.From, e.To}, "cooldown over (strictly more than 3 s)")
	require.Contains(t, e.Reason, "inactive for the cooldown 3s")
	n, _ = r.http.last()
	require.Equal(t, 0, n)
	require.Contains(t, r.logs.String(), `msg=scaled kind=http from=1 to=0 lag=0 why="inactive for the cooldown 3s`)
}

// A lag that cannot be read keeps the count, asks for it again (so a replica that exited is
// replaced), and is logged once, not at every poll; a scale that fails keeps the count the
// scaler knows, and the decision is made again at the next poll.
func TestScalerKeepsTheCountWhenItCannotReadOrScale(t *testing.T) {
	t.Parallel()
	r := startScaler(t, testRules())
	r.lag.set(domain.KindHTTP, 5, nil)
	r.next(t)
	require.Equal(t, 1, r.event(t).To)

	r.lag.set(domain.KindHTTP, 0, errors.New("nats: timeout"))
	for range 6 { // past the cooldown
		r.next(t)
		n, _ := r.http.last()
		require.Equal(t, 1, n, "kept while the lag is unknown")
	}
	r.noEvent(t)
	require.Equal(t, 1, strings.Count(r.logs.String(), "cannot read the lag"), "logged once per failure")

	r.http.fail(errors.New("fork: no memory"))
	r.lag.set(domain.KindHTTP, 40, nil)
	for range 3 {
		r.next(t)
		n, _ := r.http.last()
		require.Equal(t, 3, n, "asked again at each poll")
	}
	r.noEvent(t)
	require.Equal(t, 1, strings.Count(r.logs.String(), "cannot scale"))
	r.http.fail(nil)
	r.next(t)
	e := r.event(t)
	require.Equal(t, []int{1, 3}, []int{e.From, e.To})
	require.Contains(t, r.logs.String(), "the lag is readable again")
	require.Contains(t, r.logs.String(), "scaling works again")
}

func TestNewScalerRefusesWhatItCannotRun(t *testing.T) {
	t.Parallel()
	ok := autoscale.ScalerDeps{Kind: domain.KindHTTP, Lag: &lagOf{}, Replicas: &counted{}, Clock: clockwork.NewFakeClock(), Log: testenv.Logger(t)}
	with := func(f func(*autoscale.ScalerDeps)) autoscale.ScalerDeps { d := ok; f(&d); return d }
	bad := testRules()
	bad.PollingInterval, bad.MaxReplicas = 0, 0
	for name, tc := range map[string]struct {
		deps  autoscale.ScalerDeps
		rules autoscale.Rules
		want  []string
	}{
		"BadRules":   {ok, bad, []string{"PollingInterval", "MaxReplicas"}},
		"NoKind":     {with(func(d *autoscale.ScalerDeps) { d.Kind = "" }), testRules(), []string{"Kind"}},
		"NoLag":      {with(func(d *autoscale.ScalerDeps) { d.Lag = nil }), testRules(), []string{"Lag"}},
		"NoReplicas": {with(func(d *autoscale.ScalerDeps) { d.Replicas = nil }), testRules(), []string{"Replicas"}},
		"NoClock":    {with(func(d *autoscale.ScalerDeps) { d.Clock = nil }), testRules(), []string{"Clock"}},
		"NoLog":      {with(func(d *autoscale.ScalerDeps) { d.Log = nil }), testRules(), []string{"Log"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := autoscale.NewScaler(tc.deps, tc.rules)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

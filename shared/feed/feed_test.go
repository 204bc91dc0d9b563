package feed_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/feed"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

type env struct {
	js    jetstream.JetStream
	names event.Names
	clock *clockwork.FakeClock
	hub   *feed.Hub
	n     int
}

func newEnv(t *testing.T, cfg feed.Config) *env {
	t.Helper()
	_, js, names := testenv.NATS(t)
	e := &env{js: js, names: names, clock: clockwork.NewFakeClock()}
	e.hub = feed.New(js, names, e.clock, testenv.Logger(t), cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e.hub.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return e
}

// publish sends an execution event of namespace ns and returns its stream sequence.
func (e *env) publish(t *testing.T, ns string) uint64 {
	t.Helper()
	e.n++
	x := &domain.Execution{ID: fmt.Sprint("exec-", e.n), JobID: "job-1", Status: domain.StatusSucceeded, Attempt: 1,
		ScheduledAt: time.Date(2026, 12, 5, 9, 0, e.n, 0, time.UTC)}
	ev, err := event.NewExecution(event.TypeExecutionSucceeded, x, event.Due{Kind: domain.KindHTTP, Namespace: ns}, "/test")
	require.NoError(t, err)
	msg, err := event.ToNATS(t.Context(), ev)
	require.NoError(t, err)
	msg.Subject = e.names.EventSubject(event.TypeExecutionSucceeded)
	ack, err := e.js.PublishMsg(t.Context(), msg)
	require.NoError(t, err)
	return ack.Sequence
}

// receive reads n live events from s.
func receive(t *testing.T, s *feed.Sub, n int) []feed.Item {
	t.Helper()
	var out []feed.Item
	for len(out) < n {
		select {
		case it, ok := <-s.C():
			require.True(t, ok, "the subscription ended: %s", s.Reason())
			out = append(out, it)
		case <-time.After(30 * time.Second):
			t.Fatalf("%d of %d events within 30 s", len(out), n)
		}
	}
	return out
}

// replay returns what s replays: gaps and events, in order.
func replay(t *testing.T, s *feed.Sub) ([]feed.Gap, []uint64) {
	t.Helper()
	var gaps []feed.Gap
	var seqs []uint64
	require.NoError(t, s.Replay(t.Context(), func(g feed.Gap) error { gaps = append(gaps, g); return nil },
		func(it feed.Item) error { seqs = append(seqs, it.Seq); return nil }))
	return gaps, seqs
}

// collect returns what s replays and then receives live, until n events have come, with the
// gaps on the way: a hub that has just started brings events it catches up on live.
func collect(t *testing.T, s *feed.Sub, n int) ([]feed.Gap, []uint64) {
	t.Helper()
	gaps, seqs := replay(t, s)
	for len(seqs) < n {
		select {
		case it, ok := <-s.C():
			require.True(t, ok, "the subscription ended: %s", s.Reason())
			if it.Gap != nil {
				gaps = append(gaps, *it.Gap)
				continue
			}
			seqs = append(seqs, it.Seq)
		case <-time.After(30 * time.Second):
			t.Fatalf("%d of %d events within 30 s", len(seqs), n)
		}
	}
	return gaps, seqs
}

func seqsOf(items []feed.Item) []uint64 {
	out := make([]uint64, len(items))
	for i, it := range items {
		out[i] = it.Seq
	}
	return out
}

func span(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func TestLiveEventsReachEveryWatcherAsCloudEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, feed.Config{})
	before := e.publish(t, "billing") // before anyone watched: not part of the live feed
	a, err := e.hub.Subscribe(t.Context(), nil)
	require.NoError(t, err)
	defer a.Close()
	b, err := e.hub.Subscribe(t.Context(), nil)
	require.NoError(t, err)
	defer b.Close()
	var want []uint64
	for range 3 {
		want = append(want, e.publish(t, "billing"))
	}
	require.Greater(t, want[0], before)
	for _, s := range []*feed.Sub{a, b} {
		got := receive(t, s, 3)
		require.Equal(t, want, seqsOf(got))
		require.Equal(t, event.TypeExecutionSucceeded, got[0].Type)
		require.Equal(t, "billing", got[0].Namespace)
		require.Equal(t, "job-1", got[0].Subject)
		ev := cloudevents.NewEvent()
		require.NoError(t, json.Unmarshal(got[0].JSON, &ev), "structured JSON")
		require.Equal(t, "exec-2:1:succeeded", ev.ID())
	}
}

// A watcher that reconnects with the id of the last event it saw gets every event after it,
// once: those still in the ring from memory, older ones read back from the stream.
func TestResumeAfterLastEventIDHasNoGap(t *testing.T) {
	t.Parallel()
	e := newEnv(t, feed.Config{Ring: 4})
	first, err := e.hub.Subscribe(t.Context(), nil)
	require.NoError(t, err)
	var seqs []uint64
	for range 10 {
		seqs = append(seqs, e.publish(t, "billing"))
	}
	require.Equal(t, seqs, seqsOf(receive(t, first, 10)))
	// The connection drops after the second event reached the client; a second watcher keeps
	// the hub following the stream.
	keep, err := e.hub.Subscribe(t.Context(), nil)
	require.NoError(t, err)
	defer keep.Close()
	first.Close()

	last := seqs[1]
	again, err := e.hub.Subscribe(t.Context(), &last)
	require.NoError(t, err)
	defer again.Close()
	live := e.publish(t, "billing")
	gaps, replayed := replay(t, again)
	require.Empty(t, gaps)
	require.Equal(t, seqs[2:], replayed, "four from the ring, the rest from the stream")
	require.Equal(t, []uint64{live}, seqsOf(receive(t, again, 1)))

	// Resuming from the newest event replays nothing; from within the ring, only the ring.
	newest := live
	tail, err := e.hub.Subscribe(t.Context(), &newest)
	require.NoError(t, err)
	defer tail.Close()
	gaps, replayed = replay(t, tail)
	require.Empty(t, gaps)
	require.Empty(t, replayed)
	inRing := seqs[8]
	ring, err := e.hub.Subscribe(t.Context(), &inRing)
	require.NoError(t, err)
	defer ring.Close()
	_, replayed = replay(t, ring)
	require.Equal(t, []uint64{seqs[9], live}, replayed)
}

// Events the stream no longer holds are reported as a gap, never silently skipped.
func TestResumeFromBeforeTheStreamReportsTheGap(t *testing.T) {
	t.Parallel()
	e := newEnv(t, feed.Config{Ring: 2})
	w, err := e.hub.Subscribe(t.Context(), nil)
	require.NoError(t, err)
	defer w.Close()
	var seqs []uint64
	for range 6 {
		seqs = append(seqs, e.publish(t, "billing"))
	}
	receive(t, w, 6)
	s, err := e.js.Stream(t.Context(), e.names.EventsStream())
	require.NoError(t, err)
	require.NoError(t, s.Purge(t.Context(), jetstream.WithPurgeSequence(seqs[2]))) // keeps seqs[2:]
	last := seqs[0]
	again, err := e.hub.Subscribe(t.Context(), &last)
	require.NoError(t, err)
	defer again.Close()
	gaps, replayed := replay(t, again)
	require.Equal(t, []feed.Gap{{After: seqs[0], Until: seqs[1], Reason: "these events are older than the stream keeps"}}, gaps)
	require.Equal(t, seqs[2:], replayed)

	// An id from the future (the stream was made anew) is a gap up to now.
	future := seqs[5] + 1000
	reset, err := e.hub.Subscribe(t.Context(), &future)
	require.NoError(t, err)
	defer reset.Close()
	gaps, replayed = replay(t, reset)
	require.Len(t, gaps, 1)
	require.Equal(t, feed.Gap{After: 0, Until: seqs[5], Reason: gaps[0].Reason}, gaps[0], "every event of the stream that is")
	require.Empty(t, replayed)
	next := e.publish(t, "billing")
	require.Equal(t, []uint64{next}, seqsOf(receive(t, reset, 1)))
}

// A resume further behind than MaxBackfill reads back only the newest MaxBackfill events.
func TestResumeTooFarBehindReadsBackTheNewest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, feed.Config{Ring: 1, MaxBackfill: 3})
	w, err := e.hub.Subscribe(t.Context(), nil)
	require.NoError(t, err)
	defer w.Close()
	var seqs []uint64
	for range 8 {
		seqs = append(seqs, e.publish(t, "billing"))
	}
	receive(t, w, 8)
	last := seqs[0]
	again, err := e.hub.Subscribe(t.Context(), &last)
	require.NoError(t, err)
	defer again.Close()
	gaps, replayed := replay(t, again)
	require.Len(t, gaps, 1)
	require.Equal(t, feed.Gap{After: seqs[0], Until: seqs[3], Reason: gaps[0].Reason}, gaps[0])
	require.Contains(t, gaps[0].Reason, "more than 3 events")
	require.Equal(t, seqs[4:], replayed, "three read back, the newest from the ring")
}

// A watcher that does not keep up is dropped with a reason, and resumes without a loss.
func TestSlowWatcherIsDroppedAndResumes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, feed.Config{Buffer: 2})
	slow, err := e.hub.Subscribe(t.Context(), nil)
	require.NoError(t, err)
	defer slow.Close()
	var seqs []uint64
	for range 5 {
		seqs = append(seqs, e.publish(t, "billing"))
	}
	got := receive(t, slow, 2)
	require.Eventually(t, func() bool {
		_, ok := <-slow.C()
		return !ok
	}, 30*time.Second, time.Millisecond)
	require.Contains(t, slow.Reason(), "fell too far behind")
	last := got[1].Seq
	again, err := e.hub.Subscribe(t.Context(), &last)
	require.NoError(t, err)
	defer again.Close()
	// The hub may not have seen the last events yet when the watcher reconnects: what the
	// replay lacks comes live.
	_, replayed := replay(t, again)
	rest := seqsOf(receive(t, again, 3-len(replayed)))
	require.Equal(t, seqs[2:], append(replayed, rest...))
}

// The hub stops following the stream a while after its last watcher left, and a watcher that
// comes back later resumes from the stream.
func TestIdleHubStopsAndResumesFromTheStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t, feed.Config{})
	w, err := e.hub.Subscribe(t.Context(), nil)
	require.NoError(t, err)
	first := e.publish(t, "billing")
	require.Equal(t, []uint64{first}, seqsOf(receive(t, w, 1)))
	w.Close()
	require.NoError(t, e.clock.BlockUntilContext(t.Context(), 1))
	e.clock.Advance(feed.IdleDefault)
	missed := []uint64{e.publish(t, "billing"), e.publish(t, "billing")}
	again, err := e.hub.Subscribe(t.Context(), &first)
	require.NoError(t, err)
	defer again.Close()
	gaps, replayed := collect(t, again, 2)
	require.Empty(t, gaps)
	require.Equal(t, missed, replayed)
	live := e.publish(t, "billing")
	require.Equal(t, []uint64{live}, seqsOf(receive(t, again, 1)))
}

func TestSubscribeAfterStopIsRefused(t *testing.T) {
	t.Parallel()
	_, js, names := testenv.NATS(t)
	hub := feed.New(js, names, clockwork.NewRealClock(), testenv.Logger(t), feed.Config{})
	ctx, cancel := context.WithCancel(t.Context())
	w, err := hub.Subscribe(t.Context(), nil)
	require.NoError(t, err)
	cancel()
	require.NoError(t, hub.Run(ctx))
	_, ok := <-w.C()
	require.False(t, ok)
	require.Contains(t, w.Reason(), "shutting down")
	_, err = hub.Subscribe(t.Context(), nil)
	require.ErrorIs(t, err, feed.ErrClosed)
}

// A hole in the stream (an event removed before it was read) is reported where it is, in a
// read-back and in the live feed alike.
func TestHolesInTheStreamAreReportedAsGaps(t *testing.T) {
	t.Parallel()
	e := newEnv(t, feed.Config{Ring: 2})
	var seqs []uint64
	for range 6 {
		seqs = append(seqs, e.publish(t, "billing"))
	}
	s, err := e.js.Stream(t.Context(), e.names.EventsStream())
	require.NoError(t, err)
	require.NoError(t, s.DeleteMsg(t.Context(), seqs[2]))

	// A hub that starts now reads the hole while filling its ring.
	w, err := e.hub.Subscribe(t.Context(), &seqs[0])
	require.NoError(t, err)
	defer w.Close()
	gaps, got := collect(t, w, 4)
	require.Equal(t, []feed.Gap{{After: seqs[1], Until: seqs[2], Reason: "these events are older than the stream keeps"}}, gaps)
	require.Equal(t, []uint64{seqs[1], seqs[3], seqs[4], seqs[5]}, got)

	// Read back, once the ring has moved past it.
	for range 3 {
		seqs = append(seqs, e.publish(t, "billing"))
	}
	receive(t, w, 3)
	again, err := e.hub.Subscribe(t.Context(), &seqs[0])
	require.NoError(t, err)
	defer again.Close()
	gaps, got = replay(t, again)
	require.Equal(t, []feed.Gap{{After: seqs[1], Until: seqs[2], Reason: "these events are older than the stream keeps"}}, gaps)
	require.Equal(t, []uint64{seqs[1], seqs[3], seqs[4], seqs[5], seqs[6], seqs[7], seqs[8]}, got)
}

// A stream made anew counts from 1 again: the hub starts over instead of waiting for numbers it
// has seen, and its watchers are told to reconnect.
func TestStreamMadeAnewRestartsTheHub(t *testing.T) {
	t.Parallel()
	e := newEnv(t, feed.Config{})
	old, err := e.hub.Subscribe(t.Context(), nil)
	require.NoError(t, err)
	defer old.Close()
	for range 3 {
		e.publish(t, "billing")
	}
	receive(t, old, 3)
	require.NoError(t, e.js.DeleteStream(t.Context(), e.names.EventsStream()))
	require.NoError(t, queue.EnsureStreams(t.Context(), e.js, e.names, queue.StreamsConfig{}))
	first := e.publish(t, "billing")
	require.Equal(t, uint64(1), first)

	fresh, err := e.hub.Subscribe(t.Context(), nil)
	require.NoError(t, err)
	defer fresh.Close()
	_, ok := <-old.C()
	require.False(t, ok)
	require.Contains(t, old.Reason(), "reset")
	next := e.publish(t, "billing")
	require.Equal(t, []uint64{next}, seqsOf(receive(t, fresh, 1)))

	// A watcher resuming with an id of the old stream is told, and gets the new events.
	stale := uint64(3)
	back, err := e.hub.Subscribe(t.Context(), &stale)
	require.NoError(t, err)
	defer back.Close()
	gaps, _ := replay(t, back)
	require.Len(t, gaps, 1)
	require.Contains(t, gaps[0].Reason, "made anew")
	last := e.publish(t, "billing")
	require.Equal(t, []uint64{last}, seqsOf(receive(t, back, 1)))
}

package executor_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// requireNothingRecorded fails unless the wake left no trace: no execution under its id, no
// execution at all beside the want finished ones, and no lifecycle or dead-letter event beside
// the want lifecycle ones.
func requireNothingRecorded(t *testing.T, f *fixture, wake cloudevents.Event, want int) {
	t.Helper()
	_, err := f.store.ExecutionByKey(t.Context(), wake.ID())
	require.ErrorIs(t, err, domain.ErrNotFound)
	finished, _, err := f.store.ExecutionStats(t.Context())
	require.NoError(t, err)
	require.Equal(t, want, finished)
	require.Len(t, lifecycle(t, f), want)
	s, err := f.js.Stream(t.Context(), f.names.DLQStream())
	require.NoError(t, err)
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	require.Zero(t, info.State.Msgs)
}

// A wake is answered at once by both entry points and records nothing, whatever its kind: not
// an execution, not an event.
func TestWakeIsAnsweredWithoutRecording(t *testing.T) {
	t.Parallel()
	f := newFixture(t, executor.Config{})
	now := time.Now().UTC()
	for _, kind := range []domain.JobKind{domain.KindHTTP, domain.KindSQL} {
		wake := event.NewWake(kind, now.Add(time.Minute), "/vecron/tick/t-1")
		require.NoError(t, f.rt.Handle(t.Context(), wake))
		require.NoError(t, f.rt.HandlePushed(t.Context(), wake))
		requireNothingRecorded(t, f, wake, 0)
	}
}

// Over HTTP (Knative's path) a wake is answered 200 in both content modes, and records nothing.
func TestPushedWakeIsAnswered200(t *testing.T) {
	t.Parallel()
	f := newFixture(t, executor.Config{})
	srv := httptest.NewServer(executor.PushHandler(context.Background(), f.rt.HandlePushed, testenv.Logger(t)))
	defer srv.Close()
	wake := event.NewWake(domain.KindHTTP, time.Now().UTC().Add(10*time.Second), "/vecron/tick/t-1")

	binary, err := cehttp.NewHTTPRequestFromEvent(t.Context(), srv.URL, wake)
	require.NoError(t, err)
	body, err := wake.MarshalJSON()
	require.NoError(t, err)
	structured, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader(string(body)))
	require.NoError(t, err)
	structured.Header.Set("Content-Type", "application/cloudevents+json")
	for _, req := range []*http.Request{binary, structured} {
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	requireNothingRecorded(t, f, wake, 0)
}

// Pulled from the due subject (KEDA's path), a wake is acknowledged and records nothing, while
// the fire published behind it runs as usual.
func TestPulledWakeIsAcknowledged(t *testing.T) {
	t.Parallel()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer target.Close()
	f := newFixture(t, executor.Config{})
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL})
	at := f.clock.Now().UTC().Add(-time.Second).Truncate(time.Second)
	wake := event.NewWake(domain.KindHTTP, at, "/vecron/tick/t-1")
	var msgs []queue.Message
	for _, ev := range []cloudevents.Event{wake, dueEvent(t, j, at)} {
		msg, err := event.ToNATS(t.Context(), ev)
		require.NoError(t, err)
		msgs = append(msgs, queue.Message{Subject: f.names.DueSubject(domain.KindHTTP), MsgID: ev.ID(), Msg: msg})
	}
	for _, err := range queue.NewPublisher(f.js).PublishBatch(t.Context(), msgs) {
		require.NoError(t, err)
	}

	p, err := queue.NewPuller(f.js, f.names, domain.KindHTTP, f.rt.Handle, clockwork.NewRealClock(), queue.PullerConfig{Concurrency: 2}, testenv.Logger(t))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()

	stream, err := f.js.Stream(t.Context(), f.names.DueStream())
	require.NoError(t, err)
	testenv.Eventually(t, "both messages acknowledged", func() bool {
		info, err := stream.Info(t.Context())
		require.NoError(t, err)
		return info.State.Msgs == 0
	})
	e, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, e.Status)
	requireNothingRecorded(t, f, wake, 1)
}

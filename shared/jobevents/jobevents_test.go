package jobevents_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/jobevents"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

type env struct {
	st    *store.Store
	js    jetstream.JetStream
	names event.Names
	jobs  *jobs.Service
	ctx   context.Context
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	ctx := domain.WithActor(t.Context(), domain.Actor{ID: "u1", Name: "ann", Kind: "user", Mode: "database"})
	return &env{st: st, js: js, names: names, jobs: jobs.New(st, time.Now), ctx: ctx}
}

// run starts a publisher (one api replica) until the test ends.
func (e *env) run(t *testing.T) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := jobevents.New(e.st, e.js, e.names, clockwork.NewRealClock(), testenv.Logger(t), jobevents.Config{})
	var wg sync.WaitGroup
	wg.Go(func() { _ = p.Run(ctx) })
	stop := func() { cancel(); wg.Wait() }
	t.Cleanup(stop)
	return stop
}

type got struct {
	typ, id, subject, namespace string
	job                         map[string]any
}

// next reads the job events of the stream in order, from the first.
func (e *env) reader(t *testing.T) func() got {
	t.Helper()
	cons, err := e.js.OrderedConsumer(t.Context(), e.names.EventsStream(), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{e.names.EventSubject(event.JobTypePrefix) + ">"}})
	require.NoError(t, err)
	it, err := cons.Messages()
	require.NoError(t, err)
	t.Cleanup(it.Stop)
	return func() got {
		t.Helper()
		done := make(chan struct{})
		timer := time.AfterFunc(30*time.Second, func() { it.Stop(); close(done) })
		defer timer.Stop()
		msg, err := it.Next()
		require.NoError(t, err, "no job event within 30 s")
		ev, err := event.FromNATS(t.Context(), &nats.Msg{Header: msg.Headers(), Data: msg.Data()})
		require.NoError(t, err)
		g := got{typ: ev.Type(), id: ev.ID(), subject: ev.Subject()}
		g.namespace, _ = ev.Extensions()[event.ExtNamespace].(string)
		require.NoError(t, json.Unmarshal(ev.Data(), &g.job))
		return g
	}
}

func httpJob(name string) *domain.Job {
	return &domain.Job{Name: name, Namespace: "billing", Enabled: true, HTTP: &domain.HTTPSpec{URL: "https://example.com/hooks/report",
		Headers: map[string]string{"Authorization": "Bearer {{ var.API_TOKEN }}"}}, Schedule: domain.Schedule{Cron: "0 0 2 * * *"}}
}

// Every change made through the service reaches the stream once, in the order made, with the
// job as the audit log keeps it.
func TestPublishesEachJobChangeOnceInOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// The reader starts before any change: a publisher's first cursor is the head of the log.
	_, err := e.st.AuditCursor(t.Context(), jobevents.CursorName)
	require.NoError(t, err)
	e.run(t)
	e.run(t) // a second replica: they take turns, and nothing goes out twice
	next := e.reader(t)

	j := httpJob("nightly")
	require.NoError(t, e.jobs.Create(e.ctx, j))
	_, err = e.jobs.SetEnabled(e.ctx, j.ID, false)
	require.NoError(t, err)
	_, err = e.jobs.SetEnabled(e.ctx, j.ID, true)
	require.NoError(t, err)
	cur, err := e.jobs.Get(e.ctx, j.ID)
	require.NoError(t, err)
	edit := *cur
	edit.Enabled = false
	edit.Description = "paused for the audit"
	_, err = e.jobs.Update(e.ctx, cur, &edit, cur.Version)
	require.NoError(t, err)
	require.NoError(t, e.jobs.Delete(e.ctx, j.ID))

	want := []string{event.TypeJobCreated, event.TypeJobPaused, event.TypeJobResumed, event.TypeJobUpdated, event.TypeJobPaused, event.TypeJobDeleted}
	var types []string
	for range want {
		g := next()
		types = append(types, g.typ)
		require.Equal(t, j.ID, g.subject)
		require.Equal(t, "billing", g.namespace)
		require.Equal(t, "nightly", g.job["name"])
		headers, _ := g.job["http"].(map[string]any)["headers"].(map[string]any)
		require.Equal(t, "Bearer {{ var.API_TOKEN }}", headers["Authorization"], "a secret is referenced by name")
	}
	require.Equal(t, want, types)

	// Once the cursor has passed the last change, the stream holds each event once.
	rows, err := e.st.AuditAfter(t.Context(), 0, 1000)
	require.NoError(t, err)
	head := rows[len(rows)-1].Seq
	require.Eventually(t, func() bool {
		seq, err := e.st.AuditCursor(t.Context(), jobevents.CursorName)
		return err == nil && seq == head
	}, 30*time.Second, 20*time.Millisecond)
	info, err := e.js.Stream(t.Context(), e.names.EventsStream())
	require.NoError(t, err)
	require.Equal(t, uint64(len(want)), info.CachedInfo().State.Msgs)
}

// A change made while no replica publishes goes out when one starts again: it is read from the
// audit log, not lost with the process that made it.
func TestChangesMadeWhileStoppedArePublishedOnRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.st.AuditCursor(t.Context(), jobevents.CursorName)
	require.NoError(t, err)
	next := e.reader(t)
	stop := e.run(t)
	first := httpJob("first")
	require.NoError(t, e.jobs.Create(e.ctx, first))
	require.Equal(t, first.ID, next().subject)
	stop()

	second := httpJob("second")
	require.NoError(t, e.jobs.Create(e.ctx, second))
	e.run(t)
	g := next()
	require.Equal(t, event.TypeJobCreated, g.typ)
	require.Equal(t, second.ID, g.subject)
}

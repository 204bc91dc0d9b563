package api_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/api"
	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/server"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/variables"
)

// TestInternalEventsListener: the cluster-internal listener takes CloudEvents without a
// credential and starts only jobs of the namespaces it is configured for; it serves nothing
// but POST /events, and the public listener still asks for a token.
func TestInternalEventsListener(t *testing.T) {
	t.Parallel()
	st, dbURL := testfactory.Store(t)
	clk := clockwork.NewFakeClockAt(time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC))
	ident := testfactory.Identity(t, st, testfactory.AuthConfig(t), time.Now)
	a := api.New(api.Deps{Jobs: jobs.New(st, clk.Now), Store: st, Identity: ident,
		Checks: []server.Check{{Name: "postgres", Fn: st.Ping}}}, clk.Now, testenv.Logger(t))
	public := httptest.NewServer(a)
	t.Cleanup(public.Close)
	internal := httptest.NewServer(a.InternalEvents([]string{"shop"}))
	t.Cleanup(internal.Close)
	c := &client{t: t, srv: public, st: st, dbURL: dbURL, token: testfactory.AdminToken(t, st)}
	trigger := `{"filters":[{"exact":{"type":"order.paid"}}]}`
	shop := c.eventJob("shop", "ship", trigger)
	c.eventJob("billing", "invoice", trigger)

	post := func(srv *httptest.Server, body string, header ...string) (int, []byte) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/events", strings.NewReader(body))
		require.NoError(t, err)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, b
	}

	// Structured mode, no credential: only the job of shop starts.
	code, b := post(internal, structured("e-1", "/orders", "order.paid", "", `{"id":7}`), "Content-Type", "application/cloudevents+json")
	require.Equal(t, http.StatusAccepted, code, string(b))
	var out eventAnswer
	require.NoError(t, json.Unmarshal(b, &out))
	require.Len(t, out.Executions, 1)
	require.Equal(t, shop.ID, out.Executions[0].JobID)

	// Binary mode, as a Knative broker delivers: the same event again runs once.
	code, b = post(internal, `{"id":7}`, "Content-Type", "application/json", "Ce-Specversion", "1.0", "Ce-Id", "e-1",
		"Ce-Source", "/orders", "Ce-Type", "order.paid")
	require.Equal(t, http.StatusAccepted, code, string(b))
	require.NoError(t, json.Unmarshal(b, &out))
	require.Equal(t, shop.ID, out.Executions[0].JobID)

	// Nothing else is served there, and what is not a CloudEvent is 415.
	for _, path := range []string{"/api/v1/jobs", "/hooks/vwh_x", "/api/v1/openapi.json", "/"} {
		resp, err := internal.Client().Get(internal.URL + path)
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Contains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed}, resp.StatusCode, path)
	}
	code, _ = post(internal, `{}`, "Content-Type", "application/json")
	require.Equal(t, http.StatusUnsupportedMediaType, code)
	code, _ = post(internal, `{"specversion":"1.0"}`, "Content-Type", "application/cloudevents+json")
	require.Equal(t, http.StatusBadRequest, code)

	// The public listener still needs a token with event:publish.
	code, _ = post(public, structured("e-2", "/orders", "order.paid", "", `{}`), "Content-Type", "application/cloudevents+json")
	require.Equal(t, http.StatusUnauthorized, code)
}

// sinkFixture is an api with its internal listener, its variables and, unless made without,
// NATS streams of its own for the dead letters it publishes.
type sinkFixture struct {
	t        *testing.T
	st       *store.Store
	c        *client
	js       jetstream.JetStream
	names    event.Names
	vars     *variables.Service
	internal *httptest.Server
}

func newSinkFixture(t *testing.T, withNATS bool) *sinkFixture {
	t.Helper()
	st, dbURL := testfactory.Store(t)
	key, err := secret.NewKey("test")
	require.NoError(t, err)
	keys, err := secret.ParseKeys(key)
	require.NoError(t, err)
	clk := clockwork.NewFakeClockAt(time.Now().UTC())
	ident := testfactory.Identity(t, st, testfactory.AuthConfig(t), time.Now)
	vars := variables.New(st, keys, clk.Now)
	d := api.Deps{Jobs: jobs.New(st, clk.Now), Vars: vars, Store: st, Identity: ident,
		Checks: []server.Check{{Name: "postgres", Fn: st.Ping}}}
	f := &sinkFixture{t: t, st: st, vars: vars}
	if withNATS {
		_, f.js, f.names = testenv.NATS(t)
		d.DeadLetters, d.Names = queue.NewPublisher(f.js), f.names
	}
	a := api.New(d, clk.Now, testenv.Logger(t))
	public := httptest.NewServer(a)
	t.Cleanup(public.Close)
	f.internal = httptest.NewServer(a.InternalEvents([]string{"shop"}))
	t.Cleanup(f.internal.Close)
	f.c = &client{t: t, srv: public, st: st, dbURL: dbURL, token: testfactory.AdminToken(t, st)}
	return f
}

// due is the due event of job's fire at at with key, as the broker dead-letters it: Knative's
// error extensions set from ext (name, value pairs).
func (f *sinkFixture) due(j *domain.Job, at time.Time, trigger domain.Trigger, key string, ext ...string) cloudevents.Event {
	f.t.Helper()
	ev, err := event.NewDue(event.DueFor(j, at, trigger, key), "/vecron/tick/t-1")
	require.NoError(f.t, err)
	for i := 0; i+1 < len(ext); i += 2 {
		ev.SetExtension(ext[i], ext[i+1])
	}
	return ev
}

// post posts ev in binary mode to srv's /dead-letter, as a broker does, and returns the answer.
func (f *sinkFixture) post(srv *httptest.Server, ev cloudevents.Event) (int, []byte) {
	f.t.Helper()
	req, err := cehttp.NewHTTPRequestFromEvent(f.t.Context(), srv.URL+api.DeadLetterPath, ev)
	require.NoError(f.t, err)
	return f.send(srv, req)
}

func (f *sinkFixture) send(srv *httptest.Server, req *http.Request) (int, []byte) {
	f.t.Helper()
	resp, err := srv.Client().Do(req)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(f.t, err)
	return resp.StatusCode, b
}

// sinkAnswer is the sink's answer: whether it recorded, and the execution's id, no more.
type sinkAnswer struct {
	Recorded    bool   `json:"recorded"`
	Reason      string `json:"reason"`
	ExecutionID string `json:"execution_id"`
}

// execution returns the execution a's id names, as stored.
func (f *sinkFixture) execution(a sinkAnswer) *domain.Execution {
	f.t.Helper()
	require.NotEmpty(f.t, a.ExecutionID)
	e, err := f.st.GetExecution(f.t.Context(), a.ExecutionID)
	require.NoError(f.t, err)
	return e
}

// recorded posts ev to the internal listener, requires 200 and returns the answer.
func (f *sinkFixture) recorded(ev cloudevents.Event) sinkAnswer {
	f.t.Helper()
	code, b := f.post(f.internal, ev)
	require.Equal(f.t, http.StatusOK, code, string(b))
	var a sinkAnswer
	require.NoError(f.t, json.Unmarshal(b, &a))
	return a
}

// problemOf posts ev to the internal listener and requires a problem of status naming field.
func (f *sinkFixture) problemOf(ev cloudevents.Event, status int, field string) {
	f.t.Helper()
	code, b := f.post(f.internal, ev)
	require.Equal(f.t, status, code, string(b))
	var p problem
	require.NoError(f.t, json.Unmarshal(b, &p))
	require.Contains(f.t, fields(p), field, string(b))
}

// messages returns the events stream holds on subjects.
func (f *sinkFixture) messages(stream, subjects string) []cloudevents.Event {
	f.t.Helper()
	c, err := f.js.OrderedConsumer(f.t.Context(), stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subjects}})
	require.NoError(f.t, err)
	var out []cloudevents.Event
	for {
		msgs, err := c.FetchNoWait(100)
		require.NoError(f.t, err)
		n := 0
		for m := range msgs.Messages() {
			n++
			ev, err := event.FromNATS(f.t.Context(), &nats.Msg{Subject: m.Subject(), Header: m.Headers(), Data: m.Data()})
			require.NoError(f.t, err)
			out = append(out, ev)
		}
		if n == 0 {
			return out
		}
	}
}

// audited returns the audit rows of the sink.
func (f *sinkFixture) audited() []*audit.Record {
	f.t.Helper()
	rows, err := f.st.ListAudit(f.t.Context(), store.AuditFilter{Action: "execution.dead_letter", Limit: 100})
	require.NoError(f.t, err)
	return rows
}

// A fire the broker gave up delivering, which no executor recorded, is recorded dead-lettered
// with reason undelivered and Knative's error extensions — the answer's excerpt bounded, the
// job's secret masked, the destination its scheme, host and port only — audited as the internal
// listener, published to the dead-letter stream and as its lifecycle event, and listed for
// replay. The same event again changes nothing and publishes nothing more.
func TestDeadLetterSinkRecordsAnUndeliveredFire(t *testing.T) {
	t.Parallel()
	f := newSinkFixture(t, true)
	j := testfactory.Job(t, f.st, testfactory.JobOpts{Namespace: "shop"})
	const token = "s3cr3t-v4lue-of-the-job"
	yes := true
	value := token
	_, _, err := f.vars.Put(t.Context(), domain.ScopeJob, j.ID, "token", variables.PutRequest{Value: &value, IsSecret: &yes})
	require.NoError(t, err)
	at := time.Now().UTC().Add(-50 * time.Second).Truncate(time.Second)
	key := domain.ScheduledKey(j.ID, at)
	body := "upstream refused, token=" + token + "\n" + strings.Repeat("ü", 2000)
	ev := f.due(j, at, domain.TriggerSchedule, key,
		api.ExtErrorDest, "http://knative:pw-of-the-dest@execute-http.vecron.svc.cluster.local/?access_token=qs-secret",
		api.ExtErrorCode, "503",
		// As Knative writes it: base64, the encoding cut at 1024 characters, mid-quantum.
		api.ExtErrorData, base64.StdEncoding.EncodeToString([]byte(body))[:1023])

	a := f.recorded(ev)
	require.True(t, a.Recorded)
	e := f.execution(a)
	require.Equal(t, domain.StatusDeadLettered, e.Status)
	require.Equal(t, key, e.IdempotencyKey)
	require.Equal(t, j.ID, e.JobID)
	require.Zero(t, e.Attempt, "no attempt ran")
	require.True(t, strings.HasPrefix(e.Error, api.UndeliveredPrefix), e.Error)
	require.Contains(t, e.Error, "to http://execute-http.vecron.svc.cluster.local (last answer")
	require.Contains(t, e.Error, "HTTP 503")
	require.Contains(t, e.Error, "upstream refused")
	for _, secretText := range []string{token, "pw-of-the-dest", "qs-secret", "knative:"} {
		require.NotContains(t, e.Error, secretText)
	}
	require.Less(t, len(e.Error), 600, "the excerpt is bounded")
	require.True(t, utf8.ValidString(e.Error))
	require.NotContains(t, e.Error, "\n")

	stored, err := f.st.ExecutionByKey(t.Context(), key)
	require.NoError(t, err)
	require.Equal(t, e.ID, stored.ID)
	require.Equal(t, domain.StatusDeadLettered, stored.Status)
	require.Equal(t, domain.DeadLetterPending, stored.DeadLetter.State)
	list, err := f.st.ListDeadLetters(t.Context(), store.ListDeadLettersParams{State: domain.DeadLetterPending, Limit: 10})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, e.ID, list[0].ID)

	rows := f.audited()
	require.Len(t, rows, 1)
	require.Equal(t, api.InternalEventsActor, rows[0].ActorID)
	require.Equal(t, e.ID, rows[0].ObjectID)
	require.Equal(t, "shop", rows[0].Namespace)
	require.NotContains(t, string(rows[0].After), token)

	check := func() {
		dlq := f.messages(f.names.DLQStream(), f.names.DLQSubject(domain.KindHTTP))
		require.Len(t, dlq, 1)
		require.Equal(t, event.TypeExecutionDeadLettered, dlq[0].Type())
		require.Equal(t, j.ID, dlq[0].Subject())
		require.NotContains(t, string(dlq[0].Data()), token)
		lifecycle := f.messages(f.names.EventsStream(), f.names.EventSubject(event.TypeExecutionDeadLettered))
		require.Len(t, lifecycle, 1)
		require.Equal(t, dlq[0].ID(), lifecycle[0].ID())
	}
	check()

	// The broker delivers it again: nothing more is recorded, audited or stored.
	again := f.recorded(ev)
	require.False(t, again.Recorded)
	require.Equal(t, e.ID, again.ExecutionID)
	require.Equal(t, e.FinishedAt, f.execution(again).FinishedAt)
	require.Len(t, f.audited(), 1)
	check()
}

// A fire whose execution waits for a delivery (queued: a run started by hand, or a retry) is
// dead-lettered in place; one that runs is answered 409 and one that ended is left as it is:
// nothing recorded, audited or published for either.
func TestDeadLetterSinkLeavesRunningAndEndedExecutions(t *testing.T) {
	t.Parallel()
	f := newSinkFixture(t, true)
	j := testfactory.Job(t, f.st, testfactory.JobOpts{Namespace: "shop"})

	// Queued by hand.
	code, _, b := f.c.do(http.MethodPost, "/api/v1/jobs/"+j.ID+"/trigger", `{}`)
	require.Equal(t, http.StatusAccepted, code, string(b))
	var run struct {
		ExecutionID string `json:"execution_id"`
	}
	require.NoError(t, json.Unmarshal(b, &run))
	queued, err := f.st.GetExecution(t.Context(), run.ExecutionID)
	require.NoError(t, err)
	require.Equal(t, domain.StatusQueued, queued.Status)
	a := f.recorded(f.due(j, queued.ScheduledAt, domain.TriggerManual, queued.IdempotencyKey, api.ExtErrorCode, "502"))
	require.True(t, a.Recorded)
	require.Equal(t, queued.ID, a.ExecutionID, "the same execution, ended")
	require.Equal(t, domain.StatusDeadLettered, f.execution(a).Status)
	rows := f.audited()
	require.Len(t, rows, 1)
	require.NotEmpty(t, rows[0].Before)

	// Running on a worker, then succeeded.
	at := time.Now().UTC().Add(-50 * time.Second).Truncate(time.Second)
	now := time.Now().UTC()
	e := &domain.Execution{ID: uuid.NewString(), JobID: j.ID, JobVersion: j.Version, IdempotencyKey: domain.ScheduledKey(j.ID, at),
		Trigger: domain.TriggerSchedule, ScheduledAt: at, StartedAt: &now, Status: domain.StatusRunning, Attempt: 1, WorkerID: "w1"}
	outcome, err := f.st.StartExecution(t.Context(), e, store.StartParams{StaleAfter: time.Minute})
	require.NoError(t, err)
	require.Equal(t, store.Started, outcome)
	ev := f.due(j, at, domain.TriggerSchedule, e.IdempotencyKey, api.ExtErrorCode, "504")
	f.problemOf(ev, http.StatusConflict, "status")
	got, err := f.st.ExecutionByKey(t.Context(), e.IdempotencyKey)
	require.NoError(t, err)
	require.Equal(t, domain.StatusRunning, got.Status)

	e.Status, e.FinishedAt = domain.StatusSucceeded, &now
	require.NoError(t, f.st.FinishExecution(t.Context(), e, &domain.Attempt{Attempt: 1, StartedAt: &now, FinishedAt: now,
		Status: domain.StatusSucceeded, WorkerID: "w1"}))
	a = f.recorded(ev)
	require.False(t, a.Recorded)
	require.Equal(t, e.ID, a.ExecutionID)
	got, err = f.st.ExecutionByKey(t.Context(), e.IdempotencyKey)
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, got.Status)
	require.Empty(t, got.Error)
	require.Nil(t, got.DeadLetter)

	require.Len(t, f.audited(), 1, "only the queued one")
	require.Len(t, f.messages(f.names.DLQStream(), f.names.DLQSubjects()), 1)
}

// Hostile and malformed deliveries: the public port does not serve the sink; an event for a job
// that does not exist, or naming another job's execution, records nothing and corrupts nothing;
// every malformed event is refused with the field named; a wake is dropped; and without NATS the
// sink refuses before recording.
func TestDeadLetterSinkRefusesWhatItMustNotRecord(t *testing.T) {
	t.Parallel()
	f := newSinkFixture(t, true)
	a := testfactory.Job(t, f.st, testfactory.JobOpts{Namespace: "shop"})
	b := testfactory.Job(t, f.st, testfactory.JobOpts{Namespace: "billing"})
	at := time.Now().UTC().Add(-50 * time.Second).Truncate(time.Second)
	keyA := domain.ScheduledKey(a.ID, at)
	now := time.Now().UTC()
	ea := &domain.Execution{ID: uuid.NewString(), JobID: a.ID, JobVersion: a.Version, IdempotencyKey: keyA,
		Trigger: domain.TriggerSchedule, ScheduledAt: at, StartedAt: &now, Status: domain.StatusRunning, Attempt: 1, WorkerID: "w1"}
	_, err := f.st.StartExecution(t.Context(), ea, store.StartParams{StaleAfter: time.Minute})
	require.NoError(t, err)
	ea.Status, ea.FinishedAt = domain.StatusSucceeded, &now
	require.NoError(t, f.st.FinishExecution(t.Context(), ea, &domain.Attempt{Attempt: 1, StartedAt: &now, FinishedAt: now,
		Status: domain.StatusSucceeded, WorkerID: "w1"}))

	// The public port: no such route, with or without a token.
	keyB := domain.ScheduledKey(b.ID, at)
	evB := f.due(b, at, domain.TriggerSchedule, keyB)
	code, _ := f.post(f.c.srv, evB)
	require.Contains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusUnauthorized}, code)
	req, err := cehttp.NewHTTPRequestFromEvent(t.Context(), f.c.srv.URL+api.DeadLetterPath, evB)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+f.c.token)
	code, _ = f.send(f.c.srv, req)
	require.Contains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed}, code)
	_, err = f.st.ExecutionByKey(t.Context(), keyB)
	require.ErrorIs(t, err, domain.ErrNotFound)

	// A job that does not exist.
	gone := *b
	gone.ID = uuid.NewString()
	f.problemOf(f.due(&gone, at, domain.TriggerSchedule, domain.ScheduledKey(gone.ID, at)), http.StatusUnprocessableEntity, "data.job_id")
	_, err = f.st.ExecutionByKey(t.Context(), domain.ScheduledKey(gone.ID, at))
	require.ErrorIs(t, err, domain.ErrNotFound)

	// Job b's data under job a's key (its execution succeeded): refused, a's execution as it was.
	f.problemOf(f.due(b, at, domain.TriggerSchedule, keyA), http.StatusBadRequest, "id")
	got, err := f.st.ExecutionByKey(t.Context(), keyA)
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, got.Status)
	require.Equal(t, a.ID, got.JobID)

	// Malformed events, each refused naming its field.
	ok := f.due(b, at, domain.TriggerSchedule, keyB)
	for name, c := range map[string]struct {
		mutate func(*cloudevents.Event)
		field  string
	}{
		"Type": {func(ev *cloudevents.Event) { ev.SetType("order.paid") }, "type"},
		"Data": {func(ev *cloudevents.Event) {
			_ = ev.SetData(cloudevents.ApplicationJSON, map[string]string{"job_id": "x"})
		}, "data"},
		"Kind":       {func(ev *cloudevents.Event) { setDue(t, ev, func(d *event.Due) { d.Kind = "ftp" }) }, "data.kind"},
		"Code":       {func(ev *cloudevents.Event) { ev.SetExtension(api.ExtErrorCode, "700") }, api.ExtErrorCode},
		"CodeText":   {func(ev *cloudevents.Event) { ev.SetExtension(api.ExtErrorCode, "bad") }, api.ExtErrorCode},
		"Dest":       {func(ev *cloudevents.Event) { ev.SetExtension(api.ExtErrorDest, "not a url") }, api.ExtErrorDest},
		"DataBase64": {func(ev *cloudevents.Event) { ev.SetExtension(api.ExtErrorData, "%%%%-") }, api.ExtErrorData},
	} {
		ev := ok.Clone()
		c.mutate(&ev)
		t.Log(name)
		f.problemOf(ev, http.StatusBadRequest, c.field)
	}
	batch := `[` + structured("x", "/s", event.TypeJobDue, "", `{}`) + `,` + structured("y", "/s", event.TypeJobDue, "", `{}`) + `]`
	req, err = http.NewRequestWithContext(t.Context(), http.MethodPost, f.internal.URL+api.DeadLetterPath, strings.NewReader(batch))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	code, body := f.send(f.internal, req)
	require.Equal(t, http.StatusBadRequest, code, string(body))
	require.Contains(t, string(body), `"body"`)
	req, err = http.NewRequestWithContext(t.Context(), http.MethodPost, f.internal.URL+api.DeadLetterPath, strings.NewReader(`{}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	code, _ = f.send(f.internal, req)
	require.Equal(t, http.StatusUnsupportedMediaType, code)
	_, err = f.st.ExecutionByKey(t.Context(), keyB)
	require.ErrorIs(t, err, domain.ErrNotFound)

	// A wake is dropped.
	w := f.recorded(event.NewWake(domain.KindHTTP, at, "/vecron/tick/t-1"))
	require.False(t, w.Recorded)
	require.Empty(t, w.ExecutionID)

	require.Empty(t, f.audited())
	require.Empty(t, f.messages(f.names.DLQStream(), f.names.DLQSubjects()))

	// Without NATS the sink refuses before it records.
	off := newSinkFixture(t, false)
	c := testfactory.Job(t, off.st, testfactory.JobOpts{})
	code, _ = off.post(off.internal, off.due(c, at, domain.TriggerSchedule, domain.ScheduledKey(c.ID, at)))
	require.Equal(t, http.StatusServiceUnavailable, code)
	_, err = off.st.ExecutionByKey(t.Context(), domain.ScheduledKey(c.ID, at))
	require.ErrorIs(t, err, domain.ErrNotFound)
}

// setDue rewrites the due data of ev with change.
func setDue(t *testing.T, ev *cloudevents.Event, change func(*event.Due)) {
	t.Helper()
	var d event.Due
	require.NoError(t, json.Unmarshal(ev.Data(), &d))
	change(&d)
	require.NoError(t, ev.SetData(cloudevents.ApplicationJSON, d))
}

// A fixed_delay job's next run counts from the end of its fire: a fire the broker gave up on
// ends there, and without a next run set from it the job would never fire again.
func TestDeadLetterSinkSchedulesAFixedDelayJob(t *testing.T) {
	t.Parallel()
	f := newSinkFixture(t, true)
	every := 30 * time.Second
	j := testfactory.Job(t, f.st, testfactory.JobOpts{Namespace: "shop", Waiting: true,
		Schedule: &domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: domain.Duration(every)}})
	at := time.Now().UTC().Add(-50 * time.Second).Truncate(time.Second)
	a := f.recorded(f.due(j, at, domain.TriggerSchedule, domain.ScheduledKey(j.ID, at)))
	require.True(t, a.Recorded)
	got, err := f.st.GetJob(t.Context(), j.ID)
	require.NoError(t, err)
	require.NotNil(t, got.NextRunAt)
	require.WithinDuration(t, f.execution(a).FinishedAt.Add(every), *got.NextRunAt, time.Second)
}

package api_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/api"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/variables"
)

// requireNoExecution requires that key has no execution.
func (f *sinkFixture) requireNoExecution(key string) {
	f.t.Helper()
	_, err := f.st.ExecutionByKey(f.t.Context(), key)
	require.ErrorIs(f.t, err, domain.ErrNotFound, key)
}

// requireNoHistoryDay requires that no history partition was made for the day of at.
func (f *sinkFixture) requireNoHistoryDay(at time.Time) {
	f.t.Helper()
	days, err := f.st.HistoryDays(f.t.Context())
	require.NoError(f.t, err)
	for _, d := range days {
		require.False(f.t, d.Day.Equal(store.Day(at)), "a partition of %s", store.Day(at))
	}
}

// The sink cannot tell the broker from anyone else who can make the broker deliver to it, so it
// believes of an event only what the database confirms: a fire in the future, a key that is
// not the fire's instant, a fire no claim or outbox handed out, and a day before the job existed
// are refused before anything (a history partition included) is written; the job's version,
// schedule and trigger come from its row, so a forged fixed_delay schedule moves no cron job;
// and the answer says whether it recorded, never what the execution holds.
func TestDeadLetterSinkRefusesForgedFires(t *testing.T) {
	t.Parallel()
	f := newSinkFixture(t, true)
	now := time.Now().UTC().Truncate(time.Second) // on the jobs' every-second schedule
	// Due 30 s ago and not claimed yet: its fire was handed out to no one.
	pending := domain.Instant(now.Add(-30 * time.Second))
	j := testfactory.Job(t, f.st, testfactory.JobOpts{Namespace: "shop", NextRunAt: pending})

	// The next fire, an hour ahead: a dead letter would make it AlreadyDone.
	future := domain.Instant(now.Add(time.Hour))
	f.problemOf(f.due(j, future, domain.TriggerSchedule, domain.ScheduledKey(j.ID, future)), http.StatusBadRequest, "data.scheduled_at")
	f.requireNoExecution(domain.ScheduledKey(j.ID, future))
	far := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	f.problemOf(f.due(j, far, domain.TriggerSchedule, domain.ScheduledKey(j.ID, far)), http.StatusBadRequest, "data.scheduled_at")
	f.requireNoHistoryDay(far)

	// A key that names another instant than the event's.
	past := domain.Instant(now.Add(-10 * time.Second))
	f.problemOf(f.due(j, past, domain.TriggerSchedule, domain.ScheduledKey(j.ID, pending)), http.StatusBadRequest, "id")
	f.requireNoExecution(domain.ScheduledKey(j.ID, pending))
	// A scheduled fire's key under another trigger.
	f.problemOf(f.due(j, past, domain.TriggerManual, domain.ScheduledKey(j.ID, past)), http.StatusBadRequest, "data.trigger")
	f.requireNoExecution(domain.ScheduledKey(j.ID, past))

	// The fire due now, not claimed: the claim would find it done and never run it.
	f.problemOf(f.due(j, pending, domain.TriggerSchedule, domain.ScheduledKey(j.ID, pending)), http.StatusUnprocessableEntity, "id")
	f.requireNoExecution(domain.ScheduledKey(j.ID, pending))
	// A manual run that was never queued.
	manual := domain.Key(j.ID, domain.TriggerManual, past, uuid.NewString())
	f.problemOf(f.due(j, past, domain.TriggerManual, manual), http.StatusUnprocessableEntity, "id")
	f.requireNoExecution(manual)
	// A backfill nobody asked for.
	f.problemOf(f.due(j, past, domain.TriggerBackfill, domain.ScheduledKey(j.ID, past)), http.StatusUnprocessableEntity, "id")
	f.requireNoExecution(domain.ScheduledKey(j.ID, past))

	// A day long before the job existed: refused before its partition is made.
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	claimed := testfactory.Job(t, f.st, testfactory.JobOpts{Namespace: "shop", NextRunAt: domain.Instant(now.Add(time.Hour))})
	f.problemOf(f.due(claimed, old, domain.TriggerSchedule, domain.ScheduledKey(claimed.ID, old)), http.StatusUnprocessableEntity, "id")
	f.requireNoHistoryDay(old)

	// A cron job whose claim passed the instant: recorded, but as the job's row says — its
	// version, its trigger — and its next run stays where the claim put it, whatever schedule
	// the event claims.
	ev := f.due(claimed, past, domain.TriggerSchedule, domain.ScheduledKey(claimed.ID, past))
	setDue(t, &ev, func(d *event.Due) {
		d.JobVersion = 999
		d.Schedule = domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: domain.Duration(10000 * time.Hour)}
		d.Timezone = "Pacific/Kiritimati"
	})
	code, body := f.post(f.internal, ev)
	require.Equal(t, http.StatusOK, code, string(body))
	var answer map[string]any
	require.NoError(t, json.Unmarshal(body, &answer))
	require.Equal(t, true, answer["recorded"])
	stored, err := f.st.ExecutionByKey(t.Context(), domain.ScheduledKey(claimed.ID, past))
	require.NoError(t, err)
	require.Equal(t, claimed.Version, stored.JobVersion)
	require.Equal(t, domain.TriggerSchedule, stored.Trigger)
	require.Equal(t, stored.ID, answer["execution_id"])
	got, err := f.st.GetJob(t.Context(), claimed.ID)
	require.NoError(t, err)
	require.NotNil(t, got.NextRunAt)
	require.True(t, claimed.NextRunAt.Equal(*got.NextRunAt), "next run moved to %s", got.NextRunAt)

	// Another namespace's ended execution: the answer tells nothing of it.
	other := testfactory.Job(t, f.st, testfactory.JobOpts{Namespace: "billing", NextRunAt: domain.Instant(now.Add(time.Hour))})
	started := time.Now().UTC()
	e := &domain.Execution{ID: uuid.NewString(), JobID: other.ID, JobVersion: other.Version, IdempotencyKey: domain.ScheduledKey(other.ID, past),
		Trigger: domain.TriggerSchedule, ScheduledAt: past, StartedAt: &started, Status: domain.StatusRunning, Attempt: 1, WorkerID: "w1"}
	_, err = f.st.StartExecution(t.Context(), e, store.StartParams{StaleAfter: time.Minute})
	require.NoError(t, err)
	e.Status, e.FinishedAt, e.ResponseExcerpt = domain.StatusSucceeded, &started, "private-response-of-billing"
	require.NoError(t, f.st.FinishExecution(t.Context(), e, &domain.Attempt{Attempt: 1, StartedAt: &started, FinishedAt: started,
		Status: domain.StatusSucceeded, WorkerID: "w1"}))
	code, body = f.post(f.internal, f.due(other, past, domain.TriggerSchedule, e.IdempotencyKey))
	require.Equal(t, http.StatusOK, code, string(body))
	answer = nil
	require.NoError(t, json.Unmarshal(body, &answer))
	for k := range answer {
		require.Contains(t, []string{"recorded", "execution_id"}, k, string(body))
	}
	require.Equal(t, false, answer["recorded"])
	for _, leak := range []string{"succeeded", "private-response", "w1", "billing"} {
		require.NotContains(t, string(body), leak)
	}
}

// A fixed_delay job whose dead letter was recorded but not published (503) gets its next run
// from the redelivery that publishes it: the sink sets it whenever the fire's execution is an
// undelivered dead letter, not only when this delivery recorded it.
func TestDeadLetterSinkSchedulesAFixedDelayJobOnRedelivery(t *testing.T) {
	t.Parallel()
	f := newSinkFixture(t, true)
	every := 30 * time.Second
	j := testfactory.Job(t, f.st, testfactory.JobOpts{Namespace: "shop", Waiting: true,
		Schedule: &domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: domain.Duration(every)}})
	at := domain.Instant(time.Now().Add(-10 * time.Second).Truncate(time.Second))
	ev := f.due(j, at, domain.TriggerSchedule, domain.ScheduledKey(j.ID, at))

	// The dead-letter stream is gone: recorded, publishing failed, 503.
	require.NoError(t, f.js.DeleteStream(t.Context(), f.names.DLQStream()))
	code, body := f.post(f.internal, ev)
	require.Equal(t, http.StatusServiceUnavailable, code, string(body))
	stored, err := f.st.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
	require.NoError(t, err)
	require.Equal(t, domain.StatusDeadLettered, stored.Status)

	// The broker delivers it again: published, and the job has its next run.
	require.NoError(t, queue.EnsureStreams(t.Context(), f.js, f.names, queue.StreamsConfig{}))
	a := f.recorded(ev)
	require.False(t, a.Recorded)
	got, err := f.st.GetJob(t.Context(), j.ID)
	require.NoError(t, err)
	require.NotNil(t, got.NextRunAt, "a fixed_delay job left without a next run never fires again")
	require.WithinDuration(t, stored.FinishedAt.Add(every), *got.NextRunAt, time.Second)
	require.Len(t, f.messages(f.names.DLQStream(), f.names.DLQSubjects()), 1)
}

// A fixed_delay fire is handed out while its job waits for it to end; a forged older fire of
// such a job, or one beside a fire still running, is not, and sets no next run beside it.
func TestDeadLetterSinkRefusesAForgedFixedDelayFire(t *testing.T) {
	t.Parallel()
	f := newSinkFixture(t, true)
	j := testfactory.Job(t, f.st, testfactory.JobOpts{Namespace: "shop", Waiting: true,
		Schedule: &domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: domain.Duration(time.Minute)}})
	running := domain.Instant(time.Now().Add(-20 * time.Second))
	started := time.Now().UTC()
	e := &domain.Execution{ID: uuid.NewString(), JobID: j.ID, JobVersion: j.Version, IdempotencyKey: domain.ScheduledKey(j.ID, running),
		Trigger: domain.TriggerSchedule, ScheduledAt: running, StartedAt: &started, Status: domain.StatusRunning, Attempt: 1, WorkerID: "w1"}
	_, err := f.st.StartExecution(t.Context(), e, store.StartParams{StaleAfter: time.Minute})
	require.NoError(t, err)
	for _, at := range []time.Time{running.Add(-5 * time.Second), running.Add(5 * time.Second)} {
		f.problemOf(f.due(j, at, domain.TriggerSchedule, domain.ScheduledKey(j.ID, at)), http.StatusUnprocessableEntity, "id")
		f.requireNoExecution(domain.ScheduledKey(j.ID, at))
	}
	got, err := f.st.GetJob(t.Context(), j.ID)
	require.NoError(t, err)
	require.Nil(t, got.NextRunAt, "no second fire beside the running one")
}

// The review's nits: a key whose execution belongs to another job is a 422 (Knative retries a
// 409 in vain); the excerpt keeps no format character (U+202E turns what follows around on a
// screen); the destination's path, which may hold a token the job's secrets do not know, is not
// kept: scheme, host and port only.
func TestDeadLetterSinkCleansWhatItKeeps(t *testing.T) {
	t.Parallel()
	f := newSinkFixture(t, true)
	now := time.Now().UTC().Truncate(time.Second)
	a := testfactory.Job(t, f.st, testfactory.JobOpts{Namespace: "shop", NextRunAt: domain.Instant(now.Add(time.Hour))})
	b := testfactory.Job(t, f.st, testfactory.JobOpts{Namespace: "shop", NextRunAt: domain.Instant(now.Add(time.Hour))})
	at := domain.Instant(now.Add(-10 * time.Second))
	keyA := domain.ScheduledKey(a.ID, at)
	e := &domain.Execution{ID: uuid.NewString(), JobID: b.ID, JobVersion: b.Version, IdempotencyKey: keyA,
		Trigger: domain.TriggerSchedule, ScheduledAt: at, StartedAt: &now, Status: domain.StatusRunning, Attempt: 1, WorkerID: "w1"}
	_, err := f.st.StartExecution(t.Context(), e, store.StartParams{StaleAfter: time.Minute})
	require.NoError(t, err)
	f.problemOf(f.due(a, at, domain.TriggerSchedule, keyA), http.StatusUnprocessableEntity, "data.job_id")

	const token = "p4th-s3cret-of-the-job"
	yes, value := true, token
	_, _, err = f.vars.Put(t.Context(), domain.ScopeJob, a.ID, "token", variables.PutRequest{Value: &value, IsSecret: &yes})
	require.NoError(t, err)
	at2 := at.Add(-time.Second)
	body := "evil \u202Etxt.exe\u200B\u2066 end\x00\x1b[31m"
	ev := f.due(a, at2, domain.TriggerSchedule, domain.ScheduledKey(a.ID, at2),
		api.ExtErrorDest, "http://execute-http.vecron.svc.cluster.local:8080/hooks/"+token+"/unkn0wn-t0ken?k=q",
		api.ExtErrorCode, "500",
		api.ExtErrorData, base64.StdEncoding.EncodeToString([]byte(body)))
	require.True(t, f.recorded(ev).Recorded)
	stored, err := f.st.ExecutionByKey(t.Context(), domain.ScheduledKey(a.ID, at2))
	require.NoError(t, err)
	require.NotContains(t, stored.Error, token)
	require.NotContains(t, stored.Error, "unkn0wn-t0ken")
	require.Contains(t, stored.Error, " to http://execute-http.vecron.svc.cluster.local:8080 (last answer: HTTP 500)")
	require.Contains(t, stored.Error, "evil")
	require.False(t, strings.ContainsFunc(stored.Error, func(r rune) bool {
		return slices.Contains([]rune{'\u202E', '\u200B', '\u2066', 0, 0x1b}, r)
	}), "%q", stored.Error)
}

// A backfill's fire leaves the outbox once published, so what shows it was handed out is the
// backfill on record: a fire in its range is recorded (trigger backfill, from the record); one
// outside it is refused, and so is the range's fire claimed as a scheduled one the claim never
// passed.
func TestDeadLetterSinkRecordsABackfillFire(t *testing.T) {
	t.Parallel()
	f := newSinkFixture(t, true)
	// Hourly, next run an hour ahead: every past hour was passed by no claim of this job but
	// the backfill's.
	j := testfactory.Job(t, f.st, testfactory.JobOpts{Namespace: "shop", Cron: "0 0 * * * ?"})
	to := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	from := to.Add(-2 * time.Hour)
	req, err := json.Marshal(map[string]any{"from": from, "to": to, "rate": 100})
	require.NoError(t, err)
	code, _, b := f.c.do(http.MethodPost, "/api/v1/jobs/"+j.ID+"/backfill", string(req))
	require.Equal(t, http.StatusAccepted, code, string(b))
	keys := []string{domain.ScheduledKey(j.ID, from), domain.ScheduledKey(j.ID, from.Add(time.Hour)), domain.ScheduledKey(j.ID, to)}
	// Published: the outbox rows are gone.
	require.NoError(t, f.st.DeleteFires(t.Context(), keys))

	mid := from.Add(time.Hour)
	ev := f.due(j, mid, domain.TriggerBackfill, keys[1])
	setDue(t, &ev, func(d *event.Due) { d.JobVersion = 77 })
	a := f.recorded(ev)
	require.True(t, a.Recorded)
	e := f.execution(a)
	require.Equal(t, domain.TriggerBackfill, e.Trigger)
	require.Equal(t, j.Version, e.JobVersion)
	require.Equal(t, domain.StatusDeadLettered, e.Status)

	before := from.Add(-time.Hour)
	f.problemOf(f.due(j, before, domain.TriggerBackfill, domain.ScheduledKey(j.ID, before)), http.StatusUnprocessableEntity, "id")
	f.requireNoExecution(domain.ScheduledKey(j.ID, before))
	f.problemOf(f.due(j, to, domain.TriggerSchedule, keys[2]), http.StatusUnprocessableEntity, "id")
	f.requireNoExecution(keys[2])
}

// A replay's fire also leaves the outbox once published: the dead letter it replays names its
// key, which shows it was handed out. A replay key no dead letter names is refused.
func TestDeadLetterSinkRecordsAReplayFire(t *testing.T) {
	t.Parallel()
	f := newSinkFixture(t, true)
	j := testfactory.Job(t, f.st, testfactory.JobOpts{Namespace: "shop", NextRunAt: domain.Instant(time.Now().Add(time.Hour))})
	at := domain.Instant(time.Now().Add(-10 * time.Second).Truncate(time.Second))
	first := f.execution(f.recorded(f.due(j, at, domain.TriggerSchedule, domain.ScheduledKey(j.ID, at))))
	code, _, b := f.c.do(http.MethodPost, "/api/v1/dead-letters/"+first.ID+"/replay", "")
	require.Equal(t, http.StatusAccepted, code, string(b))
	first, err := f.st.GetExecution(t.Context(), first.ID)
	require.NoError(t, err)
	key := first.DeadLetter.ReplayKey
	require.NotEmpty(t, key)

	forged := domain.Key(j.ID, domain.TriggerReplay, at, uuid.NewString())
	f.problemOf(f.due(j, at, domain.TriggerReplay, forged), http.StatusUnprocessableEntity, "id")
	f.requireNoExecution(forged)

	// Published: the outbox row is gone.
	require.NoError(t, f.st.DeleteFires(t.Context(), []string{key}))
	a := f.recorded(f.due(j, at, domain.TriggerReplay, key))
	require.True(t, a.Recorded)
	e := f.execution(a)
	require.Equal(t, domain.TriggerReplay, e.Trigger)
	require.Equal(t, key, e.IdempotencyKey)
}

// A scheduled fire of a cron job is one its schedule produces: an instant between two fires,
// which the claim has passed all the same, is refused on id, so that whoever reaches the
// internal port cannot invent failures (a failure streak, an alert, a replayable row) for
// instants the job never had.
func TestDeadLetterSinkRefusesAnInstantOffTheSchedule(t *testing.T) {
	t.Parallel()
	f := newSinkFixture(t, true)
	now := time.Now().UTC()
	j := testfactory.Job(t, f.st, testfactory.JobOpts{Namespace: "shop", Cron: "*/10 * * * * *",
		NextRunAt: domain.Instant(now.Add(time.Hour))})
	real := now.Truncate(10 * time.Second)
	for _, forged := range []time.Time{real.Add(-7 * time.Second), real.Add(time.Millisecond)} {
		f.problemOf(f.due(j, forged, domain.TriggerSchedule, domain.ScheduledKey(j.ID, forged)), http.StatusUnprocessableEntity, "id")
		_, err := f.st.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, forged))
		require.ErrorIs(t, err, domain.ErrNotFound, "nothing recorded of %s", forged)
	}
	require.True(t, f.recorded(f.due(j, real, domain.TriggerSchedule, domain.ScheduledKey(j.ID, real))).Recorded)
}

package executor_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/tick"
)

// The attacks of this file take what a pushed event still decided once the database held less
// than the event: the payload of a fire published and gone from the outbox, and past instants of
// a schedule that the job's claim moved over without handing them out.

// publishedManualRun queues a manual run of j with payload (nil: none), publishes it as the tick
// does — its outbox row leaves once the stream acknowledges it — and returns its due event.
func publishedManualRun(t *testing.T, f *fixture, j *domain.Job, payload json.RawMessage) event.Due {
	t.Helper()
	_, _, err := jobs.New(f.store, f.clock.Now).Trigger(t.Context(), f.store, j, jobs.RunNow{Payload: payload})
	require.NoError(t, err)
	fires, err := f.store.DueQueued(t.Context(), time.Now().Add(time.Second), 10)
	require.NoError(t, err)
	require.Len(t, fires, 1)
	require.NoError(t, f.store.DeleteFires(t.Context(), []string{fires[0].Key}), "acknowledged: the row leaves")
	var d event.Due
	require.NoError(t, json.Unmarshal(fires[0].Payload, &d))
	return d
}

// pushFixtureWithSQL is newPushFixture, with a connection to the fixture's schema for what no
// store call does: make a job older than it is.
func pushFixtureWithSQL(t *testing.T) (*fixture, http.Handler, *pgx.Conn) {
	t.Helper()
	st, url := testfactory.Store(t)
	f := newFixtureOn(t, st, clockwork.NewFakeClockAt(time.Now().UTC()), executor.Config{})
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return f, executor.PushHandler(t.Context(), f.rt.HandlePushed, testenv.Logger(t)), conn
}

// createdAt makes job id created at at.
func createdAt(t *testing.T, conn *pgx.Conn, id string, at time.Time) {
	t.Helper()
	_, err := conn.Exec(t.Context(), `UPDATE jobs SET created_at = $2 WHERE id = $1`, id, at)
	require.NoError(t, err)
}

// missedTenMinutes stores an every-second job calling url, made an hour before now, whose
// next run is ten minutes before now: its claim at now finds ten minutes of misfires.
func missedTenMinutes(t *testing.T, f *fixture, conn *pgx.Conn, url string, now time.Time) *domain.Job {
	t.Helper()
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: url, NextRunAt: now.Add(-10 * time.Minute)})
	createdAt(t, conn, j.ID, now.Add(-time.Hour))
	return j
}

// claimAndPublish claims the jobs due at now as the tick does, misfire policies applied, and
// acknowledges the fires it hands out: their outbox rows leave, as once the stream has them.
func claimAndPublish(t *testing.T, f *fixture, now time.Time) []domain.Fire {
	t.Helper()
	planner := tick.Planner{Now: now, Horizon: now, MisfireThreshold: time.Minute, MaxFires: 1000}
	fires, _, _, err := f.store.ClaimDue(t.Context(), now, nil, now, 10, planner.Plan)
	require.NoError(t, err)
	require.NotEmpty(t, fires)
	keys := make([]string, len(fires))
	for i, fire := range fires {
		keys[i] = fire.Key
	}
	require.NoError(t, f.store.DeleteFires(t.Context(), keys))
	return fires
}

// requireRefusedAt pushes a scheduled fire of j at at, made up, and requires it refused with
// nothing recorded.
func requireRefusedAt(t *testing.T, f *fixture, h http.Handler, j *domain.Job, at time.Time) {
	t.Helper()
	key := domain.ScheduledKey(j.ID, at)
	require.Equal(t, http.StatusBadRequest, pushTo(t, h, forged(t, j, at, domain.TriggerSchedule, key, nil)),
		"%s at %s: an instant its claim did not hand out", j.Name, at)
	requireNoExecution(t, f, key)
}

func TestAPushedManualRunGoneFromTheOutboxTakesThePayloadItWasPublishedWith(t *testing.T) {
	t.Parallel()
	f, h := newPushFixture(t)
	j, bodies := payloadJob(t, f)
	d := publishedManualRun(t, f, j, json.RawMessage(`{"reason":"month end"}`))
	// A redelivery as its sender rewrote it: another payload, and forced.
	d.Payload, d.Forced = json.RawMessage(`{"reason":"forged"}`), true
	ev, err := event.NewDue(d, "/forged")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, pushTo(t, h, ev))

	e, err := f.store.ExecutionByKey(t.Context(), d.IdempotencyKey)
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, e.Status)
	require.False(t, e.Forced, "force is what was queued")
	require.Equal(t, []string{`{"why":"month end"}`}, bodies(), "the payload it was published with")
}

func TestAPushedManualRunPublishedWithoutAPayloadGetsNoneFromTheEvent(t *testing.T) {
	t.Parallel()
	f, h := newPushFixture(t)
	j, bodies := payloadJob(t, f)
	d := publishedManualRun(t, f, j, nil)
	d.Payload = json.RawMessage(`{"reason":"forged"}`)
	ev, err := event.NewDue(d, "/forged")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, pushTo(t, h, ev))

	e, err := f.store.ExecutionByKey(t.Context(), d.IdempotencyKey)
	require.NoError(t, err)
	require.Contains(t, e.Error, "payload", "the run had no payload for the template to read")
	require.Empty(t, bodies(), "the made-up payload reached nobody")
}

func TestAForgedPushOfAnInstantBeforeTheJobsPlanChangedIsRefused(t *testing.T) {
	t.Parallel()
	target, hits := countingTarget(t, http.StatusOK)
	f, h := newPushFixture(t)
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL, NextRunAt: time.Now().UTC().Add(time.Hour)})
	before := recent()
	require.Equal(t, http.StatusOK, pushTo(t, h, forged(t, j, before, domain.TriggerSchedule, domain.ScheduledKey(j.ID, before), nil)),
		"an instant the job's claim covered")
	require.Equal(t, int32(1), hits.Load())

	// An edit that keeps the plan leaves what the claim covered alone.
	j = editJob(t, f, j, func(j *domain.Job) { j.Description = "same plan" })
	earlier := before.Add(-time.Second)
	require.Equal(t, http.StatusOK, pushTo(t, h, forged(t, j, earlier, domain.TriggerSchedule, domain.ScheduledKey(j.ID, earlier), nil)))
	require.Equal(t, int32(2), hits.Load())

	// A new plan, every second still but in another time zone: its past instants were never
	// claimed, though the next run is after them and the schedule fires at them.
	j = editJob(t, f, j, func(j *domain.Job) { j.Timezone = "UTC" })
	requireRefusedAt(t, f, h, j, before.Add(time.Second))
	require.Equal(t, int32(2), hits.Load())
}

func TestAForgedPushOfAnInstantAMisfireRangeSkippedIsRefused(t *testing.T) {
	t.Parallel()
	target, hits := countingTarget(t, http.StatusOK)
	f, h, conn := pushFixtureWithSQL(t)
	now := time.Now().UTC().Truncate(time.Second)
	// Ten minutes of every-second fires missed: the first ones are recorded skipped one by one,
	// the rest as one row, and the claim runs the latest misfire and the last minute's fires.
	j := missedTenMinutes(t, f, conn, target.URL, now)
	fires := claimAndPublish(t, f, now)
	inRange := now.Add(-5 * time.Minute)
	requireRefusedAt(t, f, h, j, inRange) // no fire of the range was handed out

	// One skipped on its own is recorded: a push of it is a duplicate, and runs nothing.
	first := now.Add(-10 * time.Minute)
	pushTo(t, h, forged(t, j, first, domain.TriggerSchedule, domain.ScheduledKey(j.ID, first), nil))
	e, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, first))
	require.NoError(t, err)
	require.Equal(t, domain.StatusSkipped, e.Status)
	require.Zero(t, hits.Load())

	// The fires the claim did hand out are believed: the latest misfire, which ends the range.
	latest := fires[0]
	require.Equal(t, now.Add(-time.Minute-time.Second), latest.ScheduledAt)
	require.Equal(t, http.StatusOK, pushTo(t, h, forged(t, j, latest.ScheduledAt, domain.TriggerSchedule, latest.Key, nil)))
	require.Equal(t, int32(1), hits.Load())
}

func TestAForgedPushOfAnInstantOlderThanTheHistoryKeptIsRefused(t *testing.T) {
	t.Parallel()
	target, hits := countingTarget(t, http.StatusOK)
	f, h, conn := pushFixtureWithSQL(t)
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL, NextRunAt: time.Now().UTC().Add(time.Hour)})
	// A job of long ago, whose claim covers every instant since.
	now := time.Now().UTC()
	createdAt(t, conn, j.ID, now.AddDate(0, 0, -6))

	old := domain.Instant(now.AddDate(0, 0, -4)).Truncate(time.Second)
	require.Equal(t, http.StatusOK, pushTo(t, h, forged(t, j, old, domain.TriggerSchedule, domain.ScheduledKey(j.ID, old), nil)),
		"its history is still kept")
	require.Equal(t, int32(1), hits.Load())

	// Retention drops the days before yesterday's: the one written just now stays a day.
	require.NoError(t, f.store.PrepareHistory(t.Context(), now.AddDate(0, 0, -3)))
	dropped, _, err := f.store.DropHistoryDays(t.Context(), store.Day(now.AddDate(0, 0, -1)), now)
	require.NoError(t, err)
	require.Contains(t, dropped, store.Day(now.AddDate(0, 0, -3)))

	older := old.Add(time.Second)
	requireRefusedAt(t, f, h, j, older) // no record before the history kept could say it ran
	at := recent()
	require.Equal(t, http.StatusOK, pushTo(t, h, forged(t, j, at, domain.TriggerSchedule, domain.ScheduledKey(j.ID, at), nil)))
	require.Equal(t, int32(2), hits.Load())
}

func TestAPushedCatchUpOfAPauseWhoseJobsPlanChangedMeanwhileIsBelieved(t *testing.T) {
	t.Parallel()
	target, hits := countingTarget(t, http.StatusOK)
	f, h, conn := pushFixtureWithSQL(t)
	now := time.Now().UTC().Truncate(time.Second)
	j := missedTenMinutes(t, f, conn, target.URL, now)
	// Paused ten minutes ago, given a new plan while paused, resumed now: the resume takes the
	// claim up from the pause's start, and the claim runs the latest fire the pause missed.
	paused := now.Add(-10 * time.Minute)
	j, err := f.store.SetEnabled(t.Context(), j.ID, false, nil, paused)
	require.NoError(t, err)
	j.Timezone = "UTC"
	j, err = f.store.UpdateJob(t.Context(), j, j.Version, false, now.Add(-30*time.Second))
	require.NoError(t, err)
	_, err = f.store.SetEnabled(t.Context(), j.ID, true, &paused, now)
	require.NoError(t, err)
	fires := claimAndPublish(t, f, now)

	catchUp := fires[0]
	require.Equal(t, now.Add(-time.Minute-time.Second), catchUp.ScheduledAt, "before the edit, after the pause's start")
	require.Equal(t, http.StatusOK, pushTo(t, h, forged(t, j, catchUp.ScheduledAt, domain.TriggerSchedule, catchUp.Key, nil)))
	require.Equal(t, int32(1), hits.Load())
}

func TestAPushedCatchUpOlderThanTheHistoryKeptIsBelieved(t *testing.T) {
	t.Parallel()
	target, hits := countingTarget(t, http.StatusOK)
	f, h, conn := pushFixtureWithSQL(t)
	now := time.Now().UTC()
	// A once job due four days ago, never claimed (the ticks were down), in an installation that
	// keeps two days of history.
	at := domain.Instant(now.AddDate(0, 0, -4)).Truncate(time.Second)
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL, NextRunAt: at,
		Schedule: &domain.Schedule{Kind: domain.ScheduleOnce, At: &at}})
	createdAt(t, conn, j.ID, now.AddDate(0, 0, -6))
	require.NoError(t, f.store.PrepareHistory(t.Context(), now.AddDate(0, 0, -3)))
	_, _, err := f.store.DropHistoryDays(t.Context(), store.Day(now.AddDate(0, 0, -1)), now)
	require.NoError(t, err)

	fires := claimAndPublish(t, f, now)
	require.Len(t, fires, 1, "the misfire policy runs it, late")
	require.Equal(t, http.StatusOK, pushTo(t, h, forged(t, j, at, domain.TriggerSchedule, fires[0].Key, nil)),
		"the tick kept the fire it published before the history floor")
	require.Equal(t, int32(1), hits.Load())
}

// hourlyFixedDelay stores a job calling url an hour after each run ends, made an hour before
// now: due at next, or waiting for a run's end when next is zero.
func hourlyFixedDelay(t *testing.T, f *fixture, conn *pgx.Conn, url string, now, next time.Time) *domain.Job {
	t.Helper()
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: url, NextRunAt: next, Waiting: next.IsZero(),
		Schedule: &domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: domain.Duration(time.Hour)}})
	createdAt(t, conn, j.ID, now.Add(-time.Hour))
	return j
}

// A fixed_delay job whose fire is claimed has no next run until that fire ends, so the claim's
// word alone covered every instant after its last end: a forger who reached an executor in that
// window ran the stored job under an instant of their own. The claim now keeps the instant it
// handed out, and only that one is believed.
func TestAForgedPushOfAFixedDelayJobWaitingForItsEndIsRefused(t *testing.T) {
	t.Parallel()
	target, hits := countingTarget(t, http.StatusOK)
	f, h, conn := pushFixtureWithSQL(t)
	now := time.Now().UTC().Truncate(time.Second)
	j := hourlyFixedDelay(t, f, conn, target.URL, now, now.Add(-5*time.Second))
	fires := claimAndPublish(t, f, now)
	require.Len(t, fires, 1)
	got, err := f.store.GetJob(t.Context(), j.ID)
	require.NoError(t, err)
	require.Nil(t, got.NextRunAt, "it waits for the fire's end")

	requireRefusedAt(t, f, h, j, fires[0].ScheduledAt.Add(time.Second))
	requireRefusedAt(t, f, h, j, fires[0].ScheduledAt.Add(-time.Second))
	require.Zero(t, hits.Load())
	require.Equal(t, http.StatusOK, pushTo(t, h, forged(t, j, fires[0].ScheduledAt, domain.TriggerSchedule, fires[0].Key, nil)),
		"the fire it handed out")
	require.Equal(t, int32(1), hits.Load())
}

// A fixed_delay job left with no next run by a claim that hands out nothing (its plan fails:
// it stops until edited) or by the end of its last fire (its schedule has ended) waits for no
// end: its claim vouches for no instant — the latter also for a job last claimed before the
// claim kept its instant (an upgrade).
func TestAFixedDelayJobThatHandedOutNothingVouchesForNoInstant(t *testing.T) {
	t.Parallel()
	target, hits := countingTarget(t, http.StatusOK)
	f, h, conn := pushFixtureWithSQL(t)
	now := time.Now().UTC().Truncate(time.Second)
	stopped := hourlyFixedDelay(t, f, conn, target.URL, now, now.Add(-5*time.Second))
	failing := func(*domain.Job) (domain.PlanResult, error) { return domain.PlanResult{}, errors.New("no plan") }
	fires, claimed, planErrs, err := f.store.ClaimDue(t.Context(), now, nil, now, 10, failing)
	require.NoError(t, err)
	require.Equal(t, 1, claimed)
	require.Empty(t, fires)
	require.Len(t, planErrs, 1)

	// Claimed before the claim kept its instant, its last fire ends with the schedule.
	ended := hourlyFixedDelay(t, f, conn, target.URL, now, time.Time{})
	require.NoError(t, f.store.ScheduleAfterFinish(t.Context(), ended.ID, now.Add(-time.Minute), nil))

	for _, j := range []*domain.Job{stopped, ended} {
		got, err := f.store.GetJob(t.Context(), j.ID)
		require.NoError(t, err)
		require.Nil(t, got.NextRunAt)
		requireRefusedAt(t, f, h, j, now.Add(-3*time.Second))
	}
	require.Zero(t, hits.Load())
}

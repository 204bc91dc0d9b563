package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/timeline"
)

type firesAnswer struct {
	From  time.Time       `json:"from"`
	To    time.Time       `json:"to"`
	Note  string          `json:"note"`
	Fires []timeline.Fire `json:"fires"`
}

func (c *client) fires(jobID string, from, to time.Time) firesAnswer {
	c.t.Helper()
	q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	code, _, b := c.do(http.MethodGet, "/api/v1/jobs/"+jobID+"/fires?"+q.Encode(), "")
	require.Equal(c.t, http.StatusOK, code, string(b))
	var out firesAnswer
	require.NoError(c.t, json.Unmarshal(b, &out))
	return out
}

// createdAt moves the job's creation back, as if it had been scheduled since then.
func (c *client) createdAt(jobID string, at time.Time) {
	c.t.Helper()
	conn, err := pgx.Connect(c.t.Context(), c.dbURL)
	require.NoError(c.t, err)
	defer conn.Close(c.t.Context())
	_, err = conn.Exec(c.t.Context(), `UPDATE jobs SET created_at = $2 WHERE id = $1`, jobID, at)
	require.NoError(c.t, err)
}

// TestFiresNamesWhyEachInstantDidOrDidNotRun: over three past days of an hourly job, each
// instant is answered from what was recorded: an excluded day, a pause (from the audit log of
// its disable and enable), a fire that ran, a forbid skip, instants nothing recorded (unknown,
// not guessed), and a manual run listed beside them.
func TestFiresNamesWhyEachInstantDidOrDidNotRun(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -4)
	excluded := day.AddDate(0, 0, 1)
	j, _ := c.createJob(`{"name":"hourly","timezone":"UTC","schedule":{"cron":"0 0 * * * ?","excluded_dates":["` +
		excluded.Format(time.DateOnly) + `"]},"http":{"url":"https://example.test/h"}}`)
	c.createdAt(j.ID, day.AddDate(0, 0, -10))

	// Paused from 06:00 to 09:00 on the third day (the api's clock is in updated_at).
	third := day.AddDate(0, 0, 2)
	ctx := domain.WithActor(t.Context(), domain.Actor{ID: uuid.NewString(), Name: "ops", Kind: "user", Mode: "database"})
	_, err := c.st.SetEnabled(ctx, j.ID, false, nil, third.Add(6*time.Hour))
	require.NoError(t, err)
	_, err = c.st.SetEnabled(ctx, j.ID, true, nil, third.Add(9*time.Hour))
	require.NoError(t, err)

	ran := third.Add(12 * time.Hour)
	started := ran
	done := &domain.Execution{ID: uuid.NewString(), JobID: j.ID, JobVersion: j.Version, IdempotencyKey: domain.ScheduledKey(j.ID, ran),
		Trigger: domain.TriggerSchedule, ScheduledAt: ran, StartedAt: &started, Status: domain.StatusRunning, Attempt: 1, WorkerID: "w"}
	_, err = c.st.InsertExecutions(t.Context(), []*domain.Execution{done})
	require.NoError(t, err)
	forbid := third.Add(13 * time.Hour)
	skipped := &domain.Execution{ID: uuid.NewString(), JobID: j.ID, JobVersion: j.Version, IdempotencyKey: domain.ScheduledKey(j.ID, forbid),
		Trigger: domain.TriggerSchedule, ScheduledAt: forbid, FinishedAt: &forbid, Status: domain.StatusSkipped, Attempt: 1, WorkerID: "w",
		Error: "execution " + done.IdempotencyKey + " of this job was still running (concurrency policy forbid)"}
	recorded, err := c.st.RecordSkipped(t.Context(), skipped)
	require.NoError(t, err)
	require.True(t, recorded)
	manualAt := third.Add(14*time.Hour + 30*time.Minute)
	manual := &domain.Execution{ID: uuid.NewString(), JobID: j.ID, JobVersion: j.Version,
		IdempotencyKey: domain.Key(j.ID, domain.TriggerManual, manualAt, uuid.NewString()),
		Trigger:        domain.TriggerManual, ScheduledAt: manualAt, StartedAt: &manualAt, Status: domain.StatusRunning, Attempt: 1, WorkerID: "w"}
	_, err = c.st.InsertExecutions(t.Context(), []*domain.Execution{manual})
	require.NoError(t, err)

	got := c.fires(j.ID, day, day.AddDate(0, 0, 3))
	require.Len(t, got.Fires, 72+1)
	reasons := map[time.Time]timeline.Fire{}
	for _, f := range got.Fires {
		if f.Expected {
			reasons[f.At] = f
		}
	}
	require.Len(t, reasons, 72)
	for h := range 24 {
		require.Equal(t, timeline.ReasonUnknown, reasons[day.Add(time.Duration(h)*time.Hour)].Reason)
		require.Equal(t, timeline.ReasonExcludedDate, reasons[excluded.Add(time.Duration(h)*time.Hour)].Reason)
	}
	for h := 6; h < 9; h++ {
		require.Equal(t, timeline.ReasonPaused, reasons[third.Add(time.Duration(h)*time.Hour)].Reason, "%02d:00", h)
	}
	require.Equal(t, timeline.ReasonUnknown, reasons[third.Add(9*time.Hour)].Reason, "resumed at 09:00")
	require.Equal(t, done.ID, reasons[ran].ExecutionID)
	require.Equal(t, domain.StatusRunning, reasons[ran].Status)
	require.Empty(t, reasons[ran].Reason)
	require.Equal(t, timeline.ReasonForbid, reasons[forbid].Reason)
	require.Equal(t, skipped.ID, reasons[forbid].ExecutionID)
	require.Contains(t, reasons[forbid].Detail, "concurrency policy forbid")
	var extra []timeline.Fire
	for _, f := range got.Fires {
		if !f.Expected {
			extra = append(extra, f)
		}
	}
	require.Len(t, extra, 1)
	require.Equal(t, domain.TriggerManual, extra[0].Trigger)
	require.Equal(t, manual.ID, extra[0].ExecutionID)
}

// TestFiresOnBerlinsSpringForward: 02:30 does not exist in Berlin on 2026-03-29. Under the
// documented rule the fire happens at 03:00 CEST and is noted; under dst_gap skip the day
// names the instant with reason dst_gap.
func TestFiresOnBerlinsSpringForward(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	from, to := time.Date(2026, 3, 28, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
	gapEnd := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)

	shift, _ := c.createJob(`{"name":"berlin-shift","timezone":"Europe/Berlin","schedule":{"cron":"0 30 2 * * ?"},"http":{"url":"https://example.test/b"}}`)
	c.createdAt(shift.ID, from.AddDate(0, -1, 0))
	got := c.fires(shift.ID, from, to)
	require.Len(t, got.Fires, 3)
	require.Equal(t, gapEnd, got.Fires[1].At)
	require.Equal(t, "2026-03-29 03:00:00 CEST", got.Fires[1].Local)
	require.Equal(t, timeline.ReasonUnknown, got.Fires[1].Reason, "it should have fired: nothing says why not")
	require.Equal(t, "dst_gap_shifted", got.Fires[1].Notes[0].Kind)

	skip, _ := c.createJob(`{"name":"berlin-skip","timezone":"Europe/Berlin","schedule":{"cron":"0 30 2 * * ?","dst_gap":"skip"},"http":{"url":"https://example.test/b"}}`)
	c.createdAt(skip.ID, from.AddDate(0, -1, 0))
	got = c.fires(skip.ID, from, to)
	require.Len(t, got.Fires, 3)
	require.Equal(t, timeline.ReasonDSTGap, got.Fires[1].Reason)
	require.Contains(t, got.Fires[1].Detail, "2026-03-29 02:30 does not exist in Europe/Berlin")
	require.Empty(t, got.Fires[1].ExecutionID)
}

// TestFiresRefusesBadRangesNamingTheField: hostile and careless ranges are 400 naming from or
// to, never a 500 and never an unbounded read.
func TestFiresRefusesBadRangesNamingTheField(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j, _ := c.createJob(`{"name":"every-second","schedule":{"cron":"* * * * * ?"},"http":{"url":"https://example.test/s"}}`)
	for _, tc := range []struct{ query, field string }{
		{"from=yesterday", "from"},
		{"to=" + url.QueryEscape("2026-13-01T00:00:00Z"), "to"},
		{"from=" + url.QueryEscape("<script>alert(1)</script>"), "from"},
		{"from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "to"},
		{"from=2026-03-01T00:00:00Z&to=2026-03-09T00:00:00Z", "to"},
		{"from=2026-03-01T00:00:00Z&to=2026-03-01T01:00:00Z", "to"}, // 3600 instants of a 1 s schedule
	} {
		p := c.problem(http.MethodGet, "/api/v1/jobs/"+j.ID+"/fires?"+tc.query, "", http.StatusBadRequest)
		require.Equal(t, []string{tc.field}, fields(p), tc.query)
	}
	// Asked nothing, the busy schedule gets its latest instants rather than a refusal.
	code, _, b := c.do(http.MethodGet, "/api/v1/jobs/"+j.ID+"/fires", "")
	require.Equal(t, http.StatusOK, code, string(b))
	// An execution id that is none, and a job id that is none: 404.
	c.problem(http.MethodGet, "/api/v1/executions/not-an-id/timeline", "", http.StatusNotFound)
	c.problem(http.MethodGet, "/api/v1/jobs/"+uuid.NewString()+"/fires", "", http.StatusNotFound)
}

// TestFiresOfAJobWithoutSchedule: a job started only by events names no instant; its runs are
// listed as they came, and the answer says why there is nothing else.
func TestFiresOfAJobWithoutSchedule(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j, _ := c.createJob(`{"name":"on-event","triggers":[{"event":{"filters":[{"exact":{"type":"com.example.paid"}}]}}],"http":{"url":"https://example.test/e"}}`)
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	run := &domain.Execution{ID: uuid.NewString(), JobID: j.ID, JobVersion: j.Version,
		IdempotencyKey: domain.Key(j.ID, domain.TriggerEvent, at, "/shop/orders/1"), Trigger: domain.TriggerEvent,
		ScheduledAt: at, StartedAt: &at, Status: domain.StatusRunning, Attempt: 1, WorkerID: "w"}
	_, err := c.st.InsertExecutions(t.Context(), []*domain.Execution{run})
	require.NoError(t, err)
	got := c.fires(j.ID, at.Add(-time.Minute), at.Add(time.Minute))
	require.Contains(t, got.Note, "no schedule")
	require.Len(t, got.Fires, 1)
	require.False(t, got.Fires[0].Expected)
	require.Equal(t, domain.TriggerEvent, got.Fires[0].Trigger)
	require.Equal(t, run.ID, got.Fires[0].ExecutionID)
}

// A fire the watchdog recorded missed, which never became an execution, is named missed with
// the stage it stopped at and the watchdog's words; its neighbours without a record stay
// unknown.
func TestFiresNameWhereAMissedFireStopped(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j, _ := c.createJob(`{"name":"every-minute","timezone":"UTC","schedule":{"cron":"0 * * * * ?"},"http":{"url":"https://example.test/m"}}`)
	at := time.Now().UTC().Truncate(time.Minute).Add(-10 * time.Minute)
	c.createdAt(j.ID, at.Add(-time.Hour))
	_, err := c.st.RecordMissedFires(t.Context(), []domain.MissedFire{{Key: domain.ScheduledKey(j.ID, at), JobID: j.ID,
		Namespace: j.Namespace, ScheduledAt: at, DetectedAt: at.Add(2 * time.Minute), Stage: domain.MissedUndelivered,
		StreamSeq: 42, Consumer: "execute-http", Detail: "published as stream sequence 42; no executor took it"}}, nil)
	require.NoError(t, err)

	got := c.fires(j.ID, at.Add(-time.Minute), at.Add(2*time.Minute))
	require.Len(t, got.Fires, 3)
	byAt := map[time.Time]int{}
	for i, f := range got.Fires {
		byAt[f.At.UTC()] = i
	}
	missed := got.Fires[byAt[at]]
	require.Equal(t, timeline.ReasonMissed, missed.Reason)
	require.Equal(t, string(domain.MissedUndelivered), missed.Stage)
	require.Contains(t, missed.Detail, "no executor took it")
	require.Equal(t, timeline.ReasonUnknown, got.Fires[byAt[at.Add(-time.Minute)]].Reason)
	require.Empty(t, got.Fires[byAt[at.Add(-time.Minute)]].Stage)
}

// TestFiresRefusesRangesBeyondTheYear9999: RFC 3339 reads years 0000 to 9999, and a range
// given by one end reaches a day past it; an answer naming an instant past 9999 cannot be
// written as JSON, and was a 200 with an empty body. It is a 400 naming the field given.
func TestFiresRefusesRangesBeyondTheYear9999(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j, _ := c.createJob(`{"name":"hourly","schedule":{"cron":"0 0 * * * ?"},"http":{"url":"https://example.test/h"}}`)
	for _, tc := range []struct{ query, field string }{
		{"from=" + url.QueryEscape("9999-12-31T12:00:00Z"), "from"},
		{"from=" + url.QueryEscape("9999-12-31T23:00:00-14:00"), "from"},
		{"from=" + url.QueryEscape("9999-12-31T00:00:00Z") + "&to=" + url.QueryEscape("9999-12-31T23:59:59-01:00"), "to"},
		{"to=" + url.QueryEscape("0000-01-01T12:00:00Z"), "to"},
		{"from=" + url.QueryEscape("0000-01-01T00:00:00+01:00") + "&to=" + url.QueryEscape("0000-01-02T00:00:00Z"), "from"},
	} {
		p := c.problem(http.MethodGet, "/api/v1/jobs/"+j.ID+"/fires?"+tc.query, "", http.StatusBadRequest)
		require.Equal(t, []string{tc.field}, fields(p), tc.query)
	}
	// The years at the edges still answer.
	got := c.fires(j.ID, time.Date(9999, 12, 30, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC))
	require.Len(t, got.Fires, 24)
}

// TestFiresOfAJobPausedAfterTheRange: a job paused today was not paused last week. When no
// change of its state is recorded before the range (its older audit rows were pruned), the
// range was read as paused throughout because the job is paused now.
func TestFiresOfAJobPausedAfterTheRange(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j, _ := c.createJob(`{"name":"hourly","timezone":"UTC","schedule":{"cron":"0 0 * * * ?"},"http":{"url":"https://example.test/h"}}`)
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)
	c.createdAt(j.ID, day.AddDate(0, 0, -10))
	ctx := domain.WithActor(t.Context(), domain.Actor{ID: uuid.NewString(), Name: "ops", Kind: "user", Mode: "database"})
	_, err := c.st.SetEnabled(ctx, j.ID, false, nil, time.Now().UTC())
	require.NoError(t, err)

	got := c.fires(j.ID, day, day.Add(6*time.Hour))
	require.Len(t, got.Fires, 6)
	for _, f := range got.Fires {
		require.Equal(t, timeline.ReasonUnknown, f.Reason, "%s: paused only since today", f.At)
	}
}

// TestFiresSayWhenThePauseHistoryIsCut: a job paused and resumed more often than the fires
// route reads (1 000 changes) is answered with a note naming the cut, rather than fires before
// it silently unknown.
func TestFiresSayWhenThePauseHistoryIsCut(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j, _ := c.createJob(`{"name":"toggled","timezone":"UTC","schedule":{"cron":"0 0 * * * ?"},"http":{"url":"https://example.test/h"}}`)
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -2)
	c.createdAt(j.ID, day.AddDate(0, 0, -10))
	got := c.fires(j.ID, day, day.Add(time.Hour))
	require.NotContains(t, got.Note, "pauses and resumes", "a short history is read whole")

	ctx := domain.WithActor(t.Context(), domain.Actor{ID: uuid.NewString(), Name: "ops", Kind: "user", Mode: "database"})
	for i := range 1000 {
		_, err := c.st.SetEnabled(ctx, j.ID, i%2 == 1, nil, day.Add(time.Duration(i)*time.Second))
		require.NoError(t, err)
	}
	got = c.fires(j.ID, day, day.Add(time.Hour))
	require.Contains(t, got.Note, "only the latest 1000 pauses and resumes of this job were read")
}

// A caller who may read the job but not its executions sees the schedule's instants without
// execution ids or recorded details, and not the runs of other triggers, which are execution
// history.
func TestFiresWithoutExecutionReadKeepOnlyTheSchedule(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j, _ := c.createJob(`{"name":"hourly","namespace":"team-a","timezone":"UTC","schedule":{"cron":"0 0 * * * ?"},"http":{"url":"https://example.test/h"}}`)
	at := time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)
	c.createdAt(j.ID, at.Add(-24*time.Hour))
	ran, manualAt := at, at.Add(30*time.Minute)
	for _, e := range []*domain.Execution{
		{ID: uuid.NewString(), JobID: j.ID, JobVersion: j.Version, IdempotencyKey: domain.ScheduledKey(j.ID, ran),
			Trigger: domain.TriggerSchedule, ScheduledAt: ran, StartedAt: &ran, Status: domain.StatusRunning, Attempt: 1, WorkerID: "w"},
		{ID: uuid.NewString(), JobID: j.ID, JobVersion: j.Version, IdempotencyKey: domain.Key(j.ID, domain.TriggerManual, manualAt, uuid.NewString()),
			Trigger: domain.TriggerManual, ScheduledAt: manualAt, StartedAt: &manualAt, Status: domain.StatusRunning, Attempt: 1, WorkerID: "w"},
	} {
		_, err := c.st.InsertExecutions(t.Context(), []*domain.Execution{e})
		require.NoError(t, err)
	}
	all := c.fires(j.ID, at.Add(-time.Minute), at.Add(time.Hour))
	require.Len(t, all.Fires, 2, "the admin sees the instant and the manual run")

	role := "jobs-only-" + strings.ToLower(uuid.NewString()[:8])
	_, err := c.st.PutRole(t.Context(), &domain.Role{Name: role, Permissions: []domain.Permission{domain.PermJobRead}}, time.Now())
	require.NoError(t, err)
	reader := testfactory.User(t, c.st, testfactory.UserOpts{Role: role, Namespace: "team-a"})
	c.token = testfactory.APIToken(t, c.st, reader.ID, domain.AllNamespaces, nil)
	got := c.fires(j.ID, at.Add(-time.Minute), at.Add(time.Hour))
	require.Len(t, got.Fires, 1, "only the schedule's instant")
	require.True(t, got.Fires[0].Expected)
	require.Equal(t, domain.StatusRunning, got.Fires[0].Status)
	require.Empty(t, got.Fires[0].ExecutionID)
}

// Package testfactory builds fixtures for tests: stores on a schema of the test's own, and jobs
// with sensible defaults that a test overrides field by field.
package testfactory

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
)

// Store opens a migrated store on a fresh schema of t's own and closes it when t ends.
func Store(t testing.TB) (*store.Store, string) {
	t.Helper()
	url := testenv.PostgresURL(t)
	st, err := store.Open(context.Background(), store.Config{URL: url})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(st.Close)
	st.UseAudit(AuditKeys(t))
	if err := st.Migrate(context.Background(), testenv.Logger(t)); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return st, url
}

// JobOpts overrides a job's defaults; zero fields keep them.
type JobOpts struct {
	Name      string
	Namespace string
	Cron      string
	URL       string
	NextRunAt time.Time
	Disabled  bool
	Timeout   time.Duration
	// Schedule replaces the cron schedule.
	Schedule *domain.Schedule
	// Waiting leaves next_run_at empty, as for a fixed_delay job whose execution runs.
	Waiting bool
	// Retry replaces the default retry policy (10 attempts, backoff from 5 s).
	Retry *domain.RetryPolicy
	// Tags are the job's tags, stored as the API stores them.
	Tags []string
	// Triggers are the job's triggers (an event trigger: matched by ingested events).
	Triggers []domain.JobTrigger
	// Alert is the job's alert policy (default: after 3 failures).
	Alert domain.AlertPolicy
	// MissedAfter is the job's watchdog grace; zero keeps the default.
	MissedAfter time.Duration
	// Kind is the job's kind (default http); an sql job runs SELECT 1 on an unreachable server.
	Kind domain.JobKind
}

// Job inserts an http job (default: every second, due now, calling http://127.0.0.1:9/).
func Job(t testing.TB, st *store.Store, o JobOpts) *domain.Job {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	next := o.NextRunAt
	if next.IsZero() {
		next = now.Truncate(time.Second)
	}
	j := &domain.Job{
		ID: id.String(), Namespace: domain.DefaultNamespace, Name: o.Name, Kind: domain.KindHTTP,
		HTTP:     &domain.HTTPSpec{Method: "GET", URL: o.URL},
		Schedule: domain.Schedule{Cron: o.Cron}, Timezone: domain.DefaultTimezone, Enabled: !o.Disabled,
		Timeout: domain.Duration(o.Timeout), NextRunAt: &next, Shard: domain.ShardOf(id.String()),
		Version: 1, CreatedAt: now, UpdatedAt: now, Tags: domain.NormalizeTags(o.Tags),
	}
	if j.Name == "" {
		j.Name = "job-" + j.ID
	}
	if o.Namespace != "" {
		j.Namespace = o.Namespace
	}
	if o.Schedule != nil {
		j.Schedule = *o.Schedule
	}
	if j.Schedule.Cron == "" && j.Schedule.Kind == "" {
		j.Schedule.Cron = "* * * * * *"
	}
	if o.Waiting {
		j.NextRunAt = nil
	}
	j.Triggers = o.Triggers
	j.Alert = o.Alert
	j.MissedAfter = domain.Duration(o.MissedAfter)
	j.MisfirePolicy, j.MaxCatchup, j.ConcurrencyPolicy = domain.MisfireFireOnce, 10, domain.ConcurrencyAllow
	j.Retry = domain.RetryPolicy{MaxAttempts: domain.MaxAttemptsDefault, Backoff: domain.BackoffDefault()}
	if o.Retry != nil {
		j.Retry = *o.Retry
	}
	if j.HTTP.URL == "" {
		j.HTTP.URL = "http://127.0.0.1:9/"
	}
	if o.Kind == domain.KindSQL {
		j.Kind, j.HTTP = domain.KindSQL, nil
		j.SQL = &domain.SQLSpec{Driver: domain.DriverPostgres, DSN: "postgres://127.0.0.1:9/vecron", Statements: []domain.SQLStatement{{SQL: "SELECT 1"}}}
	}
	if j.Timeout == 0 {
		j.Timeout = domain.Duration(5 * time.Second)
	}
	if err := st.CreateJob(context.Background(), j); err != nil {
		t.Fatalf("create job: %v", err)
	}
	return j
}

// SilenceWorker makes the running execution recorded under key look as if its worker had not
// heart-beaten for an hour: heartbeats go by the database's clock, which a test cannot move.
func SilenceWorker(t testing.TB, url, key string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect to postgres: %v", err)
	}
	defer conn.Close(context.Background())
	tag, err := conn.Exec(t.Context(), `UPDATE job_executions SET heartbeat_at = heartbeat_at - interval '1 hour'
		WHERE idempotency_key = $1 AND status = 'running'`, key)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("silence the worker of %s: %v (%d rows)", key, err, tag.RowsAffected())
	}
}

// DeadLetter records a pending dead-lettered execution of j and returns it.
func DeadLetter(t testing.TB, st *store.Store, j *domain.Job) *domain.Execution {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	// From one instant fixed per process: counting back from each call's own clock, two calls
	// either side of a second's boundary could land on the same second and clash.
	at := deadLetterBase().Add(-time.Duration(deadLetters.Add(1)) * time.Second)
	e := &domain.Execution{ID: uuid.Must(uuid.NewV7()).String(), JobID: j.ID, JobVersion: j.Version,
		IdempotencyKey: domain.ScheduledKey(j.ID, at), Trigger: domain.TriggerSchedule,
		ScheduledAt: at, StartedAt: &now, Status: domain.StatusRunning, Attempt: 1, WorkerID: "testfactory"}
	if _, err := st.StartExecution(ctx, e, store.StartParams{StaleAfter: time.Minute}); err != nil {
		t.Fatalf("start execution: %v", err)
	}
	e.Status, e.FinishedAt, e.Error = domain.StatusDeadLettered, &now, "gave up after 1 attempts: boom"
	if err := st.FinishExecution(ctx, e, &domain.Attempt{Attempt: 1, FinishedAt: now, Status: domain.StatusFailed, Error: "boom"}); err != nil {
		t.Fatalf("finish execution: %v", err)
	}
	return e
}

// RunningExclusive records a running execution of j (a forbid or replace job), as the worker
// running it would, and returns it.
func RunningExclusive(t testing.TB, st *store.Store, j *domain.Job) *domain.Execution {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	at := now.Truncate(time.Second)
	e := &domain.Execution{ID: uuid.Must(uuid.NewV7()).String(), JobID: j.ID, JobVersion: j.Version,
		IdempotencyKey: domain.ScheduledKey(j.ID, at), Trigger: domain.TriggerSchedule, ScheduledAt: at,
		StartedAt: &now, Status: domain.StatusRunning, Attempt: 1, WorkerID: "testfactory"}
	outcome, err := st.StartExecution(context.Background(), e, store.StartParams{StaleAfter: time.Minute, Exclusive: true})
	if err != nil || outcome != store.Started {
		t.Fatalf("start an exclusive execution: %v (outcome %d)", err, outcome)
	}
	return e
}

// deadLetters spreads the scheduled instants of DeadLetter's executions, so keys never clash.
var deadLetters atomic.Int64

// deadLetterBase is the whole second DeadLetter counts back from.
var deadLetterBase = sync.OnceValue(func() time.Time { return time.Now().UTC().Truncate(time.Second) })

// HistoryDays returns the days st keeps execution history for, as dates (2006-01-02).
func HistoryDays(t testing.TB, st *store.Store) []string {
	t.Helper()
	list, err := st.HistoryDays(context.Background())
	if err != nil {
		t.Fatalf("list history days: %v", err)
	}
	out := make([]string, len(list))
	for i, d := range list {
		out[i] = d.Day.Format(time.DateOnly)
	}
	return out
}

// Outcome records an execution of j's fire at `at` that ended with status after running for
// duration, through the paths the executors and the API take: started then finished, skipped,
// or cancelled while running. It returns the execution.
func Outcome(t testing.TB, st *store.Store, j *domain.Job, status domain.ExecutionStatus, at time.Time, duration time.Duration) *domain.Execution {
	t.Helper()
	ctx := context.Background()
	at = at.UTC().Truncate(time.Microsecond)
	end := at.Add(duration)
	e := &domain.Execution{ID: uuid.Must(uuid.NewV7()).String(), JobID: j.ID, JobVersion: j.Version,
		IdempotencyKey: domain.ScheduledKey(j.ID, at), Trigger: domain.TriggerSchedule, ScheduledAt: at,
		StartedAt: &at, Status: domain.StatusRunning, Attempt: 1, WorkerID: "testfactory"}
	if status == domain.StatusSkipped {
		e.StartedAt, e.Status, e.FinishedAt, e.Error = nil, domain.StatusSkipped, &end, "skipped: testfactory"
		if _, err := st.RecordSkipped(ctx, e); err != nil {
			t.Fatalf("record skipped: %v", err)
		}
		return e
	}
	if _, err := st.StartExecution(ctx, e, store.StartParams{StaleAfter: time.Hour}); err != nil {
		t.Fatalf("start execution: %v", err)
	}
	if status == domain.StatusCancelled {
		got, err := st.CancelExecution(ctx, e.ID, "testfactory", end)
		if err != nil {
			t.Fatalf("cancel execution: %v", err)
		}
		return got
	}
	e.Status, e.FinishedAt, e.DurationMS = status, &end, float64(duration.Milliseconds())
	if status != domain.StatusSucceeded {
		e.Error = "testfactory: " + string(status)
	}
	a := &domain.Attempt{Attempt: 1, StartedAt: &at, FinishedAt: end, Status: status, DurationMS: e.DurationMS, Error: e.Error}
	if status == domain.StatusDeadLettered {
		a.Status = domain.StatusFailed
	}
	if err := st.FinishExecution(ctx, e, a); err != nil {
		t.Fatalf("finish execution: %v", err)
	}
	return e
}

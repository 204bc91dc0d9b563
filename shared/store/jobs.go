package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vecron/vecron/shared/domain"
)

const jobColumns = `id, namespace, name, description, kind, spec, schedule, timezone, enabled,
	timeout_ms, next_run_at, shard, version, created_at, updated_at, misfire_policy, max_catchup,
	starting_deadline_ms, concurrency_policy, paused_at, retry, coalesce(created_by, ''), coalesce(updated_by, ''), calendar_rules,
	tags, triggers, chains, alert_after, alert_enabled, missed_after_ms`

// scanJob reads one row selected with jobColumns.
func scanJob(row pgx.Row) (*domain.Job, error) {
	var (
		j          domain.Job
		spec       []byte
		schedule   []byte
		timeoutMS  int64
		deadlineMS *int64
		missedMS   *int64
		retry      []byte
		rules      []byte
		triggers   []byte
		chains     []byte
		alertAfter int16
		alertOn    bool
	)
	if err := row.Scan(&j.ID, &j.Namespace, &j.Name, &j.Description, &j.Kind, &spec, &schedule,
		&j.Timezone, &j.Enabled, &timeoutMS, &j.NextRunAt, &j.Shard, &j.Version, &j.CreatedAt, &j.UpdatedAt,
		&j.MisfirePolicy, &j.MaxCatchup, &deadlineMS, &j.ConcurrencyPolicy, &j.PausedAt, &retry, &j.CreatedBy, &j.UpdatedBy, &rules,
		&j.Tags, &triggers, &chains, &alertAfter, &alertOn, &missedMS); err != nil {
		return nil, err
	}
	if len(j.Tags) == 0 {
		j.Tags = nil // none, as a job written without tags holds
	}
	if rules != nil {
		j.CalendarRules = new(domain.CalendarRules)
		if err := json.Unmarshal(rules, j.CalendarRules); err != nil {
			return nil, fmt.Errorf("job %s: decode calendar rules: %w", j.ID, err)
		}
	}
	if triggers != nil {
		if err := json.Unmarshal(triggers, &j.Triggers); err != nil {
			return nil, fmt.Errorf("job %s: decode triggers: %w", j.ID, err)
		}
	}
	j.Alert = domain.AlertPolicy{AfterFailures: int(alertAfter)}
	if !alertOn {
		j.Alert.Enabled = &alertOn
	}
	if chains != nil {
		var c storedChains
		if err := json.Unmarshal(chains, &c); err != nil {
			return nil, fmt.Errorf("job %s: decode chains: %w", j.ID, err)
		}
		j.Chains, j.Editor = c.Chains, c.Editor
	}
	if err := json.Unmarshal(retry, &j.Retry); err != nil {
		return nil, fmt.Errorf("job %s: decode retry policy: %w", j.ID, err)
	}
	if deadlineMS != nil {
		j.StartingDeadline = domain.Duration(time.Duration(*deadlineMS) * time.Millisecond)
	}
	if missedMS != nil {
		j.MissedAfter = domain.Duration(time.Duration(*missedMS) * time.Millisecond)
	}
	j.PausedAt = utcPtr(j.PausedAt)
	if err := json.Unmarshal(schedule, &j.Schedule); err != nil {
		return nil, fmt.Errorf("job %s: decode schedule: %w", j.ID, err)
	}
	switch j.Kind {
	case domain.KindHTTP:
		j.HTTP = new(domain.HTTPSpec)
		if err := json.Unmarshal(spec, j.HTTP); err != nil {
			return nil, fmt.Errorf("job %s: decode http spec: %w", j.ID, err)
		}
	case domain.KindSQL:
		j.SQL = new(domain.SQLSpec)
		if err := json.Unmarshal(spec, j.SQL); err != nil {
			return nil, fmt.Errorf("job %s: decode sql spec: %w", j.ID, err)
		}
	}
	j.Timeout = domain.Duration(time.Duration(timeoutMS) * time.Millisecond)
	j.NextRunAt = utcPtr(j.NextRunAt)
	j.CreatedAt = j.CreatedAt.UTC()
	j.UpdatedAt = j.UpdatedAt.UTC()
	j.DeriveState()
	return &j, nil
}

func specOf(j *domain.Job) ([]byte, error) {
	switch j.Kind {
	case domain.KindHTTP:
		return json.Marshal(j.HTTP)
	case domain.KindSQL:
		return json.Marshal(j.SQL)
	}
	return nil, fmt.Errorf("job kind %q has no spec encoding", j.Kind)
}

// encodedJob holds the columns of a job that are stored encoded.
type encodedJob struct {
	spec, schedule, retry []byte
	deadlineMS            *int64
	// missedMS is NULL for a job on the default grace.
	missedMS *int64
	// rules is NULL for a job without calendars.
	rules []byte
	// tags is never nil: pgx writes a nil slice as NULL, and the column holds '{}' for none.
	tags []string
	// triggers is NULL for a job without triggers; eventType indexes its event trigger.
	triggers     []byte
	eventTrigger bool
	eventType    *string
	// chains is NULL for a job that chains to nothing.
	chains []byte
	// alertAfter and alertOn are the job's alert policy, its default filled in.
	alertAfter int16
	alertOn    bool
}

// storedChains is the chains column: a job's chains and who last wrote them.
type storedChains struct {
	domain.Chains
	Editor *domain.Editor `json:"editor,omitempty"`
}

func encodeJob(j *domain.Job) (encodedJob, error) {
	var c encodedJob
	var err error
	if c.spec, err = specOf(j); err != nil {
		return c, err
	}
	if c.schedule, err = json.Marshal(j.Schedule); err != nil {
		return c, err
	}
	if c.retry, err = json.Marshal(j.Retry); err != nil {
		return c, err
	}
	c.alertAfter, c.alertOn = int16(min(j.Alert.Threshold(), domain.MaxAlertAfter)), j.Alert.On()
	c.tags = j.Tags
	if c.tags == nil {
		c.tags = []string{}
	}
	if j.StartingDeadline > 0 {
		ms := time.Duration(j.StartingDeadline).Milliseconds()
		c.deadlineMS = &ms
	}
	if j.MissedAfter > 0 {
		ms := time.Duration(j.MissedAfter).Milliseconds()
		c.missedMS = &ms
	}
	if j.CalendarRules != nil {
		if c.rules, err = json.Marshal(j.CalendarRules); err != nil {
			return c, err
		}
	}
	if len(j.Triggers) > 0 {
		if c.triggers, err = json.Marshal(j.Triggers); err != nil {
			return c, err
		}
	}
	if !j.Chains.Empty() {
		if c.chains, err = json.Marshal(storedChains{Chains: j.Chains, Editor: j.Editor}); err != nil {
			return c, err
		}
	}
	if t := j.EventTrigger(); t != nil {
		c.eventTrigger = true
		if typ := t.IndexedType(); typ != "" {
			c.eventType = &typ
		}
	}
	return c, nil
}

// jobNameTaken turns the violation of a job's unique (namespace, name) into a conflict that
// names the field; it returns any other error as it is.
func jobNameTaken(err error, j *domain.Job) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "jobs_namespace_name_key" {
		return &domain.ConflictError{FieldError: domain.FieldError{Field: "name",
			Reason: fmt.Sprintf("a job named %q already exists in namespace %q", j.Name, j.Namespace)}}
	}
	return err
}

// CreateJob inserts j (its ID, Shard and timestamps already set). It returns an error wrapping
// domain.ErrConflict when the namespace already has a job of that name.
func (s *Store) CreateJob(ctx context.Context, j *domain.Job) error {
	change := Change{Action: "job.create", ObjectKind: "job", ObjectID: j.ID, Namespace: j.Namespace}
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		err := insertJob(ctx, tx, j)
		change.After = j.Redacted()
		return err
	})
	return translate("create job", err)
}

// insertJob inserts j in tx, naming its creator after ctx's actor.
func insertJob(ctx context.Context, tx pgx.Tx, j *domain.Job) error {
	c, err := encodeJob(j)
	if err != nil {
		return fmt.Errorf("encode job: %w", err)
	}
	if by := domain.ActorLabel(ctx); by != "" {
		j.CreatedBy, j.UpdatedBy = by, by
	}
	if err := calendarsUnchanged(ctx, tx, j.Namespace, j.CalendarRules); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO jobs (id, namespace, name, description, kind, spec, schedule,
		timezone, enabled, timeout_ms, next_run_at, shard, version, created_at, updated_at,
		misfire_policy, max_catchup, starting_deadline_ms, concurrency_policy, paused_at, retry, created_by, updated_by, calendar_rules, tags,
		triggers, event_trigger, event_type, chains, alert_after, alert_enabled, missed_after_ms)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15, $16, $17, $18, $19, $20, $21, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30)`,
		j.ID, j.Namespace, j.Name, j.Description, j.Kind, c.spec, c.schedule, j.Timezone, j.Enabled,
		time.Duration(j.Timeout).Milliseconds(), j.NextRunAt, j.Shard, j.Version, j.CreatedAt,
		j.MisfirePolicy, j.MaxCatchup, c.deadlineMS, j.ConcurrencyPolicy, j.PausedAt, c.retry, nullable(j.CreatedBy), c.rules, c.tags,
		c.triggers, c.eventTrigger, c.eventType, c.chains, c.alertAfter, c.alertOn, c.missedMS)
	return jobNameTaken(err, j)
}

// CreateJobs inserts jobs (IDs, shards and timestamps already set) in one COPY: all or none. It
// returns an error wrapping domain.ErrConflict when a name is taken.
func (s *Store) CreateJobs(ctx context.Context, jobs []*domain.Job) error {
	rows := make([][]any, len(jobs))
	var calendars []*domain.Job // the jobs that name calendars
	for i, j := range jobs {
		c, err := encodeJob(j)
		if err != nil {
			return fmt.Errorf("create jobs: %w", err)
		}
		rows[i] = []any{j.ID, j.Namespace, j.Name, j.Description, j.Kind, c.spec, c.schedule, j.Timezone, j.Enabled,
			time.Duration(j.Timeout).Milliseconds(), j.NextRunAt, j.Shard, j.Version, j.CreatedAt, j.UpdatedAt,
			j.MisfirePolicy, j.MaxCatchup, c.deadlineMS, j.ConcurrencyPolicy, j.PausedAt, c.retry, c.rules, c.tags,
			c.triggers, c.eventTrigger, c.eventType, c.chains, c.alertAfter, c.alertOn, c.missedMS}
		if j.CalendarRules != nil {
			calendars = append(calendars, j)
		}
	}
	copyJobs := func(ctx context.Context, db interface {
		CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error)
	}) error {
		_, err := db.CopyFrom(ctx, pgx.Identifier{"jobs"}, []string{"id", "namespace", "name", "description",
			"kind", "spec", "schedule", "timezone", "enabled", "timeout_ms", "next_run_at", "shard", "version",
			"created_at", "updated_at", "misfire_policy", "max_catchup", "starting_deadline_ms", "concurrency_policy",
			"paused_at", "retry", "calendar_rules", "tags", "triggers", "event_trigger", "event_type", "chains", "alert_after", "alert_enabled", "missed_after_ms"}, pgx.CopyFromRows(rows))
		return err
	}
	if len(calendars) == 0 {
		return translate("create jobs", copyJobs(ctx, s.pool))
	}
	// Jobs that name calendars are stored with the rules they were planned by, in a transaction
	// that holds those calendars unchanged.
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, j := range calendars {
			if err := calendarsUnchanged(ctx, tx, j.Namespace, j.CalendarRules); err != nil {
				return err
			}
		}
		return copyJobs(ctx, tx)
	})
	return translate("create jobs", err)
}

// UpdateJob replaces the definition of the job j.ID with j when the job is still at version
// ifVersion (0: whatever version it is at). The next run is j's, but with keepNext the stored one
// stays if the stored job is still enabled on j's schedule. It bumps the version, keeps what an
// edit cannot change (identity, namespace, kind, shard, creation) and records the change in the
// audit log. An edit that pauses the job withdraws its scheduled fires not yet published, as
// SetEnabled does; other fires already claimed stay, and run the new version (ARCHITECTURE §11:
// the executor reads the job's version when a fire starts). It returns the stored job, or an
// error wrapping domain.ErrNotFound, domain.ErrStale (a *domain.StaleError) or
// domain.ErrConflict (a *domain.ConflictError naming the field).
func (s *Store) UpdateJob(ctx context.Context, j *domain.Job, ifVersion int64, keepNext bool, now time.Time) (*domain.Job, error) {
	var out *domain.Job
	change := Change{Action: "job.update", ObjectKind: "job", ObjectID: j.ID}
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		before, after, err := updateJob(ctx, tx, j, ifVersion, keepNext, now)
		if err != nil {
			return err
		}
		out = after
		change.Namespace, change.Before, change.After = out.Namespace, before.Redacted(), out.Redacted()
		return nil
	})
	return out, translate("update job", err)
}

// updateJob is UpdateJob in tx: it returns the job before and after the change.
//
// A new plan (schedule or time zone) starts to be claimed now (claims_from, handedOutSQL): no
// instant of it before was handed out. A job paused before and after the edit starts it at the
// pause's start instead, where its resume takes up the claim again; a job enabled with no
// pause's start on record (created disabled) starts now whatever its plan.
func updateJob(ctx context.Context, tx pgx.Tx, j *domain.Job, ifVersion int64, keepNext bool, now time.Time) (before, after *domain.Job, err error) {
	c, err := encodeJob(j)
	if err != nil {
		return nil, nil, fmt.Errorf("encode job: %w", err)
	}
	// Calendars before the job: an edit of a calendar locks it, then the jobs that name it.
	if err := calendarsUnchanged(ctx, tx, j.Namespace, j.CalendarRules); err != nil {
		return nil, nil, err
	}
	before, err = scanJob(tx.QueryRow(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = $1 FOR UPDATE`, j.ID))
	if err != nil {
		return nil, nil, err
	}
	if ifVersion != 0 && before.Version != ifVersion {
		return nil, nil, &domain.StaleError{Kind: "job", Current: before.Version}
	}
	after, err = scanJob(tx.QueryRow(ctx, `UPDATE jobs SET name = $2, description = $3, spec = $4,
		schedule = $5, timezone = $6, enabled = $7, timeout_ms = $8,
		next_run_at = CASE WHEN $17 AND enabled AND schedule = $5 AND timezone = $6 THEN next_run_at ELSE $9 END,
		claims_from = CASE WHEN NOT enabled AND $7 AND paused_at IS NULL THEN $15
			WHEN schedule = $5 AND timezone = $6 THEN claims_from
			WHEN NOT enabled AND NOT $7 THEN coalesce(paused_at, $15) ELSE $15 END,
		misfire_policy = $10, max_catchup = $11, starting_deadline_ms = $12, concurrency_policy = $13,
		retry = $14, paused_at = CASE WHEN $7 THEN NULL ELSE coalesce(paused_at, $15) END,
		version = version + 1, updated_at = $15, updated_by = coalesce($16, updated_by), calendar_rules = $18, tags = $19,
		triggers = $20, event_trigger = $21, event_type = $22, chains = $23, alert_after = $24, alert_enabled = $25, missed_after_ms = $26
		WHERE id = $1 RETURNING `+jobColumns,
		j.ID, j.Name, j.Description, c.spec, c.schedule, j.Timezone, j.Enabled, time.Duration(j.Timeout).Milliseconds(),
		j.NextRunAt, j.MisfirePolicy, j.MaxCatchup, c.deadlineMS, j.ConcurrencyPolicy, c.retry, now,
		nullable(domain.ActorLabel(ctx)), keepNext, c.rules, c.tags, c.triggers, c.eventTrigger, c.eventType, c.chains, c.alertAfter, c.alertOn, c.missedMS))
	if err != nil {
		return nil, nil, jobNameTaken(err, j)
	}
	if before.Enabled && !after.Enabled {
		if err := withdrawScheduled(ctx, tx, j.ID); err != nil {
			return nil, nil, err
		}
	}
	return before, after, nil
}

// GetJob returns the job with id, or an error wrapping domain.ErrNotFound.
func (s *Store) GetJob(ctx context.Context, id string) (*domain.Job, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = $1`, id))
	return j, translate("get job", err)
}

// ListJobs returns a page of jobs.
func (s *Store) ListJobs(ctx context.Context, p domain.ListJobsParams) ([]*domain.Job, error) {
	var w clause
	jobFilter(&w, p)
	w.addIf(p.After != "", "id > %s::uuid", p.After)
	rows, err := s.pool.Query(ctx, `SELECT `+jobColumns+` FROM jobs `+w.sql()+`
		ORDER BY id LIMIT `+w.param(p.Limit), w.queryArgs()...)
	if err != nil {
		return nil, translate("list jobs", err)
	}
	defer rows.Close()
	var jobs []*domain.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, translate("list jobs", err)
		}
		jobs = append(jobs, j)
	}
	return jobs, translate("list jobs", rows.Err())
}

// DeleteJob deletes the job with id and its fires not yet published, and records its runs
// started by hand and not yet begun skipped; its execution history stays. It returns an error
// wrapping domain.ErrNotFound when there is no such job.
func (s *Store) DeleteJob(ctx context.Context, id string) error {
	change := Change{Action: "job.delete", ObjectKind: "job", ObjectID: id}
	return s.inTx(ctx, &change, func(tx pgx.Tx) error {
		j, err := deleteJob(ctx, tx, id, 0)
		if err != nil {
			return err
		}
		change.Namespace, change.Before = j.Namespace, j.Redacted()
		return nil
	})
}

// deleteJob is DeleteJob in tx, of the job still at version ifVersion (0: any); it returns the
// deleted job, or an error wrapping domain.ErrNotFound or domain.ErrStale.
func deleteJob(ctx context.Context, tx pgx.Tx, id string, ifVersion int64) (*domain.Job, error) {
	j, err := scanJob(tx.QueryRow(ctx, `DELETE FROM jobs WHERE id = $1 AND ($2::bigint = 0 OR version = $2::bigint) RETURNING `+jobColumns, id, ifVersion))
	if errors.Is(err, pgx.ErrNoRows) && ifVersion != 0 {
		var current int64
		if tx.QueryRow(ctx, `SELECT version FROM jobs WHERE id = $1`, id).Scan(&current) == nil {
			return nil, &domain.StaleError{Kind: "job", Current: current}
		}
	}
	if err != nil {
		return nil, translate("delete job", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM outbox WHERE job_id = $1`, id); err != nil {
		return nil, translate("delete job outbox", err)
	}
	// The streak goes with its job; its undelivered notices stay, naming the job.
	if _, err := tx.Exec(ctx, `DELETE FROM job_alert_state WHERE job_id = $1`, id); err != nil {
		return nil, translate("delete job alert state", err)
	}
	// Runs started by hand and not yet begun end with their job: their callers hold ids.
	_, err = tx.Exec(ctx, `UPDATE job_executions SET status = 'skipped', finished_at = now(),
		error = 'skipped: the job was deleted before this fire started', next_attempt_at = NULL
		WHERE job_id = $1 AND status = 'queued' AND attempt = 0`, id)
	return j, translate("skip the job's runs started by hand", err)
}

// withdrawScheduled deletes the fires of job id not yet published, but for runs started by hand
// (a pause stops the schedule, not an operator: docs/manual-runs.md) and by events: their
// executions are recorded queued, and the executor records them skipped (paused) when their
// fire arrives, as it does any fire of a paused job.
func withdrawScheduled(ctx context.Context, tx pgx.Tx, id string) error {
	_, err := tx.Exec(ctx, `DELETE FROM outbox WHERE job_id = $1 AND trigger NOT IN ('manual', 'event')`, id)
	return err
}

// SetEnabled enables or disables the job with id, sets its next run (nil when disabled or when the
// schedule has ended) and bumps its version. Disabling records when the pause began (kept when
// the job was already paused); enabling clears it. It returns the updated job, or an error
// wrapping domain.ErrNotFound.
//
// Disabling also withdraws the job's fires not yet published (a fire the tick already holds may
// still go out, at most one lookahead later).
func (s *Store) SetEnabled(ctx context.Context, id string, enabled bool, nextRunAt *time.Time, now time.Time) (*domain.Job, error) {
	var j *domain.Job
	change := Change{Action: "job.disable", ObjectKind: "job", ObjectID: id}
	if enabled {
		change.Action = "job.enable"
	}
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		var err error
		// A resume takes the claim up from the pause's start (its next run comes from there);
		// with none on record it starts now, and nothing before was handed out (claims_from).
		j, err = scanJob(tx.QueryRow(ctx, `UPDATE jobs SET enabled = $2, next_run_at = $3,
			claims_from = CASE WHEN $2 AND NOT enabled AND paused_at IS NULL THEN $4 ELSE claims_from END,
			paused_at = CASE WHEN $2 THEN NULL ELSE coalesce(paused_at, $4) END,
			version = version + 1, updated_at = $4, updated_by = coalesce($5, updated_by)
			WHERE id = $1 RETURNING `+jobColumns, id, enabled, nextRunAt, now, nullable(domain.ActorLabel(ctx))))
		if err != nil {
			return err
		}
		change.Namespace, change.After = j.Namespace, j.Redacted()
		if enabled {
			return nil
		}
		return withdrawScheduled(ctx, tx, id)
	})
	return j, translate("set job enabled", err)
}

// ScheduleAfterFinish sets the next run of a fixed_delay job whose execution of the fire at
// firedAt just finished (nil when its schedule has ended) and wakes the tick. A disabled job, or
// one whose next run is already set past firedAt (an edit, a resume), is left alone. A next run
// at or before firedAt is the claim of that very fire rolled back after it was published (the
// tick died before committing): the execution's end decides the next run all the same, or the
// claim made again would wait for an end that was already recorded. With no next run the
// schedule has ended, and the job's claim vouches for no instant any more (handed_out_at).
func (s *Store) ScheduleAfterFinish(ctx context.Context, jobID string, firedAt time.Time, next *time.Time) error {
	_, err := s.pool.Exec(ctx, `WITH u AS (
			UPDATE jobs SET next_run_at = $2,
				handed_out_at = CASE WHEN $2::timestamptz IS NULL THEN '-infinity' ELSE handed_out_at END
			WHERE id = $1 AND enabled AND (next_run_at IS NULL OR next_run_at <= $3)
			RETURNING 1)
		SELECT pg_notify(current_schema() || '.vecron_jobs', '') FROM u`, jobID, next, firedAt)
	return translate("schedule next run after finish", err)
}

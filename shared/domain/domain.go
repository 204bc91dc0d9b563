// Package domain holds vecron's domain types and sentinel errors. It imports only the standard
// library so that every other package may depend on it and it depends on none of them.
package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// DefaultTimezone is the zone a job's schedule is evaluated in when the job names none.
const DefaultTimezone = "Asia/Ho_Chi_Minh"

// DefaultNamespace is the namespace of a job created without one.
const DefaultNamespace = "default"

// ShardCount is the fixed number of shards jobs are spread over (shard = hash(id) mod ShardCount).
// Tick replicas own shards, never individual jobs, so the count never changes with the replica count.
const ShardCount = 128

// Sentinel errors the store and the use cases return; callers branch on them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrStale: a write named a version of an object that is no longer its current one.
	ErrStale = errors.New("stale version")
)

// ConflictError is an ErrConflict caused by one field, such as a name already taken.
type ConflictError struct {
	FieldError
}

func (e *ConflictError) Error() string { return "conflict: " + e.FieldError.Error() }

// Is makes a ConflictError an ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// StaleError is the ErrStale of an optimistic write: the object is at version Current now.
type StaleError struct {
	Kind    string
	Current int64
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("the %s changed since it was read: it is at version %d now", e.Kind, e.Current)
}

// Is makes a StaleError an ErrStale.
func (e *StaleError) Is(target error) bool { return target == ErrStale }

// JobKind says which executor runs a job.
type JobKind string

// Job kinds.
const (
	KindHTTP JobKind = "http"
	KindSQL  JobKind = "sql"
)

// Trigger says what caused an execution.
type Trigger string

// Triggers.
const (
	TriggerSchedule Trigger = "schedule"
	TriggerManual   Trigger = "manual"
	TriggerWebhook  Trigger = "webhook"
	TriggerEvent    Trigger = "event"
	TriggerRetry    Trigger = "retry"
	TriggerReplay   Trigger = "replay"
	TriggerBackfill Trigger = "backfill"
)

// Triggers returns every trigger. Tests range over it to check each one has an idempotency-key
// form, and a test of this package keeps it in step with the constants.
func Triggers() []Trigger {
	return []Trigger{TriggerSchedule, TriggerManual, TriggerWebhook, TriggerEvent, TriggerRetry, TriggerReplay, TriggerBackfill,
		TriggerChain}
}

// ExecutionStatus is the state of one execution.
type ExecutionStatus string

// Execution statuses.
const (
	StatusQueued       ExecutionStatus = "queued"
	StatusRunning      ExecutionStatus = "running"
	StatusSucceeded    ExecutionStatus = "succeeded"
	StatusFailed       ExecutionStatus = "failed"
	StatusTimedOut     ExecutionStatus = "timed_out"
	StatusSkipped      ExecutionStatus = "skipped"
	StatusDeadLettered ExecutionStatus = "dead_lettered"
	StatusCancelled    ExecutionStatus = "cancelled"
)

// Statuses returns every execution status. Tests range over it to check each one is classified
// by Terminal, and a test of this package keeps it in step with the constants.
func Statuses() []ExecutionStatus {
	return []ExecutionStatus{StatusQueued, StatusRunning, StatusSucceeded, StatusFailed, StatusTimedOut, StatusSkipped,
		StatusDeadLettered, StatusCancelled}
}

// Terminal reports whether no further attempt of the execution will run on its own.
func (s ExecutionStatus) Terminal() bool {
	switch s {
	case StatusSucceeded, StatusFailed, StatusTimedOut, StatusSkipped, StatusDeadLettered, StatusCancelled:
		return true
	}
	return false
}

// ScheduleKind says how a schedule computes its fires.
type ScheduleKind string

// Schedule kinds.
const (
	// ScheduleCron fires at the instants a Quartz cron expression matches in the job's zone.
	ScheduleCron ScheduleKind = "cron"
	// ScheduleFixedRate fires every Every from Anchor, whatever the runs take.
	ScheduleFixedRate ScheduleKind = "fixed_rate"
	// ScheduleFixedDelay fires Every after the previous execution finished.
	ScheduleFixedDelay ScheduleKind = "fixed_delay"
	// ScheduleOnce fires once, at At.
	ScheduleOnce ScheduleKind = "once"
)

// DST policies: what a cron schedule does with a local time a clock change skips or repeats.
const (
	DSTGapShiftForward = "shift_forward" // fire at the first instant after the gap (default)
	DSTGapSkip         = "skip"          // do not fire (Quartz's behaviour)
	DSTOverlapFirst    = "first"         // fire at the first occurrence (default)
	DSTOverlapLast     = "last"          // fire at the second occurrence
	DSTOverlapBoth     = "both"          // fire at both
)

// Schedule says when a job fires: a tagged union on Kind, validated on write by
// schedule.Parse. Instants are UTC on the wire; dates are in the job's zone.
type Schedule struct {
	// Kind defaults to cron when Cron is set.
	Kind ScheduleKind `json:"kind,omitempty"`
	// Cron is a Quartz cron expression (6 or 7 fields, seconds first), a 5-field Unix expression
	// (second 0), or a descriptor such as "@hourly" or "@every 90s".
	Cron string `json:"cron,omitempty"`
	// Every is the interval of fixed_rate and fixed_delay.
	Every Duration `json:"every,omitempty"`
	// Anchor is an instant a fixed_rate schedule fires at; required unless StartAt is set, which
	// then serves as the anchor. With an @every cron expression it defaults to the Unix epoch.
	Anchor *time.Time `json:"anchor,omitempty"`
	// At is the instant of a once schedule.
	At *time.Time `json:"at,omitempty"`
	// StartAt and EndAt bound the fires: none before StartAt, none after EndAt.
	StartAt *time.Time `json:"start_at,omitempty"`
	EndAt   *time.Time `json:"end_at,omitempty"`
	// DSTGap is DSTGapShiftForward (default) or DSTGapSkip.
	DSTGap string `json:"dst_gap,omitempty"`
	// DSTOverlap is DSTOverlapFirst (default), DSTOverlapLast or DSTOverlapBoth.
	DSTOverlap string `json:"dst_overlap,omitempty"`
	// Jitter delays every fire by the same offset in [0, Jitter), derived from the job id, to
	// spread jobs that share a schedule.
	Jitter Duration `json:"jitter,omitempty"`
	// ExcludedDates are dates (YYYY-MM-DD, in the job's zone) on which nothing fires.
	ExcludedDates []string `json:"excluded_dates,omitempty"`
	// Calendars name shared calendars (see Calendar) whose excluded days and business days
	// apply too.
	Calendars []string `json:"calendars,omitempty"`
}

// Misfire policies: what the tick does with fires it could not make on time (it was down, the
// job was paused, the system was overloaded).
const (
	MisfireFireOnce = "fire_once" // one catch-up fire for all that were missed (default)
	MisfireSkip     = "skip"      // none; resume at the next future fire
	MisfireFireAll  = "fire_all"  // every missed fire, up to MaxCatchup
)

// Concurrency policies: what a fire does while an earlier execution of the job still runs.
const (
	ConcurrencyAllow   = "allow"   // run alongside (default)
	ConcurrencyForbid  = "forbid"  // record the new fire as skipped
	ConcurrencyReplace = "replace" // cancel the running one (best effort), then run
)

// Job states, derived from the stored fields.
const (
	StateScheduled = "scheduled" // enabled with a next run
	StatePaused    = "paused"    // disabled
	StateWaiting   = "waiting"   // fixed_delay: the next run is set when the running one finishes
	StateCompleted = "completed" // a once job that fired
	StateEnded     = "ended"     // the schedule has no further fire (past end_at)
	StateOnEvent   = "on_event"  // enabled, without a schedule: runs when an event matches
)

// SQL drivers.
const (
	DriverPostgres = "postgres"
	DriverMySQL    = "mysql"
	DriverOracle   = "oracle"
)

// DatabaseIdentity is what a PostgreSQL server reports of the database a connection is in: the
// cluster's system identifier (pg_control_system()) and the database's name. Two connections
// with the same identity are in the same database, whatever host name, address or port they
// reached it by.
type DatabaseIdentity struct {
	SystemID string
	Database string
}

// SQLSpec is what a sql job runs against its target database — never the system database.
type SQLSpec struct {
	// Driver is one of the Driver… constants.
	Driver string `json:"driver"`
	// DSN is the connection string, usually a secret variable ({{ var.REPORTS_DSN }}); or give
	// the fields below.
	DSN      string `json:"dsn,omitempty"`
	Host     string `json:"host,omitempty"`
	Port     int    `json:"port,omitempty"`
	Database string `json:"database,omitempty"`
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
	// Statements run in order on one connection.
	Statements []SQLStatement `json:"statements"`
	// Transaction runs them all in one transaction: all or nothing.
	Transaction bool `json:"transaction,omitempty"`
	// ReadOnly runs them in a read-only transaction, enforced by the database.
	ReadOnly bool `json:"read_only,omitempty"`
	// StatementTimeout bounds each statement (the job's timeout bounds them all).
	StatementTimeout Duration `json:"statement_timeout,omitempty"`
	// MaxRows bounds the rows of a query kept in the result (default 20).
	MaxRows int `json:"max_rows,omitempty"`
}

// SQLStatement is one statement with its bind parameters: positional in the driver's
// placeholder syntax ($1 for PostgreSQL, ? for MySQL, :1 for Oracle), or named (@name for
// PostgreSQL, :name for Oracle; MySQL has no named parameters). String values may be templates;
// they are always bound, never spliced into the SQL.
type SQLStatement struct {
	SQL         string         `json:"sql"`
	Params      []any          `json:"params,omitempty"`
	NamedParams map[string]any `json:"named_params,omitempty"`
}

// HTTPSpec is the request an http job sends.
type HTTPSpec struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
	// FollowRedirects is how many redirects the request follows (0: none, the 3xx is the
	// answer). Every hop passes the egress policy, and credentials stay behind on a change of
	// host.
	FollowRedirects int `json:"follow_redirects,omitempty"`
}

// Job is a scheduled unit of work.
type Job struct {
	ID          string    `json:"id"`
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Kind        JobKind   `json:"kind"`
	HTTP        *HTTPSpec `json:"http,omitempty"`
	SQL         *SQLSpec  `json:"sql,omitempty"`
	Schedule    Schedule  `json:"schedule"`
	Timezone    string    `json:"timezone"`
	Enabled     bool      `json:"enabled"`
	// Tags label the job for finding it (GET /api/v1/jobs?tag=…): at most MaxTags, each a
	// ValidTag, stored without duplicates and sorted (NormalizeTags). They mean nothing to the
	// schedule or the executors, so a due event does not carry them.
	Tags []string `json:"tags,omitempty"`
	// Triggers are the job's ways in beside (or instead of) its schedule: event triggers.
	Triggers []JobTrigger `json:"triggers,omitempty"`
	// Chains are the jobs this job's executions start when they end (docs/chaining.md).
	Chains
	// Editor is who last wrote Chains; never shown.
	Editor *Editor `json:"-"`
	// Alert says when the job's failures raise an alert (docs/alerts.md).
	Alert AlertPolicy `json:"alert,omitzero"`
	// Timeout bounds one execution attempt.
	Timeout Duration `json:"timeout"`
	// MisfirePolicy is one of the Misfire… constants; MaxCatchup caps fire_all.
	MisfirePolicy string `json:"misfire_policy"`
	MaxCatchup    int    `json:"max_catchup"`
	// StartingDeadline, when set, records a fire that cannot start within it of its scheduled
	// instant as skipped.
	StartingDeadline Duration `json:"starting_deadline,omitempty"`
	// MissedAfter, when set, is how long after its instant a fire that has not started is
	// recorded missed (docs/missed-fires.md); zero means MissedAfterDefault.
	MissedAfter Duration `json:"missed_after,omitempty"`
	// ConcurrencyPolicy is one of the Concurrency… constants.
	ConcurrencyPolicy string `json:"concurrency_policy"`
	// Retry says how often and how soon a failed attempt is tried again.
	Retry RetryPolicy `json:"retry"`
	// State is derived: one of the State… constants.
	State     string     `json:"state"`
	PausedAt  *time.Time `json:"paused_at,omitempty"`
	NextRunAt *time.Time `json:"next_run_at"`
	Shard     int        `json:"shard"`
	Version   int64      `json:"version"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	// CreatedBy and UpdatedBy name who made and who last changed the job (Actor.Label).
	CreatedBy string `json:"created_by,omitempty"`
	UpdatedBy string `json:"updated_by,omitempty"`
	// CalendarRules are the resolved rules of Schedule.Calendars (nil without calendars).
	CalendarRules *CalendarRules `json:"-"`
}

// Execution is one run of a job for one fire, with its outcome.
type Execution struct {
	ID             string          `json:"id"`
	JobID          string          `json:"job_id"`
	JobVersion     int64           `json:"job_version"`
	IdempotencyKey string          `json:"idempotency_key"`
	Trigger        Trigger         `json:"trigger"`
	ScheduledAt    time.Time       `json:"scheduled_at"`
	StartedAt      *time.Time      `json:"started_at,omitempty"`
	FinishedAt     *time.Time      `json:"finished_at,omitempty"`
	Status         ExecutionStatus `json:"status"`
	Attempt        int             `json:"attempt"`
	// Forced marks a run started by hand with "force": exempt from the one-running rule of a
	// forbid job.
	Forced bool `json:"forced,omitempty"`
	// HTTPStatus is the response status code of an http job; 0 when no response arrived.
	HTTPStatus int `json:"http_status,omitempty"`
	// DurationMS is how long the attempt ran, from sending the request to reading the excerpt.
	DurationMS      float64 `json:"duration_ms"`
	ResponseExcerpt string  `json:"response_excerpt,omitempty"`
	Error           string  `json:"error,omitempty"`
	WorkerID        string  `json:"worker_id,omitempty"`
	// NextAttemptAt is when a queued execution's next attempt is due (after a failed attempt).
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	// DeadLetter is set on a dead-lettered execution: what became of it since.
	DeadLetter *DeadLetter `json:"dead_letter,omitempty"`
	// Attempts lists every attempt, oldest first; only a single execution's view fills it.
	Attempts []Attempt `json:"attempts,omitempty"`
	// Delivery is what the executor knew of how the fire reached it when it recorded the
	// execution; only the timeline reads it back (nil elsewhere).
	Delivery *DeliveryFacts `json:"-"`
	// TraceID is the W3C trace id (32 lowercase hex digits) of the sampled trace the run belongs
	// to — the request that started it, or its fire's — recorded with the execution; empty when
	// its span was not sampled or tracing was off.
	TraceID string `json:"trace_id,omitempty"`
}

// DeliveryFacts are how a fire travelled from its claim to the worker that recorded it
// (docs/fire-timeline.md). A zero field is not known: never guessed.
type DeliveryFacts struct {
	// ClaimedBy is the tick replica that claimed the fire, and ClaimedAt when.
	ClaimedBy string     `json:"claimed_by,omitempty"`
	ClaimedAt *time.Time `json:"claimed_at,omitempty"`
	// PublishedAt is when the broker stored the fire's message, StreamSeq under which sequence.
	PublishedAt *time.Time `json:"published_at,omitempty"`
	StreamSeq   uint64     `json:"stream_seq,omitempty"`
	// Consumer is the durable consumer that delivered it; DeliveryCount counts its deliveries
	// up to the one that recorded (or resumed) the execution.
	Consumer      string `json:"consumer,omitempty"`
	DeliveryCount int    `json:"delivery_count,omitempty"`
}

// Attempt is one try of an execution.
type Attempt struct {
	Attempt    int             `json:"attempt"`
	StartedAt  *time.Time      `json:"started_at,omitempty"`
	FinishedAt time.Time       `json:"finished_at"`
	Status     ExecutionStatus `json:"status"`
	HTTPStatus int             `json:"http_status,omitempty"`
	DurationMS float64         `json:"duration_ms"`
	Error      string          `json:"error,omitempty"`
	WorkerID   string          `json:"worker_id,omitempty"`
}

// Dead-letter states.
const (
	DeadLetterPending   = "pending"
	DeadLetterReplayed  = "replayed"
	DeadLetterDiscarded = "discarded"
)

// DeadLetter is what a person did with a dead-lettered execution.
type DeadLetter struct {
	// State is one of the DeadLetter… constants.
	State string `json:"state"`
	// ReplayKey is the idempotency key of the replaying execution, once replayed.
	ReplayKey  string     `json:"replay_key,omitempty"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
}

// RetryPolicy says how a failed attempt is retried. The delay before attempt n+1 is drawn
// uniformly from (0, Backoff[n-1]] ("full jitter"), the last step repeating once the list ends,
// so replicas retrying the same outage do not retry in step.
type RetryPolicy struct {
	// MaxAttempts counts the first attempt: 1 never retries.
	MaxAttempts int        `json:"max_attempts"`
	Backoff     []Duration `json:"backoff"`
}

// Retry policy defaults.
const MaxAttemptsDefault = 10

// BackoffDefault is the default backoff ladder: 5 s, 15 s, 1 min, 5 min, then 30 min.
func BackoffDefault() []Duration {
	return []Duration{Duration(5 * time.Second), Duration(15 * time.Second), Duration(time.Minute),
		Duration(5 * time.Minute), Duration(30 * time.Minute)}
}

// DeriveState sets j.State from its other fields.
func (j *Job) DeriveState() {
	switch {
	case !j.Enabled:
		j.State = StatePaused
	case j.NextRunAt != nil:
		j.State = StateScheduled
	case !j.HasSchedule() && len(j.Triggers) > 0:
		j.State = StateOnEvent
	case j.Schedule.Kind == ScheduleFixedDelay:
		j.State = StateWaiting
	case j.Schedule.Kind == ScheduleOnce:
		j.State = StateCompleted
	default:
		j.State = StateEnded
	}
}

// WellFormedID accepts up to 128 letters, digits and "-_.:": enough for every id scheme a caller
// brings (request ids, idempotency keys), and nothing that could forge a log line or a header.
func WellFormedID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// SamePlan says whether schedule a in time zone aZone plans the same fires as b in bZone.
func SamePlan(a Schedule, aZone string, b Schedule, bZone string) bool {
	x, errX := json.Marshal(a)
	y, errY := json.Marshal(b)
	return errX == nil && errY == nil && bytes.Equal(x, y) && aZone == bZone
}

// FieldError says which field of an input is wrong and why. Its Field is a JSON path such as
// "schedule.cron" or "http.url".
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// ValidationError collects every FieldError of one input, so a client can fix all at once.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Error()
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Add records a problem with field.
func (e *ValidationError) Add(field, reason string) {
	e.Fields = append(e.Fields, FieldError{Field: field, Reason: reason})
}

// Err returns e when it holds a problem and nil otherwise.
func (e *ValidationError) Err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Duration is a time.Duration written in JSON as a Go duration string ("30s", "1m30s").
type Duration time.Duration

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Duration(d).String() + `"`), nil
}

// UnmarshalJSON reads a duration string; a bare number is rejected because its unit is unclear.
// Its error is a *json.UnmarshalTypeError, so the decoder reports which field held it.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if n := len(b); n >= 2 && b[0] == '"' && b[n-1] == '"' && bytes.IndexByte(b, '\\') < 0 {
		// A string without escapes is its bytes: every due event carries two, and decoding
		// them again through json.Unmarshal was a tenth of the executor's decoding.
		s = string(b[1 : n-1])
	} else if err := json.Unmarshal(b, &s); err != nil {
		return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[Duration]()}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return &json.UnmarshalTypeError{Value: strconv.Quote(s), Type: reflect.TypeFor[Duration]()}
	}
	*d = Duration(v)
	return nil
}

// RunResult is what running one attempt of a job produced.
type RunResult struct {
	// Status is StatusSucceeded, StatusFailed or StatusTimedOut.
	Status     ExecutionStatus
	HTTPStatus int
	Excerpt    string
	// Error says why the attempt failed; it never holds a secret or a full URL.
	Error    string
	Duration time.Duration
	// Permanent marks a failure retrying cannot fix (a 404, an invalid URL, a bad certificate).
	Permanent bool
	// RetryAfter is the target's own hint (an HTTP Retry-After) of when to try again; 0 if none.
	RetryAfter time.Duration
	// Reason says why the attempt failed, from FailReasons(); "" when it succeeded.
	Reason FailReason
}

// Variable scopes.
const (
	ScopeGlobal = "global"
	ScopeJob    = "job"
)

// Variable is a named value templated into jobs as {{ var.NAME }}. A secret's value is never
// shown: Value is empty and Masked is set.
type Variable struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Scope    string `json:"scope"`
	JobID    string `json:"job_id,omitempty"`
	IsSecret bool   `json:"is_secret"`
	// Value is the plain value; never set for a secret outside the executor.
	Value  string `json:"value,omitempty"`
	Masked string `json:"masked,omitempty"`
	// AllowedHosts are the host patterns a secret may be sent to; empty, anywhere the egress
	// policy allows.
	AllowedHosts []string `json:"allowed_hosts,omitempty"`
	// Namespaces are those whose jobs see a global variable; empty, every namespace.
	Namespaces []string  `json:"namespaces,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// SealedVariable is a variable as stored: a secret's value sealed, with its key id.
type SealedVariable struct {
	Variable
	Ciphertext []byte
	KeyID      string
}

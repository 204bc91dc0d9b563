// Package domain holds vecron's domain types and sentinel errors. It imports only the standard
// library so that every other package may depend on it and it depends on none of them.
package domain

import (
	"errors"
	"fmt"
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
)

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
)

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

// Terminal reports whether no further attempt of the execution will run on its own.
func (s ExecutionStatus) Terminal() bool {
	switch s {
	case StatusSucceeded, StatusFailed, StatusTimedOut, StatusSkipped, StatusDeadLettered, StatusCancelled:
		return true
	}
	return false
}

// Schedule says when a job fires. Only cron expressions exist so far.
type Schedule struct {
	// Cron is a cron expression with seconds ("*/5 * * * * *"), a 5-field Unix expression (second
	// 0) or a descriptor such as "@hourly" or "@every 90s".
	Cron string `json:"cron"`
}

// HTTPSpec is the request an http job sends.
type HTTPSpec struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
}

// Job is a scheduled unit of work.
type Job struct {
	ID          string    `json:"id"`
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Kind        JobKind   `json:"kind"`
	HTTP        *HTTPSpec `json:"http,omitempty"`
	Schedule    Schedule  `json:"schedule"`
	Timezone    string    `json:"timezone"`
	Enabled     bool      `json:"enabled"`
	// Timeout bounds one execution attempt.
	Timeout   Duration   `json:"timeout"`
	NextRunAt *time.Time `json:"next_run_at"`
	Shard     int        `json:"shard"`
	Version   int64      `json:"version"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
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
	// HTTPStatus is the response status code of an http job; 0 when no response arrived.
	HTTPStatus int `json:"http_status,omitempty"`
	// DurationMS is how long the attempt ran, from sending the request to reading the excerpt.
	DurationMS      float64 `json:"duration_ms"`
	ResponseExcerpt string  `json:"response_excerpt,omitempty"`
	Error           string  `json:"error,omitempty"`
	WorkerID        string  `json:"worker_id,omitempty"`
}

// ScheduledKey is the idempotency key of a scheduled fire: "<job id>:<scheduled unix ms>".
// Every delivery of the fire carries it, and the executions table holds it once.
func ScheduledKey(jobID string, scheduledAt time.Time) string {
	return fmt.Sprintf("%s:%d", jobID, scheduledAt.UnixMilli())
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
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return fmt.Errorf("want a duration string such as \"30s\", got %s", s)
	}
	v, err := time.ParseDuration(s[1 : len(s)-1])
	if err != nil {
		return fmt.Errorf("want a duration string such as \"30s\": %w", err)
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
}

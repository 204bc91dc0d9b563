package domain

import "time"

// StatsWindow is the span a job's statistics count outcomes over.
const StatsWindow = 7 * 24 * time.Hour

// JobStats sums up how a job's fires ended: over the last 7 days (by the hour of each fire's
// scheduled instant) for the counts and the success rate, over its recent history for the rest.
// Executions still queued or running are not counted yet.
type JobStats struct {
	JobID string `json:"job_id"`
	// WindowFrom is where the 7 days of Counts and SuccessRate begin: the start of the hour
	// 7 days before now.
	WindowFrom time.Time     `json:"window_from"`
	Counts     OutcomeCounts `json:"counts"`
	// SuccessRate is succeeded / (succeeded + failed + timed_out + dead_lettered) over the
	// window; nil when none ran to such an end.
	SuccessRate *float64 `json:"success_rate"`
	// ConsecutiveFailures counts the failed, timed-out and dead-lettered fires since the newest
	// one that succeeded (over the whole history kept when none did).
	ConsecutiveFailures int        `json:"consecutive_failures"`
	LastSuccessAt       *time.Time `json:"last_success_at"`
	LastFailureAt       *time.Time `json:"last_failure_at"`
	// LastOutcomes are the 20 newest ended executions, newest first.
	LastOutcomes []Outcome `json:"last_outcomes"`
	// Duration is taken over the executions that ran (not skipped or cancelled) among the 100
	// newest ended ones.
	Duration DurationStats `json:"duration_ms"`
}

// OutcomeCounts counts executions by how they ended.
type OutcomeCounts struct {
	Succeeded    int `json:"succeeded"`
	Failed       int `json:"failed"`
	TimedOut     int `json:"timed_out"`
	Skipped      int `json:"skipped"`
	Cancelled    int `json:"cancelled"`
	DeadLettered int `json:"dead_lettered"`
}

// Failures are the counts that end a run as a failure.
func (c OutcomeCounts) Failures() int { return c.Failed + c.TimedOut + c.DeadLettered }

// Outcome is one ended execution, as a strip of recent results shows it.
type Outcome struct {
	// ExecutionID is left out for a caller who may not read the job's executions.
	ExecutionID string          `json:"execution_id,omitempty"`
	Status      ExecutionStatus `json:"status"`
	ScheduledAt time.Time       `json:"scheduled_at"`
	FinishedAt  *time.Time      `json:"finished_at,omitempty"`
	// DurationMS is how long the execution ran; nil for one that did not run, or whose worker
	// was lost before it could say.
	DurationMS *float64 `json:"duration_ms,omitempty"`
}

// DurationStats are percentiles of run durations in milliseconds; nil without samples.
type DurationStats struct {
	P50     *float64 `json:"p50"`
	P95     *float64 `json:"p95"`
	Samples int      `json:"samples"`
}

// Failure reports whether status ends a run as a failure.
func (s ExecutionStatus) Failure() bool {
	return s == StatusFailed || s == StatusTimedOut || s == StatusDeadLettered
}

// Ran reports whether an execution that ended with status ran (so has a duration).
func (s ExecutionStatus) Ran() bool { return s == StatusSucceeded || s.Failure() }

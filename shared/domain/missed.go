package domain

import "time"

// Bounds of a job's missed_after (docs/missed-fires.md). The lower bound stays above the time a
// healthy fire may take from its instant to its start — a held claim, a batched record — so a
// healthy system is never flagged; the upper bound keeps the watchdog's look-back short.
const (
	MissedAfterDefault = time.Minute
	MissedAfterMin     = 10 * time.Second
	MissedAfterMax     = 24 * time.Hour
)

// MissedStage says how far a missed fire got before it stopped.
type MissedStage string

// Stages of a missed fire, in the order a healthy fire passes them.
const (
	// MissedUnclaimed: the job was due and no tick claimed it (a dead or stuck tick, no replica
	// holding the job's shard).
	MissedUnclaimed MissedStage = "unclaimed"
	// MissedUnpublished: claimed, waiting in the outbox, never acknowledged by the broker (the
	// broker down, the stream full).
	MissedUnpublished MissedStage = "unpublished"
	// MissedUndelivered: in the due stream, never delivered to an executor (no executor
	// running, no consumer).
	MissedUndelivered MissedStage = "undelivered"
	// MissedUnacknowledged: delivered to an executor, never started (a stuck executor).
	MissedUnacknowledged MissedStage = "unacknowledged"
)

// MissedStages returns every stage, in the order a healthy fire passes them.
func MissedStages() []MissedStage {
	return []MissedStage{MissedUnclaimed, MissedUnpublished, MissedUndelivered, MissedUnacknowledged}
}

// MissedFire is a fire that was due and had not started within its job's grace, with what was
// known of it then. It is a record beside the execution history, not an execution: the fire may
// still run, late, and then StartedAt and ExecutionID say when and as what.
type MissedFire struct {
	Key         string      `json:"idempotency_key"`
	JobID       string      `json:"job_id"`
	Namespace   string      `json:"namespace"`
	ScheduledAt time.Time   `json:"scheduled_at"`
	DetectedAt  time.Time   `json:"detected_at"`
	Stage       MissedStage `json:"stage"`
	// StreamSeq is the fire's sequence in the due stream (undelivered, unacknowledged).
	StreamSeq uint64 `json:"stream_seq,omitempty"`
	// DeliveryCount is how often the broker had delivered it (unacknowledged).
	DeliveryCount int `json:"delivery_count,omitempty"`
	// Consumer is the durable consumer the fire waited on.
	Consumer string `json:"consumer,omitempty"`
	// Detail says in words what was seen.
	Detail string `json:"detail,omitempty"`
	// ExecutionID is the execution the fire became, once it did; StartedAt when that started
	// (nil for one recorded skipped, as the claim after a dead tick may record a misfire), and
	// ExecutionStatus its status when the watchdog noticed it.
	ExecutionID     string          `json:"execution_id,omitempty"`
	StartedAt       *time.Time      `json:"started_at,omitempty"`
	ExecutionStatus ExecutionStatus `json:"execution_status,omitempty"`
}

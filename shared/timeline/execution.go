package timeline

import (
	"time"

	"github.com/vecron/vecron/shared/domain"
)

// Steps of an execution's timeline, in order.
const (
	StepScheduled = "scheduled"
	StepClaimed   = "claimed"
	StepPublished = "published"
	StepDelivered = "delivered"
	StepAttempt   = "attempt"
	StepResult    = "result"
)

// States of a step.
const (
	// StateDone: the step happened, as its fields say.
	StateDone = "done"
	// StateUnknown: the step must have happened, or may have, but nothing recorded says how.
	StateUnknown = "unknown"
	// StateNotApplicable: the fire never took this step (a run started by hand is not claimed
	// by a tick; a fire skipped at its claim is never published).
	StateNotApplicable = "not_applicable"
	// StatePending: the step is under way or still to come.
	StatePending = "pending"
)

// Step is one step of a fire's way. Only the fields that belong to its kind are set.
type Step struct {
	Step  string     `json:"step"`
	State string     `json:"state"`
	At    *time.Time `json:"at,omitempty"`
	// End is when an attempt ended.
	End *time.Time `json:"end,omitempty"`
	// By is the tick replica (claimed), or the worker (attempt).
	By            string                 `json:"by,omitempty"`
	StreamSeq     uint64                 `json:"stream_seq,omitempty"`
	Consumer      string                 `json:"consumer,omitempty"`
	DeliveryCount int                    `json:"delivery_count,omitempty"`
	Attempt       int                    `json:"attempt,omitempty"`
	Status        domain.ExecutionStatus `json:"status,omitempty"`
	HTTPStatus    int                    `json:"http_status,omitempty"`
	// Reason is a word of the vocabulary (ReasonPaused …) when the fire did not run, or an
	// attempt never reached its target.
	Reason string `json:"reason,omitempty"`
	// Detail is the recorded text: an error's summary, a skip's reason.
	Detail string `json:"detail,omitempty"`
}

// Execution is the timeline of one execution.
type Execution struct {
	ExecutionID    string         `json:"execution_id"`
	JobID          string         `json:"job_id"`
	IdempotencyKey string         `json:"idempotency_key"`
	Trigger        domain.Trigger `json:"trigger"`
	Steps          []Step         `json:"steps"`
}

// maxDetail bounds the error summaries a timeline repeats; the execution holds them whole.
const maxDetail = 300

// summary is text cut to maxDetail bytes, at a rune boundary.
func summary(text string) string {
	if len(text) <= maxDetail {
		return text
	}
	cut := maxDetail
	for cut > 0 && text[cut]&0xC0 == 0x80 {
		cut--
	}
	return text[:cut] + "…"
}

// claimedAtTick says whether a fire of trigger t is claimed from a schedule by a tick.
func claimedAtTick(t domain.Trigger) bool { return t == domain.TriggerSchedule }

// skippedAtClaim says whether a skip of reason was recorded by the tick when it claimed the fire,
// which it then never published.
func skippedAtClaim(reason string) bool { return reason == ReasonMisfire || reason == ReasonFrozen }

// ForExecution lays out e's way: facts are its recorded delivery facts (nil when none),
// attempts its recorded attempts, oldest first. A step nothing recorded is StateUnknown.
func ForExecution(e *domain.Execution, facts *domain.DeliveryFacts, attempts []domain.Attempt) Execution {
	if facts == nil {
		facts = &domain.DeliveryFacts{}
	}
	out := Execution{ExecutionID: e.ID, JobID: e.JobID, IdempotencyKey: e.IdempotencyKey, Trigger: e.Trigger}
	at := e.ScheduledAt
	out.Steps = append(out.Steps, Step{Step: StepScheduled, State: StateDone, At: &at})

	var skipReason string
	if e.Status == domain.StatusSkipped {
		skipReason = SkipReason(e.Error)
	}
	neverSent := skippedAtClaim(skipReason)

	claimed := Step{Step: StepClaimed, State: StateUnknown}
	switch {
	case facts.ClaimedBy != "" || facts.ClaimedAt != nil:
		claimed.State, claimed.By, claimed.At = StateDone, facts.ClaimedBy, facts.ClaimedAt
	case !claimedAtTick(e.Trigger):
		claimed.State, claimed.Detail = StateNotApplicable, "a "+string(e.Trigger)+" run is not claimed from a schedule"
	case neverSent:
		claimed.State, claimed.Detail = StateDone, "claimed and skipped by the tick"
	}
	out.Steps = append(out.Steps, claimed)

	published, delivered := Step{Step: StepPublished, State: StateUnknown}, Step{Step: StepDelivered, State: StateUnknown}
	switch {
	case neverSent:
		published.State, delivered.State = StateNotApplicable, StateNotApplicable
		published.Detail = "skipped when claimed: never published"
	default:
		if facts.StreamSeq > 0 || facts.PublishedAt != nil {
			published.State, published.StreamSeq, published.At = StateDone, facts.StreamSeq, facts.PublishedAt
		}
		if facts.Consumer != "" || facts.DeliveryCount > 0 {
			delivered.State, delivered.Consumer, delivered.DeliveryCount = StateDone, facts.Consumer, facts.DeliveryCount
		}
		if e.Status == domain.StatusQueued && e.Attempt == 0 && published.State == StateUnknown {
			// Recorded queued by the api and not yet picked up: what is to come is not unknown.
			published.State, delivered.State = StatePending, StatePending
		}
	}
	out.Steps = append(out.Steps, published, delivered)

	seen := 0
	for _, a := range attempts {
		s := Step{Step: StepAttempt, State: StateDone, At: a.StartedAt, Attempt: a.Attempt, Status: a.Status,
			HTTPStatus: a.HTTPStatus, By: a.WorkerID, Detail: summary(a.Error), Reason: notSentReason(a.Error)}
		end := a.FinishedAt
		s.End = &end
		out.Steps = append(out.Steps, s)
		seen = max(seen, a.Attempt)
	}
	if e.Status == domain.StatusRunning && e.Attempt > seen {
		out.Steps = append(out.Steps, Step{Step: StepAttempt, State: StatePending, At: e.StartedAt,
			Attempt: e.Attempt, Status: e.Status, By: e.WorkerID})
	}

	result := Step{Step: StepResult, Status: e.Status, Detail: summary(e.Error), At: e.FinishedAt, HTTPStatus: e.HTTPStatus}
	switch {
	case !e.Status.Terminal():
		result.State, result.At = StatePending, e.NextAttemptAt
	case e.Status == domain.StatusSkipped:
		result.State, result.Reason = StateDone, skipReason
	default:
		result.State, result.Reason = StateDone, notSentReason(e.Error)
	}
	out.Steps = append(out.Steps, result)
	return out
}

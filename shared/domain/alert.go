package domain

import (
	"fmt"
	"time"
)

// Bounds of AlertPolicy.AfterFailures.
const (
	// AlertAfterDefault is the threshold of a job that names none.
	AlertAfterDefault = 3
	// MaxAlertAfter bounds the threshold: a streak longer than this is not a streak anyone
	// waits for, and the bound keeps the counter's type small.
	MaxAlertAfter = 1000
)

// AlertPolicy says when a job's failures raise an alert (docs/alerts.md): after AfterFailures
// consecutive executions that ended failed, timed out or dead-lettered, once per streak, with a
// recovery notice at the next success.
type AlertPolicy struct {
	// Enabled false turns the job's alerts off; absent means on.
	Enabled *bool `json:"enabled,omitempty"`
	// AfterFailures is the streak length that raises the alert, 1 to MaxAlertAfter; 0 (absent)
	// means AlertAfterDefault.
	AfterFailures int `json:"after_failures,omitempty"`
}

// On reports whether the policy raises alerts.
func (p AlertPolicy) On() bool { return p.Enabled == nil || *p.Enabled }

// Threshold returns the streak length that raises the alert, the default filled in.
func (p AlertPolicy) Threshold() int {
	if p.AfterFailures == 0 {
		return AlertAfterDefault
	}
	return p.AfterFailures
}

// Clone returns a copy of p that shares nothing with it.
func (p AlertPolicy) Clone() AlertPolicy {
	if p.Enabled != nil {
		on := *p.Enabled
		p.Enabled = &on
	}
	return p
}

// Normal returns p in the one form two policies meaning the same share: the threshold written
// out, and Enabled only when it turns alerts off.
func (p AlertPolicy) Normal() AlertPolicy {
	out := AlertPolicy{AfterFailures: p.Threshold()}
	if !p.On() {
		off := false
		out.Enabled = &off
	}
	return out
}

// CheckAlert adds to v the problems of p under "alert.…".
func CheckAlert(v *ValidationError, p AlertPolicy) {
	if p.AfterFailures < 0 || p.AfterFailures > MaxAlertAfter {
		v.Add("alert.after_failures", fmt.Sprintf("must be 1 to %d consecutive failures (absent: %d); to turn alerts off write \"enabled\": false",
			MaxAlertAfter, AlertAfterDefault))
	}
}

// AlertState is whether an alert says a streak began (firing) or ended (resolved).
type AlertState string

// Alert states.
const (
	AlertFiring   AlertState = "firing"
	AlertResolved AlertState = "resolved"
)

// Alert is one notice of a failure streak, kept until every channel has it (docs/alerts.md).
type Alert struct {
	ID        int64      `json:"id"`
	JobID     string     `json:"job_id"`
	Namespace string     `json:"namespace"`
	JobName   string     `json:"job_name"`
	State     AlertState `json:"state"`
	// ConsecutiveFailures is the streak's length: when it fired, or when it ended.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// Threshold is the job's AfterFailures when the notice was raised.
	Threshold int `json:"threshold"`
	// LastError is the error of the streak's last failure, cut short; empty for a recovery.
	LastError string `json:"last_error,omitempty"`
	// ExecutionID is the execution that raised the notice: the failure that reached the
	// threshold, or the success that ended the streak. Empty for a failure that was no
	// execution (a missed fire).
	ExecutionID string    `json:"execution_id,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	// Deliveries holds, by channel name, how far each channel got.
	Deliveries map[string]*AlertDelivery `json:"deliveries,omitempty"`
	// NextAttemptAt is when a channel not yet delivered is tried again.
	NextAttemptAt time.Time `json:"-"`
	// DoneAt is when every channel delivered or gave up.
	DoneAt *time.Time `json:"done_at,omitempty"`
}

// AlertDelivery is how far one channel got with one alert.
type AlertDelivery struct {
	// State is "pending", "delivered" or "failed" (given up).
	State     string     `json:"state"`
	Attempts  int        `json:"attempts"`
	LastError string     `json:"last_error,omitempty"`
	NextAt    *time.Time `json:"next_at,omitempty"`
	At        *time.Time `json:"at,omitempty"`
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

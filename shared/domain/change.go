package domain

import (
	"encoding/json"
	"time"
)

// ChangeExpiryDefault is how long a pending change waits for a decision when its namespace
// sets no other bound; MinChangeExpiry and MaxChangeExpiry bound what a namespace may set.
const (
	ChangeExpiryDefault = 7 * 24 * time.Hour
	MinChangeExpiry     = time.Hour
	MaxChangeExpiry     = 30 * 24 * time.Hour
)

// NamespaceSettings are the settings of one namespace.
type NamespaceSettings struct {
	Namespace string `json:"namespace"`
	// FourEyes makes every create, edit and delete of a job in the namespace a pending change
	// that another user with job:approve must approve.
	FourEyes bool `json:"four_eyes"`
	// ChangeExpiry is how long a pending change waits for a decision before it expires.
	ChangeExpiry Duration   `json:"change_expiry"`
	UpdatedAt    *time.Time `json:"updated_at,omitempty"`
	UpdatedBy    string     `json:"updated_by,omitempty"`
}

// DefaultNamespaceSettings are the settings of namespace ns when nobody changed them.
func DefaultNamespaceSettings(ns string) *NamespaceSettings {
	return &NamespaceSettings{Namespace: ns, ChangeExpiry: Duration(ChangeExpiryDefault)}
}

// ChangeAction is what a change does to a job.
type ChangeAction string

// Change actions.
const (
	ChangeCreate ChangeAction = "create"
	ChangeUpdate ChangeAction = "update"
	ChangeDelete ChangeAction = "delete"
)

// ChangeStatus is where a change stands.
type ChangeStatus string

// Change statuses. Expired is never stored: a pending change past its expiry reads as expired.
const (
	ChangePending   ChangeStatus = "pending"
	ChangeApproved  ChangeStatus = "approved"
	ChangeRejected  ChangeStatus = "rejected"
	ChangeWithdrawn ChangeStatus = "withdrawn"
	ChangeExpired   ChangeStatus = "expired"
	ChangeFailed    ChangeStatus = "failed"
)

// ChangeStatuses returns every status a change may read as.
func ChangeStatuses() []ChangeStatus {
	return []ChangeStatus{ChangePending, ChangeApproved, ChangeRejected, ChangeWithdrawn, ChangeExpired, ChangeFailed}
}

// FieldChange is one field a change of a job sets: its JSON path ("schedule.cron",
// "retry.backoff[2]") and its value before and after (absent: the field is not set on that
// side). Values are shown as the audit log records them: a credential typed into a job reads as
// Redacted.
type FieldChange struct {
	Path string `json:"path"`
	Old  any    `json:"old,omitempty"`
	New  any    `json:"new,omitempty"`
}

// Change is a create, edit or delete of a job that waits for a second user's approval.
type Change struct {
	ID        string       `json:"id"`
	Namespace string       `json:"namespace"`
	Action    ChangeAction `json:"action"`
	// JobID is the job an update or delete is of, and the job a create made once approved.
	JobID string `json:"job_id,omitempty"`
	// BaseVersion is the version of the job the change was made on; it applies to no other.
	BaseVersion int64 `json:"base_version,omitempty"`
	// Definition is the whole new job (create, update), secret values masked.
	Definition *JobDefinition `json:"definition,omitempty"`
	Diff       []FieldChange  `json:"diff"`

	Requester   ChangeActor  `json:"-"`
	RequestedBy string       `json:"requested_by"`
	RequestedAt time.Time    `json:"requested_at"`
	ExpiresAt   time.Time    `json:"expires_at"`
	Status      ChangeStatus `json:"status"`
	DecidedBy   string       `json:"decided_by,omitempty"`
	// DecidedByUserID is the user who approved, rejected or withdrew the change.
	DecidedByUserID string     `json:"-"`
	DecidedAt       *time.Time `json:"decided_at,omitempty"`
	Comment         string     `json:"comment,omitempty"`
	// Reason says why an approved change could not be applied (status failed).
	Reason string `json:"reason,omitempty"`
}

// ChangeActor is who asked for a change: the user, for the rule that another user approves it,
// and the actor as the audit log names it (the user, or one of their API tokens).
type ChangeActor struct {
	UserID string
	Actor  Actor
}

// Decision is a decision on a pending change: approve, reject, withdraw, or fail (an approval
// whose change could not be applied).
type Decision struct {
	Status ChangeStatus
	// By is the label of who decides (Actor.Label); UserID is their user.
	By      string
	UserID  string
	Comment string
	Reason  string
	At      time.Time
}

// JobWrite is the write an approved change makes: the job to create (its identity, defaults
// and next run filled in), the definition to update, or the job to delete, each only while the
// job is at IfVersion.
type JobWrite struct {
	Action    ChangeAction
	Job       *Job
	IfVersion int64
	// KeepNext keeps the stored next run of an update that leaves the plan alone.
	KeepNext bool
	Now      time.Time
}

// ListChangesParams select a page of changes, newest first.
type ListChangesParams struct {
	Namespace string // "" means every namespace
	// Namespaces, when not nil, keeps only changes in these namespaces (empty: none).
	Namespaces []string
	JobID      string
	Status     ChangeStatus // "" means every status
	After      string       // id of the last change of the previous page
	Limit      int
	// Now decides which pending changes have expired.
	Now time.Time
}

// JobDefinition is a job as its owner writes it: what an export writes, an apply reads and a
// pending change holds, every default explicit, and nothing the system keeps about the job (id,
// state, version, next run, shard, who and when). Field for field it is what POST /api/v1/jobs
// takes.
type JobDefinition struct {
	Namespace         string      `json:"namespace"`
	Name              string      `json:"name"`
	Description       string      `json:"description,omitempty"`
	Tags              []string    `json:"tags,omitempty"`
	Kind              JobKind     `json:"kind"`
	Enabled           bool        `json:"enabled"`
	Schedule          Schedule    `json:"schedule"`
	Timezone          string      `json:"timezone"`
	HTTP              *HTTPSpec   `json:"http,omitempty"`
	SQL               *SQLSpec    `json:"sql,omitempty"`
	Timeout           Duration    `json:"timeout"`
	MisfirePolicy     string      `json:"misfire_policy"`
	MaxCatchup        int         `json:"max_catchup"`
	StartingDeadline  Duration    `json:"starting_deadline,omitempty"`
	MissedAfter       Duration    `json:"missed_after,omitempty"`
	ConcurrencyPolicy string      `json:"concurrency_policy"`
	Retry             RetryPolicy `json:"retry"`
	// Triggers are the job's event triggers (domain.Job.Triggers).
	Triggers []JobTrigger `json:"triggers,omitempty"`
	// Chains are the jobs the job's executions start when they end (domain.Job.Chains).
	Chains
	// Alert says when the job's failures raise an alert (domain.Job.Alert).
	Alert AlertPolicy `json:"alert,omitzero"`
}

// Job returns a new job of definition d, a deep copy: what validation fills in or changes in
// place does not reach d.
func (d *JobDefinition) Job() (*Job, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	var c JobDefinition
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	return &Job{Name: c.Name, Namespace: c.Namespace, Description: c.Description, Tags: c.Tags, Kind: c.Kind, HTTP: c.HTTP,
		SQL: c.SQL, Schedule: c.Schedule, Timezone: c.Timezone, Enabled: c.Enabled, Timeout: c.Timeout,
		MisfirePolicy: c.MisfirePolicy, MaxCatchup: c.MaxCatchup, StartingDeadline: c.StartingDeadline,
		MissedAfter: c.MissedAfter, ConcurrencyPolicy: c.ConcurrencyPolicy, Retry: c.Retry, Triggers: c.Triggers, Chains: c.Chains, Alert: c.Alert}, nil
}

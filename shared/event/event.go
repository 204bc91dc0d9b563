// Package event defines vecron's CloudEvents — their types, attributes and data — and the
// JetStream subjects and streams they travel on, and encodes them in binary content mode for
// NATS messages and HTTP requests. Every type, subject and stream name lives here.
package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/domain"
)

// Event types.
const (
	TypeJobDue             = "io.vecron.job.due"
	TypeExecutionStarted   = "io.vecron.execution.started"
	TypeExecutionSucceeded = "io.vecron.execution.succeeded"
	TypeExecutionFailed    = "io.vecron.execution.failed"
	TypeExecutionSkipped   = "io.vecron.execution.skipped"
	// TypeExecutionCancelled: an operator cancelled the execution (POST …/cancel).
	TypeExecutionCancelled = "io.vecron.execution.cancelled"
	// TypeExecutionDeadLettered: every attempt failed; the execution waits for a person.
	TypeExecutionDeadLettered = "io.vecron.execution.dead_lettered"
	// TypeAuditRecorded: a row of the audit log, forwarded to a SIEM (audit.sink).
	TypeAuditRecorded = "io.vecron.audit.recorded"

	// Job changes made through the API; the data is the job as it is after the change (before
	// it, for a deletion), with secret values masked.
	TypeJobCreated = "io.vecron.job.created"
	TypeJobUpdated = "io.vecron.job.updated"
	TypeJobDeleted = "io.vecron.job.deleted"
	TypeJobPaused  = "io.vecron.job.paused"
	TypeJobResumed = "io.vecron.job.resumed"

	// TypeJobAlert: a job's failure streak reached its threshold, or ended (docs/alerts.md).
	TypeJobAlert = "io.vecron.job.alert"

	// TypeWake: a fire of a kind is due soon. It travels the due subject of the kind, so it
	// takes the path of a fire in every mode and starts an executor at zero (a lag for KEDA, a
	// request for Knative); an executor answers it at once and records nothing (docs/deploy.md
	// §8). Never on the events stream.
	TypeWake = "io.vecron.executor.wake"
)

// LifecycleTypes returns the types of the lifecycle events on the events stream: what the live
// stream shows, what events.sink receives, and what docs/events/<type>.schema.json describes
// (a test holds the schemas to this list). A new type on the events stream is one line here.
func LifecycleTypes() []string {
	return []string{
		TypeExecutionStarted,
		TypeExecutionSucceeded,
		TypeExecutionFailed,
		TypeExecutionSkipped,
		TypeExecutionCancelled,
		TypeExecutionDeadLettered,
		TypeJobCreated,
		TypeJobUpdated,
		TypeJobDeleted,
		TypeJobPaused,
		TypeJobResumed,
		TypeJobAlert,
	}
}

// Prefixes of the families of lifecycle event types.
const (
	ExecutionTypePrefix = "io.vecron.execution."
	JobTypePrefix       = "io.vecron.job."
)

// SourceAudit is the source of every audit event, whichever replica sends it: a receiver tells
// events apart by source and id, and a row sent twice (delivery is at least once) must be the
// same event both times.
const SourceAudit = "/vecron/audit"

// SourceAlerts is the source of every alert event, whichever replica delivers it: an alert
// delivered twice must be the same event both times.
const SourceAlerts = "/vecron/alerts"

// SourceJobs is the source of every job-change event, whichever replica publishes it: like
// SourceAudit, an event published twice must be the same event both times.
const SourceJobs = "/vecron/jobs"

// Extension attribute names.
const (
	ExtJobKind = "jobkind"
	ExtTrigger = "trigger"
	ExtAttempt = "attempt"
	// ExtNamespace is the namespace of the job a lifecycle event is about: readers filter by it
	// (the live stream shows a caller only the namespaces they may read) without decoding data.
	ExtNamespace = "namespace"
	// ExtJobName is the name of that job, for people watching a stream of ids.
	ExtJobName = "jobname"
)

// DefaultPrefix names the production subjects ("vecron.due.http") and streams ("VECRON_DUE").
const DefaultPrefix = "vecron"

// Names derives every subject and stream name from one prefix, so that a test (or a second
// installation sharing a NATS cluster) gets a set of its own.
type Names struct {
	// Prefix is a lowercase token such as "vecron"; "" means DefaultPrefix.
	Prefix string
}

func (n Names) prefix() string {
	if n.Prefix == "" {
		return DefaultPrefix
	}
	return n.Prefix
}

// DueStream is the work-queue stream of due fires.
func (n Names) DueStream() string { return strings.ToUpper(n.prefix()) + "_DUE" }

// DueSubject is the subject due fires of kind are published on.
func (n Names) DueSubject(kind domain.JobKind) string { return n.prefix() + ".due." + string(kind) }

// DueSubjects is the wildcard the due stream captures.
func (n Names) DueSubjects() string { return n.prefix() + ".due.>" }

// EventsStream is the stream of lifecycle events.
func (n Names) EventsStream() string { return strings.ToUpper(n.prefix()) + "_EVENTS" }

// EventsSubjects is the wildcard the events stream captures.
func (n Names) EventsSubjects() string { return n.prefix() + ".events.>" }

// EventSubject is the subject an event of type eventType is published on:
// "io.vecron.execution.succeeded" → "vecron.events.execution.succeeded".
func (n Names) EventSubject(eventType string) string {
	return n.prefix() + ".events." + strings.TrimPrefix(eventType, "io.vecron.")
}

// DLQStream is the stream of dead-lettered executions, kept for people and other systems.
func (n Names) DLQStream() string { return strings.ToUpper(n.prefix()) + "_DLQ" }

// DLQSubject is the subject a dead-lettered execution of a kind job is published on.
func (n Names) DLQSubject(kind domain.JobKind) string { return n.prefix() + ".dlq." + string(kind) }

// DLQSubjects is the wildcard the dead-letter stream captures.
func (n Names) DLQSubjects() string { return n.prefix() + ".dlq.>" }

// ForwardCallbackSubject is the core NATS subject (no stream captures it) on which the tick
// replica holder takes the OpenFaaS callbacks another replica received for the fires it holds.
func (n Names) ForwardCallbackSubject(holder string) string {
	return n.prefix() + ".forward.callback." + holder
}

// DueConsumer is the durable consumer name of the executor for kind.
func (n Names) DueConsumer(kind domain.JobKind) string { return "execute-" + string(kind) }

// SinkConsumer is the durable consumer of the events stream that delivers to events.sink; every
// api replica pulls from it, so each event goes out once.
func (n Names) SinkConsumer() string { return "event-sink" }

// Source is the CloudEvents source of a function instance: "/vecron/<function>/<instance>".
func Source(function, instance string) string { return "/vecron/" + function + "/" + instance }

// WakeID is the id, and the Nats-Msg-Id, of the wake of kind's executors ahead of the fire due
// at at: tick replicas that see the same fire send the same wake, which the due stream stores
// once.
func WakeID(kind domain.JobKind, at time.Time) string {
	return "wake:" + string(kind) + ":" + strconv.FormatInt(at.UnixMilli(), 10)
}

// NewWake builds the wake of kind's executors ahead of the fire due at at, sent by source. It
// carries no data: an executor reads nothing of it but its type.
func NewWake(kind domain.JobKind, at time.Time, source string) cloudevents.Event {
	ev := cloudevents.NewEvent()
	ev.SetID(WakeID(kind, at))
	ev.SetType(TypeWake)
	ev.SetSource(source)
	ev.SetTime(at.UTC())
	ev.SetExtension(ExtJobKind, string(kind))
	return ev
}

// IsWake reports whether ev is a wake, which an executor answers without running anything.
func IsWake(ev cloudevents.Event) bool { return ev.Type() == TypeWake }

// Due is the data of an io.vecron.job.due event: everything an executor needs to run the fire
// without reading the job again.
type Due struct {
	JobID      string           `json:"job_id"`
	JobVersion int64            `json:"job_version"`
	JobName    string           `json:"job_name"`
	Namespace  string           `json:"namespace"`
	Kind       domain.JobKind   `json:"kind"`
	HTTP       *domain.HTTPSpec `json:"http,omitempty"`
	SQL        *domain.SQLSpec  `json:"sql,omitempty"`
	Timezone   string           `json:"timezone"`
	Timeout    domain.Duration  `json:"timeout"`
	// Schedule lets a fixed_delay executor compute the next run when it finishes.
	Schedule          domain.Schedule `json:"schedule"`
	ConcurrencyPolicy string          `json:"concurrency_policy,omitempty"`
	StartingDeadline  domain.Duration `json:"starting_deadline,omitempty"`
	// Retry is the job's retry policy; a zero policy means the defaults.
	Retry       domain.RetryPolicy `json:"retry"`
	ScheduledAt time.Time          `json:"scheduled_at"`
	Trigger     domain.Trigger     `json:"trigger"`
	// Payload is the trigger's payload (a webhook body, a source event's data); templates read it.
	Payload json.RawMessage `json:"payload,omitempty"`
	// IdempotencyKey is repeated from the event id so that the data stands on its own.
	IdempotencyKey string `json:"idempotency_key"`
	// Forced marks a run started by hand with "force": it runs beside a running execution of
	// a forbid or replace job, exempt from the one-running rule.
	Forced bool `json:"forced,omitempty"`
	// Chains are the jobs the fire's end starts, and ChainEditor who wrote them; absent for a
	// job that chains to nothing, which then costs the executor nothing when it ends.
	Chains      *domain.Chains `json:"chains,omitempty"`
	ChainEditor *domain.Editor `json:"chain_editor,omitempty"`
	// ClaimedBy names the tick replica that claimed a scheduled fire, and ClaimedAt when: they
	// ride the payload the claim writes anyway, and the executor records them with the
	// execution, so the fire's timeline names its claim at no cost of its own. Absent for a
	// fire no tick claimed (a run started by hand, an event's).
	ClaimedBy string     `json:"claimed_by,omitempty"`
	ClaimedAt *time.Time `json:"claimed_at,omitempty"`
	// Trace and TraceState are the W3C trace context of the request or upstream attempt that
	// started the fire (run now, webhook, event, chain): they ride the outbox payload the api
	// writes anyway, and whoever publishes the fire parents its span on them
	// (docs/observability.md §3). Empty for a scheduled fire, whose trace comes from its key.
	Trace      string `json:"trace,omitempty"`
	TraceState string `json:"tracestate,omitempty"`
}

// Exclusive says whether d's fire is subject to the one-running rule of its job's concurrency
// policy (forbid, replace).
func (d Due) Exclusive() bool {
	return !d.Forced && (d.ConcurrencyPolicy == domain.ConcurrencyForbid || d.ConcurrencyPolicy == domain.ConcurrencyReplace)
}

// DueFor snapshots job for the fire at scheduledAt.
func DueFor(job *domain.Job, scheduledAt time.Time, trigger domain.Trigger, key string) Due {
	d := Due{
		JobID:             job.ID,
		JobVersion:        job.Version,
		JobName:           job.Name,
		Namespace:         job.Namespace,
		Kind:              job.Kind,
		HTTP:              job.HTTP,
		SQL:               job.SQL,
		Timezone:          job.Timezone,
		Timeout:           job.Timeout,
		Schedule:          job.Schedule,
		ConcurrencyPolicy: job.ConcurrencyPolicy,
		StartingDeadline:  job.StartingDeadline,
		Retry:             job.Retry,
		ScheduledAt:       scheduledAt.UTC(),
		Trigger:           trigger,
		IdempotencyKey:    key,
	}
	if !job.Chains.Empty() {
		c := job.Chains.Clone()
		d.Chains, d.ChainEditor = &c, job.Editor
	}
	return d
}

// DueMeta is what the attributes of a due event carry; the data carries the rest.
type DueMeta struct {
	Key         string
	JobID       string
	Kind        domain.JobKind
	Trigger     domain.Trigger
	ScheduledAt time.Time
}

// Meta returns the attributes d's event carries.
func (d Due) Meta() DueMeta {
	return DueMeta{Key: d.IdempotencyKey, JobID: d.JobID, Kind: d.Kind, Trigger: d.Trigger, ScheduledAt: d.ScheduledAt}
}

// NewDue builds the io.vecron.job.due event of d, sent by source.
func NewDue(d Due, source string) (cloudevents.Event, error) {
	data, err := json.Marshal(d)
	if err != nil {
		return cloudevents.Event{}, fmt.Errorf("encode due data: %w", err)
	}
	return NewDueEncoded(d.Meta(), data, source), nil
}

// NewDueEncoded builds a due event whose data (a JSON Due) is already encoded, as the tick
// holds it in its outbox.
func NewDueEncoded(m DueMeta, data []byte, source string) cloudevents.Event {
	ev := cloudevents.NewEvent()
	ev.SetID(m.Key)
	ev.SetType(TypeJobDue)
	ev.SetSource(source)
	ev.SetSubject(m.JobID)
	ev.SetTime(m.ScheduledAt)
	ev.SetExtension(ExtJobKind, string(m.Kind))
	ev.SetExtension(ExtTrigger, string(m.Trigger))
	ev.SetExtension(ExtAttempt, 1)
	ev.SetDataContentType(cloudevents.ApplicationJSON)
	ev.DataEncoded = data
	return ev
}

// ParseDue validates a due event and returns its data. The error says what is wrong with it; such
// an event can never succeed, so callers treat it as permanent.
func ParseDue(ev cloudevents.Event) (Due, error) {
	var d Due
	if ev.Type() != TypeJobDue {
		return d, fmt.Errorf("event %q has type %q, want %q", ev.ID(), ev.Type(), TypeJobDue)
	}
	if err := ev.Validate(); err != nil {
		return d, fmt.Errorf("event %q: %w", ev.ID(), err)
	}
	if err := json.Unmarshal(ev.Data(), &d); err != nil {
		return d, fmt.Errorf("event %q: decode due data: %w", ev.ID(), err)
	}
	switch {
	case uuid.Validate(d.JobID) != nil:
		return d, fmt.Errorf("event %q: data.job_id %q is not a job id", ev.ID(), d.JobID)
	case d.ScheduledAt.IsZero():
		return d, fmt.Errorf("event %q: data.scheduled_at is empty", ev.ID())
	case d.IdempotencyKey == "":
		d.IdempotencyKey = ev.ID()
	case d.IdempotencyKey != ev.ID():
		return d, fmt.Errorf("event %q: data.idempotency_key %q differs from the event id", ev.ID(), d.IdempotencyKey)
	}
	if d.Kind == domain.KindHTTP && d.HTTP == nil {
		return d, fmt.Errorf("event %q: data.http is missing for an http job", ev.ID())
	}
	return d, nil
}

// Attempt reads the attempt extension; 1 when absent or unreadable.
func Attempt(ev cloudevents.Event) int {
	v, ok := ev.Extensions()[ExtAttempt]
	if !ok {
		return 1
	}
	var n int
	switch x := v.(type) {
	case int32:
		n = int(x)
	case int:
		n = x
	case string:
		n, _ = strconv.Atoi(x)
	}
	if n < 1 {
		return 1
	}
	return n
}

// NewExecution builds the lifecycle event of type eventType for e, an execution of the fire d.
func NewExecution(eventType string, e *domain.Execution, d Due, source string) (cloudevents.Event, error) {
	ev := cloudevents.NewEvent()
	ev.SetID(fmt.Sprintf("%s:%d:%s", e.ID, e.Attempt, e.Status))
	ev.SetType(eventType)
	ev.SetSource(source)
	ev.SetSubject(e.JobID)
	ev.SetTime(e.ScheduledAt)
	ev.SetExtension(ExtJobKind, string(d.Kind))
	if d.Namespace != "" {
		ev.SetExtension(ExtNamespace, d.Namespace)
	}
	if d.JobName != "" {
		ev.SetExtension(ExtJobName, d.JobName)
	}
	ev.SetExtension(ExtTrigger, string(e.Trigger))
	ev.SetExtension(ExtAttempt, e.Attempt)
	if err := ev.SetData(cloudevents.ApplicationJSON, e); err != nil {
		return ev, fmt.Errorf("encode execution data: %w", err)
	}
	return ev, nil
}

// NewAuditRecorded builds the io.vecron.audit.recorded event of audit row r: its id is the row's
// seq, its time the row's time, its subject "<object_kind>/<object_id>", and its data the row as
// JSON with its MACs, so that the receiver can verify the chain with the audit keys. It returns
// an error only when the row cannot be encoded.
func NewAuditRecorded(r *audit.Record) (cloudevents.Event, error) {
	ev := cloudevents.NewEvent()
	ev.SetID(strconv.FormatInt(r.Seq, 10))
	ev.SetType(TypeAuditRecorded)
	ev.SetSource(SourceAudit)
	ev.SetSubject(r.ObjectKind + "/" + r.ObjectID)
	ev.SetTime(r.Time)
	ev.SetDataContentType(cloudevents.ApplicationJSON)
	// The MAC covers the exact bytes of before and after. encoding/json rewrites a RawMessage it
	// writes: it compacts it, which leaves what the store wrote (json.Marshal output) alone, and
	// by default escapes <, > and &, which would change a row sealed with them unescaped.
	var data bytes.Buffer
	enc := json.NewEncoder(&data)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return ev, fmt.Errorf("encode audit row %d: %w", r.Seq, err)
	}
	ev.DataEncoded = bytes.TrimSuffix(data.Bytes(), []byte("\n"))
	return ev, nil
}

// NewJobChanges builds the job-change events of audit row r: none for a row that does not change
// a job's definition or state (a run started by hand has its execution's events instead), one
// for most that do, and two for an edit that also pauses or resumes the job (updated, then
// paused or resumed), so that a reader of one type sees every pause. Each event's id is the
// row's seq (with "-paused" or "-resumed" for the second), its subject the job id, its time the
// row's, and its data the job as the audit log keeps it: after the change, or before a deletion,
// with secret values masked.
func NewJobChanges(r *audit.Record) ([]cloudevents.Event, error) {
	var typ string
	data := r.After
	switch r.Action {
	case "job.create":
		typ = TypeJobCreated
	case "job.update":
		typ = TypeJobUpdated
	case "job.delete":
		typ, data = TypeJobDeleted, r.Before
	case "job.disable":
		typ = TypeJobPaused
	case "job.enable":
		typ = TypeJobResumed
	default:
		return nil, nil
	}
	var job, before struct {
		Name    string         `json:"name"`
		Kind    domain.JobKind `json:"kind"`
		Enabled bool           `json:"enabled"`
	}
	if err := json.Unmarshal(data, &job); err != nil {
		return nil, fmt.Errorf("audit row %d: decode the job: %w", r.Seq, err)
	}
	id := strconv.FormatInt(r.Seq, 10)
	out := []cloudevents.Event{newJobChange(r, typ, id, job.Kind, job.Name, data)}
	if typ == TypeJobUpdated && r.Before != nil {
		if err := json.Unmarshal(r.Before, &before); err != nil {
			return nil, fmt.Errorf("audit row %d: decode the job before: %w", r.Seq, err)
		}
		switch {
		case before.Enabled && !job.Enabled:
			out = append(out, newJobChange(r, TypeJobPaused, id+"-paused", job.Kind, job.Name, data))
		case !before.Enabled && job.Enabled:
			out = append(out, newJobChange(r, TypeJobResumed, id+"-resumed", job.Kind, job.Name, data))
		}
	}
	return out, nil
}

func newJobChange(r *audit.Record, typ, id string, kind domain.JobKind, name string, data json.RawMessage) cloudevents.Event {
	ev := cloudevents.NewEvent()
	ev.SetID(id)
	ev.SetType(typ)
	ev.SetSource(SourceJobs)
	ev.SetSubject(r.ObjectID)
	ev.SetTime(r.Time)
	if kind != "" {
		ev.SetExtension(ExtJobKind, string(kind))
	}
	if r.Namespace != "" {
		ev.SetExtension(ExtNamespace, r.Namespace)
	}
	if name != "" {
		ev.SetExtension(ExtJobName, name)
	}
	ev.SetDataContentType(cloudevents.ApplicationJSON)
	ev.DataEncoded = data
	return ev
}

// AlertData is the data of an io.vecron.job.alert event, and what the templates of the alert
// channels read.
type AlertData struct {
	JobID     string `json:"job_id"`
	JobName   string `json:"job_name"`
	Namespace string `json:"namespace"`
	// State is "firing" when the streak reached the threshold, "resolved" when it ended.
	State               domain.AlertState `json:"state"`
	ConsecutiveFailures int               `json:"consecutive_failures"`
	Threshold           int               `json:"threshold"`
	// LastError is the error of the streak's last failure, cut short; empty for a recovery.
	LastError   string    `json:"last_error,omitempty"`
	ExecutionID string    `json:"execution_id,omitempty"`
	Time        time.Time `json:"time"`
	// URL is the job's page on the dashboard, when public_url is set.
	URL string `json:"url,omitempty"`
}

// AlertDataOf returns the data of alert a; publicURL ("" for none) makes the job page's URL.
func AlertDataOf(a *domain.Alert, publicURL string) AlertData {
	d := AlertData{JobID: a.JobID, JobName: a.JobName, Namespace: a.Namespace, State: a.State,
		ConsecutiveFailures: a.ConsecutiveFailures, Threshold: a.Threshold, LastError: a.LastError,
		ExecutionID: a.ExecutionID, Time: a.CreatedAt.UTC()}
	if publicURL != "" {
		d.URL = strings.TrimSuffix(publicURL, "/") + "/jobs/" + a.JobID
	}
	return d
}

// NewJobAlert builds the io.vecron.job.alert event of alert a: its id is the alert's, its
// subject the job id, its time when the alert was raised. It returns an error only when the
// data cannot be encoded.
func NewJobAlert(a *domain.Alert, publicURL string) (cloudevents.Event, error) {
	ev := cloudevents.NewEvent()
	ev.SetID(strconv.FormatInt(a.ID, 10))
	ev.SetType(TypeJobAlert)
	ev.SetSource(SourceAlerts)
	ev.SetSubject(a.JobID)
	ev.SetTime(a.CreatedAt)
	ev.SetExtension(ExtNamespace, a.Namespace)
	ev.SetExtension(ExtJobName, a.JobName)
	if err := ev.SetData(cloudevents.ApplicationJSON, AlertDataOf(a, publicURL)); err != nil {
		return ev, fmt.Errorf("encode alert %d: %w", a.ID, err)
	}
	return ev, nil
}

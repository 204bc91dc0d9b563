package domain

import (
	"encoding/json"
	"strings"
	"time"
)

// JobTrigger is one way in for a job beside its schedule. Exactly one of its fields is set; a
// list of them leaves room for webhooks and chaining.
type JobTrigger struct {
	// Event starts the job for each CloudEvent posted to /events that its filters match.
	Event *EventTrigger `json:"event,omitempty"`
}

// EventTrigger matches CloudEvents to a job (docs/event-triggers.md).
type EventTrigger struct {
	// Filters must all match; empty matches every event. The Knative Trigger filters dialect.
	Filters []EventFilter `json:"filters"`
	// Debounce, when set, coalesces the events of a window this long, opened by the first one,
	// into one execution that sees the last event and starts when the window closes.
	Debounce Duration `json:"debounce,omitempty"`
	// MaxRate, when set, records the events beyond it as skipped executions (reason rate).
	MaxRate *EventRate `json:"max_rate,omitempty"`
}

// EventRate is at most Events events per Per.
type EventRate struct {
	Events int      `json:"events"`
	Per    Duration `json:"per"`
}

// EventFilter is one filter of the Knative Trigger dialect: exactly one field is set.
type EventFilter struct {
	// Exact, Prefix and Suffix hold one attribute name and the value it must equal, start with
	// or end with.
	Exact  map[string]string `json:"exact,omitempty"`
	Prefix map[string]string `json:"prefix,omitempty"`
	Suffix map[string]string `json:"suffix,omitempty"`
	// All matches when every one of its filters does, Any when at least one does.
	All []EventFilter `json:"all,omitempty"`
	Any []EventFilter `json:"any,omitempty"`
	// Not matches when its filter does not.
	Not *EventFilter `json:"not,omitempty"`
	// CESQL is a CloudEvents SQL expression; an evaluation error is no match.
	CESQL string `json:"cesql,omitempty"`
}

// EventTrigger returns j's event trigger, or nil when it has none.
func (j *Job) EventTrigger() *EventTrigger {
	for _, t := range j.Triggers {
		if t.Event != nil {
			return t.Event
		}
	}
	return nil
}

// HasSchedule reports whether j's schedule says anything: a job with triggers may have none.
func (j *Job) HasSchedule() bool {
	s := j.Schedule
	return s.Kind != "" || s.Cron != "" || s.Every != 0 || s.Anchor != nil || s.At != nil
}

// IndexedType returns the event type every event matching t must have, when its filters say so
// at the top level or under all (an exact filter on type), and "" when they admit any type.
// The store indexes triggers by it, so an event reads only the jobs listening for its type.
func (t *EventTrigger) IndexedType() string {
	if t == nil {
		return ""
	}
	return requiredType(t.Filters)
}

func requiredType(fs []EventFilter) string {
	for _, f := range fs {
		if v, ok := f.Exact["type"]; ok && len(f.Exact) == 1 {
			return v
		}
		if t := requiredType(f.All); t != "" {
			return t
		}
	}
	return ""
}

// CloneTriggers returns a deep copy of ts.
func CloneTriggers(ts []JobTrigger) []JobTrigger {
	if ts == nil {
		return nil
	}
	b, err := json.Marshal(ts)
	if err != nil {
		return ts
	}
	var out []JobTrigger
	if json.Unmarshal(b, &out) != nil {
		return ts
	}
	return out
}

// EventKey is the idempotency key of the execution of job jobID for the event of source and
// id: "<job id>:event:<escaped source>/<id>", where the source has "%" written "%25" and "/"
// written "%2F", so the first "/" after "event:" ends it and two events never share a key. The
// same event delivered twice has the same key. It adds no character that source and id do not
// already allow but "%", "2", "5" and "F", and at most twice the source's length.
func EventKey(jobID, source, id string) string {
	source = strings.ReplaceAll(strings.ReplaceAll(source, "%", "%25"), "/", "%2F")
	return Key(jobID, TriggerEvent, time.Time{}, source+"/"+id)
}

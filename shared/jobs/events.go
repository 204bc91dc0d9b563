package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cloudevent "github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/eventfilter"
	"github.com/vecron/vecron/shared/store"
)

// Limits of an ingested event (docs/event-triggers.md).
const (
	// EventKeyWindow is how long an event's receipt answers a second delivery of it.
	EventKeyWindow = 7 * 24 * time.Hour
	// MaxEventData bounds an event's data: the whole event becomes the fire's payload.
	MaxEventData = MaxPayloadBytes
	// MaxEventSource and MaxEventID bound the parts of the idempotency key an event brings.
	MaxEventSource = 256
	MaxEventID     = 128
	// coalesceMargin: an event this close to the end of a debounce window opens the next one,
	// so it is never folded into a fire the tick may be publishing.
	coalesceMargin = 500 * time.Millisecond
)

// ErrRateUnavailable: a matched job has a max_rate and the limiter is not configured or does
// not answer; the caller should retry later.
var ErrRateUnavailable = errors.New("the event rate limiter is unavailable")

// EventStore is what ingesting events needs of the database.
type EventStore interface {
	EventJobs(ctx context.Context, typ string, namespaces []string) ([]*domain.Job, error)
	EventReceipt(ctx context.Context, key string) (*domain.Execution, error)
	ActiveFreeze(ctx context.Context, ns string, at time.Time) (*domain.Freeze, error)
	QueueEvent(ctx context.Context, r store.EventRun, now time.Time) (*domain.Execution, bool, error)
}

// RateLimiter enforces a job's max_rate across api replicas.
type RateLimiter interface {
	// Allow takes one event from job jobID's allowance of r; false when it is spent. Its error
	// means the limit could not be checked.
	Allow(ctx context.Context, jobID string, r domain.EventRate) (bool, error)
}

// EventScope says where the publisher may start jobs: every namespace, or those listed.
type EventScope struct {
	All        bool
	Namespaces []string
}

// EventExecution is what one event made of one job.
type EventExecution struct {
	EventID        string                 `json:"event_id"`
	EventSource    string                 `json:"event_source"`
	JobID          string                 `json:"job_id"`
	ExecutionID    string                 `json:"execution_id"`
	IdempotencyKey string                 `json:"idempotency_key"`
	Status         domain.ExecutionStatus `json:"status"`
	// Replayed: the event was delivered before, and this is the execution it made then.
	Replayed bool `json:"replayed,omitempty"`
}

// IngestResult is what a set of events made.
type IngestResult struct {
	Executions []EventExecution
	// FilterFailures names the jobs whose CESQL filter failed on an event (no match), for the
	// caller to log.
	FilterFailures []FilterFailure
}

// FilterFailure is a job whose CESQL filter failed to evaluate on Count events of a request,
// the first of type EventType: one per job, so a batch cannot make a log line per event.
type FilterFailure struct {
	JobID, EventType string
	Count            int
}

// CheckEvent checks ev beyond the CloudEvents spec, for what vecron makes of it: its required
// attributes, and a source and id fit for an idempotency key. Problems are a
// *domain.ValidationError naming the attribute under prefix ("" or "events[2].").
func CheckEvent(prefix string, ev *cloudevents.Event) error {
	var v domain.ValidationError
	if err := ev.Validate(); err != nil {
		var ve cloudevent.ValidationError
		if errors.As(err, &ve) {
			for _, attr := range slices.Sorted(maps.Keys(ve)) {
				v.Add(prefix+attr, "is missing or not valid: "+clipText(ve[attr].Error()))
			}
		}
		if len(v.Fields) == 0 {
			v.Add(prefix+"event", "is not a valid CloudEvent: "+clipText(err.Error()))
		}
		return &v
	}
	if ev.SpecVersion() != cloudevents.VersionV1 {
		v.Add(prefix+"specversion", "must be 1.0")
	}
	if !keyText(ev.Source(), MaxEventSource) {
		v.Add(prefix+"source", fmt.Sprintf("must be 1 to %d printable ASCII characters without spaces (it is part of the idempotency key)", MaxEventSource))
	}
	if !keyText(ev.ID(), MaxEventID) {
		v.Add(prefix+"id", fmt.Sprintf("must be 1 to %d printable ASCII characters without spaces (it is part of the idempotency key)", MaxEventID))
	}
	if len(ev.Type()) > 256 {
		v.Add(prefix+"type", "is longer than 256 bytes")
	}
	// Filters read every attribute; their work is bounded for values of at most
	// eventfilter.MaxValueLen (a LIKE scans its text once per pattern byte).
	for _, a := range []struct{ name, value string }{{"type", ev.Type()}, {"subject", ev.Subject()},
		{"datacontenttype", ev.DataContentType()}, {"dataschema", ev.DataSchema()}} {
		checkAttribute(&v, prefix+a.name, a.value)
	}
	exts := ev.Extensions()
	for _, name := range slices.Sorted(maps.Keys(exts)) {
		s, err := types.ToString(exts[name])
		if err != nil {
			v.Add(prefix+name, "is not a CloudEvents attribute value")
			continue
		}
		checkAttribute(&v, prefix+name, s)
	}
	switch data := ev.Data(); {
	case len(data) > MaxEventData:
		v.Add(prefix+"data", fmt.Sprintf("is larger than %d bytes", MaxEventData))
	case len(data) > 0 && jsonMediaType(ev.DataContentType()) && !json.Valid(data):
		// The event travels as JSON in the fire's payload: its data must be JSON as it says.
		v.Add(prefix+"data", fmt.Sprintf("is not JSON, though datacontenttype is %s", clipText(ev.DataContentType())))
	}
	return v.Err()
}

// checkAttribute adds to v when the attribute value s of field is not UTF-8 or over
// eventfilter.MaxValueLen.
func checkAttribute(v *domain.ValidationError, field, s string) {
	switch {
	case !utf8.ValidString(s):
		v.Add(field, "is not valid UTF-8")
	case len(s) > eventfilter.MaxValueLen:
		v.Add(field, fmt.Sprintf("is longer than %d bytes", eventfilter.MaxValueLen))
	}
}

// jsonMediaType reports whether the media type ct is JSON: application/json, text/json or a
// +json suffix, parameters aside.
func jsonMediaType(ct string) bool {
	ct, _, _ = strings.Cut(ct, ";")
	ct = strings.ToLower(strings.TrimSpace(ct))
	return ct == "application/json" || ct == "text/json" || strings.HasSuffix(ct, "+json")
}

// keyText reports whether s may travel in an idempotency key: a NATS message id and an HTTP
// header value.
func keyText(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func clipText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// Ingest starts, for each event, the jobs in scope whose event trigger matches it: one
// execution per (job, event), recorded queued (or skipped over max_rate, or folded into a
// debounce window), however often the event is delivered. The events must have passed
// CheckEvent. It returns ErrRateUnavailable, having recorded what came before, when a matched
// job's rate cannot be checked.
func (s *Service) Ingest(ctx context.Context, es EventStore, rl RateLimiter, scope EventScope, events []cloudevents.Event) (IngestResult, error) {
	var res IngestResult
	if !scope.All && len(scope.Namespaces) == 0 {
		return res, nil
	}
	var namespaces []string
	if !scope.All {
		namespaces = scope.Namespaces
	}
	failures := map[string]int{} // job id → index in res.FilterFailures
	for i := range events {
		ev := &events[i]
		candidates, err := es.EventJobs(ctx, ev.Type(), namespaces)
		if err != nil {
			return res, err
		}
		var payload []byte
		for _, j := range candidates {
			// A publisher that hung up stops the work of its events between jobs; what was
			// recorded stays, and a redelivery finds it.
			if err := ctx.Err(); err != nil {
				return res, err
			}
			t := j.EventTrigger()
			if t == nil {
				continue
			}
			m, err := s.matchers.get(j, t)
			if err != nil {
				continue // stored before a rule tightened: it matches nothing until edited
			}
			ok, failed := m.Match(*ev)
			if failed {
				if k, seen := failures[j.ID]; seen {
					res.FilterFailures[k].Count++
				} else {
					failures[j.ID] = len(res.FilterFailures)
					res.FilterFailures = append(res.FilterFailures, FilterFailure{JobID: j.ID, EventType: ev.Type(), Count: 1})
				}
			}
			if !ok {
				continue
			}
			if payload == nil {
				if payload, err = ev.MarshalJSON(); err != nil {
					return res, fmt.Errorf("encode event: %w", err)
				}
			}
			x, err := s.queueEvent(ctx, es, rl, j, t, ev, payload)
			if errors.Is(err, domain.ErrNotFound) {
				continue // deleted since it was read
			}
			if err != nil {
				return res, err
			}
			res.Executions = append(res.Executions, x)
		}
	}
	return res, nil
}

// queueEvent records what ev makes of job j, whose event trigger t matched it.
func (s *Service) queueEvent(ctx context.Context, es EventStore, rl RateLimiter, j *domain.Job, t *domain.EventTrigger, ev *cloudevents.Event, payload []byte) (EventExecution, error) {
	now := domain.Instant(s.now())
	key := domain.EventKey(j.ID, ev.Source(), ev.ID())
	answer := func(x *domain.Execution, replayed bool) EventExecution {
		return EventExecution{EventID: ev.ID(), EventSource: ev.Source(), JobID: j.ID, ExecutionID: x.ID,
			IdempotencyKey: x.IdempotencyKey, Status: x.Status, Replayed: replayed}
	}
	// A redelivery is answered before anything is spent on it: it must not take a max_rate
	// token, nor be judged by a freeze that came after it ran. Two deliveries at once may
	// both pass this read; QueueEvent still records one.
	switch x, err := es.EventReceipt(ctx, key); {
	case err != nil:
		return EventExecution{}, err
	case x != nil:
		return answer(x, true), nil
	}
	run := store.EventRun{Namespace: j.Namespace, Source: ev.Source(), EventID: ev.ID(), ExpireBefore: now.Add(-EventKeyWindow)}
	due := now
	if t.Debounce > 0 {
		due = domain.Instant(now.Add(time.Duration(t.Debounce)))
	}
	// A freeze holds event runs as it holds scheduled fires (tick.Planner): recorded skipped
	// with its reason at the instant the run would be due, the end of a debounce window.
	at := now
	switch f, err := es.ActiveFreeze(ctx, j.Namespace, due); {
	case err != nil:
		return EventExecution{}, err
	case f != nil:
		run.Skip, at = f.FreezeReason(), due
	}
	if t.MaxRate != nil && run.Skip == "" {
		if rl == nil {
			return EventExecution{}, ErrRateUnavailable
		}
		ok, err := rl.Allow(ctx, j.ID, *t.MaxRate)
		if err != nil {
			return EventExecution{}, fmt.Errorf("%w: %w", ErrRateUnavailable, err)
		}
		if !ok {
			run.Skip = "skipped: rate: more than " + strconv.Itoa(t.MaxRate.Events) + " events in " + time.Duration(t.MaxRate.Per).String()
		}
	}
	if t.Debounce > 0 && run.Skip == "" {
		at = due
		run.CoalesceAfter = now.Add(coalesceMargin)
	}
	var traceID string
	dueFor := func(key string, at time.Time) ([]byte, error) {
		d := event.DueFor(j, at, domain.TriggerEvent, key)
		d.Payload = payload
		traceID = withTrace(ctx, &d)
		return json.Marshal(d)
	}
	data, err := dueFor(key, at)
	if err != nil {
		return EventExecution{}, err
	}
	run.PayloadFor = dueFor
	eid, err := uuid.NewV7()
	if err != nil {
		return EventExecution{}, err
	}
	run.Execution = &domain.Execution{ID: eid.String(), JobID: j.ID, JobVersion: j.Version, IdempotencyKey: key,
		Trigger: domain.TriggerEvent, ScheduledAt: at, TraceID: traceID}
	run.Fire = domain.Fire{Key: key, JobID: j.ID, Kind: j.Kind, Trigger: domain.TriggerEvent, ScheduledAt: at, PublishAt: at, Payload: data}
	x, replayed, err := es.QueueEvent(ctx, run, now)
	if err != nil {
		return EventExecution{}, err
	}
	return answer(x, replayed), nil
}

// matcherCache keeps compiled filters by job id and version, so a busy event type does not
// parse the same CESQL expression per event. It is cleared when full: jobs are edited rarely,
// and a miss costs one compile.
type matcherCache struct {
	mu sync.Mutex
	m  map[string]*eventfilter.Matcher
}

// matcherCacheSize bounds the cache.
const matcherCacheSize = 4096

func (c *matcherCache) get(j *domain.Job, t *domain.EventTrigger) (*eventfilter.Matcher, error) {
	k := j.ID + ":" + strconv.FormatInt(j.Version, 10)
	c.mu.Lock()
	m, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return m, nil
	}
	m, err := eventfilter.Compile("filters", t.Filters)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= matcherCacheSize {
		c.m = make(map[string]*eventfilter.Matcher)
	}
	c.m[k] = m
	c.mu.Unlock()
	return m, nil
}

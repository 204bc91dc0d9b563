package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/rbac"
)

// Limits of POST /events (docs/event-triggers.md).
const (
	// maxEventsBody bounds a request: one event, or a batch.
	maxEventsBody = 1 << 20
	// maxBatch bounds the events of a batch.
	maxBatch = 100
)

// EventsPath is where CloudEvents are posted: on the public port with a credential, and on the
// internal listener (events.internal_port) without one.
const EventsPath = "/events"

// batchMediaType is the content type of CloudEvents' batch mode.
const batchMediaType = "application/cloudevents-batch+json"

// eventsResponse is the answer of POST /events.
type eventsResponse struct {
	// Executions lists what each event made of each job it matched; empty when none matched.
	Executions []jobs.EventExecution `json:"executions"`
}

// cloudEventDoc documents a CloudEvent in structured mode; binary mode carries the same
// attributes as ce- headers and the data as the body.
type cloudEventDoc struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	Subject         string `json:"subject,omitempty"`
	Time            string `json:"time,omitempty"`
	DataContentType string `json:"datacontenttype,omitempty"`
	Data            any    `json:"data,omitempty"`
}

// ingestEvents serves POST /events: CloudEvents in binary, structured or batch mode start the
// jobs whose event trigger matches them, in the namespaces where the caller holds both
// event:publish and job:execute.
func (s *Server) ingestEvents(w http.ResponseWriter, r *http.Request) {
	s.ingest(w, r, eventScope(identityOf(r)))
}

// ingest reads the CloudEvents of r and starts the jobs of scope that match them.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request, scope jobs.EventScope) {
	events, err := readEvents(w, r)
	if err != nil {
		var tooLarge *tooLargeError
		if errors.As(err, &tooLarge) {
			writeProblem(w, problem{Status: http.StatusRequestEntityTooLarge, Detail: tooLarge.Error(),
				Errors: []domain.FieldError{{Field: tooLarge.field, Reason: tooLarge.reason}}})
			return
		}
		writeError(w, r, s.log, err)
		return
	}
	linkEventTraces(r.Context(), events)
	res, err := s.jobs.Ingest(r.Context(), s.store, s.limiter, scope, events)
	for _, f := range res.FilterFailures {
		// The event's data and attributes stay out of the log: they are the producer's.
		s.log.WarnContext(r.Context(), "event filter failed to evaluate; treated as no match", "job_id", f.JobID,
			"event_type", printable(f.EventType, 100), "events", f.Count)
	}
	if errors.Is(err, jobs.ErrRateUnavailable) {
		s.log.ErrorContext(r.Context(), "event rate limit cannot be checked", "error", err)
		w.Header().Set("Retry-After", "5")
		writeProblem(w, problem{Status: http.StatusServiceUnavailable,
			Detail: "a matching job has a max_rate and the rate limiter (Redis) is not available; retry later"})
		return
	}
	if err != nil && r.Context().Err() != nil {
		return // the publisher hung up, and stopped the work; it delivers again
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := eventsResponse{Executions: res.Executions}
	if out.Executions == nil {
		out.Executions = []jobs.EventExecution{}
	}
	status := http.StatusOK
	if len(out.Executions) > 0 {
		status = http.StatusAccepted
	}
	writeJSON(w, status, out)
}

// eventScope returns where id may start jobs by event: the namespaces where it holds both
// event:publish and job:execute (ARCHITECTURE §11).
func eventScope(id *rbac.Identity) jobs.EventScope {
	allPub, pub := id.Namespaces(domain.PermEventPublish)
	allExec, exec := id.Namespaces(domain.PermJobExecute)
	switch {
	case allPub && allExec:
		return jobs.EventScope{All: true}
	case allPub:
		return jobs.EventScope{Namespaces: exec}
	case allExec:
		return jobs.EventScope{Namespaces: pub}
	}
	var both []string
	for _, ns := range pub {
		if slices.Contains(exec, ns) {
			both = append(both, ns)
		}
	}
	return jobs.EventScope{Namespaces: both}
}

// tooLargeError is a request over a limit: 413.
type tooLargeError struct{ field, reason string }

func (e *tooLargeError) Error() string { return e.field + ": " + e.reason }

// readEvents reads the CloudEvents of r in any HTTP content mode, bounded, and checks each; a
// problem names the attribute (events[i].source in a batch).
func readEvents(w http.ResponseWriter, r *http.Request) ([]cloudevents.Event, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEventsBody))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return nil, &tooLargeError{"body", fmt.Sprintf("is larger than %d bytes", maxEventsBody)}
	case err != nil:
		return nil, &domain.ValidationError{Fields: []domain.FieldError{{Field: "body", Reason: "could not be read"}}}
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	events, err := parseEvents(r.Header, body, mt == batchMediaType)
	if err != nil {
		return nil, err
	}
	prefix := func(i int) string { return "" }
	if mt == batchMediaType {
		prefix = func(i int) string { return fmt.Sprintf("events[%d].", i) }
	}
	var v domain.ValidationError
	for i := range events {
		if err := jobs.CheckEvent(prefix(i), &events[i]); err != nil {
			var verr *domain.ValidationError
			if errors.As(err, &verr) {
				for _, f := range verr.Fields {
					if f.Field == prefix(i)+"data" && len(events[i].Data()) > jobs.MaxEventData {
						return nil, &tooLargeError{f.Field, f.Reason}
					}
				}
				v.Fields = append(v.Fields, verr.Fields...)
			}
		}
	}
	return events, v.Err()
}

// parseEvents decodes body with the CloudEvents SDK's HTTP binding: binary or structured mode,
// or batch mode when batch is set. Whatever it cannot make an event of is a 400 on body.
func parseEvents(h http.Header, body []byte, batch bool) (events []cloudevents.Event, err error) {
	// The SDK is not written for hostile input: a panic is a body it could not read.
	defer func() {
		if recover() != nil {
			events, err = nil, notAnEvent("")
		}
	}()
	req := &http.Request{Method: http.MethodPost, Header: h.Clone(), Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))}
	if batch {
		events, err = cehttp.NewEventsFromHTTPRequest(req)
		switch {
		case err != nil:
			return nil, notAnEvent(err.Error())
		case len(events) == 0:
			return nil, &domain.ValidationError{Fields: []domain.FieldError{{Field: "events", Reason: "the batch holds no event"}}}
		case len(events) > maxBatch:
			return nil, &tooLargeError{"events", fmt.Sprintf("a batch holds at most %d events", maxBatch)}
		}
		return events, nil
	}
	ev, err := cehttp.NewEventFromHTTPRequest(req)
	if err != nil {
		return nil, notAnEvent(err.Error())
	}
	return []cloudevents.Event{*ev}, nil
}

func notAnEvent(why string) error {
	reason := "is not a CloudEvent in binary (ce- headers), structured (application/cloudevents+json) or batch (" + batchMediaType + ") mode"
	if why != "" {
		reason += ": " + printable(why, 200)
	}
	return &domain.ValidationError{Fields: []domain.FieldError{{Field: "body", Reason: reason}}}
}

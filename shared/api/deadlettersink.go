package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/schedule"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/store"
)

// DeadLetterPath is where the cluster-internal listener takes the events a Knative broker gave
// up delivering: the dead-letter sink of the executors' Triggers (docs/deploy.md §4).
const DeadLetterPath = "/dead-letter"

// Knative's error extensions on an event it sends to a dead-letter sink: where it last tried,
// the status it got, and the body of that answer (base64).
const (
	ExtErrorDest = "knativeerrordest"
	ExtErrorCode = "knativeerrorcode"
	ExtErrorData = "knativeerrordata"
)

// UndeliveredPrefix begins the error of an execution recorded dead-lettered by the dead-letter
// sink: its reason, undelivered.
const UndeliveredPrefix = "undelivered: "

// maxErrorData bounds the excerpt of knativeerrordata an execution keeps.
const maxErrorData = 256

// Publisher stores messages in JetStream, once per message id (a *queue.Publisher).
type Publisher interface {
	Publish(ctx context.Context, m queue.Message) error
}

// deadLetterAnswer is the answer of the dead-letter sink: whether it recorded the fire
// dead-lettered now, and the id of the fire's execution (none for a wake). Never more: anyone
// who can make the broker deliver here could read any namespace's execution from it.
type deadLetterAnswer struct {
	Recorded    bool   `json:"recorded"`
	ExecutionID string `json:"execution_id,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// undelivered is what a dead-lettered due event says, checked.
type undelivered struct {
	due  event.Due
	dest string
	code int
	data []byte
}

// deadLetterSink records the fire of a due event its broker gave up delivering as dead-lettered
// (reason undelivered, with Knative's error extensions), publishes it to the dead-letter stream
// and as a lifecycle event as an executor does, and answers 200. A wake is dropped (200). A fire
// whose execution ended is left as it is, and one whose execution runs is answered 409: its
// worker records its end. The same event again records nothing more and publishes the same
// messages, which the streams store once.
//
// The sink cannot tell the broker from anyone who can make it deliver here, so the event only
// names the fire: the job's version, schedule and trigger are read from the database, and a
// fire the database shows no executor was handed is refused (422 on id).
func (s *Server) deadLetterSink(w http.ResponseWriter, r *http.Request) {
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
	if len(events) != 1 {
		writeError(w, r, s.log, &domain.ValidationError{Fields: []domain.FieldError{{Field: "body",
			Reason: "a dead-letter sink takes one event, not a batch"}}})
		return
	}
	if event.IsWake(events[0]) {
		writeJSON(w, http.StatusOK, deadLetterAnswer{Reason: "a wake is dropped: a later fire wakes the executors"})
		return
	}
	now := s.now().UTC()
	u, err := parseUndelivered(events[0], now)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if s.deadLetters == nil {
		writeProblem(w, problem{Status: http.StatusServiceUnavailable, Detail: "dead letters are published to NATS, and this api has no nats.url"})
		return
	}
	id, err := uuid.NewV7()
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	d := u.due
	if d.Trigger == domain.TriggerSchedule {
		switch err := s.onSchedule(r.Context(), d); {
		case errors.Is(err, domain.ErrNotFound):
			writeProblem(w, problem{Status: http.StatusUnprocessableEntity, Detail: "the fire's job does not exist",
				Errors: []domain.FieldError{{Field: "data.job_id", Reason: "no such job"}}})
			return
		case errors.Is(err, errOffSchedule):
			writeProblem(w, problem{Status: http.StatusUnprocessableEntity, Detail: "no executor was handed this fire",
				Errors: []domain.FieldError{{Field: "id", Reason: "names an instant the job's schedule does not produce"}}})
			return
		case err != nil:
			writeError(w, r, s.log, err)
			return
		}
	}
	out, changed, job, err := s.store.DeadLetterUndelivered(r.Context(), store.Undelivered{ID: id.String(), JobID: d.JobID,
		IdempotencyKey: d.IdempotencyKey, Trigger: d.Trigger, ScheduledAt: d.ScheduledAt, Error: s.undeliveredError(r.Context(), u)}, now)
	var conflict *domain.ConflictError
	switch {
	case errors.Is(err, domain.ErrNotFound):
		// Not retried by the broker (a 4xx but 404, 408, 409 and 429): the job is gone, and
		// with it any replay of its fire.
		writeProblem(w, problem{Status: http.StatusUnprocessableEntity, Detail: "the fire's job does not exist",
			Errors: []domain.FieldError{{Field: "data.job_id", Reason: "no such job"}}})
		return
	case errors.Is(err, store.ErrNotHandedOut):
		writeProblem(w, problem{Status: http.StatusUnprocessableEntity, Detail: "no executor was handed this fire",
			Errors: []domain.FieldError{{Field: "id", Reason: "names no fire that was queued for publication or claimed"}}})
		return
	case errors.As(err, &conflict):
		// A 409 the broker would retry in vain: the key's execution stays another job's.
		writeProblem(w, problem{Status: http.StatusUnprocessableEntity, Detail: conflict.FieldError.Error(),
			Errors: []domain.FieldError{conflict.FieldError}})
		return
	case err != nil:
		writeError(w, r, s.log, err)
		return
	}
	switch {
	case out.Status == domain.StatusRunning:
		// Retried by the broker (Knative retries 5xx, 404, 408, 409 and 429): a later
		// delivery finds the attempt ended, or queued for a retry, which it then ends.
		writeProblem(w, problem{Status: http.StatusConflict, Detail: "the fire's execution is running; its worker records how it ends",
			Errors: []domain.FieldError{{Field: "status", Reason: "running"}}})
		return
	case out.Status != domain.StatusDeadLettered || !strings.HasPrefix(out.Error, UndeliveredPrefix):
		// Ended otherwise (run, skipped, cancelled, or dead-lettered by its executor, which
		// published it): not this sink's to change or to publish.
		writeJSON(w, http.StatusOK, deadLetterAnswer{ExecutionID: out.ID})
		return
	}
	// Both on every delivery of the event, as both are idempotent: a publish or a next run that
	// failed after the record is made good by the broker's redelivery (503), or a fixed_delay
	// job would never fire again.
	if err := s.afterUndelivered(r.Context(), job, out); err != nil {
		s.log.ErrorContext(r.Context(), "schedule the next run of a fixed_delay job", "job_id", job.ID, "execution_id", out.ID, "error", err)
		writeProblem(w, problem{Status: http.StatusServiceUnavailable, Detail: "the dead letter is recorded; setting the job's next run failed, deliver it again"})
		return
	}
	if err := s.publishDeadLetter(r.Context(), event.DueFor(job, out.ScheduledAt, out.Trigger, out.IdempotencyKey), out); err != nil {
		s.log.ErrorContext(r.Context(), "publish dead letter", "execution_id", out.ID, "error", err)
		writeProblem(w, problem{Status: http.StatusServiceUnavailable, Detail: "the dead letter is recorded; publishing it failed, deliver it again"})
		return
	}
	writeJSON(w, http.StatusOK, deadLetterAnswer{Recorded: changed, ExecutionID: out.ID})
}

// parseUndelivered checks a dead-lettered event; the error names the attribute or data field.
func parseUndelivered(ev cloudevents.Event, now time.Time) (undelivered, error) {
	bad := func(field, reason string) (undelivered, error) {
		return undelivered{}, &domain.ValidationError{Fields: []domain.FieldError{{Field: field, Reason: reason}}}
	}
	if ev.Type() != event.TypeJobDue {
		return bad("type", fmt.Sprintf("must be %s or %s", event.TypeJobDue, event.TypeWake))
	}
	d, err := event.ParseDue(ev)
	if err != nil {
		return bad("data", "is not a due fire: "+printable(err.Error(), 200))
	}
	if !slices.Contains(queue.DueKinds(), d.Kind) {
		return bad("data.kind", "is not a job kind")
	}
	if !strings.HasPrefix(d.IdempotencyKey, d.JobID+":") {
		return bad("id", "is not an idempotency key of the job data.job_id names")
	}
	// A fire not due yet was handed to no one: a dead letter of it would make the fire, when it
	// comes, find its work done.
	if d.ScheduledAt.After(now.Add(store.UndeliveredSkew)) {
		return bad("data.scheduled_at", "is in the future: the broker cannot have given up on a fire not due yet")
	}
	if f, ok := fireOfKey(d.JobID, d.IdempotencyKey); !ok {
		return bad("id", "is not the key of a fire")
	} else if f != "" && d.Trigger != f || f == "" && d.Trigger != domain.TriggerSchedule && d.Trigger != domain.TriggerBackfill {
		return bad("data.trigger", "is not the trigger the key names")
	}
	if at, ok := domain.KeyInstant(d.IdempotencyKey); ok && !at.Equal(domain.Instant(d.ScheduledAt)) {
		return bad("id", "names another instant than data.scheduled_at")
	}
	u := undelivered{due: d}
	ext := ev.Extensions()
	if v, ok := ext[ExtErrorDest]; ok {
		dest, err := url.Parse(fmt.Sprint(v))
		if err != nil || !dest.IsAbs() || dest.Host == "" {
			return bad(ExtErrorDest, "is not an absolute URL")
		}
		// Where it went, and no more: the user info, path, query and fragment may each hold the
		// receiver's token, which namespace users would read in the execution's error.
		u.dest = printable((&url.URL{Scheme: dest.Scheme, Host: dest.Host}).String(), 400)
	}
	if v, ok := ext[ExtErrorCode]; ok {
		code, err := strconv.Atoi(fmt.Sprint(v))
		if err != nil || code < 100 || code > 599 {
			return bad(ExtErrorCode, "is not an HTTP status code")
		}
		u.code = code
	}
	if v, ok := ext[ExtErrorData]; ok {
		// Knative cuts the encoded body at 1024 characters, mid-quantum as often as not: what
		// decodes is the whole quanta.
		enc := fmt.Sprint(v)
		data, err := base64.StdEncoding.DecodeString(enc[:len(enc)/4*4])
		if err != nil {
			return bad(ExtErrorData, "is not base64")
		}
		u.data = data
	}
	return u, nil
}

// undeliveredError is the error an undelivered fire's execution records: the reason, where
// the broker last tried, what it got, and an excerpt of the answer, bounded, printable, with
// the values of the job's secrets masked in the destination and the excerpt; without either
// when those secrets cannot be read.
func (s *Server) undeliveredError(ctx context.Context, u undelivered) string {
	var b strings.Builder
	b.WriteString(UndeliveredPrefix + "the broker gave up delivering this fire")
	var mask *secret.Masker
	if s.vars != nil && (u.dest != "" || len(u.data) > 0) {
		resolved, err := s.vars.Resolve(ctx, u.due.JobID)
		if err != nil {
			s.log.WarnContext(ctx, "the job's secrets cannot be read; the broker's destination and answer are not kept", "job_id", u.due.JobID, "error", err)
			u.dest, u.data = "", nil
		} else {
			mask = secret.NewMasker(resolved.Values)
		}
	}
	if u.dest != "" {
		b.WriteString(" to " + excerpt(mask.Mask(u.dest), 200))
	}
	if u.code != 0 {
		b.WriteString(" (last answer: HTTP " + strconv.Itoa(u.code) + ")")
	}
	if len(u.data) == 0 {
		return b.String()
	}
	// Masked whole, then cut: a secret that straddles the cut is hidden before it is cut.
	b.WriteString(": " + excerpt(mask.Mask(strings.ToValidUTF8(string(u.data), "\uFFFD")), maxErrorData))
	return b.String()
}

// excerpt returns s on one line, without control or format characters (U+202E would turn what
// follows around on a screen, U+200B hide a difference), cut to at most n bytes on a rune
// boundary.
func excerpt(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return ' '
		}
		return r
	}, s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// utf8RuneStart reports whether b begins a UTF-8 encoded rune.
func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// publishDeadLetter publishes e, the dead-lettered execution of fire d, to the dead-letter
// stream and as its lifecycle event, as an executor does: both under the event's id, so a
// repeat is stored once.
func (s *Server) publishDeadLetter(ctx context.Context, d event.Due, e *domain.Execution) error {
	ev, err := event.NewExecution(event.TypeExecutionDeadLettered, e, d, event.Source("api", InternalEventsActor))
	if err != nil {
		return err
	}
	for _, subject := range []string{s.names.DLQSubject(d.Kind), s.names.EventSubject(ev.Type())} {
		// A message each: the publisher writes its headers.
		msg, err := event.ToNATS(ctx, ev)
		if err != nil {
			return err
		}
		if err := s.deadLetters.Publish(ctx, queue.Message{Subject: subject, MsgID: ev.ID(), Msg: msg}); err != nil {
			return fmt.Errorf("publish to %s: %w", subject, err)
		}
	}
	return nil
}

// errOffSchedule is onSchedule's answer for an instant the job's schedule does not produce.
var errOffSchedule = errors.New("the instant is not one of the job's schedule")

// onSchedule returns errOffSchedule when d, a scheduled fire, is of a cron job whose stored
// schedule, as the tick plans it (schedule.ForJob: zone, calendars, jitter), has no fire at its
// instant: the claim having passed an instant is all the store can check, and whoever reaches
// the internal port could otherwise record failures of instants the job never had. A
// fixed_delay job's fires come from the end of the run before, which no schedule repeats.
func (s *Server) onSchedule(ctx context.Context, d event.Due) error {
	job, err := s.store.GetJob(ctx, d.JobID)
	if err != nil {
		return err // domain.ErrNotFound when the job is gone
	}
	if job.Schedule.Kind == domain.ScheduleFixedDelay {
		return nil
	}
	sched, err := schedule.ForJob(job)
	if err != nil {
		return fmt.Errorf("schedule of job %s: %w", job.ID, err)
	}
	at := domain.Instant(d.ScheduledAt)
	if next, ok := sched.Next(at.Add(-time.Millisecond)); !ok || !next.Equal(at) {
		return errOffSchedule
	}
	return nil
}

// afterUndelivered sets the next run of a fixed_delay job, as an executor does at an end: its
// delay counts from the end of e, and without it the job would never fire again.
// Only the stored job says it is fixed_delay: on any other, ScheduleAfterFinish's guard holds for
// every fire the claim passed, and would move the job's next run.
func (s *Server) afterUndelivered(ctx context.Context, job *domain.Job, e *domain.Execution) error {
	if job.Schedule.Kind != domain.ScheduleFixedDelay || e.Trigger != domain.TriggerSchedule || e.FinishedAt == nil {
		return nil
	}
	sched, err := schedule.Parse(job.Schedule, job.Timezone)
	if err != nil {
		return err
	}
	var next *time.Time
	if t, ok := sched.WithSeed(job.ID).Next(*e.FinishedAt); ok {
		next = &t
	}
	return s.store.ScheduleAfterFinish(ctx, job.ID, e.ScheduledAt, next)
}

// fireOfKey returns the trigger a key of job jobID names — empty for a scheduled or backfill
// fire's, keyed by its instant — and false for a key that names no fire (a misfire range's).
func fireOfKey(jobID, key string) (domain.Trigger, bool) {
	rest, ok := strings.CutPrefix(key, jobID+":")
	if !ok || rest == "" {
		return "", false
	}
	trigger, id, found := strings.Cut(rest, ":")
	if !found {
		_, ok := domain.KeyInstant(key)
		return "", ok
	}
	if id == "" || !slices.Contains([]domain.Trigger{domain.TriggerManual, domain.TriggerWebhook, domain.TriggerEvent,
		domain.TriggerRetry, domain.TriggerReplay, domain.TriggerChain}, domain.Trigger(trigger)) {
		return "", false
	}
	return domain.Trigger(trigger), true
}

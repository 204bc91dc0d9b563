package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/store"
)

// getExecution answers one execution with every attempt.
// execution returns the execution the route names when the caller holds perm in its namespace;
// otherwise it answers why not.
func (s *Server) execution(w http.ResponseWriter, r *http.Request, perm domain.Permission) (*domain.Execution, bool) {
	id := chi.URLParam(r, "id")
	if uuid.Validate(id) != nil {
		writeError(w, r, s.log, domain.ErrNotFound)
		return nil, false
	}
	e, err := s.store.GetExecution(r.Context(), id)
	if err != nil {
		writeError(w, r, s.log, err)
		return nil, false
	}
	return e, s.allowExecution(w, r, perm, e)
}

func (s *Server) getExecution(w http.ResponseWriter, r *http.Request) {
	e, ok := s.execution(w, r, domain.PermExecutionRead)
	if !ok {
		return
	}
	var err error
	if e.Attempts, err = s.store.Attempts(r.Context(), e.ID, e.ScheduledAt); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

func (s *Server) listDeadLetters(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var v domain.ValidationError
	limit, err := parseLimit(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	state := q.Get("state")
	switch state {
	case "":
		state = domain.DeadLetterPending
	case "all":
		state = ""
	case domain.DeadLetterPending, domain.DeadLetterReplayed, domain.DeadLetterDiscarded:
	default:
		v.Add("state", "must be one of pending (the default), replayed, discarded, all")
	}
	jobID := q.Get("job_id")
	if jobID != "" && uuid.Validate(jobID) != nil {
		v.Add("job_id", "is not a job id")
	}
	at, after, ok := decodeCursor(q.Get("cursor"))
	if !ok {
		v.Add("cursor", "is not a cursor this API returned")
	}
	var cursor *store.DeadLetterCursor
	if after != "" {
		cursor = &store.DeadLetterCursor{FinishedAt: at, ID: after}
	}
	if err := v.Err(); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	p := store.ListDeadLettersParams{State: state, JobID: jobID, After: cursor, Limit: limit}
	if all, list := identityOf(r).Namespaces(domain.PermExecutionRead); !all {
		p.Namespaces = append([]string{}, list...)
	}
	list, err := s.store.ListDeadLetters(r.Context(), p)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, executionPage(list, limit, func(e *domain.Execution) time.Time { return *e.FinishedAt }))
}

func (s *Server) replayDeadLetter(w http.ResponseWriter, r *http.Request) {
	if !s.allowDeadLetter(w, r) {
		return
	}
	e, err := s.jobs.Replay(r.Context(), s.store, chi.URLParam(r, "id"))
	switch {
	case errors.Is(err, jobs.ErrJobGone):
		writeProblem(w, problem{Status: http.StatusConflict, Detail: "the job of this dead letter was deleted; there is nothing to replay"})
	case err != nil:
		s.writeDeadLetterError(w, r, err)
	default:
		writeJSON(w, http.StatusAccepted, e)
	}
}

func (s *Server) discardDeadLetter(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if !s.allowDeadLetter(w, r) {
		return
	}
	e, err := s.store.DiscardDeadLetter(r.Context(), id, s.now().UTC())
	if err != nil {
		s.writeDeadLetterError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

// writeDeadLetterError says what became of a dead letter that can no longer be replayed or
// discarded.
func (s *Server) writeDeadLetterError(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, domain.ErrConflict) {
		writeError(w, r, s.log, err)
		return
	}
	detail := "this dead letter was already resolved"
	if e, gerr := s.store.GetExecution(r.Context(), chi.URLParam(r, "id")); gerr == nil && e.DeadLetter != nil {
		detail = "this dead letter was already " + e.DeadLetter.State
		if e.DeadLetter.ReplayKey != "" {
			detail += " as " + e.DeadLetter.ReplayKey
		}
	}
	writeProblem(w, problem{Status: http.StatusConflict, Detail: detail})
}

// allowDeadLetter checks job:execute on the job of the dead letter of the request's {id}.
func (s *Server) allowDeadLetter(w http.ResponseWriter, r *http.Request) bool {
	id := chi.URLParam(r, "id")
	if uuid.Validate(id) != nil {
		writeError(w, r, s.log, domain.ErrNotFound)
		return false
	}
	e, err := s.store.GetExecution(r.Context(), id)
	if err != nil {
		writeError(w, r, s.log, err)
		return false
	}
	return s.allowExecution(w, r, domain.PermJobExecute, e)
}

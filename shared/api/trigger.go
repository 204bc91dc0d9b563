package api

import (
	"encoding/json"
	"net/http"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
)

// triggerRequest is the body of a run now; it may be left out.
type triggerRequest struct {
	// Payload is any JSON value; the job's templates read it as trigger.payload.
	Payload json.RawMessage `json:"payload"`
	Force   bool            `json:"force"`
}

// triggerResponse names the run a run now queued.
type triggerResponse struct {
	ExecutionID    string                 `json:"execution_id"`
	IdempotencyKey string                 `json:"idempotency_key"`
	Status         domain.ExecutionStatus `json:"status"`
	Forced         bool                   `json:"forced,omitempty"`
}

// trigger runs a job now: 202 with the execution, recorded queued before the answer.
func (s *Server) trigger(w http.ResponseWriter, r *http.Request) {
	j, ok := s.allowJob(w, r, domain.PermJobExecute)
	if !ok {
		return
	}
	var in triggerRequest
	if err := decodeOptionalBody(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if string(in.Payload) == "null" {
		in.Payload = nil
	}
	e, replayed, err := s.jobs.Trigger(r.Context(), s.store, j, jobs.RunNow{Payload: in.Payload, Force: in.Force, Key: r.Header.Get("Idempotency-Key")})
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.Header().Set("Location", "/api/v1/executions/"+e.ID)
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, http.StatusAccepted, triggerResponse{ExecutionID: e.ID, IdempotencyKey: e.IdempotencyKey, Status: e.Status, Forced: e.Forced})
}

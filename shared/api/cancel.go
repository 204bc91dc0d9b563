package api

import (
	"net/http"
	"strings"
	"unicode"

	"github.com/vecron/vecron/shared/domain"
)

// maxCancelReason bounds the reason a cancel records.
const maxCancelReason = 500

// cancelRequest is the body of a cancel; it may be left out.
type cancelRequest struct {
	Reason string `json:"reason"`
}

// cancelExecution cancels a queued or running execution: recorded cancelled at once; a running
// attempt stops at its worker's next heartbeat, or before its instant when staged.
func (s *Server) cancelExecution(w http.ResponseWriter, r *http.Request) {
	e, ok := s.execution(w, r, domain.PermJobExecute)
	if !ok {
		return
	}
	var in cancelRequest
	if err := decodeOptionalBody(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	in.Reason = strings.TrimSpace(in.Reason)
	var v domain.ValidationError
	switch {
	case len(in.Reason) > maxCancelReason:
		v.Add("reason", "is longer than 500 bytes")
	case strings.IndexFunc(in.Reason, unicode.IsControl) >= 0:
		v.Add("reason", "must not contain control characters")
	}
	if err := v.Err(); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	reason := "cancelled by " + domain.ActorLabel(r.Context())
	if in.Reason != "" {
		reason += ": " + in.Reason
	}
	out, err := s.store.CancelExecution(r.Context(), e.ID, reason, s.now().UTC())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

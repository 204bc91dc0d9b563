package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
)

// maxComment bounds the comment of a decision on a change.
const maxComment = 2000

// proposed turns the write p into a pending change when namespace ns requires four eyes, and
// answers 202 with it (or with why it was refused); it reports whether it answered. Elsewhere
// the caller makes the write itself.
func (s *Server) proposed(w http.ResponseWriter, r *http.Request, ns string, p jobs.Proposal) bool {
	on, err := s.jobs.FourEyes(r.Context(), s.store, ns)
	if err != nil {
		writeError(w, r, s.log, err)
		return true
	}
	if !on {
		return false
	}
	p.UserID = identityOf(r).UserID
	c, err := s.jobs.Propose(r.Context(), s.store, p)
	if err != nil {
		writeError(w, r, s.log, err)
		return true
	}
	w.Header().Set("Location", "/api/v1/changes/"+c.ID)
	writeJSON(w, http.StatusAccepted, c)
	return true
}

// parseChangeFilter reads the query of GET /api/v1/changes: namespace, job_id, status, cursor
// and limit. It returns a *domain.ValidationError naming each bad parameter.
func parseChangeFilter(r *http.Request) (domain.ListChangesParams, error) {
	q := r.URL.Query()
	var v domain.ValidationError
	p := domain.ListChangesParams{Namespace: q.Get("namespace"), JobID: q.Get("job_id"), Status: domain.ChangeStatus(q.Get("status")),
		After: q.Get("cursor")}
	limit, err := parseLimit(r)
	var verr *domain.ValidationError
	if errors.As(err, &verr) {
		v.Fields = append(v.Fields, verr.Fields...)
	}
	p.Limit = limit
	if p.Namespace != "" && !domain.ValidNamespace(p.Namespace) {
		v.Add("namespace", quoted(printable(p.Namespace, 80))+" is not a namespace name")
	}
	if p.JobID != "" && uuid.Validate(p.JobID) != nil {
		v.Add("job_id", "is not a job id")
	}
	if p.Status != "" && !slices.Contains(domain.ChangeStatuses(), p.Status) {
		v.Add("status", quoted(printable(string(p.Status), 40))+" is not one of pending, approved, rejected, withdrawn, expired, failed")
	}
	if p.After != "" && uuid.Validate(p.After) != nil {
		v.Add("cursor", "is not a cursor this API returned")
	}
	return p, v.Err()
}

// listChanges serves GET /api/v1/changes: the changes of the namespaces where the caller may
// read jobs, newest first.
func (s *Server) listChanges(w http.ResponseWriter, r *http.Request) {
	p, err := parseChangeFilter(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if p.Namespace != "" {
		if !s.allow(w, r, domain.PermJobRead, p.Namespace) {
			return
		}
	} else if all, list := identityOf(r).Namespaces(domain.PermJobRead); !all {
		p.Namespaces = append([]string{}, list...)
	}
	list, err := s.jobs.Changes(r.Context(), s.store, p)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := page[*domain.Change]{Items: list}
	if out.Items == nil {
		out.Items = []*domain.Change{}
	}
	if len(list) == p.Limit {
		out.NextCursor = list[len(list)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
}

// allowChange loads the change of the request's {id} and checks perm in its namespace; it
// answers and returns false when the change does not exist or the caller may not.
func (s *Server) allowChange(w http.ResponseWriter, r *http.Request, perm domain.Permission) (*domain.Change, bool) {
	c, err := s.jobs.Change(r.Context(), s.store, chi.URLParam(r, "id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return nil, false
	}
	// Whoever may not read the namespace's jobs learns nothing of its changes.
	if !identityOf(r).Can(domain.PermJobRead, c.Namespace) {
		writeError(w, r, s.log, domain.ErrNotFound)
		return nil, false
	}
	return c, s.allow(w, r, perm, c.Namespace)
}

func (s *Server) getChange(w http.ResponseWriter, r *http.Request) {
	if c, ok := s.allowChange(w, r, domain.PermJobRead); ok {
		writeJSON(w, http.StatusOK, c)
	}
}

// decide serves a decision on a change: approve, reject or withdraw, each with an optional
// comment.
func (s *Server) decide(perm domain.Permission, fn decideFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in decisionRequest
		if err := decodeOptionalBody(w, r, &in); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if len(in.Comment) > maxComment {
			writeError(w, r, s.log, &domain.ValidationError{Fields: []domain.FieldError{{Field: "comment",
				Reason: "is longer than " + strconv.Itoa(maxComment) + " bytes"}}})
			return
		}
		c, ok := s.allowChange(w, r, perm)
		if !ok {
			return
		}
		out, err := fn(r.Context(), s.store, c, identityOf(r).UserID, in.Comment)
		switch {
		case errors.Is(err, jobs.ErrSelfApproval), errors.Is(err, jobs.ErrNotRequester):
			writeProblem(w, problem{Status: http.StatusForbidden, Detail: err.Error()})
		case err != nil:
			writeError(w, r, s.log, err)
		default:
			writeJSON(w, http.StatusOK, out)
		}
	}
}

// decideFunc is a decision of the jobs service: Approve, Reject or Withdraw.
// decisionRequest is the body of an approve, reject or withdraw: why, for the audit log.
type decisionRequest struct {
	Comment string `json:"comment"`
}

type decideFunc func(ctx context.Context, cs jobs.ChangeStore, c *domain.Change, userID, comment string) (*domain.Change, error)

// getNamespaceSettings serves GET /api/v1/namespaces/{namespace}/settings to whoever may read
// the namespace's jobs: they need to know whether their changes wait for approval.
func (s *Server) getNamespaceSettings(w http.ResponseWriter, r *http.Request) {
	ns := chi.URLParam(r, "namespace")
	if !domain.ValidNamespace(ns) {
		writeError(w, r, s.log, domain.ErrNotFound)
		return
	}
	if !s.allow(w, r, domain.PermJobRead, ns) {
		return
	}
	st, err := s.store.NamespaceSettings(r.Context(), ns)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// namespaceSettingsRequest is the body of PUT …/settings; four_eyes is required so that a
// mistyped body never turns four eyes off.
type namespaceSettingsRequest struct {
	FourEyes     *bool           `json:"four_eyes"`
	ChangeExpiry domain.Duration `json:"change_expiry"`
}

// putNamespaceSettings serves PUT /api/v1/namespaces/{namespace}/settings. Changing who must
// approve is changing access control: it needs user:admin for all namespaces, as users and
// roles do, and takes effect at once (docs/four-eyes.md says why it is not itself approved).
func (s *Server) putNamespaceSettings(w http.ResponseWriter, r *http.Request) {
	if !s.allow(w, r, domain.PermUserAdmin, domain.AllNamespaces) {
		return
	}
	var in namespaceSettingsRequest
	if err := decodeBody(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if in.FourEyes == nil {
		writeError(w, r, s.log, &domain.ValidationError{Fields: []domain.FieldError{{Field: "four_eyes", Reason: "is required (true or false)"}}})
		return
	}
	st, err := s.jobs.PutSettings(r.Context(), s.store, &domain.NamespaceSettings{Namespace: chi.URLParam(r, "namespace"),
		FourEyes: *in.FourEyes, ChangeExpiry: in.ChangeExpiry})
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

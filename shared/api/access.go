package api

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/vecron/vecron/shared/domain"
)

// allow reports whether the caller holds perm in namespace ns, answering for it when not: 404
// when the caller holds nothing there (so that a namespace's objects do not leak), 403 naming the
// permission when they see the namespace but lack the right.
func (s *Server) allow(w http.ResponseWriter, r *http.Request, perm domain.Permission, ns string) bool {
	id := identityOf(r)
	switch {
	case id.Can(perm, ns):
		return true
	case ns != domain.AllNamespaces && !id.Sees(ns):
		writeError(w, r, s.log, domain.ErrNotFound)
	default:
		where := "in namespace " + ns
		if ns == domain.AllNamespaces {
			where = "for all namespaces"
		}
		writeProblem(w, problem{Status: http.StatusForbidden, Detail: "missing permission " + string(perm) + " " + where})
	}
	return false
}

// allowJob loads the job of the request's {id} and checks perm in its namespace; it answers
// and returns false when the job does not exist or the caller may not.
func (s *Server) allowJob(w http.ResponseWriter, r *http.Request, perm domain.Permission) (*domain.Job, bool) {
	j, err := s.jobs.Get(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return nil, false
	}
	return j, s.allow(w, r, perm, j.Namespace)
}

// allowExecution checks perm in the namespace of e's job. The history of a deleted job has no
// namespace left, so only a grant for all namespaces reaches it.
func (s *Server) allowExecution(w http.ResponseWriter, r *http.Request, perm domain.Permission, e *domain.Execution) bool {
	ns := domain.AllNamespaces
	j, err := s.jobs.Get(r.Context(), e.JobID)
	switch {
	case err == nil:
		ns = j.Namespace
	case !errors.Is(err, domain.ErrNotFound):
		writeError(w, r, s.log, err)
		return false
	case !identityOf(r).Can(perm, ns):
		writeError(w, r, s.log, domain.ErrNotFound)
		return false
	}
	return s.allow(w, r, perm, ns)
}

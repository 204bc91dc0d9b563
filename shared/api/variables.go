package api

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/variables"
)

// variableHandlers serve the variables of one scope: global, or a job's own ({id}).
type variableHandlers struct {
	s     *Server
	scope string
}

func (s *Server) variableHandlers(scope string) variableHandlers {
	return variableHandlers{s: s, scope: scope}
}

// allow checks perm where the variables live and returns the job id of the scope ("" when
// global). Global variables need perm for all namespaces; a job's need it in the job's
// namespace, and writing them needs job:write there too, since a variable changes what the job
// sends.
func (h variableHandlers) allow(w http.ResponseWriter, r *http.Request, perm domain.Permission) (string, bool) {
	if h.scope == domain.ScopeGlobal {
		return "", h.s.allow(w, r, perm, domain.AllNamespaces)
	}
	j, ok := h.s.allowJob(w, r, perm)
	if !ok {
		return "", false
	}
	if perm == domain.PermVariableWrite && !h.s.allow(w, r, domain.PermJobWrite, j.Namespace) {
		return "", false
	}
	return j.ID, true
}

func (h variableHandlers) list(w http.ResponseWriter, r *http.Request) {
	jobID, ok := h.allow(w, r, domain.PermVariableRead)
	if !ok {
		return
	}
	list, err := h.s.vars.List(r.Context(), h.scope, jobID)
	if err != nil {
		writeError(w, r, h.s.log, err)
		return
	}
	if list == nil {
		list = []*domain.Variable{}
	}
	writeJSON(w, http.StatusOK, page[*domain.Variable]{Items: list})
}

// variableRequest is the body of a new variable: its name beside what a PUT sets.
type variableRequest struct {
	Name string `json:"name"`
	variables.PutRequest
}

func (h variableHandlers) create(w http.ResponseWriter, r *http.Request) {
	jobID, ok := h.allow(w, r, domain.PermVariableWrite)
	if !ok {
		return
	}
	var in variableRequest
	if err := decodeBody(w, r, &in); err != nil {
		writeError(w, r, h.s.log, err)
		return
	}
	if _, err := h.s.vars.Get(r.Context(), h.scope, jobID, in.Name); err == nil {
		writeProblem(w, problem{Status: http.StatusConflict, Detail: "a variable of that name exists in this scope; PUT replaces it"})
		return
	} else if !errors.Is(err, domain.ErrNotFound) {
		writeError(w, r, h.s.log, err)
		return
	}
	h.write(w, r, jobID, in.Name, in.PutRequest)
}

func (h variableHandlers) get(w http.ResponseWriter, r *http.Request) {
	jobID, ok := h.allow(w, r, domain.PermVariableRead)
	if !ok {
		return
	}
	v, err := h.s.vars.Get(r.Context(), h.scope, jobID, chi.URLParam(r, "name"))
	if err != nil {
		writeError(w, r, h.s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (h variableHandlers) put(w http.ResponseWriter, r *http.Request) {
	jobID, ok := h.allow(w, r, domain.PermVariableWrite)
	if !ok {
		return
	}
	var in variables.PutRequest
	if err := decodeBody(w, r, &in); err != nil {
		writeError(w, r, h.s.log, err)
		return
	}
	h.write(w, r, jobID, chi.URLParam(r, "name"), in)
}

func (h variableHandlers) delete(w http.ResponseWriter, r *http.Request) {
	jobID, ok := h.allow(w, r, domain.PermVariableWrite)
	if !ok {
		return
	}
	if err := h.s.vars.Delete(r.Context(), h.scope, jobID, chi.URLParam(r, "name")); err != nil {
		writeError(w, r, h.s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h variableHandlers) write(w http.ResponseWriter, r *http.Request, jobID, name string, in variables.PutRequest) {
	v, created, err := h.s.vars.Put(r.Context(), h.scope, jobID, name, in)
	if err != nil {
		writeError(w, r, h.s.log, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, v)
}

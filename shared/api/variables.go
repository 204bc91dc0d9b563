package api

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/variables"
)

// variableRoutes serves the variables of one scope; jobID reads the job id of a request ("" for
// the global scope).
func (s *Server) variableRoutes(r chi.Router, scope string, jobID func(*http.Request) string) {
	r.Get("/", func(w http.ResponseWriter, req *http.Request) {
		list, err := s.vars.List(req.Context(), scope, jobID(req))
		if err != nil {
			writeError(w, req, s.log, err)
			return
		}
		if list == nil {
			list = []*domain.Variable{}
		}
		writeJSON(w, http.StatusOK, page[*domain.Variable]{Items: list})
	})
	r.Post("/", func(w http.ResponseWriter, req *http.Request) {
		var in struct {
			Name string `json:"name"`
			variables.PutRequest
		}
		if err := decodeBody(w, req, &in); err != nil {
			writeError(w, req, s.log, err)
			return
		}
		if _, err := s.vars.Get(req.Context(), scope, jobID(req), in.Name); err == nil {
			writeProblem(w, problem{Status: http.StatusConflict, Detail: "a variable of that name exists in this scope; PUT replaces it"})
			return
		} else if !errors.Is(err, domain.ErrNotFound) {
			writeError(w, req, s.log, err)
			return
		}
		s.putVariable(w, req, scope, jobID(req), in.Name, in.PutRequest)
	})
	r.Get("/{name}", func(w http.ResponseWriter, req *http.Request) {
		v, err := s.vars.Get(req.Context(), scope, jobID(req), chi.URLParam(req, "name"))
		if err != nil {
			writeError(w, req, s.log, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
	r.Put("/{name}", func(w http.ResponseWriter, req *http.Request) {
		var in variables.PutRequest
		if err := decodeBody(w, req, &in); err != nil {
			writeError(w, req, s.log, err)
			return
		}
		s.putVariable(w, req, scope, jobID(req), chi.URLParam(req, "name"), in)
	})
	r.Delete("/{name}", func(w http.ResponseWriter, req *http.Request) {
		if err := s.vars.Delete(req.Context(), scope, jobID(req), chi.URLParam(req, "name")); err != nil {
			writeError(w, req, s.log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *Server) putVariable(w http.ResponseWriter, req *http.Request, scope, jobID, name string, in variables.PutRequest) {
	v, created, err := s.vars.Put(req.Context(), scope, jobID, name, in)
	if err != nil {
		writeError(w, req, s.log, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, v)
}

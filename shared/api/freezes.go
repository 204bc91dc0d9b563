package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
)

// A freeze is made and lifted with job:enable — the permission that pauses jobs — in its
// namespace, or bound for all namespaces for a freeze of every namespace. It is read with
// job:read; one of every namespace by anyone who may read jobs somewhere, since it holds theirs.

// freezeRequest is a freeze as a client writes it. Its instants are read here, so that one that
// is not a time names its field.
type freezeRequest struct {
	Namespace string  `json:"namespace"`
	Reason    string  `json:"reason"`
	StartsAt  *string `json:"starts_at"`
	EndsAt    *string `json:"ends_at"`
}

func (in freezeRequest) toRequest() (jobs.FreezeRequest, error) {
	out := jobs.FreezeRequest{Namespace: in.Namespace, Reason: in.Reason}
	var v domain.ValidationError
	parse := func(field string, raw *string) *time.Time {
		if raw == nil {
			return nil
		}
		t, err := time.Parse(time.RFC3339Nano, *raw)
		if err != nil {
			v.Add(field, quoted(printable(*raw, 40))+` is not an RFC 3339 time such as "2026-12-31T17:00:00Z"`)
			return nil
		}
		return &t
	}
	out.StartsAt = parse("starts_at", in.StartsAt)
	out.EndsAt = parse("ends_at", in.EndsAt)
	return out, v.Err()
}

func (s *Server) createFreeze(w http.ResponseWriter, r *http.Request) {
	var body freezeRequest
	if err := decodeBody(w, r, &body); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	in, err := body.toRequest()
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if ns := in.Namespace; (ns == domain.AllNamespaces || domain.ValidNamespace(ns)) && !identityOf(r).Can(domain.PermJobEnable, ns) {
		where := "in namespace " + ns
		if ns == domain.AllNamespaces {
			where = "for all namespaces"
		}
		writeProblem(w, problem{Status: http.StatusForbidden, Detail: "missing permission job:enable " + where})
		return
	}
	f, err := s.jobs.CreateFreeze(r.Context(), s.store, in)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.Header().Set("Location", "/api/v1/freezes/"+f.ID)
	writeJSON(w, http.StatusCreated, f)
}

// listFreezes lists the freezes that hold the caller's namespaces, newest first: those not over
// yet, or every one with ended=true.
func (s *Server) listFreezes(w http.ResponseWriter, r *http.Request) {
	limit, err := parseLimit(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	ended := false
	if raw := r.URL.Query().Get("ended"); raw != "" {
		if ended, err = strconv.ParseBool(raw); err != nil {
			writeError(w, r, s.log, &domain.ValidationError{Fields: []domain.FieldError{{Field: "ended", Reason: "must be true or false"}}})
			return
		}
	}
	var namespaces []string
	if all, list := identityOf(r).Namespaces(domain.PermJobRead); !all {
		namespaces = append([]string{}, list...)
	}
	list, err := s.jobs.ListFreezes(r.Context(), s.store, namespaces, ended, limit)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if list == nil {
		list = []*domain.Freeze{}
	}
	writeJSON(w, http.StatusOK, page[*domain.Freeze]{Items: list})
}

// allowFreeze loads the freeze of the request's {id} and checks perm in its namespace.
func (s *Server) allowFreeze(w http.ResponseWriter, r *http.Request, perm domain.Permission) (*domain.Freeze, bool) {
	f, err := s.jobs.GetFreeze(r.Context(), s.store, chi.URLParam(r, "id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return nil, false
	}
	if f.Namespace == domain.AllNamespaces && perm == domain.PermJobRead {
		return f, true // it holds every namespace: the route already asked for job:read somewhere
	}
	return f, s.allow(w, r, perm, f.Namespace)
}

func (s *Server) getFreeze(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.allowFreeze(w, r, domain.PermJobRead); ok {
		writeJSON(w, http.StatusOK, f)
	}
}

// liftFreeze ends a freeze now; it stays listed (ended=true) as the record of what was frozen.
func (s *Server) liftFreeze(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.allowFreeze(w, r, domain.PermJobEnable); !ok {
		return
	}
	f, err := s.jobs.LiftFreeze(r.Context(), s.store, chi.URLParam(r, "id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

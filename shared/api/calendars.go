package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/schedule"
)

// A calendar is shared by the jobs of its namespace, or of every namespace ("*"). It is read with
// job:read and written with job:write in its namespace; one of every namespace is read by anyone
// who may read jobs somewhere, and written only with job:write bound for all namespaces, since
// an edit re-plans jobs everywhere (docs/calendars-and-freezes.md).

// calendarRequest is a calendar as a client writes it.
type calendarRequest struct {
	Name          string                `json:"name"`
	Namespace     string                `json:"namespace"`
	Description   string                `json:"description"`
	ExcludedDates []domain.CalendarDate `json:"excluded_dates"`
	Weekdays      []string              `json:"weekdays"`
}

func (in calendarRequest) toCalendar() *domain.Calendar {
	return &domain.Calendar{Name: in.Name, Namespace: in.Namespace, Description: in.Description,
		ExcludedDates: in.ExcludedDates, Weekdays: in.Weekdays}
}

// calendarResponse is a calendar, with how many jobs an edit re-planned.
type calendarResponse struct {
	*domain.Calendar
	ReplannedJobs *int `json:"replanned_jobs,omitempty"`
}

func writeCalendar(w http.ResponseWriter, status int, c *domain.Calendar, replanned *int) {
	w.Header().Set("ETag", etag(c.Version))
	writeJSON(w, status, calendarResponse{Calendar: c, ReplannedJobs: replanned})
}

// allowCalendar loads the calendar of the request's {name} and checks perm in its namespace: a
// calendar of another namespace the caller cannot see answers 404.
func (s *Server) allowCalendar(w http.ResponseWriter, r *http.Request, perm domain.Permission) (*domain.Calendar, bool) {
	c, err := s.jobs.GetCalendar(r.Context(), s.store, chi.URLParam(r, "name"))
	if err != nil {
		writeError(w, r, s.log, err)
		return nil, false
	}
	if c.Namespace == domain.AllNamespaces && perm == domain.PermJobRead {
		return c, true // shared with every namespace: the route already asked for job:read somewhere
	}
	return c, s.allow(w, r, perm, c.Namespace)
}

func (s *Server) createCalendar(w http.ResponseWriter, r *http.Request) {
	var in calendarRequest
	if err := decodeBody(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	// Creating in a namespace one cannot see reveals nothing, so it is a plain 403.
	if ns := in.Namespace; (ns == domain.AllNamespaces || domain.ValidNamespace(ns)) && !identityOf(r).Can(domain.PermJobWrite, ns) {
		where := "in namespace " + ns
		if ns == domain.AllNamespaces {
			where = "for all namespaces (a calendar of every namespace re-plans jobs everywhere)"
		}
		writeProblem(w, problem{Status: http.StatusForbidden, Detail: "missing permission job:write " + where})
		return
	}
	c := in.toCalendar()
	if err := s.jobs.CreateCalendar(r.Context(), s.store, c); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.Header().Set("Location", "/api/v1/calendars/"+c.Name)
	writeCalendar(w, http.StatusCreated, c, nil)
}

func (s *Server) listCalendars(w http.ResponseWriter, r *http.Request) {
	limit, err := parseLimit(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	after := r.URL.Query().Get("cursor")
	if after != "" && !schedule.ValidCalendarName(after) {
		writeError(w, r, s.log, badCursor)
		return
	}
	var namespaces []string
	if all, list := identityOf(r).Namespaces(domain.PermJobRead); !all {
		namespaces = append([]string{}, list...)
	}
	list, err := s.store.ListCalendars(r.Context(), namespaces, after, limit)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := page[*domain.Calendar]{Items: list}
	if out.Items == nil {
		out.Items = []*domain.Calendar{}
	}
	if len(list) == limit {
		out.NextCursor = list[len(list)-1].Name
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getCalendar(w http.ResponseWriter, r *http.Request) {
	if c, ok := s.allowCalendar(w, r, domain.PermJobRead); ok {
		writeCalendar(w, http.StatusOK, c, nil)
	}
}

// putCalendar replaces a calendar's definition and re-plans the jobs that name it, in one
// transaction. Like a job's edit it must send If-Match.
func (s *Server) putCalendar(w http.ResponseWriter, r *http.Request) {
	cur, ok := s.allowCalendar(w, r, domain.PermJobWrite)
	if !ok {
		return
	}
	ifVersion, ok := ifMatchVersion(w, r, "calendar", cur.Version)
	if !ok {
		return
	}
	var in calendarRequest
	if err := decodeBody(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if in.Name != "" && in.Name != cur.Name {
		writeError(w, r, s.log, &domain.ValidationError{Fields: []domain.FieldError{{Field: "name",
			Reason: "cannot be changed by an edit: jobs name the calendar by it"}}})
		return
	}
	c, jobs, err := s.jobs.UpdateCalendar(r.Context(), s.store, cur, in.toCalendar(), ifVersion)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	n := len(jobs)
	writeCalendar(w, http.StatusOK, c, &n)
}

// deleteCalendar deletes a calendar no job names; If-Match, when sent, must name its version.
func (s *Server) deleteCalendar(w http.ResponseWriter, r *http.Request) {
	cur, ok := s.allowCalendar(w, r, domain.PermJobWrite)
	if !ok {
		return
	}
	var ifVersion int64
	if r.Header.Get("If-Match") != "" {
		if ifVersion, ok = ifMatchVersion(w, r, "calendar", cur.Version); !ok {
			return
		}
	}
	if err := s.jobs.DeleteCalendar(r.Context(), s.store, cur.Name, ifVersion); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

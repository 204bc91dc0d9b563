package api

import (
	"maps"
	"net/http"
	"slices"

	"github.com/vecron/vecron/shared/domain"
)

// cloneRequest names the copy. The namespace defaults to the source's; a clone starts paused
// unless enabled says otherwise, so that it does not call the source's targets a second time
// before its owner has changed what they meant to change.
type cloneRequest struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Enabled   bool   `json:"enabled"`
}

// cloneJob creates a new job from another's definition: a new id, version 1 and no history. The
// source's own variables are not copied (they may hold secrets); the global ones it refers to
// apply to the clone as to any job of its namespace.
func (s *Server) cloneJob(w http.ResponseWriter, r *http.Request) {
	src, ok := s.allowJob(w, r, domain.PermJobRead)
	if !ok {
		return
	}
	var in cloneRequest
	if err := decodeBody(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	j := cloneOf(src)
	j.Name, j.Enabled = in.Name, in.Enabled
	if in.Namespace != "" {
		j.Namespace = in.Namespace
	}
	s.create(w, r, j)
}

// cloneOf is src's definition; what Create fills in or changes in place is copied, not shared.
func cloneOf(src *domain.Job) *domain.Job {
	j := &domain.Job{Namespace: src.Namespace, Description: src.Description, Tags: slices.Clone(src.Tags), Kind: src.Kind,
		Schedule: src.Schedule, Timezone: src.Timezone, Timeout: src.Timeout, MisfirePolicy: src.MisfirePolicy,
		MaxCatchup: src.MaxCatchup, StartingDeadline: src.StartingDeadline, ConcurrencyPolicy: src.ConcurrencyPolicy,
		Retry: src.Retry, Alert: src.Alert.Clone(), MissedAfter: src.MissedAfter}
	j.Retry.Backoff = slices.Clone(src.Retry.Backoff)
	if src.HTTP != nil {
		h := *src.HTTP
		h.Headers = maps.Clone(src.HTTP.Headers)
		j.HTTP = &h
	}
	if src.SQL != nil {
		q := *src.SQL
		q.Statements = slices.Clone(src.SQL.Statements)
		j.SQL = &q
	}
	return j
}

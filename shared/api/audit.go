package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
)

// listAudit answers the audit log, newest first, filtered by actor, action, object, namespace
// and time. A caller reads the rows of the namespaces where they hold audit:read; rows about no
// single namespace (users, sign-ins, global variables) need it for all namespaces.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var v domain.ValidationError
	limit, err := parseLimit(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	f := store.AuditFilter{ActorID: q.Get("actor"), Action: q.Get("action"), ObjectKind: q.Get("object_kind"),
		ObjectID: q.Get("object_id"), Limit: limit}
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if raw := q.Get(p.name); raw != "" {
			t, err := time.Parse(time.RFC3339Nano, raw)
			if err != nil {
				v.Add(p.name, "must be an RFC 3339 time such as 2026-12-01T00:00:00Z")
				continue
			}
			*p.dst = &t
		}
	}
	if c := q.Get("cursor"); c != "" {
		if f.Before, err = strconv.ParseInt(c, 10, 64); err != nil || f.Before < 1 {
			v.Add("cursor", "is not a cursor this API returned")
		}
	}
	id := identityOf(r)
	all, list := id.Namespaces(domain.PermAuditRead)
	if ns := q.Get("namespace"); ns != "" {
		if ns != domain.AllNamespaces && !domain.ValidNamespace(ns) {
			v.Add("namespace", "must be a namespace name, or * for rows about no single namespace")
		}
		if !id.Can(domain.PermAuditRead, ns) {
			list, all = nil, false
		} else {
			list, all = []string{ns}, false
		}
	}
	if !all {
		f.Namespaces = append([]string{}, list...)
	}
	if err := v.Err(); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	rows, err := s.store.ListAudit(r.Context(), f)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := page[*audit.Record]{Items: rows}
	if out.Items == nil {
		out.Items = []*audit.Record{}
	}
	if len(rows) == limit {
		out.NextCursor = strconv.FormatInt(rows[len(rows)-1].Seq, 10)
	}
	writeJSON(w, http.StatusOK, out)
}

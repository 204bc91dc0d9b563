package api

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
)

// MissedStore reads the watchdog's records (docs/missed-fires.md).
type MissedStore interface {
	MissedFires(ctx context.Context, jobID string, from, to time.Time, cursor *store.MissedCursor, limit int) ([]domain.MissedFire, error)
}

// listMissedFires serves GET /api/v1/jobs/{id}/missed: the fires of the job that were due and
// did not start within its grace, newest first. A job the caller may not read answers 404.
func (s *Server) listMissedFires(w http.ResponseWriter, r *http.Request) {
	j, ok := s.allowJob(w, r, domain.PermJobRead)
	if !ok {
		return
	}
	limit, err := parseLimit(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var v domain.ValidationError
	from, to := parseRangeParam(&v, r, "from"), parseRangeParam(&v, r, "to")
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		v.Add("to", "must be after from")
	}
	cursor, ok := decodeMissedCursor(r.URL.Query().Get("cursor"), j.ID)
	if !ok {
		v.Add("cursor", "is not a cursor this API returned")
	}
	if err := v.Err(); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	list, err := s.store.MissedFires(r.Context(), j.ID, from, to, cursor, limit)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	p := page[domain.MissedFire]{Items: list}
	if p.Items == nil {
		p.Items = []domain.MissedFire{}
	}
	if len(list) == limit {
		last := list[len(list)-1]
		p.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(last.ScheduledAt.UnixNano(), 10) + "_" + last.Key))
	}
	writeJSON(w, http.StatusOK, p)
}

// parseRangeParam reads the RFC 3339 instant of query parameter name; zero when absent.
func parseRangeParam(v *domain.ValidationError, r *http.Request, name string) time.Time {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		v.Add(name, fmt.Sprintf("%q is not an RFC 3339 instant such as 2026-12-01T00:00:00+07:00", printable(raw, 80)))
		return time.Time{}
	}
	return t.UTC()
}

// decodeMissedCursor reads a next_cursor of listMissedFires for job jobID; nil for none, ok
// false for anything this API did not make for that job.
func decodeMissedCursor(s, jobID string) (*store.MissedCursor, bool) {
	if s == "" {
		return nil, true
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	ns, key, found := strings.Cut(string(raw), "_")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !found || err != nil || !strings.HasPrefix(key, jobID+":") {
		return nil, false
	}
	return &store.MissedCursor{ScheduledAt: time.Unix(0, n).UTC(), Key: key}, true
}

package api

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/schedule"
)

// Preview limits.
const (
	previewCountDefault = 10
	previewCountMax     = 1000
)

type previewRequest struct {
	Schedule domain.Schedule `json:"schedule"`
	Timezone string          `json:"timezone"`
	// After is the instant to list fires after (default now).
	After *time.Time `json:"after"`
	Count int        `json:"count"`
	// Seed is the job id that jitter derives from; without it jitter is not applied.
	Seed string `json:"seed"`
}

type previewFire struct {
	At    time.Time       `json:"at"`
	Local string          `json:"local"`
	Notes []schedule.Note `json:"notes,omitempty"`
}

type previewResponse struct {
	Timezone string        `json:"timezone"`
	Fires    []previewFire `json:"fires"`
}

// preview answers POST /api/v1/schedules/preview with the next fires of a schedule: each fire's
// UTC instant, its local time, and notes where a DST transition or an excluded date changed it.
func (s *Server) preview(w http.ResponseWriter, r *http.Request) {
	var in previewRequest
	if err := decodeBody(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var v domain.ValidationError
	if in.Count == 0 {
		in.Count = previewCountDefault
	}
	if in.Count < 1 || in.Count > previewCountMax {
		v.Add("count", "must be from 1 to 1000")
	}
	sched, err := schedule.Parse(in.Schedule, in.Timezone)
	if verr, ok := err.(*domain.ValidationError); ok {
		v.Fields = append(v.Fields, verr.Fields...)
	}
	// Calendars the caller may read apply, with their labels in the notes.
	all, readable := identityOf(r).Namespaces(domain.PermJobRead)
	rules, err := s.jobs.PreviewCalendars(r.Context(), in.Schedule.Calendars, all, readable)
	if verr, ok := err.(*domain.ValidationError); ok {
		v.Fields = append(v.Fields, verr.Fields...)
	} else if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if err := v.Err(); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if sched, err = sched.WithCalendars(rules); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if in.Seed != "" {
		sched = sched.WithSeed(in.Seed)
	}
	after := s.now()
	if in.After != nil {
		after = *in.After
	}
	out := previewResponse{Timezone: sched.Location().String(), Fires: []previewFire{}}
	for _, f := range sched.Preview(after, in.Count) {
		out.Fires = append(out.Fires, previewFire{At: f.At.UTC(), Local: f.Local.Format(time.RFC3339), Notes: f.Notes})
	}
	writeJSON(w, http.StatusOK, out)
}

// backfill answers POST /api/v1/jobs/{id}/backfill: 200 with the fires on a dry run, else 202
// with what was queued.
func (s *Server) backfill(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.allowJob(w, r, domain.PermJobExecute); !ok {
		return
	}
	var in jobs.BackfillRequest
	if err := decodeBody(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	res, err := s.jobs.Backfill(r.Context(), s.store, chi.URLParam(r, "id"), in)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	status := http.StatusAccepted
	if res.DryRun {
		status = http.StatusOK
	}
	writeJSON(w, status, res)
}

package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
)

// maxApplyBody bounds an apply's body: a thousand jobs of a usual size, not a thousand of the
// largest (a job's body alone may take 256 KiB); more goes in several applies.
const maxApplyBody = 8 << 20

// applyRequest is the body of POST /api/v1/jobs/apply: the jobs as an export writes them.
type applyRequest struct {
	Jobs       []json.RawMessage `json:"jobs"`
	Namespaces []string          `json:"namespaces"`
	Prune      bool              `json:"prune"`
	DryRun     bool              `json:"dry_run"`
}

// applyDocument is applyRequest as a client writes it: each item of jobs is read as a
// jobRequest, one by one so that an error names its item (parseApply).
type applyDocument struct {
	Jobs       []jobRequest `json:"jobs"`
	Namespaces []string     `json:"namespaces,omitempty"`
	Prune      bool         `json:"prune"`
	DryRun     bool         `json:"dry_run"`
}

// tooLarge is a request over a size limit: 413, naming what is too large.
type tooLarge struct{ field, reason string }

func (e *tooLarge) Error() string { return e.field + ": " + e.reason }

// parseApply reads an apply's body, JSON or (asYAML) YAML. Items are decoded one by one, so that
// an error names the item: "jobs[3].timeout". It returns a *domain.ValidationError or a
// *tooLarge.
func parseApply(body []byte, asYAML bool) (jobs.ApplyRequest, bool, error) {
	if asYAML {
		var err error
		if body, err = yamlToJSON(body); err != nil {
			return jobs.ApplyRequest{}, false, err
		}
	}
	var in applyRequest
	if err := decodeJSON(body, &in); err != nil {
		var verr *domain.ValidationError
		if errors.As(err, &verr) {
			for i := range verr.Fields {
				verr.Fields[i].Field = cmpOr(verr.Fields[i].Field, "body") // a key "" names no field
			}
		}
		return jobs.ApplyRequest{}, false, err
	}
	if in.Jobs == nil {
		return jobs.ApplyRequest{}, false, &domain.ValidationError{Fields: []domain.FieldError{{Field: "jobs",
			Reason: `is required: the list of jobs, as GET /api/v1/jobs/export writes it (an empty list with "prune" empties the namespaces named)`}}}
	}
	if len(in.Jobs) > jobs.MaxApplyItems {
		return jobs.ApplyRequest{}, false, &tooLarge{field: "jobs", reason: fmt.Sprintf("lists %d jobs; an apply takes at most %d, so split it", len(in.Jobs), jobs.MaxApplyItems)}
	}
	req := jobs.ApplyRequest{Namespaces: in.Namespaces, Prune: in.Prune, Items: make([]jobs.ApplyItem, len(in.Jobs))}
	var v domain.ValidationError
	for i, raw := range in.Jobs {
		var item jobRequest
		err := decodeJSON(raw, &item)
		var verr *domain.ValidationError
		switch {
		case errors.As(err, &verr):
			for _, f := range verr.Fields {
				v.Add(itemPath(i, f.Field), f.Reason)
			}
			continue
		case err != nil:
			return jobs.ApplyRequest{}, false, err
		}
		req.Items[i] = jobs.ApplyItem{Job: item.toJob(), KeepEnabled: item.Enabled == nil}
	}
	return req, in.DryRun, v.Err()
}

// itemPath is the path of field in item i; "body", the item's own, is the item.
func itemPath(i int, field string) string {
	at := "jobs[" + strconv.Itoa(i) + "]"
	if field == "body" || field == "" {
		return at
	}
	return at + "." + field
}

// planItem is one job of a plan as the API shows it.
type planItem struct {
	Namespace string             `json:"namespace"`
	Name      string             `json:"name"`
	Action    jobs.Action        `json:"action"`
	Diff      []jobs.FieldChange `json:"diff,omitempty"`
	// ID and Version are the job's once applied (for a delete, its last).
	ID      string `json:"id,omitempty"`
	Version int64  `json:"version,omitempty"`
	// ChangeID names the pending change the action became in a namespace that requires four
	// eyes: it takes effect when another user approves it.
	ChangeID string `json:"change_id,omitempty"`
}

// applyResponse is what an apply answers: its plan, made or (dry_run) not, and the pending
// changes of the namespaces that require four eyes.
type applyResponse struct {
	DryRun  bool             `json:"dry_run"`
	Plan    []planItem       `json:"plan"`
	Changes []*domain.Change `json:"changes,omitempty"`
}

// applyJobs serves POST /api/v1/jobs/apply: it makes the jobs of the namespaces the request
// touches be as it lists them, in one transaction (docs/jobs-as-code.md).
func (s *Server) applyJobs(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxApplyBody))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		s.applyError(w, r, &tooLarge{field: "body", reason: fmt.Sprintf("is larger than %d bytes; split the apply by namespace", maxErr.Limit)})
		return
	case err != nil:
		writeError(w, r, s.log, &domain.ValidationError{Fields: []domain.FieldError{{Field: "body", Reason: err.Error()}}})
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	req, dryRun, err := parseApply(body, mt == mediaYAML)
	if err != nil {
		s.applyError(w, r, err)
		return
	}
	batch, err := jobs.CheckApply(req)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if !s.mayApply(w, r, batch) {
		return
	}
	plan, err := s.jobs.Plan(r.Context(), batch)
	if err == nil && !dryRun {
		plan, err = s.jobs.Apply(r.Context(), plan, jobs.ApplyAs{Changes: s.store, UserID: identityOf(r).UserID})
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := applyResponse{DryRun: dryRun, Plan: make([]planItem, len(plan))}
	for i, p := range plan {
		out.Plan[i] = planItem{Namespace: p.Namespace, Name: p.Name, Action: p.Action, Diff: p.Diff}
		if p.Job != nil && !dryRun {
			out.Plan[i].ID, out.Plan[i].Version = p.Job.ID, p.Job.Version
		}
		if p.Change != nil {
			out.Plan[i].ChangeID, out.Changes = p.Change.ID, append(out.Changes, p.Change)
		}
	}
	status := http.StatusOK
	if len(out.Changes) > 0 {
		// Some of it waits for another user's approval.
		status = http.StatusAccepted
	}
	writeJSON(w, status, out)
}

// mayApply checks the caller's rights in every namespace the apply touches, before the apply
// reads any of them: job:write, and job:delete to prune. A namespace the caller cannot see
// answers 404 whatever else is wrong, so that the answer tells nothing of it.
func (s *Server) mayApply(w http.ResponseWriter, r *http.Request, b *jobs.Batch) bool {
	id := identityOf(r)
	for _, ns := range b.Namespaces() {
		if !id.Sees(ns) {
			writeError(w, r, s.log, domain.ErrNotFound)
			return false
		}
	}
	for _, ns := range b.Namespaces() {
		if !s.allow(w, r, domain.PermJobWrite, ns) {
			return false
		}
	}
	if !b.Prune() {
		return true
	}
	for _, ns := range b.Namespaces() {
		if !s.allow(w, r, domain.PermJobDelete, ns) {
			return false
		}
	}
	return true
}

// applyError answers a request the apply could not read: 413 for one too large, else as
// writeError does.
func (s *Server) applyError(w http.ResponseWriter, r *http.Request, err error) {
	var big *tooLarge
	if errors.As(err, &big) {
		writeProblem(w, problem{Status: http.StatusRequestEntityTooLarge, Detail: big.Error(),
			Errors: []domain.FieldError{{Field: big.field, Reason: big.reason}}})
		return
	}
	writeError(w, r, s.log, err)
}

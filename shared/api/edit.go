package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
)

// A job's version is its entity tag: every change bumps it, so a client that sends back the tag
// it read (If-Match) changes only the version it saw, and a concurrent edit is refused with 412
// instead of being overwritten.

// etag is the entity tag of version v.
func etag(v int64) string { return `"` + strconv.FormatInt(v, 10) + `"` }

// writeJob answers with j and its entity tag.
func writeJob(w http.ResponseWriter, status int, j *domain.Job) {
	w.Header().Set("ETag", etag(j.Version))
	writeJSON(w, status, j)
}

// ifMatch returns the version a conditional write names in If-Match: 0 for "*" (whatever
// version is current). It answers 428 when the header is missing, 412 when it names no
// version of cur's (a weak or foreign tag never matches), 400 when it is not an entity tag.
func ifMatch(w http.ResponseWriter, r *http.Request, cur *domain.Job) (int64, bool) {
	return ifMatchVersion(w, r, "job", cur.Version)
}

// ifMatchVersion is ifMatch for any object (what: "job", "calendar") at version current.
func ifMatchVersion(w http.ResponseWriter, r *http.Request, what string, current int64) (int64, bool) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" {
		writeProblem(w, problem{Status: http.StatusPreconditionRequired,
			Detail: "an edit must send If-Match with the " + what + "'s ETag (its version, as GET returned it: " + etag(current) + "), so that it cannot overwrite a change it has not seen"})
		return 0, false
	}
	if v == "*" {
		return 0, true // any version: the edit overwrites whatever is current
	}
	for tag := range strings.SplitSeq(v, ",") {
		tag = strings.TrimSpace(tag)
		if strings.HasPrefix(tag, "W/") {
			continue // If-Match compares strongly: a weak tag matches nothing.
		}
		unq, ok := strings.CutPrefix(tag, `"`)
		if unq, ok2 := strings.CutSuffix(unq, `"`); ok && ok2 && len(unq) > 0 {
			if n, err := strconv.ParseInt(unq, 10, 64); err == nil && n == current {
				return n, true
			}
			continue // a tag of another version, or no version of ours: no match
		}
		writeProblem(w, problem{Status: http.StatusBadRequest, Title: "Invalid input",
			Detail: "If-Match: " + quoted(tag) + " is not an entity tag; send the " + what + "'s ETag as GET returned it, such as " + etag(current),
			Errors: []domain.FieldError{{Field: "If-Match", Reason: "is not an entity tag such as " + etag(current)}}})
		return 0, false
	}
	w.Header().Set("ETag", etag(current))
	writeProblem(w, problem{Status: http.StatusPreconditionFailed,
		Detail: "the " + what + " changed since it was read: it is at version " + strconv.FormatInt(current, 10) +
			" now; read it again and make your change on that version (If-Match: " + etag(current) + ")"})
	return 0, false
}

// requestOf is cur as a client writes it: what PATCH merges into, and what a PUT of an unchanged
// job would send.
func requestOf(cur *domain.Job) jobRequest {
	enabled := cur.Enabled
	return jobRequest{
		Name: cur.Name, Namespace: cur.Namespace, Description: cur.Description, Tags: cur.Tags, Kind: cur.Kind,
		HTTP: cur.HTTP, SQL: cur.SQL, Schedule: cur.Schedule, Timezone: cur.Timezone, Enabled: &enabled,
		Timeout: cur.Timeout, MisfirePolicy: cur.MisfirePolicy, MaxCatchup: cur.MaxCatchup,
		StartingDeadline: cur.StartingDeadline, ConcurrencyPolicy: cur.ConcurrencyPolicy, Retry: cur.Retry,
		MissedAfter: cur.MissedAfter, Triggers: domain.CloneTriggers(cur.Triggers), Chains: cur.Chains.Clone(), Alert: cur.Alert.Clone(),
	}
}

// editable returns the job an edit is for and the version its If-Match names, or answers why
// the caller may not edit it.
func (s *Server) editable(w http.ResponseWriter, r *http.Request) (*domain.Job, int64, bool) {
	cur, ok := s.allowJob(w, r, domain.PermJobWrite)
	if !ok {
		return nil, 0, false
	}
	v, ok := ifMatch(w, r, cur)
	return cur, v, ok
}

// putJob replaces a job's whole definition. Left out, enabled keeps the job's state, and
// namespace and kind keep theirs (an edit cannot change them).
func (s *Server) putJob(w http.ResponseWriter, r *http.Request) {
	cur, ifVersion, ok := s.editable(w, r)
	if !ok {
		return
	}
	var in jobRequest
	if err := decodeBody(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if in.Enabled == nil {
		in.Enabled = &cur.Enabled
	}
	s.edit(w, r, cur, in, ifVersion)
}

// patchJob applies a JSON merge patch (RFC 7396) to a job's definition: the fields it names are
// set, those it sets to null take their defaults as on create, the rest are kept.
func (s *Server) patchJob(w http.ResponseWriter, r *http.Request) {
	cur, ifVersion, ok := s.editable(w, r)
	if !ok {
		return
	}
	patch, err := readBody(w, r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if t := bytes.TrimSpace(patch); len(t) == 0 || t[0] != '{' || !json.Valid(t) {
		writeError(w, r, s.log, badPatch(errors.New("it is not a JSON object")))
		return
	}
	if field := duplicateKey(patch); field != "" {
		writeError(w, r, s.log, &domain.ValidationError{Fields: []domain.FieldError{{Field: field, Reason: "appears twice; give each field once"}}})
		return
	}
	doc, err := json.Marshal(requestOf(cur))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	merged, err := jsonpatch.MergePatch(doc, patch)
	if err != nil {
		writeError(w, r, s.log, badPatch(err))
		return
	}
	var in jobRequest
	if err := decodeJSON(merged, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.edit(w, r, cur, in, ifVersion)
}

// badPatch explains a body that is not a JSON merge patch of a job.
func badPatch(err error) error {
	return &domain.ValidationError{Fields: []domain.FieldError{{Field: "body",
		Reason: "must be a JSON object that merges into the job (RFC 7396 merge patch): " + err.Error()}}}
}

func (s *Server) edit(w http.ResponseWriter, r *http.Request, cur *domain.Job, in jobRequest, ifVersion int64) {
	if s.proposed(w, r, cur.Namespace, jobs.Proposal{Action: domain.ChangeUpdate, Job: in.toJob(), Current: cur, IfVersion: ifVersion}) {
		return
	}
	j, err := s.jobs.Update(r.Context(), cur, in.toJob(), ifVersion)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJob(w, http.StatusOK, j)
}

package api

import (
	"context"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/identity"
	"github.com/vecron/vecron/shared/store"
)

// SessionStore is what the API reads and ends of the dashboard's sessions; *store.Store is one.
type SessionStore interface {
	ListDashboardSessions(ctx context.Context, f domain.SessionFilter, now time.Time) ([]*domain.SessionInfo, error)
	EndDashboardSession(ctx context.Context, id string, owner store.SessionOwner, now time.Time) (*domain.SessionInfo, error)
	EndDashboardSessions(ctx context.Context, owner store.SessionOwner, now time.Time) ([]*domain.SessionInfo, error)
}

// subjectMax bounds an identity provider's subject: OpenID Connect says at most 255 ASCII
// characters.
const subjectMax = 255

// validSubject reports whether s may be an identity provider's subject.
func validSubject(s string) bool {
	return s != "" && len(s) <= subjectMax && !strings.ContainsFunc(s, unicode.IsControl)
}

// endSessionsRequest names whose sessions to end: a database user or an identity provider's
// subject, exactly one.
type endSessionsRequest struct {
	UserID  string `json:"user_id"`
	Subject string `json:"subject"`
}

// endedSessions is the answer of an end of sessions: those it ended.
type endedSessions struct {
	Ended    int                   `json:"ended"`
	Sessions []*domain.SessionInfo `json:"sessions"`
}

// listSessions lists the dashboard sessions valid now, everyone's or those of one user
// (user_id) or one identity provider's subject (subject), newest first.
func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) {
	if !s.allowUsers(w, r) {
		return
	}
	q := r.URL.Query()
	f := domain.SessionFilter{UserID: q.Get("user_id"), Subject: q.Get("subject"), Mode: q.Get("mode")}
	var v domain.ValidationError
	if f.UserID != "" && uuid.Validate(f.UserID) != nil {
		v.Add("user_id", "is not a user id")
	}
	switch {
	case q.Has("subject") && !validSubject(f.Subject):
		v.Add("subject", "must be 1 to 255 characters, none of them control characters")
	case f.Subject != "" && f.UserID != "":
		v.Add("subject", "cannot be combined with user_id: a session is either a database user's or an identity provider's")
	}
	if f.Mode != "" && f.Mode != identity.ModeDatabase && f.Mode != identity.ModeOIDC {
		v.Add("mode", "must be database or oidc")
	}
	limit, err := parseLimit(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	at, after, ok := decodeCursor(q.Get("cursor"))
	if !ok || (after != "" && uuid.Validate(after) != nil) {
		v.Add("cursor", "is not a cursor this list returned")
	}
	if err := v.Err(); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	f.AfterCreated, f.AfterID, f.Limit = at, after, limit
	list, err := s.store.ListDashboardSessions(r.Context(), f, s.now().UTC())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := page[*domain.SessionInfo]{Items: list}
	if out.Items == nil {
		out.Items = []*domain.SessionInfo{}
	}
	if len(list) == limit {
		last := list[len(list)-1]
		out.NextCursor = encodeCursor(last.CreatedAt, last.ID)
	}
	writeJSON(w, http.StatusOK, out)
}

// endSession ends any dashboard session: its next request goes to the login page.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	if s.allowUsers(w, r) {
		s.endOne(w, r, store.SessionOwner{})
	}
}

// endSessions ends every dashboard session of a database user or of an identity provider's
// subject.
func (s *Server) endSessions(w http.ResponseWriter, r *http.Request) {
	if !s.allowUsers(w, r) {
		return
	}
	var in endSessionsRequest
	if err := decodeBody(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var v domain.ValidationError
	switch {
	case in.UserID == "" && in.Subject == "":
		v.Add("user_id", "is required, or subject: whose sessions to end")
	case in.UserID != "" && in.Subject != "":
		v.Add("subject", "cannot be combined with user_id: name a database user or an identity provider's subject")
	case in.UserID != "" && uuid.Validate(in.UserID) != nil:
		v.Add("user_id", "is not a user id")
	case in.UserID == "" && !validSubject(in.Subject):
		v.Add("subject", "must be 1 to 255 characters, none of them control characters")
	}
	if err := v.Err(); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if in.UserID != "" {
		// A user id that names nobody is a mistake worth saying; a subject cannot be checked,
		// since the identity provider's users are not rows here.
		if _, err := s.store.GetUser(r.Context(), in.UserID); err != nil {
			writeError(w, r, s.log, err)
			return
		}
	}
	ended, err := s.store.EndDashboardSessions(r.Context(), store.SessionOwner{UserID: in.UserID, Subject: in.Subject}, s.now().UTC())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if ended == nil {
		ended = []*domain.SessionInfo{}
	}
	writeJSON(w, http.StatusOK, endedSessions{Ended: len(ended), Sessions: ended})
}

// ownSessions lists the caller's own dashboard sessions, valid now, newest first: a database
// user's by their id, an identity provider's user's by their subject.
func (s *Server) ownSessions(w http.ResponseWriter, r *http.Request) {
	owner, ok := s.sessionOwner(w, r)
	if !ok {
		return
	}
	list, err := s.store.ListDashboardSessions(r.Context(), domain.SessionFilter{UserID: owner.UserID, Subject: owner.Subject, Limit: limitMax},
		s.now().UTC())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if list == nil {
		list = []*domain.SessionInfo{}
	}
	writeJSON(w, http.StatusOK, page[*domain.SessionInfo]{Items: list})
}

// endOwnSession ends one of the caller's own dashboard sessions; anyone else's is a 404, as
// one that does not exist.
func (s *Server) endOwnSession(w http.ResponseWriter, r *http.Request) {
	if owner, ok := s.sessionOwner(w, r); ok {
		s.endOne(w, r, owner)
	}
}

// endOne ends the session of the request's {id} when it is owner's (anyone's for the zero
// owner).
func (s *Server) endOne(w http.ResponseWriter, r *http.Request, owner store.SessionOwner) {
	id := chi.URLParam(r, "id")
	if uuid.Validate(id) != nil {
		writeError(w, r, s.log, domain.ErrNotFound)
		return
	}
	si, err := s.store.EndDashboardSession(r.Context(), id, owner, s.now().UTC())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, si)
}

// sessionOwner returns whose sessions the caller's own are. A token is refused, as on the
// routes of tokens: a narrow token of a pipeline must not end its owner's sign-ins. A caller
// that has no dashboard sessions (a token-less identity of neither kind) owns none: an empty
// owner would mean everyone's, so it is answered 404 here.
func (s *Server) sessionOwner(w http.ResponseWriter, r *http.Request) (store.SessionOwner, bool) {
	id := identityOf(r)
	if !s.userOnly(w, id) {
		return store.SessionOwner{}, false
	}
	switch {
	case id.UserID != "":
		return store.SessionOwner{UserID: id.UserID}, true
	case id.Mode == identity.ModeOIDC && strings.HasPrefix(id.Subject, "oidc:") && len(id.Subject) > len("oidc:"):
		return store.SessionOwner{Subject: strings.TrimPrefix(id.Subject, "oidc:")}, true
	}
	writeError(w, r, s.log, domain.ErrNotFound)
	return store.SessionOwner{}, false
}

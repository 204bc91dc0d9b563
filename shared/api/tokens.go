package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
)

// createdToken is a new API token as answered once, the secret included.
type createdToken struct {
	*domain.APIToken
	Token string `json:"token"`
}

// tokenRequest is the body of a new API token. Namespace defaults to every namespace (*).
type tokenRequest struct {
	Name      string              `json:"name"`
	Scopes    []domain.Permission `json:"scopes"`
	Namespace string              `json:"namespace"`
	ExpiresAt *time.Time          `json:"expires_at"`
}

// createToken issues an API token for the signed-in user, with scopes they hold in the
// namespace. Tokens cannot issue tokens: a leaked one must not breed.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	id := identityOf(r)
	var in tokenRequest
	if err := decodeBody(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	switch {
	case id.Kind != rbac.KindUser:
		writeProblem(w, problem{Status: http.StatusForbidden, Detail: "API tokens are created by a signed-in user, not by another token"})
		return
	case id.UserID == "":
		// A token is re-checked against its owner's rights on every use, and an identity
		// provider's user has rights only while their token says so: machines get a database
		// user of their own (a service account) instead.
		writeProblem(w, problem{Status: http.StatusForbidden, Detail: "API tokens belong to database users; ask an admin for a service account"})
		return
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	in.Name = strings.TrimSpace(in.Name)
	if in.Namespace == "" {
		in.Namespace = domain.AllNamespaces
	}
	var v domain.ValidationError
	if in.Name == "" || len(in.Name) > 200 {
		v.Add("name", "is required, at most 200 bytes")
	}
	if len(in.Scopes) == 0 {
		v.Add("scopes", "must name at least one permission")
	}
	for _, p := range in.Scopes {
		if !rbac.Known(p) {
			v.Add("scopes", string(p)+" is not a permission")
		}
	}
	if in.Namespace != domain.AllNamespaces && !domain.ValidNamespace(in.Namespace) {
		v.Add("namespace", "must be a namespace name, or * (the default) for every namespace the scopes hold in")
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		v.Add("expires_at", "must be in the future")
	}
	if err := v.Err(); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	// A token for every namespace carries each scope wherever its creator holds it; a token for
	// one namespace may only carry what its creator holds there.
	if in.Namespace != domain.AllNamespaces {
		if missing := id.Exceeds(in.Namespace, in.Scopes); len(missing) > 0 {
			writeProblem(w, problem{Status: http.StatusForbidden, Detail: "scopes exceed your permissions in namespace " + in.Namespace + ": " + joinPerms(missing)})
			return
		}
	} else {
		var missing []domain.Permission
		for _, p := range in.Scopes {
			if !id.CanAnywhere(p) {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			writeProblem(w, problem{Status: http.StatusForbidden, Detail: "scopes exceed your permissions: " + joinPerms(missing)})
			return
		}
	}
	token, hash, err := auth.NewOpaqueToken(auth.APITokenPrefix)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var exp *time.Time
	if in.ExpiresAt != nil {
		e := in.ExpiresAt.UTC().Truncate(time.Microsecond)
		exp = &e
	}
	t := &domain.APIToken{ID: uuid.NewString(), UserID: id.UserID, Name: in.Name, Scopes: in.Scopes, Namespace: in.Namespace,
		ExpiresAt: exp, CreatedAt: now, Hash: hash}
	if err := s.store.CreateAPIToken(r.Context(), t); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.Header().Set("Location", "/api/v1/tokens/"+t.ID)
	writeJSON(w, http.StatusCreated, createdToken{APIToken: t, Token: token})
}

func joinPerms(ps []domain.Permission) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return strings.Join(out, ", ")
}

// listTokens lists the caller's tokens, or another user's (?user_id=) or everyone's
// (?user_id=*) for a user admin.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	id := identityOf(r)
	if !s.userOnly(w, id) {
		return
	}
	userID := r.URL.Query().Get("user_id")
	switch {
	case userID == "" || userID == id.UserID:
		userID = id.UserID
		if userID == "" {
			writeJSON(w, http.StatusOK, page[*domain.APIToken]{Items: []*domain.APIToken{}})
			return
		}
	case !s.allow(w, r, domain.PermUserAdmin, domain.AllNamespaces):
		return
	case userID == "*":
		userID = ""
	case uuid.Validate(userID) != nil:
		writeError(w, r, s.log, &domain.ValidationError{Fields: []domain.FieldError{{Field: "user_id", Reason: "is not a user id (or * for everyone)"}}})
		return
	}
	list, err := s.store.ListAPITokens(r.Context(), userID)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if list == nil {
		list = []*domain.APIToken{}
	}
	writeJSON(w, http.StatusOK, page[*domain.APIToken]{Items: list})
}

// revokeToken revokes one of the caller's tokens, or anyone's for a user admin; another user's
// token is a 404 to everyone else.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	id := identityOf(r)
	if !s.userOnly(w, id) {
		return
	}
	tid := chi.URLParam(r, "id")
	if uuid.Validate(tid) != nil {
		writeError(w, r, s.log, domain.ErrNotFound)
		return
	}
	t, err := s.store.GetAPIToken(r.Context(), tid)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if t.UserID != id.UserID && !id.Can(domain.PermUserAdmin, domain.AllNamespaces) {
		writeError(w, r, s.log, domain.ErrNotFound)
		return
	}
	t, err = s.store.RevokeAPIToken(r.Context(), tid, s.now().UTC())
	if errors.Is(err, domain.ErrNotFound) || err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// userOnly refuses API tokens on the routes that manage tokens: a narrow token of a pipeline
// must not list or revoke its owner's other tokens.
func (s *Server) userOnly(w http.ResponseWriter, id *rbac.Identity) bool {
	if id.Kind == rbac.KindToken {
		writeProblem(w, problem{Status: http.StatusForbidden, Detail: "API tokens are managed by a signed-in user, not by another token"})
		return false
	}
	return true
}

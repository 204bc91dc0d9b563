package api

import (
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/identity"
	"github.com/vecron/vecron/shared/rbac"
)

// maxCredential bounds what a login may send: a longer password would only make the hash
// expensive.
const maxCredential = 256

// loginRequest is the body of a sign-in with a password.
type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var in loginRequest
	if err := decodeBody(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var v domain.ValidationError
	if in.Username == "" || len(in.Username) > maxCredential {
		v.Add("username", "is required, at most 256 bytes")
	}
	if in.Password == "" || len(in.Password) > maxCredential {
		v.Add("password", "is required, at most 256 bytes")
	}
	if err := v.Err(); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	tokens, _, err := s.ident.Login(r.Context(), in.Username, in.Password, s.ident.ClientAddr(r))
	if err != nil {
		s.writeAuthError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tokens)
}

// writeAuthError answers for a failed sign-in.
func (s *Server) writeAuthError(w http.ResponseWriter, r *http.Request, err error) {
	var limited *identity.RateLimitedError
	switch {
	case errors.Is(err, identity.ErrBadCredentials):
		writeProblem(w, problem{Status: http.StatusUnauthorized, Detail: "wrong username or password"})
	case errors.Is(err, identity.ErrUnauthenticated):
		writeProblem(w, problem{Status: http.StatusUnauthorized, Detail: "the refresh token is not valid: expired, revoked or already used; sign in again"})
	case errors.As(err, &limited):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(limited.RetryAfter.Seconds()))))
		writeProblem(w, problem{Status: http.StatusTooManyRequests, Detail: limited.Error()})
	case errors.Is(err, identity.ErrModeOff):
		writeProblem(w, problem{Status: http.StatusNotFound, Detail: "sign-in with a password is not enabled (auth.modes); use the identity provider"})
	default:
		writeError(w, r, s.log, err)
	}
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

func (s *Server) readRefresh(w http.ResponseWriter, r *http.Request) (string, bool) {
	var in refreshRequest
	if err := decodeBody(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return "", false
	}
	if in.RefreshToken == "" || len(in.RefreshToken) > maxCredential {
		writeError(w, r, s.log, &domain.ValidationError{Fields: []domain.FieldError{{Field: "refresh_token", Reason: "is required"}}})
		return "", false
	}
	return in.RefreshToken, true
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	token, ok := s.readRefresh(w, r)
	if !ok {
		return
	}
	tokens, err := s.ident.Refresh(r.Context(), token)
	if err != nil {
		s.writeAuthError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tokens)
}

// logout revokes the session of a refresh token. The refresh token is the credential: whoever
// holds it may end its session, and the answer is the same whether it existed or not.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	token, ok := s.readRefresh(w, r)
	if !ok {
		return
	}
	if err := s.ident.Logout(r.Context(), token); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// meResponse is who the caller is: their bindings, and their permissions by namespace.
type meResponse struct {
	Subject     string                         `json:"subject"`
	Name        string                         `json:"name"`
	Kind        rbac.Kind                      `json:"kind"`
	Mode        string                         `json:"mode"`
	UserID      string                         `json:"user_id,omitempty"`
	Groups      []string                       `json:"groups,omitempty"`
	Bindings    []*domain.RoleBinding          `json:"bindings"`
	Permissions map[string][]domain.Permission `json:"permissions"`
}

// me answers who the caller is and what they may do where.
func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	id := identityOf(r)
	out := meResponse{Subject: id.Subject, Name: id.Name, Kind: id.Kind, Mode: id.Mode, UserID: id.UserID, Groups: id.Groups,
		Bindings: []*domain.RoleBinding{}, Permissions: id.Grants()}
	if id.Kind == rbac.KindUser && id.UserID != "" {
		list, err := s.store.ListBindings(r.Context(), id.UserID)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if list != nil {
			out.Bindings = list
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// passwordChange is the body of a change of one's own password.
type passwordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// changeOwnPassword lets a database user change their password, given the current one. Their
// other sessions end (refresh tokens revoked).
func (s *Server) changeOwnPassword(w http.ResponseWriter, r *http.Request) {
	id := identityOf(r)
	var in passwordChange
	if err := decodeBody(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if id.Kind != rbac.KindUser || id.Mode != identity.ModeDatabase {
		writeProblem(w, problem{Status: http.StatusForbidden, Detail: "only a user signed in with a password can change it"})
		return
	}
	if len(in.CurrentPassword) > maxCredential || len(in.NewPassword) > maxCredential {
		writeError(w, r, s.log, &domain.ValidationError{Fields: []domain.FieldError{{Field: "new_password", Reason: "must be at most 256 bytes"}}})
		return
	}
	err := s.ident.ChangePassword(r.Context(), id.UserID, in.CurrentPassword, in.NewPassword, s.ident.ClientAddr(r))
	if errors.Is(err, identity.ErrWrongPassword) {
		writeError(w, r, s.log, &domain.ValidationError{Fields: []domain.FieldError{{Field: "current_password", Reason: "is not your current password"}}})
		return
	}
	if err != nil {
		s.writeAuthError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// jwks publishes the public keys of the API's access tokens, for services that verify them.
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	signer := s.ident.Signer()
	if signer == nil {
		writeError(w, r, s.log, domain.ErrNotFound)
		return
	}
	b, err := signer.PublicJWKS()
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	_, _ = w.Write(b)
}

package api

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/store"
)

// AccessStore is what the API reads and writes of users, roles and tokens.
type AccessStore interface {
	CreateUser(ctx context.Context, u *domain.User) error
	GetUser(ctx context.Context, id string) (*domain.User, error)
	ListUsers(ctx context.Context, after string, limit int) ([]*domain.User, error)
	UpdateUser(ctx context.Context, u *domain.User, now time.Time) (*domain.User, error)
	DeleteUser(ctx context.Context, id string) error
	PutRole(ctx context.Context, r *domain.Role, now time.Time) (bool, error)
	ListRoles(ctx context.Context) ([]*domain.Role, error)
	DeleteRole(ctx context.Context, name string) error
	CreateBinding(ctx context.Context, b *domain.RoleBinding) error
	ListBindings(ctx context.Context, userID string) ([]*domain.RoleBinding, error)
	DeleteBinding(ctx context.Context, id string) (*domain.RoleBinding, error)
	CreateAPIToken(ctx context.Context, t *domain.APIToken) error
	GetAPIToken(ctx context.Context, id string) (*domain.APIToken, error)
	ListAPITokens(ctx context.Context, userID string) ([]*domain.APIToken, error)
	RevokeAPIToken(ctx context.Context, id string, now time.Time) (*domain.APIToken, error)
	ListAudit(ctx context.Context, f store.AuditFilter) ([]*audit.Record, error)
}

var roleNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// allowUsers checks user:admin for all namespaces: users are not in any one namespace.
func (s *Server) allowUsers(w http.ResponseWriter, r *http.Request) bool {
	return s.allow(w, r, domain.PermUserAdmin, domain.AllNamespaces)
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	if !s.allowUsers(w, r) {
		return
	}
	limit, err := parseLimit(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	list, err := s.store.ListUsers(r.Context(), r.URL.Query().Get("cursor"), limit)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := page[*domain.User]{Items: list}
	if out.Items == nil {
		out.Items = []*domain.User{}
	}
	if len(list) == limit {
		out.NextCursor = list[len(list)-1].Username
	}
	writeJSON(w, http.StatusOK, out)
}

// userRequest is the body of a new database user.
type userRequest struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Password    string `json:"password"`
	Disabled    bool   `json:"disabled"`
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	if !s.allowUsers(w, r) {
		return
	}
	var in userRequest
	if err := decodeBody(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var v domain.ValidationError
	if !domain.ValidUsername(in.Username) {
		v.Add("username", domain.UsernameRule)
	}
	if len(in.DisplayName) > 200 {
		v.Add("display_name", "must be at most 200 bytes")
	}
	if err := auth.ValidatePassword(in.Password); err != nil {
		v.Add("password", err.Error())
	}
	if err := v.Err(); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	hash, err := auth.HashPassword(in.Password)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	u := &domain.User{ID: uuid.NewString(), Username: in.Username, DisplayName: in.DisplayName, PasswordHash: hash,
		Disabled: in.Disabled, Source: domain.UserSourceDatabase, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateUser(r.Context(), u); err != nil {
		if errors.Is(err, domain.ErrConflict) {
			writeProblem(w, problem{Status: http.StatusConflict, Detail: "a user named " + in.Username + " exists",
				Errors: []domain.FieldError{{Field: "username", Reason: "is taken"}}})
			return
		}
		writeError(w, r, s.log, err)
		return
	}
	w.Header().Set("Location", "/api/v1/users/"+u.ID)
	writeJSON(w, http.StatusCreated, u)
}

// userOf loads the user of the request's {id}.
func (s *Server) userOf(w http.ResponseWriter, r *http.Request) (*domain.User, bool) {
	id := chi.URLParam(r, "id")
	if uuid.Validate(id) != nil {
		writeError(w, r, s.log, domain.ErrNotFound)
		return nil, false
	}
	u, err := s.store.GetUser(r.Context(), id)
	if err != nil {
		writeError(w, r, s.log, err)
		return nil, false
	}
	return u, true
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	if !s.allowUsers(w, r) {
		return
	}
	if u, ok := s.userOf(w, r); ok {
		writeJSON(w, http.StatusOK, u)
	}
}

// userPatch is the body of a change of a user: the fields it holds are set.
type userPatch struct {
	DisplayName *string `json:"display_name"`
	Password    *string `json:"password"`
	Disabled    *bool   `json:"disabled"`
}

// updateUser changes a user's display name, password or disabled flag (a merge patch: absent
// fields stay). Disabling a user or setting their password ends their sessions.
func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) {
	if !s.allowUsers(w, r) {
		return
	}
	u, ok := s.userOf(w, r)
	if !ok {
		return
	}
	var in userPatch
	if err := decodeBody(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var v domain.ValidationError
	if in.DisplayName != nil {
		if len(*in.DisplayName) > 200 {
			v.Add("display_name", "must be at most 200 bytes")
		}
		u.DisplayName = *in.DisplayName
	}
	if in.Password != nil {
		if err := auth.ValidatePassword(*in.Password); err != nil {
			v.Add("password", err.Error())
		} else if u.PasswordHash, err = auth.HashPassword(*in.Password); err != nil {
			writeError(w, r, s.log, err)
			return
		}
	}
	if in.Disabled != nil {
		u.Disabled = *in.Disabled
	}
	if err := v.Err(); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	u, err := s.store.UpdateUser(r.Context(), u, s.now().UTC())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.ident.Forget(u.ID)
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) {
	if !s.allowUsers(w, r) {
		return
	}
	u, ok := s.userOf(w, r)
	if !ok {
		return
	}
	if u.ID == identityOf(r).UserID {
		writeProblem(w, problem{Status: http.StatusConflict, Detail: "you cannot delete yourself; ask another admin"})
		return
	}
	if err := s.store.DeleteUser(r.Context(), u.ID); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.ident.Forget(u.ID)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listRoles(w http.ResponseWriter, r *http.Request) {
	if !s.allowUsers(w, r) {
		return
	}
	custom, err := s.store.ListRoles(r.Context())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var out []*domain.Role
	for _, b := range rbac.Builtin() {
		out = append(out, &b)
	}
	writeJSON(w, http.StatusOK, page[*domain.Role]{Items: append(out, custom...)})
}

// roleRequest is the body of a custom role; the path names it.
type roleRequest struct {
	Description string              `json:"description"`
	Permissions []domain.Permission `json:"permissions"`
}

// putRole creates or replaces a custom role. Built-in roles cannot be changed.
func (s *Server) putRole(w http.ResponseWriter, r *http.Request) {
	if !s.allowUsers(w, r) {
		return
	}
	var in roleRequest
	if err := decodeBody(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	name := chi.URLParam(r, "name")
	var v domain.ValidationError
	if _, builtin := rbac.BuiltinRole(name); builtin {
		v.Add("name", "is a built-in role, which cannot be changed")
	} else if !roleNamePattern.MatchString(name) {
		v.Add("name", "must be 1 to 63 lowercase letters, digits, '.', '_' or '-'")
	}
	if len(in.Description) > 1000 {
		v.Add("description", "must be at most 1000 bytes")
	}
	if len(in.Permissions) == 0 {
		v.Add("permissions", "must name at least one permission")
	}
	for _, p := range in.Permissions {
		if !rbac.Known(p) {
			v.Add("permissions", string(p)+" is not a permission")
		}
	}
	if err := v.Err(); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	role := &domain.Role{Name: name, Description: in.Description, Permissions: in.Permissions}
	created, err := s.store.PutRole(r.Context(), role, s.now().UTC())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, role)
}

func (s *Server) deleteRole(w http.ResponseWriter, r *http.Request) {
	if !s.allowUsers(w, r) {
		return
	}
	name := chi.URLParam(r, "name")
	if _, builtin := rbac.BuiltinRole(name); builtin {
		writeProblem(w, problem{Status: http.StatusConflict, Detail: "built-in roles cannot be deleted"})
		return
	}
	err := s.store.DeleteRole(r.Context(), name)
	if errors.Is(err, domain.ErrConflict) {
		writeProblem(w, problem{Status: http.StatusConflict, Detail: "the role is still bound; delete its bindings first"})
		return
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listBindings(w http.ResponseWriter, r *http.Request) {
	if !s.allowUsers(w, r) {
		return
	}
	userID := r.URL.Query().Get("user_id")
	if userID != "" && uuid.Validate(userID) != nil {
		writeError(w, r, s.log, &domain.ValidationError{Fields: []domain.FieldError{{Field: "user_id", Reason: "is not a user id"}}})
		return
	}
	list, err := s.store.ListBindings(r.Context(), userID)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if list == nil {
		list = []*domain.RoleBinding{}
	}
	writeJSON(w, http.StatusOK, page[*domain.RoleBinding]{Items: list})
}

// bindingRequest is the body of a new role binding: a role for a user or a group, in a namespace
// or in all of them (*).
type bindingRequest struct {
	Role      string `json:"role"`
	UserID    string `json:"user_id"`
	Group     string `json:"group"`
	Namespace string `json:"namespace"`
}

func (s *Server) createBinding(w http.ResponseWriter, r *http.Request) {
	if !s.allowUsers(w, r) {
		return
	}
	var in bindingRequest
	if err := decodeBody(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var v domain.ValidationError
	if _, builtin := rbac.BuiltinRole(in.Role); !builtin {
		roles, err := s.store.ListRoles(r.Context())
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		found := false
		for _, c := range roles {
			found = found || c.Name == in.Role
		}
		if !found {
			v.Add("role", "is not a built-in or custom role")
		}
	}
	switch {
	case (in.UserID == "") == (in.Group == ""):
		v.Add("user_id", "give a user_id or a group, not both")
	case in.UserID != "" && uuid.Validate(in.UserID) != nil:
		v.Add("user_id", "is not a user id")
	case len(in.Group) > 256:
		v.Add("group", "must be at most 256 bytes")
	}
	if in.Namespace != domain.AllNamespaces && !domain.ValidNamespace(in.Namespace) {
		v.Add("namespace", "must be a namespace name, or * for all namespaces")
	}
	if err := v.Err(); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	b := &domain.RoleBinding{ID: uuid.NewString(), Role: in.Role, UserID: in.UserID, Group: in.Group, Namespace: in.Namespace,
		CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
	err := s.store.CreateBinding(r.Context(), b)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		writeError(w, r, s.log, &domain.ValidationError{Fields: []domain.FieldError{{Field: "user_id", Reason: "no such user"}}})
	case errors.Is(err, domain.ErrConflict):
		writeProblem(w, problem{Status: http.StatusConflict, Detail: "this binding exists"})
	case err != nil:
		writeError(w, r, s.log, err)
	default:
		if b.UserID != "" {
			s.ident.Forget(b.UserID)
		}
		writeJSON(w, http.StatusCreated, b)
	}
}

func (s *Server) deleteBinding(w http.ResponseWriter, r *http.Request) {
	if !s.allowUsers(w, r) {
		return
	}
	id := chi.URLParam(r, "id")
	if uuid.Validate(id) != nil {
		writeError(w, r, s.log, domain.ErrNotFound)
		return
	}
	b, err := s.store.DeleteBinding(r.Context(), id)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	// As for a new binding: the change takes effect at once in this process.
	if b.UserID != "" {
		s.ident.Forget(b.UserID)
	}
	w.WriteHeader(http.StatusNoContent)
}

var _ AccessStore = (*store.Store)(nil)

// Package variables keeps the named values jobs refer to as {{ var.NAME }}: global ones, and a
// job's own that override global ones of the same name. A secret is sealed before it reaches the
// database, is never returned by the API (only masked), and is opened only by the executor when
// it renders a job; Resolve hands back the secrets it opened so the executor can mask them in
// everything it records.
package variables

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/secret"
)

// MaxValueBytes bounds a variable's value.
const MaxValueBytes = 64 << 10

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// Store is what the service needs of the database.
type Store interface {
	PutVariable(ctx context.Context, v *domain.SealedVariable) (*domain.SealedVariable, bool, error)
	GetVariable(ctx context.Context, scope, jobID, name string) (*domain.SealedVariable, error)
	ListVariables(ctx context.Context, scope, jobID string) ([]*domain.SealedVariable, error)
	DeleteVariable(ctx context.Context, scope, jobID, name string) error
	VariablesFor(ctx context.Context, jobID string) ([]*domain.SealedVariable, error)
	CountSecrets(ctx context.Context) (int, error)
	Reseal(ctx context.Context, now time.Time, current string, limit int, reseal func(v *domain.SealedVariable) ([]byte, error)) (int, error)
}

// Service manages variables.
type Service struct {
	store Store
	keys  *secret.Keyring
	now   func() time.Time
}

// New returns a service; keys may be empty, and then secrets can be neither written nor read.
func New(st Store, keys *secret.Keyring, now func() time.Time) *Service {
	return &Service{store: st, keys: keys, now: now}
}

// CheckKeys refuses to start without a key while secrets exist: they could not be used.
func CheckKeys(ctx context.Context, st Store, keys *secret.Keyring) error {
	if !keys.Empty() {
		return nil
	}
	n, err := st.CountSecrets(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("secrets.keys: %d secret variables exist but no encryption key is configured; "+
			"set VECRON_SECRETS__KEYS or secrets.keys_file to the keys they were sealed with", n)
	}
	return nil
}

// PutRequest writes a variable. A nil Value keeps a secret's current value (it is write-only);
// a nil IsSecret keeps the current kind, or makes a plain variable.
type PutRequest struct {
	Value    *string `json:"value"`
	IsSecret *bool   `json:"is_secret"`
}

// associated binds a sealed value to its row.
func associated(scope, jobID, name string) []byte {
	return []byte("vecron/variable/" + scope + "/" + jobID + "/" + name)
}

// Put creates or replaces the variable name in scope (jobID for the job scope). It returns the
// variable as shown (secrets masked) and whether it was created; a *domain.ValidationError
// naming the field; or an error wrapping domain.ErrNotFound when the job does not exist.
func (s *Service) Put(ctx context.Context, scope, jobID, name string, req PutRequest) (*domain.Variable, bool, error) {
	var v domain.ValidationError
	if !nameRE.MatchString(name) {
		v.Add("name", "must start with a letter or _ and hold only letters, digits and _ (at most 128)")
	}
	if scope == domain.ScopeJob {
		id, err := uuid.Parse(jobID)
		if err != nil {
			return nil, false, fmt.Errorf("job %q: %w", jobID, domain.ErrNotFound)
		}
		// The canonical form, as the database returns it: it is part of the sealed data.
		jobID = id.String()
	}
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	existing, err := s.store.GetVariable(ctx, scope, jobID, name)
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return nil, false, err
	}
	isSecret := req.IsSecret != nil && *req.IsSecret
	if req.IsSecret == nil && existing != nil {
		isSecret = existing.IsSecret
	}
	now := s.now().UTC()
	row := &domain.SealedVariable{Variable: domain.Variable{ID: uuid.Must(uuid.NewV7()).String(), Name: name, Scope: scope,
		JobID: jobID, IsSecret: isSecret, UpdatedAt: now}}
	switch {
	case req.Value == nil && (existing == nil || !existing.IsSecret || !isSecret):
		v.Add("value", "is required (only a secret keeps its value when none is given)")
	case req.Value == nil: // a secret stays as it is sealed
		row.Ciphertext, row.KeyID = existing.Ciphertext, existing.KeyID
	case len(*req.Value) > MaxValueBytes:
		v.Add("value", fmt.Sprintf("is longer than %d bytes", MaxValueBytes))
	case isSecret && (len(*req.Value) < secret.MinLength || strings.Trim(*req.Value, "*") == ""):
		v.Add("value", fmt.Sprintf("a secret must be at least %d bytes and not only asterisks, so it can be masked", secret.MinLength))
	case isSecret:
		if s.keys.Empty() {
			return nil, false, &domain.ValidationError{Fields: []domain.FieldError{{Field: "is_secret",
				Reason: "this server has no encryption key configured (secrets.keys), so it cannot store secrets"}}}
		}
		if row.KeyID, row.Ciphertext, err = s.keys.Seal([]byte(*req.Value), associated(scope, jobID, name)); err != nil {
			return nil, false, err
		}
	default:
		row.Value = *req.Value
	}
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	stored, created, err := s.store.PutVariable(ctx, row)
	if err != nil {
		return nil, false, err
	}
	return shown(stored), created, nil
}

// shown is a variable as the API shows it.
func shown(v *domain.SealedVariable) *domain.Variable {
	out := v.Variable
	if out.IsSecret {
		out.Value, out.Masked = "", secret.Masked
	}
	return &out
}

// Get returns a variable as shown, or an error wrapping domain.ErrNotFound.
func (s *Service) Get(ctx context.Context, scope, jobID, name string) (*domain.Variable, error) {
	v, err := s.store.GetVariable(ctx, scope, jobID, name)
	if err != nil {
		return nil, err
	}
	return shown(v), nil
}

// List returns the variables of a scope as shown.
func (s *Service) List(ctx context.Context, scope, jobID string) ([]*domain.Variable, error) {
	list, err := s.store.ListVariables(ctx, scope, jobID)
	if err != nil {
		return nil, err
	}
	out := make([]*domain.Variable, len(list))
	for i, v := range list {
		out[i] = shown(v)
	}
	return out, nil
}

// Delete removes a variable, or returns an error wrapping domain.ErrNotFound.
func (s *Service) Delete(ctx context.Context, scope, jobID, name string) error {
	return s.store.DeleteVariable(ctx, scope, jobID, name)
}

// Resolve returns the values job jobID's templates see — its own variables over the global
// ones — with secrets opened, and the secret values, to be masked wherever they could show.
func (s *Service) Resolve(ctx context.Context, jobID string) (map[string]string, []string, error) {
	list, err := s.store.VariablesFor(ctx, jobID)
	if err != nil {
		return nil, nil, err
	}
	vars := map[string]string{}
	var secrets []string
	// Global first, so the job's own override them.
	for _, pass := range []string{domain.ScopeGlobal, domain.ScopeJob} {
		for _, v := range list {
			if v.Scope != pass {
				continue
			}
			if !v.IsSecret {
				vars[v.Name] = v.Value
				continue
			}
			plain, err := s.keys.Open(v.KeyID, v.Ciphertext, associated(v.Scope, v.JobID, v.Name))
			if err != nil {
				return nil, nil, fmt.Errorf("open secret %s (%s): %w", v.Name, v.Scope, err)
			}
			vars[v.Name] = string(plain)
			secrets = append(secrets, string(plain))
		}
	}
	return vars, secrets, nil
}

// Rotate re-encrypts every secret not sealed by the current key with it, and returns how many.
func (s *Service) Rotate(ctx context.Context) (int, error) {
	if s.keys.Empty() {
		return 0, secret.ErrNoKey
	}
	return s.store.Reseal(ctx, s.now(), s.keys.Current(), 500, func(v *domain.SealedVariable) ([]byte, error) {
		ad := associated(v.Scope, v.JobID, v.Name)
		plain, err := s.keys.Open(v.KeyID, v.Ciphertext, ad)
		if err != nil {
			return nil, err
		}
		_, sealed, err := s.keys.Seal(plain, ad)
		return sealed, err
	})
}

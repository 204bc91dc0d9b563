// Package variables keeps the named values jobs refer to as {{ var.NAME }}: global ones, and a
// job's own that override global ones of the same name. A secret is sealed before it reaches the
// database, is never returned by the API (only masked), and is opened only by the executor when
// it renders a job; Resolve hands back the secrets it opened so the executor can mask them in
// everything it records, and where each may be sent (allowed_hosts). A global variable may be
// restricted to the jobs of some namespaces.
package variables

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
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
	ResealVariables(ctx context.Context, now time.Time, current string, limit int, reseal func(v *domain.SealedVariable) domain.Resealer) (domain.ResealReport, error)
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
	// AllowedHosts binds a secret to the destinations it may be sent to; nil keeps the current
	// list, an empty one lifts the binding.
	AllowedHosts *[]string `json:"allowed_hosts"`
	// Namespaces restricts a global variable to the jobs of these namespaces; nil keeps the
	// current list, an empty one opens it to every namespace.
	Namespaces *[]string `json:"namespaces"`
}

// MaxNamespaces bounds the namespaces of one global variable.
const MaxNamespaces = 100

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
	row.AllowedHosts, row.Namespaces = bindings(&v, scope, isSecret, req, existing)
	if len(v.Fields) == 0 && req.Value == nil && existing != nil && existing.IsSecret &&
		(widens(existing.AllowedHosts, row.AllowedHosts) || widens(existing.Namespaces, row.Namespaces)) {
		// Whoever may write a variable need not know a secret's value: were they free to let a
		// kept secret go to more hosts or namespaces, they could send it to a listener of theirs.
		v.Add("value", "is required to let a secret go to more hosts or namespaces than before: give the value again")
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

// widens reports whether the binding to reaches further than from: from held some and to is
// empty (anywhere), or names one that from did not. A pattern that another one already covers
// counts as further too: telling the two apart is not worth the risk.
func widens(from, to []string) bool {
	if len(from) == 0 {
		return false
	}
	if len(to) == 0 {
		return true
	}
	for _, x := range to {
		if !slices.Contains(from, x) {
			return true
		}
	}
	return false
}

// bindings validates and returns where a variable may go and who sees it: req's lists, or
// existing's when req leaves them out.
func bindings(v *domain.ValidationError, scope string, isSecret bool, req PutRequest, existing *domain.SealedVariable) (hosts, namespaces []string) {
	if existing != nil {
		hosts, namespaces = existing.AllowedHosts, existing.Namespaces
	}
	if req.AllowedHosts != nil {
		hosts = nil
		if len(*req.AllowedHosts) > secret.MaxHostPatterns {
			v.Add("allowed_hosts", fmt.Sprintf("has more than %d patterns", secret.MaxHostPatterns))
		}
		for i, p := range *req.AllowedHosts {
			if err := secret.CheckHostPattern(p); err != nil {
				v.Add(fmt.Sprintf("allowed_hosts[%d]", i), err.Error())
			}
			if !slices.Contains(hosts, strings.ToLower(p)) {
				hosts = append(hosts, strings.ToLower(p))
			}
		}
	}
	switch {
	case len(hosts) > 0 && !isSecret && req.AllowedHosts != nil:
		v.Add("allowed_hosts", "applies to secrets only: a plain variable is shown to everyone who may read it")
	case !isSecret:
		hosts = nil // a secret made plain leaves its binding behind with its secrecy
	}
	if req.Namespaces != nil {
		namespaces = nil
		if scope != domain.ScopeGlobal && len(*req.Namespaces) > 0 {
			v.Add("namespaces", "applies to global variables only: a job's own variable is seen by that job alone")
		}
		if len(*req.Namespaces) > MaxNamespaces {
			v.Add("namespaces", fmt.Sprintf("has more than %d namespaces", MaxNamespaces))
		}
		for i, ns := range *req.Namespaces {
			if !domain.ValidNamespace(ns) {
				v.Add(fmt.Sprintf("namespaces[%d]", i), fmt.Sprintf("%q is not a namespace name", ns))
			}
			if !slices.Contains(namespaces, ns) {
				namespaces = append(namespaces, ns)
			}
		}
	}
	return hosts, namespaces
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

// Resolved is what a job's templates see, with what the executor must know of its secrets.
type Resolved struct {
	// Vars are the job's own variables over the global ones its namespace sees, secrets opened.
	Vars map[string]string
	// Secret names the secret variables of Vars.
	Secret map[string]bool
	// Hosts holds the allowed_hosts of each bound secret of Vars, by name.
	Hosts map[string][]string
	// Values are the values of every secret opened, overridden ones included: each is masked
	// wherever it could show.
	Values []string
}

// Resolve returns what job jobID's templates see.
func (s *Service) Resolve(ctx context.Context, jobID string) (*Resolved, error) {
	list, err := s.store.VariablesFor(ctx, jobID)
	if err != nil {
		return nil, err
	}
	r := &Resolved{Vars: map[string]string{}, Secret: map[string]bool{}, Hosts: map[string][]string{}}
	// Global first, so the job's own override them.
	for _, pass := range []string{domain.ScopeGlobal, domain.ScopeJob} {
		for _, v := range list {
			if v.Scope != pass {
				continue
			}
			delete(r.Secret, v.Name)
			delete(r.Hosts, v.Name)
			if !v.IsSecret {
				r.Vars[v.Name] = v.Value
				continue
			}
			plain, err := s.keys.Open(v.KeyID, v.Ciphertext, associated(v.Scope, v.JobID, v.Name))
			if err != nil {
				return nil, fmt.Errorf("open secret %s (%s): %w", v.Name, v.Scope, err)
			}
			r.Vars[v.Name] = string(plain)
			r.Secret[v.Name] = true
			if len(v.AllowedHosts) > 0 {
				r.Hosts[v.Name] = v.AllowedHosts
			}
			r.Values = append(r.Values, string(plain))
		}
	}
	return r, nil
}

// RotateBatch is how many values one transaction of a rotation re-seals.
const RotateBatch = 500

// Rotate re-seals every secret not sealed by the current key with it, a batch per transaction,
// each batch audited; a secret that does not open is left as it was and listed in the report.
// It returns secret.ErrNoKey when no key is configured.
func (s *Service) Rotate(ctx context.Context) (domain.ResealReport, error) {
	if s.keys.Empty() {
		return domain.ResealReport{}, secret.ErrNoKey
	}
	return s.store.ResealVariables(ctx, s.now(), s.keys.Current(), RotateBatch, func(v *domain.SealedVariable) domain.Resealer {
		return secret.Reseal(s.keys, associated(v.Scope, v.JobID, v.Name))
	})
}

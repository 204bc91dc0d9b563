package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/secret"
)

const variableColumns = `id, name, scope, coalesce(job_id::text, ''), is_secret, coalesce(value, ''),
	ciphertext, coalesce(key_id, ''), allowed_hosts, namespaces, created_at, updated_at`

func scanVariable(row pgx.Row) (*domain.SealedVariable, error) {
	var v domain.SealedVariable
	if err := row.Scan(&v.ID, &v.Name, &v.Scope, &v.JobID, &v.IsSecret, &v.Value, &v.Ciphertext, &v.KeyID,
		&v.AllowedHosts, &v.Namespaces, &v.CreatedAt, &v.UpdatedAt); err != nil {
		return nil, err
	}
	v.AllowedHosts, v.Namespaces = emptyNil(v.AllowedHosts), emptyNil(v.Namespaces)
	v.CreatedAt, v.UpdatedAt = v.CreatedAt.UTC(), v.UpdatedAt.UTC()
	return &v, nil
}

// orEmpty returns l, or an empty list for nil: the columns are NOT NULL.
func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// emptyNil returns nil for an empty list, as a variable without the setting is written.
func emptyNil(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return l
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// PutVariable creates v, or replaces the variable of the same name, scope and job. It returns
// the stored row and whether it was created; an error wrapping domain.ErrNotFound when the job
// does not exist.
func (s *Store) PutVariable(ctx context.Context, v *domain.SealedVariable) (*domain.SealedVariable, bool, error) {
	var value *string
	if !v.IsSecret {
		value = &v.Value
	}
	var (
		created bool
		out     domain.SealedVariable
	)
	change := Change{Action: "variable.put", ObjectKind: "variable", ObjectID: variableObject(v.Scope, v.JobID, v.Name)}
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		row := tx.QueryRow(ctx, `INSERT INTO variables (id, name, scope, job_id, is_secret, value, ciphertext, key_id,
			allowed_hosts, namespaces, created_at, updated_at)
		VALUES ($1, $2, $3, $4::uuid, $5, $6, $7, $8, $9, $10, $11, $11)
		ON CONFLICT (name, scope, coalesce(job_id, '00000000-0000-0000-0000-000000000000'))
		DO UPDATE SET is_secret = EXCLUDED.is_secret, value = EXCLUDED.value, ciphertext = EXCLUDED.ciphertext,
			key_id = EXCLUDED.key_id, allowed_hosts = EXCLUDED.allowed_hosts, namespaces = EXCLUDED.namespaces,
			updated_at = EXCLUDED.updated_at
		RETURNING `+variableColumns+`, (xmax = 0)`,
			v.ID, v.Name, v.Scope, nullable(v.JobID), v.IsSecret, value, v.Ciphertext, nullable(v.KeyID),
			orEmpty(v.AllowedHosts), orEmpty(v.Namespaces), v.UpdatedAt)
		err := row.Scan(&out.ID, &out.Name, &out.Scope, &out.JobID, &out.IsSecret, &out.Value, &out.Ciphertext, &out.KeyID,
			&out.AllowedHosts, &out.Namespaces, &out.CreatedAt, &out.UpdatedAt, &created)
		if err != nil {
			return err
		}
		out.AllowedHosts, out.Namespaces = emptyNil(out.AllowedHosts), emptyNil(out.Namespaces)
		change.After = maskedVariable(&out)
		change.Namespace, err = variableNamespace(ctx, tx, out.JobID)
		return err
	})
	if isForeignKey(err) {
		return nil, false, fmt.Errorf("job %s: %w", v.JobID, domain.ErrNotFound)
	}
	if err != nil {
		return nil, false, translate("put variable", err)
	}
	out.CreatedAt, out.UpdatedAt = out.CreatedAt.UTC(), out.UpdatedAt.UTC()
	return &out, created, nil
}

// GetVariable returns a variable, or an error wrapping domain.ErrNotFound. jobID is "" for the
// global scope.
func (s *Store) GetVariable(ctx context.Context, scope, jobID, name string) (*domain.SealedVariable, error) {
	v, err := scanVariable(s.pool.QueryRow(ctx, `SELECT `+variableColumns+` FROM variables
		WHERE scope = $1 AND job_id IS NOT DISTINCT FROM $2::uuid AND name = $3`, scope, nullable(jobID), name))
	return v, translate("get variable", err)
}

// ListVariables returns the variables of a scope (jobID "" for global), by name.
func (s *Store) ListVariables(ctx context.Context, scope, jobID string) ([]*domain.SealedVariable, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+variableColumns+` FROM variables
		WHERE scope = $1 AND job_id IS NOT DISTINCT FROM $2::uuid ORDER BY name`, scope, nullable(jobID))
	if err != nil {
		return nil, translate("list variables", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.SealedVariable, error) { return scanVariable(r) })
	return list, translate("list variables", err)
}

// VariablesFor returns the global variables visible to job jobID's namespace and the job's own:
// what its templates see.
func (s *Store) VariablesFor(ctx context.Context, jobID string) ([]*domain.SealedVariable, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+variableColumns+` FROM variables
		WHERE job_id = $1::uuid OR (scope = 'global' AND (cardinality(namespaces) = 0
			OR (SELECT namespace FROM jobs WHERE id = $1::uuid) = ANY (namespaces)))`, jobID)
	if err != nil {
		return nil, translate("resolve variables", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.SealedVariable, error) { return scanVariable(r) })
	return list, translate("resolve variables", err)
}

// DeleteVariable removes a variable, or returns an error wrapping domain.ErrNotFound.
func (s *Store) DeleteVariable(ctx context.Context, scope, jobID, name string) error {
	change := Change{Action: "variable.delete", ObjectKind: "variable", ObjectID: variableObject(scope, jobID, name)}
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		v, err := scanVariable(tx.QueryRow(ctx, `DELETE FROM variables WHERE scope = $1 AND job_id IS NOT DISTINCT FROM $2::uuid AND name = $3
			RETURNING `+variableColumns, scope, nullable(jobID), name))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("variable %s: %w", name, domain.ErrNotFound)
		}
		if err != nil {
			return err
		}
		change.Before = maskedVariable(v)
		change.Namespace, err = variableNamespace(ctx, tx, jobID)
		return err
	})
	return translate("delete variable", err)
}

// variableObject names a variable in the audit log: its name, or job id/name.
func variableObject(scope, jobID, name string) string {
	if scope == domain.ScopeJob {
		return jobID + "/" + name
	}
	return name
}

// variableNamespace is the namespace a variable belongs to in the audit log: its job's, or
// every namespace for a global one.
func variableNamespace(ctx context.Context, q querier, jobID string) (string, error) {
	if jobID == "" {
		return domain.AllNamespaces, nil
	}
	return jobNamespace(ctx, q, jobID)
}

// maskedVariable is a variable as the audit log shows it: a secret's value never.
func maskedVariable(v *domain.SealedVariable) *domain.Variable {
	out := v.Variable
	if out.IsSecret {
		out.Value, out.Masked = "", secret.Masked
	}
	return &out
}

// CountSecrets returns how many secret variables exist.
func (s *Store) CountSecrets(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM variables WHERE is_secret`).Scan(&n)
	return n, translate("count secrets", err)
}

func isForeignKey(err error) bool {
	var pgErr interface{ SQLState() string }
	return errors.As(err, &pgErr) && pgErr.SQLState() == "23503"
}

package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// NamespaceSettings returns the settings of namespace ns: the defaults when nobody changed them.
func (s *Store) NamespaceSettings(ctx context.Context, ns string) (*domain.NamespaceSettings, error) {
	out, err := scanSettings(s.pool.QueryRow(ctx, `SELECT `+settingsColumns+` FROM namespace_settings WHERE namespace = $1`, ns))
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.DefaultNamespaceSettings(ns), nil
	}
	return out, translate("get namespace settings", err)
}

const settingsColumns = `namespace, four_eyes, change_expiry_ms, updated_at, coalesce(updated_by, '')`

func scanSettings(row pgx.Row) (*domain.NamespaceSettings, error) {
	var (
		st       domain.NamespaceSettings
		expiryMS int64
		at       time.Time
	)
	if err := row.Scan(&st.Namespace, &st.FourEyes, &expiryMS, &at, &st.UpdatedBy); err != nil {
		return nil, err
	}
	st.ChangeExpiry = domain.Duration(time.Duration(expiryMS) * time.Millisecond)
	at = at.UTC()
	st.UpdatedAt = &at
	return &st, nil
}

// PutNamespaceSettings stores st as the settings of its namespace, made by the actor ctx
// carries at now, and records the change in the audit log. It returns what it stored.
func (s *Store) PutNamespaceSettings(ctx context.Context, st *domain.NamespaceSettings, now time.Time) (*domain.NamespaceSettings, error) {
	var out *domain.NamespaceSettings
	change := Change{Action: "namespace.settings", ObjectKind: "namespace", ObjectID: st.Namespace, Namespace: st.Namespace}
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		before, err := scanSettings(tx.QueryRow(ctx, `SELECT `+settingsColumns+` FROM namespace_settings WHERE namespace = $1 FOR UPDATE`, st.Namespace))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			change.Before = domain.DefaultNamespaceSettings(st.Namespace)
		case err != nil:
			return err
		default:
			change.Before = before
		}
		out, err = scanSettings(tx.QueryRow(ctx, `INSERT INTO namespace_settings (namespace, four_eyes, change_expiry_ms, updated_at, updated_by)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (namespace) DO UPDATE SET four_eyes = $2, change_expiry_ms = $3, updated_at = $4, updated_by = $5
			RETURNING `+settingsColumns, st.Namespace, st.FourEyes, time.Duration(st.ChangeExpiry).Milliseconds(), now,
			nullable(domain.ActorLabel(ctx))))
		change.After = out
		return err
	})
	return out, translate("put namespace settings", err)
}

// JobNameTaken reports whether namespace ns has a job called name other than the job exceptID
// ("" for none).
func (s *Store) JobNameTaken(ctx context.Context, ns, name, exceptID string) (bool, error) {
	var taken bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM jobs WHERE namespace = $1 AND name = $2 AND id::text <> $3)`,
		ns, name, exceptID).Scan(&taken)
	return taken, translate("check job name", err)
}

// changeColumns selects a change; bind parameter now reads a pending change past its expiry as
// expired.
func changeColumns(now int) string {
	return `id, namespace, action, coalesce(job_id::text, ''), coalesce(base_version, 0), definition, diff,
		requester_user_id, requester_id, requester_name, requester_kind, requester_mode, requested_at, expires_at,
		` + effectiveStatus(now) + `, coalesce(decided_by, ''), coalesce(decided_by_user_id, ''), decided_at, comment, reason`
}

// effectiveStatus is the SQL of a change's status as of bind parameter now.
func effectiveStatus(now int) string {
	return `CASE WHEN status = 'pending' AND expires_at <= ` + nowParam(now) + ` THEN 'expired' ELSE status END`
}

func scanChange(row pgx.Row) (*domain.Change, error) {
	var (
		c          domain.Change
		definition []byte
		diff       []byte
		a          = &c.Requester.Actor
	)
	if err := row.Scan(&c.ID, &c.Namespace, &c.Action, &c.JobID, &c.BaseVersion, &definition, &diff,
		&c.Requester.UserID, &a.ID, &a.Name, &a.Kind, &a.Mode, &c.RequestedAt, &c.ExpiresAt,
		&c.Status, &c.DecidedBy, &c.DecidedByUserID, &c.DecidedAt, &c.Comment, &c.Reason); err != nil {
		return nil, err
	}
	if definition != nil {
		c.Definition = new(domain.JobDefinition)
		if err := json.Unmarshal(definition, c.Definition); err != nil {
			return nil, fmt.Errorf("change %s: decode definition: %w", c.ID, err)
		}
	}
	if err := json.Unmarshal(diff, &c.Diff); err != nil {
		return nil, fmt.Errorf("change %s: decode diff: %w", c.ID, err)
	}
	c.RequestedBy = a.Label()
	c.RequestedAt, c.ExpiresAt, c.DecidedAt = c.RequestedAt.UTC(), c.ExpiresAt.UTC(), utcPtr(c.DecidedAt)
	return &c, nil
}

// CreateChange stores the pending change c and records the request in the audit log.
func (s *Store) CreateChange(ctx context.Context, c *domain.Change) error {
	var change Change
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		var err error
		change, err = insertChange(ctx, tx, c)
		return err
	})
	return translate("create change", err)
}

// insertChange stores the pending change c in tx and returns its audit entry.
func insertChange(ctx context.Context, tx pgx.Tx, c *domain.Change) (Change, error) {
	var definition []byte
	if c.Definition != nil {
		var err error
		if definition, err = json.Marshal(c.Definition); err != nil {
			return Change{}, fmt.Errorf("create change: %w", err)
		}
	}
	diff, err := json.Marshal(c.Diff)
	if err != nil {
		return Change{}, fmt.Errorf("create change: %w", err)
	}
	a := c.Requester.Actor
	_, err = tx.Exec(ctx, `INSERT INTO job_changes (id, namespace, action, job_id, base_version, definition, diff,
		requester_user_id, requester_id, requester_name, requester_kind, requester_mode, requested_at, expires_at, status)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'pending')`,
		c.ID, c.Namespace, c.Action, nullable(c.JobID), nullVersion(c.BaseVersion), definition, diff,
		c.Requester.UserID, a.ID, a.Name, a.Kind, a.Mode, c.RequestedAt, c.ExpiresAt)
	return Change{Action: "change.request", ObjectKind: "change", ObjectID: c.ID, Namespace: c.Namespace, After: c}, err
}

func nullVersion(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

// GetChange returns the change with id as it stands at now, or an error wrapping
// domain.ErrNotFound.
func (s *Store) GetChange(ctx context.Context, id string, now time.Time) (*domain.Change, error) {
	c, err := scanChange(s.pool.QueryRow(ctx, `SELECT `+changeColumns(2)+` FROM job_changes WHERE id = $1`, id, nullTime(now)))
	return c, translate("get change", err)
}

// ListChanges returns a page of changes, newest first.
func (s *Store) ListChanges(ctx context.Context, p domain.ListChangesParams) ([]*domain.Change, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+changeColumns(1)+` FROM job_changes
		WHERE ($2 = '' OR namespace = $2) AND ($3::text[] IS NULL OR namespace = ANY($3))
			AND ($4 = '' OR job_id::text = $4) AND ($5 = '' OR `+effectiveStatus(1)+` = $5)
			AND ($6::uuid IS NULL OR id < $6::uuid)
		ORDER BY id DESC LIMIT $7`,
		nullTime(p.Now), p.Namespace, nullSlice(p.Namespaces), p.JobID, string(p.Status), nullable(p.After), p.Limit)
	if err != nil {
		return nil, translate("list changes", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.Change, error) { return scanChange(r) })
	return out, translate("list changes", err)
}

// DecideChange records decision d on the pending change with id, and the audit row of the
// decision (change.approve, change.reject, change.withdraw or change.fail), in one transaction.
// An approval makes write w in that same transaction, as the change's requester (who the job's
// created_by or updated_by and its audit row name); if the write cannot be made because the job
// moved on (domain.ErrStale), its name is taken (domain.ErrConflict) or it is gone
// (domain.ErrNotFound), the change is recorded failed instead, and DecideChange returns the
// failed change with a *domain.ConflictError saying why. A change that is no longer pending
// (decided, or expired as of d.At) is left alone: a *domain.ConflictError on the field status.
func (s *Store) DecideChange(ctx context.Context, id string, d domain.Decision, w *domain.JobWrite) (*domain.Change, error) {
	var (
		out     *domain.Change
		failure error
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		failure = nil
		before, err := scanChange(tx.QueryRow(ctx, `SELECT `+changeColumns(2)+` FROM job_changes WHERE id = $1 FOR UPDATE`, id, nullTime(d.At)))
		if err != nil {
			return err
		}
		if before.Status != domain.ChangePending {
			return &domain.ConflictError{FieldError: domain.FieldError{Field: "status",
				Reason: fmt.Sprintf("the change is %s; only a pending change can be decided", before.Status)}}
		}
		status, reason, jobID := d.Status, d.Reason, before.JobID
		// The job is written as its requester's change; where and how it took effect is the
		// decision's request.
		by, _ := domain.ActorFrom(ctx)
		requester := before.Requester.Actor
		requester.SourceIP, requester.UserAgent, requester.RequestID = by.SourceIP, by.UserAgent, by.RequestID
		asRequester := domain.WithActor(ctx, requester)
		var applied Change
		if w != nil {
			if jobID, err = applyJobWrite(asRequester, tx, w, &applied); err != nil {
				field, ok := unappliable(err)
				if !ok {
					return err
				}
				status, reason, jobID, applied = domain.ChangeFailed, conflictReason(err), before.JobID, Change{}
				failure = &domain.ConflictError{FieldError: domain.FieldError{Field: field,
					Reason: "the change cannot be applied any more and is now failed: " + reason}}
			}
		}
		out, err = scanChange(tx.QueryRow(ctx, `UPDATE job_changes SET status = $2, decided_by = $3, decided_by_user_id = $4,
			decided_at = $5, comment = $6, reason = $7, job_id = $8::uuid
			WHERE id = $1 RETURNING `+changeColumns(5), id, status, d.By, d.UserID, d.At, d.Comment, reason, nullable(jobID)))
		if err != nil {
			return err
		}
		if applied.Action != "" {
			if err := s.record(asRequester, tx, applied); err != nil {
				return err
			}
		}
		verb := map[domain.ChangeStatus]string{domain.ChangeApproved: "approve", domain.ChangeRejected: "reject",
			domain.ChangeWithdrawn: "withdraw", domain.ChangeFailed: "fail"}[status]
		return s.record(ctx, tx, Change{Action: "change." + verb, ObjectKind: "change", ObjectID: id, Namespace: out.Namespace,
			Before: before, After: out})
	})
	if err != nil {
		return nil, translate("decide change", err)
	}
	return out, failure
}

// applyJobWrite makes w in a savepoint of tx, so that a write refused by the database leaves tx
// usable to record the failure; it returns the id of the job written and fills in change.
func applyJobWrite(ctx context.Context, tx pgx.Tx, w *domain.JobWrite, change *Change) (string, error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return "", err
	}
	defer func() { _ = sp.Rollback(ctx) }()
	a, err := applyJob(ctx, sp, domain.JobChange{Write: w.Action, Job: w.Job, IfVersion: w.IfVersion, KeepNext: w.KeepNext}, w.Now)
	if err != nil {
		return "", err
	}
	*change = a.change
	return w.Job.ID, sp.Commit(ctx)
}

// unappliable reports whether err says that a change no longer applies to the jobs as they are
// (rather than that the database failed), and which field of the change it is about.
func unappliable(err error) (string, bool) {
	var (
		stale    *domain.StaleError
		conflict *domain.ConflictError
	)
	switch {
	case errors.As(err, &stale):
		return "base_version", true
	case errors.As(err, &conflict):
		return conflict.Field, true
	case errors.Is(err, pgx.ErrNoRows), errors.Is(err, domain.ErrNotFound):
		return "job_id", true
	}
	return "", false
}

// conflictReason says in words why a change no longer applies.
func conflictReason(err error) string {
	var (
		stale    *domain.StaleError
		conflict *domain.ConflictError
	)
	switch {
	case errors.As(err, &stale):
		return fmt.Sprintf("the job changed since the change was made: it is at version %d now", stale.Current)
	case errors.As(err, &conflict):
		return conflict.Reason
	}
	return "the job no longer exists"
}

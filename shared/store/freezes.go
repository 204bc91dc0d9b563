package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

const freezeColumns = `id, namespace, reason, starts_at, ends_at, lifted_at, created_at, coalesce(created_by, ''), coalesce(lifted_by, '')`

// scanFreeze reads a freeze, active or not as of now.
func scanFreeze(row pgx.Row, now time.Time) (*domain.Freeze, error) {
	var f domain.Freeze
	if err := row.Scan(&f.ID, &f.Namespace, &f.Reason, &f.StartsAt, &f.EndsAt, &f.LiftedAt, &f.CreatedAt, &f.CreatedBy, &f.LiftedBy); err != nil {
		return nil, err
	}
	f.StartsAt, f.EndsAt, f.CreatedAt, f.LiftedAt = f.StartsAt.UTC(), f.EndsAt.UTC(), f.CreatedAt.UTC(), utcPtr(f.LiftedAt)
	f.Active = f.LiftedAt == nil && !now.Before(f.StartsAt) && now.Before(f.EndsAt)
	return &f, nil
}

// CreateFreeze inserts f (its id and creation time set) and records it in the audit log.
func (s *Store) CreateFreeze(ctx context.Context, f *domain.Freeze) error {
	f.CreatedBy = domain.ActorLabel(ctx)
	change := Change{Action: "freeze.create", ObjectKind: "freeze", ObjectID: f.ID, Namespace: f.Namespace, After: f}
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO freezes (id, namespace, reason, starts_at, ends_at, created_at, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, f.ID, f.Namespace, f.Reason, f.StartsAt, f.EndsAt, f.CreatedAt, nullable(f.CreatedBy))
		return err
	})
	return translate("create freeze", err)
}

// GetFreeze returns the freeze id as of now, or an error wrapping domain.ErrNotFound.
func (s *Store) GetFreeze(ctx context.Context, id string, now time.Time) (*domain.Freeze, error) {
	f, err := scanFreeze(s.pool.QueryRow(ctx, `SELECT `+freezeColumns+` FROM freezes WHERE id = $1`, id), now)
	return f, translate("get freeze", err)
}

// ListFreezes returns up to limit freezes of the namespaces listed (nil: every namespace; a
// freeze of every namespace is always listed), newest first: only those not over at now, unless
// ended is set.
func (s *Store) ListFreezes(ctx context.Context, namespaces []string, ended bool, now time.Time, limit int) ([]*domain.Freeze, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+freezeColumns+` FROM freezes
		WHERE ($1::text[] IS NULL OR namespace = ANY($1) OR namespace = '*')
			AND ($2 OR (lifted_at IS NULL AND ends_at > $3))
		ORDER BY created_at DESC, id DESC LIMIT $4`, nullSlice(namespaces), ended, now, limit)
	if err != nil {
		return nil, translate("list freezes", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.Freeze, error) { return scanFreeze(r, now) })
	return list, translate("list freezes", err)
}

// OpenFreezes returns the freezes not lifted that hold at some instant from now up to horizon:
// what a claim plans its fires by. One indexed read per claim, not per fire.
func (s *Store) OpenFreezes(ctx context.Context, now, horizon time.Time) ([]*domain.Freeze, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+freezeColumns+` FROM freezes
		WHERE lifted_at IS NULL AND ends_at > $1 AND starts_at <= $2`, now, horizon)
	if err != nil {
		return nil, translate("read open freezes", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.Freeze, error) { return scanFreeze(r, now) })
	return list, translate("read open freezes", err)
}

// ActiveFreeze returns a freeze that holds namespace ns at at (the one that ends last), or nil.
func (s *Store) ActiveFreeze(ctx context.Context, ns string, at time.Time) (*domain.Freeze, error) {
	f, err := scanFreeze(s.pool.QueryRow(ctx, `SELECT `+freezeColumns+` FROM freezes
		WHERE lifted_at IS NULL AND (namespace = $1 OR namespace = '*') AND starts_at <= $2 AND ends_at > $2
		ORDER BY ends_at DESC LIMIT 1`, ns, at), at)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return f, translate("find active freeze", err)
}

// LiftFreeze ends the freeze id at now, and records who lifted it. A freeze already lifted or
// over is returned as it is, with nothing recorded. It returns an error wrapping
// domain.ErrNotFound.
func (s *Store) LiftFreeze(ctx context.Context, id string, now time.Time) (*domain.Freeze, error) {
	var out *domain.Freeze
	change := Change{Action: "freeze.lift", ObjectKind: "freeze", ObjectID: id}
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		before, err := scanFreeze(tx.QueryRow(ctx, `SELECT `+freezeColumns+` FROM freezes WHERE id = $1 FOR UPDATE`, id), now)
		if err != nil {
			return err
		}
		change.Namespace, change.Before = before.Namespace, before
		if before.LiftedAt != nil || !now.Before(before.EndsAt) {
			out, change.Action = before, "" // nothing to lift: nothing to record
			return nil
		}
		out, err = scanFreeze(tx.QueryRow(ctx, `UPDATE freezes SET lifted_at = $2, lifted_by = $3 WHERE id = $1
			RETURNING `+freezeColumns, id, now, nullable(domain.ActorLabel(ctx))), now)
		change.After = out
		return err
	})
	if err != nil {
		return nil, translate(fmt.Sprintf("lift freeze %s", id), err)
	}
	return out, nil
}

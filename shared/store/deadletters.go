package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// DeadLetterCursor is the position after the last dead letter of a page.
type DeadLetterCursor struct {
	FinishedAt time.Time
	ID         string
}

// ListDeadLettersParams selects a page of dead-lettered executions, newest first.
type ListDeadLettersParams struct {
	// State is one of the domain.DeadLetter… states; "" lists every state.
	State string
	// JobID, when set, lists one job's dead letters.
	JobID string
	// Namespaces, when not nil, keeps only dead letters of jobs in these namespaces (those of
	// deleted jobs are left out).
	Namespaces []string
	After      *DeadLetterCursor
	Limit      int
}

// ListDeadLetters returns dead-lettered executions, newest first.
func (s *Store) ListDeadLetters(ctx context.Context, p ListDeadLettersParams) ([]*domain.Execution, error) {
	var afterAt *time.Time
	var afterID *string
	if p.After != nil {
		afterAt, afterID = &p.After.FinishedAt, &p.After.ID
	}
	// Through dead_letters, in its order: job_executions has no index of its dead letters,
	// which would keep every outcome from being written in place (migration 00010).
	rows, err := s.pool.Query(ctx, `SELECT `+executionColumns+` FROM dead_letters
		JOIN job_executions ON id = execution_id AND scheduled_at = execution_scheduled_at
		WHERE status = 'dead_lettered'
			AND ($1 = '' OR dead_letter_state = $1)
			AND ($2 = '' OR job_id = nullif($2, '')::uuid)
			AND ($3::timestamptz IS NULL OR (dead_lettered_at, execution_id) < ($3, $4::uuid))
			AND ($6::text[] IS NULL OR job_id IN (SELECT id FROM jobs WHERE namespace = ANY($6)))
		ORDER BY dead_lettered_at DESC, execution_id DESC LIMIT $5`, p.State, p.JobID, afterAt, afterID, p.Limit, nullSlice(p.Namespaces))
	if err != nil {
		return nil, translate("list dead letters", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.Execution, error) { return scanExecution(r) })
	return list, translate("list dead letters", err)
}

// GetExecution returns the execution with id, or an error wrapping domain.ErrNotFound.
func (s *Store) GetExecution(ctx context.Context, id string) (*domain.Execution, error) {
	e, err := scanExecution(s.pool.QueryRow(ctx, `SELECT `+executionColumns+`
		FROM job_executions WHERE id = $1`, id))
	return e, translate("get execution", err)
}

// DiscardDeadLetter marks a pending dead letter as discarded: nobody will run it. It returns the
// execution, or an error wrapping domain.ErrNotFound (no such dead letter) or domain.ErrConflict
// (already replayed or discarded).
func (s *Store) DiscardDeadLetter(ctx context.Context, id string, at time.Time) (*domain.Execution, error) {
	var e *domain.Execution
	change := Change{Action: "dead_letter.discard", ObjectKind: "execution", ObjectID: id}
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		var err error
		if e, err = s.resolveDeadLetter(ctx, tx, id, domain.DeadLetterDiscarded, "", at); err != nil {
			return err
		}
		change.After = e
		change.Namespace, err = jobNamespace(ctx, tx, e.JobID)
		return err
	})
	return e, err
}

// ReplayDeadLetter marks a pending dead letter as replayed by fire (a new execution, trigger
// replay) and queues fire for publication, in one transaction, both at the caller's time at.
// Errors are as DiscardDeadLetter's.
func (s *Store) ReplayDeadLetter(ctx context.Context, id string, fire domain.Fire, at time.Time) (*domain.Execution, error) {
	var e *domain.Execution
	change := Change{Action: "dead_letter.replay", ObjectKind: "execution", ObjectID: id}
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		var err error
		if e, err = s.resolveDeadLetter(ctx, tx, id, domain.DeadLetterReplayed, fire.Key, at); err != nil {
			return err
		}
		change.After = e
		if change.Namespace, err = jobNamespace(ctx, tx, e.JobID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO outbox (idempotency_key, job_id, kind, trigger, scheduled_at, payload, publish_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, `+nowParam(8)+`)`,
			fire.Key, fire.JobID, fire.Kind, fire.Trigger, fire.ScheduledAt, fire.Payload, fire.PublishAt, nullTime(at))
		if err != nil {
			return translate("queue replay", err)
		}
		// The tick sleeps until its next known instant; the notification makes it look now.
		_, err = tx.Exec(ctx, `SELECT pg_notify(current_schema() || '.vecron_jobs', '')`)
		return translate("queue replay", err)
	})
	return e, err
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (s *Store) resolveDeadLetter(ctx context.Context, q querier, id, state, replayKey string, at time.Time) (*domain.Execution, error) {
	e, err := scanExecution(q.QueryRow(ctx, `UPDATE job_executions SET dead_letter_state = $2,
		dead_letter_replay_key = nullif($3, ''), dead_letter_resolved_at = $4
		WHERE id = $1 AND status = 'dead_lettered' AND dead_letter_state = 'pending'
		RETURNING `+executionColumns, id, state, replayKey, at))
	if err == nil {
		return e, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, translate("resolve dead letter", err)
	}
	existing, err := scanExecution(q.QueryRow(ctx, `SELECT `+executionColumns+` FROM job_executions WHERE id = $1`, id))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, fmt.Errorf("dead letter %s: %w", id, domain.ErrNotFound)
	case err != nil:
		return nil, translate("resolve dead letter", err)
	case existing.Status != domain.StatusDeadLettered:
		return nil, fmt.Errorf("execution %s is %s, not dead-lettered: %w", id, existing.Status, domain.ErrNotFound)
	}
	return nil, fmt.Errorf("dead letter %s was already %s: %w", id, existing.DeadLetter.State, domain.ErrConflict)
}

// jobNamespace returns the namespace of the job with id, "" when it was deleted.
func jobNamespace(ctx context.Context, q querier, id string) (string, error) {
	var ns string
	err := q.QueryRow(ctx, `SELECT namespace FROM jobs WHERE id = $1`, id).Scan(&ns)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return ns, translate("namespace of job", err)
}

package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/audit"
)

// ErrAuditForwardHeld is returned by AdvanceAuditForward (and AdvanceAuditCursor) when another
// replica reads the audit log on: it holds the cursor, or has moved it since the caller read it.
// Nothing was delivered; read the cursor again later.
var ErrAuditForwardHeld = errors.New("audit forwarding: another replica holds the cursor")

// finalWriteTimeout bounds a write that must happen even though the caller's context ended: the
// cursor after a delivery the sink accepted, the rollback of one it did not.
const finalWriteTimeout = 10 * time.Second

// AuditForwardCursor returns the seq of the last audit row the sink accepted. The first call on
// a database creates the cursor at 0, so forwarding starts with the oldest row kept; from then
// on `vecron audit prune` keeps every row past the cursor.
func (s *Store) AuditForwardCursor(ctx context.Context) (int64, error) {
	var seq int64
	err := s.pool.QueryRow(ctx, `SELECT last_seq FROM audit_forward`).Scan(&seq)
	if !errors.Is(err, pgx.ErrNoRows) {
		return seq, translate("read audit forward cursor", err)
	}
	// Two replicas starting at once both get here; the second insert does nothing.
	if _, err := s.pool.Exec(ctx, `INSERT INTO audit_forward (last_seq) VALUES (0) ON CONFLICT (id) DO NOTHING`); err != nil {
		return 0, translate("create audit forward cursor", err)
	}
	err = s.pool.QueryRow(ctx, `SELECT last_seq FROM audit_forward`).Scan(&seq)
	return seq, translate("read audit forward cursor", err)
}

// AuditAfter returns up to limit audit rows after seq after, in seq order.
func (s *Store) AuditAfter(ctx context.Context, after int64, limit int) ([]*audit.Record, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, translate("read audit rows", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*audit.Record, error) { return scanAudit(r) })
	return list, translate("read audit rows", err)
}

// AdvanceAuditForward calls deliver while holding the forwarding cursor at from, and moves the
// cursor to to when deliver returns nil. It returns ErrAuditForwardHeld, without calling
// deliver, when another replica holds the cursor or it is no longer at from; deliver's error as
// it is; or the database's, wrapped.
//
// The cursor row is the lock: it is taken FOR UPDATE SKIP LOCKED in a transaction that lasts one
// delivery, so the replica whose advance commits is the one that held it, a replica that dies
// releases it with its connection, and no connection is pinned for the life of the process
// (which a session advisory lock would need, and which a transaction-pooling PgBouncer breaks).
// Committing after each delivery makes each acknowledgement durable at once: after a crash, at
// most the row then in flight is delivered again. A deadline on ctx bounds the delivery, and the
// server then holds the lock for that long (and the final write) whatever its own
// idle_in_transaction_session_timeout: no shorter, so no other replica sends the row meanwhile,
// and no longer, should this replica freeze mid-delivery.
func (s *Store) AdvanceAuditForward(ctx context.Context, from, to int64, deliver func(context.Context) error) error {
	return s.advanceCursor(ctx, "forward audit", `SELECT last_seq FROM audit_forward FOR UPDATE SKIP LOCKED`,
		`UPDATE audit_forward SET last_seq = $1, updated_at = now()`, nil, from, to, deliver)
}

// AuditCursor returns the seq of the last audit row the reader name has dealt with. The first
// call for a name the migrations did not create creates its cursor at the newest row, so a new
// reader starts with what comes next, not with the history before it.
func (s *Store) AuditCursor(ctx context.Context, name string) (int64, error) {
	var seq int64
	err := s.pool.QueryRow(ctx, `SELECT last_seq FROM audit_cursors WHERE name = $1`, name).Scan(&seq)
	if !errors.Is(err, pgx.ErrNoRows) {
		return seq, translate("read audit cursor "+name, err)
	}
	// Two replicas starting at once both get here; the second insert does nothing.
	if _, err := s.pool.Exec(ctx, `INSERT INTO audit_cursors (name, last_seq)
		SELECT $1, coalesce(max(seq), 0) FROM audit_log ON CONFLICT (name) DO NOTHING`, name); err != nil {
		return 0, translate("create audit cursor "+name, err)
	}
	err = s.pool.QueryRow(ctx, `SELECT last_seq FROM audit_cursors WHERE name = $1`, name).Scan(&seq)
	return seq, translate("read audit cursor "+name, err)
}

// AdvanceAuditCursor is AdvanceAuditForward for the cursor of reader name (AuditCursor).
func (s *Store) AdvanceAuditCursor(ctx context.Context, name string, from, to int64, deliver func(context.Context) error) error {
	return s.advanceCursor(ctx, "audit cursor "+name, `SELECT last_seq FROM audit_cursors WHERE name = $1 FOR UPDATE SKIP LOCKED`,
		`UPDATE audit_cursors SET last_seq = $1, updated_at = now() WHERE name = $2`, []any{name}, from, to, deliver)
}

// advanceCursor holds the cursor row that lock selects (with args) at from while deliver runs,
// and moves it to to with update (to, then args) when deliver returns nil.
func (s *Store) advanceCursor(ctx context.Context, what, lock, update string, args []any, from, to int64, deliver func(context.Context) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return translate(what+": begin", err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalWriteTimeout)
		defer cancel()
		_ = tx.Rollback(rctx) // after a commit, a no-op
	}()
	// The cursor row is the lock only while the transaction lives. A server whose
	// idle_in_transaction_session_timeout is shorter than a delivery would end the transaction
	// mid-delivery, and another replica would send the same row; one with none would leave the
	// cursor to a frozen replica for as long as its connection looks alive. When ctx bounds the
	// delivery, this transaction's own timeout outlasts it by the final write, and no more.
	if deadline, ok := ctx.Deadline(); ok {
		// In milliseconds, which the setting holds in 32 bits (some 24 days); 0 would mean none.
		idle := min(max((time.Until(deadline)+finalWriteTimeout).Milliseconds(), 1), math.MaxInt32)
		if _, err := tx.Exec(ctx, `SELECT set_config('idle_in_transaction_session_timeout', $1, true)`,
			strconv.FormatInt(idle, 10)); err != nil {
			return translate(what+": bound the lock", err)
		}
	}
	var cur int64
	err = tx.QueryRow(ctx, lock, args...).Scan(&cur)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// Locked by another replica (or removed by hand, which the cursor's reader repairs).
		return ErrAuditForwardHeld
	case err != nil:
		return translate(what+": lock the cursor", err)
	case cur != from:
		return ErrAuditForwardHeld
	}
	if err := deliver(ctx); err != nil {
		return err
	}
	// The receiver may have accepted the rows just as ctx ended: the cursor is still written.
	final, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalWriteTimeout)
	defer cancel()
	if _, err := tx.Exec(final, update, append([]any{to}, args...)...); err != nil {
		return fmt.Errorf("%s: advance the cursor to %d: %w", what, to, err)
	}
	if err := tx.Commit(final); err != nil {
		return fmt.Errorf("%s: advance the cursor to %d: %w", what, to, err)
	}
	return nil
}

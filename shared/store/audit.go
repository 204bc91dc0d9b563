package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/domain"
)

// ErrNoAuditKey is returned for a change made by an actor while no audit key is configured: a
// change that cannot be recorded is not made.
var ErrNoAuditKey = errors.New("audit.keys: no key configured, so changes cannot be recorded")

// UseAudit sets the keys that seal the audit log. Call it before serving.
func (s *Store) UseAudit(keys *audit.Keys) { s.auditKeys = keys }

// Change is one audited change: what was done to which object, and the object before and after
// (nil when it did not exist). Before and After are serialised as the API shows them, so
// secret values are already masked.
type Change struct {
	Action     string
	ObjectKind string
	ObjectID   string
	Namespace  string
	Before     any
	After      any
}

// record appends c to the audit log in tx, when ctx carries an actor (domain.WithActor): every
// request to the API does; the tick and the executors, which change only their own records,
// do not. Rows are chained one after another, so appending takes a lock that the transaction
// holds until it ends: callers record last, just before commit.
func (s *Store) record(ctx context.Context, tx pgx.Tx, c Change) error {
	a, ok := domain.ActorFrom(ctx)
	if !ok || c.Action == "" {
		return nil
	}
	if s.auditKeys == nil {
		return ErrNoAuditKey
	}
	r := &audit.Record{ActorID: a.ID, ActorName: a.Name, ActorKind: a.Kind, AuthMode: a.Mode,
		Action: c.Action, ObjectKind: c.ObjectKind, ObjectID: c.ObjectID, Namespace: c.Namespace,
		SourceIP: a.SourceIP, UserAgent: a.UserAgent, RequestID: a.RequestID}
	var err error
	if r.Before, err = marshalState(c.Before); err != nil {
		return err
	}
	if r.After, err = marshalState(c.After); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.audit_log'))`); err != nil {
		return fmt.Errorf("audit: lock the chain: %w", err)
	}
	var prev *audit.Record
	var head audit.Record
	err = tx.QueryRow(ctx, `SELECT seq, mac, time FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&head.Seq, &head.MAC, &head.Time)
	switch {
	case err == nil:
		prev = &head
	case !errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("audit: read the head: %w", err)
	}
	// The row's time is the database's, read under the lock and never before its predecessor's:
	// times then rise with seq, so a reader resuming from a time (export --since) misses nothing.
	if err := tx.QueryRow(ctx, `SELECT greatest(clock_timestamp(), $1::timestamptz)`, nullTime(head.Time)).Scan(&r.Time); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	s.auditKeys.Seal(r, prev)
	_, err = tx.Exec(ctx, `INSERT INTO audit_log (seq, time, actor_id, actor_name, actor_kind, auth_mode, action, object_kind,
			object_id, namespace, before, after, source_ip, user_agent, request_id, key_id, prev_mac, mac)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		r.Seq, r.Time, r.ActorID, r.ActorName, r.ActorKind, r.AuthMode, r.Action, r.ObjectKind, r.ObjectID, r.Namespace,
		textOf(r.Before), textOf(r.After), r.SourceIP, r.UserAgent, r.RequestID, r.KeyID, r.PrevMAC, r.MAC)
	if err != nil {
		return fmt.Errorf("audit: append: %w", err)
	}
	return nil
}

func marshalState(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("audit: encode state: %w", err)
	}
	if string(b) == "null" {
		return nil, nil
	}
	return b, nil
}

func textOf(b json.RawMessage) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}

// Record appends c to the audit log on its own, for what changes nothing else in the database
// (a failed login). Nothing is recorded without an actor in ctx.
func (s *Store) Record(ctx context.Context, c Change) error {
	if _, ok := domain.ActorFrom(ctx); !ok {
		return nil
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return s.record(ctx, tx, c) })
}

// inTx runs fn in a transaction and records c (made by fn, which may fill it in) at its end.
func (s *Store) inTx(ctx context.Context, c *Change, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return s.record(ctx, tx, *c)
	})
}

const auditColumns = `seq, time, actor_id, actor_name, actor_kind, auth_mode, action, object_kind, object_id, namespace,
	before, after, source_ip, user_agent, request_id, key_id, prev_mac, mac`

func scanAudit(row pgx.Row) (*audit.Record, error) {
	var (
		r             audit.Record
		before, after *string
	)
	if err := row.Scan(&r.Seq, &r.Time, &r.ActorID, &r.ActorName, &r.ActorKind, &r.AuthMode, &r.Action, &r.ObjectKind,
		&r.ObjectID, &r.Namespace, &before, &after, &r.SourceIP, &r.UserAgent, &r.RequestID, &r.KeyID, &r.PrevMAC, &r.MAC); err != nil {
		return nil, err
	}
	r.Time = r.Time.UTC()
	if before != nil {
		r.Before = json.RawMessage(*before)
	}
	if after != nil {
		r.After = json.RawMessage(*after)
	}
	return &r, nil
}

// AuditFilter selects audit rows; zero fields match everything. Rows come newest first, before
// the seq Before (0: from the newest).
type AuditFilter struct {
	ActorID    string
	Action     string
	ObjectKind string
	ObjectID   string
	// Namespaces, when not nil, keeps rows of these namespaces only.
	Namespaces []string
	Since      *time.Time
	Until      *time.Time
	Before     int64
	Limit      int
}

// ListAudit returns a page of audit rows, newest first.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]*audit.Record, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+auditColumns+` FROM audit_log
		WHERE ($1 = '' OR actor_id = $1) AND ($2 = '' OR action = $2) AND ($3 = '' OR object_kind = $3)
			AND ($4 = '' OR object_id = $4) AND ($5::text[] IS NULL OR namespace = ANY($5))
			AND ($6::timestamptz IS NULL OR time >= $6) AND ($7::timestamptz IS NULL OR time < $7)
			AND ($8 = 0 OR seq < $8)
		ORDER BY seq DESC LIMIT $9`,
		f.ActorID, f.Action, f.ObjectKind, f.ObjectID, nullSlice(f.Namespaces), f.Since, f.Until, f.Before, f.Limit)
	if err != nil {
		return nil, translate("list audit", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*audit.Record, error) { return scanAudit(r) })
	return list, translate("list audit", err)
}

// AuditChain calls fn with every audit row after seq after, in seq order, streaming: for
// verification and export of a log of any length.
func (s *Store) AuditChain(ctx context.Context, after int64, since *time.Time, fn func(*audit.Record) error) error {
	rows, err := s.pool.Query(ctx, `SELECT `+auditColumns+` FROM audit_log
		WHERE seq > $1 AND ($2::timestamptz IS NULL OR time >= $2) ORDER BY seq`, after, since)
	if err != nil {
		return translate("read audit chain", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return translate("read audit chain", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return translate("read audit chain", rows.Err())
}

// AuditPruned says what PruneAudit removed, and why older rows may remain.
type AuditPruned struct {
	// Rows counts the rows removed.
	Rows int64
	// Last is the anchor of the last row removed: verification starts from it from now on
	// (Keys.VerifierFrom, `vecron audit verify --from`). Zero when nothing was removed.
	Last audit.Anchor
	// Unforwarded is set when rows older than the cut remain because the sink (audit.sink) has
	// not accepted them yet; Forwarded is the last row it has.
	Unforwarded bool
	Forwarded   int64
	// HeadKept is set when the newest row, Head, is older than the time given yet remains: the
	// next row chains to it.
	HeadKept bool
	Head     int64
}

// PruneAudit removes the audit rows older than before, in one transaction, once it has checked
// with the audit keys (UseAudit) that they form an unbroken chain from start (the anchor of the
// last row an earlier prune removed; nil when the log still starts at its first row) into the
// first row kept. When the chain is broken it removes nothing and returns the *audit.Broken.
//
// Only the oldest rows go, so that what remains is still a chain: the cut stops at the first row
// at or after before (a transaction that ran long may seal a row with an earlier time after one
// with a later time), keeps the newest row, which the next row will chain to, and, once the log
// is forwarded, keeps every row the sink has not accepted.
func (s *Store) PruneAudit(ctx context.Context, before time.Time, start *audit.Anchor) (AuditPruned, error) {
	var res AuditPruned
	if s.auditKeys == nil {
		return res, ErrNoAuditKey
	}
	var from int64
	v := s.auditKeys.Verifier(nil)
	if start != nil {
		from, v = start.Seq, s.auditKeys.VerifierFrom(*start, nil)
	}
	// One snapshot for the verification and the delete; appends go on meanwhile, past the head
	// this snapshot sees, which is never removed.
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		var head, firstKept, forwarded *int64
		if err := tx.QueryRow(ctx, `SELECT (SELECT max(seq) FROM audit_log), (SELECT min(seq) FROM audit_log WHERE time >= $1),
				(SELECT last_seq FROM audit_forward)`, before).Scan(&head, &firstKept, &forwarded); err != nil {
			return translate("prune audit: find the cut", err)
		}
		if head == nil {
			return nil
		}
		want := *head // the last row older than before, were the log a prefix of them
		if firstKept != nil {
			want = *firstKept - 1
		}
		cut := want
		if cut >= *head {
			cut = *head - 1
		}
		if forwarded != nil && *forwarded < cut {
			cut = *forwarded
		}
		res.Unforwarded = forwarded != nil && cut == *forwarded && cut < want
		res.HeadKept = !res.Unforwarded && cut < want
		res.Head = *head
		if forwarded != nil {
			res.Forwarded = *forwarded
		}
		if cut <= from {
			return nil
		}
		// The rows to remove and the first one kept: a row missing or forged right after the
		// cut breaks the chain that the anchor printed must start.
		rows, err := tx.Query(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2`, from, cut-from+1)
		if err != nil {
			return translate("prune audit: read the rows", err)
		}
		var last *audit.Record
		for rows.Next() {
			r, err := scanAudit(rows)
			if err != nil {
				rows.Close()
				return translate("prune audit: read the rows", err)
			}
			if err := v.Next(r); err != nil {
				rows.Close()
				return err
			}
			if r.Seq <= cut {
				last = r
			}
		}
		if err := rows.Err(); err != nil {
			return translate("prune audit: read the rows", err)
		}
		if last == nil || last.Seq != cut {
			// The rows read verified from start on, so they are every row up to the cut.
			return fmt.Errorf("prune audit: no row at seq %d to cut at", cut)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM audit_log WHERE seq <= $1`, cut)
		if err != nil {
			return translate("prune audit: remove the rows", err)
		}
		res.Rows, res.Last = tag.RowsAffected(), audit.Anchor{Seq: last.Seq, MAC: last.MAC}
		return nil
	})
	if err != nil {
		return AuditPruned{}, err
	}
	return res, nil
}

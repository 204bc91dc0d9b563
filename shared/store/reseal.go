package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// ActionSecretsRotate is the audit action of one batch of a key rotation (docs/variables-and-secrets.md).
const ActionSecretsRotate = "secrets.rotate"

// resealRow is one sealed value a rotation reads: cursor orders the batches.
type resealRow struct {
	id     string
	cursor any
	keyID  string
	sealed []byte
	reseal domain.Resealer
}

// resealBatches re-seals, one transaction per batch of up to limit rows after the cursor: list
// returns a batch, update stores one re-sealed value. Each batch writes one audit row
// (secrets.rotate, object kind kind, with the ids and the key) in the same transaction, so a
// rotation that stops half-way leaves every committed batch recorded and a second run carries on
// with what is left. A value that does not open is skipped, not retried in the same run, so one
// broken row does not stop the rest.
func (s *Store) resealBatches(ctx context.Context, kind, current string, limit int, first any,
	list func(tx pgx.Tx, after any) ([]resealRow, error),
	update func(tx pgx.Tx, r resealRow, sealed []byte) error,
) (domain.ResealReport, error) {
	var rep domain.ResealReport
	after := first
	for {
		var n int
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			rows, err := list(tx, after)
			if err != nil {
				return err
			}
			n = len(rows)
			var done []string
			var failed []domain.ResealFailure
			for _, r := range rows {
				after = r.cursor
				sealed, err := r.reseal(r.keyID, r.sealed)
				if err != nil {
					failed = append(failed, domain.ResealFailure{ID: r.id, KeyID: r.keyID, Err: err})
					continue
				}
				if err := update(tx, r, sealed); err != nil {
					return err
				}
				done = append(done, r.id)
			}
			if len(done) > 0 {
				after := map[string]any{"key_id": current, "resealed": done}
				if err := s.record(ctx, tx, Change{Action: ActionSecretsRotate, ObjectKind: kind, After: after}); err != nil {
					return err
				}
			}
			rep.Resealed += len(done)
			rep.Failed = append(rep.Failed, failed...)
			return nil
		})
		if err != nil {
			return rep, translate("re-seal "+kind+"s", err)
		}
		if n < limit {
			return rep, nil
		}
	}
}

// ResealVariables re-seals, in batches of up to limit, the secret variables not sealed by key
// current; each is stamped updated at now. reseal gets the variable to bind its associated data.
func (s *Store) ResealVariables(ctx context.Context, now time.Time, current string, limit int, reseal func(v *domain.SealedVariable) domain.Resealer) (domain.ResealReport, error) {
	return s.resealBatches(ctx, "variable", current, limit, "00000000-0000-0000-0000-000000000000",
		func(tx pgx.Tx, after any) ([]resealRow, error) {
			rows, err := tx.Query(ctx, `SELECT `+variableColumns+` FROM variables
				WHERE is_secret AND key_id <> $1 AND id > $2::uuid ORDER BY id LIMIT $3 FOR UPDATE`, current, after, limit)
			if err != nil {
				return nil, err
			}
			return pgx.CollectRows(rows, func(r pgx.CollectableRow) (resealRow, error) {
				v, err := scanVariable(r)
				if err != nil {
					return resealRow{}, err
				}
				return resealRow{id: v.ID, cursor: v.ID, keyID: v.KeyID, sealed: v.Ciphertext, reseal: reseal(v)}, nil
			})
		},
		func(tx pgx.Tx, r resealRow, sealed []byte) error {
			_, err := tx.Exec(ctx, `UPDATE variables SET ciphertext = $2, key_id = $3, updated_at = $4 WHERE id = $1`, r.id, sealed, current, now.UTC())
			return err
		})
}

// ResealWebhooks re-seals, in batches of up to limit, the webhook secrets not sealed by key
// current; reseal gets the job id to bind its associated data. The token and everything else
// of a webhook stay as they are: senders notice nothing.
func (s *Store) ResealWebhooks(ctx context.Context, current string, limit int, reseal func(jobID string) domain.Resealer) (domain.ResealReport, error) {
	return s.resealBatches(ctx, "webhook", current, limit, "00000000-0000-0000-0000-000000000000",
		func(tx pgx.Tx, after any) ([]resealRow, error) {
			rows, err := tx.Query(ctx, `SELECT job_id::text, secret_key_id, secret_sealed FROM webhooks
				WHERE secret_key_id <> $1 AND job_id > $2::uuid ORDER BY job_id LIMIT $3 FOR UPDATE`, current, after, limit)
			if err != nil {
				return nil, err
			}
			return pgx.CollectRows(rows, func(row pgx.CollectableRow) (resealRow, error) {
				var r resealRow
				if err := row.Scan(&r.id, &r.keyID, &r.sealed); err != nil {
					return r, err
				}
				r.cursor, r.reseal = r.id, reseal(r.id)
				return r, nil
			})
		},
		func(tx pgx.Tx, r resealRow, sealed []byte) error {
			_, err := tx.Exec(ctx, `UPDATE webhooks SET secret_sealed = $2, secret_key_id = $3 WHERE job_id = $1`, r.id, sealed, current)
			return err
		})
}

// ResealSessionRefresh re-seals, in batches of up to limit, the identity provider's refresh
// tokens that dashboard sessions keep and that are not sealed by key current; reseal gets the
// session's subject to bind its associated data. A token no configured key opens is left as it
// was: the session ends at its next identity check, and the token with it. Sessions are named
// in the report and the audit log by the first 8 bytes of their token hash, in hex, never by
// the hash itself.
func (s *Store) ResealSessionRefresh(ctx context.Context, current string, limit int, reseal func(subject string) domain.Resealer) (domain.ResealReport, error) {
	return s.resealBatches(ctx, "session", current, limit, []byte{},
		func(tx pgx.Tx, after any) ([]resealRow, error) {
			rows, err := tx.Query(ctx, `SELECT token_hash, oidc_subject, refresh_key_id, refresh_sealed FROM dashboard_sessions
				WHERE refresh_sealed IS NOT NULL AND refresh_key_id <> $1 AND token_hash > $2 ORDER BY token_hash LIMIT $3 FOR UPDATE`,
				current, after, limit)
			if err != nil {
				return nil, err
			}
			return pgx.CollectRows(rows, func(row pgx.CollectableRow) (resealRow, error) {
				var (
					r       resealRow
					hash    []byte
					subject string
				)
				if err := row.Scan(&hash, &subject, &r.keyID, &r.sealed); err != nil {
					return r, err
				}
				r.id, r.cursor, r.reseal = fmt.Sprintf("%x", hash[:min(8, len(hash))]), hash, reseal(subject)
				return r, nil
			})
		},
		func(tx pgx.Tx, r resealRow, sealed []byte) error {
			_, err := tx.Exec(ctx, `UPDATE dashboard_sessions SET refresh_sealed = $2, refresh_key_id = $3 WHERE token_hash = $1`, r.cursor, sealed, current)
			return err
		})
}

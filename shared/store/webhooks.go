package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// WebhookRecord is a job's webhook as stored: the hash of its token, never the token, and its
// signing secret sealed with the installation's keys.
type WebhookRecord struct {
	JobID     string
	TokenHash []byte
	TokenHint string
	// KeyID names the key that sealed Sealed.
	KeyID     string
	Sealed    []byte
	Enabled   bool
	CreatedAt time.Time
	CreatedBy string
}

const webhookColumns = `job_id::text, token_hash, token_hint, secret_key_id, secret_sealed, enabled, created_at, coalesce(created_by, '')`

func scanWebhook(row pgx.Row) (*WebhookRecord, error) {
	var w WebhookRecord
	if err := row.Scan(&w.JobID, &w.TokenHash, &w.TokenHint, &w.KeyID, &w.Sealed, &w.Enabled, &w.CreatedAt, &w.CreatedBy); err != nil {
		return nil, err
	}
	w.CreatedAt = w.CreatedAt.UTC()
	return &w, nil
}

// PutWebhook stores w as the webhook of its job — enabled, replacing the token and secret of
// an earlier one, whose calls then answer 404 — with the audit row (job.webhook.enable, or
// job.webhook.regenerate when it replaced one) in the same transaction. The row it describes
// to the audit log is view: what may be told, never the token or the secret. It reports
// whether an earlier webhook was replaced, and returns an error wrapping domain.ErrNotFound
// when the job does not exist.
func (s *Store) PutWebhook(ctx context.Context, w *WebhookRecord, namespace string, view *domain.Webhook) (bool, error) {
	change := Change{Action: "job.webhook.enable", ObjectKind: "job", ObjectID: w.JobID, Namespace: namespace, After: view}
	var replaced bool
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		// Under the job's row lock, as every change of the job: a delete does not race it.
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM jobs WHERE id = $1 FOR SHARE`, w.JobID).Scan(&one); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `INSERT INTO webhooks AS h (job_id, token_hash, token_hint, secret_key_id, secret_sealed, enabled, created_at, created_by)
			VALUES ($1, $2, $3, $4, $5, true, $6, $7)
			ON CONFLICT (job_id) DO UPDATE SET token_hash = excluded.token_hash, token_hint = excluded.token_hint,
				secret_key_id = excluded.secret_key_id, secret_sealed = excluded.secret_sealed, enabled = true,
				created_at = excluded.created_at, created_by = excluded.created_by
			RETURNING (xmax <> 0)`,
			w.JobID, w.TokenHash, w.TokenHint, w.KeyID, w.Sealed, w.CreatedAt, nullable(w.CreatedBy)).Scan(&replaced)
		if err != nil {
			return err
		}
		if replaced {
			change.Action = "job.webhook.regenerate"
		}
		return nil
	})
	return replaced, translate("put webhook", err)
}

// DisableWebhook disables the webhook of job jobID, with the audit row (job.webhook.disable),
// and returns it; calls with its token then answer 403. It returns an error wrapping
// domain.ErrNotFound when the job has no webhook.
func (s *Store) DisableWebhook(ctx context.Context, jobID, namespace string, view func(*WebhookRecord) *domain.Webhook) (*WebhookRecord, error) {
	change := Change{Action: "job.webhook.disable", ObjectKind: "job", ObjectID: jobID, Namespace: namespace}
	var out *WebhookRecord
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		var err error
		out, err = scanWebhook(tx.QueryRow(ctx, `UPDATE webhooks SET enabled = false WHERE job_id = $1 RETURNING `+webhookColumns, jobID))
		if err != nil {
			return err
		}
		change.After = view(out)
		return nil
	})
	if err != nil {
		return nil, translate("disable webhook", err)
	}
	return out, nil
}

// GetWebhook returns the webhook of job jobID, or an error wrapping domain.ErrNotFound.
func (s *Store) GetWebhook(ctx context.Context, jobID string) (*WebhookRecord, error) {
	w, err := scanWebhook(s.pool.QueryRow(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE job_id = $1`, jobID))
	return w, translate("get webhook", err)
}

// WebhookByTokenHash returns the webhook whose token hashes to hash, disabled ones included
// (the caller answers 403), or an error wrapping domain.ErrNotFound.
func (s *Store) WebhookByTokenHash(ctx context.Context, hash []byte) (*WebhookRecord, error) {
	w, err := scanWebhook(s.pool.QueryRow(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE token_hash = $1`, hash))
	return w, translate("get webhook by token", err)
}

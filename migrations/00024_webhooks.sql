-- +goose Up
-- Signed webhooks (docs/webhooks.md): one per job. The URL token is stored as its SHA-256 only,
-- as API tokens are, so the table cannot call a hook; the signing secret must be read back to
-- verify a signature, so it is sealed with the installation's secret keys (AES-256-GCM, bound to
-- the job id) and kept with the id of the key that sealed it. A disabled webhook keeps its
-- token's hash, so calls with it answer 403, not 404; regenerating replaces both.
CREATE TABLE webhooks (
    job_id        uuid        PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    token_hash    bytea       NOT NULL UNIQUE,
    token_hint    text        NOT NULL,
    secret_key_id text        NOT NULL,
    secret_sealed bytea       NOT NULL,
    enabled       boolean     NOT NULL,
    created_at    timestamptz NOT NULL,
    created_by    text
);

-- +goose Down
DROP TABLE webhooks;

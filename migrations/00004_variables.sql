-- +goose Up
-- Variables: values templated into jobs at run time. A secret's value is stored only sealed
-- (AES-256-GCM) with the id of the key that sealed it; the keys live in configuration.
CREATE TABLE variables (
    id         uuid PRIMARY KEY,
    name       text        NOT NULL,
    scope      text        NOT NULL CHECK (scope IN ('global', 'job')),
    job_id     uuid        REFERENCES jobs (id) ON DELETE CASCADE,
    is_secret  boolean     NOT NULL,
    value      text,
    ciphertext bytea,
    key_id     text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((scope = 'global') = (job_id IS NULL)),
    CHECK ((is_secret AND value IS NULL AND ciphertext IS NOT NULL AND key_id IS NOT NULL)
        OR (NOT is_secret AND value IS NOT NULL AND ciphertext IS NULL AND key_id IS NULL))
);

CREATE UNIQUE INDEX variables_identity ON variables (name, scope, coalesce(job_id, '00000000-0000-0000-0000-000000000000'));
CREATE INDEX variables_job_idx ON variables (job_id) WHERE job_id IS NOT NULL;

-- +goose Down
DROP TABLE variables;

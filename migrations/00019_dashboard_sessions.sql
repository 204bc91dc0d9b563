-- +goose Up
-- The dashboard's sign-in sessions. The browser holds a random token in an httpOnly cookie; the
-- table keeps only its SHA-256, so a copy of the table signs nobody in. A session of a database
-- user names the user and the refresh-token family its login opened (a logout, a password change
-- or disabling the user revokes that family, and the session with it); a session of an identity
-- provider's user keeps what the provider said of them at sign-in. Roles are never stored: they
-- are read again on every request.
CREATE TABLE dashboard_sessions (
    token_hash      bytea PRIMARY KEY,
    id              uuid        NOT NULL UNIQUE,
    mode            text        NOT NULL CHECK (mode IN ('database', 'oidc')),
    user_id         uuid REFERENCES users (id) ON DELETE CASCADE,
    refresh_hash    bytea,
    oidc_subject    text,
    oidc_username   text,
    oidc_groups     text[],
    -- Forms and HTMX requests carry a token derived from it (CSRF).
    csrf_secret     bytea       NOT NULL,
    created_at      timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL,
    idle_expires_at timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    CHECK ((mode = 'database') = (user_id IS NOT NULL AND refresh_hash IS NOT NULL)),
    CHECK ((mode = 'oidc') = (oidc_subject IS NOT NULL))
);

-- Expired sessions are deleted in small batches as new ones are made.
CREATE INDEX dashboard_sessions_expires_idx ON dashboard_sessions (expires_at);

-- +goose Down
DROP TABLE dashboard_sessions;

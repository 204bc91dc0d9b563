-- +goose Up
-- A sign-in through the identity provider is trusted only as long as the provider vouches for
-- it: the session keeps the ID token's expiry (at least dashboard.oidc_identity_min after the
-- sign-in) and, when the provider gave one, its refresh token, sealed with AES-256-GCM under a
-- key derived from the configured keys (its id beside it; never in clear). When that time
-- comes, the refresh token reads the user's groups again, or the session ends. Sessions of
-- identity-provider users made before this version have no such time: they end at their next
-- request. refresh_claimed_until lets one request at a time, on any replica, refresh a session.
ALTER TABLE dashboard_sessions
    ADD COLUMN identity_expires_at   timestamptz,
    ADD COLUMN refresh_key_id        text,
    ADD COLUMN refresh_sealed        bytea,
    ADD COLUMN refresh_claimed_until timestamptz,
    ADD CONSTRAINT dashboard_sessions_refresh_sealed CHECK ((refresh_key_id IS NULL) = (refresh_sealed IS NULL)),
    ADD CONSTRAINT dashboard_sessions_identity_oidc CHECK (mode = 'oidc' OR (identity_expires_at IS NULL AND refresh_sealed IS NULL));

-- An admin lists and ends the sessions of one database user or of one identity-provider subject.
CREATE INDEX dashboard_sessions_user_idx ON dashboard_sessions (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX dashboard_sessions_subject_idx ON dashboard_sessions (oidc_subject) WHERE oidc_subject IS NOT NULL;

-- +goose Down
DROP INDEX dashboard_sessions_subject_idx;
DROP INDEX dashboard_sessions_user_idx;
ALTER TABLE dashboard_sessions
    DROP CONSTRAINT dashboard_sessions_identity_oidc,
    DROP CONSTRAINT dashboard_sessions_refresh_sealed,
    DROP COLUMN refresh_claimed_until,
    DROP COLUMN refresh_sealed,
    DROP COLUMN refresh_key_id,
    DROP COLUMN identity_expires_at;

-- +goose Up
-- Settings of a namespace. A namespace has no row of its own until one of its settings is
-- changed: no row reads as the defaults (four eyes off, changes expire after 7 days).
CREATE TABLE namespace_settings (
    namespace         text PRIMARY KEY,
    -- Four eyes: a create, edit or delete of a job in the namespace waits as a pending change
    -- until a second user approves it (docs/four-eyes.md).
    four_eyes         boolean     NOT NULL DEFAULT false,
    -- How long a pending change waits for a decision before it expires.
    change_expiry_ms  bigint      NOT NULL CHECK (change_expiry_ms > 0),
    updated_at        timestamptz NOT NULL,
    updated_by        text
);

-- Pending and decided changes of jobs in four-eyes namespaces. A change past expires_at while
-- pending reads as expired: expiry is evaluated when a change is read, with the caller's clock,
-- so no sweeper has to run for it.
CREATE TABLE job_changes (
    id                uuid PRIMARY KEY,
    namespace         text        NOT NULL,
    action            text        NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    -- The job an update or delete is of; for a create, the job it made once approved.
    job_id            uuid,
    -- The version of the job the change was made on (update, delete): it applies to that
    -- version only.
    base_version      bigint,
    -- The whole new definition (create, update), secret values masked: a definition holds only
    -- references to secret variables, never their values.
    definition        jsonb,
    -- The fields that change, with their values before and after.
    diff              jsonb       NOT NULL,
    -- Who asked: the user (for "another user must approve") and the actor as the audit log
    -- names it (a user, or one of their API tokens).
    requester_user_id text        NOT NULL,
    requester_id      text        NOT NULL,
    requester_name    text        NOT NULL,
    requester_kind    text        NOT NULL,
    requester_mode    text        NOT NULL,
    requested_at      timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    status            text        NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn', 'failed')),
    decided_by        text,
    decided_by_user_id text,
    decided_at        timestamptz,
    comment           text        NOT NULL DEFAULT '',
    -- Why a change that was approved could not be applied (status failed).
    reason            text        NOT NULL DEFAULT '',
    CHECK ((action = 'create') = (base_version IS NULL)),
    CHECK ((action = 'delete') = (definition IS NULL))
);

-- Lists read newest first (ids are UUIDv7, so time-ordered), by namespace and by job.
CREATE INDEX job_changes_namespace_idx ON job_changes (namespace, id DESC);
CREATE INDEX job_changes_job_idx ON job_changes (job_id, id DESC) WHERE job_id IS NOT NULL;
CREATE INDEX job_changes_pending_idx ON job_changes (id DESC) WHERE status = 'pending';

-- +goose Down
DROP TABLE job_changes;
DROP TABLE namespace_settings;

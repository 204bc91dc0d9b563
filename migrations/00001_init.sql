-- +goose Up
CREATE TABLE jobs (
    id          uuid PRIMARY KEY,
    namespace   text        NOT NULL DEFAULT 'default',
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    kind        text        NOT NULL CHECK (kind IN ('http', 'sql')),
    spec        jsonb       NOT NULL,
    schedule    jsonb       NOT NULL,
    timezone    text        NOT NULL,
    enabled     boolean     NOT NULL DEFAULT true,
    timeout_ms  bigint      NOT NULL CHECK (timeout_ms > 0),
    next_run_at timestamptz,
    shard       integer     NOT NULL,
    version     bigint      NOT NULL DEFAULT 1,
    created_by  text,
    updated_by  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (namespace, name)
);

-- The tick's claim reads only enabled jobs in next_run_at order.
CREATE INDEX jobs_due_idx ON jobs (next_run_at) WHERE enabled;

-- Execution history outlives the job it belongs to (audit), so job_id carries no foreign key.
CREATE TABLE job_executions (
    id               uuid PRIMARY KEY,
    job_id           uuid        NOT NULL,
    job_version      bigint      NOT NULL,
    idempotency_key  text        NOT NULL UNIQUE,
    trigger          text        NOT NULL,
    scheduled_at     timestamptz NOT NULL,
    started_at       timestamptz,
    finished_at      timestamptz,
    heartbeat_at     timestamptz,
    status           text        NOT NULL,
    attempt          integer     NOT NULL DEFAULT 1,
    http_status      integer,
    duration_ms      double precision,
    response_excerpt text,
    error            text,
    worker_id        text,
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX job_executions_job_idx ON job_executions (job_id, scheduled_at DESC, id DESC);

-- Fires claimed by the tick and not yet acknowledged by JetStream. A row leaves when its
-- publish is acknowledged; rows left behind by a crash are republished by the relay.
CREATE TABLE outbox (
    idempotency_key text PRIMARY KEY,
    job_id          uuid        NOT NULL,
    kind            text        NOT NULL,
    trigger         text        NOT NULL,
    scheduled_at    timestamptz NOT NULL,
    payload         jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX outbox_scheduled_idx ON outbox (scheduled_at);

-- Wake the tick when a job is created or edited (every edit bumps version; the tick's own
-- next_run_at updates do not, so they never wake it). The channel is per schema.
-- +goose StatementBegin
CREATE FUNCTION vecron_notify_job_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_TABLE_SCHEMA || '.vecron_jobs', '');
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER jobs_notify_insert AFTER INSERT ON jobs
    FOR EACH ROW EXECUTE FUNCTION vecron_notify_job_change();

CREATE TRIGGER jobs_notify_update AFTER UPDATE ON jobs
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version)
    EXECUTE FUNCTION vecron_notify_job_change();

-- +goose Down
DROP TABLE outbox;
DROP TABLE job_executions;
DROP TABLE jobs;
DROP FUNCTION vecron_notify_job_change();

-- +goose Up
-- Misfire and concurrency policies, pause bookkeeping, and what executors need to honour them.
ALTER TABLE jobs
    ADD COLUMN misfire_policy       text    NOT NULL DEFAULT 'fire_once'
        CHECK (misfire_policy IN ('fire_once', 'skip', 'fire_all')),
    ADD COLUMN max_catchup          integer NOT NULL DEFAULT 10 CHECK (max_catchup > 0),
    ADD COLUMN starting_deadline_ms bigint CHECK (starting_deadline_ms > 0),
    ADD COLUMN concurrency_policy   text    NOT NULL DEFAULT 'allow'
        CHECK (concurrency_policy IN ('allow', 'forbid', 'replace')),
    ADD COLUMN paused_at            timestamptz;

-- exclusive marks an execution of a forbid/replace job: at most one of those runs per job.
ALTER TABLE job_executions
    ADD COLUMN exclusive        boolean NOT NULL DEFAULT false,
    ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false;

CREATE UNIQUE INDEX job_executions_one_running ON job_executions (job_id)
    WHERE status = 'running' AND exclusive;

-- Backfill fires wait in the outbox until publish_at, which spaces them by the requested rate.
ALTER TABLE outbox ADD COLUMN publish_at timestamptz;
UPDATE outbox SET publish_at = scheduled_at;
ALTER TABLE outbox ALTER COLUMN publish_at SET NOT NULL;
CREATE INDEX outbox_publish_idx ON outbox (publish_at);

-- +goose Down
DROP INDEX outbox_publish_idx;
ALTER TABLE outbox DROP COLUMN publish_at;
DROP INDEX job_executions_one_running;
ALTER TABLE job_executions DROP COLUMN exclusive, DROP COLUMN cancel_requested;
ALTER TABLE jobs DROP COLUMN misfire_policy, DROP COLUMN max_catchup, DROP COLUMN starting_deadline_ms,
    DROP COLUMN concurrency_policy, DROP COLUMN paused_at;

-- +goose Up
-- Event triggers (docs/event-triggers.md). A job's triggers are kept as written; event_trigger
-- and event_type index them, so a CloudEvent reads only the enabled jobs listening for its type
-- (event_type) or for any type (NULL), never every job.
ALTER TABLE jobs
    ADD COLUMN triggers      jsonb,
    ADD COLUMN event_trigger boolean NOT NULL DEFAULT false,
    ADD COLUMN event_type    text;

CREATE INDEX jobs_event_type_idx ON jobs (event_type, namespace) WHERE event_trigger AND enabled;

-- One row per (job, event) delivered: the key "<job id>:event:<source>/<id>" and the execution
-- that answers it. History is partitioned by instant, so its unique key cannot tell that an
-- event delivered again days later already ran; this table can. Rows older than the
-- deduplication window are deleted in small batches as new ones are written.
CREATE TABLE event_receipts (
    idempotency_key text PRIMARY KEY,
    job_id          uuid        NOT NULL,
    execution_id    uuid        NOT NULL,
    scheduled_at    timestamptz NOT NULL,
    received_at     timestamptz NOT NULL
);

CREATE INDEX event_receipts_received_idx ON event_receipts (received_at);

-- +goose Down
DROP TABLE event_receipts;
DROP INDEX jobs_event_type_idx;
ALTER TABLE jobs DROP COLUMN event_type, DROP COLUMN event_trigger, DROP COLUMN triggers;

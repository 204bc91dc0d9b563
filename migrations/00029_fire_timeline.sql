-- +goose Up
-- What a fire's timeline tells beyond its execution (docs/fire-timeline.md): which tick replica
-- claimed it and when, when the broker stored it and under which stream sequence, and which
-- consumer delivered it how many times. The executor writes them with the statement that records
-- the execution, so they cost a fire no write of its own. Nullable without a default: adding them
-- to the partitioned parent changes only the catalog, on every day already made; days made later
-- copy the parent's shape (vecron_history_partition, LIKE). NULL is "not known": a fire delivered
-- by push, a row recorded before this version, a run that was never claimed by a tick.
ALTER TABLE job_executions
    ADD COLUMN claimed_by text,
    ADD COLUMN claimed_at timestamptz,
    ADD COLUMN published_at timestamptz,
    ADD COLUMN stream_seq bigint,
    ADD COLUMN consumer text,
    ADD COLUMN delivery_count integer;

-- +goose Down
ALTER TABLE job_executions
    DROP COLUMN claimed_by,
    DROP COLUMN claimed_at,
    DROP COLUMN published_at,
    DROP COLUMN stream_seq,
    DROP COLUMN consumer,
    DROP COLUMN delivery_count;

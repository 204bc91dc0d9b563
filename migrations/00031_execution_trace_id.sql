-- +goose Up
-- The trace of a fire (docs/observability.md §3): the W3C trace id (32 hex digits) of the request
-- span that started a run, or of the fire's span, written by the statement that records the
-- execution already, and only when that span was sampled — a link to a trace that was not kept
-- leads nowhere. Nullable without a default: adding it to the partitioned parent changes only the
-- catalog, on every day already made; days made later copy the parent's shape
-- (vecron_history_partition, LIKE). NULL: no sampled trace, or a row recorded before this version.
ALTER TABLE job_executions ADD COLUMN trace_id text;

-- +goose Down
ALTER TABLE job_executions DROP COLUMN trace_id;

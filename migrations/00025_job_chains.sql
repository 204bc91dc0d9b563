-- +goose Up
-- Job chaining (docs/chaining.md): the jobs a job's executions start when they end, with who
-- last wrote them, as one JSON document; NULL for a job that chains to nothing, which is what
-- the executors look at to spend nothing on chains for such a job.
ALTER TABLE jobs ADD COLUMN chains jsonb;

CREATE INDEX jobs_chained_idx ON jobs (id) WHERE chains IS NOT NULL;

-- +goose Down
DROP INDEX jobs_chained_idx;
ALTER TABLE jobs DROP COLUMN chains;

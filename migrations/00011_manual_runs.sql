-- +goose Up
-- A run started by hand with "force" runs beside a running execution of a job whose concurrency
-- policy is forbid, exempt from the one-running rule; its record says so.
ALTER TABLE job_executions ADD COLUMN forced boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE job_executions DROP COLUMN forced;

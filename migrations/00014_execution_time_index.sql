-- +goose Up
-- The newest executions across every job (GET /api/v1/executions) are read in the order of
-- their scheduled instants, through this index, a page at a time: without it, a page would sort
-- a whole day's executions. It costs each fire one more index entry at the right-hand edge of
-- the day's index, and no update of an execution touches it, so outcomes are still written in
-- place (HOT). Partitions made later get it when they are attached.
--
-- On an installation with a large history this statement builds the index on every kept day
-- while writes to job_executions wait: fires are delayed (their misfire policies apply), not
-- lost. Plan the upgrade in a quiet hour.
CREATE INDEX job_executions_time_idx ON job_executions (scheduled_at DESC, id DESC);

-- +goose Down
DROP INDEX job_executions_time_idx;

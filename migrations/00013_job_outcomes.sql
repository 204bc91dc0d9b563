-- +goose Up
-- How a job's fires ended, counted per hour of their scheduled instant: the 7-day success rate
-- and status counts of GET /api/v1/jobs/{id}/stats (and of the job list) read at most 168 rows
-- a job instead of every execution of the week, which for a job firing each second is 604 800.
--
-- Counted by triggers on job_executions, so that no path that ends an execution can forget to
-- count it: an execution counts once, when it leaves queued or running for an end (or is
-- written ended), so its retries count as one outcome: its last.
CREATE TABLE job_outcomes (
    job_id        uuid        NOT NULL,
    hour          timestamptz NOT NULL,
    succeeded     integer     NOT NULL DEFAULT 0,
    failed        integer     NOT NULL DEFAULT 0,
    timed_out     integer     NOT NULL DEFAULT 0,
    skipped       integer     NOT NULL DEFAULT 0,
    cancelled     integer     NOT NULL DEFAULT 0,
    dead_lettered integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, hour)
);

-- +goose StatementBegin
CREATE FUNCTION vecron_count_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Rows are taken in key order, so that two statements counting for the same jobs lock
    -- their counters in the same order and never deadlock.
    INSERT INTO job_outcomes AS o (job_id, hour, succeeded, failed, timed_out, skipped, cancelled, dead_lettered)
    SELECT n.job_id, date_trunc('hour', n.scheduled_at, 'UTC'),
        count(*) FILTER (WHERE n.status = 'succeeded'), count(*) FILTER (WHERE n.status = 'failed'),
        count(*) FILTER (WHERE n.status = 'timed_out'), count(*) FILTER (WHERE n.status = 'skipped'),
        count(*) FILTER (WHERE n.status = 'cancelled'), count(*) FILTER (WHERE n.status = 'dead_lettered')
    FROM new_rows n JOIN old_rows p ON p.id = n.id AND p.scheduled_at = n.scheduled_at
    WHERE n.status NOT IN ('queued', 'running') AND p.status IN ('queued', 'running')
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (job_id, hour) DO UPDATE SET succeeded = o.succeeded + excluded.succeeded,
        failed = o.failed + excluded.failed, timed_out = o.timed_out + excluded.timed_out,
        skipped = o.skipped + excluded.skipped, cancelled = o.cancelled + excluded.cancelled,
        dead_lettered = o.dead_lettered + excluded.dead_lettered;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION vecron_count_inserted_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_outcomes AS o (job_id, hour, succeeded, failed, timed_out, skipped, cancelled, dead_lettered)
    VALUES (NEW.job_id, date_trunc('hour', NEW.scheduled_at, 'UTC'),
        (NEW.status = 'succeeded')::int, (NEW.status = 'failed')::int, (NEW.status = 'timed_out')::int,
        (NEW.status = 'skipped')::int, (NEW.status = 'cancelled')::int, (NEW.status = 'dead_lettered')::int)
    ON CONFLICT (job_id, hour) DO UPDATE SET succeeded = o.succeeded + excluded.succeeded,
        failed = o.failed + excluded.failed, timed_out = o.timed_out + excluded.timed_out,
        skipped = o.skipped + excluded.skipped, cancelled = o.cancelled + excluded.cancelled,
        dead_lettered = o.dead_lettered + excluded.dead_lettered;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- Ends are counted per statement: the finish write of a batch adds one upsert.
CREATE TRIGGER job_executions_count_ended AFTER UPDATE ON job_executions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION vecron_count_ended();
-- A row written already ended (a skip) is counted per row, when its transaction commits: the
-- tick writes misfire skips in the claim that then publishes its fires, and an upsert there
-- would hold the job's counter locked, and every finish of the job's hour waiting, until it
-- commits. The condition is tested by the server without calling anything, so the insert that
-- starts a fire, on the path to its request, writes a running row and pays nothing.
CREATE CONSTRAINT TRIGGER job_executions_count_inserted AFTER INSERT ON job_executions
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.status NOT IN ('queued', 'running')) EXECUTE FUNCTION vecron_count_inserted_ended();

-- The history already kept is not counted here: on a large installation that would hold every
-- write to job_executions for as long as the count took. Counting starts with this version;
-- the 7-day figures fill in over its first week (docs/job-stats.md).

-- +goose Down
DROP TRIGGER job_executions_count_ended ON job_executions;
DROP TRIGGER job_executions_count_inserted ON job_executions;
DROP FUNCTION vecron_count_inserted_ended();
DROP FUNCTION vecron_count_ended();
DROP TABLE job_outcomes;

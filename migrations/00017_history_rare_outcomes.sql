-- +goose Up
-- The history of every job filtered by an outcome that is rare (failed, timed out, skipped,
-- cancelled, dead-lettered) reads only the jobs and hours that the outcome counts say hold one
-- (docs/history-listing.md). This index finds those hours newest first. Its condition names the
-- rare counters only: the counter that moves on nearly every finish, succeeded, is not in it, so
-- a finish that succeeds still updates its counter row in place.
CREATE INDEX job_outcomes_rare ON job_outcomes (hour DESC)
    WHERE failed > 0 OR timed_out > 0 OR skipped > 0 OR cancelled > 0 OR dead_lettered > 0;

-- From when the outcome counts are whole. Counting began with version 13 and did not count the
-- history already kept, so hours before it must still be read row by row. goose stamps a
-- version in the session's zone, which is not known here: the bound is taken 15 hours after the
-- stamp read as UTC, later than the true start whatever the zone was. NULL: every hour is
-- counted, as on an installation that had no history when counting began.
CREATE TABLE outcome_counts_since (
    only_row boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
    since    timestamptz
);
INSERT INTO outcome_counts_since (since)
SELECT CASE WHEN EXISTS (SELECT 1 FROM job_executions WHERE scheduled_at < b.bound) THEN b.bound END
FROM (SELECT coalesce((SELECT date_trunc('hour', min(tstamp)) FROM vecron_schema_migrations WHERE version_id = 13) AT TIME ZONE 'UTC',
        date_trunc('hour', now())) + interval '15 hours' AS bound) b;

-- +goose Down
DROP TABLE outcome_counts_since;
DROP INDEX job_outcomes_rare;

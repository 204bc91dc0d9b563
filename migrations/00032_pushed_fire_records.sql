-- +goose Up
-- What an executor checks a pushed due event against (docs/deploy.md §4, "Pushed events") and
-- the database did not hold before: a push endpoint takes an event from whoever can reach it, so
-- what a fire runs with and which instants a claim handed out must be on record.

-- The fire an outbox row stood for, kept when its publication is acknowledged and the row
-- leaves (in the statement that deletes it), for every trigger but the schedule and backfills,
-- whose fires carry nothing of their own: a delivery pushed after that runs with this payload,
-- trigger and force, never the event's. NULL payload: the fire carries none. Rows leave with
-- their day of history (DropHistoryDays).
CREATE TABLE published_fires (
    idempotency_key text        NOT NULL,
    scheduled_at    timestamptz NOT NULL,
    job_id          uuid        NOT NULL,
    trigger         text        NOT NULL,
    forced          boolean     NOT NULL,
    payload         jsonb,
    PRIMARY KEY (idempotency_key, scheduled_at)
);
CREATE INDEX published_fires_scheduled_idx ON published_fires (scheduled_at);

-- The instants a claim recorded skipped as one row (a long run of misfires, a long freeze): no
-- fire of them was handed out, though the job's next run is past them. Written by the claim
-- only when it records such a row, so rare; a row leaves with the day of history its range ends
-- in.
CREATE TABLE misfire_ranges (
    job_id   uuid        NOT NULL,
    first_at timestamptz NOT NULL,
    -- The end of the range, not in it: the first instant the claim fired (or the cutoff).
    until_at timestamptz NOT NULL,
    PRIMARY KEY (job_id, first_at)
);
CREATE INDEX misfire_ranges_until_idx ON misfire_ranges (until_at);

-- The ranges recorded before this version, read back from their rows' reasons: one pass over the history kept, at upgrade only.
INSERT INTO misfire_ranges (job_id, first_at, until_at)
SELECT job_id, scheduled_at, (substring(error FROM ' until (\S+?): '))::timestamptz
FROM job_executions
WHERE status = 'skipped' AND trigger = 'schedule' AND idempotency_key LIKE '%:misfire:%'
    AND substring(error FROM ' until (\S+?): ') IS NOT NULL
ON CONFLICT DO NOTHING;

-- One row: the first instant execution history still holds, raised as days are dropped. Before
-- it no record can say a fire was skipped or run, so a claim vouches for no instant before it.
CREATE TABLE history_floor (
    one       boolean     PRIMARY KEY DEFAULT true CHECK (one),
    kept_from timestamptz
);
-- Until retention drops a day, the oldest day of history there is: no execution is recorded
-- before it.
INSERT INTO history_floor (kept_from)
SELECT min(to_date(substr(relname, length(relname) - 7), 'YYYYMMDD'))::timestamp AT TIME ZONE 'UTC'
FROM pg_class
WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r' AND relname ~ '^job_executions_p[0-9]{8}$';

-- When the job's present plan (schedule, time zone, calendars' rules) began to be claimed: set
-- by an edit that changes it, and by enabling a job with no pause's start on record. NULL: since
-- the job was created. Instants before it were never the claim's.
ALTER TABLE jobs ADD COLUMN claims_from timestamptz;
-- For the jobs whose plan an edit changed before this version, the last such edit on record.
UPDATE jobs j SET claims_from = a.at
FROM (SELECT object_id, max(time) AS at FROM audit_log
    WHERE object_kind = 'job' AND action = 'job.update' AND before IS NOT NULL AND after IS NOT NULL
        AND (before::jsonb->'schedule' IS DISTINCT FROM after::jsonb->'schedule'
            OR before::jsonb->'timezone' IS DISTINCT FROM after::jsonb->'timezone')
    GROUP BY object_id) a
WHERE j.id::text = a.object_id;

-- The instant of the last fire a claim handed out for a fixed_delay job, whose next run is
-- unknown (NULL) until that fire ends: with no next run to compare with, it is the only instant
-- the claim vouches for. Set by the claim in the statement that clears next_run_at, and by the
-- end of a fire after which the schedule has ended; -infinity: none. NULL: not claimed since this
-- version, and the claim's word covers any instant after its last end, as before, so that a fire
-- in flight during the upgrade is not refused; except for a job whose schedule ended more than a
-- day before, whose last fire is long delivered.
ALTER TABLE jobs ADD COLUMN handed_out_at timestamptz;
UPDATE jobs SET handed_out_at = '-infinity'
WHERE next_run_at IS NULL AND schedule->>'kind' = 'fixed_delay'
    AND (schedule->>'end_at')::timestamptz < now() - interval '1 day';

-- +goose Down
ALTER TABLE jobs DROP COLUMN handed_out_at;
ALTER TABLE jobs DROP COLUMN claims_from;
DROP TABLE history_floor;
DROP TABLE misfire_ranges;
DROP TABLE published_fires;

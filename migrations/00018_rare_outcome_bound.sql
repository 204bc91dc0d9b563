-- +goose Up
-- Beside each hour's outcome counts, the newest of its rare outcomes (failed, timed out,
-- skipped, cancelled, dead-lettered): its scheduled instant and id, the order of the history.
-- The history filtered by rare outcomes ranks the jobs of an hour by it and reads only the
-- newest of them, not every job with such an outcome in that hour (docs/history-listing.md).
--
-- It is a bound, not a fact: an execution counted rare stays counted if its status moves on, so
-- the newest rare outcome may be older, never newer. NULL with rare counts above zero: counted
-- before this version, no bound known. Neither column is indexed, so the finish that updates
-- them still updates its counter row in place.
ALTER TABLE job_outcomes ADD COLUMN rare_at timestamptz, ADD COLUMN rare_id uuid;

-- Whether a newly counted rare outcome (at, id) replaces the bound kept, of a counter row whose
-- rare counts sum to kept_rare. A bound unknown for outcomes counted before stays unknown.
-- +goose StatementBegin
CREATE FUNCTION vecron_rare_newer(kept_at timestamptz, kept_id uuid, kept_rare bigint, at timestamptz, id uuid)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT at IS NOT NULL AND CASE WHEN kept_at IS NULL THEN kept_rare = 0 ELSE (at, id) > (kept_at, kept_id) END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION vecron_count_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Rows are taken in key order, so that two statements counting for the same jobs lock
    -- their counters in the same order and never deadlock.
    INSERT INTO job_outcomes AS o (job_id, hour, succeeded, failed, timed_out, skipped, cancelled, dead_lettered,
        rare_at, rare_id)
    SELECT n.job_id, date_trunc('hour', n.scheduled_at, 'UTC'),
        count(*) FILTER (WHERE n.status = 'succeeded'), count(*) FILTER (WHERE n.status = 'failed'),
        count(*) FILTER (WHERE n.status = 'timed_out'), count(*) FILTER (WHERE n.status = 'skipped'),
        count(*) FILTER (WHERE n.status = 'cancelled'), count(*) FILTER (WHERE n.status = 'dead_lettered'),
        (array_agg(n.scheduled_at ORDER BY n.scheduled_at DESC, n.id DESC) FILTER (WHERE n.status <> 'succeeded'))[1],
        (array_agg(n.id ORDER BY n.scheduled_at DESC, n.id DESC) FILTER (WHERE n.status <> 'succeeded'))[1]
    FROM new_rows n JOIN old_rows p ON p.id = n.id AND p.scheduled_at = n.scheduled_at
    WHERE n.status NOT IN ('queued', 'running') AND p.status IN ('queued', 'running')
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (job_id, hour) DO UPDATE SET succeeded = o.succeeded + excluded.succeeded,
        failed = o.failed + excluded.failed, timed_out = o.timed_out + excluded.timed_out,
        skipped = o.skipped + excluded.skipped, cancelled = o.cancelled + excluded.cancelled,
        dead_lettered = o.dead_lettered + excluded.dead_lettered,
        rare_at = CASE WHEN vecron_rare_newer(o.rare_at, o.rare_id, o.failed + o.timed_out + o.skipped + o.cancelled + o.dead_lettered,
            excluded.rare_at, excluded.rare_id) THEN excluded.rare_at ELSE o.rare_at END,
        rare_id = CASE WHEN vecron_rare_newer(o.rare_at, o.rare_id, o.failed + o.timed_out + o.skipped + o.cancelled + o.dead_lettered,
            excluded.rare_at, excluded.rare_id) THEN excluded.rare_id ELSE o.rare_id END;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION vecron_count_inserted_ended() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    rare boolean := NEW.status <> 'succeeded';
BEGIN
    INSERT INTO job_outcomes AS o (job_id, hour, succeeded, failed, timed_out, skipped, cancelled, dead_lettered,
        rare_at, rare_id)
    VALUES (NEW.job_id, date_trunc('hour', NEW.scheduled_at, 'UTC'),
        (NEW.status = 'succeeded')::int, (NEW.status = 'failed')::int, (NEW.status = 'timed_out')::int,
        (NEW.status = 'skipped')::int, (NEW.status = 'cancelled')::int, (NEW.status = 'dead_lettered')::int,
        CASE WHEN rare THEN NEW.scheduled_at END, CASE WHEN rare THEN NEW.id END)
    ON CONFLICT (job_id, hour) DO UPDATE SET succeeded = o.succeeded + excluded.succeeded,
        failed = o.failed + excluded.failed, timed_out = o.timed_out + excluded.timed_out,
        skipped = o.skipped + excluded.skipped, cancelled = o.cancelled + excluded.cancelled,
        dead_lettered = o.dead_lettered + excluded.dead_lettered,
        rare_at = CASE WHEN vecron_rare_newer(o.rare_at, o.rare_id, o.failed + o.timed_out + o.skipped + o.cancelled + o.dead_lettered,
            excluded.rare_at, excluded.rare_id) THEN excluded.rare_at ELSE o.rare_at END,
        rare_id = CASE WHEN vecron_rare_newer(o.rare_at, o.rare_id, o.failed + o.timed_out + o.skipped + o.cancelled + o.dead_lettered,
            excluded.rare_at, excluded.rare_id) THEN excluded.rare_id ELSE o.rare_id END;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- The counting of version 13, without the bound.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION vecron_count_ended() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE OR REPLACE FUNCTION vecron_count_inserted_ended() RETURNS trigger LANGUAGE plpgsql AS $$
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

DROP FUNCTION vecron_rare_newer(timestamptz, uuid, bigint, timestamptz, uuid);
ALTER TABLE job_outcomes DROP COLUMN rare_at, DROP COLUMN rare_id;

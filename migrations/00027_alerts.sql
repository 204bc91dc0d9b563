-- +goose Up
-- Alerts after repeated failures (docs/alerts.md).
--
-- A job's policy: the streak length that raises an alert, and whether it alerts at all. Plain
-- columns with defaults, so that adding them rewrites no row and the trigger below reads them
-- without decoding anything.
ALTER TABLE jobs ADD COLUMN alert_after smallint NOT NULL DEFAULT 3 CHECK (alert_after BETWEEN 1 AND 1000),
    ADD COLUMN alert_enabled boolean NOT NULL DEFAULT true;

-- The failure streak of each job that has one: a row appears at a job's first failure and goes
-- at its next success, so that a healthy job has no row and its successes write nothing here.
-- No foreign key: the row would then lock its job's row (KEY SHARE) on every failure, and wait
-- behind the tick's claim of that job. A deleted job's row is removed with it (DeleteJob).
CREATE TABLE job_alert_state (
    job_id            uuid        PRIMARY KEY,
    failures          integer     NOT NULL,
    alerted           boolean     NOT NULL DEFAULT false,
    last_error        text,
    last_execution_id uuid,
    started_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);

-- The notices to deliver: an outbox written in the transaction that ends the execution, read
-- by the api's dispatcher. deliveries holds each channel's state by channel name.
CREATE TABLE alerts (
    id                   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id               uuid        NOT NULL,
    namespace            text        NOT NULL,
    job_name             text        NOT NULL,
    state                text        NOT NULL CHECK (state IN ('firing', 'resolved')),
    consecutive_failures integer     NOT NULL,
    threshold            integer     NOT NULL,
    last_error           text,
    execution_id         uuid,
    created_at           timestamptz NOT NULL,
    deliveries           jsonb       NOT NULL DEFAULT '{}',
    next_attempt_at      timestamptz NOT NULL,
    done_at              timestamptz
);
CREATE INDEX alerts_pending_idx ON alerts (next_attempt_at, id) WHERE done_at IS NULL;
CREATE INDEX alerts_job_idx ON alerts (job_id, id);
CREATE INDEX alerts_done_idx ON alerts (done_at) WHERE done_at IS NOT NULL;

-- +goose StatementBegin
-- vecron_alert_count moves job p_job's streak by one ended execution (or missed fire): a
-- failure lengthens it and raises the one alert of the streak when it reaches the job's
-- threshold (at once when p_missed: a fire the watchdog found missed, already late by its grace,
-- of which a dead tick leaves only one per job); a success ends it, with a recovery notice when
-- it had alerted. p_at is the end's instant, from the writer's clock. Two writers for one job queue on its row, so neither counts
-- from a state the other changed.
CREATE FUNCTION vecron_alert_count(p_job uuid, p_failed boolean, p_execution uuid, p_error text, p_at timestamptz,
    p_missed boolean DEFAULT false)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    j        record;
    n        integer;
    was      boolean;
    last_err text;
BEGIN
    IF p_failed THEN
        SELECT namespace, name, alert_after, alert_enabled INTO j FROM jobs WHERE id = p_job;
        IF NOT FOUND OR NOT j.alert_enabled THEN
            RETURN;
        END IF;
        INSERT INTO job_alert_state AS s (job_id, failures, last_error, last_execution_id, started_at, updated_at)
        VALUES (p_job, 1, left(p_error, 1000), p_execution, p_at, p_at)
        ON CONFLICT (job_id) DO UPDATE SET failures = s.failures + 1, last_error = excluded.last_error,
            last_execution_id = excluded.last_execution_id, updated_at = excluded.updated_at
        RETURNING failures, alerted INTO n, was;
        IF NOT was AND (n >= j.alert_after OR p_missed) THEN
            UPDATE job_alert_state SET alerted = true WHERE job_id = p_job;
            INSERT INTO alerts (job_id, namespace, job_name, state, consecutive_failures, threshold, last_error,
                execution_id, created_at, next_attempt_at)
            VALUES (p_job, j.namespace, j.name, 'firing', n, j.alert_after, left(p_error, 1000), p_execution, p_at, p_at);
        END IF;
    ELSE
        DELETE FROM job_alert_state WHERE job_id = p_job RETURNING failures, alerted INTO n, was;
        IF FOUND AND was THEN
            SELECT namespace, name, alert_after INTO j FROM jobs WHERE id = p_job;
            IF FOUND THEN
                INSERT INTO alerts (job_id, namespace, job_name, state, consecutive_failures, threshold,
                    execution_id, created_at, next_attempt_at)
                VALUES (p_job, j.namespace, j.name, 'resolved', n, j.alert_after, p_execution, p_at, p_at);
            END IF;
        END IF;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- vecron_alert_ended counts the executions a statement ended: failed, timed out or
-- dead-lettered for good lengthen their job's streak, a success ends it. A retry is not an end
-- (the row goes back to queued), and skipped or cancelled executions did not run, so they
-- neither lengthen nor end one. A success is looked at only when its job has a streak (or a
-- failure in the same statement): the common end, a healthy job's success, writes nothing.
CREATE FUNCTION vecron_alert_ended() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    -- Most statements end nothing (heartbeats, starts) or only successes of healthy jobs:
    -- two scans of the statement's rows, and an empty index probed, say so.
    IF NOT EXISTS (SELECT 1 FROM new_rows WHERE status IN ('failed', 'timed_out', 'dead_lettered'))
        AND NOT EXISTS (SELECT 1 FROM new_rows n JOIN job_alert_state s ON s.job_id = n.job_id WHERE n.status = 'succeeded') THEN
        RETURN NULL;
    END IF;
    -- In key order, so that two statements lock the streaks of the same jobs in one order.
    FOR r IN
        SELECT e.job_id, e.failed, e.id, e.error, e.at FROM (
            SELECT n.job_id, n.status <> 'succeeded' AS failed, n.id, n.error, n.scheduled_at,
                coalesce(n.finished_at, n.scheduled_at) AS at,
                bool_or(n.status <> 'succeeded') OVER (PARTITION BY n.job_id) AS any_failed
            FROM new_rows n JOIN old_rows p ON p.id = n.id AND p.scheduled_at = n.scheduled_at
            WHERE p.status IN ('queued', 'running') AND n.status IN ('succeeded', 'failed', 'timed_out', 'dead_lettered')) e
        WHERE e.failed OR e.any_failed OR EXISTS (SELECT 1 FROM job_alert_state s WHERE s.job_id = e.job_id)
        ORDER BY e.job_id, e.at, e.scheduled_at, e.id
    LOOP
        PERFORM vecron_alert_count(r.job_id, r.failed, r.id, r.error, r.at);
    END LOOP;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- Named to run after job_executions_count_ended (triggers run in name order): every writer
-- takes the hourly counters, then the streaks.
CREATE TRIGGER job_executions_streak AFTER UPDATE ON job_executions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION vecron_alert_ended();

-- +goose Down
DROP TRIGGER job_executions_streak ON job_executions;
DROP FUNCTION vecron_alert_ended();
DROP FUNCTION vecron_alert_count(uuid, boolean, uuid, text, timestamptz, boolean);
DROP TABLE alerts;
DROP TABLE job_alert_state;
ALTER TABLE jobs DROP COLUMN alert_enabled, DROP COLUMN alert_after;

-- +goose Up
-- An execution's outcome is written over its row on the same page (a HOT update), so that
-- finishing a fire adds no index entries (docs/history-partitions.md, "Outcomes in place"):
-- no index of job_executions names a column the outcome changes, and the day's partitions keep
-- half of each page free for the finished versions of the rows inserted there.

-- Outcomes wait for the moment this takes: one finished between the copy below and the
-- triggers would be a dead letter missing from the list.
LOCK TABLE job_executions IN SHARE ROW EXCLUSIVE MODE;

-- Dead letters are listed, newest first, from a table of their own, kept by triggers; the
-- partial index it replaces named status and finished_at, and so kept every outcome from being
-- written in place.
CREATE TABLE dead_letters (
    execution_id           uuid        NOT NULL,
    execution_scheduled_at timestamptz NOT NULL,
    dead_lettered_at       timestamptz NOT NULL,
    PRIMARY KEY (execution_id, execution_scheduled_at)
);
CREATE INDEX dead_letters_time_idx ON dead_letters (dead_lettered_at DESC, execution_id DESC);
-- Retention deletes a day's rows by their instants.
CREATE INDEX dead_letters_day_idx ON dead_letters (execution_scheduled_at);
INSERT INTO dead_letters (execution_id, execution_scheduled_at, dead_lettered_at)
    SELECT id, scheduled_at, coalesce(finished_at, created_at) FROM job_executions WHERE status = 'dead_lettered';
DROP INDEX job_executions_dead_letters_idx;

-- +goose StatementBegin
CREATE FUNCTION vecron_dead_letter_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dead_letters (execution_id, execution_scheduled_at, dead_lettered_at)
        VALUES (NEW.id, NEW.scheduled_at, coalesce(NEW.finished_at, NEW.created_at))
        ON CONFLICT (execution_id, execution_scheduled_at) DO UPDATE SET dead_lettered_at = EXCLUDED.dead_lettered_at;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION vecron_dead_letter_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM dead_letters WHERE execution_id = OLD.id AND execution_scheduled_at = OLD.scheduled_at;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- As for exclusive_runs, the WHEN clauses keep the functions off every fire that does not
-- become or stop being a dead letter.
CREATE TRIGGER dead_letter_insert AFTER INSERT ON job_executions FOR EACH ROW
    WHEN (NEW.status = 'dead_lettered')
    EXECUTE FUNCTION vecron_dead_letter_add();
-- The list is ordered by the time a dead letter finished, which the API's cursor names: it
-- follows finished_at should anything ever change it.
CREATE TRIGGER dead_letter_start AFTER UPDATE OF status, finished_at ON job_executions FOR EACH ROW
    WHEN (NEW.status = 'dead_lettered'
        AND (OLD.status <> 'dead_lettered' OR OLD.finished_at IS DISTINCT FROM NEW.finished_at))
    EXECUTE FUNCTION vecron_dead_letter_add();
CREATE TRIGGER dead_letter_end AFTER UPDATE OF status ON job_executions FOR EACH ROW
    WHEN (OLD.status = 'dead_lettered' AND NEW.status <> 'dead_lettered')
    EXECUTE FUNCTION vecron_dead_letter_remove();
CREATE TRIGGER dead_letter_delete AFTER DELETE ON job_executions FOR EACH ROW
    WHEN (OLD.status = 'dead_lettered')
    EXECUTE FUNCTION vecron_dead_letter_remove();

-- Days made from now on keep half of each page of executions free; the days already made keep
-- it on the pages they have yet to fill.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION vecron_history_partition(day date) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    parent  text;
    part    text;
    created boolean := false;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(current_schema() || '.vecron_history_partition', 0));
    FOREACH parent IN ARRAY ARRAY['job_executions', 'job_execution_attempts'] LOOP
        part := parent || '_p' || to_char(day, 'YYYYMMDD');
        IF to_regclass(format('%I.%I', current_schema(), part)) IS NULL THEN
            EXECUTE format('CREATE TABLE %I.%I (LIKE %I.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                current_schema(), part, current_schema(), parent);
            IF parent = 'job_executions' THEN
                EXECUTE format('ALTER TABLE %I.%I SET (fillfactor = 50)', current_schema(), part);
            END IF;
            EXECUTE format('ALTER TABLE %I.%I ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                current_schema(), parent, current_schema(), part,
                day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
            created := true;
        END IF;
    END LOOP;
    RETURN created;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$
DECLARE
    part text;
BEGIN
    FOR part IN SELECT c.relname FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname = 'job_executions' AND p.relnamespace = current_schema()::regnamespace LOOP
        EXECUTE format('ALTER TABLE %I.%I SET (fillfactor = 50)', current_schema(), part);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
DECLARE
    part text;
BEGIN
    FOR part IN SELECT c.relname FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname = 'job_executions' AND p.relnamespace = current_schema()::regnamespace LOOP
        EXECUTE format('ALTER TABLE %I.%I RESET (fillfactor)', current_schema(), part);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION vecron_history_partition(day date) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    parent  text;
    part    text;
    created boolean := false;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(current_schema() || '.vecron_history_partition', 0));
    FOREACH parent IN ARRAY ARRAY['job_executions', 'job_execution_attempts'] LOOP
        part := parent || '_p' || to_char(day, 'YYYYMMDD');
        IF to_regclass(format('%I.%I', current_schema(), part)) IS NULL THEN
            EXECUTE format('CREATE TABLE %I.%I (LIKE %I.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                current_schema(), part, current_schema(), parent);
            EXECUTE format('ALTER TABLE %I.%I ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                current_schema(), parent, current_schema(), part,
                day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
            created := true;
        END IF;
    END LOOP;
    RETURN created;
END
$$;
-- +goose StatementEnd

DROP TRIGGER dead_letter_insert ON job_executions;
DROP TRIGGER dead_letter_start ON job_executions;
DROP TRIGGER dead_letter_end ON job_executions;
DROP TRIGGER dead_letter_delete ON job_executions;
DROP FUNCTION vecron_dead_letter_add(), vecron_dead_letter_remove();
CREATE INDEX job_executions_dead_letters_idx ON job_executions (finished_at DESC, id DESC)
    WHERE status = 'dead_lettered';
DROP TABLE dead_letters;

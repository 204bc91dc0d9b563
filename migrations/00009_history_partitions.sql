-- +goose Up
-- Execution history in daily partitions of the fire's scheduled instant, so that retention drops
-- whole days (docs/history-partitions.md). Uniqueness moves to (idempotency_key, scheduled_at),
-- which is as strong as the key alone because a key is always recorded with one instant; the
-- one-running rule moves to exclusive_runs, kept by triggers.

-- vecron_history_partition makes the partitions of one UTC day, of executions and of attempts,
-- unless they exist; it reports whether it made any. CREATE TABLE + ATTACH takes SHARE UPDATE
-- EXCLUSIVE on the parents, so fires go on meanwhile (CREATE TABLE ... PARTITION OF would stop
-- them); the advisory lock keeps two creators of a day from racing.
-- +goose StatementBegin
CREATE FUNCTION vecron_history_partition(day date) RETURNS boolean LANGUAGE plpgsql AS $$
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

ALTER TABLE job_executions RENAME TO job_executions_unpartitioned;
ALTER TABLE job_executions_unpartitioned DROP CONSTRAINT job_executions_pkey,
    DROP CONSTRAINT job_executions_idempotency_key_key;
DROP INDEX job_executions_job_idx, job_executions_dead_letters_idx, job_executions_one_running;

CREATE TABLE job_executions (LIKE job_executions_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY RANGE (scheduled_at);
ALTER TABLE job_executions ADD CONSTRAINT job_executions_pkey PRIMARY KEY (id, scheduled_at),
    ADD CONSTRAINT job_executions_idempotency_key_key UNIQUE (idempotency_key, scheduled_at);
CREATE INDEX job_executions_job_idx ON job_executions (job_id, scheduled_at DESC, id DESC);
CREATE INDEX job_executions_dead_letters_idx ON job_executions (finished_at DESC, id DESC)
    WHERE status = 'dead_lettered';

-- An attempt carries its execution's instant, so it lives and goes in the same day.
ALTER TABLE job_execution_attempts RENAME TO job_execution_attempts_unpartitioned;
ALTER TABLE job_execution_attempts_unpartitioned DROP CONSTRAINT job_execution_attempts_pkey;
CREATE TABLE job_execution_attempts (
    execution_id uuid             NOT NULL,
    attempt      integer          NOT NULL,
    scheduled_at timestamptz      NOT NULL,
    started_at   timestamptz,
    finished_at  timestamptz      NOT NULL,
    status       text             NOT NULL,
    http_status  integer,
    duration_ms  double precision NOT NULL DEFAULT 0,
    error        text,
    worker_id    text,
    PRIMARY KEY (execution_id, attempt, scheduled_at)
) PARTITION BY RANGE (scheduled_at);

-- +goose StatementBegin
DO $$
DECLARE
    d date;
BEGIN
    FOR d IN SELECT DISTINCT (scheduled_at AT TIME ZONE 'UTC')::date FROM job_executions_unpartitioned LOOP
        PERFORM vecron_history_partition(d);
    END LOOP;
END
$$;
-- +goose StatementEnd

INSERT INTO job_executions SELECT * FROM job_executions_unpartitioned;
INSERT INTO job_execution_attempts (execution_id, attempt, scheduled_at, started_at, finished_at, status,
    http_status, duration_ms, error, worker_id)
    SELECT a.execution_id, a.attempt, e.scheduled_at, a.started_at, a.finished_at, a.status,
        a.http_status, a.duration_ms, a.error, a.worker_id
    FROM job_execution_attempts_unpartitioned a JOIN job_executions_unpartitioned e ON e.id = a.execution_id;
DROP TABLE job_execution_attempts_unpartitioned, job_executions_unpartitioned;

-- One row per running execution of a forbid or replace job. The primary key carries the name of
-- the unique index it replaces, so a second one fails as it always did.
CREATE TABLE exclusive_runs (
    job_id       uuid        CONSTRAINT job_executions_one_running PRIMARY KEY,
    execution_id uuid        NOT NULL,
    scheduled_at timestamptz NOT NULL
);
INSERT INTO exclusive_runs (job_id, execution_id, scheduled_at)
    SELECT job_id, id, scheduled_at FROM job_executions WHERE status = 'running' AND exclusive;

-- +goose StatementBegin
CREATE FUNCTION vecron_exclusive_run_start() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO exclusive_runs (job_id, execution_id, scheduled_at) VALUES (NEW.job_id, NEW.id, NEW.scheduled_at);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION vecron_exclusive_run_end() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM exclusive_runs WHERE job_id = OLD.job_id AND execution_id = OLD.id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- The WHEN clauses keep the functions off every non-exclusive fire, nearly all of them.
CREATE TRIGGER exclusive_run_insert AFTER INSERT ON job_executions FOR EACH ROW
    WHEN (NEW.status = 'running' AND NEW.exclusive)
    EXECUTE FUNCTION vecron_exclusive_run_start();
CREATE TRIGGER exclusive_run_start AFTER UPDATE OF status, exclusive ON job_executions FOR EACH ROW
    WHEN (NEW.status = 'running' AND NEW.exclusive AND NOT (OLD.status = 'running' AND OLD.exclusive))
    EXECUTE FUNCTION vecron_exclusive_run_start();
CREATE TRIGGER exclusive_run_end AFTER UPDATE OF status, exclusive ON job_executions FOR EACH ROW
    WHEN (OLD.status = 'running' AND OLD.exclusive AND NOT (NEW.status = 'running' AND NEW.exclusive))
    EXECUTE FUNCTION vecron_exclusive_run_end();
CREATE TRIGGER exclusive_run_delete AFTER DELETE ON job_executions FOR EACH ROW
    WHEN (OLD.status = 'running' AND OLD.exclusive)
    EXECUTE FUNCTION vecron_exclusive_run_end();

-- +goose Down
CREATE TABLE job_executions_unpartitioned (LIKE job_executions INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
INSERT INTO job_executions_unpartitioned SELECT * FROM job_executions;
CREATE TABLE job_execution_attempts_unpartitioned AS
    SELECT execution_id, attempt, started_at, finished_at, status, http_status, duration_ms, error, worker_id
    FROM job_execution_attempts;
DROP TABLE exclusive_runs, job_executions, job_execution_attempts;
DROP FUNCTION vecron_exclusive_run_start(), vecron_exclusive_run_end(), vecron_history_partition(date);
ALTER TABLE job_executions_unpartitioned RENAME TO job_executions;
ALTER TABLE job_executions ADD PRIMARY KEY (id), ADD UNIQUE (idempotency_key);
CREATE INDEX job_executions_job_idx ON job_executions (job_id, scheduled_at DESC, id DESC);
CREATE INDEX job_executions_dead_letters_idx ON job_executions (finished_at DESC, id DESC)
    WHERE status = 'dead_lettered';
CREATE UNIQUE INDEX job_executions_one_running ON job_executions (job_id) WHERE status = 'running' AND exclusive;
ALTER TABLE job_execution_attempts_unpartitioned RENAME TO job_execution_attempts;
ALTER TABLE job_execution_attempts ALTER COLUMN execution_id SET NOT NULL, ALTER COLUMN attempt SET NOT NULL,
    ALTER COLUMN finished_at SET NOT NULL, ALTER COLUMN status SET NOT NULL,
    ALTER COLUMN duration_ms SET NOT NULL, ALTER COLUMN duration_ms SET DEFAULT 0,
    ADD PRIMARY KEY (execution_id, attempt);

-- +goose Up
-- Retries: the per-job policy, each attempt of an execution, and dead letters.
ALTER TABLE jobs ADD COLUMN retry jsonb NOT NULL
    DEFAULT '{"max_attempts": 10, "backoff": ["5s", "15s", "1m0s", "5m0s", "30m0s"]}';

-- A queued execution waits for its next attempt; a dead-lettered one waits for a person.
ALTER TABLE job_executions
    ADD COLUMN next_attempt_at         timestamptz,
    ADD COLUMN dead_letter_state       text CHECK (dead_letter_state IN ('pending', 'replayed', 'discarded')),
    ADD COLUMN dead_letter_replay_key  text,
    ADD COLUMN dead_letter_resolved_at timestamptz;

CREATE INDEX job_executions_dead_letters_idx ON job_executions (finished_at DESC, id DESC)
    WHERE status = 'dead_lettered';

-- One row per finished attempt; the execution row holds the latest state.
CREATE TABLE job_execution_attempts (
    execution_id uuid             NOT NULL,
    attempt      integer          NOT NULL,
    started_at   timestamptz,
    finished_at  timestamptz      NOT NULL,
    status       text             NOT NULL,
    http_status  integer,
    duration_ms  double precision NOT NULL DEFAULT 0,
    error        text,
    worker_id    text,
    PRIMARY KEY (execution_id, attempt)
);

-- +goose Down
DROP TABLE job_execution_attempts;
DROP INDEX job_executions_dead_letters_idx;
ALTER TABLE job_executions DROP COLUMN next_attempt_at, DROP COLUMN dead_letter_state,
    DROP COLUMN dead_letter_replay_key, DROP COLUMN dead_letter_resolved_at;
ALTER TABLE jobs DROP COLUMN retry;

-- +goose Up
-- The missed-fire watchdog (docs/missed-fires.md): a fire that was due and has not started
-- within its job's grace is recorded here, with the stage it stopped at, apart from
-- job_executions: a missed fire still runs when the system recovers (late, not cancelled), and
-- an execution row would make the executor take its delivery for a duplicate. Nothing on the
-- path of a healthy fire writes here; only the watchdog does, one replica per pass.
ALTER TABLE jobs ADD COLUMN missed_after_ms bigint CHECK (missed_after_ms > 0);

CREATE TABLE missed_fires (
    idempotency_key text        PRIMARY KEY,
    job_id          uuid        NOT NULL,
    namespace       text        NOT NULL,
    scheduled_at    timestamptz NOT NULL,
    detected_at     timestamptz NOT NULL,
    stage           text        NOT NULL CHECK (stage IN ('unclaimed', 'unpublished', 'undelivered', 'unacknowledged')),
    stream_seq      bigint,
    delivery_count  integer,
    consumer        text,
    detail          text        NOT NULL DEFAULT '',
    -- Filled by a later pass once the fire became an execution: which, when it started (NULL
    -- for one recorded skipped, as a claim after a dead tick records a misfire) and its status
    -- then.
    execution_id     uuid,
    started_at       timestamptz,
    execution_status text
);

CREATE INDEX missed_fires_job_idx ON missed_fires (job_id, scheduled_at DESC, idempotency_key DESC);
-- Records older than the watchdog's retention leave, a pass's limit at a time.
CREATE INDEX missed_fires_detected_idx ON missed_fires (detected_at);
-- The later passes look only at records whose fire has not become an execution yet.
CREATE INDEX missed_fires_waiting_idx ON missed_fires (detected_at) WHERE execution_id IS NULL;

-- One row: when the last pass began. A replica runs a pass only if it moves this forward, so
-- the replicas take turns without a lock held across the pass.
CREATE TABLE missed_fires_watch (
    one          boolean     PRIMARY KEY DEFAULT true CHECK (one),
    last_pass_at timestamptz
);
INSERT INTO missed_fires_watch DEFAULT VALUES;

-- +goose Down
DROP TABLE missed_fires_watch;
DROP TABLE missed_fires;
ALTER TABLE jobs DROP COLUMN missed_after_ms;

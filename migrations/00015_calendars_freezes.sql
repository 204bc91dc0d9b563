-- +goose Up
-- Shared calendars: dates on which the jobs that name a calendar do not fire, and the weekdays on
-- which they may. A calendar belongs to one namespace, or to every namespace ('*'); jobs name it
-- in schedule.calendars. Names are unique across namespaces, so that a job's schedule names one
-- calendar whichever namespace reads it.
CREATE TABLE calendars (
    name        text        PRIMARY KEY,
    namespace   text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    dates       jsonb       NOT NULL DEFAULT '[]',
    weekdays    jsonb       NOT NULL DEFAULT '[]',
    version     bigint      NOT NULL DEFAULT 1,
    created_by  text,
    updated_by  text,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- The rules of a job's calendars, resolved when the job or one of its calendars is written, so
-- that the tick plans a job from its own row: no calendar is read per claim, let alone per fire.
ALTER TABLE jobs ADD COLUMN calendar_rules jsonb;

-- An edit of a calendar finds the jobs that name it.
CREATE INDEX jobs_calendars_idx ON jobs USING gin ((schedule -> 'calendars'));

-- Freezes: while one holds, the scheduled fires of its namespace's jobs (of every namespace for
-- '*') are recorded skipped. Lifting one early sets lifted_at; rows stay as the record.
CREATE TABLE freezes (
    id         uuid        PRIMARY KEY,
    namespace  text        NOT NULL,
    reason     text        NOT NULL,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL CHECK (ends_at > starts_at),
    lifted_at  timestamptz,
    created_by text,
    lifted_by  text,
    created_at timestamptz NOT NULL
);

-- Every claim reads the freezes still to end.
CREATE INDEX freezes_open_idx ON freezes (ends_at) WHERE lifted_at IS NULL;

-- +goose Down
DROP TABLE freezes;
DROP INDEX jobs_calendars_idx;
ALTER TABLE jobs DROP COLUMN calendar_rules;
DROP TABLE calendars;

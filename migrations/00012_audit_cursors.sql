-- +goose Up
-- How far a reader of the audit log other than the SIEM forwarder has gone: the seq of the last
-- row it has dealt with, by reader name ("job-events": the api publishes each job change as an
-- io.vecron.job.* event). A reader's row starts at the head of the log, so it never replays the
-- history that came before it. The row is also that reader's lock: a replica reads on only
-- while it holds the row FOR UPDATE.
CREATE TABLE audit_cursors (
    name       text PRIMARY KEY,
    last_seq   bigint      NOT NULL CHECK (last_seq >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Made here rather than when an api first publishes, so that no change made between the
-- upgrade and that moment goes unpublished.
INSERT INTO audit_cursors (name, last_seq) SELECT 'job-events', coalesce(max(seq), 0) FROM audit_log;

-- Tell those readers at once that a row was appended (delivered when its transaction commits),
-- so they follow the log without polling it often. The channel is per schema.
-- +goose StatementBegin
CREATE FUNCTION vecron_notify_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_TABLE_SCHEMA || '.vecron_audit', '');
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_log_notify AFTER INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION vecron_notify_audit();

-- +goose Down
DROP TRIGGER audit_log_notify ON audit_log;
DROP FUNCTION vecron_notify_audit();
DROP TABLE audit_cursors;

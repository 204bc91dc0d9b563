-- +goose Up
-- The audit log: one row per change, login and logout, chained by an HMAC whose key lives in
-- configuration (shared/audit). before and after are text, not jsonb: jsonb reformats what it
-- stores, and the MAC covers the exact bytes.
CREATE TABLE audit_log (
    seq         bigint PRIMARY KEY,
    time        timestamptz NOT NULL,
    actor_id    text        NOT NULL,
    actor_name  text        NOT NULL,
    actor_kind  text        NOT NULL,
    auth_mode   text        NOT NULL,
    action      text        NOT NULL,
    object_kind text        NOT NULL,
    object_id   text        NOT NULL,
    namespace   text        NOT NULL,
    before      text,
    after       text,
    source_ip   text        NOT NULL,
    user_agent  text        NOT NULL,
    request_id  text        NOT NULL,
    key_id      text        NOT NULL,
    prev_mac    bytea,
    mac         bytea       NOT NULL
);

CREATE INDEX audit_log_time_idx ON audit_log (time, seq);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, seq);
CREATE INDEX audit_log_object_idx ON audit_log (object_kind, object_id, seq);
CREATE INDEX audit_log_namespace_idx ON audit_log (namespace, seq);
CREATE INDEX audit_log_action_idx ON audit_log (action, seq);

-- +goose Down
DROP TABLE audit_log;

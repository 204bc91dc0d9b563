-- +goose Up
-- How far the audit log has been forwarded to the SIEM (audit.sink): the seq of the last row the
-- sink accepted. One row at most; the api creates it when forwarding first starts, so an
-- installation that never forwarded has none and `vecron audit prune` is not held back by it.
-- The row is also the forwarding lock: a replica delivers only while it holds the row FOR UPDATE.
CREATE TABLE audit_forward (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_seq   bigint      NOT NULL CHECK (last_seq >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE audit_forward;

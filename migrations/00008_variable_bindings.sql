-- +goose Up
-- Where a secret may go and who may use it. allowed_hosts: host patterns a secret may be sent
-- to (empty: anywhere the egress policy allows). namespaces: the namespaces whose jobs see a
-- global variable (empty: every namespace); a job's own variable is already in its namespace.
ALTER TABLE variables
    ADD COLUMN allowed_hosts text[] NOT NULL DEFAULT '{}',
    ADD COLUMN namespaces    text[] NOT NULL DEFAULT '{}',
    ADD CHECK (scope = 'global' OR cardinality(namespaces) = 0);

-- +goose Down
ALTER TABLE variables DROP COLUMN allowed_hosts, DROP COLUMN namespaces;

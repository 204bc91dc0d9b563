-- +goose Up
-- Who may sign in, what they may do where, and their credentials. Passwords and tokens are
-- stored only as hashes.
CREATE TABLE users (
    id            uuid PRIMARY KEY,
    username      text        NOT NULL,
    display_name  text        NOT NULL DEFAULT '',
    -- NULL for a user who signs in only through the identity provider.
    password_hash text,
    disabled      boolean     NOT NULL DEFAULT false,
    source        text        NOT NULL CHECK (source IN ('database', 'oidc')),
    -- The identity provider's subject of an oidc user; NULL for database users.
    subject       text UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX users_username_idx ON users (lower(username));

-- Custom roles; the built-in ones (viewer, operator, editor, admin) live in code.
CREATE TABLE roles (
    name        text PRIMARY KEY,
    description text        NOT NULL DEFAULT '',
    permissions text[]      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- A role granted to a user or to a group (a value of the identity provider's roles claim) in
-- one namespace, or in all of them ('*').
CREATE TABLE role_bindings (
    id         uuid PRIMARY KEY,
    role       text        NOT NULL,
    user_id    uuid        REFERENCES users (id) ON DELETE CASCADE,
    group_name text,
    namespace  text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((user_id IS NULL) <> (group_name IS NULL)),
    UNIQUE NULLS NOT DISTINCT (role, user_id, group_name, namespace)
);

CREATE INDEX role_bindings_user_idx ON role_bindings (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX role_bindings_group_idx ON role_bindings (group_name) WHERE group_name IS NOT NULL;

CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text        NOT NULL,
    hash         bytea       NOT NULL UNIQUE,
    scopes       text[]      NOT NULL,
    namespace    text        NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX api_tokens_user_idx ON api_tokens (user_id, created_at DESC);

-- Refresh tokens rotate: each use retires the row and adds the next of the same family. A
-- retired one presented again means it was stolen, and the family is revoked.
CREATE TABLE refresh_tokens (
    id         uuid PRIMARY KEY,
    family     uuid        NOT NULL,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash       bytea       NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family);
CREATE INDEX refresh_tokens_expiry_idx ON refresh_tokens (expires_at);

-- +goose Down
DROP TABLE refresh_tokens;
DROP TABLE api_tokens;
DROP TABLE role_bindings;
DROP TABLE roles;
DROP TABLE users;

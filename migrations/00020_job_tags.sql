-- +goose Up
-- A job's tags (docs/job-tags.md): lowercase labels that GET /api/v1/jobs?tag= filters by.
--
-- jobs is the table every fire updates (the tick's claim moves next_run_at). The change keeps
-- the time it holds the table short:
-- - A column with a constant default is written to the catalog only (PostgreSQL 11 and later):
--   no row is rewritten, however many jobs there are.
-- - The ALTER waits for the table at most lock_timeout: queued behind a long reader (an
--   export), it would make every claim queue behind itself. Past it, the migration fails and
--   the next start of a function tries again.
-- - The index holds only tagged jobs (WHERE tags <> '{}'). Built here, it has no entry to
--   write: every job has just been given no tag; its cost is one read of the table while
--   writes wait: 0.07 s for 100 000 jobs (34 MB) on a 2-core machine. A claim of an
--   untagged job adds nothing to it; a claim of a tagged one adds an entry to its pending list,
--   as it does to the table's other indexes. Not built CONCURRENTLY: that cannot run in the
--   transaction that adds the column, leaves an invalid index behind a failure for the next run
--   to find, and waits for every older transaction of the database, not only of this table.
SET LOCAL lock_timeout = '10s';
ALTER TABLE jobs ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
CREATE INDEX jobs_tags_idx ON jobs USING gin (tags) WHERE tags <> '{}';

-- +goose Down
DROP INDEX jobs_tags_idx;
ALTER TABLE jobs DROP COLUMN tags;

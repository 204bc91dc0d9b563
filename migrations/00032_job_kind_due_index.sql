-- +goose NO TRANSACTION
-- +goose Up
-- Each kind's next fire (store.NextDueByKind, asked after every claim when tick.prewarm is on:
-- docs/deploy.md §8). Through jobs_due_idx, which holds no kind, a kind with no fire due soon
-- cost a walk over every job due before the bound, of any kind: 8 334 rows and 3.4 ms at a 10 s
-- lead over 50 000 jobs, 50 001 rows and 18 ms at 10 min. Through this index it is one descent
-- per kind. It costs each claimed job one more index entry: a claim moves next_run_at, which
-- jobs_due_idx already holds, so the update is never HOT and writes every index of jobs anyway.
--
-- Built CONCURRENTLY, so that claims and edits go on while it is built (it waits for the
-- transactions that are writing jobs when it begins — a claim holds its jobs under two seconds —
-- and takes SHARE UPDATE EXCLUSIVE, which no write waits for). That cannot run in a transaction,
-- hence NO TRANSACTION: each statement is its own. A build that fails leaves an invalid index of
-- this name behind and the migration unrecorded; the next start drops it before building again
-- (IF NOT EXISTS would keep the invalid one).
DROP INDEX CONCURRENTLY IF EXISTS jobs_kind_due_idx;
CREATE INDEX CONCURRENTLY jobs_kind_due_idx ON jobs (kind, next_run_at) WHERE enabled;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS jobs_kind_due_idx;

-- +goose Up
-- The jobs that chain to a job (its page's "Started by", GET /api/v1/jobs/{id}/upstream): every
-- ref a job's chains name, of the three lists together, in one GIN index, so that finding the
-- jobs naming one ref is an index lookup, not a read of every chained job's chains. The
-- expression is the one the store's query repeats word for word; NULL chains index nothing.
CREATE INDEX jobs_chain_targets_idx ON jobs USING gin (
    (coalesce(chains -> 'on_success', '[]'::jsonb) || coalesce(chains -> 'on_failure', '[]'::jsonb)
        || coalesce(chains -> 'on_completion', '[]'::jsonb))
) WHERE chains IS NOT NULL;

-- +goose Down
DROP INDEX jobs_chain_targets_idx;

package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// ChainRun is one run of a job that the end of another job's execution starts.
type ChainRun struct {
	// Execution is recorded queued (attempt 0) under its key "<job id>:chain:<upstream id>",
	// or skipped when Skip is set.
	Execution *domain.Execution
	// Fire is queued for publication with it; unused when Skip is set.
	Fire domain.Fire
	// Skip, when set, records the execution skipped with this error instead of queuing it.
	Skip string
}

// finishChained records list's attempts and, for each one recorded, queues its chained runs,
// all in one transaction: a crash loses neither, and an attempt recorded already (a result
// delivered twice) queues nothing. A chained run whose key is recorded already is left as it
// is, so a downstream job never starts twice for one upstream execution.
func (s *Store) finishChained(ctx context.Context, list []Finish) ([]bool, error) {
	var at []time.Time
	for _, f := range list {
		for _, c := range f.Chain {
			at = append(at, c.Execution.ScheduledAt)
		}
	}
	var done []bool
	err := s.writeHistory(ctx, at, func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var err error
			if done, err = finishExecutions(ctx, tx, list); err != nil {
				return err
			}
			var runs []ChainRun
			for i, f := range list {
				if done[i] {
					runs = append(runs, f.Chain...)
				}
			}
			return queueChained(ctx, tx, runs)
		})
	})
	if err != nil {
		return nil, translate("finish chained executions", err)
	}
	return done, nil
}

// queueChained records runs, queued with their fires or skipped, in tx; a key already recorded
// keeps its record and queues no fire.
func queueChained(ctx context.Context, tx pgx.Tx, runs []ChainRun) error {
	if len(runs) == 0 {
		return nil
	}
	n := len(runs)
	ids, jobIDs, keys, statuses, errs, kinds := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]*string, n), make([]string, n)
	versions := make([]int64, n)
	scheduled := make([]time.Time, n)
	finished := make([]*time.Time, n)
	payloads := make([][]byte, n)
	for i, r := range runs {
		e := r.Execution
		ids[i], jobIDs[i], keys[i], versions[i], scheduled[i] = e.ID, e.JobID, e.IdempotencyKey, e.JobVersion, e.ScheduledAt
		statuses[i], kinds[i], payloads[i] = string(domain.StatusQueued), string(r.Fire.Kind), r.Fire.Payload
		if r.Skip != "" {
			skip, at := r.Skip, e.ScheduledAt
			statuses[i], errs[i], finished[i], payloads[i] = string(domain.StatusSkipped), &skip, &at, []byte("null")
		}
	}
	_, err := tx.Exec(ctx, `WITH u AS (
			SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::timestamptz[], $6::text[],
				$7::text[], $8::timestamptz[], $9::text[], $10::jsonb[]) WITH ORDINALITY
			AS u(id, job_id, version, key, scheduled, status, error, finished, kind, payload, n)),
		ins AS (
			INSERT INTO job_executions (id, job_id, job_version, idempotency_key, trigger, scheduled_at, status,
				attempt, next_attempt_at, finished_at, error, exclusive, forced)
			SELECT id, job_id, version, key, 'chain', scheduled, status, 0,
				CASE WHEN status = 'queued' THEN scheduled END, finished, error, false, false
			FROM u
			-- In key order, as every writer of job_outcomes counts (migration 00013).
			ORDER BY job_id, scheduled, n
			ON CONFLICT (idempotency_key, scheduled_at) DO NOTHING RETURNING idempotency_key, status)
		INSERT INTO outbox (idempotency_key, job_id, kind, trigger, scheduled_at, payload, publish_at, created_at)
		SELECT u.key, u.job_id, u.kind, 'chain', u.scheduled, u.payload, u.scheduled, u.scheduled
		FROM u JOIN ins ON ins.idempotency_key = u.key AND ins.status = 'queued'
		ON CONFLICT (idempotency_key) DO NOTHING`,
		ids, jobIDs, versions, keys, scheduled, statuses, errs, finished, kinds, payloads)
	if err != nil {
		return err
	}
	// The tick sleeps until its next known instant; the notification makes it look now.
	_, err = tx.Exec(ctx, `SELECT pg_notify(current_schema() || '.vecron_jobs', '')`)
	return err
}

// JobsByRef returns the jobs that refs ("namespace/name") name, by ref; a ref that names no
// job is absent.
func (s *Store) JobsByRef(ctx context.Context, refs []string) (map[string]*domain.Job, error) {
	out := make(map[string]*domain.Job, len(refs))
	if len(refs) == 0 {
		return out, nil
	}
	nss, names := make([]string, len(refs)), make([]string, len(refs))
	for i, r := range refs {
		nss[i], names[i] = domain.SplitRef(r, "")
	}
	rows, err := s.pool.Query(ctx, `SELECT `+jobColumns+` FROM jobs
		WHERE (namespace, name) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, nss, names)
	if err != nil {
		return nil, translate("jobs by ref", err)
	}
	jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.Job, error) { return scanJob(r) })
	if err != nil {
		return nil, translate("jobs by ref", err)
	}
	for _, j := range jobs {
		out[domain.Ref(j.Namespace, j.Name)] = j
	}
	return out, nil
}

// ChainGraph returns the chains of every job that has any but the job exceptID ("" for none),
// by the job's ref: the graph a new chain is checked against for cycles.
func (s *Store) ChainGraph(ctx context.Context, exceptID string) (map[string]domain.Chains, error) {
	rows, err := s.pool.Query(ctx, `SELECT namespace, name, chains FROM jobs WHERE chains IS NOT NULL AND id::text <> $1`, exceptID)
	if err != nil {
		return nil, translate("chain graph", err)
	}
	out := map[string]domain.Chains{}
	var ns, name string
	var c storedChains
	_, err = pgx.ForEachRow(rows, []any{&ns, &name, &c}, func() error {
		out[domain.Ref(ns, name)] = c.Chains.Clone()
		c = storedChains{}
		return nil
	})
	return out, translate("chain graph", err)
}

// chainTargets is every ref a job's chains name, as the index of migration 00030 has it.
const chainTargets = `(coalesce(chains -> 'on_success', '[]'::jsonb) || coalesce(chains -> 'on_failure', '[]'::jsonb)
        || coalesce(chains -> 'on_completion', '[]'::jsonb))`

// Upstreams returns up to limit of the jobs whose chains name the job ref ("namespace/name"),
// in (namespace, name) order, each with the lists that name it.
func (s *Store) Upstreams(ctx context.Context, ref string, limit int) ([]domain.UpstreamJob, error) {
	rows, err := s.pool.Query(ctx, `SELECT id::text, namespace, name,
			coalesce(chains -> 'on_success' ? $1, false), coalesce(chains -> 'on_failure' ? $1, false), coalesce(chains -> 'on_completion' ? $1, false)
		FROM jobs WHERE chains IS NOT NULL AND `+chainTargets+` ? $1
		ORDER BY namespace, name LIMIT $2`, ref, limit)
	if err != nil {
		return nil, translate("upstream jobs", err)
	}
	var (
		u                                  domain.UpstreamJob
		onSuccess, onFailure, onCompletion bool
	)
	var out []domain.UpstreamJob
	_, err = pgx.ForEachRow(rows, []any{&u.ID, &u.Namespace, &u.Name, &onSuccess, &onFailure, &onCompletion}, func() error {
		u.Conditions = nil
		for _, c := range []struct {
			on   bool
			name string
		}{{onSuccess, "on_success"}, {onFailure, "on_failure"}, {onCompletion, "on_completion"}} {
			if c.on {
				u.Conditions = append(u.Conditions, c.name)
			}
		}
		out = append(out, u)
		return nil
	})
	return out, translate("upstream jobs", err)
}

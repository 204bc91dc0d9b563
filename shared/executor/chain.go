package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/sqlresult"
	"github.com/vecron/vecron/shared/store"
)

// ChainStore is what starting chained runs needs of the database: the targets, the freezes of
// their namespaces, and the rights of the chains' editor as they are now.
type ChainStore interface {
	JobsByRef(ctx context.Context, refs []string) (map[string]*domain.Job, error)
	ActiveFreeze(ctx context.Context, ns string, at time.Time) (*domain.Freeze, error)
	GetUser(ctx context.Context, id string) (*domain.User, error)
	GetAPIToken(ctx context.Context, id string) (*domain.APIToken, error)
	BindingsFor(ctx context.Context, userID string, groups []string) ([]store.BoundRole, error)
}

var _ ChainStore = (*store.Store)(nil)

// MaxChainDepth ends a run of chained executions that leads on and on: a cycle that two
// edits racing let past the write-time check, or a chain longer than anyone means.
const MaxChainDepth = 32

// chainRuns returns the runs the end of execution e of d starts (docs/chaining.md), or nil
// when its job chains to nothing for e's status — the common case, decided without a query.
// Each target is read as it is now: a paused or deleted one, one in a frozen namespace, or one
// whose namespace the chains' editor may no longer run jobs in is recorded skipped with why.
func (r *Runtime) chainRuns(ctx context.Context, d event.Due, e *domain.Execution) ([]store.ChainRun, error) {
	if d.Chains == nil || e.FinishedAt == nil {
		return nil, nil
	}
	refs := d.Chains.For(e.Status)
	if len(refs) == 0 {
		return nil, nil
	}
	cs, ok := r.store.(ChainStore)
	if !ok {
		return nil, errors.New("chain: the store cannot start chained runs")
	}
	tp, ts := event.TraceParent(trace.SpanContextFromContext(ctx))
	up := domain.Upstream{JobID: d.JobID, ExecutionID: e.ID, Status: e.Status, HTTPStatus: e.HTTPStatus,
		ResponseExcerpt: e.ResponseExcerpt}
	if d.Kind == domain.KindSQL {
		up.Rows = sqlresult.Rows(e.ResponseExcerpt)
	}
	if d.Trigger == domain.TriggerChain {
		var prev domain.Upstream
		if json.Unmarshal(d.Payload, &prev) == nil {
			up.Depth = prev.Depth + 1
		}
	}
	payload, err := json.Marshal(up)
	if err != nil {
		return nil, err
	}
	targets, err := cs.JobsByRef(ctx, refs)
	if err != nil {
		return nil, err
	}
	rights, noRights, err := r.editorRights(ctx, cs, d.ChainEditor)
	if err != nil {
		return nil, err
	}
	// Keyed by the upstream execution, at the instant it ended: a result recorded again
	// carries the same key and instant, and finds the run recorded.
	at := domain.Instant(*e.FinishedAt)
	freezes := map[string]*domain.Freeze{}
	out := make([]store.ChainRun, 0, len(refs))
	for _, ref := range refs {
		ns, _ := domain.SplitRef(ref, "")
		t := targets[ref]
		skip := ""
		switch {
		case t == nil:
			skip = "skipped: chained job " + ref + " does not exist (deleted or renamed)"
		case up.Depth >= MaxChainDepth:
			skip = fmt.Sprintf("skipped: chain depth %d reached (is there a cycle?)", MaxChainDepth)
		case noRights != "":
			skip = "skipped: " + noRights
		case !rights.Can(domain.PermJobExecute, ns):
			skip = "skipped: whoever last wrote the chains of " + d.JobName + " may no longer run jobs in namespace " + ns
		case !t.Enabled:
			skip = reasonPaused
		}
		if skip == "" {
			f, seen := freezes[ns]
			if !seen {
				if f, err = cs.ActiveFreeze(ctx, ns, at); err != nil {
					return nil, err
				}
				freezes[ns] = f
			}
			if f != nil {
				skip = f.FreezeReason()
			}
		}
		run, err := chainRun(t, ref, d, e, at, payload, skip, tp, ts)
		if err != nil {
			return nil, err
		}
		out = append(out, run)
	}
	return out, nil
}

// chainRun is the run of target t (nil when it does not exist: only a skip is recorded, under
// the upstream job's id, for want of the target's) that e's end starts.
// tp and ts are the upstream attempt's trace context: the chained run continues its trace.
func chainRun(t *domain.Job, ref string, d event.Due, e *domain.Execution, at time.Time, payload []byte, skip, tp, ts string) (store.ChainRun, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return store.ChainRun{}, err
	}
	jobID, version, kind := d.JobID, d.JobVersion, d.Kind
	if t != nil {
		jobID, version, kind = t.ID, t.Version, t.Kind
	}
	key := domain.ChainKey(jobID, e.ID)
	if t == nil {
		key += ":" + ref // one record per missing target, on the upstream job's history
	}
	run := store.ChainRun{Skip: skip, Execution: &domain.Execution{ID: id.String(), JobID: jobID, JobVersion: version,
		IdempotencyKey: key, Trigger: domain.TriggerChain, ScheduledAt: at}}
	if skip != "" {
		return run, nil
	}
	due := event.DueFor(t, at, domain.TriggerChain, key)
	due.Payload, due.Trace, due.TraceState = payload, tp, ts
	data, err := json.Marshal(due)
	if err != nil {
		return run, err
	}
	run.Fire = domain.Fire{Key: key, JobID: t.ID, Kind: kind, Trigger: domain.TriggerChain, ScheduledAt: at, PublishAt: at, Payload: data}
	return run, nil
}

// editorRights returns what the chains' editor may do now, or why nothing: the user is gone or
// disabled, the token revoked or expired. Grants are read from the database as a request's
// are; the grants an identity provider's role claims give (auth.oidc_roles) are not there to
// read, so an editor who signed in that way keeps those of their groups' bindings.
func (r *Runtime) editorRights(ctx context.Context, cs ChainStore, ed *domain.Editor) (domain.Rights, string, error) {
	switch {
	case ed == nil:
		return nil, "the chains have no editor on record", nil
	case ed.TokenID != "":
		t, err := cs.GetAPIToken(ctx, ed.TokenID)
		switch {
		case errors.Is(err, domain.ErrNotFound):
			return nil, "the API token that last wrote the chains no longer exists", nil
		case err != nil:
			return nil, "", err
		case t.RevokedAt != nil || (t.ExpiresAt != nil && !t.ExpiresAt.After(r.now())):
			return nil, "the API token that last wrote the chains is revoked or expired", nil
		}
		creator, why, err := r.userRights(ctx, cs, t.UserID)
		if creator == nil {
			return nil, why, err
		}
		return creator.Restrict(t.ID, t.Name, t.Namespace, t.Scopes), "", nil
	case ed.UserID != "":
		id, why, err := r.userRights(ctx, cs, ed.UserID)
		if id == nil {
			return nil, why, err
		}
		return id, "", nil
	}
	bound, err := cs.BindingsFor(ctx, "", ed.Groups)
	if err != nil {
		return nil, "", err
	}
	return rbac.NewIdentity("", "", rbac.KindUser, "oidc", "", grantsOf(bound)), "", nil
}

func (r *Runtime) userRights(ctx context.Context, cs ChainStore, userID string) (*rbac.Identity, string, error) {
	u, err := cs.GetUser(ctx, userID)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return nil, "the user who last wrote the chains no longer exists", nil
	case err != nil:
		return nil, "", err
	case u.Disabled:
		return nil, "the user who last wrote the chains is disabled", nil
	}
	bound, err := cs.BindingsFor(ctx, userID, nil)
	if err != nil {
		return nil, "", err
	}
	return rbac.NewIdentity(userID, u.Username, rbac.KindUser, "database", userID, grantsOf(bound)), "", nil
}

// grantsOf turns bindings into grants, as the identity service does for a request.
func grantsOf(bound []store.BoundRole) []domain.Grant {
	var out []domain.Grant
	for _, b := range bound {
		perms := b.Permissions
		if !b.Custom {
			role, ok := rbac.BuiltinRole(b.Role)
			if !ok {
				continue
			}
			perms = role.Permissions
		}
		out = append(out, domain.Grant{Namespace: b.Namespace, Permissions: perms})
	}
	return out
}

package jobs

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/vecron/vecron/shared/domain"
)

// MaxChainTargets bounds the jobs one job's chains name, all lists together: every end of an
// execution queues at most this many runs in the transaction that records it.
const MaxChainTargets = 20

// ChainStore is what checking chains needs of the database.
type ChainStore interface {
	JobsByRef(ctx context.Context, refs []string) (map[string]*domain.Job, error)
	ChainGraph(ctx context.Context, exceptID string) (map[string]domain.Chains, error)
}

// chainLists names each list of c with its field, for errors.
func chainLists(c *domain.Chains) []struct {
	field string
	refs  *[]string
} {
	return []struct {
		field string
		refs  *[]string
	}{{"on_success", &c.OnSuccess}, {"on_failure", &c.OnFailure}, {"on_completion", &c.OnCompletion}}
}

// validateChains checks the form of j's chains and writes each ref as "namespace/name" (a bare
// name is in j's namespace). It needs nothing but j.
func validateChains(v *domain.ValidationError, j *domain.Job) {
	for _, l := range chainLists(&j.Chains) {
		if len(*l.refs) == 0 {
			*l.refs = nil
			continue
		}
		seen := map[string]bool{}
		for i, ref := range *l.refs {
			field := fmt.Sprintf("%s[%d]", l.field, i)
			ns, name := domain.SplitRef(strings.TrimSpace(ref), j.Namespace)
			switch {
			case !domain.ValidNamespace(ns):
				v.Add(field, `must be a job's name, or "namespace/name" with a valid namespace`)
				continue
			case name == "" || len(name) > MaxNameLen || strings.IndexFunc(name, unicode.IsControl) >= 0:
				v.Add(field, fmt.Sprintf("must name a job: 1 to %d bytes without control characters", MaxNameLen))
				continue
			}
			full := domain.Ref(ns, name)
			if seen[full] {
				v.Add(field, fmt.Sprintf("names %s twice in %s", full, l.field))
			}
			seen[full] = true
			(*l.refs)[i] = full
		}
	}
	if n := len(j.Chains.All()); n > MaxChainTargets {
		v.Add("on_success", fmt.Sprintf("the chains name %d jobs; at most %d in all", n, MaxChainTargets))
	}
}

// checkChainTargets checks, against the database, the chains of j as the caller in ctx writes
// them: each target exists and the caller may read it, the caller may run jobs in its
// namespace (ARCHITECTURE §11), and no chain leads back to j. It records the caller as the
// chains' editor, whose rights each chained run is checked against again.
func (s *Service) checkChainTargets(ctx context.Context, j *domain.Job, cs ChainStore) error {
	if j.Chains.Empty() {
		j.Editor = nil
		return nil
	}
	if cs == nil {
		cs = s.store
	}
	caller, ok := domain.CallerFrom(ctx)
	if !ok || caller.Rights == nil {
		return &domain.ValidationError{Fields: []domain.FieldError{{Field: "on_success",
			Reason: "chains are written by a signed-in caller, whose rights they are checked against"}}}
	}
	targets, err := cs.JobsByRef(ctx, j.Chains.All())
	if err != nil {
		return err
	}
	var v domain.ValidationError
	self := domain.Ref(j.Namespace, j.Name)
	for _, l := range chainLists(&j.Chains) {
		for i, ref := range *l.refs {
			field := fmt.Sprintf("%s[%d]", l.field, i)
			t := targets[ref]
			ns, _ := domain.SplitRef(ref, "")
			switch {
			case ref == self:
				v.Add(field, fmt.Sprintf("would start the job itself: the chain %s → %s is a cycle", self, self))
			case t == nil || !caller.Rights.Can(domain.PermJobRead, ns):
				// Whether a job exists where the caller cannot read is not theirs to learn.
				v.Add(field, fmt.Sprintf("job %s does not exist", ref))
			case !caller.Rights.Can(domain.PermJobExecute, ns):
				v.Add(field, fmt.Sprintf("you may not run jobs in namespace %s (job:execute), so this job may not start %s", ns, ref))
			}
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	// The job's stored chains (under the name an edit may be leaving) give way to these.
	graph, err := cs.ChainGraph(ctx, j.ID)
	if err != nil {
		return err
	}
	graph[self] = j.Chains
	if cycle := FindCycle(self, func(ref string) []string { return graph[ref].All() }); cycle != nil {
		field := "on_success"
		for _, l := range chainLists(&j.Chains) {
			if i := slices.Index(*l.refs, cycle[1]); i >= 0 {
				field = fmt.Sprintf("%s[%d]", l.field, i)
				break
			}
		}
		return &domain.ValidationError{Fields: []domain.FieldError{{Field: field,
			Reason: "the chains would form a cycle: " + strings.Join(cycle, " → ")}}}
	}
	ed := caller.Editor
	j.Editor = &ed
	return nil
}

// FindCycle returns a path of refs from start back to start along next (start first and last),
// or nil when there is none. It visits each ref once, so it ends on any graph.
func FindCycle(start string, next func(ref string) []string) []string {
	visited := map[string]bool{}
	var path []string
	var walk func(ref string) bool
	walk = func(ref string) bool {
		path = append(path, ref)
		for _, n := range next(ref) {
			if n == start {
				path = append(path, start)
				return true
			}
			if !visited[n] {
				visited[n] = true
				if walk(n) {
					return true
				}
			}
		}
		path = path[:len(path)-1]
		return false
	}
	visited[start] = true
	if walk(start) {
		return path
	}
	return nil
}

// batchChains is the chain graph as it will be once a batch of writes (an apply, an import) is
// made: the batch's jobs as written, over the stored ones, without the ones it deletes. A job
// of the batch may chain to another of it whatever their order, and a cycle the batch would
// close among its own jobs, or through stored ones, is found as it would be one job at a time.
type batchChains struct {
	base ChainStore
	// jobs are the batch's jobs by ref, their chains written as refs.
	jobs    map[string]*domain.Job
	deleted map[string]bool
}

// batchChains returns the chain graph once written are stored and deleted are gone.
func (s *Service) batchChains(written, deleted []*domain.Job) *batchChains {
	b := &batchChains{base: s.store, jobs: make(map[string]*domain.Job, len(written)), deleted: map[string]bool{}}
	for _, j := range deleted {
		b.deleted[domain.Ref(j.Namespace, j.Name)] = true
	}
	for _, j := range written {
		if j == nil {
			continue
		}
		ns := strings.TrimSpace(j.Namespace)
		if ns == "" {
			ns = domain.DefaultNamespace
		}
		c := *cloneJob(j)
		c.Namespace = ns
		for _, l := range chainLists(&c.Chains) {
			for i, ref := range *l.refs {
				n, name := domain.SplitRef(strings.TrimSpace(ref), ns)
				(*l.refs)[i] = domain.Ref(n, name)
			}
		}
		b.jobs[domain.Ref(ns, j.Name)] = &c
	}
	return b
}

// JobsByRef returns the jobs of refs, the batch's over the stored ones.
func (b *batchChains) JobsByRef(ctx context.Context, refs []string) (map[string]*domain.Job, error) {
	out := map[string]*domain.Job{}
	var rest []string
	for _, ref := range refs {
		if j, ok := b.jobs[ref]; ok {
			out[ref] = j
		} else if !b.deleted[ref] {
			rest = append(rest, ref)
		}
	}
	if len(rest) == 0 {
		return out, nil
	}
	stored, err := b.base.JobsByRef(ctx, rest)
	if err != nil {
		return nil, err
	}
	maps.Copy(out, stored)
	return out, nil
}

// ChainGraph returns the chains of every job but exceptID's as the batch leaves them.
func (b *batchChains) ChainGraph(ctx context.Context, exceptID string) (map[string]domain.Chains, error) {
	g, err := b.base.ChainGraph(ctx, exceptID)
	if err != nil {
		return nil, err
	}
	for ref := range b.deleted {
		delete(g, ref)
	}
	for ref, j := range b.jobs {
		switch {
		case exceptID != "" && j.ID == exceptID:
		case j.Chains.Empty():
			delete(g, ref)
		default:
			g[ref] = j.Chains.Clone()
		}
	}
	return g, nil
}

package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
)

// MaxApplyItems bounds the jobs one apply lists: its plan, its transaction and its audit entries
// stay of a size one review and one commit can hold.
const MaxApplyItems = 1000

// ApplyItem is one job of an apply.
type ApplyItem struct {
	Job *domain.Job
	// KeepEnabled says the item leaves enabled out: a job that exists keeps its state (an
	// operator's pause outlives the next apply), a new one is enabled.
	KeepEnabled bool
}

// ApplyRequest asks that the jobs of some namespaces be as Items define them.
type ApplyRequest struct {
	Items []ApplyItem
	// Namespaces, when given, are the namespaces the apply is about: every item must be in one,
	// and a prune reaches all of them, even one no item is in (to empty it). Otherwise they are
	// the namespaces of the items.
	Namespaces []string
	// Prune deletes the jobs of those namespaces that Items do not list.
	Prune bool
}

// Batch is an ApplyRequest checked on its own: every item valid, no job listed twice. Plan
// compares it with the stored jobs.
type Batch struct {
	items      []batchItem
	namespaces []string
	prune      bool
}

type batchItem struct {
	index       int
	job         *domain.Job // normalised
	keepEnabled bool
}

// Namespaces returns the namespaces the apply reads and may change, sorted: where the caller
// needs job:write (and job:delete to prune).
func (b *Batch) Namespaces() []string { return slices.Clone(b.namespaces) }

// Prune reports whether the apply deletes the jobs it does not list.
func (b *Batch) Prune() bool { return b.prune }

// CheckApply checks req without the database: every item as a create checks it, no job listed
// twice, every item in the namespaces named. It returns a *domain.ValidationError whose fields
// start with the item ("jobs[3].schedule.cron") and whose reasons name its job.
func CheckApply(req ApplyRequest) (*Batch, error) {
	var v domain.ValidationError
	if len(req.Items) > MaxApplyItems {
		v.Add("jobs", fmt.Sprintf("lists %d jobs; an apply takes at most %d", len(req.Items), MaxApplyItems))
		return nil, &v
	}
	named := map[string]bool{}
	for i, ns := range req.Namespaces {
		if !domain.ValidNamespace(ns) {
			v.Add(fmt.Sprintf("namespaces[%d]", i), "must be 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit")
		}
		named[ns] = true
	}
	b := &Batch{prune: req.Prune}
	seen := map[string]int{}
	spaces := map[string]bool{}
	for i, it := range req.Items {
		if it.Job == nil {
			v.Add(fmt.Sprintf("jobs[%d]", i), "must be a job")
			continue
		}
		j := Normalize(it.Job)
		field := fmt.Sprintf("jobs[%d]", i)
		if _, err := Validate(j); err != nil {
			addItem(&v, field, j, err)
			continue
		}
		if len(named) > 0 && !named[j.Namespace] {
			v.Add(field+".namespace", fmt.Sprintf("%q is not one of the namespaces the request names (job %s)", j.Namespace, label(j)))
		}
		key := j.Namespace + "\x00" + j.Name
		if k, dup := seen[key]; dup {
			v.Add(field+".name", fmt.Sprintf("repeats jobs[%d]: an apply lists each job once (job %s)", k, label(j)))
			continue
		}
		seen[key] = i
		spaces[j.Namespace] = true
		b.items = append(b.items, batchItem{index: i, job: j, keepEnabled: it.KeepEnabled})
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	for ns := range named {
		spaces[ns] = true
	}
	if len(spaces) == 0 {
		// Nothing names a namespace: an apply is about the namespaces it names, never "all".
		return nil, &domain.ValidationError{Fields: []domain.FieldError{{Field: "jobs",
			Reason: `is empty and "namespaces" names none: an apply changes only the namespaces it names; to empty a namespace, name it in "namespaces" with "prune"`}}}
	}
	// Never nil: a nil list of namespaces reads every namespace's jobs.
	b.namespaces = make([]string, 0, len(spaces))
	for ns := range spaces {
		b.namespaces = append(b.namespaces, ns)
	}
	slices.Sort(b.namespaces)
	return b, nil
}

// addItem adds the problems err names to v, under the item's field and naming its job.
func addItem(v *domain.ValidationError, field string, j *domain.Job, err error) {
	var verr *domain.ValidationError
	if !errors.As(err, &verr) {
		v.Add(field, err.Error())
		return
	}
	for _, f := range verr.Fields {
		v.Add(field+"."+f.Field, fmt.Sprintf("%s (job %s)", f.Reason, label(j)))
	}
}

// label names a job in a message: its namespace and name, quoted, cut when long.
func label(j *domain.Job) string {
	s := j.Namespace + "/" + j.Name
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return strconv.Quote(s)
}

// Action is what an apply does to one job.
type Action string

// Actions.
const (
	ActionCreate    Action = "create"
	ActionUpdate    Action = "update"
	ActionDelete    Action = "delete"
	ActionUnchanged Action = "unchanged"
)

// PlanItem is what an apply does to one job.
type PlanItem struct {
	Namespace, Name string
	Action          Action
	// Diff lists the fields the action sets (every field for a create, none for a delete or an
	// unchanged job).
	Diff []FieldChange
	// Index is the job's position in the request; -1 for a job it does not list (a prune).
	Index int
	// Current is the stored job the plan was made on (nil for a create); Desired is the
	// definition asked for, normalised (nil for a delete).
	Current, Desired *domain.Job
	// Job is the job as stored once the plan is applied: created, updated, deleted (as it was)
	// or unchanged; nil when the action was proposed instead.
	Job *domain.Job
	// Change is the pending change the action became, in a namespace that requires four eyes.
	Change *domain.Change
}

// ApplyAs says who applies a plan, for the namespaces that require four eyes.
type ApplyAs struct {
	// Changes stores pending changes and reads the namespaces' settings.
	Changes ChangeStore
	// UserID is the user who applies; the actor the context carries is who the audit log names.
	UserID string
}

// Plan compares b with the stored jobs of its namespaces and returns what applying it does, job
// by job in (namespace, name) order. It changes nothing. A job that the plan would update or
// create in a way its single edit or create refuses (a kind changed, a schedule that never fires
// again) is a *domain.ValidationError naming the item.
func (s *Service) Plan(ctx context.Context, b *Batch) ([]PlanItem, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	listed := make(map[string]bool, len(b.items))
	for _, it := range b.items {
		listed[it.job.Namespace+"\x00"+it.job.Name] = true
	}
	current := map[string]*domain.Job{}
	err := s.store.JobsByName(ctx, b.namespaces, func(page []*domain.Job) error {
		for _, j := range page {
			if key := j.Namespace + "\x00" + j.Name; b.prune || listed[key] {
				current[key] = j
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The chains are checked against the graph the whole apply leaves, so a job may chain to
	// another the same apply creates, whatever their order in the file.
	written := make([]*domain.Job, 0, len(b.items))
	for _, it := range b.items {
		written = append(written, it.job)
	}
	var gone []*domain.Job
	for key, cur := range current {
		if !listed[key] {
			gone = append(gone, cur)
		}
	}
	cs := s.batchChains(written, gone)
	var v domain.ValidationError
	plan := make([]PlanItem, 0, len(b.items))
	for _, it := range b.items {
		key := it.job.Namespace + "\x00" + it.job.Name
		want, cur := cloneJob(it.job), current[key]
		delete(current, key)
		p := PlanItem{Namespace: want.Namespace, Name: want.Name, Index: it.index, Current: cur, Desired: want}
		field := "jobs[" + strconv.Itoa(it.index) + "]"
		if cur == nil {
			p.Action, p.Diff = ActionCreate, Diff(nil, want)
			if err := s.prepareNew(ctx, cloneJob(want), now, cs); err != nil {
				addItem(&v, field, want, err)
			}
			plan = append(plan, p)
			continue
		}
		if it.keepEnabled {
			want.Enabled = cur.Enabled
		}
		p.Action, p.Diff = ActionUpdate, Diff(cur, want)
		if !slices.ContainsFunc(p.Diff, func(c FieldChange) bool { return c.Path == "timezone" || strings.HasPrefix(c.Path, "schedule.") }) {
			// The same plan as stored, written as stored: the edit keeps the next run where the
			// tick has it, as an edit of other fields does.
			want.Schedule = cloneJob(cur).Schedule
		}
		if len(p.Diff) == 0 {
			p.Action, p.Diff, p.Job = ActionUnchanged, nil, cur
		} else if _, err := s.prepareUpdate(ctx, cur, cloneJob(want), now, cs); err != nil {
			addItem(&v, field, want, err)
		}
		plan = append(plan, p)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	for _, cur := range current { // only left with prune: the jobs not listed
		plan = append(plan, PlanItem{Namespace: cur.Namespace, Name: cur.Name, Action: ActionDelete, Index: -1, Current: cur})
	}
	slices.SortFunc(plan, func(a, b PlanItem) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return plan, nil
}

// Apply makes the changes of plan in one transaction, each as its single create, edit or
// delete makes it (one audit entry each): all or none. A job changed, deleted or created by
// someone else since the plan was made fails the whole apply with an error wrapping
// domain.ErrConflict (a *domain.ConflictError naming the item). It returns plan with each
// item's Job set. An item in a namespace that requires four eyes is not made but proposed: stored
// as a pending change in the same transaction, and its Change set (docs/four-eyes.md).
func (s *Service) Apply(ctx context.Context, plan []PlanItem, as ApplyAs) ([]PlanItem, error) {
	for attempt := 1; ; attempt++ {
		out, err := s.apply(ctx, plan, as, attempt == maxCalendarRetries)
		if errors.Is(err, store.ErrCalendarsChanged) {
			continue // planned by a calendar edited meanwhile: plan again
		}
		return out, err
	}
}

// apply is one attempt of Apply; unless it is the last, a calendar changed meanwhile is
// store.ErrCalendarsChanged, for another.
func (s *Service) apply(ctx context.Context, plan []PlanItem, as ApplyAs, last bool) ([]PlanItem, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	var (
		v        domain.ValidationError
		changes  []domain.JobChange
		at       []int
		proposed []*domain.Change
	)
	// As in Plan: the chains are checked against the graph the whole plan leaves.
	var written, gone []*domain.Job
	for _, p := range plan {
		switch p.Action {
		case ActionCreate, ActionUpdate:
			written = append(written, p.Desired)
		case ActionDelete:
			gone = append(gone, p.Current)
		}
	}
	cs := s.batchChains(written, gone)
	fourEyes := map[string]bool{}
	for i, p := range plan {
		if p.Action == ActionUnchanged {
			plan[i].Job = p.Current
			continue
		}
		on, seen := fourEyes[p.Namespace]
		if !seen {
			var err error
			if on, err = s.FourEyes(ctx, as.Changes, p.Namespace); err != nil {
				return nil, err
			}
			fourEyes[p.Namespace] = on
		}
		if on {
			c, err := s.newChange(ctx, as.Changes, proposalOf(p, as.UserID), now)
			if err != nil {
				addItem(&v, itemField(p), cmp.Or(p.Desired, p.Current), err)
				continue
			}
			plan[i].Change, proposed = c, append(proposed, c)
			continue
		}
		var c domain.JobChange
		switch p.Action {
		case ActionCreate:
			c = domain.JobChange{Write: domain.ChangeCreate, Job: cloneJob(p.Desired)}
			if err := s.prepareNew(ctx, c.Job, now, cs); err != nil {
				addItem(&v, itemField(p), p.Desired, err)
			}
		case ActionUpdate:
			c = domain.JobChange{Write: domain.ChangeUpdate, Job: cloneJob(p.Desired), IfVersion: p.Current.Version}
			var err error
			if c.KeepNext, err = s.prepareUpdate(ctx, p.Current, c.Job, now, cs); err != nil {
				addItem(&v, itemField(p), p.Desired, err)
			}
		case ActionDelete:
			c = domain.JobChange{Write: domain.ChangeDelete, Job: p.Current, IfVersion: p.Current.Version}
		default:
			plan[i].Job = p.Current
			continue
		}
		changes, at = append(changes, c), append(at, i)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if len(changes) == 0 && len(proposed) == 0 {
		return plan, nil
	}
	stored, err := s.store.ApplyJobs(ctx, changes, proposed, now)
	var cerr *domain.JobChangeError
	if errors.As(err, &cerr) && cerr.Index >= 0 && cerr.Index < len(at) {
		if !last && errors.Is(cerr.Err, store.ErrCalendarsChanged) {
			return nil, store.ErrCalendarsChanged
		}
		return nil, changeConflict(plan[at[cerr.Index]], cerr.Err)
	}
	if err != nil {
		return nil, err
	}
	for k, j := range stored {
		j.DeriveState()
		plan[at[k]].Job = j
	}
	return plan, nil
}

// proposalOf is the pending change that plan item p becomes, asked by the user userID.
func proposalOf(p PlanItem, userID string) Proposal {
	switch p.Action {
	case ActionCreate:
		return Proposal{Action: domain.ChangeCreate, Job: cloneJob(p.Desired), UserID: userID}
	case ActionUpdate:
		return Proposal{Action: domain.ChangeUpdate, Job: cloneJob(p.Desired), Current: p.Current, IfVersion: p.Current.Version, UserID: userID}
	}
	return Proposal{Action: domain.ChangeDelete, Current: p.Current, IfVersion: p.Current.Version, UserID: userID}
}

// itemField is the field of the request a plan item stands for: its job's entry, or for a job
// the request does not list, "prune".
func itemField(p PlanItem) string {
	if p.Index < 0 {
		return "prune"
	}
	return "jobs[" + strconv.Itoa(p.Index) + "]"
}

// changeConflict explains why the change of p could not be made.
func changeConflict(p PlanItem, err error) error {
	var cerr *domain.ConflictError
	if errors.As(err, &cerr) {
		return &domain.ConflictError{FieldError: domain.FieldError{Field: itemField(p) + "." + cerr.Field, Reason: cerr.Reason}}
	}
	if errors.Is(err, store.ErrCalendarsChanged) {
		return &domain.ConflictError{FieldError: domain.FieldError{Field: itemField(p) + ".schedule.calendars", Reason: fmt.Sprintf(
			"a calendar job %s names kept changing while the apply ran, so nothing was applied; apply again", strconv.Quote(p.Namespace+"/"+p.Name))}}
	}
	if errors.Is(err, domain.ErrStale) || errors.Is(err, domain.ErrNotFound) || errors.Is(err, domain.ErrConflict) {
		return &domain.ConflictError{FieldError: domain.FieldError{Field: itemField(p), Reason: fmt.Sprintf(
			"job %s changed while the apply ran, so nothing was applied; plan again", strconv.Quote(p.Namespace+"/"+p.Name))}}
	}
	return err
}

// Export calls fn with the definitions of the jobs of namespaces (nil: every namespace; empty:
// none), a page at a time in (namespace, name) order, all from one snapshot. It stops at fn's
// first error and returns it.
func (s *Service) Export(ctx context.Context, namespaces []string, fn func(page []Definition) error) error {
	return s.store.JobsByName(ctx, namespaces, func(page []*domain.Job) error {
		defs := make([]Definition, len(page))
		for i, j := range page {
			defs[i] = DefinitionOf(j)
		}
		return fn(defs)
	})
}

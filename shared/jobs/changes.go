package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
)

// Four eyes: in a namespace that requires it, a create, edit or delete of a job is not made but
// proposed — validated as the direct write would be, and stored as a pending change — and is
// made only when another user approves it (docs/four-eyes.md).

// Errors of deciding on a change.
var (
	// ErrSelfApproval: the requester of a change may not approve or reject it.
	ErrSelfApproval = errors.New("you requested this change: another user with job:approve must approve or reject it (four eyes); withdraw it to take it back")
	// ErrNotRequester: only the requester of a change may withdraw it.
	ErrNotRequester = errors.New("only the user who requested a change may withdraw it")
)

// ChangeStore is what four-eyes changes need of the database.
type ChangeStore interface {
	NamespaceSettings(ctx context.Context, ns string) (*domain.NamespaceSettings, error)
	PutNamespaceSettings(ctx context.Context, st *domain.NamespaceSettings, now time.Time) (*domain.NamespaceSettings, error)
	JobNameTaken(ctx context.Context, ns, name, exceptID string) (bool, error)
	CreateChange(ctx context.Context, c *domain.Change) error
	GetChange(ctx context.Context, id string, now time.Time) (*domain.Change, error)
	ListChanges(ctx context.Context, p domain.ListChangesParams) ([]*domain.Change, error)
	DecideChange(ctx context.Context, id string, d domain.Decision, w *domain.JobWrite) (*domain.Change, error)
}

// FourEyes reports whether namespace ns requires another user's approval of changes to its jobs.
func (s *Service) FourEyes(ctx context.Context, cs ChangeStore, ns string) (bool, error) {
	st, err := cs.NamespaceSettings(ctx, ns)
	if err != nil {
		return false, err
	}
	return st.FourEyes, nil
}

// PutSettings validates st and stores it as the settings of its namespace. A zero ChangeExpiry
// takes the default.
func (s *Service) PutSettings(ctx context.Context, cs ChangeStore, st *domain.NamespaceSettings) (*domain.NamespaceSettings, error) {
	var v domain.ValidationError
	if !domain.ValidNamespace(st.Namespace) {
		v.Add("namespace", "must be 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if st.ChangeExpiry == 0 {
		st.ChangeExpiry = domain.Duration(domain.ChangeExpiryDefault)
	}
	if d := time.Duration(st.ChangeExpiry); d < domain.MinChangeExpiry || d > domain.MaxChangeExpiry {
		v.Add("change_expiry", fmt.Sprintf(`must be a duration from %s to %s, such as "168h"`, domain.MinChangeExpiry, domain.MaxChangeExpiry))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return cs.PutNamespaceSettings(ctx, st, s.now().UTC().Truncate(time.Microsecond))
}

// Proposal is one create, update or delete of a job, to be made a pending change.
type Proposal struct {
	Action domain.ChangeAction
	// Job is the new definition as the user wrote it (create, update).
	Job *domain.Job
	// Current is the job an update or delete is of.
	Current *domain.Job
	// IfVersion is the version of Current the user saw (0: whatever it is at).
	IfVersion int64
	// UserID is the user who asks; the actor ctx carries is who the audit log names.
	UserID string
}

// Propose validates p as Create, Update or Delete would — every bad field, a name already
// taken, a version that is not the current one — and stores it as a pending change in p's
// namespace instead of making it. It returns the change, a *domain.ValidationError, a
// *domain.ConflictError (name), or a *domain.StaleError.
func (s *Service) Propose(ctx context.Context, cs ChangeStore, p Proposal) (*domain.Change, error) {
	c, err := s.newChange(ctx, cs, p, s.now().UTC().Truncate(time.Microsecond))
	if err != nil {
		return nil, err
	}
	if err := cs.CreateChange(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// newChange validates p as Propose does and returns it as a pending change, not yet stored.
func (s *Service) newChange(ctx context.Context, cs ChangeStore, p Proposal, now time.Time) (*domain.Change, error) {
	actor, ok := domain.ActorFrom(ctx)
	if !ok || p.UserID == "" {
		return nil, errors.New("propose a change: it needs a user who asks")
	}
	c := &domain.Change{Action: p.Action, Requester: domain.ChangeActor{UserID: p.UserID, Actor: actor},
		RequestedAt: now, Status: domain.ChangePending}
	var before, after *domain.Job
	switch p.Action {
	case domain.ChangeCreate:
		if err := s.prepareNew(ctx, p.Job, now, nil); err != nil {
			return nil, err
		}
		if err := nameFree(ctx, cs, p.Job, ""); err != nil {
			return nil, err
		}
		c.Definition, after = shownDefinition(p.Job), p.Job
	case domain.ChangeUpdate, domain.ChangeDelete:
		cur := p.Current
		if p.IfVersion != 0 && p.IfVersion != cur.Version {
			return nil, &domain.StaleError{Kind: "job", Current: cur.Version}
		}
		c.JobID, c.BaseVersion, before = cur.ID, cur.Version, cur
		if p.Action == domain.ChangeUpdate {
			if _, err := s.prepareUpdate(ctx, cur, p.Job, now, nil); err != nil {
				return nil, err
			}
			if err := nameFree(ctx, cs, p.Job, cur.ID); err != nil {
				return nil, err
			}
			c.Definition, after = shownDefinition(p.Job), p.Job
		}
	default:
		return nil, fmt.Errorf("propose a change: unknown action %q", p.Action)
	}
	c.Namespace = cmp.Or(after, before).Namespace
	c.Diff = Diff(before, after)
	st, err := cs.NamespaceSettings(ctx, c.Namespace)
	if err != nil {
		return nil, err
	}
	c.ExpiresAt = now.Add(time.Duration(st.ChangeExpiry))
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("new change id: %w", err)
	}
	c.ID, c.RequestedBy = id.String(), actor.Label()
	return c, nil
}

// shownDefinition is the definition of j as a change holds and shows it: normalised, and with
// any credential masked, as the audit log records it.
func shownDefinition(j *domain.Job) *domain.JobDefinition {
	d := DefinitionOf(j.Redacted())
	return &d
}

// nameFree returns the conflict of a job named as j in its namespace, other than the job
// exceptID.
func nameFree(ctx context.Context, cs ChangeStore, j *domain.Job, exceptID string) error {
	taken, err := cs.JobNameTaken(ctx, j.Namespace, j.Name, exceptID)
	if err != nil {
		return err
	}
	if taken {
		return &domain.ConflictError{FieldError: domain.FieldError{Field: "name",
			Reason: fmt.Sprintf("a job named %q already exists in namespace %q", j.Name, j.Namespace)}}
	}
	return nil
}

// Change returns the change with id as it stands now, or an error wrapping domain.ErrNotFound.
func (s *Service) Change(ctx context.Context, cs ChangeStore, id string) (*domain.Change, error) {
	if uuid.Validate(id) != nil {
		return nil, fmt.Errorf("change %q: %w", id, domain.ErrNotFound)
	}
	return cs.GetChange(ctx, id, s.now().UTC())
}

// Changes returns a page of changes, newest first; expiry is judged by the service's clock.
func (s *Service) Changes(ctx context.Context, cs ChangeStore, p domain.ListChangesParams) ([]*domain.Change, error) {
	p.Now = s.now().UTC()
	return cs.ListChanges(ctx, p)
}

// Approve approves change c on behalf of the user userID and makes it, in one transaction: the
// job is created, updated or deleted as the change's requester, through the same writes as a
// direct change. A change that cannot be made any more (the job moved on, its name is taken, it
// is gone, its schedule no longer fires) is recorded failed, and Approve returns a
// *domain.ConflictError saying why. It returns ErrSelfApproval for the requester.
func (s *Service) Approve(ctx context.Context, cs ChangeStore, c *domain.Change, userID, comment string) (*domain.Change, error) {
	if userID == "" || userID == c.Requester.UserID {
		return nil, ErrSelfApproval
	}
	for attempt := 1; ; attempt++ {
		now := s.now().UTC().Truncate(time.Microsecond)
		d := domain.Decision{Status: domain.ChangeApproved, By: domain.ActorLabel(ctx), UserID: userID, Comment: comment, At: now}
		w, err := s.writeOf(ctx, c, now)
		var verr *domain.ValidationError
		switch {
		case errors.As(err, &verr):
			d.Status, d.Reason = domain.ChangeFailed, verr.Error()
			if _, err := cs.DecideChange(ctx, c.ID, d, nil); err != nil {
				return nil, err
			}
			return nil, &domain.ConflictError{FieldError: domain.FieldError{Field: verr.Fields[0].Field,
				Reason: "the change cannot be applied any more and is now failed: " + verr.Error()}}
		case err != nil:
			return nil, err
		}
		out, err := cs.DecideChange(ctx, c.ID, d, w)
		if errors.Is(err, store.ErrCalendarsChanged) && attempt < maxCalendarRetries {
			continue // planned by a calendar edited meanwhile: plan again
		}
		return out, err
	}
}

// writeOf is the write approving c makes at now.
func (s *Service) writeOf(ctx context.Context, c *domain.Change, now time.Time) (*domain.JobWrite, error) {
	w := &domain.JobWrite{Action: c.Action, IfVersion: c.BaseVersion, Now: now}
	if c.Action == domain.ChangeDelete {
		w.Job = &domain.Job{ID: c.JobID}
		return w, nil
	}
	j, err := c.Definition.Job()
	if err != nil {
		return nil, fmt.Errorf("change %s: %w", c.ID, err)
	}
	w.Job = j
	if c.Action == domain.ChangeCreate {
		return w, s.prepareNew(ctx, j, now, nil)
	}
	cur, err := s.store.GetJob(ctx, c.JobID)
	if errors.Is(err, domain.ErrNotFound) {
		// Gone: the store finds it gone too, under its lock, and records the change failed.
		j.ID = c.JobID
		return w, nil
	}
	if err != nil {
		return nil, err
	}
	w.KeepNext, err = s.prepareUpdate(ctx, cur, j, now, nil)
	return w, err
}

// Reject rejects change c on behalf of the user userID; the requester withdraws instead.
func (s *Service) Reject(ctx context.Context, cs ChangeStore, c *domain.Change, userID, comment string) (*domain.Change, error) {
	if userID == "" || userID == c.Requester.UserID {
		return nil, ErrSelfApproval
	}
	return cs.DecideChange(ctx, c.ID, domain.Decision{Status: domain.ChangeRejected, By: domain.ActorLabel(ctx), UserID: userID,
		Comment: comment, At: s.now().UTC().Truncate(time.Microsecond)}, nil)
}

// Withdraw withdraws change c on behalf of its requester, the user userID.
func (s *Service) Withdraw(ctx context.Context, cs ChangeStore, c *domain.Change, userID, comment string) (*domain.Change, error) {
	if userID == "" || userID != c.Requester.UserID {
		return nil, ErrNotRequester
	}
	return cs.DecideChange(ctx, c.ID, domain.Decision{Status: domain.ChangeWithdrawn, By: domain.ActorLabel(ctx), UserID: userID,
		Comment: comment, At: s.now().UTC().Truncate(time.Microsecond)}, nil)
}

package jobs

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/domain"
)

// Limits of a freeze.
const (
	// MaxFreeze is the longest a freeze may last: one that outlives its reason should be
	// renewed by a person, not forgotten.
	MaxFreeze = 90 * 24 * time.Hour
	// MaxFreezeAhead is how far ahead a freeze may be planned to start.
	MaxFreezeAhead = 366 * 24 * time.Hour
	// MaxFreezeReason bounds a freeze's reason, in bytes.
	MaxFreezeReason = 500
	// freezeStartSlack is how far in the past starts_at may be, for a client's clock a little
	// behind the server's.
	freezeStartSlack = time.Minute
)

// FreezeStore is what freezes need of the database.
type FreezeStore interface {
	CreateFreeze(ctx context.Context, f *domain.Freeze) error
	GetFreeze(ctx context.Context, id string, now time.Time) (*domain.Freeze, error)
	ListFreezes(ctx context.Context, namespaces []string, ended bool, now time.Time, limit int) ([]*domain.Freeze, error)
	LiftFreeze(ctx context.Context, id string, now time.Time) (*domain.Freeze, error)
}

// FreezeRequest is a freeze as a user asks for it.
type FreezeRequest struct {
	// Namespace is the namespace frozen, or "*" for every namespace.
	Namespace string     `json:"namespace"`
	Reason    string     `json:"reason"`
	StartsAt  *time.Time `json:"starts_at"`
	EndsAt    *time.Time `json:"ends_at"`
}

// CreateFreeze validates req and stores the freeze, from now unless it starts later. It returns
// a *domain.ValidationError naming every bad field.
func (s *Service) CreateFreeze(ctx context.Context, fs FreezeStore, req FreezeRequest) (*domain.Freeze, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	f, err := checkFreeze(req, now)
	if err != nil {
		return nil, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("new freeze id: %w", err)
	}
	f.ID, f.CreatedAt = id.String(), now
	if err := fs.CreateFreeze(ctx, f); err != nil {
		return nil, err
	}
	f.Active = !now.Before(f.StartsAt)
	return f, nil
}

// checkFreeze validates a freeze request as of now.
func checkFreeze(req FreezeRequest, now time.Time) (*domain.Freeze, error) {
	var v domain.ValidationError
	ns := strings.TrimSpace(req.Namespace)
	if ns != domain.AllNamespaces && !domain.ValidNamespace(ns) {
		v.Add("namespace", `is required: a namespace name, or "*" to freeze every namespace`)
	}
	reason := strings.TrimSpace(req.Reason)
	switch {
	case reason == "":
		v.Add("reason", "is required: say why the jobs must not run, for those who will look at the skipped fires")
	case len(reason) > MaxFreezeReason:
		v.Add("reason", fmt.Sprintf("is longer than %d bytes", MaxFreezeReason))
	case !utf8.ValidString(reason) || strings.IndexFunc(reason, unicode.IsControl) >= 0:
		v.Add("reason", "must be UTF-8 text without control characters")
	}
	// A bad starts_at is reported alone: ends_at is judged from now instead.
	start := now
	if req.StartsAt != nil {
		switch at := req.StartsAt.UTC().Truncate(time.Microsecond); {
		case at.Before(now.Add(-freezeStartSlack)):
			v.Add("starts_at", "is in the past: leave it out to start now")
		case at.After(now.Add(MaxFreezeAhead)):
			v.Add("starts_at", "is more than 366 days ahead")
		case at.After(now):
			start = at
		}
	}
	var end time.Time
	switch {
	case req.EndsAt == nil:
		v.Add("ends_at", "is required: a freeze ends by itself, at most 90 days after it starts (it may be lifted earlier)")
	default:
		end = req.EndsAt.UTC().Truncate(time.Microsecond)
		switch {
		case !end.After(now):
			v.Add("ends_at", "must be in the future")
		case !end.After(start):
			v.Add("ends_at", "must be after starts_at")
		case end.Sub(start) > MaxFreeze:
			v.Add("ends_at", "must be at most 90 days after starts_at")
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return &domain.Freeze{Namespace: ns, Reason: reason, StartsAt: start, EndsAt: end}, nil
}

// GetFreeze returns the freeze id, or an error wrapping domain.ErrNotFound.
func (s *Service) GetFreeze(ctx context.Context, fs FreezeStore, id string) (*domain.Freeze, error) {
	if uuid.Validate(id) != nil {
		return nil, fmt.Errorf("freeze %q: %w", id, domain.ErrNotFound)
	}
	return fs.GetFreeze(ctx, id, s.now().UTC())
}

// ListFreezes returns up to limit freezes of namespaces (nil: every one), newest first: those
// not over yet, or every one with ended.
func (s *Service) ListFreezes(ctx context.Context, fs FreezeStore, namespaces []string, ended bool, limit int) ([]*domain.Freeze, error) {
	return fs.ListFreezes(ctx, namespaces, ended, s.now().UTC(), limit)
}

// LiftFreeze ends freeze id now: the fires after now run. A freeze already over is returned as
// it is. It returns an error wrapping domain.ErrNotFound.
func (s *Service) LiftFreeze(ctx context.Context, fs FreezeStore, id string) (*domain.Freeze, error) {
	if uuid.Validate(id) != nil {
		return nil, fmt.Errorf("freeze %q: %w", id, domain.ErrNotFound)
	}
	return fs.LiftFreeze(ctx, id, s.now().UTC().Truncate(time.Microsecond))
}

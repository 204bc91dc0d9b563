package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/schedule"
	"github.com/vecron/vecron/shared/store"
)

// CalendarStore is what defining calendars needs of the database.
type CalendarStore interface {
	CreateCalendar(ctx context.Context, c *domain.Calendar) error
	GetCalendar(ctx context.Context, name string) (*domain.Calendar, error)
	ListCalendars(ctx context.Context, namespaces []string, after string, limit int) ([]*domain.Calendar, error)
	UpdateCalendar(ctx context.Context, c *domain.Calendar, ifVersion int64, now time.Time, replan store.Replan) (*domain.Calendar, []*domain.Job, error)
	DeleteCalendar(ctx context.Context, name string, ifVersion int64) error
}

// maxCalendarRetries bounds how often a job is planned again when a calendar it names changes
// while it is being saved.
const maxCalendarRetries = 3

// CreateCalendar validates c and stores it at version 1. It returns a *domain.ValidationError
// naming every bad field, or a *domain.ConflictError when the name is taken.
func (s *Service) CreateCalendar(ctx context.Context, cs CalendarStore, c *domain.Calendar) error {
	if err := schedule.CheckCalendar(c); err != nil {
		return err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	c.Version, c.CreatedAt, c.UpdatedAt = 1, now, now
	if c.ExcludedDates == nil {
		c.ExcludedDates = []domain.CalendarDate{}
	}
	return cs.CreateCalendar(ctx, c)
}

// UpdateCalendar replaces the definition of calendar cur with c when cur is still at version
// ifVersion (0: any), and re-plans the jobs that name it in the same transaction: their rules,
// and their next runs from now (or, for a job still catching up, from its next run). A calendar
// keeps its name and namespace. It returns the stored calendar and the jobs re-planned, a
// *domain.ValidationError, a *domain.StaleError, or a *domain.ConflictError naming a job the
// edit would leave without a fire.
func (s *Service) UpdateCalendar(ctx context.Context, cs CalendarStore, cur, c *domain.Calendar, ifVersion int64) (*domain.Calendar, []*domain.Job, error) {
	if c.Namespace == "" {
		c.Namespace = cur.Namespace
	}
	c.Name = cur.Name
	err := schedule.CheckCalendar(c)
	var v domain.ValidationError
	if verr, ok := err.(*domain.ValidationError); ok {
		v.Fields = verr.Fields
	}
	if c.Namespace != cur.Namespace {
		v.Add("namespace", fmt.Sprintf("cannot be changed by an edit (the calendar is for %q): jobs of other namespaces may name it", cur.Namespace))
	}
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	return cs.UpdateCalendar(ctx, c, ifVersion, now, replanner(now))
}

// replanner re-plans a job that names an edited calendar.
func replanner(now time.Time) store.Replan {
	return func(j *domain.Job, cals map[string]*domain.Calendar) (*domain.CalendarRules, *time.Time, error) {
		list := make([]*domain.Calendar, 0, len(j.Schedule.Calendars))
		for _, n := range j.Schedule.Calendars {
			if c := cals[n]; c != nil { // a calendar a job names cannot be deleted
				list = append(list, c)
			}
		}
		noFire := func(field string, err error) error {
			return &domain.ConflictError{FieldError: domain.FieldError{Field: field, Reason: fmt.Sprintf(
				"would leave job %s/%s (%s) without a fire (%v); change or remove the job's calendars first", j.Namespace, j.Name, j.ID, err)}}
		}
		rules, err := schedule.ResolveCalendars(list)
		if err != nil {
			return nil, nil, noFire("weekdays", err)
		}
		if rules != nil {
			rules.Labels = nil
		}
		planned := *j
		planned.CalendarRules = rules
		// Which field to name: business days, when they are restricted, are the likelier cause.
		field := "excluded_dates"
		if rules != nil && len(rules.Weekdays) > 0 {
			field = "weekdays"
		}
		sched, err := schedule.ForJob(&planned)
		if err != nil {
			return nil, nil, noFire(field, err)
		}
		if j.NextRunAt == nil { // paused, waiting for a run to end, or ended: nothing to plan
			return rules, nil, nil
		}
		var next time.Time
		ok := false
		if j.Schedule.Kind == domain.ScheduleFixedDelay {
			next, ok = sched.Admit(*j.NextRunAt)
		} else {
			// From now, so that a day the edit allows again is planned; from the next run when it
			// is behind, so that the job's misfire policy still sees what it missed.
			from := now
			if j.NextRunAt.Before(now) {
				from = j.NextRunAt.Add(-time.Nanosecond)
			}
			next, ok = sched.Next(from)
		}
		if !ok {
			return nil, nil, noFire(field, errors.New("no fire after now"))
		}
		return rules, &next, nil
	}
}

// DeleteCalendar deletes calendar name when no job names it and it is at version ifVersion (0:
// any). It returns an error wrapping domain.ErrNotFound, a *domain.StaleError, or a
// *domain.ConflictError naming the jobs that name it.
func (s *Service) DeleteCalendar(ctx context.Context, cs CalendarStore, name string, ifVersion int64) error {
	return cs.DeleteCalendar(ctx, name, ifVersion)
}

// GetCalendar returns the calendar name, or an error wrapping domain.ErrNotFound.
func (s *Service) GetCalendar(ctx context.Context, cs CalendarStore, name string) (*domain.Calendar, error) {
	if !schedule.ValidCalendarName(name) {
		return nil, fmt.Errorf("calendar %q: %w", name, domain.ErrNotFound)
	}
	return cs.GetCalendar(ctx, name)
}

// resolveCalendars sets j.CalendarRules from the calendars j's schedule names: each must exist
// and be j's namespace's or every namespace's. Names that are not calendar names are left to
// Validate. It returns a *domain.ValidationError on "schedule.calendars[i]" or
// "schedule.calendars".
func (s *Service) resolveCalendars(ctx context.Context, j *domain.Job) error {
	j.CalendarRules = nil
	names := j.Schedule.Calendars
	if len(names) == 0 || len(names) > schedule.MaxCalendarsPerJob {
		return nil
	}
	cals, err := s.store.GetCalendars(ctx, names)
	if err != nil {
		return err
	}
	var v domain.ValidationError
	list := make([]*domain.Calendar, 0, len(names))
	for i, n := range names {
		if !schedule.ValidCalendarName(n) {
			continue
		}
		c := cals[n]
		if c == nil || (c.Namespace != domain.AllNamespaces && c.Namespace != j.Namespace) {
			// A calendar of another namespace is answered as one that does not exist.
			v.Add(fmt.Sprintf("schedule.calendars[%d]", i), fmt.Sprintf(
				"no calendar named %q for namespace %q: name a calendar of the job's namespace or one for every namespace", n, j.Namespace))
			continue
		}
		list = append(list, c)
	}
	if err := v.Err(); err != nil {
		return err
	}
	rules, err := schedule.ResolveCalendars(list)
	if err != nil {
		return err
	}
	if rules != nil {
		rules.Labels = nil // the tick needs none
	}
	j.CalendarRules = rules
	return nil
}

// check fills j's defaults, resolves its calendars and validates it, reporting every bad field
// at once, and returns its schedule under its calendars. Chains are checked against cs, or the
// stored jobs when cs is nil.
func (s *Service) check(ctx context.Context, j *domain.Job, cs ChainStore) (*schedule.Schedule, error) {
	WithDefaults(j)
	var v domain.ValidationError
	if err := s.resolveCalendars(ctx, j); err != nil {
		verr, ok := err.(*domain.ValidationError)
		if !ok {
			return nil, err
		}
		v.Fields = verr.Fields
	}
	sched, err := Validate(j)
	if verr, ok := err.(*domain.ValidationError); ok {
		v.Fields = append(v.Fields, verr.Fields...)
	} else if err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.checkChainTargets(ctx, j, cs); err != nil {
		return nil, err
	}
	if sched == nil { // events alone start the job
		return nil, nil
	}
	return sched.WithCalendars(j.CalendarRules)
}

// PreviewCalendars resolves the calendars a schedule preview names for a caller who may read
// the namespaces listed (all: every namespace), labels kept for the notes. It returns a
// *domain.ValidationError on "schedule.calendars[i]" for a calendar that does not exist or that
// the caller may not read.
func (s *Service) PreviewCalendars(ctx context.Context, names []string, all bool, readable []string) (*domain.CalendarRules, error) {
	if len(names) == 0 || len(names) > schedule.MaxCalendarsPerJob {
		return nil, nil
	}
	cals, err := s.store.GetCalendars(ctx, names)
	if err != nil {
		return nil, err
	}
	var v domain.ValidationError
	list := make([]*domain.Calendar, 0, len(names))
	for i, n := range names {
		c := cals[n]
		visible := c != nil && (all || c.Namespace == domain.AllNamespaces || slices.Contains(readable, c.Namespace))
		if !schedule.ValidCalendarName(n) {
			continue
		}
		if !visible {
			v.Add(fmt.Sprintf("schedule.calendars[%d]", i), fmt.Sprintf("no calendar named %q", n))
			continue
		}
		list = append(list, c)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return schedule.ResolveCalendars(list)
}

package domain

import "time"

// Calendar is a named set of days on which the jobs that name it (Schedule.Calendars) do not
// fire: dates, dates that come back every year, and the weekdays outside its business days. It
// belongs to one namespace, whose jobs may name it, or to every namespace (AllNamespaces).
type Calendar struct {
	// Name is a slug, unique across namespaces: lowercase letters, digits and '-'.
	Name string `json:"name"`
	// Namespace is the namespace whose jobs may name the calendar, or AllNamespaces.
	Namespace   string `json:"namespace"`
	Description string `json:"description,omitempty"`
	// ExcludedDates are the days on which nothing fires, in each job's own zone.
	ExcludedDates []CalendarDate `json:"excluded_dates"`
	// Weekdays are the days of the week on which jobs may fire ("mon" … "sun"); empty, every day.
	Weekdays  []string  `json:"weekdays,omitempty"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	CreatedBy string    `json:"created_by,omitempty"`
	UpdatedBy string    `json:"updated_by,omitempty"`
}

// CalendarDate is one excluded day of a calendar: a date (YYYY-MM-DD), or a day that comes back
// every year (MM-DD), with an optional label such as "Tết".
type CalendarDate struct {
	Date  string `json:"date"`
	Label string `json:"label,omitempty"`
}

// CalendarRules are the calendars of one job merged into what its schedule skips: the union of
// their excluded days and the intersection of their business days. They are resolved when the
// job or one of its calendars is written and kept on the job's row.
type CalendarRules struct {
	// Versions are the versions of the calendars the rules were resolved from, by name.
	Versions map[string]int64 `json:"versions"`
	// Dates are excluded dates (YYYY-MM-DD), Yearly excluded days of every year (MM-DD).
	Dates  []string `json:"dates,omitempty"`
	Yearly []string `json:"yearly,omitempty"`
	// Weekdays are the days of the week on which the job may fire; empty, every day.
	Weekdays []string `json:"weekdays,omitempty"`
	// Labels say, for a schedule preview, which calendar excluded a date or a yearly day and
	// why ("vn-holidays: Tết"). They are not stored on the job.
	Labels map[string]string `json:"-"`
}

// Freeze pauses the scheduled fires of the jobs of a namespace, or of every namespace
// (AllNamespaces), from StartsAt until EndsAt (or until it is lifted): each is recorded skipped
// with reason "frozen", and the jobs' own enabled flags stay as they are.
type Freeze struct {
	ID        string     `json:"id"`
	Namespace string     `json:"namespace"`
	Reason    string     `json:"reason"`
	StartsAt  time.Time  `json:"starts_at"`
	EndsAt    time.Time  `json:"ends_at"`
	LiftedAt  *time.Time `json:"lifted_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by,omitempty"`
	LiftedBy  string     `json:"lifted_by,omitempty"`
	// Active is derived: the freeze holds at the instant it was read.
	Active bool `json:"active"`
}

// Holds reports whether f stops a fire of a job of namespace ns scheduled at at.
func (f *Freeze) Holds(ns string, at time.Time) bool {
	if f.Namespace != AllNamespaces && f.Namespace != ns {
		return false
	}
	end := f.EndsAt
	if f.LiftedAt != nil && f.LiftedAt.Before(end) {
		end = *f.LiftedAt
	}
	return !at.Before(f.StartsAt) && at.Before(end)
}

// FreezeReason is the reason a fire stopped by f is recorded skipped with.
func (f *Freeze) FreezeReason() string {
	return "frozen: " + f.Reason + " (freeze " + f.ID + " until " + f.EndsAt.UTC().Format(time.RFC3339) + ")"
}

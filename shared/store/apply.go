package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// ApplyJobs makes every change of changes in one transaction, in order, with one audit entry
// per change in that transaction: all are made or none. Each change is made as the single
// create, edit or delete makes it (the same statements), so versions, next runs, withdrawn
// fires and the tick's wake-up are the same. It returns the jobs as stored (the deleted ones as
// they were), or a *domain.JobChangeError naming the change that failed and wrapping
// domain.ErrNotFound, domain.ErrStale or domain.ErrConflict. The pending changes proposed (the
// part of an apply in namespaces that require four eyes) are stored in the same transaction.
func (s *Store) ApplyJobs(ctx context.Context, changes []domain.JobChange, proposed []*domain.Change, now time.Time) ([]*domain.Job, error) {
	out := make([]*domain.Job, len(changes))
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Every calendar the batch names, held first and in name order: an edit of a calendar
		// holds it and then the jobs naming it, and a batch that took a calendar only on
		// reaching a job naming it, holding another job already, could wait on such an edit
		// while the edit waits on that job.
		if err := lockCalendars(ctx, tx, changes); err != nil {
			return err
		}
		audited := make([]Change, 0, len(changes)+len(proposed))
		for i, c := range changes {
			a, err := applyJob(ctx, tx, c, now)
			if err != nil {
				return &domain.JobChangeError{Index: i, Err: translate(string(c.Write)+" job", err)}
			}
			out[i] = a.job
			audited = append(audited, a.change)
		}
		for _, c := range proposed {
			a, err := insertChange(ctx, tx, c)
			if err != nil {
				return translate("create change", err)
			}
			audited = append(audited, a)
		}
		// The audit chain's lock is held until commit: taken last, it serialises the least.
		for _, c := range audited {
			if err := s.record(ctx, tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("apply jobs: %w", err)
	}
	return out, nil
}

// lockCalendars takes FOR SHARE, in name order, the calendars the jobs of changes name.
func lockCalendars(ctx context.Context, tx pgx.Tx, changes []domain.JobChange) error {
	var names []string
	for _, c := range changes {
		if c.Job != nil && c.Job.CalendarRules != nil {
			for name := range c.Job.CalendarRules.Versions {
				names = append(names, name)
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	_, err := tx.Exec(ctx, `SELECT 1 FROM calendars WHERE name = ANY($1) ORDER BY name FOR SHARE`, slices.Compact(names))
	return translate("hold the calendars of the jobs", err)
}

// applied is one change made: the job it left and its audit entry.
type applied struct {
	job    *domain.Job
	change Change
}

func applyJob(ctx context.Context, tx pgx.Tx, c domain.JobChange, now time.Time) (applied, error) {
	j := c.Job
	switch c.Write {
	case domain.ChangeCreate:
		if err := insertJob(ctx, tx, j); err != nil {
			return applied{}, err
		}
		return applied{j, Change{Action: "job.create", ObjectKind: "job", ObjectID: j.ID, Namespace: j.Namespace, After: j.Redacted()}}, nil
	case domain.ChangeUpdate:
		before, after, err := updateJob(ctx, tx, j, c.IfVersion, c.KeepNext, now)
		if err != nil {
			return applied{}, err
		}
		return applied{after, Change{Action: "job.update", ObjectKind: "job", ObjectID: j.ID, Namespace: after.Namespace,
			Before: before.Redacted(), After: after.Redacted()}}, nil
	case domain.ChangeDelete:
		before, err := deleteJob(ctx, tx, j.ID, c.IfVersion)
		if err != nil {
			return applied{}, err
		}
		return applied{before, Change{Action: "job.delete", ObjectKind: "job", ObjectID: j.ID, Namespace: before.Namespace, Before: before.Redacted()}}, nil
	}
	return applied{}, fmt.Errorf("unknown job write %q", c.Write)
}

// JobsByNamePage is how many jobs JobsByName reads at a time.
const JobsByNamePage = 500

// JobsByName calls fn with the jobs of namespaces (nil: every namespace; empty: none) in
// (namespace, name) order, a page of at most JobsByNamePage at a time, all read from one
// snapshot of the database: a change committed meanwhile is seen whole or not at all. It stops
// at fn's first error and returns it.
func (s *Store) JobsByName(ctx context.Context, namespaces []string, fn func(page []*domain.Job) error) error {
	if namespaces != nil && len(namespaces) == 0 {
		return nil
	}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var afterNS, afterName string
		for first := true; ; first = false {
			page, err := jobsPage(ctx, tx, namespaces, first, afterNS, afterName)
			if err != nil {
				return err
			}
			if len(page) == 0 {
				return nil
			}
			if err := fn(page); err != nil {
				return err
			}
			if len(page) < JobsByNamePage {
				return nil
			}
			last := page[len(page)-1]
			afterNS, afterName = last.Namespace, last.Name
		}
	})
	return translate("jobs by name", err)
}

// jobsPage reads the page after (afterNS, afterName) — the first one when first — by the index
// of the unique (namespace, name).
func jobsPage(ctx context.Context, tx pgx.Tx, namespaces []string, first bool, afterNS, afterName string) ([]*domain.Job, error) {
	rows, err := tx.Query(ctx, `SELECT `+jobColumns+` FROM jobs
		WHERE ($1::text[] IS NULL OR namespace = ANY($1)) AND ($2 OR (namespace, name) > ($3, $4))
		ORDER BY namespace, name LIMIT $5`, nullSlice(namespaces), first, afterNS, afterName, JobsByNamePage)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var page []*domain.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		page = append(page, j)
	}
	return page, rows.Err()
}

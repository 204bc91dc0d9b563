package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// ErrCalendarsChanged: a calendar a job was planned by changed (or went) before the job was
// stored. The caller resolves the job's calendars again and retries.
var ErrCalendarsChanged = errors.New("a calendar the job names changed while it was being saved")

const calendarColumns = `name, namespace, description, dates, weekdays, version, created_at, updated_at,
	coalesce(created_by, ''), coalesce(updated_by, '')`

func scanCalendar(row pgx.Row) (*domain.Calendar, error) {
	var (
		c               domain.Calendar
		dates, weekdays []byte
	)
	if err := row.Scan(&c.Name, &c.Namespace, &c.Description, &dates, &weekdays, &c.Version, &c.CreatedAt, &c.UpdatedAt,
		&c.CreatedBy, &c.UpdatedBy); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(dates, &c.ExcludedDates); err != nil {
		return nil, fmt.Errorf("calendar %s: decode dates: %w", c.Name, err)
	}
	if err := json.Unmarshal(weekdays, &c.Weekdays); err != nil {
		return nil, fmt.Errorf("calendar %s: decode weekdays: %w", c.Name, err)
	}
	if c.ExcludedDates == nil {
		c.ExcludedDates = []domain.CalendarDate{}
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &c, nil
}

func encodeCalendar(c *domain.Calendar) (dates, weekdays []byte, err error) {
	list := c.ExcludedDates
	if list == nil {
		list = []domain.CalendarDate{}
	}
	if dates, err = json.Marshal(list); err != nil {
		return nil, nil, err
	}
	days := c.Weekdays
	if days == nil {
		days = []string{}
	}
	weekdays, err = json.Marshal(days)
	return dates, weekdays, err
}

// calendarsUnchanged holds, in tx, the calendars r was resolved from for a job of namespace ns,
// and returns ErrCalendarsChanged when one is at another version now, gone, or no longer one a
// job of ns may name (deleted and made anew, under its name, for another namespace). It takes
// them FOR SHARE, so an edit of one waits for tx, and then re-plans the job tx stores.
func calendarsUnchanged(ctx context.Context, tx pgx.Tx, ns string, r *domain.CalendarRules) error {
	if r == nil || len(r.Versions) == 0 {
		return nil
	}
	names := slices.Sorted(maps.Keys(r.Versions))
	rows, err := tx.Query(ctx, `SELECT name, version, namespace FROM calendars WHERE name = ANY($1) ORDER BY name FOR SHARE`, names)
	if err != nil {
		return err
	}
	found := 0
	var (
		name, namespace string
		version         int64
	)
	if _, err := pgx.ForEachRow(rows, []any{&name, &version, &namespace}, func() error {
		if r.Versions[name] != version || (namespace != ns && namespace != domain.AllNamespaces) {
			return ErrCalendarsChanged
		}
		found++
		return nil
	}); err != nil {
		return err
	}
	if found != len(names) {
		return ErrCalendarsChanged
	}
	return nil
}

// CreateCalendar inserts c (its version and timestamps set). It returns a *domain.ConflictError
// naming "name" when a calendar of that name exists, in whatever namespace.
func (s *Store) CreateCalendar(ctx context.Context, c *domain.Calendar) error {
	dates, weekdays, err := encodeCalendar(c)
	if err != nil {
		return fmt.Errorf("create calendar: %w", err)
	}
	if by := domain.ActorLabel(ctx); by != "" {
		c.CreatedBy, c.UpdatedBy = by, by
	}
	change := Change{Action: "calendar.create", ObjectKind: "calendar", ObjectID: c.Name, Namespace: c.Namespace, After: c}
	err = s.inTx(ctx, &change, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO calendars (name, namespace, description, dates, weekdays, version, created_at, updated_at, created_by, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $8)`,
			c.Name, c.Namespace, c.Description, dates, weekdays, c.Version, c.CreatedAt, nullable(c.CreatedBy))
		if err != nil && errors.Is(translate("", err), domain.ErrConflict) {
			// Names are unique across namespaces; the calendar may be one the caller cannot
			// read, so the answer says no more than that the name is taken.
			return &domain.ConflictError{FieldError: domain.FieldError{Field: "name",
				Reason: fmt.Sprintf("a calendar named %q already exists (names are unique across namespaces)", c.Name)}}
		}
		return err
	})
	return translate("create calendar", err)
}

// GetCalendar returns the calendar name, or an error wrapping domain.ErrNotFound.
func (s *Store) GetCalendar(ctx context.Context, name string) (*domain.Calendar, error) {
	c, err := scanCalendar(s.pool.QueryRow(ctx, `SELECT `+calendarColumns+` FROM calendars WHERE name = $1`, name))
	return c, translate("get calendar", err)
}

// GetCalendars returns the calendars of names that exist, by name.
func (s *Store) GetCalendars(ctx context.Context, names []string) (map[string]*domain.Calendar, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+calendarColumns+` FROM calendars WHERE name = ANY($1)`, names)
	if err != nil {
		return nil, translate("get calendars", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.Calendar, error) { return scanCalendar(r) })
	if err != nil {
		return nil, translate("get calendars", err)
	}
	out := make(map[string]*domain.Calendar, len(list))
	for _, c := range list {
		out[c.Name] = c
	}
	return out, nil
}

// ListCalendars returns up to limit calendars by name after after, of the namespaces listed
// (nil: every namespace; a calendar of every namespace is always listed).
func (s *Store) ListCalendars(ctx context.Context, namespaces []string, after string, limit int) ([]*domain.Calendar, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+calendarColumns+` FROM calendars
		WHERE ($1::text[] IS NULL OR namespace = ANY($1) OR namespace = '*') AND name > $2
		ORDER BY name LIMIT $3`, nullSlice(namespaces), after, limit)
	if err != nil {
		return nil, translate("list calendars", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.Calendar, error) { return scanCalendar(r) })
	return list, translate("list calendars", err)
}

// Replan re-plans job j under calendars (every calendar j names, by name, as they are in the
// transaction of an edit): it returns j's new rules and next run. An error stops the edit.
type Replan func(j *domain.Job, calendars map[string]*domain.Calendar) (*domain.CalendarRules, *time.Time, error)

// UpdateCalendar replaces the calendar c.Name with c when it is still at version ifVersion (0:
// whatever version), and in the same transaction re-plans every job that names it with replan,
// storing each one's rules and next run, and wakes the tick. The jobs' versions stay: their
// definitions did not change. It returns the stored calendar and the jobs re-planned, or an error
// wrapping domain.ErrNotFound, domain.ErrStale (a *domain.StaleError), or replan's error.
func (s *Store) UpdateCalendar(ctx context.Context, c *domain.Calendar, ifVersion int64, now time.Time, replan Replan) (*domain.Calendar, []*domain.Job, error) {
	dates, weekdays, err := encodeCalendar(c)
	if err != nil {
		return nil, nil, fmt.Errorf("update calendar: %w", err)
	}
	var (
		out     *domain.Calendar
		changed []*domain.Job
	)
	change := Change{Action: "calendar.update", ObjectKind: "calendar", ObjectID: c.Name}
	err = s.inTx(ctx, &change, func(tx pgx.Tx) error {
		before, err := scanCalendar(tx.QueryRow(ctx, `SELECT `+calendarColumns+` FROM calendars WHERE name = $1 FOR UPDATE`, c.Name))
		if err != nil {
			return err
		}
		if ifVersion != 0 && before.Version != ifVersion {
			return &domain.StaleError{Kind: "calendar", Current: before.Version}
		}
		out, err = scanCalendar(tx.QueryRow(ctx, `UPDATE calendars SET description = $2, dates = $3, weekdays = $4,
			version = version + 1, updated_at = $5, updated_by = coalesce($6, updated_by)
			WHERE name = $1 RETURNING `+calendarColumns, c.Name, c.Description, dates, weekdays, now, nullable(domain.ActorLabel(ctx))))
		if err != nil {
			return err
		}
		change.Namespace, change.Before, change.After = out.Namespace, before, out
		changed, err = s.replanJobs(ctx, tx, c.Name, replan)
		return err
	})
	return out, changed, translate("update calendar", err)
}

// replanJobs re-plans, in tx, the jobs that name calendar name, and wakes the tick.
func (s *Store) replanJobs(ctx context.Context, tx pgx.Tx, name string, replan Replan) ([]*domain.Job, error) {
	rows, err := tx.Query(ctx, `SELECT `+jobColumns+` FROM jobs WHERE schedule -> 'calendars' ? $1 ORDER BY id FOR UPDATE`, name)
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.Job, error) { return scanJob(r) })
	if err != nil || len(list) == 0 {
		return nil, err
	}
	names := map[string]bool{}
	for _, j := range list {
		for _, n := range j.Schedule.Calendars {
			names[n] = true
		}
	}
	rows, err = tx.Query(ctx, `SELECT `+calendarColumns+` FROM calendars WHERE name = ANY($1)`, slices.Collect(maps.Keys(names)))
	if err != nil {
		return nil, err
	}
	cals, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.Calendar, error) { return scanCalendar(r) })
	if err != nil {
		return nil, err
	}
	byName := make(map[string]*domain.Calendar, len(cals))
	for _, c := range cals {
		byName[c.Name] = c
	}
	ids := make([]string, len(list))
	rules := make([]*string, len(list))
	nexts := make([]*time.Time, len(list))
	for i, j := range list {
		r, next, err := replan(j, byName)
		if err != nil {
			return nil, err
		}
		ids[i], nexts[i] = j.ID, next
		j.CalendarRules, j.NextRunAt = r, next
		if r != nil {
			b, err := json.Marshal(r)
			if err != nil {
				return nil, err
			}
			text := string(b)
			rules[i] = &text
		}
	}
	// New rules are a new plan: the instants they allow before now were never claimed
	// (claims_from, as updateJob sets it).
	if _, err := tx.Exec(ctx, `UPDATE jobs j SET calendar_rules = u.rules::jsonb, next_run_at = u.next,
			claims_from = CASE WHEN j.calendar_rules IS NOT DISTINCT FROM u.rules::jsonb THEN j.claims_from
				WHEN NOT j.enabled THEN coalesce(j.paused_at, now()) ELSE now() END
		FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS u(id, rules, next) WHERE j.id = u.id`, ids, rules, nexts); err != nil {
		return nil, err
	}
	// The jobs' versions stay, so their trigger does not wake the tick: a next run moved earlier
	// must still be claimed at once.
	_, err = tx.Exec(ctx, `SELECT pg_notify(current_schema() || '.vecron_jobs', '')`)
	return list, err
}

// DeleteCalendar deletes the calendar name, when no job names it and it is still at version
// ifVersion (0: any). It returns an error wrapping domain.ErrNotFound, a *domain.StaleError, or a
// *domain.ConflictError on "name" that names (up to ten of) the jobs that name it.
func (s *Store) DeleteCalendar(ctx context.Context, name string, ifVersion int64) error {
	change := Change{Action: "calendar.delete", ObjectKind: "calendar", ObjectID: name}
	err := s.inTx(ctx, &change, func(tx pgx.Tx) error {
		before, err := scanCalendar(tx.QueryRow(ctx, `SELECT `+calendarColumns+` FROM calendars WHERE name = $1 FOR UPDATE`, name))
		if err != nil {
			return err
		}
		if ifVersion != 0 && before.Version != ifVersion {
			return &domain.StaleError{Kind: "calendar", Current: before.Version}
		}
		change.Namespace, change.Before = before.Namespace, before
		// A job that names it and is created meanwhile holds it FOR SHARE, and waits for this
		// lock: it then finds the calendar gone and is refused.
		rows, err := tx.Query(ctx, `SELECT namespace || '/' || name || ' (' || id || ')', count(*) OVER ()
			FROM jobs WHERE schedule -> 'calendars' ? $1 ORDER BY namespace, name LIMIT 10`, name)
		if err != nil {
			return err
		}
		var (
			jobs  []string
			label string
			count int
		)
		if _, err := pgx.ForEachRow(rows, []any{&label, &count}, func() error {
			jobs = append(jobs, label)
			return nil
		}); err != nil {
			return err
		}
		if count > 0 {
			more := ""
			if count > len(jobs) {
				more = fmt.Sprintf(" and %d more", count-len(jobs))
			}
			return &domain.ConflictError{FieldError: domain.FieldError{Field: "name", Reason: fmt.Sprintf(
				"calendar %q is named by %d job(s): %s%s; remove it from their schedules first", name, count, strings.Join(jobs, ", "), more)}}
		}
		_, err = tx.Exec(ctx, `DELETE FROM calendars WHERE name = $1`, name)
		return err
	})
	return translate("delete calendar", err)
}

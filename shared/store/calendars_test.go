package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

// TestJobPlannedByAnEditedCalendarIsRefused: a job is stored only with rules resolved from its
// calendars as they are in the transaction that stores it; rules of an older version (the
// calendar was edited after they were read) are refused with ErrCalendarsChanged, and the jobs
// service then plans the job again from the new version.
func TestJobPlannedByAnEditedCalendarIsRefused(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	require.NoError(t, st.CreateCalendar(ctx, &domain.Calendar{Name: "wk", Namespace: "*", Weekdays: []string{"mon", "tue", "wed", "thu", "fri"},
		Version: 1, CreatedAt: now, UpdatedAt: now}))
	_, replanned, err := st.UpdateCalendar(ctx, &domain.Calendar{Name: "wk", Namespace: "*", Weekdays: []string{"mon"}}, 1, now,
		func(*domain.Job, map[string]*domain.Calendar) (*domain.CalendarRules, *time.Time, error) {
			return nil, nil, errors.New("no job names the calendar yet")
		})
	require.NoError(t, err)
	require.Empty(t, replanned)

	stale := testfactory.Job(t, st, testfactory.JobOpts{})
	stale.ID, stale.Name = "0193b7c4-0000-7000-8000-00000000ca1e", "stale"
	stale.Schedule.Calendars = []string{"wk"}
	stale.CalendarRules = &domain.CalendarRules{Versions: map[string]int64{"wk": 1}, Weekdays: []string{"mon", "tue", "wed", "thu", "fri"}}
	require.ErrorIs(t, st.CreateJob(ctx, stale), store.ErrCalendarsChanged)
	stale.CalendarRules.Versions["gone"] = 1
	stale.CalendarRules.Versions["wk"] = 2
	require.ErrorIs(t, st.CreateJob(ctx, stale), store.ErrCalendarsChanged, "a calendar that is gone")

	svc := jobs.New(st, time.Now)
	j := &domain.Job{Name: "monday", Schedule: domain.Schedule{Cron: "0 0 8 * * ?", Calendars: []string{"wk"}},
		HTTP: &domain.HTTPSpec{URL: "https://example.test/"}, Enabled: true}
	require.NoError(t, svc.Create(ctx, j))
	got, err := st.GetJob(ctx, j.ID)
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"wk": 2}, got.CalendarRules.Versions)
	require.Equal(t, []string{"mon"}, got.CalendarRules.Weekdays)
	loc, err := time.LoadLocation(domain.DefaultTimezone)
	require.NoError(t, err)
	require.Equal(t, time.Monday, got.NextRunAt.In(loc).Weekday())

	// The rules travel with the job: the tick plans it from its row alone.
	plain, err := st.GetJob(ctx, testfactory.Job(t, st, testfactory.JobOpts{}).ID)
	require.NoError(t, err)
	require.Nil(t, plain.CalendarRules)
}

// TestJobPlannedByACalendarMadeAnewForAnotherNamespaceIsRefused: rules resolved from a calendar
// of the job's namespace do not pass for a calendar deleted and made anew under the same name and
// version for another namespace, whose editors the job's namespace does not trust.
func TestJobPlannedByACalendarMadeAnewForAnotherNamespaceIsRefused(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	cal := func(ns string) *domain.Calendar {
		return &domain.Calendar{Name: "closing", Namespace: ns, Weekdays: []string{"mon"}, Version: 1, CreatedAt: now, UpdatedAt: now}
	}
	require.NoError(t, st.CreateCalendar(ctx, cal("team-a")))
	j := testfactory.Job(t, st, testfactory.JobOpts{Namespace: "team-a"})
	j.ID, j.Name = "0193b7c4-0000-7000-8000-00000000ca1f", "planned"
	j.Schedule.Calendars = []string{"closing"}
	j.CalendarRules = &domain.CalendarRules{Versions: map[string]int64{"closing": 1}, Weekdays: []string{"mon"}}
	require.NoError(t, st.DeleteCalendar(ctx, "closing", 0))
	require.NoError(t, st.CreateCalendar(ctx, cal("team-b")))
	require.ErrorIs(t, st.CreateJob(ctx, j), store.ErrCalendarsChanged)

	// A calendar of every namespace may be named from any.
	require.NoError(t, st.DeleteCalendar(ctx, "closing", 0))
	require.NoError(t, st.CreateCalendar(ctx, cal(domain.AllNamespaces)))
	require.NoError(t, st.CreateJob(ctx, j))
}

// TestCalendarEditWakesTheTick: an edit of a calendar that jobs name notifies the tick, as an
// edit of a job does, although the jobs' versions stay.
func TestCalendarEditWakesTheTick(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	now := time.Now().UTC().Truncate(time.Microsecond)
	require.NoError(t, st.CreateCalendar(ctx, &domain.Calendar{Name: "wk", Namespace: "*", Version: 1, CreatedAt: now, UpdatedAt: now}))
	j := &domain.Job{Name: "daily", Schedule: domain.Schedule{Cron: "0 0 8 * * ?", Calendars: []string{"wk"}},
		HTTP: &domain.HTTPSpec{URL: "https://example.test/"}, Enabled: true}
	require.NoError(t, jobs.New(st, time.Now).Create(ctx, j))

	ready := make(chan struct{})
	notes := make(chan struct{}, 100)
	done := make(chan error, 1)
	go func() {
		done <- st.ListenJobChanges(ctx, func() { close(ready) }, func() { notes <- struct{}{} })
	}()
	<-ready
	next := j.NextRunAt.Add(24 * time.Hour)
	_, replanned, err := st.UpdateCalendar(ctx, &domain.Calendar{Name: "wk", Namespace: "*", Weekdays: []string{"mon"}}, 0, now,
		func(got *domain.Job, cals map[string]*domain.Calendar) (*domain.CalendarRules, *time.Time, error) {
			require.Equal(t, j.ID, got.ID)
			require.EqualValues(t, 2, cals["wk"].Version, "the jobs are planned by the calendar as edited")
			return &domain.CalendarRules{Versions: map[string]int64{"wk": 2}, Weekdays: []string{"mon"}}, &next, nil
		})
	require.NoError(t, err)
	require.Len(t, replanned, 1)
	waitNote(t, notes, "a calendar edit")
	got, err := st.GetJob(ctx, j.ID)
	require.NoError(t, err)
	require.True(t, next.Equal(*got.NextRunAt))
	require.Equal(t, j.Version, got.Version)
	cancel()
	require.Error(t, <-done)
}

// TestACalendarEditStartsTheJobsPlanAgain: rules changed by a calendar edit are a new plan, whose
// instants before the edit no claim handed out; a pushed fire of one is not vouched for
// (docs/deploy.md §4, "Pushed events"). Rules left as they were change nothing.
func TestACalendarEditStartsTheJobsPlanAgain(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	require.NoError(t, st.CreateCalendar(ctx, &domain.Calendar{Name: "wk", Namespace: "*", Version: 1, CreatedAt: now, UpdatedAt: now}))
	j := &domain.Job{Name: "every-second", Schedule: domain.Schedule{Cron: "* * * * * ?", Calendars: []string{"wk"}},
		HTTP: &domain.HTTPSpec{URL: "https://example.test/"}, Enabled: true}
	require.NoError(t, jobs.New(st, time.Now).Create(ctx, j))
	at := time.Now().UTC().Add(-10 * time.Second).Truncate(time.Second)
	handedOut := func() bool {
		t.Helper()
		got, err := st.PushedFires(ctx, []store.PushedQuery{{JobID: j.ID, IdempotencyKey: domain.ScheduledKey(j.ID, at),
			ScheduledAt: at, Trigger: domain.TriggerSchedule, Now: time.Now().UTC()}})
		require.NoError(t, err)
		return got[0].HandedOut
	}
	require.True(t, handedOut(), "an instant since the job was made, before its next run")

	next := time.Now().UTC().Add(time.Hour)
	edit := func(version int64, rules *domain.CalendarRules) {
		t.Helper()
		_, _, err := st.UpdateCalendar(ctx, &domain.Calendar{Name: "wk", Namespace: "*"}, version, time.Now().UTC(),
			func(*domain.Job, map[string]*domain.Calendar) (*domain.CalendarRules, *time.Time, error) {
				return rules, &next, nil
			})
		require.NoError(t, err)
	}
	got, err := st.GetJob(ctx, j.ID)
	require.NoError(t, err)
	edit(1, got.CalendarRules)
	require.True(t, handedOut(), "the same rules: the same plan")
	edit(2, &domain.CalendarRules{Versions: map[string]int64{"wk": 3}, Weekdays: []string{"mon"}})
	require.False(t, handedOut(), "new rules: nothing before the edit was claimed under them")
}

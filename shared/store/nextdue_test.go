package store_test

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

// NextDueByKind answers what NextDue answers, and for each kind asked its earliest instant that
// no claim holds, within lead of the next due instant (or of until, when that is earlier).
func TestNextDueByKindGivesEachKindItsEarliestInstant(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	now := time.Now().UTC().Truncate(time.Second)
	never := "0 0 0 1 1 *"
	both := []domain.JobKind{domain.KindHTTP, domain.KindSQL}

	// Nothing scheduled: nothing due, of any kind.
	got, err := st.NextDueByKind(t.Context(), nil, both, now.Add(time.Hour), 10*time.Second, nil)
	require.NoError(t, err)
	require.False(t, got.OK)
	require.False(t, got.Held)
	require.Empty(t, got.Kinds)

	h := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now.Add(time.Minute), Cron: never})
	testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now.Add(2 * time.Minute), Cron: never})
	s := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now.Add(time.Minute + 5*time.Second), Cron: never, Kind: domain.KindSQL})
	testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now.Add(time.Second), Cron: never, Kind: domain.KindSQL, Disabled: true})

	got, err = st.NextDueByKind(t.Context(), nil, both, now.Add(time.Hour), 10*time.Second, nil)
	require.NoError(t, err)
	require.True(t, got.OK)
	require.True(t, got.Next.Equal(*h.NextRunAt), "got %s", got.Next)
	require.False(t, got.Held)
	require.Len(t, got.Kinds, 2)
	require.Equal(t, store.Candidate{JobID: h.ID, Version: h.Version, At: h.NextRunAt.UTC()}, got.Kinds[domain.KindHTTP])
	require.Equal(t, store.Candidate{JobID: s.ID, Version: s.Version, At: s.NextRunAt.UTC()}, got.Kinds[domain.KindSQL], "a disabled job counts for nothing")

	// Only the kinds asked for; a kind due more than lead after the next instant is left out.
	got, err = st.NextDueByKind(t.Context(), nil, []domain.JobKind{domain.KindSQL}, now.Add(time.Hour), 10*time.Second, nil)
	require.NoError(t, err)
	require.Equal(t, map[domain.JobKind]store.Candidate{domain.KindSQL: {JobID: s.ID, Version: s.Version, At: s.NextRunAt.UTC()}}, got.Kinds)
	got, err = st.NextDueByKind(t.Context(), nil, both, now.Add(time.Hour), 2*time.Second, nil)
	require.NoError(t, err)
	require.True(t, got.Next.Equal(*h.NextRunAt))
	require.Equal(t, []domain.JobKind{domain.KindHTTP}, slices.Collect(maps.Keys(got.Kinds)))
	// until bounds it too, when it comes before the next instant.
	got, err = st.NextDueByKind(t.Context(), nil, both, now.Add(30*time.Second), 10*time.Second, nil)
	require.NoError(t, err)
	require.True(t, got.OK, "the next instant is answered whatever the bound")
	require.Empty(t, got.Kinds)

	// Shards filter as NextDue's do.
	got, err = st.NextDueByKind(t.Context(), []int32{int32(s.Shard)}, both, now.Add(time.Hour), 10*time.Second, nil)
	require.NoError(t, err)
	require.True(t, got.OK)
	require.True(t, got.Kinds[domain.KindSQL].At.Equal(*s.NextRunAt))

	// A job a claim holds is the claim's: its kind's next instant is the next one not held.
	c, err := st.ClaimDueHeld(t.Context(), time.Time{}, nil, *h.NextRunAt, 10, planEvery)
	require.NoError(t, err)
	require.Len(t, c.Fires, 1)
	got, err = st.NextDueByKind(t.Context(), nil, both, now.Add(time.Hour), time.Minute, nil)
	require.NoError(t, err)
	require.True(t, got.Held)
	require.True(t, got.Next.Equal(*s.NextRunAt), "got %s", got.Next)
	require.True(t, got.Kinds[domain.KindHTTP].At.Equal(now.Add(2*time.Minute)), "http at %s", got.Kinds[domain.KindHTTP].At)
	c.Rollback(t.Context())
}

// A fire the tick saw coming is claimed only when a claim took it and the job moved on at the
// same version; an edit, a pause, a delete, or a claim that recorded it skipped drop it; while
// a claim or an edit holds the job, it is not known yet.
func TestNextDueByKindTellsWhatBecameOfAFire(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	now := time.Now().UTC().Truncate(time.Second)
	never := "0 0 0 1 1 *"
	mk := func(after time.Duration) store.Candidate {
		j := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now.Add(after), Cron: never})
		return store.Candidate{JobID: j.ID, Version: j.Version, At: j.NextRunAt.UTC()}
	}
	claimed, edited, paused, deleted, skipped, later := mk(time.Second), mk(2*time.Second), mk(3*time.Second), mk(4*time.Second), mk(5*time.Second), mk(time.Hour)
	// A fixed_delay job's next_run_at is its last end plus the delay: microseconds, while its
	// skip is recorded at the fire's instant, to the millisecond.
	skippedFine := mk(6*time.Second + 1234*time.Microsecond)
	watch := []store.Candidate{claimed, edited, paused, deleted, skipped, later, skippedFine}
	fates := func() []store.Fate {
		t.Helper()
		got, err := st.NextDueByKind(t.Context(), nil, []domain.JobKind{domain.KindHTTP}, now.Add(time.Hour), 10*time.Second, watch)
		require.NoError(t, err)
		return got.Fates
	}
	p, c, d := store.FatePending, store.FateClaimed, store.FateDropped
	require.Equal(t, []store.Fate{p, p, p, p, p, p, p}, fates(), "nothing happened yet")

	// A claim holds the first job: not known yet, whether it commits or rolls back.
	h, err := st.ClaimDueHeld(t.Context(), time.Time{}, nil, claimed.At, 10, planEvery)
	require.NoError(t, err)
	require.Len(t, h.Fires, 1)
	require.Equal(t, p, fates()[0])
	require.NoError(t, h.Commit(t.Context(), nil))
	require.Equal(t, c, fates()[0], "claimed, the job an hour on at the same version")

	j, err := st.GetJob(t.Context(), edited.JobID)
	require.NoError(t, err)
	j.Description = "edited"
	_, err = st.UpdateJob(t.Context(), j, 0, true, now)
	require.NoError(t, err)
	_, err = st.SetEnabled(t.Context(), paused.JobID, false, nil, now)
	require.NoError(t, err)
	require.NoError(t, st.DeleteJob(t.Context(), deleted.JobID))
	// A claim that records the fire skipped at its instant, as a freeze or the misfire policy
	// does (tick's planner).
	skip := func(j *domain.Job) (domain.PlanResult, error) {
		next := j.NextRunAt.Add(time.Hour)
		in := domain.Instant(*j.NextRunAt)
		return domain.PlanResult{Skips: []domain.Skip{{Key: domain.ScheduledKey(j.ID, in), ScheduledAt: in, Reason: "skipped: frozen"}}, Next: &next}, nil
	}
	_, n, _, err := st.ClaimDue(t.Context(), time.Time{}, nil, skippedFine.At, 10, skip)
	require.NoError(t, err)
	require.Equal(t, 3, n, "the edited job and the two skipped")
	require.Equal(t, []store.Fate{c, d, d, d, d, p, d}, fates())
}

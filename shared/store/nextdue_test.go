package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
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
	got, err := st.NextDueByKind(t.Context(), nil, both, now.Add(time.Hour), 10*time.Second)
	require.NoError(t, err)
	require.False(t, got.OK)
	require.False(t, got.Held)
	require.Empty(t, got.Kinds)

	h := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now.Add(time.Minute), Cron: never})
	testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now.Add(2 * time.Minute), Cron: never})
	s := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now.Add(time.Minute + 5*time.Second), Cron: never, Kind: domain.KindSQL})
	testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now.Add(time.Second), Cron: never, Kind: domain.KindSQL, Disabled: true})

	got, err = st.NextDueByKind(t.Context(), nil, both, now.Add(time.Hour), 10*time.Second)
	require.NoError(t, err)
	require.True(t, got.OK)
	require.True(t, got.Next.Equal(*h.NextRunAt), "got %s", got.Next)
	require.False(t, got.Held)
	require.Len(t, got.Kinds, 2)
	require.True(t, got.Kinds[domain.KindHTTP].Equal(*h.NextRunAt), "http at %s", got.Kinds[domain.KindHTTP])
	require.True(t, got.Kinds[domain.KindSQL].Equal(*s.NextRunAt), "sql at %s, a disabled job counts for nothing", got.Kinds[domain.KindSQL])

	// Only the kinds asked for; a kind due more than lead after the next instant is left out.
	got, err = st.NextDueByKind(t.Context(), nil, []domain.JobKind{domain.KindSQL}, now.Add(time.Hour), 10*time.Second)
	require.NoError(t, err)
	require.Equal(t, map[domain.JobKind]time.Time{domain.KindSQL: s.NextRunAt.UTC()}, got.Kinds)
	got, err = st.NextDueByKind(t.Context(), nil, both, now.Add(time.Hour), 2*time.Second)
	require.NoError(t, err)
	require.True(t, got.Next.Equal(*h.NextRunAt))
	require.Equal(t, map[domain.JobKind]time.Time{domain.KindHTTP: h.NextRunAt.UTC()}, got.Kinds)
	// until bounds it too, when it comes before the next instant.
	got, err = st.NextDueByKind(t.Context(), nil, both, now.Add(30*time.Second), 10*time.Second)
	require.NoError(t, err)
	require.True(t, got.OK, "the next instant is answered whatever the bound")
	require.Empty(t, got.Kinds)

	// Shards filter as NextDue's do.
	got, err = st.NextDueByKind(t.Context(), []int32{int32(s.Shard)}, both, now.Add(time.Hour), 10*time.Second)
	require.NoError(t, err)
	require.True(t, got.OK)
	require.True(t, got.Kinds[domain.KindSQL].Equal(*s.NextRunAt))

	// A job a claim holds is the claim's: its kind's next instant is the next one not held.
	c, err := st.ClaimDueHeld(t.Context(), time.Time{}, nil, *h.NextRunAt, 10, planEvery)
	require.NoError(t, err)
	require.Len(t, c.Fires, 1)
	got, err = st.NextDueByKind(t.Context(), nil, both, now.Add(time.Hour), time.Minute)
	require.NoError(t, err)
	require.True(t, got.Held)
	require.True(t, got.Next.Equal(*s.NextRunAt), "got %s", got.Next)
	require.True(t, got.Kinds[domain.KindHTTP].Equal(now.Add(2*time.Minute)), "http at %s", got.Kinds[domain.KindHTTP])
	c.Rollback(t.Context())
}

package store_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testfactory"
)

// nameRunes are what the names and searches of TestListJobsFiltersProperty are made of: case
// pairs, LIKE's wildcards and escape, SQL's quotes, and Vietnamese letters.
var nameRunes = []rune{'a', 'A', 'b', 'B', 'c', '1', '2', '-', ' ', '%', '_', '\\', '\'', '"', 'đ', 'Đ', 'ố', 'Ố'}

// Every combination of the job list's filters lists, page by page, exactly the jobs a plain
// filter over the same jobs keeps, in id order: the name search as a substring ignoring case
// (through the trigram index or not), the exact name, ids, namespaces, state, kind, tags.
func TestListJobsFiltersProperty(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := t.Context()
	name := rapid.Custom(func(t *rapid.T) string {
		return string(rapid.SliceOfN(rapid.SampledFrom(nameRunes), 1, 12).Draw(t, "runes"))
	})
	rapid.Check(t, func(rt *rapid.T) {
		// Each case has namespaces of its own, and lists within them only.
		nss := []string{"p" + uuid.NewString()[:8], "p" + uuid.NewString()[:8]}
		names := rapid.SliceOfNDistinct(name, 0, 40, func(s string) string { return s }).Draw(rt, "names")
		now := time.Now().UTC().Truncate(time.Microsecond)
		var jobs []*domain.Job
		for i, n := range names {
			id := uuid.Must(uuid.NewV7()).String()
			j := &domain.Job{ID: id, Namespace: nss[i%2], Name: n, Kind: domain.KindHTTP,
				HTTP: &domain.HTTPSpec{Method: "GET", URL: "http://127.0.0.1:9/"}, Schedule: domain.Schedule{Cron: "@hourly"},
				Timezone: domain.DefaultTimezone, Enabled: rapid.Bool().Draw(rt, "enabled"), Shard: domain.ShardOf(id),
				Version: 1, CreatedAt: now, UpdatedAt: now, MisfirePolicy: domain.MisfireFireOnce, MaxCatchup: 10,
				ConcurrencyPolicy: domain.ConcurrencyAllow, Timeout: domain.Duration(time.Second),
				Retry: domain.RetryPolicy{MaxAttempts: 1, Backoff: domain.BackoffDefault()}}
			if j.Enabled {
				j.NextRunAt = &now
			}
			j.Tags = rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"pay", "ops", "nightly"}), 0, 2, func(s string) string { return s }).Draw(rt, "tags")
			if len(j.Tags) == 0 {
				j.Tags = nil
			}
			jobs = append(jobs, j)
		}
		// The same name in both namespaces, now and then, for the exact name filter.
		if len(jobs) > 1 && rapid.Bool().Draw(rt, "a name in both namespaces") {
			jobs[1].Name = jobs[0].Name
		}
		if len(jobs) > 0 {
			require.NoError(rt, st.CreateJobs(ctx, jobs))
		}
		slices.SortFunc(jobs, func(a, b *domain.Job) int { return strings.Compare(a.ID, b.ID) })

		p := domain.ListJobsParams{Namespaces: nss, Limit: rapid.IntRange(1, 15).Draw(rt, "limit")}
		pick := func(label string) string {
			if len(jobs) == 0 || !rapid.Bool().Draw(rt, label+" of a job") {
				return name.Draw(rt, label)
			}
			n := []rune(rapid.SampledFrom(jobs).Draw(rt, label+" job").Name)
			from := rapid.IntRange(0, len(n)-1).Draw(rt, label+" from")
			to := rapid.IntRange(from+1, len(n)).Draw(rt, label+" to")
			s := string(n[from:to])
			if rapid.Bool().Draw(rt, label+" upper") {
				s = strings.ToUpper(s)
			}
			return s
		}
		if rapid.IntRange(0, 3).Draw(rt, "search") > 0 {
			p.Search = pick("q")
		}
		if rapid.IntRange(0, 4).Draw(rt, "exact") == 0 {
			p.Name = pick("name")
		}
		if rapid.Bool().Draw(rt, "namespace") {
			p.Namespace = rapid.SampledFrom(append(nss, "elsewhere")).Draw(rt, "ns")
		}
		if rapid.IntRange(0, 3).Draw(rt, "by state") == 0 {
			p.State = rapid.SampledFrom([]string{domain.StatePaused, domain.StateScheduled, domain.StateEnded}).Draw(rt, "state")
		}
		if rapid.IntRange(0, 3).Draw(rt, "by kind") == 0 {
			p.Kind = rapid.SampledFrom([]domain.JobKind{domain.KindHTTP, domain.KindSQL}).Draw(rt, "kind")
		}
		if len(jobs) > 0 && rapid.IntRange(0, 3).Draw(rt, "by id") == 0 {
			for _, j := range rapid.SliceOfN(rapid.SampledFrom(jobs), 1, 5).Draw(rt, "ids") {
				p.IDs = append(p.IDs, j.ID)
			}
			if rapid.Bool().Draw(rt, "an unknown id") {
				p.IDs = append(p.IDs, uuid.NewString())
			}
		}

		if rapid.IntRange(0, 3).Draw(rt, "by tag") == 0 {
			p.Tags = rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"pay", "ops", "nightly"}), 1, 2, func(s string) string { return s }).Draw(rt, "tag filter")
		}

		var want []string
		for _, j := range jobs {
			j.DeriveState()
			if strings.Contains(strings.ToLower(j.Name), strings.ToLower(p.Search)) &&
				(p.Name == "" || j.Name == p.Name) && (p.Namespace == "" || j.Namespace == p.Namespace) &&
				(p.State == "" || j.State == p.State) && (p.Kind == "" || j.Kind == p.Kind) &&
				(len(p.IDs) == 0 || slices.Contains(p.IDs, j.ID)) &&
				!slices.ContainsFunc(p.Tags, func(tag string) bool { return !slices.Contains(j.Tags, tag) }) {
				want = append(want, j.ID)
			}
		}
		var got []string
		for range len(jobs) + 2 {
			page, err := st.ListJobs(ctx, p)
			require.NoError(rt, err)
			require.LessOrEqual(rt, len(page), p.Limit)
			for _, j := range page {
				got = append(got, j.ID)
			}
			if len(page) < p.Limit {
				break
			}
			p.After = page[len(page)-1].ID
		}
		require.Equal(rt, want, got, "%+v", p)
	})
}

package dashboard

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/domain"
)

func TestAuditSummary(t *testing.T) {
	t.Parallel()
	cat, err := loadCatalogs(files)
	require.NoError(t, err)
	ui := &UI{cat: cat}
	loc, err := time.LoadLocation(domain.DefaultTimezone)
	require.NoError(t, err)
	job := func(edit func(*domain.Job)) json.RawMessage {
		j := domain.Job{ID: "j", Name: "settle", Kind: domain.KindHTTP, HTTP: &domain.HTTPSpec{Method: "GET", URL: "http://a.test/"},
			Schedule: domain.Schedule{Cron: "0 * * * * *"}, Timezone: domain.DefaultTimezone}
		if edit != nil {
			edit(&j)
		}
		b, err := json.Marshal(j)
		require.NoError(t, err)
		return b
	}
	first := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, verb, lang string
		before, after    json.RawMessage
		want, link       string
	}{
		{name: "Edit", verb: "update", lang: "en", before: job(nil), after: job(func(j *domain.Job) { j.Description = "x" }),
			want: "Changed: description"},
		{name: "EditOfMany", verb: "update", lang: "vi", before: job(nil), after: job(func(j *domain.Job) {
			j.Description, j.Name, j.Timezone, j.HTTP.URL, j.HTTP.Method, j.Schedule.Cron = "x", "y", "UTC", "http://b.test/", "POST", "1 * * * * *"
		}), want: "Đã đổi: name, description, schedule.cron, timezone, http.method và 1 trường khác"},
		{name: "EditOfNothingShown", verb: "update", lang: "en", before: job(nil), after: job(nil)},
		{name: "EditNotAJob", verb: "update", lang: "en", before: json.RawMessage(`[1]`), after: job(nil)},
		{name: "Run", verb: "trigger", lang: "en", after: json.RawMessage(`{"id":"01a24994-7431-7226-b80b-d08b184aff21","trigger":"manual"}`),
			want: "The run it queued", link: "/executions/01a24994-7431-7226-b80b-d08b184aff21"},
		{name: "RunWithAnIDThatIsNone", verb: "trigger", lang: "en", after: json.RawMessage(`{"id":"../../admin"}`)},
		{name: "Backfill", verb: "backfill", lang: "en",
			after: json.RawMessage(`{"queued":3,"first":"` + first.Format(time.RFC3339) + `","last":"` + first.Add(2*time.Hour).Format(time.RFC3339) + `"}`),
			want:  "3 fires queued, from Dec 1, 2026 08:00:00 +07 to Dec 1, 2026 10:00:00 +07"},
		{name: "BackfillOfNothing", verb: "backfill", lang: "en", after: json.RawMessage(`{"queued":0}`)},
		{name: "Pause", verb: "disable", lang: "en", after: job(nil)},
		{name: "Unknown", verb: "rename", lang: "en", after: job(nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, link := ui.auditSummary(tc.lang, tc.verb, &audit.Record{Before: tc.before, After: tc.after}, loc)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.link, link)
		})
	}
	for _, verb := range []string{"create", "update", "delete", "enable", "disable", "trigger", "backfill"} {
		require.NotEmpty(t, auditActionKey(verb), verb)
	}
	require.Empty(t, auditActionKey("rename"))
}

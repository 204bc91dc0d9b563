package api_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testfactory"
)

func TestPreviewListsFiresWithLocalTimeAndDSTNotes(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	code, _, b := c.do(http.MethodPost, "/api/v1/schedules/preview",
		`{"schedule":{"cron":"0 30 2 * * ?"},"timezone":"America/New_York","after":"2025-03-08T00:00:00Z","count":3}`)
	require.Equal(t, http.StatusOK, code, string(b))
	var out struct {
		Timezone string `json:"timezone"`
		Fires    []struct {
			At    time.Time `json:"at"`
			Local string    `json:"local"`
			Notes []struct {
				Kind   string `json:"kind"`
				Detail string `json:"detail"`
			} `json:"notes"`
		} `json:"fires"`
	}
	require.NoError(t, json.Unmarshal(b, &out))
	require.Equal(t, "America/New_York", out.Timezone)
	require.Len(t, out.Fires, 3)
	require.Equal(t, "2025-03-08T07:30:00Z", out.Fires[0].At.Format(time.RFC3339))
	require.Equal(t, "2025-03-08T02:30:00-05:00", out.Fires[0].Local)
	require.Empty(t, out.Fires[0].Notes)
	// 2025-03-09 02:30 does not exist: shifted to the end of the gap, with a note saying so.
	require.Equal(t, "2025-03-09T07:00:00Z", out.Fires[1].At.Format(time.RFC3339))
	require.NotEmpty(t, out.Fires[1].Notes)
	require.Equal(t, "dst_gap_shifted", out.Fires[1].Notes[0].Kind)

	// Excluded dates are marked too.
	code, _, b = c.do(http.MethodPost, "/api/v1/schedules/preview",
		`{"schedule":{"cron":"0 0 9 * * ?","excluded_dates":["2026-01-01"]},"after":"2025-12-31T12:00:00Z","count":1}`)
	require.Equal(t, http.StatusOK, code, string(b))
	require.NoError(t, json.Unmarshal(b, &out))
	require.Equal(t, "Asia/Ho_Chi_Minh", out.Timezone)
	require.Equal(t, "2026-01-02T02:00:00Z", out.Fires[0].At.Format(time.RFC3339))
	require.Equal(t, "excluded_date", out.Fires[0].Notes[0].Kind)
}

func TestPreviewRejectsBadInputByField(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	p := c.problem(http.MethodPost, "/api/v1/schedules/preview",
		`{"schedule":{"cron":"0 0 25 * * ?"},"timezone":"Nowhere","count":5000}`, http.StatusBadRequest)
	require.ElementsMatch(t, []string{"count", "schedule.cron", "timezone"}, fields(p))
	p = c.problem(http.MethodPost, "/api/v1/schedules/preview", `{"schedule":{"kind":"fixed_rate","every":7}}`, http.StatusBadRequest)
	require.Equal(t, []string{"schedule.every"}, fields(p))
}

func TestBackfillDryRunThenQueueSkipsWhatRan(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j := testfactory.Job(t, c.st, testfactory.JobOpts{Cron: "0 0 * * * ?"}) // hourly
	to := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	from := to.Add(-4 * time.Hour)
	body := func(dry bool) string {
		b, _ := json.Marshal(map[string]any{"from": from, "to": to, "dry_run": dry, "rate": 50})
		return string(b)
	}
	code, _, b := c.do(http.MethodPost, "/api/v1/jobs/"+j.ID+"/backfill", body(true))
	require.Equal(t, http.StatusOK, code, string(b))
	var res struct {
		DryRun bool `json:"dry_run"`
		Queued int  `json:"queued"`
		Fires  []struct {
			ScheduledAt time.Time  `json:"scheduled_at"`
			AlreadyRan  bool       `json:"already_ran"`
			PublishAt   *time.Time `json:"publish_at"`
		} `json:"fires"`
	}
	require.NoError(t, json.Unmarshal(b, &res))
	require.True(t, res.DryRun)
	require.Len(t, res.Fires, 5, "from and to are both included")
	require.Zero(t, res.Queued)

	// One of them already ran: the backfill leaves it alone.
	ran := res.Fires[2].ScheduledAt
	now := time.Now().UTC()
	e := &domain.Execution{ID: "0193b7c4-0000-7000-8000-0000000000bb", JobID: j.ID, JobVersion: 1,
		IdempotencyKey: domain.ScheduledKey(j.ID, ran), Trigger: domain.TriggerSchedule, ScheduledAt: ran,
		FinishedAt: &now, Status: domain.StatusSkipped, Error: "test"}
	_, err := c.st.RecordSkipped(t.Context(), e)
	require.NoError(t, err)

	code, _, b = c.do(http.MethodPost, "/api/v1/jobs/"+j.ID+"/backfill", body(false))
	require.Equal(t, http.StatusAccepted, code, string(b))
	require.NoError(t, json.Unmarshal(b, &res))
	require.Equal(t, 4, res.Queued)
	for i, f := range res.Fires {
		require.Equal(t, i == 2, f.AlreadyRan)
		require.Equal(t, i != 2, f.PublishAt != nil)
	}
	// The queued fires wait in the outbox, spaced by the rate.
	stranded, err := c.st.StrandedFires(t.Context(), time.Time{}, -time.Hour, 100)
	require.NoError(t, err)
	require.Len(t, stranded, 4)
	for i, f := range stranded {
		require.Equal(t, domain.TriggerBackfill, f.Trigger)
		if i > 0 {
			require.Equal(t, 20*time.Millisecond, f.PublishAt.Sub(stranded[i-1].PublishAt))
		}
	}
	// Asking again queues nothing new.
	code, _, b = c.do(http.MethodPost, "/api/v1/jobs/"+j.ID+"/backfill", body(false))
	require.Equal(t, http.StatusAccepted, code, string(b))
	require.NoError(t, json.Unmarshal(b, &res))
	require.Zero(t, res.Queued)
}

func TestBackfillValidates(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j := testfactory.Job(t, c.st, testfactory.JobOpts{})
	now := time.Now().UTC()
	for _, tt := range []struct {
		body  string
		field string
	}{
		{`{"to":"2026-01-01T00:00:00Z"}`, "from"},
		{`{"from":"2026-01-02T00:00:00Z","to":"2026-01-01T00:00:00Z"}`, "to"},
		{`{"from":"2026-01-01T00:00:00Z","to":"` + now.Add(time.Hour).Format(time.RFC3339) + `"}`, "to"},
		{`{"from":"2026-01-01T00:00:00Z","to":"2026-01-01T00:00:10Z","rate":1000}`, "rate"},
		{`{"from":"2020-01-01T00:00:00Z","to":"2026-01-01T00:00:00Z"}`, "to"}, // far more than 10 000 fires
		{`{"from":"yesterday"}`, "from"},
	} {
		p := c.problem(http.MethodPost, "/api/v1/jobs/"+j.ID+"/backfill", tt.body, http.StatusBadRequest)
		require.Equal(t, []string{tt.field}, fields(p), tt.body)
	}
	c.problem(http.MethodPost, "/api/v1/jobs/0193b7c4-0000-7000-8000-000000000000/backfill", `{}`, http.StatusNotFound)
}

// TestBackfillInstantsAreMillisecondsLikeTheirKeys: a fixed_delay job's backfill counts from the
// given from, which may carry microseconds; its fires' instants are cut to the millisecond their
// keys name, so two backfills from instants a few microseconds apart queue the same fires — the
// second finds them queued — rather than two sets that share keys but not instants.
func TestBackfillInstantsAreMillisecondsLikeTheirKeys(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j := testfactory.Job(t, c.st, testfactory.JobOpts{Schedule: &domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: domain.Duration(time.Minute)}})
	from := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond).Add(300 * time.Microsecond)
	queued := 0
	for _, f := range []time.Time{from, from.Add(400 * time.Microsecond)} {
		b, _ := json.Marshal(map[string]any{"from": f, "to": f.Add(3*time.Minute + time.Second), "rate": 50})
		code, _, body := c.do(http.MethodPost, "/api/v1/jobs/"+j.ID+"/backfill", string(b))
		require.Equal(t, http.StatusAccepted, code, string(body))
		var res struct {
			Queued int `json:"queued"`
		}
		require.NoError(t, json.Unmarshal(body, &res))
		queued += res.Queued
	}
	stranded, err := c.st.StrandedFires(t.Context(), time.Time{}, -time.Hour, 100)
	require.NoError(t, err)
	require.Len(t, stranded, 3, "one set of fires")
	for _, f := range stranded {
		require.Equal(t, f.ScheduledAt, f.ScheduledAt.Truncate(time.Millisecond), "instant %s", f.ScheduledAt)
		at, ok := domain.KeyInstant(f.Key)
		require.True(t, ok)
		require.Equal(t, at, f.ScheduledAt.UTC())
	}
	require.Equal(t, 3, queued)
}

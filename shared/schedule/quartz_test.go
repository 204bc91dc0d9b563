package schedule_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/schedule"
)

// TestQuartzTutorialExamples runs the examples of Quartz's CronTrigger tutorial, plus W and LW
// cases, in four zones. The expected fires follow Quartz's documented semantics: 6L is the last
// Friday of the month, 6#3 the third Friday, L-2 the third-to-last day, 1W the weekday nearest
// the 1st without leaving the month (Monday the 3rd when the 1st is a Saturday), LW the last
// weekday, and 1/5 in day-of-month the 1st, 6th, 11th … 31st. A list shorter than three means
// the schedule ends after it (the year field runs out).
func TestQuartzTutorialExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cron  string
		after string
		want  map[string][]string // zone → successive fires, each Next of the one before
	}{
		{cron: "0 0 12 * * ?", after: "2025-01-01T00:00:00Z", want: map[string][]string{
			"UTC":              {"2025-01-01T12:00:00Z", "2025-01-02T12:00:00Z", "2025-01-03T12:00:00Z"},
			"Asia/Ho_Chi_Minh": {"2025-01-01T05:00:00Z", "2025-01-02T05:00:00Z", "2025-01-03T05:00:00Z"},
			"America/New_York": {"2025-01-01T17:00:00Z", "2025-01-02T17:00:00Z", "2025-01-03T17:00:00Z"},
			"Europe/London":    {"2025-01-01T12:00:00Z", "2025-01-02T12:00:00Z", "2025-01-03T12:00:00Z"},
		}},
		{cron: "0 15 10 ? * *", after: "2025-01-01T00:00:00Z", want: map[string][]string{
			"UTC":              {"2025-01-01T10:15:00Z", "2025-01-02T10:15:00Z", "2025-01-03T10:15:00Z"},
			"Asia/Ho_Chi_Minh": {"2025-01-01T03:15:00Z", "2025-01-02T03:15:00Z", "2025-01-03T03:15:00Z"},
			"America/New_York": {"2025-01-01T15:15:00Z", "2025-01-02T15:15:00Z", "2025-01-03T15:15:00Z"},
			"Europe/London":    {"2025-01-01T10:15:00Z", "2025-01-02T10:15:00Z", "2025-01-03T10:15:00Z"},
		}},
		{cron: "0 15 10 * * ? 2005", after: "2005-12-30T00:00:00Z", want: map[string][]string{
			"UTC":              {"2005-12-30T10:15:00Z", "2005-12-31T10:15:00Z"},
			"Asia/Ho_Chi_Minh": {"2005-12-30T03:15:00Z", "2005-12-31T03:15:00Z"},
			"America/New_York": {"2005-12-30T15:15:00Z", "2005-12-31T15:15:00Z"},
			"Europe/London":    {"2005-12-30T10:15:00Z", "2005-12-31T10:15:00Z"},
		}},
		{cron: "0 * 14 * * ?", after: "2025-06-10T07:57:30Z", want: map[string][]string{
			"UTC":              {"2025-06-10T14:00:00Z", "2025-06-10T14:01:00Z", "2025-06-10T14:02:00Z"},
			"Asia/Ho_Chi_Minh": {"2025-06-10T07:58:00Z", "2025-06-10T07:59:00Z", "2025-06-11T07:00:00Z"},
			"America/New_York": {"2025-06-10T18:00:00Z", "2025-06-10T18:01:00Z", "2025-06-10T18:02:00Z"},
			"Europe/London":    {"2025-06-10T13:00:00Z", "2025-06-10T13:01:00Z", "2025-06-10T13:02:00Z"},
		}},
		{cron: "0 0/5 14 * * ?", after: "2025-06-10T07:57:30Z", want: map[string][]string{
			"UTC":              {"2025-06-10T14:00:00Z", "2025-06-10T14:05:00Z", "2025-06-10T14:10:00Z"},
			"Asia/Ho_Chi_Minh": {"2025-06-11T07:00:00Z", "2025-06-11T07:05:00Z", "2025-06-11T07:10:00Z"},
			"America/New_York": {"2025-06-10T18:00:00Z", "2025-06-10T18:05:00Z", "2025-06-10T18:10:00Z"},
			"Europe/London":    {"2025-06-10T13:00:00Z", "2025-06-10T13:05:00Z", "2025-06-10T13:10:00Z"},
		}},
		{cron: "0 0/5 14,18 * * ?", after: "2025-06-10T11:50:00Z", want: map[string][]string{
			"UTC":              {"2025-06-10T14:00:00Z", "2025-06-10T14:05:00Z", "2025-06-10T14:10:00Z"},
			"Asia/Ho_Chi_Minh": {"2025-06-10T11:55:00Z", "2025-06-11T07:00:00Z", "2025-06-11T07:05:00Z"},
			"America/New_York": {"2025-06-10T18:00:00Z", "2025-06-10T18:05:00Z", "2025-06-10T18:10:00Z"},
			"Europe/London":    {"2025-06-10T13:00:00Z", "2025-06-10T13:05:00Z", "2025-06-10T13:10:00Z"},
		}},
		{cron: "0 0-5 14 * * ?", after: "2025-06-10T07:03:00Z", want: map[string][]string{
			"UTC":              {"2025-06-10T14:00:00Z", "2025-06-10T14:01:00Z", "2025-06-10T14:02:00Z"},
			"Asia/Ho_Chi_Minh": {"2025-06-10T07:04:00Z", "2025-06-10T07:05:00Z", "2025-06-11T07:00:00Z"},
			"America/New_York": {"2025-06-10T18:00:00Z", "2025-06-10T18:01:00Z", "2025-06-10T18:02:00Z"},
			"Europe/London":    {"2025-06-10T13:00:00Z", "2025-06-10T13:01:00Z", "2025-06-10T13:02:00Z"},
		}},
		{cron: "0 10,44 14 ? 3 WED", after: "2025-01-01T00:00:00Z", want: map[string][]string{
			"UTC":              {"2025-03-05T14:10:00Z", "2025-03-05T14:44:00Z", "2025-03-12T14:10:00Z"},
			"Asia/Ho_Chi_Minh": {"2025-03-05T07:10:00Z", "2025-03-05T07:44:00Z", "2025-03-12T07:10:00Z"},
			"America/New_York": {"2025-03-05T19:10:00Z", "2025-03-05T19:44:00Z", "2025-03-12T18:10:00Z"},
			"Europe/London":    {"2025-03-05T14:10:00Z", "2025-03-05T14:44:00Z", "2025-03-12T14:10:00Z"},
		}},
		{cron: "0 15 10 ? * MON-FRI", after: "2025-01-03T12:00:00Z", want: map[string][]string{
			"UTC":              {"2025-01-06T10:15:00Z", "2025-01-07T10:15:00Z", "2025-01-08T10:15:00Z"},
			"Asia/Ho_Chi_Minh": {"2025-01-06T03:15:00Z", "2025-01-07T03:15:00Z", "2025-01-08T03:15:00Z"},
			"America/New_York": {"2025-01-03T15:15:00Z", "2025-01-06T15:15:00Z", "2025-01-07T15:15:00Z"},
			"Europe/London":    {"2025-01-06T10:15:00Z", "2025-01-07T10:15:00Z", "2025-01-08T10:15:00Z"},
		}},
		{cron: "0 15 10 15 * ?", after: "2025-01-01T00:00:00Z", want: map[string][]string{
			"UTC":              {"2025-01-15T10:15:00Z", "2025-02-15T10:15:00Z", "2025-03-15T10:15:00Z"},
			"Asia/Ho_Chi_Minh": {"2025-01-15T03:15:00Z", "2025-02-15T03:15:00Z", "2025-03-15T03:15:00Z"},
			"America/New_York": {"2025-01-15T15:15:00Z", "2025-02-15T15:15:00Z", "2025-03-15T14:15:00Z"},
			"Europe/London":    {"2025-01-15T10:15:00Z", "2025-02-15T10:15:00Z", "2025-03-15T10:15:00Z"},
		}},
		{cron: "0 15 10 L * ?", after: "2025-01-01T00:00:00Z", want: map[string][]string{
			"UTC":              {"2025-01-31T10:15:00Z", "2025-02-28T10:15:00Z", "2025-03-31T10:15:00Z"},
			"Asia/Ho_Chi_Minh": {"2025-01-31T03:15:00Z", "2025-02-28T03:15:00Z", "2025-03-31T03:15:00Z"},
			"America/New_York": {"2025-01-31T15:15:00Z", "2025-02-28T15:15:00Z", "2025-03-31T14:15:00Z"},
			"Europe/London":    {"2025-01-31T10:15:00Z", "2025-02-28T10:15:00Z", "2025-03-31T09:15:00Z"},
		}},
		{cron: "0 15 10 L-2 * ?", after: "2025-01-01T00:00:00Z", want: map[string][]string{
			"UTC":              {"2025-01-29T10:15:00Z", "2025-02-26T10:15:00Z", "2025-03-29T10:15:00Z"},
			"Asia/Ho_Chi_Minh": {"2025-01-29T03:15:00Z", "2025-02-26T03:15:00Z", "2025-03-29T03:15:00Z"},
			"America/New_York": {"2025-01-29T15:15:00Z", "2025-02-26T15:15:00Z", "2025-03-29T14:15:00Z"},
			"Europe/London":    {"2025-01-29T10:15:00Z", "2025-02-26T10:15:00Z", "2025-03-29T10:15:00Z"},
		}},
		{cron: "0 15 10 ? * 6L", after: "2025-01-01T00:00:00Z", want: map[string][]string{
			"UTC":              {"2025-01-31T10:15:00Z", "2025-02-28T10:15:00Z", "2025-03-28T10:15:00Z"},
			"Asia/Ho_Chi_Minh": {"2025-01-31T03:15:00Z", "2025-02-28T03:15:00Z", "2025-03-28T03:15:00Z"},
			"America/New_York": {"2025-01-31T15:15:00Z", "2025-02-28T15:15:00Z", "2025-03-28T14:15:00Z"},
			"Europe/London":    {"2025-01-31T10:15:00Z", "2025-02-28T10:15:00Z", "2025-03-28T10:15:00Z"},
		}},
		{cron: "0 15 10 ? * 6L 2002-2005", after: "2005-10-29T00:00:00Z", want: map[string][]string{
			"UTC":              {"2005-11-25T10:15:00Z", "2005-12-30T10:15:00Z"},
			"Asia/Ho_Chi_Minh": {"2005-11-25T03:15:00Z", "2005-12-30T03:15:00Z"},
			"America/New_York": {"2005-11-25T15:15:00Z", "2005-12-30T15:15:00Z"},
			"Europe/London":    {"2005-11-25T10:15:00Z", "2005-12-30T10:15:00Z"},
		}},
		{cron: "0 15 10 ? * 6#3", after: "2025-01-01T00:00:00Z", want: map[string][]string{
			"UTC":              {"2025-01-17T10:15:00Z", "2025-02-21T10:15:00Z", "2025-03-21T10:15:00Z"},
			"Asia/Ho_Chi_Minh": {"2025-01-17T03:15:00Z", "2025-02-21T03:15:00Z", "2025-03-21T03:15:00Z"},
			"America/New_York": {"2025-01-17T15:15:00Z", "2025-02-21T15:15:00Z", "2025-03-21T14:15:00Z"},
			"Europe/London":    {"2025-01-17T10:15:00Z", "2025-02-21T10:15:00Z", "2025-03-21T10:15:00Z"},
		}},
		{cron: "0 0 12 1/5 * ?", after: "2025-01-20T00:00:00Z", want: map[string][]string{
			"UTC":              {"2025-01-21T12:00:00Z", "2025-01-26T12:00:00Z", "2025-01-31T12:00:00Z"},
			"Asia/Ho_Chi_Minh": {"2025-01-21T05:00:00Z", "2025-01-26T05:00:00Z", "2025-01-31T05:00:00Z"},
			"America/New_York": {"2025-01-21T17:00:00Z", "2025-01-26T17:00:00Z", "2025-01-31T17:00:00Z"},
			"Europe/London":    {"2025-01-21T12:00:00Z", "2025-01-26T12:00:00Z", "2025-01-31T12:00:00Z"},
		}},
		{cron: "0 11 11 11 11 ?", after: "2025-01-01T00:00:00Z", want: map[string][]string{
			"UTC":              {"2025-11-11T11:11:00Z", "2026-11-11T11:11:00Z", "2027-11-11T11:11:00Z"},
			"Asia/Ho_Chi_Minh": {"2025-11-11T04:11:00Z", "2026-11-11T04:11:00Z", "2027-11-11T04:11:00Z"},
			"America/New_York": {"2025-11-11T16:11:00Z", "2026-11-11T16:11:00Z", "2027-11-11T16:11:00Z"},
			"Europe/London":    {"2025-11-11T11:11:00Z", "2026-11-11T11:11:00Z", "2027-11-11T11:11:00Z"},
		}},
		{cron: "0 0 12 1W * ?", after: "2025-01-15T00:00:00Z", want: map[string][]string{
			"UTC":              {"2025-02-03T12:00:00Z", "2025-03-03T12:00:00Z", "2025-04-01T12:00:00Z"},
			"Asia/Ho_Chi_Minh": {"2025-02-03T05:00:00Z", "2025-03-03T05:00:00Z", "2025-04-01T05:00:00Z"},
			"America/New_York": {"2025-02-03T17:00:00Z", "2025-03-03T17:00:00Z", "2025-04-01T16:00:00Z"},
			"Europe/London":    {"2025-02-03T12:00:00Z", "2025-03-03T12:00:00Z", "2025-04-01T11:00:00Z"},
		}},
		{cron: "0 0 12 15W * ?", after: "2025-02-01T00:00:00Z", want: map[string][]string{
			"UTC":              {"2025-02-14T12:00:00Z", "2025-03-14T12:00:00Z", "2025-04-15T12:00:00Z"},
			"Asia/Ho_Chi_Minh": {"2025-02-14T05:00:00Z", "2025-03-14T05:00:00Z", "2025-04-15T05:00:00Z"},
			"America/New_York": {"2025-02-14T17:00:00Z", "2025-03-14T16:00:00Z", "2025-04-15T16:00:00Z"},
			"Europe/London":    {"2025-02-14T12:00:00Z", "2025-03-14T12:00:00Z", "2025-04-15T11:00:00Z"},
		}},
		{cron: "0 0 12 31W * ?", after: "2025-07-01T00:00:00Z", want: map[string][]string{
			"UTC":              {"2025-07-31T12:00:00Z", "2025-08-29T12:00:00Z", "2025-10-31T12:00:00Z"},
			"Asia/Ho_Chi_Minh": {"2025-07-31T05:00:00Z", "2025-08-29T05:00:00Z", "2025-10-31T05:00:00Z"},
			"America/New_York": {"2025-07-31T16:00:00Z", "2025-08-29T16:00:00Z", "2025-10-31T16:00:00Z"},
			"Europe/London":    {"2025-07-31T11:00:00Z", "2025-08-29T11:00:00Z", "2025-10-31T12:00:00Z"},
		}},
		{cron: "0 0 12 LW * ?", after: "2025-04-01T00:00:00Z", want: map[string][]string{
			"UTC":              {"2025-04-30T12:00:00Z", "2025-05-30T12:00:00Z", "2025-06-30T12:00:00Z"},
			"Asia/Ho_Chi_Minh": {"2025-04-30T05:00:00Z", "2025-05-30T05:00:00Z", "2025-06-30T05:00:00Z"},
			"America/New_York": {"2025-04-30T16:00:00Z", "2025-05-30T16:00:00Z", "2025-06-30T16:00:00Z"},
			"Europe/London":    {"2025-04-30T11:00:00Z", "2025-05-30T11:00:00Z", "2025-06-30T11:00:00Z"},
		}},
		{cron: "0 0 12 ? * FRI-MON", after: "2025-01-01T00:00:00Z", want: map[string][]string{
			"UTC":              {"2025-01-03T12:00:00Z", "2025-01-04T12:00:00Z", "2025-01-05T12:00:00Z"},
			"Asia/Ho_Chi_Minh": {"2025-01-03T05:00:00Z", "2025-01-04T05:00:00Z", "2025-01-05T05:00:00Z"},
			"America/New_York": {"2025-01-03T17:00:00Z", "2025-01-04T17:00:00Z", "2025-01-05T17:00:00Z"},
			"Europe/London":    {"2025-01-03T12:00:00Z", "2025-01-04T12:00:00Z", "2025-01-05T12:00:00Z"},
		}},
	}
	for _, tt := range tests {
		for zone, want := range tt.want {
			t.Run(tt.cron+"/"+zone, func(t *testing.T) {
				t.Parallel()
				s, err := schedule.Parse(domain.Schedule{Cron: tt.cron}, zone)
				require.NoError(t, err)
				after := mustTime(t, tt.after)
				for i, w := range want {
					got, ok := s.Next(after)
					require.True(t, ok, "step %d: Next(%s) ended", i, after)
					assert.Equal(t, w, got.Format(time.RFC3339), "step %d: Next(%s), local %s", i, after, got.In(s.Location()))
					after = got
				}
				if len(want) < 3 {
					got, ok := s.Next(after)
					assert.False(t, ok, "Next(%s) = %s, want the end of the schedule", after, got)
				}
			})
		}
	}
}

// mustTime parses an RFC 3339 instant.
func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return v
}

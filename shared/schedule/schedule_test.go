package schedule_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/schedule"
)

func TestParseNext(t *testing.T) {
	t.Parallel()
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return v
	}
	tests := []struct {
		name  string
		cron  string
		tz    string
		after time.Time
		want  []time.Time // successive Next results, each computed from the one before
	}{
		{
			name:  "SixFieldsWithSeconds",
			cron:  "*/5 * * * * *",
			tz:    "UTC",
			after: utc("2025-01-01T00:00:03Z"),
			want:  []time.Time{utc("2025-01-01T00:00:05Z"), utc("2025-01-01T00:00:10Z"), utc("2025-01-01T00:00:15Z")},
		},
		{
			name:  "SixFieldsAcrossMinute",
			cron:  "10,40 * * * * *",
			tz:    "UTC",
			after: utc("2025-01-01T00:00:40Z"),
			want:  []time.Time{utc("2025-01-01T00:01:10Z"), utc("2025-01-01T00:01:40Z"), utc("2025-01-01T00:02:10Z")},
		},
		{
			name:  "FiveFieldsFireAtSecondZero",
			cron:  "*/15 * * * *",
			tz:    "UTC",
			after: utc("2025-01-01T10:07:30Z"),
			want:  []time.Time{utc("2025-01-01T10:15:00Z"), utc("2025-01-01T10:30:00Z"), utc("2025-01-01T10:45:00Z")},
		},
		{
			name:  "FiveFieldsDailyInZone",
			cron:  "30 6 * * *",
			tz:    "Asia/Ho_Chi_Minh",
			after: utc("2025-01-01T00:00:00Z"),
			want:  []time.Time{utc("2025-01-01T23:30:00Z"), utc("2025-01-02T23:30:00Z")},
		},
		{
			name:  "DescriptorHourly",
			cron:  "@hourly",
			tz:    "UTC",
			after: utc("2025-01-01T10:00:00Z"),
			want:  []time.Time{utc("2025-01-01T11:00:00Z"), utc("2025-01-01T12:00:00Z")},
		},
		{
			name:  "DescriptorHourlyInHalfHourZone",
			cron:  "@hourly",
			tz:    "Asia/Kolkata",
			after: utc("2025-01-01T10:00:00Z"),
			want:  []time.Time{utc("2025-01-01T10:30:00Z"), utc("2025-01-01T11:30:00Z")},
		},
		{
			name:  "DescriptorDailyInZone",
			cron:  "@daily",
			tz:    "Asia/Ho_Chi_Minh",
			after: utc("2025-01-01T12:00:00Z"),
			want:  []time.Time{utc("2025-01-01T17:00:00Z"), utc("2025-01-02T17:00:00Z")},
		},
		{
			name:  "DescriptorEvery90s",
			cron:  "@every 90s",
			tz:    "UTC",
			after: utc("2025-01-01T10:00:00Z"),
			want:  []time.Time{utc("2025-01-01T10:01:30Z"), utc("2025-01-01T10:03:00Z"), utc("2025-01-01T10:04:30Z")},
		},
		{
			name:  "DescriptorEveryDropsSubSecond",
			cron:  "@every 90s",
			tz:    "UTC",
			after: utc("2025-01-01T10:00:00.25Z"),
			want:  []time.Time{utc("2025-01-01T10:01:30Z"), utc("2025-01-01T10:03:00Z")},
		},
		{
			name:  "ZoneHoChiMinhNineLocalIsTwoUTC",
			cron:  "0 0 9 * * *",
			tz:    "Asia/Ho_Chi_Minh",
			after: utc("2025-03-10T00:00:00Z"),
			want:  []time.Time{utc("2025-03-10T02:00:00Z"), utc("2025-03-11T02:00:00Z"), utc("2025-03-12T02:00:00Z")},
		},
		{
			name:  "EmptyZoneMeansDefault",
			cron:  "0 0 9 * * *",
			tz:    "",
			after: utc("2025-03-10T00:00:00Z"),
			want:  []time.Time{utc("2025-03-10T02:00:00Z"), utc("2025-03-11T02:00:00Z")},
		},
		{
			name:  "ZoneWithDaylightSaving",
			cron:  "0 30 9 * * *",
			tz:    "America/New_York",
			after: utc("2025-03-08T12:00:00Z"),
			// 09:30 EST, then 09:30 EDT after the spring-forward on 2025-03-09.
			want: []time.Time{utc("2025-03-08T14:30:00Z"), utc("2025-03-09T13:30:00Z"), utc("2025-03-10T13:30:00Z")},
		},
		{
			name:  "SkippedLocalTimeFiresAfterTheGap",
			cron:  "0 30 2 * * *",
			tz:    "America/New_York",
			after: utc("2025-03-08T12:00:00Z"),
			// 2025-03-09 02:30 does not exist in New York: it fires at 03:00 EDT, when the gap ends.
			want: []time.Time{utc("2025-03-09T07:00:00Z"), utc("2025-03-10T06:30:00Z")},
		},
		{
			name:  "RepeatedLocalTimeFiresOnce",
			cron:  "0 30 1 * * *",
			tz:    "America/New_York",
			after: utc("2025-11-01T12:00:00Z"),
			// 2025-11-02 01:30 comes twice (EDT, then EST): it fires at the first.
			want: []time.Time{utc("2025-11-02T05:30:00Z"), utc("2025-11-03T06:30:00Z")},
		},
		{
			name:  "EveryQuarterHourThroughFallBack",
			cron:  "0 */15 * * * *",
			tz:    "America/New_York",
			after: utc("2025-11-02T05:40:00Z"), // 01:40 EDT
			// 01:45 EDT, then the repeated 01:00–01:59 EST is skipped, then 02:00 EST.
			want: []time.Time{utc("2025-11-02T05:45:00Z"), utc("2025-11-02T07:00:00Z"), utc("2025-11-02T07:15:00Z")},
		},
		{
			name:  "WeekdaysOnly",
			cron:  "0 0 9 * * MON-FRI",
			tz:    "Asia/Ho_Chi_Minh",
			after: utc("2025-03-07T03:00:00Z"), // Friday 10:00 local
			want:  []time.Time{utc("2025-03-10T02:00:00Z"), utc("2025-03-11T02:00:00Z")},
		},
		{
			name:  "StrictlyAfterAFireInstant",
			cron:  "0 0 9 * * *",
			tz:    "Asia/Ho_Chi_Minh",
			after: utc("2025-03-10T02:00:00Z"),
			want:  []time.Time{utc("2025-03-11T02:00:00Z")},
		},
		{
			name:  "StrictlyAfterWithSubSecondPast",
			cron:  "*/5 * * * * *",
			tz:    "UTC",
			after: utc("2025-01-01T00:00:05.000000001Z"),
			want:  []time.Time{utc("2025-01-01T00:00:10Z")},
		},
		{
			name:  "SubSecondBeforeAFire",
			cron:  "*/5 * * * * *",
			tz:    "UTC",
			after: utc("2025-01-01T00:00:04.999Z"),
			want:  []time.Time{utc("2025-01-01T00:00:05Z")},
		},
		{
			name:  "SurroundingWhitespaceIgnored",
			cron:  "  0 0 * * * *\n",
			tz:    "UTC",
			after: utc("2025-01-01T00:30:00Z"),
			want:  []time.Time{utc("2025-01-01T01:00:00Z")},
		},
		{
			name:  "LeapDay",
			cron:  "0 0 12 29 2 *",
			tz:    "UTC",
			after: utc("2025-01-01T00:00:00Z"),
			want:  []time.Time{utc("2028-02-29T12:00:00Z"), utc("2032-02-29T12:00:00Z")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := schedule.Parse(domain.Schedule{Cron: tt.cron}, tt.tz)
			require.NoError(t, err)
			after := tt.after
			for i, want := range tt.want {
				got, ok := s.Next(after)
				require.True(t, ok, "step %d", i)
				assert.Equal(t, time.UTC, got.Location(), "step %d: result must be UTC", i)
				assert.True(t, want.Equal(got), "step %d: Next(%s) = %s, want %s", i, after, got, want)
				after = got
			}
		})
	}
}

func TestNextSameInstantAnyInputZone(t *testing.T) {
	t.Parallel()
	s, err := schedule.Parse(domain.Schedule{Cron: "0 0 9 * * *"}, "Asia/Ho_Chi_Minh")
	require.NoError(t, err)
	after := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
	want, ok := s.Next(after)
	require.True(t, ok)
	for _, name := range []string{"America/Los_Angeles", "Europe/Berlin", "Pacific/Kiritimati"} {
		loc, err := time.LoadLocation(name)
		require.NoError(t, err)
		got, ok := s.Next(after.In(loc))
		require.True(t, ok)
		assert.True(t, want.Equal(got), "%s: got %s, want %s", name, got, want)
	}
}

func TestParseLocation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		tz   string
		want string
	}{
		{name: "EmptyIsDefault", tz: "", want: domain.DefaultTimezone},
		{name: "UTC", tz: "UTC", want: "UTC"},
		{name: "IANAName", tz: "Europe/Berlin", want: "Europe/Berlin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := schedule.Parse(domain.Schedule{Cron: "@hourly"}, tt.tz)
			require.NoError(t, err)
			assert.Equal(t, tt.want, s.Location().String())
		})
	}
}

func TestLoadLocation(t *testing.T) {
	t.Parallel()
	loc, err := schedule.LoadLocation("")
	require.NoError(t, err)
	assert.Equal(t, domain.DefaultTimezone, loc.String())

	for _, tz := range []string{"Local", "Mars/Olympus_Mons", "../../etc/passwd", "utc "} {
		_, err := schedule.LoadLocation(tz)
		require.Error(t, err, "tz %q", tz)
		assert.Contains(t, err.Error(), "unknown time zone")
		assert.Contains(t, err.Error(), domain.DefaultTimezone, "the message suggests a zone")
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		cron       string
		tz         string
		wantFields []string
		wantReason string // substring of some reason
	}{
		{name: "EmptyCron", cron: "", tz: "UTC", wantFields: []string{"schedule.cron"}, wantReason: "required"},
		{name: "BlankCron", cron: " \t\n", tz: "UTC", wantFields: []string{"schedule.cron"}, wantReason: "required"},
		{name: "Garbage", cron: "every morning", tz: "UTC", wantFields: []string{"schedule.cron"}, wantReason: "every morning"},
		{name: "TooFewFields", cron: "* * *", tz: "UTC", wantFields: []string{"schedule.cron"}, wantReason: "has 3 fields; want 6 or 7"},
		{name: "TooManyFields", cron: "* * * * * * * *", tz: "UTC", wantFields: []string{"schedule.cron"}, wantReason: "has 8 fields"},
		{name: "SecondOutOfRange", cron: "60 * * * * *", tz: "UTC", wantFields: []string{"schedule.cron"}, wantReason: `second: "60" is out of range 0-59`},
		{name: "MinuteOutOfRange", cron: "61 * * * *", tz: "UTC", wantFields: []string{"schedule.cron"}, wantReason: `minute: "61" is out of range 0-59`},
		{name: "ZeroStep", cron: "*/0 * * * * *", tz: "UTC", wantFields: []string{"schedule.cron"}, wantReason: `second: step "0" in "*/0" must be a number from 1 to 59`},
		{name: "UnknownDescriptor", cron: "@fortnightly", tz: "UTC", wantFields: []string{"schedule.cron"}, wantReason: `unknown descriptor "@fortnightly"`},
		{name: "EveryBadDuration", cron: "@every soon", tz: "UTC", wantFields: []string{"schedule.cron"}, wantReason: `@every needs a duration such as 90s or 1h30m, got "soon"`},
		{name: "EmbeddedTZ", cron: "TZ=UTC 0 * * * *", tz: "UTC", wantFields: []string{"schedule.cron"}, wantReason: "timezone field"},
		{name: "EmbeddedCronTZ", cron: "CRON_TZ=Europe/Berlin 0 * * * *", tz: "UTC", wantFields: []string{"schedule.cron"}, wantReason: "timezone field"},
		{name: "EmbeddedTZAlone", cron: "TZ=", tz: "UTC", wantFields: []string{"schedule.cron"}, wantReason: "timezone field"},
		{name: "UnknownZone", cron: "@hourly", tz: "Mars/Olympus_Mons", wantFields: []string{"timezone"}, wantReason: "Mars/Olympus_Mons"},
		{name: "LocalRejected", cron: "@hourly", tz: "Local", wantFields: []string{"timezone"}, wantReason: `"Local"`},
		{name: "BothBad", cron: "not a cron", tz: "Nowhere/Land", wantFields: []string{"timezone", "schedule.cron"}, wantReason: "Nowhere/Land"},
		{name: "EmptyCronAndLocal", cron: "", tz: "Local", wantFields: []string{"timezone", "schedule.cron"}, wantReason: "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := schedule.Parse(domain.Schedule{Cron: tt.cron}, tt.tz)
			require.Error(t, err)
			assert.Nil(t, s)
			var verr *domain.ValidationError
			require.True(t, errors.As(err, &verr), "want *domain.ValidationError, got %T: %v", err, err)
			var fields []string
			for _, f := range verr.Fields {
				fields = append(fields, f.Field)
				assert.NotEmpty(t, f.Reason, "field %s", f.Field)
			}
			assert.ElementsMatch(t, tt.wantFields, fields)
			assert.Contains(t, err.Error(), tt.wantReason)
		})
	}
}

// TestNextAcrossOddClockChanges covers zones whose clocks change off the hour or skip midnight,
// where a cron library that searches in wall time goes wrong (robfig/cron v3.0.1 gives the
// result in each case comment).
func TestNextAcrossOddClockChanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cron  string
		tz    string
		after time.Time
		want  time.Time
	}{
		{
			// Clocks go back from 03:45 +1345 to 02:45 +1245, so 02:45–03:44 come twice; their
			// first occurrences are past, so the next fire is 03:45 +1245. robfig/cron: the hour
			// search resets to 02:00 and loops until its five-year limit, giving (zero, false):
			// the job would never run again.
			name:  "ChathamFallBackKeepsFiring",
			cron:  "0 */5 3 * * *",
			tz:    "Pacific/Chatham",
			after: time.Date(2025, 4, 5, 14, 0, 5, 0, time.UTC), // 02:45:05 +1245
			want:  time.Date(2025, 4, 5, 15, 0, 0, 0, time.UTC), // 03:45 +1245
		},
		{
			// Clocks go forward 30 minutes at 02:00. robfig/cron: the minute search runs from
			// 01:59 to 02:30 without passing minute 0, so the hour is not re-checked: 02:35 +1100.
			name:  "LordHoweThirtyMinuteSpringForward",
			cron:  "0 */7 1 * * *",
			tz:    "Australia/Lord_Howe",
			after: time.Date(2025, 10, 4, 15, 27, 0, 0, time.UTC), // 2025-10-05 01:57 +1030
			want:  time.Date(2025, 10, 5, 14, 0, 0, 0, time.UTC),  // 2025-10-06 01:00 +1100
		},
		{
			// Midnight of Sunday 2025-03-09 does not exist in Havana. robfig/cron: the hour search
			// runs from Saturday 23:00 to Sunday 01:00 without noticing the day changed: Sunday 01:30.
			name:  "HavanaSkippedMidnightFiresOnWrongDay",
			cron:  "0 30 1 * * SAT",
			tz:    "America/Havana",
			after: time.Date(2025, 3, 8, 6, 30, 0, 0, time.UTC),  // Saturday 01:30 CST
			want:  time.Date(2025, 3, 15, 5, 30, 0, 0, time.UTC), // next Saturday 01:30 CDT
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := schedule.Parse(domain.Schedule{Cron: tt.cron}, tt.tz)
			require.NoError(t, err)
			got, ok := s.Next(tt.after)
			require.True(t, ok, "Next(%s) reports the schedule never fires again", tt.after)
			assert.True(t, tt.want.Equal(got), "Next(%s) = %s (local %s), want %s (local %s)",
				tt.after, got, got.In(s.Location()), tt.want, tt.want.In(s.Location()))
		})
	}
}

// A zone is named as the zone database names it: spellings that the loader would also resolve
// (dot segments, doubled slashes) are refused, so that the loaded zones stay as many as the
// database holds.
func TestZonesAreNamedAsTheDatabaseNamesThem(t *testing.T) {
	t.Parallel()
	for _, tz := range []string{"Asia/Ho_Chi_Minh", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "Etc/GMT-14", "UTC", "EST5EDT", "America/Port-au-Prince"} {
		_, err := schedule.LoadLocation(tz)
		require.NoError(t, err, tz)
	}
	for _, tz := range []string{"America/./New_York", "America//New_York", "./UTC", "America/New_York/", "/UTC", "America/../America/New_York",
		"Local", strings.Repeat("A/", 40) + "UTC", "Asia/Ho Chi Minh"} {
		_, err := schedule.LoadLocation(tz)
		require.Error(t, err, tz)
	}
}

package schedule_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/schedule"
)

// TestCronSyntax checks the less common parts of the language, in UTC.
func TestCronSyntax(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cron   string
		anchor string
		after  string
		want   []string
		ends   bool // Next after the last want reports the end
	}{
		{name: "HourRangeWraps", cron: "0 0 22-2 * * ?", after: "2025-01-01T21:30:00Z",
			want: []string{"2025-01-01T22:00:00Z", "2025-01-01T23:00:00Z", "2025-01-02T00:00:00Z", "2025-01-02T01:00:00Z", "2025-01-02T02:00:00Z", "2025-01-02T22:00:00Z"}},
		{name: "DayRangeWraps", cron: "0 0 12 28-3 * ?", after: "2025-02-27T00:00:00Z",
			want: []string{"2025-02-28T12:00:00Z", "2025-03-01T12:00:00Z", "2025-03-02T12:00:00Z", "2025-03-03T12:00:00Z", "2025-03-28T12:00:00Z"}},
		{name: "MinuteRangeWrapsWithStep", cron: "0 50-10/10 * * * ?", after: "2025-01-01T00:00:00Z",
			want: []string{"2025-01-01T00:10:00Z", "2025-01-01T00:50:00Z", "2025-01-01T01:00:00Z"}},
		{name: "MonthNamesWrap", cron: "0 0 12 ? NOV-FEB MON", after: "2025-02-20T00:00:00Z",
			want: []string{"2025-02-24T12:00:00Z", "2025-11-03T12:00:00Z", "2025-11-10T12:00:00Z"}},
		{name: "RangeWithStep", cron: "30 10-20/5 * * * ?", after: "2025-01-01T00:00:00Z",
			want: []string{"2025-01-01T00:10:30Z", "2025-01-01T00:15:30Z", "2025-01-01T00:20:30Z", "2025-01-01T01:10:30Z"}},
		{name: "DayOfWeekLAloneIsSaturday", cron: "0 0 12 ? * L", after: "2025-01-01T00:00:00Z",
			want: []string{"2025-01-04T12:00:00Z", "2025-01-11T12:00:00Z"}},
		{name: "NameWithL", cron: "0 0 12 ? * FRIL", after: "2025-01-01T00:00:00Z",
			want: []string{"2025-01-31T12:00:00Z", "2025-02-28T12:00:00Z"}},
		{name: "LowerCaseNth", cron: "0 0 12 ? * fri#2", after: "2025-01-01T00:00:00Z",
			want: []string{"2025-01-10T12:00:00Z", "2025-02-14T12:00:00Z"}},
		{name: "LastMinusNNearestWeekday", cron: "0 0 12 L-3W * ?", after: "2025-09-01T00:00:00Z",
			want: []string{"2025-09-26T12:00:00Z", "2025-10-28T12:00:00Z", "2025-11-27T12:00:00Z"}},
		{name: "RareLeapDayYear", cron: "0 0 0 29 2 ? 2096/4", after: "2025-01-01T00:00:00Z",
			want: []string{"2096-02-29T00:00:00Z"}, ends: true},
		{name: "LastMinusThirtyOnlyIn31DayMonths", cron: "0 0 0 L-30 * ?", after: "2025-01-02T00:00:00Z",
			want: []string{"2025-03-01T00:00:00Z", "2025-05-01T00:00:00Z", "2025-07-01T00:00:00Z"}},
		{name: "FebruaryWithFiveFridays", cron: "0 0 0 ? 2 6#5", after: "2025-01-01T00:00:00Z",
			want: []string{"2036-02-29T00:00:00Z", "2064-02-29T00:00:00Z"}},
		{name: "StarInBothDayFieldsIsEveryDay", cron: "0 0 12 * * *", after: "2025-01-01T12:00:00Z",
			want: []string{"2025-01-02T12:00:00Z", "2025-01-03T12:00:00Z"}},
		{name: "SevenFieldsEverySecond", cron: "* * * * * * *", after: "2025-01-01T00:00:00.5Z",
			want: []string{"2025-01-01T00:00:01Z", "2025-01-01T00:00:02Z"}},
		{name: "YearListEnds", cron: "0 0 0 1 1 ? 2030,2031", after: "2025-01-01T00:00:00Z",
			want: []string{"2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z"}, ends: true},
		{name: "BeforeTheYearRange", cron: "0 0 0 1 1 ? *", after: "1960-06-01T00:00:00Z",
			want: []string{"1970-01-01T00:00:00Z", "1971-01-01T00:00:00Z"}},
		{name: "StarYearEndsIn2099", cron: "0 0 0 1 1 ? *", after: "2098-06-01T00:00:00Z",
			want: []string{"2099-01-01T00:00:00Z"}, ends: true},

		// 5-field Unix cron: second 0, 0 and 7 are Sunday, Vixie's either-day rule.
		{name: "UnixEitherDay", cron: "0 12 1 * MON", after: "2025-01-28T00:00:00Z",
			want: []string{"2025-02-01T12:00:00Z", "2025-02-03T12:00:00Z", "2025-02-10T12:00:00Z"}},
		{name: "UnixSevenIsSunday", cron: "0 12 * * 7", after: "2025-01-01T00:00:00Z",
			want: []string{"2025-01-05T12:00:00Z", "2025-01-12T12:00:00Z"}},
		{name: "UnixZeroIsSunday", cron: "0 12 * * 0", after: "2025-01-01T00:00:00Z",
			want: []string{"2025-01-05T12:00:00Z"}},
		{name: "UnixRangeToSeven", cron: "0 12 * * 5-7", after: "2025-01-01T00:00:00Z",
			want: []string{"2025-01-03T12:00:00Z", "2025-01-04T12:00:00Z", "2025-01-05T12:00:00Z", "2025-01-10T12:00:00Z"}},
		{name: "UnixNamesWrap", cron: "0 12 * * SAT-SUN", after: "2025-01-01T00:00:00Z",
			want: []string{"2025-01-04T12:00:00Z", "2025-01-05T12:00:00Z", "2025-01-11T12:00:00Z"}},
		{name: "UnixQuestionMark", cron: "0 12 ? * MON", after: "2025-01-01T00:00:00Z",
			want: []string{"2025-01-06T12:00:00Z"}},

		// Descriptors.
		{name: "Weekly", cron: "@weekly", after: "2025-01-01T00:00:00Z", want: []string{"2025-01-05T00:00:00Z", "2025-01-12T00:00:00Z"}},
		{name: "Monthly", cron: "@monthly", after: "2025-01-01T00:00:00Z", want: []string{"2025-02-01T00:00:00Z", "2025-03-01T00:00:00Z"}},
		{name: "Yearly", cron: "@yearly", after: "2025-01-01T00:00:00Z", want: []string{"2026-01-01T00:00:00Z"}},
		{name: "Annually", cron: "@ANNUALLY", after: "2025-01-01T00:00:00Z", want: []string{"2026-01-01T00:00:00Z"}},
		{name: "Midnight", cron: "@midnight", after: "2025-01-01T00:00:00Z", want: []string{"2025-01-02T00:00:00Z"}},
		{name: "EveryFromEpoch", cron: "@every 7m", after: "2025-01-01T00:00:00Z",
			// 2025-01-01T00:00:00Z is 1735689600 s = 4132594·420 + 120 s after the epoch.
			want: []string{"2025-01-01T00:05:00Z", "2025-01-01T00:12:00Z"}},
		{name: "EveryFromAnchor", cron: "@every 90s", anchor: "2025-01-01T00:00:10Z", after: "2025-01-01T00:00:00Z",
			want: []string{"2025-01-01T00:00:10Z", "2025-01-01T00:01:40Z", "2025-01-01T00:03:10Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := domain.Schedule{Cron: tt.cron}
			if tt.anchor != "" {
				a := mustTime(t, tt.anchor)
				in.Anchor = &a
			}
			s, err := schedule.Parse(in, "UTC")
			require.NoError(t, err)
			assert.Equal(t, domain.ScheduleCron, s.Kind())
			after := mustTime(t, tt.after)
			for i, w := range tt.want {
				got, ok := s.Next(after)
				require.True(t, ok, "step %d", i)
				assert.Equal(t, w, got.Format(time.RFC3339), "step %d: Next(%s)", i, after)
				after = got
			}
			if tt.ends {
				got, ok := s.Next(after)
				assert.False(t, ok, "Next(%s) = %s, want the end", after, got)
				assert.True(t, got.IsZero())
			}
		})
	}
}

// TestCronErrors checks that Parse rejects what Quartz rejects, naming the cron field.
func TestCronErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cron string
		want []string // the reasons, in order
	}{
		{"0 0 12 32 * ?", []string{`day-of-month: "32" is out of range 1-31`}},
		{"0 0 12 0 * ?", []string{`day-of-month: "0" is out of range 1-31`}},
		{"0 0 12 ? 13 *", []string{`month: "13" is out of range 1-12`}},
		{"0 0 12 ? * 8", []string{`day-of-week: "8" is out of range 1-7`}},
		{"0 0 12 ? * 0", []string{`day-of-week: "0" is out of range 1-7`}},
		{"0 0 24 * * ?", []string{`hour: "24" is out of range 0-23`}},
		{"0 0 12 * * ? 1969", []string{`year: "1969" is out of range 1970-2099`}},
		{"0 0 12 * * ? 2100", []string{`year: "2100" is out of range 1970-2099`}},
		{"0 0 12 * * ? 2005-2002", []string{`year: range "2005-2002" starts after it ends`}},
		{"0 0 12 * * ? 99999999999", []string{`year: "99999999999" is out of range 1970-2099`}},
		{"60 60 24 * * ?", []string{`second: "60" is out of range 0-59`, `minute: "60" is out of range 0-59`, `hour: "24" is out of range 0-23`}},
		{"? 0 12 * * *", []string{`second: "?" is only allowed in day-of-month and day-of-week`}},
		{"0 0 12 * ? *", []string{`month: "?" is only allowed in day-of-month and day-of-week`}},
		{"0 0 12 ? * ?", []string{`day-of-month and day-of-week: "?" may be used in only one of them`}},
		{"0 0 12 15 * MON", []string{"day-of-month and day-of-week: specifying both a day-of-week and a day-of-month is not supported; use ? in one of them"}},
		{"0 0 12 1,15 * MON-FRI", []string{"day-of-month and day-of-week: specifying both a day-of-week and a day-of-month is not supported; use ? in one of them"}},
		{"0 0 12 ?,1 * *", []string{`day-of-month: "?" must be the whole field`}},
		{"0 0 12 L,15 * ?", []string{`day-of-month: cannot parse "L,15": "L" and "W" must be used alone, such as L, L-2, LW or 15W`}},
		{"0 0 12 l-x * ?", []string{`day-of-month: cannot parse "l-x": "L" may be followed only by an offset from 1 to 30 and W, such as L, L-2, LW or L-2W`}},
		{"0 0 12 ? * fooL", []string{`day-of-week: cannot parse "foo"`}},
		{"0 0 12 15,L * ?", []string{`day-of-month: cannot parse "15,L": "L" and "W" must be used alone, such as L, L-2, LW or 15W`}},
		{"0 0 12 1-5W * ?", []string{`day-of-month: cannot parse "1-5W": "W" follows a single day, such as 15W (not a list or range)`}},
		{"0 0 12 32W * ?", []string{`day-of-month: "32" is out of range 1-31`}},
		{"0 0 12 L-31 * ?", []string{`day-of-month: cannot parse "L-31": "L" may be followed only by an offset from 1 to 30 and W, such as L, L-2, LW or L-2W`}},
		{"0 0 12 15# * ?", []string{`day-of-month: "#" is only allowed in day-of-week`}},
		{"0 0 12 ? * 6#6", []string{`day-of-week: cannot parse "6#6": "#" must be followed by a number from 1 to 5, such as 6#3 (the third Friday)`}},
		{"0 0 12 ? * 6#0", []string{`day-of-week: cannot parse "6#0": "#" must be followed by a number from 1 to 5, such as 6#3 (the third Friday)`}},
		{"0 0 12 ? * 8#1", []string{`day-of-week: "8" is out of range 1-7`}},
		{"0 0 12 ? * 2L,3", []string{`day-of-week: cannot parse "2L,3": "L" and "#" must be used alone, such as L, 6L (the last Friday) or 6#3 (the third Friday)`}},
		{"0 0 12 ? * 1#1,2#2", []string{`day-of-week: cannot parse "1#1,2#2": "L" and "#" must be used alone, such as L, 6L (the last Friday) or 6#3 (the third Friday)`}},
		{"0 0 L * * ?", []string{`hour: "L" is only allowed in day-of-month and day-of-week`}},
		{"0 0 12 W * ?", []string{`day-of-month: cannot parse "W": "W" follows a single day, such as 15W (not a list or range)`}},
		{"0 0 12 ? * MONDAY", []string{`day-of-week: cannot parse "MONDAY"`}},
		{"0 0 12 ? FOO *", []string{`month: cannot parse "FOO"`}},
		{"*/5,, * * * * *", []string{"second: empty list item"}},
		{"0 0 12- * * ?", []string{"hour: a value is missing"}},
		{"0 0/60 * * * ?", []string{`minute: step "60" in "0/60" must be a number from 1 to 59`}},
		{"0 0/x * * * ?", []string{`minute: step "x" in "0/x" must be a number from 1 to 59`}},
		{"0 -5 * * * ?", []string{"minute: a value is missing"}},
		{"0 12 L * *", []string{`day-of-month: "L", "W" and "#" need the 6-field Quartz form (seconds first)`}},
		{"0 12 * * 5L", []string{`day-of-week: "L" and "#" need the 6-field Quartz form (seconds first)`}},
		{"0 12 * * 8", []string{`day-of-week: "8" is out of range 0-7`}},
		{"0 0 12 31 2 ?", []string{"never fires: no date matches its day-of-month, day-of-week, month and year fields together"}},
		{"0 0 12 30 2 ?", []string{"never fires: no date matches its day-of-month, day-of-week, month and year fields together"}},
		{"0 0 12 31 4,6,9,11 ?", []string{"never fires: no date matches its day-of-month, day-of-week, month and year fields together"}},
		{"0 0 0 29 2 ? 2097-2099", []string{"never fires: no date matches its day-of-month, day-of-week, month and year fields together"}},
		{"0 0 0 ? 2 1#5 2025", []string{"never fires: no date matches its day-of-month, day-of-week, month and year fields together"}},
		{"0 0 12 30 2 *", []string{"never fires: no date matches its day-of-month, day-of-week, month and year fields together"}},
		{"@every 500ms", []string{"@every 500ms is shorter than 1s"}},
		{"@every", []string{`"@every": @every takes one duration, such as "@every 90s"`}},
		{"@every 1m 2m", []string{`"@every 1m 2m": @every takes one duration, such as "@every 90s"`}},
		{"@daily 1", []string{`unknown descriptor "@daily 1": use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>`}},
		{"CRON_TZ=UTC 0 0 * * * ?", []string{"must not embed a time zone; set the timezone field instead"}},
	}
	for _, tt := range tests {
		t.Run(tt.cron, func(t *testing.T) {
			t.Parallel()
			s, err := schedule.Parse(domain.Schedule{Cron: tt.cron}, "UTC")
			require.Error(t, err)
			assert.Nil(t, s)
			var verr *domain.ValidationError
			require.ErrorAs(t, err, &verr)
			var reasons []string
			for _, f := range verr.Fields {
				assert.Equal(t, "schedule.cron", f.Field)
				reasons = append(reasons, f.Reason)
			}
			assert.Equal(t, tt.want, reasons)
		})
	}
}

// TestCronAccepted lists expressions Parse must accept.
func TestCronAccepted(t *testing.T) {
	t.Parallel()
	for _, cron := range []string{
		"0 0 12 * * ? *", "0 0 12 ? * L", "0 0 12 ? * FRIL", "0 0 12 ? * fri#2", "0 0 12 l-3w * ?",
		"0 0 12 LW * ?", "0 0 12 L-0 * ?", "0 0 22-2 * * ?", "0 0 12 ? nov-feb MON", "0 0 12 28-3 * ?",
		"0 15 10 ? * 6L 2002-2005", "0 0 0 29 2 ? 2096/4", "0 0 0 L-30 * ?", "0 0 0 ? 2 6#5",
		"0 0 12 ? * 1-7", "0 0 12 ? * SUN-SAT", "*/1 */1 */1 */1 */1 ?", "0 0 12 * JAN,MAR,DEC ?",
		"0 0 12 ? * 2/2", "0 0 12 ? * MON/2", "1-59/2,0 * * * * ?",
		"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly", "@every 1h30m",
		"@Every 1s", "0 12 * * 0-7", "0 12 1 * MON", "*/5 * * * *", "0 9-17 * * MON-FRI", "0 0 1,15 * *",
		"\t0  0\n12 * * ?  ",
	} {
		_, err := schedule.Parse(domain.Schedule{Cron: cron}, "UTC")
		assert.NoError(t, err, "%q", cron)
	}
}

// TestParseScheduleErrors checks the fields of every kind, and that every bad field is reported.
func TestParseScheduleErrors(t *testing.T) {
	t.Parallel()
	at := mustTime(t, "2025-06-01T00:00:00Z")
	early := mustTime(t, "2025-01-01T00:00:00Z")
	farFuture := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	dates := make([]string, 1001)
	for i := range dates {
		dates[i] = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i).Format(time.DateOnly)
	}
	fe := func(field, reason string) domain.FieldError { return domain.FieldError{Field: field, Reason: reason} }
	tests := []struct {
		name string
		in   domain.Schedule
		tz   string
		want []domain.FieldError
	}{
		{name: "UnknownKind", in: domain.Schedule{Kind: "weekly"},
			want: []domain.FieldError{fe("schedule.kind", `"weekly" is not a schedule kind: use "cron", "fixed_rate", "fixed_delay" or "once"`)}},
		{name: "KindNeededWithoutCron", in: domain.Schedule{Every: domain.Duration(time.Minute)},
			want: []domain.FieldError{fe("schedule.kind", `is required: "cron", "fixed_rate", "fixed_delay" or "once"`)}},
		{name: "CronWithOtherKind", in: domain.Schedule{Kind: domain.ScheduleFixedRate, Cron: "@hourly", Every: domain.Duration(time.Minute), Anchor: &at},
			want: []domain.FieldError{fe("schedule.cron", `does not apply to kind "fixed_rate"`)}},
		{name: "CronWithEveryAtAnchor", in: domain.Schedule{Cron: "0 0 * * * ?", Every: domain.Duration(time.Minute), At: &at, Anchor: &at},
			want: []domain.FieldError{
				fe("schedule.every", `does not apply to kind "cron": use the expression "@every 90s" or kind "fixed_rate"`),
				fe("schedule.anchor", `does not apply to kind "cron" (only to "@every" expressions)`),
				fe("schedule.at", `does not apply to kind "cron"`),
			}},
		{name: "FixedRateNeedsEveryAndAnchor", in: domain.Schedule{Kind: domain.ScheduleFixedRate},
			want: []domain.FieldError{
				fe("schedule.every", `is required: a duration of at least 1s, such as "15m"`),
				fe("schedule.anchor", "is required for fixed_rate: the instant it fires at first (or set start_at, which then serves as the anchor)"),
			}},
		{name: "FixedRateTooFast", in: domain.Schedule{Kind: domain.ScheduleFixedRate, Every: domain.Duration(time.Millisecond), Anchor: &at},
			want: []domain.FieldError{fe("schedule.every", "must be at least 1s")}},
		{name: "FixedRateDSTAndAt", in: domain.Schedule{Kind: domain.ScheduleFixedRate, Every: domain.Duration(time.Minute), StartAt: &at, DSTGap: "skip", DSTOverlap: "both", At: &at},
			want: []domain.FieldError{
				fe("schedule.at", `does not apply to kind "fixed_rate"`),
				fe("schedule.dst_gap", `does not apply to kind "fixed_rate"`),
				fe("schedule.dst_overlap", `does not apply to kind "fixed_rate"`),
			}},
		{name: "FixedRateJitterNotShorter", in: domain.Schedule{Kind: domain.ScheduleFixedRate, Every: domain.Duration(time.Minute), Anchor: &at, Jitter: domain.Duration(time.Minute)},
			want: []domain.FieldError{fe("schedule.jitter", "must be shorter than the interval (1m0s)")}},
		{name: "EveryJitterNotShorter", in: domain.Schedule{Cron: "@every 30s", Jitter: domain.Duration(45 * time.Second)},
			want: []domain.FieldError{fe("schedule.jitter", "must be shorter than the interval (30s)")}},
		{name: "FixedDelayAnchor", in: domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: domain.Duration(time.Minute), Anchor: &at},
			want: []domain.FieldError{fe("schedule.anchor", `does not apply to kind "fixed_delay"`)}},
		{name: "OnceFields", in: domain.Schedule{Kind: domain.ScheduleOnce, Every: domain.Duration(time.Minute), Anchor: &at, StartAt: &at, EndAt: &at, DSTGap: "skip", ExcludedDates: []string{"2025-01-01"}},
			want: []domain.FieldError{
				fe("schedule.at", "is required for once: the instant it fires at"),
				fe("schedule.every", `does not apply to kind "once"`),
				fe("schedule.anchor", `does not apply to kind "once"`),
				fe("schedule.dst_gap", `does not apply to kind "once"`),
			}},
		{name: "OnceBeforeStart", in: domain.Schedule{Kind: domain.ScheduleOnce, At: &early, StartAt: &at},
			want: []domain.FieldError{fe("schedule.at", "never fires: it is before start_at")}},
		{name: "OnceAfterEnd", in: domain.Schedule{Kind: domain.ScheduleOnce, At: &at, EndAt: &early},
			want: []domain.FieldError{fe("schedule.at", "never fires: it is after end_at")}},
		{name: "OnceOnExcludedDate", tz: "Asia/Ho_Chi_Minh", in: domain.Schedule{Kind: domain.ScheduleOnce, At: ptr(mustTime(t, "2025-09-01T18:00:00Z")), ExcludedDates: []string{"2025-09-02"}},
			want: []domain.FieldError{fe("schedule.at", "never fires: 2025-09-02 is an excluded date")}},
		{name: "OnceOutOfRange", in: domain.Schedule{Kind: domain.ScheduleOnce, At: &farFuture},
			want: []domain.FieldError{fe("schedule.at", "must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z")}},
		{name: "EndBeforeStart", in: domain.Schedule{Cron: "@hourly", StartAt: &at, EndAt: &early},
			want: []domain.FieldError{fe("schedule.end_at", "is before start_at")}},
		{name: "Policies", in: domain.Schedule{Cron: "@hourly", DSTGap: "later", DSTOverlap: "middle"},
			want: []domain.FieldError{
				fe("schedule.dst_gap", `"later" is not a policy: use "shift_forward" or "skip"`),
				fe("schedule.dst_overlap", `"middle" is not a policy: use "first", "last" or "both"`),
			}},
		{name: "NegativeJitter", in: domain.Schedule{Cron: "@hourly", Jitter: domain.Duration(-time.Second)},
			want: []domain.FieldError{fe("schedule.jitter", "must not be negative")}},
		{name: "JitterOverAnHour", in: domain.Schedule{Cron: "@daily", Jitter: domain.Duration(61 * time.Minute)},
			want: []domain.FieldError{fe("schedule.jitter", "must be at most 1h0m0s")}},
		{name: "BadDates", in: domain.Schedule{Cron: "@daily", ExcludedDates: []string{"2025-09-02", "2025-02-30", "2025-1-01", "tomorrow", "0000-01-01"}},
			want: []domain.FieldError{
				fe("schedule.excluded_dates[1]", `"2025-02-30" is not a date: write YYYY-MM-DD, such as "2025-09-02"`),
				fe("schedule.excluded_dates[2]", `"2025-1-01" is not a date: write YYYY-MM-DD, such as "2025-09-02"`),
				fe("schedule.excluded_dates[3]", `"tomorrow" is not a date: write YYYY-MM-DD, such as "2025-09-02"`),
				fe("schedule.excluded_dates[4]", `"0000-01-01" is not a date: write YYYY-MM-DD, such as "2025-09-02"`),
			}},
		{name: "TooManyDates", in: domain.Schedule{Cron: "@daily", ExcludedDates: dates},
			want: []domain.FieldError{fe("schedule.excluded_dates[1000]", "too many excluded dates: at most 1000")}},
		{name: "AllMatchingDatesExcluded", in: domain.Schedule{Cron: "0 0 0 1 1 ? 2030", ExcludedDates: []string{"2030-01-01"}},
			want: []domain.FieldError{fe("schedule.cron", "never fires: every date it matches is an excluded date")}},
		{name: "EverythingAtOnce", tz: "Mars/Base", in: domain.Schedule{Cron: "0 0 25 * * ?", DSTGap: "x", Jitter: domain.Duration(-1), ExcludedDates: []string{"x"}},
			want: []domain.FieldError{
				fe("timezone", `unknown time zone "Mars/Base": name an IANA zone such as "Asia/Ho_Chi_Minh"`),
				fe("schedule.cron", `hour: "25" is out of range 0-23`),
				fe("schedule.dst_gap", `"x" is not a policy: use "shift_forward" or "skip"`),
				fe("schedule.jitter", "must not be negative"),
				fe("schedule.excluded_dates[0]", `"x" is not a date: write YYYY-MM-DD, such as "2025-09-02"`),
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := schedule.Parse(tt.in, cmpOr(tt.tz, "UTC"))
			require.Error(t, err)
			assert.Nil(t, s)
			var verr *domain.ValidationError
			require.True(t, errors.As(err, &verr), "%T: %v", err, err)
			assert.Equal(t, tt.want, verr.Fields)
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestKindDefaults checks Kind, including the cron default.
func TestKindDefaults(t *testing.T) {
	t.Parallel()
	at := mustTime(t, "2025-06-01T00:00:00Z")
	for _, tt := range []struct {
		in   domain.Schedule
		want domain.ScheduleKind
	}{
		{domain.Schedule{Cron: "@hourly"}, domain.ScheduleCron},
		{domain.Schedule{Cron: "@every 1m"}, domain.ScheduleCron},
		{domain.Schedule{Kind: domain.ScheduleFixedRate, Every: domain.Duration(time.Minute), Anchor: &at}, domain.ScheduleFixedRate},
		{domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: domain.Duration(time.Minute)}, domain.ScheduleFixedDelay},
		{domain.Schedule{Kind: domain.ScheduleOnce, At: &at}, domain.ScheduleOnce},
	} {
		s, err := schedule.Parse(tt.in, "")
		require.NoError(t, err, "%+v", tt.in)
		assert.Equal(t, tt.want, s.Kind(), fmt.Sprintf("%+v", tt.in))
	}
}

package schedule_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/schedule"
)

// TestDST runs wall times that clock changes skip or repeat under every policy. The 2025
// transitions used:
//   - America/New_York: 03-09 02:00 EST → 03:00 EDT (07:00Z); 11-02 02:00 EDT → 01:00 EST (06:00Z),
//     so 01:00–01:59 comes at 05:xxZ and again at 06:xxZ.
//   - Europe/London: 03-30 01:00 GMT → 02:00 BST (01:00Z); 10-26 02:00 BST → 01:00 GMT (01:00Z),
//     so 01:00–01:59 comes at 00:xxZ and again at 01:xxZ.
//   - Australia/Lord_Howe (30-minute DST): 04-06 02:00 +11 → 01:30 +1030 (04-05 15:00Z), so
//     01:30–01:59 repeats; 10-05 02:00 +1030 → 02:30 +11 (10-04 15:30Z), so 02:00–02:29 is skipped.
//   - America/Havana (midnight): 03-09 00:00 CST → 01:00 CDT (05:00Z); 11-02 01:00 CDT → 00:00 CST.
//   - America/Santiago (midnight): 04-06 00:00 -03 → 04-05 23:00 -04 (03:00Z), repeating 23:xx of
//     the day before; 09-07 00:00 -04 → 01:00 -03 (04:00Z).
func TestDST(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		tz      string
		cron    string
		gap     string
		overlap string
		after   string
		want    []string
	}{
		// Gaps.
		{name: "NewYorkGapShift", tz: "America/New_York", cron: "0 30 2 * * ?", gap: "shift_forward", after: "2025-03-08T12:00:00Z",
			want: []string{"2025-03-09T07:00:00Z", "2025-03-10T06:30:00Z"}},
		{name: "NewYorkGapDefaultIsShift", tz: "America/New_York", cron: "0 30 2 * * ?", after: "2025-03-08T12:00:00Z",
			want: []string{"2025-03-09T07:00:00Z", "2025-03-10T06:30:00Z"}},
		{name: "NewYorkGapSkip", tz: "America/New_York", cron: "0 30 2 * * ?", gap: "skip", after: "2025-03-08T12:00:00Z",
			want: []string{"2025-03-10T06:30:00Z"}},
		{name: "NewYorkGapCollapsesIntoOneFire", tz: "America/New_York", cron: "0 */20 2 * * ?", after: "2025-03-09T06:00:00Z",
			want: []string{"2025-03-09T07:00:00Z", "2025-03-10T06:00:00Z", "2025-03-10T06:20:00Z"}},
		{name: "NewYorkGapCollapsesWithTheHourAfter", tz: "America/New_York", cron: "0 0 2,3 * * ?", after: "2025-03-09T06:00:00Z",
			want: []string{"2025-03-09T07:00:00Z", "2025-03-10T06:00:00Z", "2025-03-10T07:00:00Z"}},
		{name: "NewYorkGapSkipEverySecond", tz: "America/New_York", cron: "*/30 * 2 * * ?", gap: "skip", after: "2025-03-09T06:59:59Z",
			want: []string{"2025-03-10T06:00:00Z"}},
		{name: "LondonGapShift", tz: "Europe/London", cron: "0 30 1 * * ?", after: "2025-03-29T12:00:00Z",
			want: []string{"2025-03-30T01:00:00Z", "2025-03-31T00:30:00Z"}},
		{name: "LondonGapSkip", tz: "Europe/London", cron: "0 30 1 * * ?", gap: "skip", after: "2025-03-29T12:00:00Z",
			want: []string{"2025-03-31T00:30:00Z"}},
		{name: "LordHoweGapShift", tz: "Australia/Lord_Howe", cron: "0 15 2 * * ?", after: "2025-10-04T00:00:00Z",
			want: []string{"2025-10-04T15:30:00Z", "2025-10-05T15:15:00Z"}},
		{name: "LordHoweGapSkip", tz: "Australia/Lord_Howe", cron: "0 15 2 * * ?", gap: "skip", after: "2025-10-04T00:00:00Z",
			want: []string{"2025-10-05T15:15:00Z"}},
		{name: "LordHoweHalfHourAfterGapIsNormal", tz: "Australia/Lord_Howe", cron: "0 45 2 * * ?", gap: "skip", after: "2025-10-04T00:00:00Z",
			want: []string{"2025-10-04T15:45:00Z"}},
		{name: "HavanaMidnightGapShift", tz: "America/Havana", cron: "0 0 0 * * ?", after: "2025-03-08T12:00:00Z",
			want: []string{"2025-03-09T05:00:00Z", "2025-03-10T04:00:00Z"}},
		{name: "HavanaMidnightGapSkip", tz: "America/Havana", cron: "0 0 0 * * ?", gap: "skip", after: "2025-03-08T12:00:00Z",
			want: []string{"2025-03-10T04:00:00Z"}},
		{name: "SantiagoMidnightGapShift", tz: "America/Santiago", cron: "0 0 0 * * ?", after: "2025-09-06T12:00:00Z",
			want: []string{"2025-09-07T04:00:00Z", "2025-09-08T03:00:00Z"}},
		{name: "SantiagoMidnightGapSkip", tz: "America/Santiago", cron: "0 0 0 * * ?", gap: "skip", after: "2025-09-06T12:00:00Z",
			want: []string{"2025-09-08T03:00:00Z"}},

		// Overlaps.
		{name: "NewYorkOverlapFirst", tz: "America/New_York", cron: "0 30 1 * * ?", overlap: "first", after: "2025-11-01T12:00:00Z",
			want: []string{"2025-11-02T05:30:00Z", "2025-11-03T06:30:00Z"}},
		{name: "NewYorkOverlapDefaultIsFirst", tz: "America/New_York", cron: "0 30 1 * * ?", after: "2025-11-01T12:00:00Z",
			want: []string{"2025-11-02T05:30:00Z", "2025-11-03T06:30:00Z"}},
		{name: "NewYorkOverlapLast", tz: "America/New_York", cron: "0 30 1 * * ?", overlap: "last", after: "2025-11-01T12:00:00Z",
			want: []string{"2025-11-02T06:30:00Z", "2025-11-03T06:30:00Z"}},
		{name: "NewYorkOverlapBoth", tz: "America/New_York", cron: "0 30 1 * * ?", overlap: "both", after: "2025-11-01T12:00:00Z",
			want: []string{"2025-11-02T05:30:00Z", "2025-11-02T06:30:00Z", "2025-11-03T06:30:00Z"}},
		// after in the first occurrence (01:30 EDT): under last and both, 01:15 still comes again.
		{name: "NewYorkAfterInFirstOccurrenceFirst", tz: "America/New_York", cron: "0 15,45 1 * * ?", overlap: "first", after: "2025-11-02T05:30:00Z",
			want: []string{"2025-11-02T05:45:00Z", "2025-11-03T06:15:00Z"}},
		{name: "NewYorkAfterInFirstOccurrenceLast", tz: "America/New_York", cron: "0 15,45 1 * * ?", overlap: "last", after: "2025-11-02T05:30:00Z",
			want: []string{"2025-11-02T06:15:00Z", "2025-11-02T06:45:00Z", "2025-11-03T06:15:00Z"}},
		{name: "NewYorkAfterInFirstOccurrenceBoth", tz: "America/New_York", cron: "0 15,45 1 * * ?", overlap: "both", after: "2025-11-02T05:30:00Z",
			want: []string{"2025-11-02T05:45:00Z", "2025-11-02T06:15:00Z", "2025-11-02T06:45:00Z", "2025-11-03T06:15:00Z"}},
		{name: "NewYorkAfterInFirstOccurrenceBothNoneLeft", tz: "America/New_York", cron: "0 15 1 * * ?", overlap: "both", after: "2025-11-02T05:30:00Z",
			want: []string{"2025-11-02T06:15:00Z", "2025-11-03T06:15:00Z"}},
		// after in the second occurrence (01:30 EST): under first, 01:45 already fired.
		{name: "NewYorkAfterInSecondOccurrenceFirst", tz: "America/New_York", cron: "0 15,45 1 * * ?", overlap: "first", after: "2025-11-02T06:30:00Z",
			want: []string{"2025-11-03T06:15:00Z"}},
		{name: "NewYorkAfterInSecondOccurrenceLast", tz: "America/New_York", cron: "0 15,45 1 * * ?", overlap: "last", after: "2025-11-02T06:30:00Z",
			want: []string{"2025-11-02T06:45:00Z", "2025-11-03T06:15:00Z"}},
		{name: "NewYorkAfterInSecondOccurrenceBoth", tz: "America/New_York", cron: "0 15,45 1 * * ?", overlap: "both", after: "2025-11-02T06:30:00Z",
			want: []string{"2025-11-02T06:45:00Z", "2025-11-03T06:15:00Z"}},
		{name: "NewYorkHalfHourlyThroughOverlapFirst", tz: "America/New_York", cron: "0 */30 * * * ?", overlap: "first", after: "2025-11-02T04:50:00Z",
			want: []string{"2025-11-02T05:00:00Z", "2025-11-02T05:30:00Z", "2025-11-02T07:00:00Z"}},
		{name: "NewYorkHalfHourlyThroughOverlapLast", tz: "America/New_York", cron: "0 */30 * * * ?", overlap: "last", after: "2025-11-02T04:50:00Z",
			want: []string{"2025-11-02T06:00:00Z", "2025-11-02T06:30:00Z", "2025-11-02T07:00:00Z"}},
		{name: "NewYorkHalfHourlyThroughOverlapBoth", tz: "America/New_York", cron: "0 */30 * * * ?", overlap: "both", after: "2025-11-02T04:50:00Z",
			want: []string{"2025-11-02T05:00:00Z", "2025-11-02T05:30:00Z", "2025-11-02T06:00:00Z", "2025-11-02T06:30:00Z", "2025-11-02T07:00:00Z"}},
		{name: "LondonOverlapFirst", tz: "Europe/London", cron: "0 30 1 * * ?", overlap: "first", after: "2025-10-25T12:00:00Z",
			want: []string{"2025-10-26T00:30:00Z", "2025-10-27T01:30:00Z"}},
		{name: "LondonOverlapLast", tz: "Europe/London", cron: "0 30 1 * * ?", overlap: "last", after: "2025-10-25T12:00:00Z",
			want: []string{"2025-10-26T01:30:00Z", "2025-10-27T01:30:00Z"}},
		{name: "LondonOverlapBoth", tz: "Europe/London", cron: "0 30 1 * * ?", overlap: "both", after: "2025-10-25T12:00:00Z",
			want: []string{"2025-10-26T00:30:00Z", "2025-10-26T01:30:00Z", "2025-10-27T01:30:00Z"}},
		{name: "LordHoweOverlapFirst", tz: "Australia/Lord_Howe", cron: "0 45 1 * * ?", overlap: "first", after: "2025-04-05T00:00:00Z",
			want: []string{"2025-04-05T14:45:00Z", "2025-04-06T15:15:00Z"}},
		{name: "LordHoweOverlapLast", tz: "Australia/Lord_Howe", cron: "0 45 1 * * ?", overlap: "last", after: "2025-04-05T00:00:00Z",
			want: []string{"2025-04-05T15:15:00Z", "2025-04-06T15:15:00Z"}},
		{name: "LordHoweOverlapBoth", tz: "Australia/Lord_Howe", cron: "0 45 1 * * ?", overlap: "both", after: "2025-04-05T00:00:00Z",
			want: []string{"2025-04-05T14:45:00Z", "2025-04-05T15:15:00Z", "2025-04-06T15:15:00Z"}},
		{name: "LordHoweBeforeTheHalfHourIsNotRepeated", tz: "Australia/Lord_Howe", cron: "0 15 1 * * ?", overlap: "both", after: "2025-04-05T00:00:00Z",
			want: []string{"2025-04-05T14:15:00Z", "2025-04-06T14:45:00Z"}},
		{name: "HavanaOverlapLast", tz: "America/Havana", cron: "0 30 0 * * ?", overlap: "last", after: "2025-11-01T12:00:00Z",
			want: []string{"2025-11-02T05:30:00Z", "2025-11-03T05:30:00Z"}},
		{name: "SantiagoOverlapOnTheDayBeforeFirst", tz: "America/Santiago", cron: "0 30 23 * * ?", overlap: "first", after: "2025-04-05T12:00:00Z",
			want: []string{"2025-04-06T02:30:00Z", "2025-04-07T03:30:00Z"}},
		{name: "SantiagoOverlapOnTheDayBeforeLast", tz: "America/Santiago", cron: "0 30 23 * * ?", overlap: "last", after: "2025-04-05T12:00:00Z",
			want: []string{"2025-04-06T03:30:00Z", "2025-04-07T03:30:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := schedule.Parse(domain.Schedule{Cron: tt.cron, DSTGap: tt.gap, DSTOverlap: tt.overlap}, tt.tz)
			require.NoError(t, err)
			after := mustTime(t, tt.after)
			for i, w := range tt.want {
				got, ok := s.Next(after)
				require.True(t, ok, "step %d", i)
				assert.Equal(t, w, got.Format(time.RFC3339), "step %d: Next(%s), local %s", i, after, got.In(s.Location()))
				after = got
			}
		})
	}
}

func TestPreviewDSTNotes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		tz      string
		cron    string
		gap     string
		overlap string
		after   string
		want    [][]string // per fire: "kind: detail"
	}{
		{
			name: "GapShifted", tz: "America/New_York", cron: "0 30 2 * * ?", after: "2025-03-08T12:00:00Z",
			want: [][]string{
				{"dst_gap_shifted: 2025-03-09 02:30 does not exist in America/New_York; fired when the gap ended"},
				nil,
			},
		},
		{
			name: "GapSkipped", tz: "America/New_York", cron: "0 30 2 * * ?", gap: "skip", after: "2025-03-08T12:00:00Z",
			want: [][]string{
				{`dst_gap_skipped: 2025-03-09 02:30 does not exist in America/New_York; skipped (dst_gap "skip")`},
				nil,
			},
		},
		{
			name: "OverlapBoth", tz: "Europe/London", cron: "0 30 1 * * ?", overlap: "both", after: "2025-10-25T12:00:00Z",
			want: [][]string{
				{"dst_overlap: 2025-10-26 01:30 occurs twice in Europe/London (BST, then GMT); fires at both; this is the first (BST)"},
				{"dst_overlap: 2025-10-26 01:30 occurs twice in Europe/London (BST, then GMT); fires at both; this is the second (GMT)"},
				nil,
			},
		},
		{
			name: "OverlapFirst", tz: "America/New_York", cron: "0 30 1 * * ?", after: "2025-11-01T12:00:00Z",
			want: [][]string{
				{"dst_overlap: 2025-11-02 01:30 occurs twice in America/New_York (EDT, then EST); fired at the first occurrence (EDT)"},
				nil,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := schedule.Parse(domain.Schedule{Cron: tt.cron, DSTGap: tt.gap, DSTOverlap: tt.overlap}, tt.tz)
			require.NoError(t, err)
			fires := s.Preview(mustTime(t, tt.after), len(tt.want))
			require.Len(t, fires, len(tt.want))
			for i, f := range fires {
				assert.Equal(t, tt.want[i], noteStrings(f.Notes), "fire %d at %s", i, f.At)
				assert.Equal(t, s.Location(), f.Local.Location())
				assert.True(t, f.At.Equal(f.Local))
			}
		})
	}
}

func noteStrings(notes []schedule.Note) []string {
	var out []string
	for _, n := range notes {
		out = append(out, n.Kind+": "+n.Detail)
	}
	return out
}

// TestNextRareGapSkipEnds: the second Sunday of March at 02:30 never exists in New York since
// 2007, so with dst_gap skip the schedule never fires; Next says so instead of searching forever.
func TestNextRareGapSkipEnds(t *testing.T) {
	t.Parallel()
	s, err := schedule.Parse(domain.Schedule{Cron: "0 30 2 ? 3 1#2", DSTGap: "skip"}, "America/New_York")
	require.NoError(t, err)
	_, ok := s.Next(mustTime(t, "2025-01-01T00:00:00Z"))
	assert.False(t, ok)

	shifted, err := schedule.Parse(domain.Schedule{Cron: "0 30 2 ? 3 1#2"}, "America/New_York")
	require.NoError(t, err)
	got, ok := shifted.Next(mustTime(t, "2025-01-01T00:00:00Z"))
	require.True(t, ok)
	assert.Equal(t, "2025-03-09T07:00:00Z", got.Format(time.RFC3339))
	assert.True(t, strings.HasPrefix(shifted.Location().String(), "America/"))
}

// TestNextPastTheZoneTable covers instants past a zone's last listed transition, where Go reports
// zone periods bounded at UTC year ends (and, in leap years, at a December 31 that a lookup does
// not get past). The first case once returned a 2040 instant for a 2041-only expression.
func TestNextPastTheZoneTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cron, tz, after, want string
	}{
		{"* * * * * * 2041-2041", "America/New_York", "1990-01-01T00:00:00Z", "2041-01-01T05:00:00Z"},
		{"0 30 23 31 12 ?", "America/New_York", "2040-12-30T00:00:00Z", "2041-01-01T04:30:00Z"},
		{"0 0 0 1 1 ?", "Australia/Sydney", "2040-06-01T00:00:00Z", "2040-12-31T13:00:00Z"},
		{"0 30 1 ? 11 1#1", "America/New_York", "2044-06-01T00:00:00Z", "2044-11-06T05:30:00Z"},
		{"0 30 2 ? 3 1#2", "America/New_York", "2048-01-01T00:00:00Z", "2048-03-08T07:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.cron+"/"+tt.tz, func(t *testing.T) {
			t.Parallel()
			s := mustParse(t, domain.Schedule{Cron: tt.cron}, tt.tz)
			steps(t, s, tt.after, tt.want)
		})
	}
}

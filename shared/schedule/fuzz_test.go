package schedule_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/schedule"
)

// validField matches the fields a schedule's ValidationError may name.
var validField = regexp.MustCompile(`^(schedule\.(kind|cron|every|anchor|at|start_at|end_at|dst_gap|dst_overlap|jitter|excluded_dates\[\d+\]|calendars|calendars\[\d+\])|timezone)$`)

// fuzzSpan is the span of instants the fuzz target draws from: 1900–2200.
const fuzzSpan = 300 * 365 * 24 * 3600

// fuzzInstant maps any int64 to an instant in 1900–2200, with a sub-second part.
func fuzzInstant(v int64) time.Time {
	secs := v % fuzzSpan
	if secs < 0 {
		secs = -secs
	}
	nsec := int64(uint64(v)>>20) % 1_000_000_000
	return time.Unix(secs-70*365*24*3600, nsec).UTC()
}

// FuzzParse checks that no schedule makes Parse or Next panic or hang, that a rejection is a
// *domain.ValidationError naming only schedule fields, and that an accepted schedule moves
// strictly forward, in UTC, with Preview agreeing with Next.
func FuzzParse(f *testing.F) {
	for _, seed := range []struct {
		kind, cron, tz        string
		every, jitter         int64
		anchor, start, window int64
		gap, overlap, dates   string
		after                 int64
	}{
		{"", "*/5 * * * * *", "UTC", 0, 0, 0, 0, 0, "", "", "", 1_735_689_600},
		{"", "0 0 9 * * *", "Asia/Ho_Chi_Minh", 0, 0, 0, 0, 0, "", "", "", 1_741_564_800},
		{"", "*/15 * * * *", "", 0, 0, 0, 0, 0, "", "", "", 0},
		{"", "0 30 2 * * *", "America/New_York", 0, 0, 0, 0, 0, "skip", "both", "", 1_741_500_000},
		{"", "0 */15 1 * * ?", "Australia/Lord_Howe", 0, 0, 0, 0, 0, "", "last", "", 1_743_861_600},
		{"", "0 0 12 29 2 *", "Europe/Berlin", 0, 0, 0, 0, 0, "", "", "", 1_735_689_600},
		{"", "0 0 0 31 2 ?", "UTC", 0, 0, 0, 0, 0, "", "", "", 1_735_689_600},
		{"", "0 0 0 29 2 ? 2096/4", "UTC", 0, 0, 0, 0, 0, "", "", "", 1_735_689_600},
		{"", "0 0 0 ? 2 6#5", "Pacific/Chatham", 0, 0, 0, 0, 0, "", "", "", 1_735_689_600},
		{"", "0 0 0 L-30 * ?", "America/Havana", 0, 0, 0, 0, 0, "", "", "", 1_735_689_600},
		{"", "0 15 10 ? * 6L 2002-2005", "America/Santiago", 0, 0, 0, 0, 0, "", "", "", 1_100_000_000},
		{"", "0 0 12 LW * ?", "UTC", 0, 0, 0, 0, 0, "", "", "2025-01-31,2025-02-28", 1_735_689_600},
		{"", "0 9-17/2 * * MON-FRI", "Asia/Kolkata", 0, int64(time.Minute), 0, 0, 0, "", "", "", 1_735_689_600},
		{"", "@hourly", "UTC", 0, 0, 0, 1_735_689_600, 86_400, "", "", "", 1_735_689_600},
		{"", "@every 90s", "UTC", 0, int64(time.Second), 1_735_689_610, 0, 0, "", "", "", -1},
		{"", "@every 1ms", "UTC", 0, 0, 0, 0, 0, "", "", "", 1_735_689_600},
		{"fixed_rate", "", "UTC", int64(time.Hour), int64(time.Minute), 1_735_689_600, 0, 0, "", "", "2025-01-02", 1_735_689_600},
		{"fixed_delay", "", "Asia/Ho_Chi_Minh", int64(time.Hour), 0, 0, 0, 0, "", "", "2025-09-02", 1_756_744_200},
		{"once", "", "UTC", 0, 0, 1_735_689_600, 0, 0, "", "", "", 1_735_000_000},
		{"weekly", "TZ=UTC 0 * * * *", "Local", -1, -1, 0, 0, 0, "x", "y", "2025-02-30", 0},
		{"", "", "Mars/Olympus_Mons", 0, 0, 0, 0, 0, "", "", "", 0},
		{"", "60 * * * * *", "../etc/passwd", 0, 0, 0, 0, 0, "", "", "", 0},
		{"", "* * * * * * * *", "UTC", 0, 0, 0, 0, 0, "", "", "", 0},
		{"", "0 0 12 ? * 1#1,2#2", "UTC", 0, 0, 0, 0, 0, "", "", "", 0},
		{"", "1-0 * * * * *", "UTC", 0, 0, 0, 0, 0, "", "", "", 0},
	} {
		f.Add(seed.kind, seed.cron, seed.tz, seed.every, seed.jitter, seed.anchor, seed.start, seed.window,
			seed.gap, seed.overlap, seed.dates, seed.after)
	}
	f.Fuzz(func(t *testing.T, kind, cron, tz string, every, jitter, anchor, start, window int64,
		gap, overlap, dates string, after int64) {
		in := domain.Schedule{
			Kind: domain.ScheduleKind(kind), Cron: cron, Every: domain.Duration(every), Jitter: domain.Duration(jitter),
			DSTGap: gap, DSTOverlap: overlap,
		}
		if anchor != 0 {
			a := fuzzInstant(anchor)
			in.Anchor, in.At = &a, &a
		}
		if start != 0 {
			s := fuzzInstant(start)
			in.StartAt = &s
			if window != 0 {
				e := s.Add(time.Duration(window) * time.Second)
				in.EndAt = &e
			}
		}
		if dates != "" {
			in.ExcludedDates = strings.Split(dates, ",")
		}
		s, err := schedule.Parse(in, tz)
		if err != nil {
			if s != nil {
				t.Fatalf("Parse(%+v, %q) returned a schedule with error %v", in, tz, err)
			}
			var verr *domain.ValidationError
			if !errors.As(err, &verr) || len(verr.Fields) == 0 {
				t.Fatalf("Parse(%+v, %q): want a *domain.ValidationError, got %T: %v", in, tz, err, err)
			}
			for _, fe := range verr.Fields {
				if !validField.MatchString(fe.Field) || fe.Reason == "" {
					t.Fatalf("Parse(%+v, %q): bad field error %+v", in, tz, fe)
				}
			}
			return
		}
		s = s.WithSeed(cron)
		from := fuzzInstant(after)
		var fires []time.Time
		at := from
		for i := range 4 {
			next, ok := s.Next(at)
			if !ok {
				break
			}
			if !next.After(at) {
				t.Fatalf("step %d: Next(%s) = %s of %+v in %q is not after its input", i, at, next, in, tz)
			}
			if next.Location() != time.UTC {
				t.Fatalf("step %d: Next returned zone %s, want UTC", i, next.Location())
			}
			fires = append(fires, next)
			at = next
		}
		preview := s.Preview(from, len(fires))
		if len(preview) != len(fires) {
			t.Fatalf("Preview gave %d fires, Next %d", len(preview), len(fires))
		}
		for i, p := range preview {
			if !p.At.Equal(fires[i]) || !p.Local.Equal(fires[i]) {
				t.Fatalf("Preview fire %d = %s, Next %s", i, p.At, fires[i])
			}
			for _, n := range p.Notes {
				if n.Kind == "" || n.Detail == "" {
					t.Fatalf("Preview fire %d has an empty note %+v", i, n)
				}
			}
		}
	})
}

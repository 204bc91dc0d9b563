package schedule_test

import (
	"errors"
	"testing"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/schedule"
)

// FuzzParse checks that no expression or zone makes Parse panic, that a rejection is a
// *domain.ValidationError naming only the cron or zone field, and that an accepted schedule moves
// strictly forward, in UTC.
func FuzzParse(f *testing.F) {
	for _, seed := range []struct {
		cron, tz string
		start    int64
	}{
		{"*/5 * * * * *", "UTC", 1_735_689_600},
		{"0 0 9 * * *", "Asia/Ho_Chi_Minh", 1_741_564_800},
		{"*/15 * * * *", "", 0},
		{"0 30 2 * * *", "America/New_York", 1_741_500_000},
		{"0 0 12 29 2 *", "Europe/Berlin", 1_735_689_600},
		{"0 0 0 30 2 *", "UTC", 1_735_689_600},
		{"0 9-17/2 * * MON-FRI", "Asia/Kolkata", 1_735_689_600},
		{"0 0 1 1,15 * ?", "Australia/Adelaide", 1_735_689_600},
		{"@hourly", "UTC", 1_735_689_600},
		{"@every 90s", "UTC", -1},
		{"@every 1ms", "UTC", 1_735_689_600},
		{"@yearly", "Pacific/Kiritimati", 4_102_444_800},
		{"TZ=UTC 0 * * * *", "UTC", 0},
		{"CRON_TZ=", "Local", 0},
		{"", "Mars/Olympus_Mons", 0},
		{"60 * * * * *", "../etc/passwd", 0},
		{"* * * * * * *", "UTC", 0},
		{"*/0 * * * * *", "UTC", 0},
		{"1-0 * * * * *", "UTC", 0},
		{"@every -1s", "UTC", 0},
	} {
		f.Add(seed.cron, seed.tz, seed.start)
	}
	f.Fuzz(func(t *testing.T, cron, tz string, start int64) {
		s, err := schedule.Parse(domain.Schedule{Cron: cron}, tz)
		if err != nil {
			if s != nil {
				t.Fatalf("Parse(%q, %q) returned a schedule with error %v", cron, tz, err)
			}
			var verr *domain.ValidationError
			if !errors.As(err, &verr) || len(verr.Fields) == 0 {
				t.Fatalf("Parse(%q, %q): want a *domain.ValidationError, got %T: %v", cron, tz, err, err)
			}
			for _, fe := range verr.Fields {
				if fe.Field != "schedule.cron" && fe.Field != "timezone" {
					t.Fatalf("Parse(%q, %q) names field %q", cron, tz, fe.Field)
				}
				if fe.Reason == "" {
					t.Fatalf("Parse(%q, %q): field %q has no reason", cron, tz, fe.Field)
				}
			}
			return
		}
		// Start somewhere in 1970–2200, with a sub-second part.
		const span = 230 * 365 * 24 * 3600
		secs := start % span
		if secs < 0 {
			secs = -secs
		}
		nsec := int64(uint64(start)>>20) % 1_000_000_000
		after := time.Unix(secs, nsec).UTC()
		for i := range 4 {
			next, ok := s.Next(after)
			if !ok {
				return // the schedule ended (such as February 30th)
			}
			if !next.After(after) {
				t.Fatalf("step %d: Next(%s) = %s of %q in %q is not after its input", i, after, next, cron, tz)
			}
			if next.Location() != time.UTC {
				t.Fatalf("step %d: Next returned zone %s, want UTC", i, next.Location())
			}
			if next.Nanosecond() != 0 {
				t.Fatalf("step %d: Next(%s) = %s has a sub-second part", i, after, next)
			}
			after = next
		}
	})
}

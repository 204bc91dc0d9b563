package schedule_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/schedule"
)

// Example computes the next fires of a weekday 09:00 job in Ho Chi Minh City (UTC+7).
func Example() {
	s, err := schedule.Parse(domain.Schedule{Cron: "0 0 9 * * MON-FRI"}, "Asia/Ho_Chi_Minh")
	if err != nil {
		fmt.Println(err)
		return
	}
	after := time.Date(2025, 3, 7, 3, 0, 0, 0, time.UTC) // Friday 10:00 in Ho Chi Minh City
	for range 3 {
		next, ok := s.Next(after)
		if !ok {
			break
		}
		fmt.Println(next.Format(time.RFC3339), next.In(s.Location()).Format("Mon 15:04"))
		after = next
	}
	// Output:
	// 2025-03-10T02:00:00Z Mon 09:00
	// 2025-03-11T02:00:00Z Tue 09:00
	// 2025-03-12T02:00:00Z Wed 09:00
}

// ExampleParse shows the fields a bad schedule names.
func ExampleParse() {
	_, err := schedule.Parse(domain.Schedule{Cron: "every morning"}, "Local")
	var verr *domain.ValidationError
	if errors.As(err, &verr) {
		for _, f := range verr.Fields {
			fmt.Println(f.Field)
		}
	}
	// Output:
	// timezone
	// schedule.cron
}

// ExampleSchedule_Preview lists fires with notes: New York skips 02:30 on 2025-03-09.
func ExampleSchedule_Preview() {
	s, err := schedule.Parse(domain.Schedule{Cron: "0 30 2 * * ?"}, "America/New_York")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range s.Preview(time.Date(2025, 3, 8, 12, 0, 0, 0, time.UTC), 2) {
		fmt.Println(f.At.Format(time.RFC3339), f.Local.Format("15:04 MST"))
		for _, n := range f.Notes {
			fmt.Println("  ", n.Kind+":", n.Detail)
		}
	}
	// Output:
	// 2025-03-09T07:00:00Z 03:00 EDT
	//    dst_gap_shifted: 2025-03-09 02:30 does not exist in America/New_York; fired when the gap ended
	// 2025-03-10T06:30:00Z 02:30 EDT
}

// Example_fixedRate fires every 8 hours from an anchor, skipping a holiday in the job's zone.
func Example_fixedRate() {
	anchor := time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC) // 07:00 in Ho Chi Minh City
	s, err := schedule.Parse(domain.Schedule{
		Kind:          domain.ScheduleFixedRate,
		Every:         domain.Duration(8 * time.Hour),
		Anchor:        &anchor,
		ExcludedDates: []string{"2025-09-02"}, // National Day
	}, "Asia/Ho_Chi_Minh")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range s.Preview(anchor.Add(-time.Second), 4) {
		fmt.Println(f.Local.Format("Jan 2 15:04"), len(f.Notes))
	}
	// Output:
	// Sep 1 07:00 0
	// Sep 1 15:00 0
	// Sep 1 23:00 0
	// Sep 3 07:00 1
}

// ExampleSchedule_WithSeed spreads jobs that share a schedule: each job's offset is fixed.
func ExampleSchedule_WithSeed() {
	s, err := schedule.Parse(domain.Schedule{Cron: "0 0 * * * ?", Jitter: domain.Duration(time.Minute)}, "UTC")
	if err != nil {
		fmt.Println(err)
		return
	}
	after := time.Date(2025, 1, 1, 0, 30, 0, 0, time.UTC)
	for _, job := range []string{"job-a", "job-b"} {
		next, _ := s.WithSeed(job).Next(after)
		fmt.Println(job, next.Format("15:04:05.000"))
	}
	// Output:
	// job-a 01:00:36.209
	// job-b 01:00:16.697
}

// ExampleDescribe says when schedules fire, in English and in Vietnamese.
func ExampleDescribe() {
	hcm, err := schedule.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		fmt.Println(err)
		return
	}
	weekdays := domain.Schedule{Cron: "0 0 8-18/2 ? * MON-FRI", Calendars: []string{"vn-holidays"}}
	fmt.Println(schedule.Describe(weekdays, hcm, "en"))
	fmt.Println(schedule.Describe(weekdays, hcm, "vi"))

	monthEnd := domain.Schedule{Cron: "0 0 23 L * ?"}
	fmt.Println(schedule.Describe(monthEnd, hcm, "en"))
	fmt.Println(schedule.Describe(monthEnd, hcm, "vi"))

	at := time.Date(2026, 12, 24, 2, 0, 0, 0, time.UTC)
	fmt.Println(schedule.Describe(domain.Schedule{Kind: domain.ScheduleOnce, At: &at}, hcm, "en"))
	fmt.Println(schedule.Describe(domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: domain.Duration(90 * time.Minute)}, hcm, "en"))
	fmt.Println(schedule.Describe(domain.Schedule{Cron: "0 0 9 1 * MON"}, hcm, "en"))
	// Output:
	// every 2 hours between 08:00 and 18:00, Monday–Friday, except calendar vn-holidays
	// mỗi 2 giờ từ 08:00 đến 18:00, Thứ Hai–Thứ Sáu, trừ lịch vn-holidays
	// at 23:00 on the last day of the month
	// lúc 23:00 ngày cuối tháng
	// once, at 2026-12-24 09:00
	// every 1 h 30 min after the previous run finishes
	// 0 0 9 1 * MON
}

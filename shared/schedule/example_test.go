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

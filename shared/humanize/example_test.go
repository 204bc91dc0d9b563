package humanize_test

import (
	"fmt"
	"time"

	"github.com/vecron/vecron/shared/humanize"
)

func ExampleRelative() {
	now := time.Date(2026, 12, 6, 14, 0, 0, 0, time.UTC)
	fmt.Println(humanize.Relative(now, now.Add(5*time.Minute), "en"))
	fmt.Println(humanize.Relative(now, now.Add(-3*time.Second), "vi"))
	// Output:
	// in 5 min
	// 3 giây trước
}

func ExampleDuration() {
	fmt.Println(humanize.Duration(200*time.Second, "en"))
	fmt.Println(humanize.Duration(1200*time.Millisecond, "vi"))
	// Output:
	// 3 min 20 s
	// 1,2 giây
}

func ExamplePercent() {
	fmt.Println(humanize.Percent(0.985, "en"))
	fmt.Println(humanize.Percent(0.985, "vi"))
	// Output:
	// 98.5%
	// 98,5 %
}

func ExampleInt() {
	fmt.Println(humanize.Int(1234567, "en"))
	fmt.Println(humanize.Int(1234567, "vi"))
	// Output:
	// 1,234,567
	// 1.234.567
}

func ExampleDateTime() {
	at := time.Date(2026, 12, 6, 14, 5, 9, 0, time.UTC)
	fmt.Println(humanize.DateTime(at, "en"))
	fmt.Println(humanize.DateTime(at, "vi"))
	// Output:
	// Dec 6, 2026 14:05:09 UTC
	// 14:05:09 06/12/2026 UTC
}

package schedule_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/schedule"
)

func describeCron(expr, lang string) string {
	return schedule.Describe(domain.Schedule{Cron: expr}, time.UTC, lang)
}

func TestDescribeCron(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		expr, en, vi string
	}{
		{"*/5 * * * * ?", "every 5 seconds", "mỗi 5 giây"},
		{"* * * * * ?", "every second", "mỗi giây"},
		{"0 * * * * ?", "every minute", "mỗi phút"},
		{"* * * * *", "every minute", "mỗi phút"},
		{"0 */15 * * * ?", "every 15 minutes", "mỗi 15 phút"},
		{"*/15 * * * *", "every 15 minutes", "mỗi 15 phút"},
		{"0 0 9 ? * MON-FRI", "at 09:00, Monday–Friday", "lúc 09:00, Thứ Hai–Thứ Sáu"},
		{"0 0 9 ? * 2-6", "at 09:00, Monday–Friday", "lúc 09:00, Thứ Hai–Thứ Sáu"},
		{"0 9 * * 1-5", "at 09:00, Monday–Friday", "lúc 09:00, Thứ Hai–Thứ Sáu"},
		{"0 9 * * mon-fri", "at 09:00, Monday–Friday", "lúc 09:00, Thứ Hai–Thứ Sáu"},
		{"0 0 9 ? * 2,4,6", "at 09:00, Monday, Wednesday and Friday", "lúc 09:00, Thứ Hai, Thứ Tư và Thứ Sáu"},
		{"0 0 9 ? * SAT,SUN", "at 09:00, Saturday and Sunday", "lúc 09:00, Thứ Bảy và Chủ Nhật"},
		{"0 9 * * 0,6", "at 09:00, Saturday and Sunday", "lúc 09:00, Thứ Bảy và Chủ Nhật"},
		{"0 9 * * 7", "at 09:00 every Sunday", "lúc 09:00 mỗi Chủ Nhật"},
		{"0 0 12 ? * SUN-THU", "at 12:00, Sunday–Thursday", "lúc 12:00, Chủ Nhật–Thứ Năm"},
		{"0 0 12 ? * FRI-MON", "at 12:00, Friday–Monday", "lúc 12:00, Thứ Sáu–Thứ Hai"},
		{"0 0 12 ? * 1-7", "at 12:00 every day", "lúc 12:00 mỗi ngày"},
		{"0 0,30 9,17 * * ?", "at 09:00, 09:30, 17:00 and 17:30 every day", "lúc 09:00, 09:30, 17:00 và 17:30 mỗi ngày"},
		{"0 0 9,21 * * ?", "at 09:00 and 21:00 every day", "lúc 09:00 và 21:00 mỗi ngày"},
		{"0 0 9,12,15 * * ?", "at 09:00, 12:00 and 15:00 every day", "lúc 09:00, 12:00 và 15:00 mỗi ngày"},
		{"0 0 */8 * * ?", "every 8 hours", "mỗi 8 giờ"},
		{"0 0 2 1 * ?", "at 02:00 on day 1 of the month", "lúc 02:00 ngày 1 hằng tháng"},
		{"0 2 1 * *", "at 02:00 on day 1 of the month", "lúc 02:00 ngày 1 hằng tháng"},
		{"0 0 2 1,15 * ?", "at 02:00 on days 1 and 15 of the month", "lúc 02:00 các ngày 1 và 15 hằng tháng"},
		{"0 0 2 1-7 * ?", "at 02:00 on days 1–7 of the month", "lúc 02:00 các ngày 1–7 hằng tháng"},
		{"0 0 23 L * ?", "at 23:00 on the last day of the month", "lúc 23:00 ngày cuối tháng"},
		{"0 0 23 L-3 * ?", "at 23:00, 3 days before the last day of the month", "lúc 23:00, 3 ngày trước ngày cuối tháng"},
		{"0 0 12 LW * ?", "at 12:00 on the last weekday of the month", "lúc 12:00 vào ngày thường cuối cùng của tháng"},
		{"0 0 12 L-2W * ?", "at 12:00 on the weekday nearest 2 days before the last day of the month",
			"lúc 12:00 vào ngày thường gần nhất với ngày 2 ngày trước ngày cuối tháng"},
		{"0 0 10 ? * 6L", "at 10:00 on the last Friday of the month", "lúc 10:00 vào Thứ Sáu cuối cùng của tháng"},
		{"0 0 10 ? * FRIL", "at 10:00 on the last Friday of the month", "lúc 10:00 vào Thứ Sáu cuối cùng của tháng"},
		{"0 0 10 ? * L", "at 10:00 every Saturday", "lúc 10:00 mỗi Thứ Bảy"},
		{"0 0 12 ? * 6#3", "at 12:00 on the third Friday of the month", "lúc 12:00 vào Thứ Sáu thứ ba của tháng"},
		{"0 0 12 ? * MON#1", "at 12:00 on the first Monday of the month", "lúc 12:00 vào Thứ Hai thứ nhất của tháng"},
		{"0 0 8 15W * ?", "at 08:00 on the weekday nearest the 15th", "lúc 08:00 vào ngày thường gần ngày 15 nhất"},
		{"0 0 8 1W * ?", "at 08:00 on the weekday nearest the 1st", "lúc 08:00 vào ngày thường gần ngày 1 nhất"},
		{"0 0 8 22W * ?", "at 08:00 on the weekday nearest the 22nd", "lúc 08:00 vào ngày thường gần ngày 22 nhất"},
		{"0 30 * * * ?", "every hour at minute 30", "mỗi giờ vào phút 30"},
		{"30 * * * *", "every hour at minute 30", "mỗi giờ vào phút 30"},
		{"15 30 * * * ?", "every hour at minute 30, second 15", "mỗi giờ vào phút 30 giây 15"},
		{"15 * * * * ?", "every minute at second 15", "mỗi phút vào giây 15"},
		{"10/15 * * * * ?", "every 15 seconds, starting at second 10", "mỗi 15 giây, bắt đầu từ giây 10"},
		{"0 5/15 * * * ?", "every 15 minutes, starting at minute 5", "mỗi 15 phút, bắt đầu từ phút 5"},
		{"0 0 0 1 1 ?", "at 00:00 on 1 January", "lúc 00:00 ngày 1 tháng 1"},
		{"0 0 0 25 DEC ?", "at 00:00 on 25 December", "lúc 00:00 ngày 25 tháng 12"},
		{"0 0 8-18/2 ? * MON-FRI", "every 2 hours between 08:00 and 18:00, Monday–Friday",
			"mỗi 2 giờ từ 08:00 đến 18:00, Thứ Hai–Thứ Sáu"},
		{"0 0 */6 * * ?", "every 6 hours", "mỗi 6 giờ"},
		{"0 30 */6 * * ?", "every 6 hours at minute 30", "mỗi 6 giờ vào phút 30"},
		{"0 0 */5 * * ?", "every 5 hours between 00:00 and 20:00", "mỗi 5 giờ từ 00:00 đến 20:00"},
		{"0 0 1/2 * * ?", "every 2 hours between 01:00 and 23:00", "mỗi 2 giờ từ 01:00 đến 23:00"},
		{"0 0 9-17 * * ?", "every hour between 09:00 and 17:00", "mỗi giờ từ 09:00 đến 17:00"},
		{"0 */15 9-17 * * ?", "every 15 minutes between 09:00 and 17:45", "mỗi 15 phút từ 09:00 đến 17:45"},
		{"* 9 * * *", "every minute between 09:00 and 09:59", "mỗi phút từ 09:00 đến 09:59"},
		{"0 */5 9-11,13-17 * * ?", "every 5 minutes during hours 9–11 and 13–17", "mỗi 5 phút trong các giờ 9–11 và 13–17"},
		{"0 0,20,45 * * * ?", "at minutes 0, 20 and 45 of every hour", "vào các phút 0, 20 và 45 của mỗi giờ"},
		{"0 0 9-12,14-17 ? * MON-FRI", "at minute 0 of hours 9–12 and 14–17, Monday–Friday",
			"vào phút 0 của các giờ 9–12 và 14–17, Thứ Hai–Thứ Sáu"},
		{"*/7 * * * * ?", "at seconds 0–56 in steps of 7 of every minute", "vào các giây 0–56 bước 7 của mỗi phút"},
		{"0 0-10,30-40 9 * * ?", "at minutes 0–10 and 30–40 of hour 9", "vào các phút 0–10 và 30–40 của giờ 9"},
		{"* 0-10,30-40 9 * * ?", "every second of minutes 0–10 and 30–40 of hour 9", "mỗi giây của các phút 0–10 và 30–40 của giờ 9"},
		{"0 */5 * ? * 2", "every 5 minutes on Mondays", "mỗi 5 phút vào các ngày Thứ Hai"},
		{"0 9 1 * MON", "at 09:00 on day 1 of the month and every Monday", "lúc 09:00 ngày 1 hằng tháng và mỗi Thứ Hai"},
		{"0 9 1,15 * 1-5", "at 09:00 on days 1 and 15 of the month and on Monday–Friday",
			"lúc 09:00 các ngày 1 và 15 hằng tháng và các ngày Thứ Hai–Thứ Sáu"},
		{"0 9 1-31 * 1", "at 09:00 every day", "lúc 09:00 mỗi ngày"},
		{"0 0 12 ? 11-2 SAT,SUN", "at 12:00, Saturday and Sunday in November–February",
			"lúc 12:00, Thứ Bảy và Chủ Nhật từ tháng 11 đến tháng 2"},
		{"0 0 12 * 1,4,7,10 ?", "at 12:00 every day in January, April, July and October",
			"lúc 12:00 mỗi ngày trong các tháng 1, 4, 7 và 10"},
		{"0 0 12 1 1,4,7,10 ?", "at 12:00 on day 1 of the month in January, April, July and October",
			"lúc 12:00 ngày 1 trong các tháng 1, 4, 7 và 10"},
		{"0 0 12 1,15 1,7 ? 2026-2028", "at 12:00 on days 1 and 15 of the month in January and July in 2026–2028",
			"lúc 12:00 các ngày 1 và 15 trong các tháng 1 và 7 trong các năm 2026–2028"},
		{"0 0 12 L 2 ? 2027", "at 12:00 on the last day of February in 2027", "lúc 12:00 ngày cuối tháng 2 năm 2027"},
		{"0 0 12 * * ? *", "at 12:00 every day", "lúc 12:00 mỗi ngày"},
		{"0 0 12 * * ? 2030/10", "at 12:00 every day in 2030–2090 in steps of 10", "lúc 12:00 mỗi ngày trong các năm 2030–2090 bước 10"},
		{"15 30 6 * * ?", "at 06:30:15 every day", "lúc 06:30:15 mỗi ngày"},
		{"0 0 12 31 2 ?", "at 12:00 on 31 February", "lúc 12:00 ngày 31 tháng 2"},
		{"@hourly", "every hour", "mỗi giờ"},
		{"@daily", "at 00:00 every day", "lúc 00:00 mỗi ngày"},
		{"@midnight", "at 00:00 every day", "lúc 00:00 mỗi ngày"},
		{"@weekly", "at 00:00 every Sunday", "lúc 00:00 mỗi Chủ Nhật"},
		{"@monthly", "at 00:00 on day 1 of the month", "lúc 00:00 ngày 1 hằng tháng"},
		{"@yearly", "at 00:00 on 1 January", "lúc 00:00 ngày 1 tháng 1"},
		{"@annually", "at 00:00 on 1 January", "lúc 00:00 ngày 1 tháng 1"},
		{"@every 90s", "every 90 seconds", "mỗi 90 giây"},
		{"@every 1h30m", "every 1 h 30 min", "mỗi 1 giờ 30 phút"},
		{"@every 1500ms", "every 1.5 s", "mỗi 1,5 giây"},
		{"@every 48h", "every 2 days", "mỗi 2 ngày"},
		{"@every 24h", "every day", "mỗi ngày"},
		// Invalid expressions come back as written.
		{"bogus", "bogus", "bogus"},
		{"0 0 9 1 * MON", "0 0 9 1 * MON", "0 0 9 1 * MON"},
		{"0 9 L * *", "0 9 L * *", "0 9 L * *"},
		{"@every 1ms", "@every 1ms", "@every 1ms"},
		{"", "", ""},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			t.Parallel()
			if got := describeCron(tc.expr, "en"); got != tc.en {
				t.Errorf("en: got %q\n           want %q", got, tc.en)
			}
			if got := describeCron(tc.expr, "vi"); got != tc.vi {
				t.Errorf("vi: got %q\n           want %q", got, tc.vi)
			}
		})
	}
}

func TestDescribeKinds(t *testing.T) {
	t.Parallel()
	hcm, err := schedule.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 24, 2, 0, 0, 0, time.UTC) // 09:00 in Ho Chi Minh City
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, hcm)
	end := time.Date(2026, 6, 30, 18, 0, 0, 0, hcm)
	for _, tc := range []struct {
		name   string
		s      domain.Schedule
		zone   *time.Location
		en, vi string
	}{
		{"FixedRate", domain.Schedule{Kind: domain.ScheduleFixedRate, Every: domain.Duration(90 * time.Second)}, hcm,
			"every 90 seconds", "mỗi 90 giây"},
		{"FixedRateHours", domain.Schedule{Kind: domain.ScheduleFixedRate, Every: domain.Duration(2 * time.Hour)}, hcm,
			"every 2 hours", "mỗi 2 giờ"},
		{"FixedDelay", domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: domain.Duration(90 * time.Minute)}, hcm,
			"every 1 h 30 min after the previous run finishes", "chạy lại 1 giờ 30 phút sau khi lần chạy trước kết thúc"},
		{"FixedDelayMinute", domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: domain.Duration(time.Minute)}, hcm,
			"every minute after the previous run finishes", "chạy lại 1 phút sau khi lần chạy trước kết thúc"},
		{"Once", domain.Schedule{Kind: domain.ScheduleOnce, At: &at}, hcm,
			"once, at 2026-12-24 09:00", "một lần, lúc 09:00 ngày 24/12/2026"},
		{"OnceUTC", domain.Schedule{Kind: domain.ScheduleOnce, At: &at}, time.UTC,
			"once, at 2026-12-24 02:00", "một lần, lúc 02:00 ngày 24/12/2026"},
		{"OnceDefaultZone", domain.Schedule{Kind: domain.ScheduleOnce, At: &at}, nil,
			"once, at 2026-12-24 09:00", "một lần, lúc 09:00 ngày 24/12/2026"},
		{"Exclusions", domain.Schedule{Cron: "0 0 9 ? * MON-FRI", ExcludedDates: []string{"2026-01-01", "2026-04-30", "2026-05-01", "2026-05-01"},
			Calendars: []string{"vn-holidays"}}, hcm,
			"at 09:00, Monday–Friday, except 3 excluded dates and calendar vn-holidays",
			"lúc 09:00, Thứ Hai–Thứ Sáu, trừ 3 ngày loại trừ và lịch vn-holidays"},
		{"OneDate", domain.Schedule{Cron: "@daily", ExcludedDates: []string{"2026-09-02"}}, hcm,
			"at 00:00 every day, except 1 excluded date", "lúc 00:00 mỗi ngày, trừ 1 ngày loại trừ"},
		{"Calendars", domain.Schedule{Cron: "@daily", Calendars: []string{"vn-holidays", "bank"}}, hcm,
			"at 00:00 every day, except calendars vn-holidays and bank", "lúc 00:00 mỗi ngày, trừ các lịch vn-holidays và bank"},
		{"Window", domain.Schedule{Cron: "0 */15 * * * ?", StartAt: &start, EndAt: &end}, hcm,
			"every 15 minutes, from 2026-01-01 00:00 until 2026-06-30 18:00",
			"mỗi 15 phút, từ 00:00 ngày 01/01/2026 đến 18:00 ngày 30/06/2026"},
		{"Until", domain.Schedule{Kind: domain.ScheduleFixedRate, Every: domain.Duration(time.Hour), EndAt: &end}, hcm,
			"every hour, until 2026-06-30 18:00", "mỗi giờ, đến 18:00 ngày 30/06/2026"},
		{"BadEvery", domain.Schedule{Kind: domain.ScheduleFixedRate}, hcm, "fixed_rate", "fixed_rate"},
		{"BadOnce", domain.Schedule{Kind: domain.ScheduleOnce}, hcm, "once", "once"},
		{"BadKind", domain.Schedule{Kind: "weekly"}, hcm, "weekly", "weekly"},
		{"UnknownLangIsEnglish", domain.Schedule{Cron: "@hourly"}, hcm, "every hour", "mỗi giờ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := schedule.Describe(tc.s, tc.zone, "en"); got != tc.en {
				t.Errorf("en: got %q\n           want %q", got, tc.en)
			}
			if got := schedule.Describe(tc.s, tc.zone, "vi-VN"); got != tc.vi {
				t.Errorf("vi: got %q\n           want %q", got, tc.vi)
			}
			if got := schedule.Describe(tc.s, tc.zone, "fr"); got != tc.en {
				t.Errorf("fr: got %q, want the English %q", got, tc.en)
			}
		})
	}
}

// Words the structured property expects, written out independently of Describe.
var (
	weekdaysEN = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	weekdaysVI = []string{"Chủ Nhật", "Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy"}
	ordinalsEN = []string{"", "first", "second", "third", "fourth", "fifth"}
	ordinalsVI = []string{"", "thứ nhất", "thứ hai", "thứ ba", "thứ tư", "thứ năm"}
)

// plural says "every unit" or "every N units".
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// weekdayField writes weekday d (0 = Sunday) for a Quartz (1 = SUN) or Unix (0 = SUN, 7 also
// SUN) day-of-week field, as a number or a name.
func weekdayField(t *rapid.T, d int, quartz bool, label string) string {
	if rapid.Bool().Draw(t, label+"Name") {
		return dayNames[d]
	}
	if quartz {
		return fmt.Sprint(d + 1)
	}
	if d == 0 && rapid.Bool().Draw(t, label+"Seven") {
		return "7"
	}
	return fmt.Sprint(d)
}

// TestPropertyDescribeStructured renders schedules drawn from a structure (every N units, at a
// time on a weekday range, on a day of the month, …) as cron expressions and checks that the
// description is the one the structure calls for, in both languages.
func TestPropertyDescribeStructured(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		h := rapid.IntRange(0, 23).Draw(t, "hour")
		m := rapid.IntRange(0, 59).Draw(t, "minute")
		hhmm := fmt.Sprintf("%02d:%02d", h, m)
		quartz := rapid.Bool().Draw(t, "quartz")
		at := func(dom, dow string) string { // second 0, minute m, hour h, every month
			if quartz {
				return fmt.Sprintf("0 %d %d %s * %s", m, h, dom, dow)
			}
			if dom == "?" {
				dom = "*"
			}
			if dow == "?" {
				dow = "*"
			}
			return fmt.Sprintf("%d %d %s * %s", m, h, dom, dow)
		}
		var expr, en, vi string
		switch rapid.IntRange(0, 8).Draw(t, "shape") {
		case 0: // every N seconds
			n := rapid.SampledFrom([]int{1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30}).Draw(t, "n")
			expr = fmt.Sprintf("%s/%d * * * * ?", rapid.SampledFrom([]string{"*", "0"}).Draw(t, "from"), n)
			en, vi = "every "+plural(n, "second", "seconds"), "mỗi "+plural(n, "giây", "giây")
		case 1: // every N minutes
			n := rapid.SampledFrom([]int{1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30}).Draw(t, "n")
			expr = fmt.Sprintf("0 */%d * * * ?", n)
			if !quartz {
				expr = fmt.Sprintf("*/%d * * * *", n)
			}
			en, vi = "every "+plural(n, "minute", "minutes"), "mỗi "+plural(n, "phút", "phút")
		case 2: // every N hours
			n := rapid.SampledFrom([]int{1, 2, 3, 4, 6, 8}).Draw(t, "n")
			expr = fmt.Sprintf("0 0 */%d * * ?", n)
			en, vi = "every "+plural(n, "hour", "hours"), "mỗi "+plural(n, "giờ", "giờ")
		case 3: // every hour at minute m
			m = rapid.IntRange(1, 59).Draw(t, "minuteOfHour")
			expr = at("*", "*")
			expr = strings.Replace(expr, fmt.Sprintf(" %d *", h), " * *", 1)
			en, vi = fmt.Sprintf("every hour at minute %d", m), fmt.Sprintf("mỗi giờ vào phút %d", m)
		case 4: // at h:m on a weekday range
			a := rapid.IntRange(0, 6).Draw(t, "from")
			length := rapid.IntRange(1, 6).Draw(t, "days")
			b := (a + length - 1) % 7
			dow := weekdayField(t, a, quartz, "from")
			if length > 1 {
				dow += "-" + weekdayField(t, b, quartz, "to")
			}
			expr = at("?", dow)
			switch length {
			case 1:
				en, vi = "at "+hhmm+" every "+weekdaysEN[a], "lúc "+hhmm+" mỗi "+weekdaysVI[a]
			case 2:
				en = "at " + hhmm + ", " + weekdaysEN[a] + " and " + weekdaysEN[b]
				vi = "lúc " + hhmm + ", " + weekdaysVI[a] + " và " + weekdaysVI[b]
			default:
				en = "at " + hhmm + ", " + weekdaysEN[a] + "–" + weekdaysEN[b]
				vi = "lúc " + hhmm + ", " + weekdaysVI[a] + "–" + weekdaysVI[b]
			}
		case 5: // at h:m on day d of the month
			d := rapid.IntRange(1, 31).Draw(t, "day")
			expr = at(fmt.Sprint(d), "?")
			en = fmt.Sprintf("at %s on day %d of the month", hhmm, d)
			vi = fmt.Sprintf("lúc %s ngày %d hằng tháng", hhmm, d)
		case 6: // at h:m on the last day of the month
			quartz = true
			expr = at("L", "?")
			en, vi = "at "+hhmm+" on the last day of the month", "lúc "+hhmm+" ngày cuối tháng"
		case 7: // at h:m on the kth weekday of the month
			quartz = true
			d := rapid.IntRange(0, 6).Draw(t, "weekday")
			k := rapid.IntRange(1, 5).Draw(t, "k")
			expr = at("?", weekdayField(t, d, true, "weekday")+fmt.Sprintf("#%d", k))
			en = fmt.Sprintf("at %s on the %s %s of the month", hhmm, ordinalsEN[k], weekdaysEN[d])
			vi = fmt.Sprintf("lúc %s vào %s %s của tháng", hhmm, weekdaysVI[d], ordinalsVI[k])
		default: // every n hours between two times, Monday–Friday
			quartz = true
			n := rapid.IntRange(1, 6).Draw(t, "n")
			first := rapid.IntRange(1, 23-3*n).Draw(t, "first")
			last := first + n*rapid.IntRange(3, (23-first)/n).Draw(t, "count")
			expr = fmt.Sprintf("0 %d %d-%d/%d ? * MON-FRI", m, first, last, n)
			between := fmt.Sprintf("%02d:%02d", first, m)
			and := fmt.Sprintf("%02d:%02d", last, m)
			en = "every " + plural(n, "hour", "hours") + " between " + between + " and " + and + ", Monday–Friday"
			vi = "mỗi " + plural(n, "giờ", "giờ") + " từ " + between + " đến " + and + ", Thứ Hai–Thứ Sáu"
		}
		if got := describeCron(expr, "en"); got != en {
			t.Fatalf("%q in English: got %q, want %q", expr, got, en)
		}
		if got := describeCron(expr, "vi"); got != vi {
			t.Fatalf("%q in Vietnamese: got %q, want %q", expr, got, vi)
		}
	})
}

// clockText matches the times of day a description names.
var clockText = regexp.MustCompile(`\b(\d{2}):(\d{2})(?::(\d{2}))?\b`)

// TestPropertyDescribeAnyExpression: for any valid expression Describe is non-empty, never the
// expression itself, and every time of day it names is one the expression's time fields fire
// at; when the expression fires at one time of day, that is the time it names, as Next finds.
func TestPropertyDescribeAnyExpression(t *testing.T) {
	t.Parallel()
	day := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	rapid.Check(t, func(t *rapid.T) {
		e := genExpr(t).text
		fields := strings.Fields(e)
		for _, lang := range []string{"en", "vi"} {
			got := describeCron(e, lang)
			if got == "" || got == e || !utf8.ValidString(got) {
				t.Fatalf("Describe(%q, %s) = %q", e, lang, got)
			}
			times, err := schedule.Parse(domain.Schedule{Cron: strings.Join(fields[:3], " ") + " * * ?"}, "UTC")
			if err != nil {
				t.Fatalf("time fields of %q: %v", e, err)
			}
			for _, c := range clockText.FindAllStringSubmatch(got, -1) {
				hh, _ := strconv.Atoi(c[1])
				mm, _ := strconv.Atoi(c[2])
				ss := 0
				if c[3] != "" {
					ss, _ = strconv.Atoi(c[3])
				}
				want := day.Add(time.Duration(hh*3600+mm*60+ss) * time.Second)
				if next, ok := times.Next(want.Add(-time.Second)); !ok || !next.Equal(want) {
					t.Fatalf("Describe(%q, %s) = %q names %s, which the expression does not fire at", e, lang, got, c[0])
				}
			}
		}
		single := func(f string) bool { return !strings.ContainsAny(f, "*,-/") }
		if !single(fields[0]) || !single(fields[1]) || !single(fields[2]) {
			return
		}
		s, err := schedule.Parse(domain.Schedule{Cron: e}, "UTC")
		if err != nil { // never fires: nothing to compare with
			return
		}
		fire, ok := s.Next(time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC))
		if !ok {
			return
		}
		layout := "15:04"
		if fire.Second() != 0 {
			layout = "15:04:05"
		}
		for _, lang := range []string{"en", "vi"} {
			got := describeCron(e, lang)
			if names := clockText.FindAllString(got, -1); len(names) != 1 || names[0] != fire.Format(layout) {
				t.Fatalf("Describe(%q, %s) = %q; it fires at %s", e, lang, got, fire.Format(layout))
			}
		}
	})
}

// TestPropertyDescribeUnix: 5-field expressions and descriptors are described too, never
// returned as written.
func TestPropertyDescribeUnix(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		minText, _ := genValues(t, "min", 0, 59, nil)
		hourText, _ := genValues(t, "hour", 0, 23, nil)
		domText, _ := genValues(t, "dom", 1, 31, nil)
		monthText, _ := genValues(t, "month", 1, 12, monthNames)
		dowText, _ := genValues(t, "dow", 0, 7, nil)
		e := strings.Join([]string{minText, hourText, domText, monthText, dowText}, " ")
		if rapid.IntRange(0, 9).Draw(t, "descriptor") == 0 {
			e = rapid.SampledFrom([]string{"@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@every 90s", "@every 25h1m1.5s"}).Draw(t, "which")
		}
		for _, lang := range []string{"en", "vi"} {
			if got := describeCron(e, lang); got == "" || got == e {
				t.Fatalf("Describe(%q, %s) = %q", e, lang, got)
			}
		}
	})
}

// FuzzDescribe checks that no expression makes Describe panic, that it always says something,
// in valid UTF-8, and that an expression Parse rejects for its syntax comes back as written.
func FuzzDescribe(f *testing.F) {
	for _, seed := range []string{
		"*/5 * * * * ?", "0 0 9 ? * MON-FRI", "0 0 23 L * ?", "0 0 10 ? * 6L", "0 0 8 15W * ?",
		"0 0 12 L-3W * ? 2026/2", "0 9 1 * MON", "@every 90s", "@weekly", "*/7 1-10,30 9-11/2 ? JAN-MAR 2#5",
		"0 0 9 1 * MON", "bogus", "", "* * * * * * * *", "0 0 12 ? * 1#1,2#2", "@every", "TZ=UTC 0 * * * *",
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, expr string, vi bool) {
		lang := "en"
		if vi {
			lang = "vi"
		}
		got := describeCron(expr, lang)
		if strings.TrimSpace(expr) != "" && got == "" {
			t.Fatalf("Describe(%q) is empty", expr)
		}
		if utf8.ValidString(expr) && !utf8.ValidString(got) {
			t.Fatalf("Describe(%q) = %q is not valid UTF-8", expr, got)
		}
		_, err := schedule.Parse(domain.Schedule{Cron: expr}, "UTC")
		if err != nil && strings.Contains(err.Error(), "never fires") {
			return // valid syntax that matches no date: still described
		}
		if (err != nil) != (got == expr) && strings.TrimSpace(expr) != "" {
			t.Fatalf("Describe(%q) = %q, but Parse says %v", expr, got, err)
		}
	})
}

// readTimes reads the English description of times of day back into the set of seconds since
// midnight it names, following the forms Describe uses: a list of clock times; "every N units"
// with an offset or a span of the day; a pattern within the hour "of" or "during" some hours;
// and field by field.
func readTimes(t *rapid.T, desc string) map[int]bool {
	fail := func() { t.Fatalf("cannot read %q", desc) }
	desc = strings.ReplaceAll(desc, " in steps of ", "/") // so that " of " only joins levels
	clockOf := func(s string) int {
		c := clockText.FindStringSubmatch(s)
		if c == nil || c[0] != s {
			fail()
		}
		hh, _ := strconv.Atoi(c[1])
		mm, _ := strconv.Atoi(c[2])
		ss := 0
		if c[3] != "" {
			ss, _ = strconv.Atoi(c[3])
		}
		return hh*3600 + mm*60 + ss
	}
	items := func(s string) []string { // "a, b and c"
		var out []string
		for p := range strings.SplitSeq(s, ", ") {
			out = append(out, strings.Split(p, " and ")...)
		}
		return out
	}
	values := func(s string) []int { // "5", "1 and 15", "9–11 and 13–17", "0–56 in steps of 7"
		var out []int
		step := 1
		if a, b, ok := strings.Cut(s, "/"); ok {
			s = a
			step, _ = strconv.Atoi(b)
		}
		for _, it := range items(s) {
			a, b, isRange := strings.Cut(it, "–")
			lo, err := strconv.Atoi(a)
			if err != nil {
				fail()
			}
			hi := lo
			if isRange {
				hi, _ = strconv.Atoi(b)
			}
			for v := lo; v <= hi; v += step {
				out = append(out, v)
			}
		}
		return out
	}
	unitSeconds := map[string]int{"second": 1, "seconds": 1, "minute": 60, "minutes": 60, "hour": 3600, "hours": 3600}
	// every reads "every [N] unit[<offset>]" into a period and an offset.
	every := func(s string) (period, offset int, rest string) {
		rest = strings.TrimPrefix(s, "every ")
		n := 1
		if num, r, ok := strings.Cut(rest, " "); ok {
			if v, err := strconv.Atoi(num); err == nil {
				n, rest = v, r
			}
		}
		unit := rest
		if i := strings.IndexAny(rest, " ,"); i >= 0 {
			unit, rest = rest[:i], rest[i:]
		} else {
			rest = ""
		}
		u, ok := unitSeconds[unit]
		if !ok {
			fail()
		}
		period = n * u
		for _, prefix := range []string{", starting at ", " at "} {
			r, ok := strings.CutPrefix(rest, prefix)
			if !ok {
				continue
			}
			r, rest, _ = strings.Cut(r, " during ")
			if rest != "" {
				rest = " during " + rest
			}
			var m, sec int
			switch {
			case strings.HasPrefix(r, "second "):
				_, _ = fmt.Sscanf(r, "second %d", &sec)
			case strings.Contains(r, ", second "):
				_, _ = fmt.Sscanf(r, "minute %d, second %d", &m, &sec)
			default:
				_, _ = fmt.Sscanf(r, "minute %d", &m)
			}
			offset = m*60 + sec
		}
		return period, offset, rest
	}
	out := map[int]bool{}
	switch {
	case strings.HasPrefix(desc, "at ") && clockText.MatchString(desc):
		for _, c := range items(strings.TrimPrefix(desc, "at ")) {
			out[clockOf(c)] = true
		}
	case strings.HasPrefix(desc, "every ") && !strings.Contains(desc, " of ") && !strings.Contains(desc, " during "):
		period, offset, rest := every(desc)
		lo, hi := offset, 86399
		if r, ok := strings.CutPrefix(rest, " between "); ok {
			a, b, _ := strings.Cut(r, " and ")
			lo, hi = clockOf(a), clockOf(b)
		} else if rest != "" {
			fail()
		}
		for v := lo; v <= hi; v += period {
			out[v] = true
		}
	case strings.Contains(desc, " during ") || strings.HasPrefix(desc, "at minute") && !strings.Contains(desc, " of minute"):
		// A pattern within the hour, in some hours.
		var inner []int
		var hours []int
		pattern, hourText, _ := strings.Cut(desc, " during hour")
		if hourText == "" {
			pattern, hourText, _ = strings.Cut(desc, " of ")
		}
		hourText = strings.TrimPrefix(strings.TrimPrefix(hourText, "s "), " ")
		hourText = strings.TrimPrefix(strings.TrimPrefix(hourText, "hours "), "hour ")
		if hourText == "every hour" {
			hourText = "0–23"
		}
		hours = values(hourText)
		switch {
		case strings.HasPrefix(pattern, "every "):
			period, offset, _ := every(pattern)
			for v := offset; v < 3600; v += period {
				inner = append(inner, v)
			}
		case strings.HasPrefix(pattern, "at minutes "):
			for _, m := range values(strings.TrimPrefix(pattern, "at minutes ")) {
				inner = append(inner, m*60)
			}
		default:
			var m, sec int
			if _, err := fmt.Sscanf(pattern, "at minute %d, second %d", &m, &sec); err != nil {
				_, _ = fmt.Sscanf(pattern, "at minute %d", &m)
			}
			inner = append(inner, m*60+sec)
		}
		for _, h := range hours {
			for _, v := range inner {
				out[h*3600+v] = true
			}
		}
	default: // field by field, finest first: seconds, minutes, hours
		levels := strings.Split(strings.TrimPrefix(desc, "at "), " of ")
		sets := [3][]int{{0}, nil, nil}
		all := func(n int) []int {
			var v []int
			for i := range n {
				v = append(v, i)
			}
			return v
		}
		sets[2] = all(24)
		for _, l := range levels {
			word, rest, _ := strings.Cut(l, " ")
			switch {
			case l == "every second":
				sets[0] = all(60)
			case l == "every minute":
				sets[1] = all(60)
			case l == "every hour":
				sets[2] = all(24)
			case word == "second" || word == "seconds":
				sets[0] = values(rest)
			case word == "minute" || word == "minutes":
				sets[1] = values(rest)
			case word == "hour" || word == "hours":
				sets[2] = values(rest)
			default:
				fail()
			}
		}
		for _, h := range sets[2] {
			for _, m := range sets[1] {
				for _, s := range sets[0] {
					out[h*3600+m*60+s] = true
				}
			}
		}
	}
	return out
}

// TestPropertyDescribeTimesRoundTrip reads the English description of random second, minute and
// hour fields back into times of day and checks they are exactly the times the fields denote.
func TestPropertyDescribeTimesRoundTrip(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		secText, secs := genValues(t, "sec", 0, 59, nil)
		minText, mins := genValues(t, "min", 0, 59, nil)
		hourText, hours := genValues(t, "hour", 0, 23, nil)
		e := strings.Join([]string{secText, minText, hourText, "*", "*", "?"}, " ")
		desc := strings.TrimSuffix(describeCron(e, "en"), " every day")
		got := readTimes(t, desc)
		for h := range 24 {
			for m := range 60 {
				for s := range 60 {
					v := h*3600 + m*60 + s
					if want := hours[h] && mins[m] && secs[s]; got[v] != want {
						t.Fatalf("%q reads %q: %02d:%02d:%02d is %v, want %v", e, desc, h, m, s, got[v], want)
					}
				}
			}
		}
	})
}

// readNames reads "A–B, C and D" back into the members it names; a range may wrap around the
// end of names ("Friday–Monday").
func readNames(t *rapid.T, text string, names []string) map[int]bool {
	index := func(s string) int {
		for i, n := range names {
			if n == s {
				return i
			}
		}
		t.Fatalf("unknown name %q in %q", s, text)
		return -1
	}
	out := map[int]bool{}
	for p := range strings.SplitSeq(text, ", ") {
		for _, it := range strings.Split(p, " and ") {
			a, b, isRange := strings.Cut(it, "–")
			i := index(a)
			out[i] = true
			if isRange {
				for j := index(b); i != j; {
					i = (i + 1) % len(names)
					out[i] = true
				}
			}
		}
	}
	return out
}

// TestPropertyDescribeDaysRoundTrip reads the English words for random weekday, day-of-month
// and month fields back into the values they name and compares them with the fields.
func TestPropertyDescribeDaysRoundTrip(t *testing.T) {
	t.Parallel()
	months := []string{"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"}
	rapid.Check(t, func(t *rapid.T) {
		var want []bool // by value: weekday 1–7 (Quartz), day 1–31 or month 1–12
		var e, prefix string
		var read func(string) map[int]bool
		switch rapid.IntRange(0, 2).Draw(t, "field") {
		case 0:
			var text string
			text, want = genValues(t, "dow", 1, 7, dayNames)
			e, prefix = "0 0 9 ? * "+text, "at 09:00"
			read = func(s string) map[int]bool {
				got := map[int]bool{}
				switch {
				case s == " every day":
					for d := range 7 {
						got[d+1] = true
					}
				case strings.HasPrefix(s, " every "):
					for d := range readNames(t, strings.TrimPrefix(s, " every "), weekdaysEN) {
						got[d+1] = true
					}
				default:
					for d := range readNames(t, strings.TrimPrefix(s, ", "), weekdaysEN) {
						got[d+1] = true
					}
				}
				return got
			}
		case 1:
			var text string
			text, want = genValues(t, "dom", 1, 31, nil)
			e, prefix = "0 0 9 "+text+" * ?", "at 09:00"
			read = func(s string) map[int]bool {
				got := map[int]bool{}
				if s == " every day" {
					for d := 1; d <= 31; d++ {
						got[d] = true
					}
					return got
				}
				s = strings.TrimSuffix(s, " of the month")
				s = strings.TrimPrefix(strings.TrimPrefix(s, " on days "), " on day ")
				step := 1
				if a, b, ok := strings.Cut(s, " in steps of "); ok {
					s = a
					step, _ = strconv.Atoi(b)
				}
				for p := range strings.SplitSeq(s, ", ") {
					for _, it := range strings.Split(p, " and ") {
						a, b, isRange := strings.Cut(it, "–")
						lo, err := strconv.Atoi(a)
						if err != nil {
							t.Fatalf("cannot read %q", s)
						}
						hi := lo
						if isRange {
							hi, _ = strconv.Atoi(b)
						}
						for d := lo; d <= hi; d += step {
							got[d] = true
						}
					}
				}
				return got
			}
		default:
			var text string
			text, want = genValues(t, "month", 1, 12, monthNames)
			e, prefix = "0 0 9 * "+text+" ?", "at 09:00 every day"
			read = func(s string) map[int]bool {
				got := map[int]bool{}
				if s == "" {
					for m := 1; m <= 12; m++ {
						got[m] = true
					}
					return got
				}
				for m := range readNames(t, strings.TrimPrefix(s, " in "), months) {
					got[m+1] = true
				}
				return got
			}
		}
		desc := describeCron(e, "en")
		rest, ok := strings.CutPrefix(desc, prefix)
		if !ok {
			t.Fatalf("%q reads %q", e, desc)
		}
		got := read(rest)
		for v := 1; v < len(want); v++ {
			if got[v] != want[v] {
				t.Fatalf("%q reads %q: %d is %v, want %v", e, desc, v, got[v], want[v])
			}
		}
	})
}

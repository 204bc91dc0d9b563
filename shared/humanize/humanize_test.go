package humanize_test

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zone rules, whatever the host has

	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/humanize"
)

func TestInt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n      int64
		en, vi string
	}{
		{0, "0", "0"},
		{7, "7", "7"},
		{999, "999", "999"},
		{1000, "1,000", "1.000"},
		{1234567, "1,234,567", "1.234.567"},
		{-1234567, "-1,234,567", "-1.234.567"},
		{-999, "-999", "-999"},
		{math.MaxInt64, "9,223,372,036,854,775,807", "9.223.372.036.854.775.807"},
		{math.MinInt64, "-9,223,372,036,854,775,808", "-9.223.372.036.854.775.808"},
	} {
		if got := humanize.Int(tc.n, "en"); got != tc.en {
			t.Errorf("Int(%d, en) = %q, want %q", tc.n, got, tc.en)
		}
		if got := humanize.Int(tc.n, "vi"); got != tc.vi {
			t.Errorf("Int(%d, vi) = %q, want %q", tc.n, got, tc.vi)
		}
	}
}

func TestPercent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		f      float64
		en, vi string
	}{
		{0, "0%", "0 %"},
		{1, "100%", "100 %"},
		{0.985, "98.5%", "98,5 %"},
		{0.98549, "98.5%", "98,5 %"},
		{0.99996, "100%", "100 %"},
		{0.5, "50%", "50 %"},
		{0.0004, "0%", "0 %"},
		{-0.0004, "0%", "0 %"},
		{0.001, "0.1%", "0,1 %"},
		{-0.25, "-25%", "-25 %"},
		{12.345, "1,234.5%", "1.234,5 %"},
		{math.NaN(), "–", "–"},
		{math.Inf(1), "–", "–"},
	} {
		if got := humanize.Percent(tc.f, "en"); got != tc.en {
			t.Errorf("Percent(%v, en) = %q, want %q", tc.f, got, tc.en)
		}
		if got := humanize.Percent(tc.f, "vi"); got != tc.vi {
			t.Errorf("Percent(%v, vi) = %q, want %q", tc.f, got, tc.vi)
		}
	}
}

func TestDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d      time.Duration
		en, vi string
	}{
		{0, "0 s", "0 giây"},
		{500, "500 ns", "500 ns"},
		{1500, "2 µs", "2 µs"},
		{999_600, "1 ms", "1 ms"},
		{850 * time.Millisecond, "850 ms", "850 ms"},
		{999_700 * time.Microsecond, "1 s", "1 giây"},
		{1200 * time.Millisecond, "1.2 s", "1,2 giây"},
		{2 * time.Second, "2 s", "2 giây"},
		{9960 * time.Millisecond, "10 s", "10 giây"},
		{42 * time.Second, "42 s", "42 giây"},
		{59600 * time.Millisecond, "1 min", "1 phút"},
		{200 * time.Second, "3 min 20 s", "3 phút 20 giây"},
		{time.Hour + 30*time.Minute, "1 h 30 min", "1 giờ 30 phút"},
		{2*time.Hour + 5*time.Minute + 20*time.Second, "2 h 5 min", "2 giờ 5 phút"},
		{24 * time.Hour, "1 d", "1 ngày"},
		{76 * time.Hour, "3 d 4 h", "3 ngày 4 giờ"},
		{-1200 * time.Millisecond, "-1.2 s", "-1,2 giây"},
		{math.MinInt64, "-106751 d 23 h", "-106751 ngày 23 giờ"},
		{math.MaxInt64, "106751 d 23 h", "106751 ngày 23 giờ"},
	} {
		if got := humanize.Duration(tc.d, "en"); got != tc.en {
			t.Errorf("Duration(%v, en) = %q, want %q", tc.d, got, tc.en)
		}
		if got := humanize.Duration(tc.d, "vi"); got != tc.vi {
			t.Errorf("Duration(%v, vi) = %q, want %q", tc.d, got, tc.vi)
		}
	}
}

func TestRelative(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 12, 6, 14, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		d      time.Duration
		en, vi string
	}{
		{0, "just now", "vừa xong"},
		{999 * time.Millisecond, "just now", "vừa xong"},
		{-999 * time.Millisecond, "just now", "vừa xong"},
		{3 * time.Second, "in 3 s", "sau 3 giây"},
		{-3 * time.Second, "3 s ago", "3 giây trước"},
		{59400 * time.Millisecond, "in 59 s", "sau 59 giây"},
		{59500 * time.Millisecond, "in 1 min", "sau 1 phút"},
		{5 * time.Minute, "in 5 min", "sau 5 phút"},
		{-5 * time.Minute, "5 min ago", "5 phút trước"},
		{2*time.Hour + 10*time.Minute, "in 2 h", "sau 2 giờ"},
		{23*time.Hour + 30*time.Minute, "in 1 day", "sau 1 ngày"},
		{-72 * time.Hour, "3 days ago", "3 ngày trước"},
		{3 * 24 * time.Hour, "in 3 days", "sau 3 ngày"},
		{800 * 24 * time.Hour, "in 2 years", "sau 2 năm"},
	} {
		to := from.Add(tc.d)
		if got := humanize.Relative(from, to, "en"); got != tc.en {
			t.Errorf("Relative(%v, en) = %q, want %q", tc.d, got, tc.en)
		}
		if got := humanize.Relative(from, to, "vi-VN"); got != tc.vi {
			t.Errorf("Relative(%v, vi) = %q, want %q", tc.d, got, tc.vi)
		}
	}
}

func TestDateTime(t *testing.T) {
	t.Parallel()
	hcm := time.FixedZone("+07", 7*3600)
	ny, err := time.LoadLocation("America/New_York") // zone data compiled in below, never skipped
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 6, 14, 5, 9, 0, hcm)
	for _, tc := range []struct {
		got, want string
	}{
		{humanize.DateTime(at, "en"), "Dec 6, 2026 14:05:09 +07"},
		{humanize.DateTime(at, "vi"), "14:05:09 06/12/2026 +07"},
		{humanize.DateTime(at.UTC(), "en"), "Dec 6, 2026 07:05:09 UTC"},
		{humanize.DateTime(at.In(ny), "en"), "Dec 6, 2026 02:05:09 EST"},
		{humanize.Date(at, "en"), "Dec 6, 2026"},
		{humanize.Date(at, "vi"), "06/12/2026"},
		{humanize.Time(at, "en"), "14:05:09"},
		{humanize.Time(at, "vi"), "14:05:09"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestIsVietnamese(t *testing.T) {
	t.Parallel()
	for lang, want := range map[string]bool{
		"vi": true, "VI": true, "vi-VN": true, "vi_VN": true,
		"": false, "en": false, "v": false, "vie": false, "fr": false,
	} {
		if got := humanize.IsVietnamese(lang); got != want {
			t.Errorf("IsVietnamese(%q) = %v, want %v", lang, got, want)
		}
	}
}

// langs are the languages the properties run in.
var langs = []string{"en", "vi"}

// TestIntRoundTrip: removing the separators gives back the decimal number.
func TestIntRoundTrip(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.Int64().Draw(t, "n")
		lang := rapid.SampledFrom(langs).Draw(t, "lang")
		sep := map[string]string{"en": ",", "vi": "."}[lang]
		got := humanize.Int(n, lang)
		if plain := strings.ReplaceAll(got, sep, ""); plain != strconv.FormatInt(n, 10) {
			t.Fatalf("Int(%d) = %q", n, got)
		}
		digits := strings.TrimPrefix(got, "-")
		for i, group := range strings.Split(digits, sep) {
			if len(group) > 3 || i > 0 && len(group) != 3 || group == "" {
				t.Fatalf("Int(%d) = %q: bad group %q", n, got, group)
			}
		}
	})
}

// TestPercentOneDecimal: at most one decimal, and the value is within half a tenth.
func TestPercentOneDecimal(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		f := rapid.Float64Range(-2, 2).Draw(t, "f")
		lang := rapid.SampledFrom(langs).Draw(t, "lang")
		got := humanize.Percent(f, lang)
		num := strings.TrimSuffix(strings.TrimSuffix(got, "%"), " ")
		dec, group := ".", ","
		if lang == "vi" {
			dec, group = ",", "."
		}
		num = strings.ReplaceAll(num, group, "")
		if i := strings.Index(num, dec); i >= 0 && len(num)-i-1 != 1 {
			t.Fatalf("Percent(%v) = %q: more than one decimal", f, got)
		}
		v, err := strconv.ParseFloat(strings.Replace(num, dec, ".", 1), 64)
		if err != nil {
			t.Fatalf("Percent(%v) = %q: %v", f, got, err)
		}
		if math.Abs(v-f*100) > 0.05+1e-9 {
			t.Fatalf("Percent(%v) = %q: off by more than rounding", f, got)
		}
	})
}

// relativeRank reads Relative's English text back as a signed rank: the sign is the direction,
// the unit orders first and the count second.
func relativeRank(t *rapid.T, s string) float64 {
	if s == "just now" {
		return 0
	}
	sign := 1.0
	body, ok := strings.CutPrefix(s, "in ")
	if !ok {
		body, ok = strings.CutSuffix(s, " ago")
		sign = -1
	}
	if !ok {
		t.Fatalf("cannot read %q", s)
	}
	num, unit, _ := strings.Cut(body, " ")
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 1 {
		t.Fatalf("cannot read %q", s)
	}
	units := map[string]float64{"s": 1, "min": 2, "h": 3, "day": 4, "days": 4, "year": 5, "years": 5}
	u, ok := units[unit]
	if !ok {
		t.Fatalf("unknown unit in %q", s)
	}
	return sign * (u*1e12 + float64(n))
}

// TestRelativeMonotone: a later instant is never described as sooner, the past mirrors the
// future, and the text is never empty.
func TestRelativeMonotone(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 12, 6, 14, 0, 0, 0, time.UTC)
	span := int64(3 * 365 * 24 * time.Hour)
	rapid.Check(t, func(t *rapid.T) {
		a := time.Duration(rapid.Int64Range(-span, span).Draw(t, "a"))
		b := time.Duration(rapid.Int64Range(-span, span).Draw(t, "b"))
		if a > b {
			a, b = b, a
		}
		ra := relativeRank(t, humanize.Relative(from, from.Add(a), "en"))
		rb := relativeRank(t, humanize.Relative(from, from.Add(b), "en"))
		if ra > rb {
			t.Fatalf("%v reads %q, later %v reads %q", a, humanize.Relative(from, from.Add(a), "en"), b, humanize.Relative(from, from.Add(b), "en"))
		}
		if r := relativeRank(t, humanize.Relative(from, from.Add(-a), "en")); r != -ra {
			t.Fatalf("%v and %v are not mirrored", a, -a)
		}
		for _, lang := range langs {
			if humanize.Relative(from, from.Add(a), lang) == "" {
				t.Fatalf("empty for %v", a)
			}
		}
	})
}

// TestDurationNeverEmpty: every duration gets text that starts with a digit or a minus sign.
func TestDurationNeverEmpty(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		d := time.Duration(rapid.Int64().Draw(t, "d"))
		for _, lang := range langs {
			s := humanize.Duration(d, lang)
			if s == "" || !strings.ContainsAny(s[:1], "-0123456789") {
				t.Fatalf("Duration(%d, %s) = %q", d, lang, s)
			}
		}
	})
}

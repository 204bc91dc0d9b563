package humanize

import (
	"time"
)

// DateTime writes t in its own location, with the zone's abbreviation (or its offset, such as
// "+07", where the zone has no abbreviation) so that instants from jobs in different zones are
// never confused: "Dec 6, 2026 14:05:09 UTC" in English, "14:05:09 06/12/2026 +07" in Vietnamese.
// Callers convert t with In first to show it in another zone.
func DateTime(t time.Time, lang string) string {
	if IsVietnamese(lang) {
		return t.Format("15:04:05 02/01/2006 MST")
	}
	return t.Format("Jan 2, 2006 15:04:05 MST")
}

// Date writes t's date in its own location: "Dec 6, 2026" in English, "06/12/2026" in
// Vietnamese.
func Date(t time.Time, lang string) string {
	if IsVietnamese(lang) {
		return t.Format("02/01/2006")
	}
	return t.Format("Jan 2, 2006")
}

// Time writes t's time of day in its own location on the 24-hour clock, the same in both
// languages: "14:05:09". It takes lang so that every formatter is called alike.
func Time(t time.Time, lang string) string {
	return t.Format("15:04:05")
}
